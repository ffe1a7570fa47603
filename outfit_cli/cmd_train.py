"""Training: ``train`` (an outfit grader), ``train-tagger`` (the category tagger on real
photos)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from outfit import defaults
from outfit_cli.group import cli


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
@click.option("--epochs", default=defaults.EPOCHS, show_default=True, type=click.IntRange(min=1),
              help="Most grader epochs (early stopping may end sooner).")
@click.option("--feature-epochs", default=defaults.FEATURE_EPOCHS, show_default=True,
              type=click.IntRange(min=0),
              help="Epochs of the item-feature CNN.")
@click.option("--image-size", default=defaults.IMAGE_SIZE, show_default=True, type=click.IntRange(16, 1024))
@click.option("--batch-size", default=256, show_default=True, type=click.IntRange(min=2))
@click.option("--patience", default=8, show_default=True, type=click.IntRange(min=1))
@click.option("--style-dropout", default=0.5, show_default=True, type=click.FloatRange(0, 1),
              help="Share of items whose style embedding is blanked in training, so that the "
                   "grader reads colour, shape and pattern from their named groups.")
@click.option("--device", default="cpu", show_default=True, help="cpu or cuda.")
@click.option("--seed", default=defaults.SEED, show_default=True, type=int)
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
    from grader.tagger_training import card_summary
    from grader.tagger_training import train_tagger as run_training

    card = run_training(folder, out_dir, backbone=backbone, weights=weights,
                        image_size=image_size, epochs=epochs, batch_size=batch_size, lr=lr,
                        seed=seed, device=device, progress=not quiet,
                        cache_dir=str(cache_dir) if cache_dir else None, freeze=freeze,
                        views=views, labels=str(labels) if labels else None)
    click.echo(f"tagger written to {out_dir}  ({card['model_bytes']:,} bytes, "
               f"{card['train_seconds']} s of training)")
    click.echo(card_summary(card))
