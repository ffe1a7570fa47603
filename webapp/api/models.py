"""``/api/v1``: the models of the instance (their cards, the active one), the datasets the
server may read, evaluations and their comparison, and the background jobs that train,
evaluate and diagnose models (start, follow, cancel). The work is in :mod:`usecases.manage_models`
and :mod:`usecases.jobs`.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, send_file
from marshmallow import fields, validate

from explain.global_view import compare_views
from outfit import defaults
from usecases.datasets import list_datasets, resolve_dataset
from usecases.manage_models import (
    MODEL_NAME_RE,
    TRAINING_LIMITS,
    activate,
    compare,
    find_model,
    list_models,
    plot_path,
    read_diagnostics,
    read_evaluation,
    start_job,
)
from usecases.services import Services
from webapp.api.blueprint import ApiBlueprint
from webapp.api.grader_view import CompareGroupSchema, GraderViewSchema
from webapp.api.schemas import ErrorSchema, JsonInteger, WholeMatch
from webapp.services import services

__all__ = ["blp", "model_json", "job_json"]

blp = ApiBlueprint("models", __name__, url_prefix="/api/v1",
                   description="Models, datasets, evaluations and training jobs.")

_NAME = WholeMatch(MODEL_NAME_RE, error="not a model name (1 to 64 letters, digits, . _ -)")


def _limit(name: str) -> validate.Range:
    """The range a web training job's ``name`` must lie in (:data:`TRAINING_LIMITS`)."""
    lo, hi = TRAINING_LIMITS[name]
    return validate.Range(min=lo, max=hi, error="Must be from {min} to {max}: the limit for a "
                                                "job started from the web.")


class ModelSchema(ma.Schema):
    name = fields.String(required=True)
    key = fields.String(required=True, metadata={"description": "Changes when the file changes"})
    active = fields.Boolean(required=True)
    modified = fields.String(required=True)
    size_bytes = fields.Integer(required=True)
    what = fields.String(allow_none=True)
    created = fields.String(allow_none=True)
    dataset = fields.String(allow_none=True, metadata={"description": "Trained on"})
    train_outfits = fields.Integer(allow_none=True)
    valid_auc = fields.Float(allow_none=True)
    valid_fitb = fields.Float(allow_none=True)
    train_seconds = fields.Float(allow_none=True)
    arch = fields.String(allow_none=True)
    backbone = fields.String(allow_none=True)
    image_size = fields.Integer(allow_none=True)
    epochs = fields.Integer(allow_none=True)
    problem = fields.String(allow_none=True, metadata={"description": "Why the card is missing"})


class ModelListSchema(ma.Schema):
    models = fields.List(fields.Nested(ModelSchema), required=True,
                         metadata={"description": "Newest first"})
    active = fields.String(allow_none=True, metadata={"description": "The active model's name"})
    status = fields.String(required=True, metadata={"description": "The active model, in words"})


class ModelDetailSchema(ModelSchema):
    card = fields.Dict(allow_none=True, metadata={"description": "card.json as training wrote it"})


