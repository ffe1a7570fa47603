"""What the models page works with: the instance's model folders and their cards, the datasets
the server may read (:mod:`usecases.datasets`), each model's evaluations and diagnostics, and
the jobs that make them.

Layout of the instance folder (``home``)::

    models/<name>/model.pt, card.json        one folder per model (``outfit train --out``)
    active_model                             the name of the model the app uses (optional)
    evaluations/<model key>/<dataset id>/    grader.json, explainer.json, roc.png, ...
    diagnostics/<model key>/                 diagnostics.json and its PNGs
    jobs/<id>/                               see usecases.jobs

Evaluations and diagnostics are kept under the model's *key* (its folder name and a digest of
its file), so a model retrained under the same name gets fresh ones.

No path here comes from a request as it is: a model is found by looking its name up in the
listing of ``models/``, and a dataset must lie under one of the data roots the server was
started with (``<home>/worlds`` and each ``outfit serve --data-root``), checked after resolving
links, so ``../`` or a link out of a root is refused.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data.fileio import atomic_write_text
from outfit import defaults
from outfit.errors import OutfitError
from usecases.datasets import DatasetError, DatasetInfo, resolve_dataset
from usecases.jobs import Job, JobManager
from usecases.services import ActiveModel, Services, model_key

__all__ = ["ModelInfo", "ModelNotFoundError", "list_models", "find_model", "activate", "evaluation_dir",
           "read_evaluation", "diagnostics_dir", "read_diagnostics", "start_training",
           "start_evaluation", "start_diagnostics", "read_active_name", "write_active_name",
           "MODEL_NAME_RE", "compare", "start_job", "TRAINING_LIMITS", "check_training_limits",
           "JobLimitError"]

MODELS_DIR = "models"
ACTIVE_FILE = "active_model"
# Names are checked with fullmatch (``$`` after ``re.match`` accepts a trailing newline); the
# anchors stay for the OpenAPI document, which shows the pattern.
MODEL_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
EVALUATION_FILES = ("grader.json", "explainer.json")
_PLOT_NAME = re.compile(r"[a-z0-9_-]{1,80}\.png")
# What a training job started from the web may ask for: name -> (lowest, highest).
TRAINING_LIMITS: dict[str, tuple[int, int]] = {
    "epochs": (1, defaults.MAX_EPOCHS), "feature_epochs": (0, defaults.MAX_FEATURE_EPOCHS),
    "image_size": (defaults.MIN_IMAGE_SIZE, defaults.MAX_IMAGE_SIZE)}


class ModelNotFoundError(OutfitError):
    """No model folder of that name in the instance."""


class JobLimitError(OutfitError):
    """A job asks for more than a web job may (:data:`TRAINING_LIMITS`)."""


def check_training_limits(**values: Any) -> None:
    """Refuse, naming the range, any of ``epochs``, ``feature_epochs``, ``image_size`` that is
    not a whole number within :data:`TRAINING_LIMITS`."""
    for name, value in values.items():
        lo, hi = TRAINING_LIMITS[name]
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise JobLimitError(
                f"{name.replace('_', ' ')} must be a whole number from {lo} to {hi} "
                f"(got {value!r})", hint="these limits keep one job from holding the server "
                "for days; train bigger models with `outfit train` on the command line")


@dataclass(frozen=True)
class ModelInfo:
    """One model folder: its name, the key of its evaluations, its card (None when unreadable,
    with ``problem`` saying why)."""

    name: str
    path: Path
    key: str
    card: dict[str, Any] | None
    problem: str | None
    modified: str
    size_bytes: int

    def summary(self) -> dict[str, Any]:
        """The card's headline numbers, flat, for a list or a table."""
        card = self.card or {}
        metrics, data, config = card.get("metrics", {}), card.get("data", {}), card.get("config", {})
        return {
            "name": self.name, "key": self.key, "modified": self.modified,
            "size_bytes": self.size_bytes, "what": card.get("what"), "created": card.get("created"),
            "dataset": Path(data["root"]).name if data.get("root") else data.get("name"),
            "train_outfits": (data.get("train") or {}).get("outfits"),
            "valid_auc": metrics.get("valid_auc"), "valid_fitb": metrics.get("valid_fitb"),
            "train_seconds": card.get("train_seconds"), "arch": config.get("arch"),
            "backbone": config.get("backbone"), "image_size": config.get("image_size"),
            "epochs": len([e for e in card.get("log", []) if e.get("stage") == "grader"]) or None,
            "problem": self.problem,
        }


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _read_card(folder: Path) -> tuple[dict[str, Any] | None, str | None]:
    path = folder / "card.json"
    if not path.is_file():
        return None, "no card.json beside model.pt"
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return None, f"card.json cannot be read: {exc}"
    if not isinstance(card, dict):
        return None, "card.json is not an object"
    problem = _card_problem(card)
    return (None, problem) if problem else (card, None)


