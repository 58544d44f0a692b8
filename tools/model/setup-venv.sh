#!/usr/bin/env bash
# A virtual environment on top of Debian's torch/torchvision/onnx (/usr/bin/python3) with pycocotools and pytest
# from PyPI. Users on other systems install requirements.txt instead (see tools/model/README.md).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
  /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
"$venv/bin/python" -c 'import pycocotools, pytest' 2>/dev/null || "$venv/bin/pip" install -q pycocotools pytest