class DatasetSchema(ma.Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    path = fields.String(required=True)
    format = fields.String(required=True)
    ground_truth = fields.Boolean(required=True, metadata={
        "description": "A synthetic world whose bad outfits say why they are bad"})


class DatasetListSchema(ma.Schema):
    datasets = fields.List(fields.Nested(DatasetSchema), required=True)
    roots = fields.List(fields.String(), required=True,
                        metadata={"description": "Folders datasets may be read from"})


class DatasetQuery(ma.Schema):
    dataset = fields.String(required=True, validate=validate.Length(min=1, max=4096),
                            metadata={"description": "A dataset id (GET /datasets)"})


class EvaluationSchema(ma.Schema):
    model = fields.String(required=True)
    dataset = fields.String(required=True)
    evaluation = fields.Dict(allow_none=True, metadata={
        "description": "grader (auc, fitb, accuracy, ece, counts), explainer (per method), "
                       "plots (PNG names), created; null when not evaluated yet"})


class CompareQuery(DatasetQuery):
    a = fields.String(required=True, validate=_NAME)
    b = fields.String(required=True, validate=_NAME)


class CompareRowSchema(ma.Schema):
    label = fields.String(required=True)
    a = fields.Float(allow_none=True)
    b = fields.Float(allow_none=True)
    delta = fields.Float(allow_none=True, metadata={"description": "b - a"})
    better = fields.String(allow_none=True, metadata={"description": "a, b or null"})


class CompareSchema(ma.Schema):
    a = fields.Nested(ModelSchema, required=True)
    b = fields.Nested(ModelSchema, required=True)
    dataset = fields.Nested(DatasetSchema, required=True)
    rows = fields.List(fields.Nested(CompareRowSchema), required=True)
    evaluated = fields.Dict(keys=fields.String(), values=fields.Boolean(), required=True)
    groups = fields.List(fields.Nested(CompareGroupSchema), required=True, metadata={
        "description": "What each grader relies on, per feature group (from the diagnostics)"})


class DiagnosticImageSchema(ma.Schema):
    file = fields.String(required=True)
    title = fields.String(required=True)
    caption = fields.String(required=True)
    unit = fields.String(load_default=None, metadata={"description": "shape:<category> or "
                                                      "pattern:<pattern>; absent for the projection"})


class DiagnosticsSchema(ma.Schema):
    items = fields.Integer(allow_none=True, metadata={"description": "Items projected"})
    images = fields.List(fields.Nested(DiagnosticImageSchema), required=True)
    grader_view = fields.Nested(GraderViewSchema, allow_none=True, metadata={
        "description": "What the grader relies on over the test outfits; null when not drawn"})


class JobSchema(ma.Schema):
    id = fields.String(required=True)
    kind = fields.String(required=True, metadata={"description": "train, evaluate or diagnose"})
    title = fields.String(required=True)
    state = fields.String(required=True, metadata={
        "description": "queued, running, done, failed, cancelled, interrupted or timed_out"})
    step = fields.Integer(required=True)
    steps = fields.Integer(required=True)
    fraction = fields.Float(required=True, metadata={"description": "0 to 1"})
    stage = fields.String(required=True, metadata={"description": "What it is doing, in words"})
    message = fields.String(required=True)
    created = fields.String(required=True)
    finished = fields.String(allow_none=True)
    result = fields.Dict(required=True)


class JobListSchema(ma.Schema):
    jobs = fields.List(fields.Nested(JobSchema), required=True,
                       metadata={"description": "Newest first"})
    running = fields.String(allow_none=True, metadata={"description": "The running job's id"})


class JobRequestSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    kind = fields.String(required=True, validate=validate.OneOf(("train", "evaluate", "diagnose")))
    dataset = fields.String(required=True, validate=validate.Length(min=1, max=4096), metadata={
        "description": "A dataset id, or the path of a dataset folder under a data root"})
    model = fields.String(load_default=None, validate=_NAME, metadata={
        "description": "evaluate, diagnose: the model's name"})
    name = fields.String(load_default=None, validate=_NAME, metadata={
        "description": "train: the new model's name"})
    epochs = JsonInteger(load_default=defaults.EPOCHS, validate=_limit("epochs"))
    feature_epochs = JsonInteger(load_default=defaults.FEATURE_EPOCHS,
                                 validate=_limit("feature_epochs"))
    image_size = JsonInteger(load_default=defaults.IMAGE_SIZE, validate=_limit("image_size"))
    max_outfits = JsonInteger(load_default=100, validate=validate.Range(min=1, max=5000),
                                 metadata={"description": "evaluate: outfits per explainer check"})

    @ma.validates_schema
    def _needs(self, data: dict[str, Any], **_: Any) -> None:
        if data["kind"] == "train" and not data.get("name"):
            raise ma.ValidationError("a training job needs the new model's name", "name")
        if data["kind"] != "train" and not data.get("model"):
            raise ma.ValidationError(f"a {data['kind']} job needs a model", "model")


def model_json(svc: Services, info: Any) -> dict[str, Any]:
    return {**info.summary(), "active": svc.model.path is not None
            and svc.model.path.resolve() == info.path.resolve()}


def job_json(svc: Services, job: Any) -> dict[str, Any]:
    return job.to_dict(svc.jobs.folder_of(job))


@blp.route("/models", methods=["GET"])
@blp.response(200, ModelListSchema)
def get_models() -> dict[str, Any]:
    """The instance's models with their cards' headline numbers, and which one is active."""
    svc = services()
    models = [model_json(svc, m) for m in list_models(svc.home)]
    active = next((m["name"] for m in models if m["active"]), None)
    return {"models": models, "active": active, "status": svc.model.status()}


@blp.route("/models/<name>", methods=["GET"])
@blp.response(200, ModelDetailSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such model")
def get_model(name: str) -> dict[str, Any]:
    """One model with its whole card."""
    svc = services()
    info = find_model(svc.home, name)
    return {**model_json(svc, info), "card": info.card}


@blp.route("/models/<name>/activate", methods=["POST"])
@blp.response(200, ModelListSchema)
@blp.alt_response(400, schema=ErrorSchema, description="The CSRF token is missing or wrong")
@blp.alt_response(404, schema=ErrorSchema, description="No such model")
def activate_model(name: str) -> dict[str, Any]:
    """Make this model the one that scores, explains, recommends and tags (kept across
    restarts). Item features are computed again for it on first use."""
    svc = services()
    activate(svc, find_model(svc.home, name))
    return get_models()


@blp.route("/datasets", methods=["GET"])
@blp.response(200, DatasetListSchema)
def get_datasets() -> dict[str, Any]:
    """The datasets found in the data roots (``<home>/worlds`` and ``outfit serve
    --data-root``), each root itself or one level down."""
    svc = services()
    return {"datasets": [d.to_dict() for d in list_datasets(svc.data_roots)],
            "roots": [str(r) for r in svc.data_roots]}


@blp.route("/models/<name>/evaluation", methods=["GET"])
@blp.arguments(DatasetQuery, location="query")
@blp.response(200, EvaluationSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such model")
@blp.alt_response(422, schema=ErrorSchema, description="Not a dataset this server may read")
def get_evaluation(query: dict[str, Any], name: str) -> dict[str, Any]:
    """The model's evaluation on a dataset (null until an evaluate job has run)."""
    svc = services()
    info, dataset = find_model(svc.home, name), resolve_dataset(svc.data_roots, query["dataset"])
    return {"model": info.name, "dataset": dataset.id,
            "evaluation": read_evaluation(svc.home, info, dataset)}


@blp.route("/models/<name>/evaluation/<plot>", methods=["GET"])
@blp.arguments(DatasetQuery, location="query")
@blp.response(200, {"type": "string", "format": "binary"}, content_type="image/png")
@blp.alt_response(404, schema=ErrorSchema, description="No such model or plot")
@blp.alt_response(422, schema=ErrorSchema, description="Not a dataset this server may read")
def get_evaluation_plot(query: dict[str, Any], name: str, plot: str) -> Response:
    """A plot of the evaluation (``roc.png``, ``reliability.png``, ``scores_<model>.png``)."""
    svc = services()
    info, dataset = find_model(svc.home, name), resolve_dataset(svc.data_roots, query["dataset"])
    return send_file(plot_path(svc.home, info, dataset, plot), mimetype="image/png", max_age=60)


@blp.route("/models/<name>/diagnostics", methods=["GET"])
@blp.response(200, DiagnosticsSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such model")
def get_diagnostics(name: str) -> dict[str, Any]:
    """The diagnostics index (``images``: file, title, caption; ``grader_view``: mean |gxa| per
    feature group and slot, slot pairs' interactions), or ``{"images": []}``."""
    svc = services()
    return (read_diagnostics(svc.home, find_model(svc.home, name))
            or {"items": None, "images": [], "grader_view": None})


@blp.route("/models/compare", methods=["GET"])
@blp.arguments(CompareQuery, location="query")
@blp.response(200, CompareSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such model")
@blp.alt_response(422, schema=ErrorSchema, description="Not a dataset this server may read")
def compare_models(query: dict[str, Any]) -> dict[str, Any]:
    """Two models' evaluations on one dataset, metric by metric."""
    svc = services()
    dataset = resolve_dataset(svc.data_roots, query["dataset"])
    a, b = find_model(svc.home, query["a"]), find_model(svc.home, query["b"])
    ea, eb = read_evaluation(svc.home, a, dataset), read_evaluation(svc.home, b, dataset)
    da, db = read_diagnostics(svc.home, a) or {}, read_diagnostics(svc.home, b) or {}
    return {"a": model_json(svc, a), "b": model_json(svc, b), "dataset": dataset.to_dict(),
            "rows": compare(ea, eb), "evaluated": {"a": ea is not None, "b": eb is not None},
            "groups": compare_views(da.get("grader_view"), db.get("grader_view"))}


@blp.route("/jobs", methods=["GET"])
@blp.response(200, JobListSchema)
def get_jobs() -> dict[str, Any]:
    """The latest jobs and the running one."""
    svc = services()
    running = svc.jobs.running()
    return {"jobs": [job_json(svc, j) for j in svc.jobs.list()],
            "running": running.id if running else None}


@blp.route("/jobs", methods=["POST"])
@blp.arguments(JobRequestSchema)
@blp.response(202, JobSchema, description=(
    "The job started, or waits its turn (state queued); follow it at /jobs/{id}"))
@blp.alt_response(400, schema=ErrorSchema,
                  description="The body is not valid JSON, or the CSRF token is missing or wrong")
@blp.alt_response(404, schema=ErrorSchema, description="No such model")
@blp.alt_response(409, schema=ErrorSchema, description=(
    f"The job queue is full (one job runs, at most {defaults.JOB_QUEUE} wait), or a job making "
    "the same thing is queued or running"))
@blp.alt_response(422, schema=ErrorSchema, description=(
    "A value is not valid, the dataset is not one the server may read, or the new model's "
    "name is taken"))
def create_job(body: dict[str, Any]) -> dict[str, Any]:
    """Train a model (``kind: train``, ``name``, ``dataset``, epochs), evaluate one
    (``evaluate``, ``model``, ``dataset``) or draw its diagnostics (``diagnose``) in the
    background. One job runs at a time; a few more wait their turn (``queued``). A job that runs
    longer than the server's limit is stopped (``timed_out``)."""
    svc = services()
    return job_json(svc, start_job(svc, body))


@blp.route("/jobs/<job_id>", methods=["GET"])
@blp.response(200, JobSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such job")
def get_job(job_id: str) -> dict[str, Any]:
    """How a job stands: state, fraction done, what it is doing."""
    svc = services()
    return job_json(svc, svc.jobs.get(job_id))


@blp.route("/jobs/<job_id>/cancel", methods=["POST"])
@blp.response(200, JobSchema)
@blp.alt_response(400, schema=ErrorSchema, description="The CSRF token is missing or wrong")
@blp.alt_response(404, schema=ErrorSchema, description="No such job")
def cancel_job(job_id: str) -> dict[str, Any]:
    """Stop a running job; nothing it made is kept. A finished job is left as it is."""
    svc = services()
    return job_json(svc, svc.jobs.cancel(job_id))
