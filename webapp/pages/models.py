"""The models page, for a data scientist: the instance's models with their cards and, for a
chosen dataset, their evaluations (AUC, FITB, the ROC plot, the explainer's accuracy per
method); two models side by side; a form that trains a new model in the background with a
progress bar and a cancel button; each model's diagnostics; the choice of the active model.

Every POST is a plain form (CSRF token, flash, redirect); ``models.js`` follows a running job
through ``GET /api/v1/jobs/<id>`` and reloads the page when it ends. Without JavaScript the
page shows the job as it stood and a link to look again.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from werkzeug.wrappers import Response

from explain.global_view import compare_views
from outfit import defaults
from outfit.errors import OutfitError
from usecases.datasets import DatasetInfo, list_datasets, resolve_dataset
from usecases.manage_models import (
    activate,
    compare,
    diagnostic_path,
    find_model,
    list_models,
    plot_path,
    read_diagnostics,
    read_evaluation,
    start_job,
)
from usecases.services import Services
from webapp.api.models import job_json, model_json
from webapp.services import services

__all__ = ["bp"]

bp = Blueprint("models_page", __name__)


def _dataset(svc: Services, datasets: list[DatasetInfo]) -> DatasetInfo | None:
    """The dataset chosen in ``?dataset=``, else the first listed (None when none is)."""
    wanted = request.values.get("dataset", "")
    for d in datasets:
        if d.id == wanted:
            return d
    return datasets[0] if datasets else None


def _int(name: str, default: int) -> int:
    """A whole number of the form (``default`` when left empty); its range is checked where
    the job starts (:func:`usecases.manage_models.check_training_limits`), never clamped."""
    value = request.form.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise OutfitError(f"{name.replace('_', ' ')} must be a whole number (got {value[:20]!r})",
                          hint="type digits only") from None


@bp.get("/models")
def index() -> str:
    svc = services()
    datasets = list_datasets(svc.data_roots)
    dataset = _dataset(svc, datasets)
    rows = []
    for info in list_models(svc.home):
        evaluation = read_evaluation(svc.home, info, dataset) if dataset else None
        view = (read_diagnostics(svc.home, info) or {}).get("grader_view")
        rows.append({"info": info, "m": model_json(svc, info), "evaluation": evaluation,
                     "relies_on": max(view["groups"], key=lambda g: g["share"]) if view else None})
    jobs = [job_json(svc, j) for j in svc.jobs.list(limit=5)]
    running = next((j for j in jobs if j["state"] == "running"), None)
    return render_template("models.html", rows=rows, datasets=datasets, dataset=dataset,
                           jobs=jobs, running=running, model_status=svc.model.status(),
                           roots=svc.data_roots, default_name=_free_name(svc),
                           busy=svc.jobs.full())


def _free_name(svc: Services) -> str:
    taken = {m.name for m in list_models(svc.home)}
    k = len(taken) + 1
    while f"model-{k}" in taken or (svc.home / "models" / f"model-{k}").exists():
        k += 1
    return f"model-{k}"


@bp.get("/models/<name>")
def model(name: str) -> str:
    svc = services()
    info = find_model(svc.home, name)
    datasets = list_datasets(svc.data_roots)
    dataset = _dataset(svc, datasets)
    evaluation = read_evaluation(svc.home, info, dataset) if dataset else None
    running = svc.jobs.running()
    return render_template("model.html", info=info, m=model_json(svc, info), card=info.card or {},
                           datasets=datasets, dataset=dataset, evaluation=evaluation,
                           diagnostics=read_diagnostics(svc.home, info),
                           running=job_json(svc, running) if running else None,
                           busy=svc.jobs.full())


@bp.get("/models/compare")
def compare_page() -> str | Response:
    svc = services()
    datasets = list_datasets(svc.data_roots)
    dataset = _dataset(svc, datasets)
    names = [n for n in request.args.getlist("m") if n][:2]
    if len(names) != 2 or names[0] == names[1]:
        flash("Pick two different models to compare.", "error")
        return redirect(url_for(".index", dataset=dataset.id if dataset else None))
    a, b = (find_model(svc.home, n) for n in names)
    ea = read_evaluation(svc.home, a, dataset) if dataset else None
    eb = read_evaluation(svc.home, b, dataset) if dataset else None
    running = svc.jobs.running()
    views = [(read_diagnostics(svc.home, m) or {}).get("grader_view") for m in (a, b)]
    return render_template("compare.html", a=a, b=b, ma=model_json(svc, a), mb=model_json(svc, b),
                           ea=ea, eb=eb, rows=compare(ea, eb), dataset=dataset, views=views,
                           groups=compare_views(*views),
                           datasets=datasets, busy=svc.jobs.full(),
                           running=job_json(svc, running) if running else None)


def _back(default: str) -> Response:
    from webapp.pages.wears import safe_next

    return redirect(safe_next(request.form.get("next"), default))


@bp.post("/models/<name>/activate")
def activate_model(name: str) -> Response:
    svc = services()
    try:
        info = find_model(svc.home, name)
    except OutfitError as exc:
        flash(f"{exc.message} ({exc.hint})", "error")
        return _back(url_for(".index"))
    activate(svc, info)
    flash(f"{info.name} is now the active model: it scores, explains, recommends and tags.", "ok")
    return _back(url_for(".index"))


@bp.post("/models/jobs")
def start() -> Response:
    """Start a job from one of the page's forms (train, evaluate, diagnose)."""
    svc = services()
    kind = request.form.get("kind", "")
    if kind not in ("train", "evaluate", "diagnose"):
        flash("Unknown kind of job.", "error")
        return _back(url_for(".index"))
    try:
        body: dict[str, Any] = {
            "kind": kind, "dataset": request.form.get("dataset", ""),
            "model": request.form.get("model") or None, "name": request.form.get("name") or None,
            "epochs": _int("epochs", defaults.EPOCHS),
            "feature_epochs": _int("feature_epochs", defaults.FEATURE_EPOCHS),
            "image_size": _int("image_size", defaults.IMAGE_SIZE), "max_outfits": 100}
        if body["kind"] == "train" and not body["name"]:
            raise OutfitError("the new model needs a name", hint="type a name such as model-2")
        job = start_job(svc, body)
    except OutfitError as exc:
        flash(f"Not started: {exc.message}" + (f" ({exc.hint})" if exc.hint else ""), "error")
        return _back(url_for(".index"))
    if job.state == "queued":
        flash(f"Queued: {job.title}. It starts when the jobs before it have finished.", "ok")
    else:
        flash(f"Started: {job.title}. It runs in the background; this page follows it.", "ok")
    return _back(url_for(".index"))


@bp.post("/models/jobs/<job_id>/cancel")
def cancel(job_id: str) -> Response:
    svc = services()
    try:
        job = svc.jobs.cancel(job_id)
    except OutfitError as exc:
        flash(exc.message, "error")
        return _back(url_for(".index"))
    flash(f"Cancelling: {job.title}. Nothing it made is kept.", "ok")
    return _back(url_for(".index"))


@bp.get("/models/<name>/plots/<dataset_id>/<plot>")
def plot(name: str, dataset_id: str, plot: str) -> Response:
    svc = services()
    info = find_model(svc.home, name)
    dataset = resolve_dataset(svc.data_roots, dataset_id)
    return send_file(plot_path(svc.home, info, dataset, plot), mimetype="image/png", max_age=60)


@bp.get("/models/<name>/diagnostics/<image>")
def diagnostic(name: str, image: str) -> Response:
    svc = services()
    info = find_model(svc.home, name)
    return send_file(diagnostic_path(svc.home, info, image), mimetype="image/png", max_age=60)
