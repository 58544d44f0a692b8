"""End to end on real parts: synthesize, train 2 iterations, export three layouts (each run in onnxruntime-node and
compared with PyTorch), evaluate with COCOeval; and the clear errors bad input gets."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils

from tools.model.dataset import CocoDataset, DatasetError
from tools.model.evaluate import evaluate
from tools.model.export import export_all
from tools.model.synth import CLASSES, synthesize
from tools.model.train import CheckpointError, train

from tools.model.tests.support import REPO_ROOT, quiet, run_cli


def test_synth_is_reproducible_and_occlusion_removes_hidden_pixels(tmp_path):
    a = synthesize(tmp_path / "a", count=12, seed=5)
    b = synthesize(tmp_path / "b", count=12, seed=5)
    assert (a / "annotations.json").read_text() == (b / "annotations.json").read_text()
    assert (a / "images/000007.jpg").read_bytes() == (b / "images/000007.jpg").read_bytes()

    coco = json.loads((a / "annotations.json").read_text())
    assert [c["name"] for c in coco["categories"]] == list(CLASSES)
    per_image: dict[int, list] = {}
    for ann in coco["annotations"]:
        per_image.setdefault(ann["image_id"], []).append(mask_utils.decode(ann["segmentation"]).astype(bool))
        assert ann["area"] == mask_utils.area(ann["segmentation"]) > 0
    for image in coco["images"]:
        assert 256 <= image["width"] <= 640 and 256 <= image["height"] <= 640
        masks = per_image.get(image["id"], [])
        assert len(masks) <= 8
        if len(masks) > 1:
            assert np.stack(masks).sum(0).max() == 1, "visible masks of one image must not overlap"


def test_train_export_evaluate_and_run_in_onnxruntime_node(checkpoint, dataset_dir, tmp_path):
    written = export_all(str(checkpoint), str(tmp_path), "tiny", verify_data=str(dataset_dir), verify_images=2,
                         log=quiet)
    assert [p.name for p in written] == ["tiny.onnx", "tiny.json", "tiny-boxes.onnx", "tiny-boxes.json",
                                         "tiny-zoo.onnx", "tiny-zoo.json"]
    formats = {}
    for onnx_path in written[::2]:
        card = json.loads(onnx_path.with_suffix(".json").read_text())
        formats[onnx_path.name] = card["format"]
        assert card["sha256"] == hashlib.sha256(onnx_path.read_bytes()).hexdigest()
        assert card["labels"] == ["__background__", *CLASSES]
        assert card["verification"]["passed"] and card["verification"]["runtime"] == "onnxruntime-node"
        assert card["training"]["iterations"] == 2
        assert onnx_path.stat().st_size <= 16 * 1024 * 1024
    assert formats == {"tiny.onnx": "torchvision-maskrcnn", "tiny-boxes.onnx": "torchvision-fasterrcnn",
                       "tiny-zoo.onnx": "onnx-zoo-maskrcnn"}

    # The graph takes any height and width: run the default layout in node on a size it was not traced with.
    image = np.random.default_rng(0).random((3, 301, 457), dtype=np.float32)
    (tmp_path / "odd.bin").write_bytes(image.tobytes())
    out = subprocess.run(["node", "tools/model/verify_onnx.mjs", str(tmp_path / "tiny.onnx"), str(tmp_path / "out"),
                          f"{tmp_path / 'odd.bin'}:3x301x457"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["outputNames"] == ["boxes", "labels", "scores", "masks"]
    shapes = json.loads((tmp_path / "out/0/outputs.json").read_text())
    assert shapes["masks"]["dims"][1:] == [1, 301, 457]
    assert shapes["labels"]["type"] == "int64"

    metrics = evaluate(str(checkpoint), str(dataset_dir), log=quiet)
    for kind in ("box", "mask"):
        assert set(metrics[kind]) == {"AP", "AP50", "AP75", "per_class", "stats", "at_score", "suggested_score"}
        assert 0 <= metrics[kind]["AP50"] <= 1
        assert set(metrics[kind]["per_class"]) == set(CLASSES)
        assert metrics[kind]["at_score"]["score"] == 0.5
        assert set(metrics[kind]["at_score"]["per_class"]) == set(CLASSES)

    # The weights lie beside the graphs, named with their sha256 in every card, for the next fine-tune.
    release = tmp_path / "tiny.pt"
    for card_path in written[1::2]:
        card = json.loads(card_path.read_text())
        assert card["checkpoint"]["file"] == "tiny.pt"
        assert card["checkpoint"]["sha256"] == hashlib.sha256(release.read_bytes()).hexdigest()
    released = torch.load(release)
    assert "optimizer" not in released
    assert all(torch.equal(released["model"][k], v) for k, v in torch.load(checkpoint)["model"].items())


def test_training_resumes_from_its_checkpoint(dataset_dir, tmp_path):
    train(str(dataset_dir), str(tmp_path), iterations=1, batch_size=2, warmup=1, log=quiet)
    lines = []
    train(str(dataset_dir), str(tmp_path), iterations=2, batch_size=2, warmup=1, log=lines.append)
    assert any("resumed" in line and "iteration 1" in line for line in lines)
    assert len((tmp_path / "train.log").read_text().splitlines()) == 2


def test_dataset_without_annotations_json_is_named(tmp_path):
    (tmp_path / "images").mkdir()
    with pytest.raises(DatasetError, match=r"annotations\.json: missing"):
        CocoDataset(tmp_path)
    result = run_cli("train", str(tmp_path), "--out", str(tmp_path / "run"), "--iterations", "1")
    assert result.returncode == 2
    assert str(tmp_path / "annotations.json") in result.stderr


def test_annotations_naming_missing_images_are_listed(dataset_dir, tmp_path):
    copy = Path(shutil.copytree(dataset_dir, tmp_path / "copy"))
    (copy / "images/000002.jpg").unlink()
    with pytest.raises(DatasetError, match=r"1 image file\(s\).*images/000002\.jpg"):
        CocoDataset(copy)


def test_categories_without_instances_are_left_out_of_training_and_named(dataset_dir, checkpoint, tmp_path):
    copy = Path(shutil.copytree(dataset_dir, tmp_path / "copy"))
    coco = json.loads((copy / "annotations.json").read_text())
    star = next(c["id"] for c in coco["categories"] if c["name"] == "star")
    coco["annotations"] = [a for a in coco["annotations"] if a["category_id"] != star]
    coco["categories"] += [{"id": 40 + i, "name": f"unused{i}"} for i in range(76)]  # 80 categories in all
    (copy / "annotations.json").write_text(json.dumps(coco))

    lines = []
    trained = train(str(copy), str(tmp_path / "run"), iterations=1, batch_size=2, warmup=1, log=lines.append)
    assert any(line.startswith("left out (no instances to learn from): star, unused0, unused1") for line in lines)
    state = torch.load(trained)
    assert state["classes"]["names"] == ["circle", "rectangle", "triangle"]
    assert state["data"]["left_out"][0] == "star" and len(state["data"]["left_out"]) == 77

    warnings = []
    metrics = evaluate(str(checkpoint), str(copy), log=warnings.append)
    assert any("no instances of star" in w for w in warnings)
    assert metrics["mask"]["per_class"]["star"] is None

    coco["annotations"] = []
    (copy / "annotations.json").write_text(json.dumps(coco))
    with pytest.raises(DatasetError, match=r"no category has instances"):
        train(str(copy), str(tmp_path / "run2"), iterations=1, log=quiet)


def test_a_checkpoint_is_scored_on_the_classes_it_shares_and_resumes_only_its_own_list(
        dataset_dir, checkpoint, tmp_path):
    copy = Path(shutil.copytree(dataset_dir, tmp_path / "copy"))
    coco = json.loads((copy / "annotations.json").read_text())
    coco["categories"][0]["name"] = "disc"
    (copy / "annotations.json").write_text(json.dumps(coco))

    warnings = []
    metrics = evaluate(str(checkpoint), str(copy), log=warnings.append)
    assert any("has no category circle" in w for w in warnings)
    assert any("does not know disc" in w for w in warnings)
    assert set(metrics["mask"]["per_class"]) == {"rectangle", "triangle", "star"}
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(checkpoint, run / "last.pt")
    with pytest.raises(CheckpointError, match=r"last\.pt: trained for classes"):
        train(str(copy), str(run), iterations=3, log=quiet)
