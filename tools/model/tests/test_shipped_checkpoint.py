"""The shipped checkpoint (resources/models/loupe-shapes.pt) is the network the shipped ONNX graphs came from:
exported again it gives the same bytes, it runs like the graph in onnxruntime-node, and every card names it."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import onnx
import torch

from tools.model.dataset import CocoDataset
from tools.model.export import export_onnx, layout_module, run_onnx_in_node
from tools.model.recover import compare_with_onnx
from tools.model.synth import synthesize
from tools.model.tests.support import REPO_ROOT
from tools.model.train import load_checkpoint, model_from_checkpoint

MODELS = REPO_ROOT / "resources/models"
CHECKPOINT = MODELS / "loupe-shapes.pt"


def shipped_model() -> torch.nn.Module:
    card = json.loads((MODELS / "loupe-shapes.json").read_text())
    model = model_from_checkpoint(load_checkpoint(CHECKPOINT)).eval()
    model.roi_heads.score_thresh = card["graph_score_threshold"]
    return model


def test_every_card_names_the_checkpoint_with_its_sha256():
    data = CHECKPOINT.read_bytes()
    assert len(data) <= 16 * 1024 * 1024
    for suffix in ("", "-boxes", "-zoo"):
        card = json.loads((MODELS / f"loupe-shapes{suffix}.json").read_text())
        assert card["checkpoint"]["file"] == "loupe-shapes.pt"
        assert card["checkpoint"]["sha256"] == hashlib.sha256(data).hexdigest()
        assert card["checkpoint"]["recovered_from"]["re_export_identical"] == {
            "loupe-shapes.onnx": True, "loupe-shapes-boxes.onnx": True, "loupe-shapes-zoo.onnx": True}
    state = load_checkpoint(CHECKPOINT)
    assert state["classes"]["names"] == card["labels"][1:]
    assert state["architecture"]["min_size"] == card["input"]["min_size"] == 512


def test_exporting_the_checkpoint_again_reproduces_the_shipped_graph(tmp_path):
    """With the exporter that made the graph (torch 1.13, as the ONNX file records) the bytes are the same; with
    another torch, the graph differs in form but computes the same outputs in onnxruntime-node."""
    model = shipped_model()
    shipped = MODELS / "loupe-shapes.onnx"
    again = tmp_path / "again.onnx"
    with torch.no_grad():
        export_onnx(layout_module("maskrcnn", model).eval(), "maskrcnn", torch.rand(3, 300, 400), again)
    producer = onnx.load(str(shipped), load_external_data=False).producer_version
    if torch.__version__.startswith(producer):
        assert hashlib.sha256(again.read_bytes()).hexdigest() == hashlib.sha256(shipped.read_bytes()).hexdigest()
        return
    held_out = CocoDataset(synthesize(tmp_path / "heldout", count=3, seed=2), annotated_classes_only=False)
    images = [held_out.load_image(i) for i in range(len(held_out))]
    for ours, theirs in zip(run_onnx_in_node(again, images), run_onnx_in_node(shipped, images)):
        assert ours["boxes"].shape == theirs["boxes"].shape and len(theirs["boxes"]) > 0
        assert np.abs(ours["boxes"] - theirs["boxes"]).max() <= 1e-3
        assert np.abs(ours["masks"] - theirs["masks"]).max() <= 1e-3


def test_the_checkpoint_in_pytorch_agrees_with_the_shipped_graph_in_onnxruntime(tmp_path):
    # the first images of the held-out set the card describes (seed 2), which no training run saw
    held_out = CocoDataset(synthesize(tmp_path / "heldout", count=4, seed=2), annotated_classes_only=False)
    parity = compare_with_onnx(shipped_model(), MODELS / "loupe-shapes.onnx",
                               [held_out.load_image(i) for i in range(len(held_out))])
    assert parity["detections"] >= 10
    assert parity["max_box_diff_px"] <= 1e-3 and parity["min_mask_iou"] >= 0.999


def test_batchnorm_in_training_mode_computes_about_what_the_trained_network_computes(tmp_path):
    """The recovered BatchNorm carries each channel's statistics, so fine-tuning (batch statistics) starts from the
    trained network rather than from one whose every channel is rescaled."""
    data = CocoDataset(synthesize(tmp_path / "scenes", count=4, seed=11))
    model = shipped_model()
    images = [data[i][0] for i in range(len(data))]
    with torch.no_grad():
        batch, _ = model.transform(images)
        model.eval()
        evaluation = model.backbone(batch.tensors)
        model.train()
        training = model.backbone(batch.tensors)
    for level in evaluation:
        relative = (training[level] - evaluation[level]).norm() / evaluation[level].norm()
        assert relative < 0.5, f"FPN level {level}: {relative:.3f}"  # an identity BatchNorm: 0.83 to 1.84
