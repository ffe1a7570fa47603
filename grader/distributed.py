"""Running the same training in several processes (``torchrun``), or in one.

Every process draws the same shuffled order of examples (same seed) and takes every N-th batch
of it; DistributedDataParallel averages the gradients, so the weights stay identical.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
import torch.distributed as torch_dist
from torch import nn

__all__ = ["Dist"]


class Dist:
    """Rank and world size, and the two things training needs from them."""

    def __init__(self, rank: int = 0, world: int = 1, device: str = "cpu") -> None:
        self.rank, self.world, self.device = rank, world, device

    @classmethod
    def from_env(cls, device: str = "cpu") -> Dist:
        """Join the process group ``torchrun`` describes in the environment, if any."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls(0, 1, device)
        rank = int(os.environ["RANK"])
        backend = "nccl" if device.startswith("cuda") else "gloo"
        if device.startswith("cuda"):
            local = int(os.environ.get("LOCAL_RANK", rank))
            torch.cuda.set_device(local)
            device = f"cuda:{local}"
        if not torch_dist.is_initialized():
            torch_dist.init_process_group(backend=backend)
        return cls(rank, world, device)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def wrap(self, module: nn.Module) -> nn.Module:
        if self.world <= 1:
            return module
        ids = [torch.device(self.device).index] if self.device.startswith("cuda") else None
        return nn.parallel.DistributedDataParallel(module, device_ids=ids)

    def shard(self, order: Sequence[int] | torch.Tensor, step: int, batch_size: int):
        """This process's part of global step ``step``: batch number ``step * world + rank``."""
        start = (step * self.world + self.rank) * batch_size
        return order[start:start + batch_size]

    def broadcast_module(self, module: nn.Module) -> None:
        """Copy rank 0's parameters and buffers (batch-norm statistics too) to every process."""
        if self.world <= 1:
            return
        with torch.no_grad():
            for tensor in module.state_dict().values():
                torch_dist.broadcast(tensor, src=0)

    def decide(self, flag: bool) -> bool:
        """Rank 0's ``flag`` in every process, so that all stop (or go on) together."""
        if self.world <= 1:
            return flag
        t = torch.tensor([int(flag)], device=self.device if self.device.startswith("cuda") else "cpu")
        torch_dist.broadcast(t, src=0)
        return bool(t.item())

    def close(self) -> None:
        if self.world > 1 and torch_dist.is_initialized():
            torch_dist.destroy_process_group()
