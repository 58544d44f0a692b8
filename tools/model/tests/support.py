"""Helpers shared by the tools/model tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]


def quiet(*_args, **_kwargs):
    pass


def run_cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tools.model", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, **kwargs)
