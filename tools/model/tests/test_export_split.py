"""The split export on real parts: a model trained 2 iterations, exported as backbone + RoI heads, both graphs run in
onnxruntime-node and compared with the full model in PyTorch."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tools.model.export_split import FORMAT, SplitError, compare_with_full, export_split, verification_images
from tools.model.synth import CLASSES, synthesize
from tools.model.train import train

REPO_ROOT = Path(__file__).resolve().parents[3]


def quiet(*_args, **_kwargs):
    pass


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory) -> Path:
    return synthesize(tmp_path_factory.mktemp("data") / "shapes", count=6, seed=11)


@pytest.fixture(scope="module")
def checkpoint(dataset_dir, tmp_path_factory) -> Path:
    return train(str(dataset_dir), str(tmp_path_factory.mktemp("run")), iterations=2, batch_size=2, warmup=1, log=quiet)


@pytest.fixture(scope="module")
def exported(checkpoint, dataset_dir, tmp_path_factory) -> list[Path]:
    return export_split(str(checkpoint), str(tmp_path_factory.mktemp("split")), "tiny", verify_data=str(dataset_dir),
                        verify_images=2, log=quiet)


def test_split_graphs_match_the_full_model_in_onnxruntime_node(exported, checkpoint):
    assert [p.name for p in exported] == ["tiny-split-backbone.onnx", "tiny-split-heads.onnx", "tiny-split.json"]
    card = json.loads(exported[2].read_text())
    assert card["format"] == FORMAT and card["name"] == "tiny-split"
    assert card["labels"] == ["__background__", *CLASSES]
    for key, path in zip(("backbone", "roi_heads"), exported):
        graph = card["graphs"][key]
        assert graph["onnx"] == path.name
        assert graph["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert graph["size_bytes"] == path.stat().st_size <= 16 * 1024 * 1024
    assert card["model"] == {"card": "tiny.json", "sha256": None,
                             "checkpoint_sha256": hashlib.sha256(Path(checkpoint).read_bytes()).hexdigest()}
    check = card["verification"]
    assert check["passed"] and check["runtime"] == "onnxruntime-node"
    assert check["min_mask_iou"] >= 0.99 and check["probe_min_mask_iou"] >= 0.99
    assert check["probe_boxes"] == 12 and check["probe_max_box_diff_px"] <= 0.01


def test_graphs_of_other_weights_fail_the_comparison(exported, dataset_dir, tmp_path):
    """The comparison can fail: the same graphs checked against a network with other weights."""
    from tools.model.net import Architecture, build_model
    other = build_model(len(CLASSES) + 1, Architecture()).eval()
    other.input_size = (384, 512)
    images, _ = verification_images(str(dataset_dir), 1)
    with pytest.raises(SplitError, match="differ|agrees"):
        compare_with_full(other, images, exported[0], exported[1])


def test_cli_names_a_missing_checkpoint(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tools.model.export_split", str(tmp_path / "none.pt"),
                             "--out-dir", str(tmp_path), "--name", "x"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 2
    assert "none.pt: checkpoint does not exist" in result.stderr
