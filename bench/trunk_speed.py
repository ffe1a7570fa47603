"""Feature extraction with the pretrained trunk on real photos: images per second, JPEG decode
included, on this machine's CPU threads.

    .venv/bin/python bench/trunk_speed.py [--photos DIR] [--size 224] [--batch 32] [--threads 2]

Reads every JPEG under ``--photos`` (default: the 80 shipped demo photos, read three times
over), decodes and pads each to a square at ``--size`` (:func:`grader.preprocess.photo_to_array`),
and runs EfficientNet-Lite0 (ImageNet weights) to its pooled 1280 features, as the tagger does.
Prints JSON: images/s for the trunk as written (batch norms separate, default memory layout)
and for the inference path the tagger uses (batch norms folded, channels-last), the share of
the time spent decoding, and the ratio of the two paths, all measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data.images import load_image  # noqa: E402
from grader.backbones import IMAGENET_MEAN, IMAGENET_STD, create_backbone  # noqa: E402
from grader.efficientnet import fold_batchnorm  # noqa: E402
from grader.preprocess import Preprocessing, photo_to_array  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _run(trunk: torch.nn.Module, files: list[Path], size: int, batch: int,
         channels_last: bool) -> tuple[float, float]:
    """(images per second, seconds spent decoding) over ``files``; the next batch is decoded
    in a thread while the network runs on the current one."""
    prep = Preprocessing(size)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    decode_time = [0.0]

    def decode(chunk: list[Path]) -> torch.Tensor:
        t0 = time.perf_counter()
        arr = np.stack([photo_to_array(load_image(p), prep) for p in chunk])
        decode_time[0] += time.perf_counter() - t0
        return torch.from_numpy(arr)

    chunks = [files[s:s + batch] for s in range(0, len(files), batch)]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=1) as pool, torch.inference_mode():
        pending = pool.submit(decode, chunks[0])
        for k in range(len(chunks)):
            images = pending.result()
            if k + 1 < len(chunks):
                pending = pool.submit(decode, chunks[k + 1])
            x = (images.float() / 255 - mean) / std
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            trunk(x)
    return len(files) / (time.perf_counter() - t0), decode_time[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=Path, default=ROOT / "data" / "demo_closet" / "photos")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    files = sorted(args.photos.rglob("*.jpg"))
    if len(files) < 200:
        files = (files * (200 // max(1, len(files)) + 1))[:max(200, len(files))]
    plain = create_backbone("efficientnet-lite0", "imagenet").module.eval()
    fused = fold_batchnorm(plain).to(memory_format=torch.channels_last)
    _run(fused, files[:args.batch], args.size, args.batch, True)  # warm-up
    plain_ips, _ = _run(plain, files, args.size, args.batch, False)
    fused_ips, decode_s = _run(fused, files, args.size, args.batch, True)
    print(json.dumps({
        "photos": len(files), "image_size": args.size, "threads": args.threads,
        "images_per_s_plain": round(plain_ips, 1),
        "images_per_s_tagger_path": round(fused_ips, 1),
        "speedup": round(fused_ips / plain_ips, 2),
        "decode_share": round(decode_s * fused_ips / len(files), 3),
    }, indent=2))


if __name__ == "__main__":
    main()
