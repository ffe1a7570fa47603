"""Run by tests/grader/test_train.py under torchrun: a few steps of distributed training, then
each process writes a digest of its weights so the test can compare them."""

import hashlib
import os
import sys
from pathlib import Path

from grader.training import TrainConfig, train_model


def main(world: str, out: str) -> None:
    cfg = TrainConfig(dataset=world, out=out, image_size=32, feature_epochs=1, epochs=2,
                      batch_size=32, feature_batch_size=32, progress=False, seed=3)
    _, model = train_model(cfg)
    rank = int(os.environ.get("RANK", "0"))
    h = hashlib.sha256()
    for module in (model.feature_net, model.grader):
        for name, p in sorted(module.named_parameters()):
            h.update(name.encode())
            h.update(p.detach().cpu().numpy().tobytes())
    Path(out, f"rank{rank}.txt").write_text(h.hexdigest())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
