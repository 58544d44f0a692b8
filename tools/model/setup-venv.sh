#!/usr/bin/env bash
# Makes tools/model/.venv, the Python environment of tools/model (tools/model/README.md, "Setup"):
#   bash tools/model/setup-venv.sh          CPU. Where /usr/bin/python3 has torch, torchvision and onnx (Debian's
#                                           python3-torch, python3-torchvision, python3-onnx), a venv on top of them
#                                           plus pycocotools and pytest from PyPI; elsewhere PyPI's CPU-only wheels.
#   bash tools/model/setup-venv.sh --cuda   NVIDIA GPU, Linux x86-64: torch and torchvision from PyPI, whose wheels
#                                           bring CUDA 12 and cuDNN 9 (about 5 GB; the NVIDIA driver must be 525+).
# A .venv that already has what the mode needs is kept; --cuda replaces one whose torch has no CUDA.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
mode="${1:-cpu}"
case "$mode" in cpu | --cpu) mode=cpu ;; --cuda) mode=cuda ;; *) echo "usage: $0 [--cuda]" >&2; exit 1 ;; esac

has() { [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$1" 2>/dev/null; }

if [ "$mode" = cpu ]; then
  has 'import torch, torchvision, onnx, pycocotools, pytest' && exit 0
  if [ ! -x "$venv/bin/python" ]; then
    if /usr/bin/python3 -c 'import torch, torchvision, onnx' 2>/dev/null; then
      /usr/bin/python3 -m venv --system-site-packages "$venv"
    else
      python3 -m venv "$venv"
      "$venv/bin/pip" install -q --index-url https://download.pytorch.org/whl/cpu torch torchvision
    fi
  fi
  "$venv/bin/pip" install -q -r "$here/requirements.txt"
else
  has 'import torch, sys; sys.exit(torch.version.cuda is None)' && has 'import pycocotools, pytest, onnx' && exit 0
  if has 'import torch' || [ -d "$venv" ]; then
    echo "replacing $venv (its torch has no CUDA) with PyPI's CUDA build" >&2
    rm -rf "$venv"
  fi
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$here/requirements.txt"
  "$venv/bin/python" -c 'import torch; print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, GPU: {torch.cuda.is_available()}")'
fi