# The card's fields the app reads, and their JSON types (a parent before its children).
_CARD_TYPES: dict[tuple[str, ...], tuple[type, ...]] = {
    ("what",): (str,), ("created",): (str,), ("train_seconds",): (int, float), ("log",): (list,),
    ("metrics",): (dict,), ("metrics", "valid_auc"): (int, float),
    ("metrics", "valid_fitb"): (int, float), ("data",): (dict,), ("data", "root"): (str,),
    ("data", "name"): (str,), ("data", "train"): (dict,), ("data", "train", "outfits"): (int,),
    ("config",): (dict,), ("config", "arch"): (str,), ("config", "backbone"): (str,),
    ("config", "image_size"): (int,)}


def _card_problem(card: dict[str, Any]) -> str | None:
    """Why a card that parses cannot be shown (a field the app reads has the wrong type), or
    None: such a card is refused with that sentence, as a truncated one is."""
    for keys, types in _CARD_TYPES.items():
        value: Any = card
        for k in keys:
            value = value.get(k) if isinstance(value, dict) else None
        if value is not None and (isinstance(value, bool) or not isinstance(value, types)):
            what = {str: "text", int: "a number", dict: "an object", list: "a list"}[types[0]]
            return f"card.json is damaged: {'.'.join(keys)} is not {what}"
    if not all(isinstance(e, dict) for e in card.get("log") or []):
        return "card.json is damaged: its log holds something other than objects"
    return None


def list_models(home: Path) -> list[ModelInfo]:
    """Every ``<home>/models/<name>/model.pt``, newest first (names starting with a dot are
    work in progress and left out)."""
    root = Path(home) / MODELS_DIR
    if not root.is_dir():
        return []
    found = []
    for folder in root.iterdir():
        file = folder / "model.pt"
        if folder.name.startswith(".") or not file.is_file():
            continue
        st = file.stat()
        card, problem = _read_card(folder)
        found.append(ModelInfo(name=folder.name, path=folder, key=model_key(folder), card=card,
                               problem=problem, modified=_iso(st.st_mtime),
                               size_bytes=st.st_size))
    found.sort(key=lambda m: (m.modified, m.name), reverse=True)
    return found


def find_model(home: Path, name: str) -> ModelInfo:
    """The model called ``name``, looked up in :func:`list_models` (never joined to a path)."""
    for m in list_models(home):
        if m.name == name:
            return m
    raise ModelNotFoundError(f"no model called {name!r} in this instance",
                             hint="the models page lists the models; train one there or with "
                                  "`outfit train --out <home>/models/NAME`")


