"""One training process among several, as torchrun starts them (RANK, WORLD_SIZE, LOCAL_RANK in the environment):
the process group (gloo on CPUs, nccl on GPUs) and the few collective decisions training needs."""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Processes:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """The process that writes checkpoints, logs and progress."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @classmethod
    def from_environment(cls) -> "Processes":
        return cls(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                   int(os.environ.get("LOCAL_RANK", 0)))

    def start(self, device: torch.device) -> None:
        if not self.distributed:
            return
        if device.type == "cuda":
            torch.cuda.set_device(device)
        # a generous timeout: rank 0 alone writes checkpoints while the others wait at the next collective
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=datetime.timedelta(minutes=30))

    def stop(self) -> None:
        if self.distributed and dist.is_initialized():
            dist.destroy_process_group()

    def agree(self, stop_requested: bool, progress: float, device: torch.device) -> tuple[bool, float]:
        """Every process stops at the same step and follows rank 0's schedule: a stop asked of any process (a
        signal) stops all, and the time budget is measured by rank 0's clock alone."""
        if not self.distributed:
            return stop_requested, progress
        state = torch.tensor([float(stop_requested), progress if self.is_main else 0.0], device=device)
        dist.all_reduce(state, op=dist.ReduceOp.MAX)
        return bool(state[0].item()), float(state[1].item())

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()
