"""Does an explainer tell the truth? Four checks that need no human labels.

    from explain.evaluation import evaluate_explainer, explainer_table
    report = evaluate_explainer("~/.outfit/worlds/synth-0", load_model("models/demo"),
                                split="test", max_outfits=200, plots_dir="plots")
    print(explainer_table(report))

Every registered attribution method is measured the same way, beside a uniform random ranking
(ties broken at random, in expectation, so that a method that gives every pair the same value
scores what a random ranking scores and no more; :mod:`.scores`):

replace-and-detect (Tangseng & Okatani, arXiv 1901.04870; :mod:`.replace_detect`)
    Replace one feature group of one item of a good outfit with another item's, keep the
    corruption when the grader's logit falls by at least ``margin``, and ask whether the
    explanation ranks the replaced item, and the (item, group) pair, first.
deletion (Samek et al., arXiv 1509.06321; Petsiuk et al., arXiv 1806.07421; :mod:`.deletion`)
    Set the (item, group) pairs of a good outfit to their category mean one at a time, most
    helpful first by the method's ranking, and measure how fast the logit falls
    (``deletion_auc``, lower is better); insertion restores them from the all-means outfit in
    the same order (``insertion_auc``, higher is better). Both against random pair orders and
    against whole items deleted at random, with the margin's spread over random orders and a
    95 % interval over outfits (``faithfulness``; :mod:`.margins`).
pixel deletion (``pixel_outfits``; :mod:`.pixel_deletion`)
    The pixel maps' most relevant pixels of each photo blanked first, against random pixels.
randomisation (Adebayo et al., "Sanity checks for saliency maps", arXiv 1810.03292;
:mod:`.randomisation`)
    Draw the grader's weights afresh and ask whether the explanation changes (``passed`` when
    the mean Spearman correlation is below ``RANDOMISATION_THRESHOLD``).
ground truth (synthetic worlds only, where ``ground_truth.json`` says why each bad outfit is bad;
:mod:`.ground_truth`, the world's rules in :mod:`.rules`)
    Is the swapped-in item ranked first, and is what the explanation ranks first one of the
    reasons the world's rules give? The rules blame both items of a clash, so the report also
    says what an explainer that cannot tell a clash's two items apart can score at most.

what a person reads (any dataset)
    ``first_sentence_item`` / ``first_sentence_pair`` (replace-and-detect) and
    ``ground_truth.first_sentence``: whether the first sentence of
    :func:`~explain.text.reasons` names the replaced (swapped-in) item, and its group. That
    sentence names two items when they clash (:mod:`explain.clash`), so these count a clash
    that includes the item. In a synthetic world, ``rules.clash_named``, ``rules.clash_true``
    and ``rules.clash_found`` say how often the reasons name a clash, how often the rules agree,
    and how many of the rules' clashes are found (:mod:`.ground_truth`).

The modules: :mod:`.report` runs every method through every check and assembles the JSON-ready
report (:func:`evaluate_explainer`); :mod:`.explainer` is the method under test as the checks
call it; :mod:`.table` and :mod:`.plots` turn the report into text and PNGs.
"""

from .deletion import (
    CURVE_POINTS,
    RANDOM_ORDERS,
    deletion_curves,
    deletion_order,
    insertion_curves,
)
from .ground_truth import GroundTruthCase, ground_truth_cases
from .margins import against, spread
from .pixel_deletion import pixel_deletion
from .plots import save_explainer_plots
from .randomisation import RANDOM_DRAWS, RANDOMISATION_THRESHOLD, randomised_model, reinitialise
from .replace_detect import DONORS_PER_ITEM, Corruption, make_corruption
from .report import evaluate_explainer
from .rules import (
    GROUP_PROPERTIES,
    PROPERTY_GROUPS,
    RuleCase,
    RuleVerdict,
    corruption_verdict,
    rule_cases,
    rule_verdict,
    tie_blind,
)
from .scores import in_first_sentence, random_baseline, rank_of, spearman, top_hit
from .table import explainer_table

__all__ = ["evaluate_explainer", "explainer_table", "save_explainer_plots", "Corruption",
           "make_corruption", "GroundTruthCase", "ground_truth_cases", "randomised_model",
           "reinitialise", "spearman", "rank_of", "random_baseline", "deletion_order",
           "deletion_curves", "PROPERTY_GROUPS", "GROUP_PROPERTIES", "RANDOMISATION_THRESHOLD",
           "RuleVerdict", "rule_verdict", "corruption_verdict", "RuleCase", "rule_cases",
           "top_hit", "tie_blind", "in_first_sentence", "DONORS_PER_ITEM", "RANDOM_ORDERS",
           "RANDOM_DRAWS", "CURVE_POINTS", "insertion_curves", "against", "spread",
           "pixel_deletion"]
