"""Measuring models: ``evaluate`` (graders on a split), ``evaluate-explainer`` (does each
attribution method tell the truth?), ``diagnose`` (pictures of what a model learned)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from data.fileio import atomic_write_text
from outfit_cli.group import cli


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
        atomic_write_text(json_path, json.dumps(doc, indent=2, allow_nan=False) + "\n")
        click.echo(f"metrics written to {json_path}")


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
@click.option("--pixel-outfits", default=0, show_default=True, type=click.IntRange(min=0),
              help="Also measure the pixel maps by deleting pixels, on the photos of this many "
                   "good outfits (a few: each photo is read some hundred times).")
@click.option("--pixel-method", "pixel_methods", multiple=True,
              help="A pixel method to measure; repeat for several (default: all).")
def evaluate_explainer_command(dataset: Path, model_path: Path, methods: tuple[str, ...],
                               split: str, max_outfits: int, margin: float, seed: int,
                               json_path: Path | None, plots_dir: Path | None, device: str,
                               cache_dir: Path | None, pixel_outfits: int,
                               pixel_methods: tuple[str, ...]) -> None:
    """Does each attribution method tell the truth? Replace-and-detect, deletion and insertion
    curves against random orders, a randomisation check, in a synthetic or real-photo world the
    true culprits, and with --pixel-outfits pixel deletion of the pixel maps."""
    from explain.evaluation import evaluate_explainer, explainer_table
    from grader import load_model

    model = load_model(model_path, device=device)
    report = evaluate_explainer(dataset, model, methods=methods or None, split=split,
                                max_outfits=max_outfits, margin=margin, seed=seed,
                                plots_dir=plots_dir, cache_dir=cache_dir,
                                pixel_outfits=pixel_outfits, pixel_methods=pixel_methods or None)
    click.echo(explainer_table(report))
    if plots_dir is not None:
        click.echo(f"{len(report.get('plots', []))} plots written to {plots_dir}")
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(json_path, json.dumps(report, indent=2, allow_nan=False) + "\n")
        click.echo(f"report written to {json_path}")


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
@click.option("--max-outfits", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Most outfits (a seeded sample of the split's good and bad ones) in the view "
                   "of what the grader relies on.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--device", default="cpu", show_default=True, help="cpu or cuda.")
def diagnose(dataset: Path, model_path: Path, out_dir: Path, split: str, max_items: int,
             shapes: int, steps: int, max_outfits: int, seed: int, device: str) -> None:
    """Pictures of what a model has learned: its item features projected in 2-D, what its
    grader relies on over the split's outfits (feature groups, slot pairs), and the images its
    shape and pattern units respond to most."""
    import random

    from data import load_dataset
    from explain.diagnostics import write_diagnostics
    from grader import load_model

    model = load_model(model_path, device=device)
    split_data = load_dataset(dataset, split=split)
    items = sorted(split_data.items.values(), key=lambda it: it.id)
    if len(items) > max_items:
        items = random.Random(seed).sample(items, max_items)
    outfits = ([[split_data.items[i] for i in q.item_ids] for q in split_data.compatibility]
               or [o.items for o in split_data.outfits])
    index = write_diagnostics(model, items, out_dir, shapes=shapes, steps=steps, seed=seed,
                              outfits=outfits, max_outfits=max_outfits)
    click.echo(f"{len(index['images'])} diagnostic images written to {out_dir}")