def read_active_name(home: Path) -> str | None:
    """The name saved by :func:`write_active_name`, or None."""
    try:
        name = (Path(home) / ACTIVE_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return name if MODEL_NAME_RE.fullmatch(name) else None


def write_active_name(home: Path, name: str) -> None:
    atomic_write_text(Path(home) / ACTIVE_FILE, name + "\n")


def activate(svc: Services, model: ModelInfo) -> ActiveModel:
    """Make ``model`` the app's model, now and after a restart. It is loaded on first use; a
    model that cannot be loaded says so on every page, as at start-up."""
    write_active_name(svc.home, model.name)
    active = ActiveModel(model.path, run_lock=svc.model.run_lock)
    svc.model = active
    return active


# ----------------------------------------------------------------------------- evaluations
def evaluation_dir(home: Path, model: ModelInfo, dataset: DatasetInfo) -> Path:
    return Path(home) / "evaluations" / model.key / dataset.id


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_evaluation(home: Path, model: ModelInfo, dataset: DatasetInfo) -> dict[str, Any] | None:
    """A finished evaluation: ``grader`` (AUC, FITB, accuracy, ECE, counts), ``explainer`` (per
    method: top-1 item and pair accuracy against the ground truth where known, deletion AUC,
    randomisation correlation; None when not measured), ``plots`` (PNG names), ``created``."""
    folder = evaluation_dir(home, model, dataset)
    doc = _json(folder / "grader.json")
    if not isinstance(doc, dict) or not doc.get("models"):
        return None
    grader = next(iter(doc["models"].values()))
    grader = {k: v for k, v in grader.items() if k != "per_category"}
    explainer = _json(folder / "explainer.json")
    plots = sorted(p.name for p in folder.glob("*.png") if _PLOT_NAME.fullmatch(p.name))
    return {"grader": grader, "explainer": _explainer_summary(explainer), "plots": plots,
            "created": _iso((folder / "grader.json").stat().st_mtime)}


def _explainer_summary(report: Any) -> dict[str, Any] | None:
    if not isinstance(report, dict) or not isinstance(report.get("methods"), dict):
        return None
    rows = {}
    for method, r in report["methods"].items():
        if not isinstance(r, dict):
            continue
        truth = r.get("ground_truth") or {}
        rules = truth.get("rules") or {}
        rows[method] = {
            "top1_item": r.get("top1_item"), "top1_pair": r.get("top1_item_group"),
            "first_sentence": r.get("first_sentence_item"),
            "truth_item": truth.get("top1_item"), "truth_property": truth.get("top1_group"),
            "rules_reason": rules.get("top1_reason"), "clash_true": rules.get("clash_true"),
            "deletion_auc": r.get("deletion_auc"),
            "randomisation_passed": (r.get("randomisation") or {}).get("passed"),
        }
    rules = report.get("rules") if isinstance(report.get("rules"), dict) else {}
    return {"methods": rows, "ground_truth": bool(report.get("ground_truth_outfits")),
            "tied": (rules.get("corruptions") or {}).get("tied"),
            "tie_blind": (rules.get("corruptions") or {}).get("tie_blind_top1_item"),
            "outfits": report.get("outfits")}


def plot_path(home: Path, model: ModelInfo, dataset: DatasetInfo, name: str) -> Path:
    """An evaluation PNG, by a name checked against the plot-name pattern."""
    if not _PLOT_NAME.fullmatch(name):
        raise ModelNotFoundError(f"no plot {name!r}", hint="plot names come from the evaluation")
    path = evaluation_dir(home, model, dataset) / name
    if not path.is_file():
        raise ModelNotFoundError(f"no plot {name!r} for this model and dataset",
                                 hint="evaluate the model on this dataset first")
    return path


def compare(a: dict[str, Any] | None, b: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Rows for a side-by-side table of two evaluations: metric, A, B, B - A, and which is
    better (higher is better except ECE)."""
    rows = []
    metrics = [("grader", "auc", "Compatibility AUC", True), ("grader", "fitb", "FITB accuracy", True),
               ("grader", "accuracy", "Accuracy at 0.5", True),
               ("grader", "ece", "Calibration error (ECE)", False)]
    methods = sorted({m for e in (a, b) if e and e.get("explainer")
                      for m in e["explainer"]["methods"]})
    for m in methods:
        # in a synthetic world: is the reason named first one the rules give; elsewhere:
        # replace-and-detect (the swapped-in culprit is a coin toss between clashing items)
        rows_m = [e["explainer"]["methods"].get(m, {}) for e in (a, b) if e and e.get("explainer")]
        truth = any(r.get("rules_reason") is not None for r in rows_m)
        metrics.append(("explainer", (m, "rules_reason" if truth else "top1_item"),
                        f"Explainer {m}: "
                        + ("a true reason named first" if truth else "replaced item ranked first"),
                        True))
    for part, key, label, higher in metrics:
        va, vb = (_metric(e, part, key) for e in (a, b))
        better = None
        if va is not None and vb is not None and va != vb:
            better = "a" if (va > vb) == higher else "b"
        rows.append({"label": label, "a": va, "b": vb,
                     "delta": None if va is None or vb is None else vb - va, "better": better})
    return rows


def _metric(e: dict[str, Any] | None, part: str, key: Any) -> float | None:
    if not e or not e.get(part):
        return None
    if part == "explainer":
        method, name = key
        v = e["explainer"]["methods"].get(method, {}).get(name)
    else:
        v = e["grader"].get(key)
    return float(v) if isinstance(v, int | float) else None


def diagnostics_dir(home: Path, model: ModelInfo) -> Path:
    return Path(home) / "diagnostics" / model.key


def read_diagnostics(home: Path, model: ModelInfo) -> dict[str, Any] | None:
    from explain.diagnostics import DIAGNOSTICS_INDEX
    from explain.global_view import readable_view

    index = _json(diagnostics_dir(home, model) / DIAGNOSTICS_INDEX)
    if not isinstance(index, dict) or not isinstance(index.get("images"), list):
        return None
    index["images"] = [im for im in index["images"] if isinstance(im, dict)
                       and _PLOT_NAME.fullmatch(str(im.get("file", "")))]
    index["grader_view"] = readable_view(index.get("grader_view"))  # None when not drawn
    return index


def diagnostic_path(home: Path, model: ModelInfo, name: str) -> Path:
    index = read_diagnostics(home, model)
    if index is None or name not in {im["file"] for im in index["images"]}:
        raise ModelNotFoundError(f"no diagnostic image {name!r} for {model.name}",
                                 hint="draw the model's diagnostics first")
    return diagnostics_dir(home, model) / name


# ----------------------------------------------------------------------------- jobs
def start_training(jobs: JobManager, home: Path, dataset: DatasetInfo, name: str, *,
                   epochs: int = defaults.EPOCHS, feature_epochs: int = defaults.FEATURE_EPOCHS,
                   image_size: int = defaults.IMAGE_SIZE, seed: int = defaults.SEED) -> Job:
    """Train a model on ``dataset`` into ``<home>/models/<name>`` (a new name) as a job;
    epochs, feature epochs and image size within :data:`TRAINING_LIMITS`."""
    check_training_limits(epochs=epochs, feature_epochs=feature_epochs, image_size=image_size)
    if not MODEL_NAME_RE.fullmatch(name or ""):
        raise DatasetError(f"{name!r} is not a usable model name",
                           hint="use 1 to 64 letters, digits, dots, dashes or underscores, "
                                "starting with a letter or digit")
    dest = Path(home) / MODELS_DIR / name
    if dest.exists():
        raise DatasetError(f"a model called {name!r} exists already",
                           hint="choose another name (or delete that folder)")
    args = ["train", str(dataset.path), "--out", "{out}", "--quiet", "--progress-file",
            "{progress}", "--epochs", str(epochs), "--feature-epochs", str(feature_epochs),
            "--image-size", str(image_size), "--seed", str(seed)]
    return jobs.start("train", f"Train {name} on {dataset.name}", [args], destination=dest,
                      result={"model": name, "dataset": dataset.id})


def start_evaluation(jobs: JobManager, home: Path, model: ModelInfo, dataset: DatasetInfo, *,
                     max_outfits: int = 100) -> Job:
    """Evaluate ``model`` on ``dataset``'s test split as a job: the grader (AUC, FITB, ROC),
    then every attribution method."""
    dest = evaluation_dir(home, model, dataset)
    grade = ["evaluate", str(dataset.path), "--model", str(model.path), "--no-baselines",
             "--json", "{out}/grader.json", "--plots", "{out}"]
    explain = ["evaluate-explainer", str(dataset.path), "--model", str(model.path),
               "--max-outfits", str(max_outfits), "--json", "{out}/explainer.json"]
    return jobs.start("evaluate", f"Evaluate {model.name} on {dataset.name}", [grade, explain],
                      destination=dest, result={"model": model.name, "dataset": dataset.id})


def start_diagnostics(jobs: JobManager, home: Path, model: ModelInfo, dataset: DatasetInfo, *,
                      steps: int = 200) -> Job:
    """Draw ``model``'s diagnostics on ``dataset``'s test items as a job."""
    args = ["diagnose", str(dataset.path), "--model", str(model.path), "--out", "{out}",
            "--steps", str(steps)]
    return jobs.start("diagnose", f"Diagnostics of {model.name}", [args],
                      destination=diagnostics_dir(home, model),
                      result={"model": model.name, "dataset": dataset.id})


def start_job(svc: Services, body: dict[str, Any]) -> Job:
    """Start the job ``body`` asks for (as the models page's forms and the API give it: ``kind``
    train, evaluate or diagnose, ``dataset`` an id or a path under a data root, and the model,
    name, epochs, feature epochs, image size or outfits that kind takes)."""
    if body["kind"] == "train":  # the limits first: they need no disk
        check_training_limits(epochs=body["epochs"], feature_epochs=body["feature_epochs"],
                              image_size=body["image_size"])
    dataset = resolve_dataset(svc.data_roots, body["dataset"])
    if body["kind"] == "train":
        return start_training(svc.jobs, svc.home, dataset, body["name"], epochs=body["epochs"],
                              feature_epochs=body["feature_epochs"],
                              image_size=body["image_size"])
    model = find_model(svc.home, body["model"])
    if body["kind"] == "evaluate":
        return start_evaluation(svc.jobs, svc.home, model, dataset,
                                max_outfits=body["max_outfits"])
    return start_diagnostics(svc.jobs, svc.home, model, dataset)

