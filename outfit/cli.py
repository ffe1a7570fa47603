"""The ``outfit`` command. Thin: parse, call a package's public API, print.

This module is the one place in ``outfit/`` that reaches the packages above it (``data``,
later ``grader`` and ``webapp``); it imports them inside each command so that ``outfit --help``
stays fast and the domain stays free of them.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from .errors import OutfitError

__all__ = ["main", "cli"]


class _Group(click.Group):
    """Turns the project's own errors into a one-line message and exit status 2."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except OutfitError as exc:
            msg = exc.message + (f"\nhint: {exc.hint}" if exc.hint else "")
            raise click.ClickException(msg) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Grade outfits, search a closet for the best ones, and explain every score."""


@cli.command()
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the world into (Polyvore Outfits layout).")
@click.option("--outfits", "n_outfits", default=2000, show_default=True,
              type=click.IntRange(min=10), help="Number of good outfits to draw.")
@click.option("--seed", default=0, show_default=True, type=int, help="Same seed, same world.")
@click.option("--image-size", default=128, show_default=True, type=click.IntRange(32, 1024),
              help="Side of the square product photos, in pixels.")
@click.option("--workers", default=None, type=click.IntRange(min=1),
              help="Processes drawing photos (default: up to 2).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def synth(out_dir: Path, n_outfits: int, seed: int, image_size: int, workers: int | None,
          as_json: bool) -> None:
    """Generate a synthetic fashion world: photos, outfits, questions and the true reasons."""
    from data.synth import generate_world

    summary = generate_world(out_dir, n_outfits=n_outfits, seed=seed, image_size=image_size,
                             workers=workers, progress=not as_json)
    _print_summary(summary, as_json, title=f"synthetic world in {out_dir}")


@cli.command("real-world")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the world into (Polyvore Outfits layout).")
@click.option("--photos", required=True, type=click.Path(exists=True, file_okay=False,
                                                         path_type=Path),
              help="The photos the labels name (e.g. ../shared/data/clothing-small).")
@click.option("--labels", required=True, type=click.Path(exists=True, dir_okay=False,
                                                         path_type=Path),
              help="CSV of file,main_color,pattern (e.g. "
                   "data/labels/clothing_small_colors_patterns.csv).")
@click.option("--outfits", nargs=3, type=click.IntRange(min=1), default=(1500, 300, 600),
              show_default=True, help="Good outfits wanted in train, valid and test.")
@click.option("--seed", default=0, show_default=True, type=int, help="Same seed, same world.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def real_world(out_dir: Path, photos: Path, labels: Path, outfits: tuple[int, int, int],
               seed: int, as_json: bool) -> None:
    """Make a real-photo world: the synthetic rules on hand-labelled real photos."""
    from data.realworld import make_real_world

    summary = make_real_world(out_dir, photos, labels, outfits=outfits, seed=seed)
    _print_summary(summary, as_json, title=f"real-photo world in {out_dir}")


@cli.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["auto", "polyvore", "maryland", "folder"]),
              default="auto", show_default=True, help="Layout of PATH.")
@click.option("--split", default="train", show_default=True,
              type=click.Choice(["train", "valid", "test"]))
@click.option("--version", "version", default="nondisjoint", show_default=True,
              type=click.Choice(["nondisjoint", "disjoint"]), help="Polyvore Outfits version.")
@click.option("--skip-missing", is_flag=True, help="Skip items whose photo is missing or bad.")
@click.option("--no-image-check", is_flag=True, help="Do not check that photos exist.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def info(path: Path, fmt: str, split: str, version: str, skip_missing: bool,
         no_image_check: bool, as_json: bool) -> None:
    """Load a dataset or a folder of photos and print what is in it."""
    from data import detect_format, load_closet, load_dataset

    fmt = detect_format(path) if fmt == "auto" else fmt
    on_bad = "skip" if skip_missing else "error"
    if fmt == "folder":
        closet, skipped = load_closet(path, on_bad_image=on_bad, check_images=not no_image_check)
        summary = {"format": fmt, "items": len(closet),
                   "by_category": dict(sorted(closet.category_counts().items())),
                   "skipped": dict(skipped)}
    else:
        ds = load_dataset(path, fmt=fmt, split=split, version=version, on_missing_image=on_bad,
                          check_images=not no_image_check)
        summary = {"format": fmt, "split": split, **ds.summary(), "skipped": dict(ds.skipped)}
    _print_summary(summary, as_json, title=str(path))


@cli.command()
@click.option("--outfits", "n_outfits", default=None, type=click.IntRange(min=10),
              help="Size of the demo's training world (default 2000).")
@click.option("--closet-items", default=80, show_default=True, type=click.IntRange(min=6),
              help="Items in the demo closet (made only when the closet is empty).")
@click.option("--serve/--no-serve", "do_serve", default=True, show_default=True,
              help="Serve the app once the demo is ready (--no-serve: prepare only).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; any but a loopback one needs a password (see serve).")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")
@click.option("--password-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Read the app's password from this file's first line "
                                 "(else $OUTFIT_PASSWORD).")
@click.option("--quick", is_flag=True, hidden=True,
              help="Tiny world and a few epochs: a poor demo in seconds (tests, CI).")
def demo(n_outfits: int | None, closet_items: int, do_serve: bool, host: str, port: int,
         password_file: Path | None, quick: bool) -> None:
    """Set up the demo in the instance folder ($OUTFIT_HOME or ~/.outfit) and serve it.

    The first run trains the demo model on a synthetic world (a few minutes on 2 cores) and
    fills the closet with about 80 items of another synthetic world; later runs find both and
    serve at once."""
    from webapp.access import access_config
    from webapp.demo import QUICK, prepare_demo

    from .config import instance_dir

    access = access_config(host, password_file) if do_serve else {}  # refuse before the work
    home = instance_dir(create=True)
    click.echo(f"instance folder: {home}")
    options: dict = {**QUICK} if quick else {}
    if n_outfits is not None:
        options["outfits"] = n_outfits
    state = prepare_demo(home, closet_items=closet_items, echo=click.echo, **options)
    click.echo(f"demo ready in {state.seconds:.1f} s: model {state.model_dir}, "
               f"{state.closet_items} items in the closet")
    if not do_serve:
        return
    from webapp import create_app
    from webapp.server import serve as serve_app

    app = create_app({"OUTFIT_HOME": home, "MODEL": state.model_dir, **access})
    serve_app(app, host, port, 8,
              announce=lambda url: click.echo(f"Serving the demo at {url} (Ctrl+C to stop)"))


@cli.command()
@click.argument("dataset", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Model folder to write (model.pt and card.json).")
@click.option("--arch", default="slots", show_default=True, help="Grader architecture: slots or set.")
@click.option("--backbone", default="small", show_default=True,
              help="Item CNN backbone: small, efficientnet-lite0, resnet18, resnet34, "
                   "mobilenet_v3_small.")
@click.option("--weights", default="none", show_default=True,
              help="Backbone weights: none, imagenet (efficientnet-lite0: installed with the "
                   "project; torchvision's: downloads) or a state-dict path. With "
                   "--freeze-backbone the trunk runs once per photo and the heads train on "
                   "its cached output.")
@click.option("--freeze-backbone", is_flag=True, help="Train only the heads on a fixed backbone.")
@click.option("--epochs", default=30, show_default=True, type=click.IntRange(min=1),
              help="Most grader epochs (early stopping may end sooner).")
@click.option("--feature-epochs", default=12, show_default=True, type=click.IntRange(min=0),
              help="Epochs of the item-feature CNN.")
@click.option("--image-size", default=64, show_default=True, type=click.IntRange(16, 1024))
@click.option("--batch-size", default=256, show_default=True, type=click.IntRange(min=2))
@click.option("--patience", default=8, show_default=True, type=click.IntRange(min=1))
@click.option("--style-dropout", default=0.5, show_default=True, type=click.FloatRange(0, 1),
              help="Share of items whose style embedding is blanked in training, so that the "
                   "grader reads colour, shape and pattern from their named groups.")
@click.option("--device", default="cpu", show_default=True, help="cpu or cuda.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--version", "version", default="nondisjoint", show_default=True,
              type=click.Choice(["nondisjoint", "disjoint"]), help="Polyvore Outfits version.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep decoded photos here between runs.")
@click.option("--resume", is_flag=True, help="Continue an interrupted run in --out.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.option("--progress-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Keep how far training is in this JSON file (stage, epoch, fraction done), "
                   "for a program watching the run.")
def train(dataset: Path, out_dir: Path, arch: str, backbone: str, weights: str,
          freeze_backbone: bool, epochs: int, feature_epochs: int, image_size: int,
          batch_size: int, patience: int, style_dropout: float, device: str, seed: int,
          version: str, cache_dir: Path | None, resume: bool, quiet: bool,
          progress_file: Path | None) -> None:
    """Train an outfit grader (item-feature CNN + grader) on a dataset."""
    from grader import TrainConfig
    from grader import train as run_training

    cfg = TrainConfig(dataset=str(dataset), out=str(out_dir), arch=arch, backbone=backbone,
                      weights=weights, freeze_backbone=freeze_backbone, epochs=epochs,
                      feature_epochs=feature_epochs, image_size=image_size,
                      batch_size=batch_size, patience=patience, style_dropout=style_dropout,
                      device=device, seed=seed,
                      version=version, cache_dir=str(cache_dir) if cache_dir else None,
                      resume=resume, progress=not quiet,
                      progress_file=str(progress_file) if progress_file else None)
    card = run_training(cfg)
    if os.environ.get("RANK", "0") != "0":  # under torchrun only the first process reports
        return
    m = card["metrics"]
    click.echo(f"model written to {out_dir}  ({card['train_seconds']} s)")
    click.echo(f"  valid AUC {m['valid_auc']:.4f}  FITB {m['valid_fitb']:.3f}"
               f"  temperature {m['temperature']:.2f}")


@cli.command()
@click.argument("dataset", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--model", "models", multiple=True, required=True,
              help="A model folder (or its model.pt), or a baseline: random, color-category. "
                   "Repeat to compare models side by side.")
@click.option("--split", default="test", show_default=True,
              type=click.Choice(["train", "valid", "test"]))
@click.option("--version", "version", default="nondisjoint", show_default=True,
              type=click.Choice(["nondisjoint", "disjoint"]), help="Polyvore Outfits version.")
@click.option("--baselines/--no-baselines", default=True, show_default=True,
              help="Also evaluate every registered baseline beside the models.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the metrics of every model to this JSON file.")
@click.option("--plots", "plots_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Write ROC, score-histogram and reliability PNGs here.")
@click.option("--csv", "csv_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write comparison.csv and per_category_<model>.csv here (default: --plots).")
@click.option("--device", default="cpu", show_default=True, help="cpu or cuda.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the baselines.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep decoded photos here between runs.")
@click.option("--reads", default="pixels", show_default=True,
              type=click.Choice(["pixels", "tags"]),
              help="How the models read the items: their photos, or their category, colour and "
                   "pattern attributes (as a model trained on drawings reads a closet; e.g. on "
                   "a real-photo world, see data/realworld.py).")
def evaluate(dataset: Path, models: tuple[str, ...], split: str, version: str, baselines: bool,
             json_path: Path | None, plots_dir: Path | None, csv_dir: Path | None, device: str,
             seed: int, cache_dir: Path | None, reads: str) -> None:
    """Compare graders on a split: compatibility AUC, FITB accuracy, calibration, per category."""
    from data import load_dataset
    from grader.evaluate import comparison_table, evaluate_many, file_safe, resolve_scorers

    scorers = resolve_scorers(models, dataset, baselines=baselines, device=device, seed=seed,
                              version=version, cache_dir=cache_dir, reads=reads)
    results = evaluate_many(load_dataset(dataset, split=split, version=version), scorers)
    table = comparison_table(results)

    def fmt(v: float) -> str:
        return f"{v:.3f}"

    click.echo(f"{dataset} ({split} split)")
    click.echo(table.to_string(float_format=fmt))
    for r in results:
        click.echo(f"\n{r.name}: per category")
        click.echo(r.per_category.to_string(float_format=fmt))
    csv_dir = csv_dir or plots_dir
    if csv_dir is not None:
        csv_dir.mkdir(parents=True, exist_ok=True)
        table.to_csv(csv_dir / "comparison.csv")
        for r in results:
            r.per_category.to_csv(csv_dir / f"per_category_{file_safe(r.name)}.csv")
        click.echo(f"\ntables written to {csv_dir}")
    if plots_dir is not None:
        from grader.plots import save_plots

        written = save_plots(results, plots_dir)
        click.echo(f"{len(written)} plots written to {plots_dir}")
    if json_path is not None:
        doc = {"dataset": str(dataset), "split": split,
               "models": {r.name: r.summary() for r in results}}
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n")
        click.echo(f"metrics written to {json_path}")


@cli.command("train-tagger")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the tagger into (tagger.pt and card.json).")
@click.option("--backbone", default="small-wide", show_default=True,
              help="CNN backbone: small-wide, small, efficientnet-lite0, resnet18, "
                   "mobilenet_v3_small...")
@click.option("--weights", default="none", show_default=True,
              help="Backbone weights: none, imagenet (efficientnet-lite0: installed with the project; "
                   "torchvision's: downloads) or a state-dict path.")
@click.option("--image-size", default=96, show_default=True, type=click.IntRange(16, 1024))
@click.option("--epochs", default=80, show_default=True, type=click.IntRange(min=1))
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(min=2))
@click.option("--lr", default=3e-3, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option("--device", default="cpu", show_default=True, help="cpu or cuda.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep decoded photos here between runs.")
@click.option("--freeze", default=0, show_default=True, type=click.IntRange(min=0),
              help="Keep the first N trunk modules as loaded and train the rest on their cached "
                   "output (pretrained backbones; efficientnet-lite0: 12).")
@click.option("--views", default=4, show_default=True, type=click.IntRange(min=1),
              help="With --freeze: augmented views of each train photo to cache.")
@click.option("--labels", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="CSV of hand labels (file,main_color,pattern) to fit the pattern "
                                 "and colour heads on (data/labels/clothing_small_colors_patterns.csv).")
@click.option("--quiet", is_flag=True, help="No per-epoch progress.")
def train_tagger(folder: Path, out_dir: Path, backbone: str, weights: str, image_size: int,
                 epochs: int, batch_size: int, lr: float, device: str, seed: int,
                 cache_dir: Path | None, freeze: int, views: int, labels: Path | None,
                 quiet: bool) -> None:
    """Train the category tagger on real photos: FOLDER holds train/, validation/ (or valid/)
    and test/, each with one folder of photos per category (e.g. clothing-small)."""
    from grader.tagger import card_summary
    from grader.tagger import train_tagger as run_training

    card = run_training(folder, out_dir, backbone=backbone, weights=weights,
                        image_size=image_size, epochs=epochs, batch_size=batch_size, lr=lr,
                        seed=seed, device=device, progress=not quiet,
                        cache_dir=str(cache_dir) if cache_dir else None, freeze=freeze,
                        views=views, labels=str(labels) if labels else None)
    click.echo(f"tagger written to {out_dir}  ({card['model_bytes']:,} bytes, "
               f"{card['train_seconds']} s of training)")
    click.echo(card_summary(card))


@cli.command()
@click.option("--closet", "closet_path", type=click.Path(exists=True, path_type=Path), default=None,
              help="A folder of photos, or a dataset in the Polyvore layout (all its items). "
                   "Default: the instance's closet.")
@click.option("--model", "model_path", required=True,
              type=click.Path(exists=True, path_type=Path), help="A model folder or model.pt.")
@click.option("--pin", "pinned", multiple=True, help="An item id every outfit must include.")
@click.option("--exclude", "excluded", multiple=True, help="An item id no outfit may include.")
@click.option("--k", default=10, show_default=True, type=click.IntRange(min=1))
@click.option("--strategy", default="beam", show_default=True,
              help="beam, partial (the paper's) or exhaustive (small closets).")
@click.option("--beam", "beam_width", default=16, show_default=True, type=click.IntRange(min=1))
@click.option("--season", type=click.Choice(["summer", "winter", "all-season"]), default=None)
@click.option("--occasion", type=click.Choice(["casual", "smart", "formal"]), default=None)
@click.option("--diversity", default=0.3, show_default=True, type=click.FloatRange(0, 1, max_open=True),
              help="0: best scores only; higher: outfits that share fewer items.")
@click.option("--reroll", default=0, show_default=True, type=click.IntRange(min=0),
              help="1, 2...: another good set of outfits (the same for the same number).")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep decoded photos here between runs.")
@click.option("--json", "as_json", is_flag=True, help="Print the recommendations as JSON.")
def recommend(closet_path: Path | None, model_path: Path, pinned: tuple[str, ...],
              excluded: tuple[str, ...], k: int, strategy: str, beam_width: int,
              season: str | None, occasion: str | None, diversity: float, reroll: int,
              cache_dir: Path | None, as_json: bool) -> None:
    """The best outfits of a closet, by a trained model."""
    from data.loaders import load_closet
    from grader import load_model
    from recommender import search

    from .config import instance_dir

    if closet_path is None:
        raise OutfitError(f"no closet given, and the instance folder {instance_dir()} holds none",
                          hint="give --closet DIR (a folder of photos or a Polyvore-layout "
                               "dataset)")
    closet, skipped = load_closet(closet_path)
    model = load_model(model_path)
    recs = search(closet, model, k=k, beam=beam_width, pinned=pinned, excluded=excluded,
                  constraints={"season": season, "occasion": occasion}, diversity=diversity,
                  reroll=reroll, strategy=strategy, cache_dir=cache_dir,
                  index_dir=instance_dir() / "indexes",
                  features=_closet_features(model, closet, closet_path, cache_dir))
    if as_json:
        click.echo(json.dumps({"closet": str(closet_path), "items": len(closet),
                               "model": str(model_path), "strategy": strategy,
                               "recommendations": [r.to_dict() for r in recs]}, indent=2))
        return
    click.echo(f"{len(recs)} outfits from {len(closet)} items ({strategy} search)")
    for n, r in enumerate(recs, 1):
        click.echo(f"{n:>2}. {r.score:.3f}  " + "  +  ".join(it.label for it in r.items))


def _closet_features(model, closet, closet_path: Path, cache_dir: Path | None):
    """The closet's item features: a folder of a person's photos is read the way the model
    reads a person's closet (by their tags for a model trained on drawings, see
    :attr:`grader.api.GraderModel.closet_reads`, with its closet calibration); a dataset's
    items by their pixels."""
    from data import detect_format

    reads = "pixels"
    if detect_format(closet_path) == "folder":
        reads = model.for_closet().closet_reads
    return model.item_table(list(closet.items), cache_dir=cache_dir, reads=reads)


@cli.command("explain")
@click.option("--model", "model_path", required=True,
              type=click.Path(exists=True, path_type=Path), help="A model folder or model.pt.")
@click.option("--items", "item_ids", required=True,
              help="The outfit: item ids of the closet, separated by commas.")
@click.option("--closet", "closet_path", type=click.Path(exists=True, path_type=Path), default=None,
              help="A folder of photos, or a dataset in the Polyvore layout (all its items), "
                   "where the items are looked up and replacements are found.")
@click.option("--method", default="gxa", show_default=True,
              help="Attribution method: gxa, gxa-centered, ig, occlusion, shapley-items, "
                   "shapley-sampled, smoothgrad.")
@click.option("--k", default=5, show_default=True, type=click.IntRange(min=1),
              help="Replacements to suggest.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep decoded photos here between runs.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the attribution, reasons and suggestion as JSON.")
def explain_command(model_path: Path, item_ids: str, closet_path: Path | None, method: str,
                    k: int, cache_dir: Path | None, as_json: bool) -> None:
    """Why an outfit scores as it does: which item and which of its properties (colour, shape,
    pattern, style) pull the score down, and what from the closet to wear instead."""
    from data.loaders import load_closet
    from explain import attribute, list_methods
    from explain.suggest import suggest
    from explain.text import reasons
    from grader import load_model

    from .config import instance_dir

    if method not in list_methods():
        raise OutfitError(f"unknown attribution method {method!r}",
                          hint="known attribution methods: " + ", ".join(list_methods()))
    ids = [i.strip() for i in item_ids.split(",") if i.strip()]
    if not ids:
        raise OutfitError("no item ids given", hint="give --items ID,ID,...")
    if closet_path is None:
        raise OutfitError(f"no closet given, and the instance folder {instance_dir()} holds none",
                          hint="give --closet DIR (a folder of photos or a Polyvore-layout "
                               "dataset) that holds the items")
    closet, _ = load_closet(closet_path)
    items = [closet.get(i) for i in ids]
    model = load_model(model_path)
    features = _closet_features(model, closet, closet_path, cache_dir)
    att = attribute(items, model, method, features=features)
    why = reasons(att)
    advice = suggest(items, closet, model, features=features, attribution=att, k=k)
    if as_json:
        click.echo(json.dumps({"attribution": att.to_dict(), "reasons": why,
                               "suggestion": advice.to_dict()}, indent=2))
        return
    click.echo(f"score {att.score:.3f} (logit {att.logit:+.2f}), explained by {method}: "
               f"logit points per item and feature group, negative = pulls the score down")
    click.echo(att.table_text())
    click.echo("")
    for sentence in why:
        click.echo(sentence)
    click.echo("")
    click.echo(advice.sentence())
    for n, r in enumerate(advice.replacements, 1):
        label = "take it off" if r.item is None else f"{r.item.label} ({r.item.id})"
        click.echo(f"{n:>2}. {r.score:.3f}  {r.gain:+.2f}  {label}")


@cli.command()
@click.argument("dataset", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--model", "model_path", required=True,
              type=click.Path(exists=True, path_type=Path), help="A model folder or model.pt.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the PNGs and their index (diagnostics.json).")
@click.option("--split", default="test", show_default=True,
              type=click.Choice(["train", "valid", "test"]))
@click.option("--max-items", default=1500, show_default=True, type=click.IntRange(min=2),
              help="Most items in the feature projection (a seeded sample).")
@click.option("--shapes", default=6, show_default=True, type=click.IntRange(min=0),
              help="Shape units to picture (the most common categories).")
@click.option("--steps", default=200, show_default=True, type=click.IntRange(min=1),
              help="Gradient steps per activation-maximisation image.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--device", default="cpu", show_default=True, help="cpu or cuda.")
def diagnose(dataset: Path, model_path: Path, out_dir: Path, split: str, max_items: int,
             shapes: int, steps: int, seed: int, device: str) -> None:
    """Pictures of what a model has learned: its item features projected in 2-D, and the
    images its shape and pattern units respond to most."""
    import random

    from data import load_dataset
    from explain.diagnostics import write_diagnostics
    from grader import load_model

    model = load_model(model_path, device=device)
    items = sorted(load_dataset(dataset, split=split).items.values(), key=lambda it: it.id)
    if len(items) > max_items:
        items = random.Random(seed).sample(items, max_items)
    index = write_diagnostics(model, items, out_dir, shapes=shapes, steps=steps, seed=seed)
    click.echo(f"{len(index['images'])} diagnostic images written to {out_dir}")


@cli.command("evaluate-explainer")
@click.argument("dataset", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--model", "model_path", required=True,
              type=click.Path(exists=True, path_type=Path), help="A model folder or model.pt.")
@click.option("--method", "methods", multiple=True,
              help="An attribution method to measure; repeat for several (default: all).")
@click.option("--split", default="test", show_default=True,
              type=click.Choice(["train", "valid", "test"]))
@click.option("--max-outfits", default=200, show_default=True, type=click.IntRange(min=1),
              help="Most outfits per check (corrupted, good, with a known culprit).")
@click.option("--margin", default=1.0, show_default=True, type=click.FloatRange(min=0),
              help="Logit points a corruption must cost to count.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report to this JSON file.")
@click.option("--plots", "plots_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Write top-1 and deletion-curve PNGs here.")
@click.option("--device", default="cpu", show_default=True, help="cpu or cuda.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep decoded photos here between runs.")
def evaluate_explainer_command(dataset: Path, model_path: Path, methods: tuple[str, ...],
                               split: str, max_outfits: int, margin: float, seed: int,
                               json_path: Path | None, plots_dir: Path | None, device: str,
                               cache_dir: Path | None) -> None:
    """Does each attribution method tell the truth? Replace-and-detect, deletion curves, a
    randomisation check and, in a synthetic world, the true culprits."""
    from explain.evaluation import evaluate_explainer, explainer_table
    from grader import load_model

    model = load_model(model_path, device=device)
    report = evaluate_explainer(dataset, model, methods=methods or None, split=split,
                                max_outfits=max_outfits, margin=margin, seed=seed,
                                plots_dir=plots_dir, cache_dir=cache_dir)
    click.echo(explainer_table(report))
    if plots_dir is not None:
        click.echo(f"{len(report.get('plots', []))} plots written to {plots_dir}")
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
        click.echo(f"report written to {json_path}")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but a loopback address (0.0.0.0, a LAN "
                   "address) shows the closet to the network and needs a password.")
@click.option("--password-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Read the password from this file's first line (else "
                                 "$OUTFIT_PASSWORD). With a password, every page and API call "
                                 "needs it.")
@click.option("--secure-cookie", is_flag=True,
              help="Send the login cookie over https only (behind an https reverse proxy).")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Instance folder (default: $OUTFIT_HOME or ~/.outfit).")
@click.option("--model", "model_path", type=click.Path(exists=True, path_type=Path), default=None,
              help="Model folder that tags uploads (default: the newest under <home>/models).")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64))
@click.option("--data-root", "data_roots", multiple=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A folder the models page may read datasets from (besides <home>/worlds): "
                   "a dataset, or a folder of datasets. Repeat for several.")
def serve(host: str, password_file: Path | None, secure_cookie: bool, port: int,
          home: Path | None, model_path: Path | None, threads: int,
          data_roots: tuple[Path, ...]) -> None:
    """Serve the closet web app with waitress and print its address.

    It listens on 127.0.0.1 only, unless --host says otherwise. To serve on your network, set a
    password first, in the environment or in a file (never on the command line, where ps would
    show it):

    \b
        OUTFIT_PASSWORD='...' outfit serve --host 0.0.0.0
        outfit serve --host 0.0.0.0 --password-file ~/.outfit-password

    Then every page asks for it once (a login page; the session lasts until the browser or the
    server stops) and API calls take it by HTTP Basic auth (any user name). The app speaks plain
    http: anyone on the network can read the traffic, the password included; put an https
    reverse proxy in front (and pass --secure-cookie) on a network you do not trust."""
    from webapp import create_app
    from webapp.access import access_config
    from webapp.server import serve as serve_app

    config: dict[str, object] = dict(access_config(host, password_file))
    if secure_cookie:
        config["SESSION_COOKIE_SECURE"] = True
    if home is not None:
        config["OUTFIT_HOME"] = home
    if model_path is not None:
        config["MODEL"] = model_path
    if data_roots:
        config["DATA_ROOTS"] = list(data_roots)
    app = create_app(config)
    if "PASSWORD_HASH" in config:
        click.echo("a password is set: every page and API call needs it", err=True)
    _warn_if_damaged(app.extensions["outfit"].store)
    serve_app(app, host, port, threads,
              announce=lambda url: click.echo(f"Serving the closet at {url} (Ctrl+C to stop)"))


def _warn_if_damaged(store: Any) -> None:
    """At start, say so when a crash left the closet inconsistent (see `outfit check`)."""
    report = store.integrity_report()
    if report["ok"]:
        return
    problems = [f"{len(report[k])} {what}" for k, what in (
        ("orphan_files", "stray file(s)"), ("missing_photos", "item(s) without a photo"),
        ("missing_thumbs", "item(s) without a thumbnail")) if report[k]]
    if report["integrity_check"] != ["ok"] or report["foreign_key_errors"]:
        problems.append("a damaged database")
    click.echo(f"warning: the closet in {store.folder} has {', '.join(problems)}; run "
               f"`outfit check --home {store.folder}` for details", err=True)


@cli.command()
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Instance folder (default: $OUTFIT_HOME or ~/.outfit).")
@click.option("--repair", is_flag=True,
              help="Move files that belong to no item into <home>/lost+found/ (nothing is "
                   "deleted).")
@click.option("--min-age", default=60.0, show_default=True, type=click.FloatRange(min=0),
              help="With --repair: leave files younger than this many seconds (an upload in "
                   "flight writes its files a moment before its row).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check(home: Path | None, repair: bool, min_age: float, as_json: bool) -> None:
    """Check the closet: the database's integrity, every item's photo and thumbnail, and files
    that belong to no item (left by a crash). Exits 1 when something is wrong."""
    from closet.store import DB_NAME, Store
    from outfit.config import instance_dir

    folder = Path(home or instance_dir()).expanduser()
    if not (folder / DB_NAME).is_file():
        raise click.ClickException(f"no closet in {folder} (no {DB_NAME})")
    store = Store(folder)
    result = store.repair(min_age) if repair else {"report": store.integrity_report()}
    report = result["report"]
    if as_json:
        click.echo(json.dumps(result, indent=1))
    else:
        click.echo(f"closet {folder}: {store.count()} items")
        click.echo(f"  database       {', '.join(report['integrity_check'])}"
                   f"{'' if not report['foreign_key_errors'] else ', broken links'}")
        click.echo(f"  missing photos {len(report['missing_photos'])}"
                   + (f" ({', '.join(report['missing_photos'][:5])})"
                      if report["missing_photos"] else ""))
        click.echo(f"  stray files    {len(report['orphan_files'])}")
        if repair:
            click.echo(f"  moved          {len(result['moved'])} file(s)"
                       + (f" to {result['lost_and_found']}" if result["moved"] else ""))
        if report["orphan_files"] and not repair:
            click.echo("run `outfit check --repair` to move the stray files to lost+found")
    if not report["ok"]:
        raise SystemExit(1)


def _print_summary(summary: dict, as_json: bool, title: str) -> None:
    if as_json:
        click.echo(json.dumps(summary, indent=None, sort_keys=True))
        return
    click.echo(title)
    for key, value in summary.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items()) or "none"
        click.echo(f"  {key:<16} {value}")


def main() -> None:
    cli(prog_name="outfit")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
