"""Fixtures shared by the tools/model tests: a small synthetic dataset and a 2-iteration checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.model.synth import synthesize
from tools.model.tests.support import quiet
from tools.model.train import train


def pytest_configure(config):
    # torch's ONNX exporter and tracer warn about every torchvision detection model they export; the tests check
    # the exported graphs themselves
    for line in ("ignore::UserWarning:torch.*", "ignore::UserWarning:torchvision.*", "ignore::torch.jit.TracerWarning",
                 "ignore::FutureWarning:torch.*", "ignore::DeprecationWarning:torch.*"):
        config.addinivalue_line("filterwarnings", line)


@pytest.fixture(scope="session")
def dataset_dir(tmp_path_factory) -> Path:
    return synthesize(tmp_path_factory.mktemp("data") / "shapes", count=8, seed=3)


@pytest.fixture(scope="session")
def checkpoint(dataset_dir, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("run")
    return train(str(dataset_dir), str(run), iterations=2, batch_size=2, warmup=1, workers=0, log=quiet)
