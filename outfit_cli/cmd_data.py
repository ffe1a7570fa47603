"""Making and reading datasets: ``synth``, ``real-world``, ``info``."""

from __future__ import annotations

from pathlib import Path

import click

from outfit_cli.group import cli, print_summary


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
    print_summary(summary, as_json, title=f"synthetic world in {out_dir}")


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
    print_summary(summary, as_json, title=f"real-photo world in {out_dir}")


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
    print_summary(summary, as_json, title=str(path))
