"""A closet from the command line: ``recommend``, ``explain``, ``check``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from outfit import defaults
from outfit.errors import OutfitError
from outfit_cli.group import cli


@cli.command()
@click.option("--closet", "closet_path", type=click.Path(exists=True, path_type=Path), default=None,
              help="A folder of photos, or a dataset in the Polyvore layout (all its items). "
                   "Default: the instance's closet.")
@click.option("--model", "model_path", required=True,
              type=click.Path(exists=True, path_type=Path), help="A model folder or model.pt.")
@click.option("--pin", "pinned", multiple=True, help="An item id every outfit must include.")
@click.option("--exclude", "excluded", multiple=True, help="An item id no outfit may include.")
@click.option("--k", default=defaults.RECOMMENDATIONS, show_default=True, type=click.IntRange(min=1))
@click.option("--strategy", default=defaults.STRATEGY, show_default=True,
              help="beam, partial (the paper's) or exhaustive (small closets).")
@click.option("--beam", "beam_width", default=defaults.BEAM_WIDTH, show_default=True,
              type=click.IntRange(min=1))
@click.option("--season", type=click.Choice(["summer", "winter", "all-season"]), default=None)
@click.option("--occasion", type=click.Choice(["casual", "smart", "formal"]), default=None)
@click.option("--diversity", default=defaults.DIVERSITY, show_default=True,
              type=click.FloatRange(0, 1, max_open=True),
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
    from outfit.config import instance_dir
    from recommender import search

    if closet_path is None:
        raise OutfitError(f"no closet given, and the instance folder {instance_dir()} holds none",
                          hint="give --closet DIR (a folder of photos or a Polyvore-layout "
                               "dataset)")
    given = click.get_current_context().get_parameter_source("beam_width")
    beam = None if given is click.core.ParameterSource.DEFAULT else beam_width  # the strategy's
    closet, skipped = load_closet(closet_path)
    model = load_model(model_path)
    recs = search(closet, model, k=k, beam=beam, pinned=pinned, excluded=excluded,
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
@click.option("--method", default=defaults.ATTRIBUTION_METHOD, show_default=True,
              help="Attribution method: gxa, gxa-centered, ig, occlusion, shapley-items, "
                   "shapley-pairs (items and pairs of items), "
                   "shapley-sampled, smoothgrad.")
@click.option("--k", default=defaults.SUGGESTIONS, show_default=True, type=click.IntRange(min=1),
              help="Replacements to suggest.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep decoded photos here between runs.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the attribution, reasons, suggestion and shopping hint as JSON.")
def explain_command(model_path: Path, item_ids: str, closet_path: Path | None, method: str,
                    k: int, cache_dir: Path | None, as_json: bool) -> None:
    """Why an outfit scores as it does: which item and which of its properties (colour, shape,
    pattern, style) pull the score down, what from the closet to wear instead, and which colour
    or pattern of that item would help most (a shopping hint)."""
    from data.loaders import load_closet
    from explain import attribute, list_methods
    from explain.counterfactual import property_hints
    from explain.suggest import suggest
    from explain.text import reasons
    from grader import load_model
    from outfit.config import instance_dir

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
    hints = property_hints(att, model, features=features, closet=list(closet.items), k=k)
    if as_json:
        click.echo(json.dumps({"attribution": att.to_dict(), "reasons": why,
                               "suggestion": advice.to_dict(),
                               "property_hints": hints.to_dict()}, indent=2))
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
    click.echo("")
    click.echo(f"Shopping hint: {hints.sentence()}")
    for n, h in enumerate(hints.hints[1:], 2):
        click.echo(f"{n:>2}. {h.score:.3f}  {h.sentence()}")


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
