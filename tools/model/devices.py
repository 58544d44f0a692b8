"""Turning --device into a torch device, with errors that say what to install when CUDA is asked for but absent."""

from __future__ import annotations

import torch

CUDA_INSTALL_HINT = ("install a CUDA build of torch: `bash tools/model/setup-venv.sh --cuda` (PyPI's Linux x86-64 "
                     "wheels bring CUDA 12 and cuDNN 9; see tools/model/README.md, \"GPU\")")


class DeviceError(Exception):
    """A device that cannot be used here, with what to do about it."""


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """cpu, cuda, cuda:N or auto (CUDA when usable, else the CPU). Under torchrun, plain `cuda` means this
    process's own GPU (LOCAL_RANK)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if torch.version.cuda is None:
            raise DeviceError(f"--device {name}: this torch ({torch.__version__}) was built without CUDA; "
                              + CUDA_INSTALL_HINT)
        if not torch.cuda.is_available():
            raise DeviceError(f"--device {name}: torch {torch.__version__} is built for CUDA {torch.version.cuda} "
                              "but sees no usable GPU (is the NVIDIA driver installed and new enough, and is "
                              "CUDA_VISIBLE_DEVICES set right? `nvidia-smi` should list the GPU)")
        index = int(name.split(":", 1)[1]) if ":" in name else local_rank
        if index >= torch.cuda.device_count():
            raise DeviceError(f"--device {name}: GPU {index} does not exist; this machine has "
                              f"{torch.cuda.device_count()}")
        return torch.device("cuda", index)
    raise DeviceError(f"--device {name}: unknown device; use cpu, cuda, cuda:N or auto")
