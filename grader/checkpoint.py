"""Checkpoints: a plain dict, written atomically, read with ``weights_only=True``.

A checkpoint holds everything needed to rebuild and trust a model::

    format, format_version        "outfit-grader", FORMAT_VERSION
    arch, grader_config           the grader architecture and its keyword arguments
    backbone, style_dim           the feature net
    preprocessing                 Preprocessing.to_dict()
    vocab                         {"shape": [...], "pattern": [...]}
    layout                        FeatureLayout.to_dict()
    feature_net, grader           state dicts
    metrics                       what it reached on validation (and test, once evaluated)
    data                          name, root, split sizes and a fingerprint of the training data
    created, torch_version, train_config

Nothing in it is executed on load: ``torch.load(weights_only=True)`` only rebuilds tensors and
plain containers, and a file that needs more is refused, never retried unsafely.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from data.fileio import atomic_write_bytes
from outfit.errors import ModelError

__all__ = ["FORMAT", "FORMAT_VERSION", "CHECKPOINT_NAME", "save_checkpoint", "load_checkpoint",
           "resolve_checkpoint", "read_plain_checkpoint"]

FORMAT = "outfit-grader"
FORMAT_VERSION = 1
CHECKPOINT_NAME = "model.pt"
_REQUIRED = ("arch", "grader_config", "backbone", "preprocessing", "vocab", "layout",
             "feature_net", "grader")


def resolve_checkpoint(path: Path | str, name: str = CHECKPOINT_NAME, what: str = "model",
                       made_by: str = "outfit train") -> Path:
    """A folder (holding ``name``) or a checkpoint file -> the file; :class:`ModelError` if
    there is none (``what`` and ``made_by`` word the message)."""
    path = Path(path)
    if path.is_dir():
        path = path / name
    if not path.is_file():
        raise ModelError(f"no {what} at {path}",
                         hint=f"give a folder made by '{made_by}', or its {name}")
    return path


def save_checkpoint(path: Path | str, checkpoint: dict[str, Any]) -> Path:
    """Write ``checkpoint`` (format fields added) to ``path`` via a temporary file and a rename:
    an interrupted save leaves the previous file as it was."""
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION,
               "torch_version": str(torch.__version__), **checkpoint}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: Path | str) -> dict[str, Any]:
    """Read and check a grader checkpoint; refuse, with a message saying what the file is and
    what was expected, anything corrupt, truncated, foreign or made by a newer version."""
    return read_plain_checkpoint(resolve_checkpoint(path), fmt=FORMAT, version=FORMAT_VERSION,
                                 required=_REQUIRED, made_by="outfit train")


def read_plain_checkpoint(path: Path, *, fmt: str, version: int, required: Sequence[str],
                          made_by: str) -> dict[str, Any]:
    """The checks every model file of the project goes through (graders, taggers): a torch zip
    file, loadable with ``weights_only=True``, whose ``format`` is ``fmt`` and whose
    ``format_version`` is at most ``version``, holding the ``required`` keys."""
    expected = f"expected an {fmt} checkpoint written by '{made_by}'"
    size = path.stat().st_size
    if size == 0:
        raise ModelError(f"{path} is empty (0 bytes)", hint=expected)
    with path.open("rb") as fh:
        head = fh.read(4)
    if head[:2] != b"PK":
        what = "a legacy pickle" if head[:1] == b"\x80" else f"not a torch file (starts {head!r})"
        raise ModelError(f"{path} is {what}", hint=expected)
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path} is truncated or corrupt ({size:,} bytes, no zip directory)",
                         hint=expected + "; copy it again or retrain")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ModelError(
            f"{path} holds objects other than tensors and plain data, so it was not loaded "
            f"({str(exc).splitlines()[0][:160]})",
            hint=expected + "; such a file could run code when loaded, and is never trusted",
        ) from None
    except Exception as exc:  # zip member damaged, storage mismatch...
        raise ModelError(f"{path} is corrupt ({type(exc).__name__}: {str(exc)[:160]})",
                         hint=expected) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != fmt:
        found = ckpt.get("format") if isinstance(ckpt, dict) else None
        what = (f"an {found} checkpoint" if isinstance(found, str) else
                f"not an {fmt} checkpoint ("
                + (", ".join(sorted(map(str, ckpt))[:6]) if isinstance(ckpt, dict)
                   else type(ckpt).__name__) + ")")
        raise ModelError(f"{path} is a torch file but {what}", hint=expected)
    found_version = ckpt.get("format_version")
    if not isinstance(found_version, int) or found_version > version:
        raise ModelError(f"{path} has format version {found_version}; this program reads up to "
                         f"{version}", hint="upgrade the program to load it")
    missing = [k for k in required if k not in ckpt]
    if missing:
        raise ModelError(f"{path} lacks {', '.join(missing)}", hint=expected)
    return ckpt
