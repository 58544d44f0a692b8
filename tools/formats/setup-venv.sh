#!/usr/bin/env bash
# A virtual environment with the reference tools of the LabelMe / YOLO tests (tools/formats/requirements.txt), on
# top of Debian's python3 packages (torch, numpy 1.x). Separate from tools/model/.venv, whose torch must keep
# Debian's numpy. About 1 GB; the format tests that need it say they are skipped when it is absent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
  /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
"$venv/bin/python" -c 'import ultralytics, labelme, imgviz, pycocotools' 2>/dev/null || "$venv/bin/pip" install -q -r "$here/requirements.txt"
