"""Every default a person can change, defined once.

The library's signatures, the command line's options (and so their ``--help``), the API's
schemas (and so the OpenAPI document) and the web forms all read their defaults from here: to
change one, change it here and nowhere else. Plain values, no imports, so the domain package and
the command line load it without torch.
"""

from __future__ import annotations

# ---- outfit search (recommender.search)
RECOMMENDATIONS = 10  # outfits a search returns (`outfit recommend --k`)
RECOMMENDATIONS_SHOWN = 6  # outfits the web app's recommendations page and API return
BEAM_WIDTH = 16  # partial outfits kept at each step of beam search
# How much the outfits returned must differ from each other (0 = just the best ones); the beam
# strategy keeps its own beam diverse only when asked (0 inside the search by default).
DIVERSITY = 0.3
STRATEGY = "beam"

# ---- explanations (explain)
ATTRIBUTION_METHOD = "gxa"  # gradient x activation (Tangseng & Okatani 2019)
PIXEL_METHOD = "gradcam"
SUGGESTIONS = 5  # replacements proposed for the item that pulls a score down
COMPLEMENTS = 5  # closet items proposed per free slot ("what goes with this")

# ---- training a grader (grader.training.TrainConfig)
EPOCHS = 30  # grader epochs, at most (early stopping)
FEATURE_EPOCHS = 12  # item-feature CNN epochs
IMAGE_SIZE = 64  # pixels a side the item-feature CNN reads
SEED = 0

# ---- jobs the web app starts (usecases.jobs, usecases.manage_models): bounds, so that one
# request cannot hold the machine for days or fill its disk. The command line is not bounded.
MAX_EPOCHS = 200  # grader epochs a web training job may ask for (1 to this)
MAX_FEATURE_EPOCHS = 100  # item-feature CNN epochs (0 to this)
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 16, 256  # pixels a side (cost grows with the square)
JOB_TIMEOUT_S = 6 * 3600  # a job running longer is stopped; its state says "timed_out"
JOB_QUEUE = 3  # jobs that may wait behind the running one; one more is refused
JOBS_KEPT = 20  # finished jobs whose folder (and log) is kept, the newest ones...
JOB_DAYS_KEPT = 30  # ...and none that finished longer ago than this

# ---- the closet
UNWORN_DAYS = 60  # "not worn for" on the wear page
