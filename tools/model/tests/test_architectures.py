"""torchvision's Mask R-CNN architectures, at a small input size with random weights (these machines cannot download
the COCO weights): each builds, trains 2 iterations and exports ONNX graphs that onnxruntime-node runs like
PyTorch; and the COCO-weights path, through torchvision's own loader, carries class rows over by name."""

from __future__ import annotations

import json
import os

import pytest
import torch

from tools.model.export import export_all
from tools.model.net import Architecture, build_model
from tools.model.tests.support import quiet
from tools.model.torchvision_nets import coco_weights, load_pretrained
from tools.model.train import load_checkpoint, train

# The ResNet-50's three exports take minutes on two cores; its default layout runs in every test run.
SLOW = os.environ.get("LOUPE_SLOW_TESTS") == "1"
CASES = [("mobilenet-v3-fpn", ("maskrcnn", "boxes", "zoo")),
         ("resnet50-fpn-v2", ("maskrcnn", "boxes", "zoo") if SLOW else ("maskrcnn",))]


@pytest.mark.parametrize("name,layouts", CASES, ids=[name for name, _ in CASES])
def test_architecture_builds_trains_and_exports(name, layouts, dataset_dir, tmp_path):
    arch = Architecture.named(name, min_size=96, max_size=128)
    checkpoint = train(str(dataset_dir), str(tmp_path / "run"), iterations=2, batch_size=2, warmup=1, workers=0,
                       arch=arch, rois_per_image=16, log=quiet)
    state = load_checkpoint(checkpoint)
    assert state["architecture"]["name"] == name and state["iteration"] == 2

    written = export_all(str(checkpoint), str(tmp_path / "out"), "net", layouts=layouts,
                         verify_data=str(dataset_dir), verify_images=1, log=quiet)
    assert len(written) == 2 * len(layouts)
    for card_path in written[1::2]:
        card = json.loads(card_path.read_text())
        assert card["training"]["architecture"] == name
        assert card["input"]["min_size"] == 96 and card["input"]["max_size"] == 128
        assert card["labels"] == ["__background__", "circle", "rectangle", "triangle", "star"]
        assert card["verification"]["passed"] and card["verification"]["runtime"] == "onnxruntime-node"


def test_coco_weights_come_through_torchvision_and_keep_the_rows_of_classes_named_as_in_coco(tmp_path, monkeypatch):
    """The weights file is put where torchvision's own loader looks first (torch's hub cache), as a download
    would leave it: built by torchvision's Faster R-CNN builder, so with COCO's 91 labels."""
    from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_fpn
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    weights = coco_weights("mobilenet-v3-fpn")
    torch.manual_seed(1)
    coco = fasterrcnn_mobilenet_v3_large_fpn(weights=None, weights_backbone=None, num_classes=91).state_dict()
    cache = tmp_path / "hub/checkpoints" / weights.url.rsplit("/", 1)[1]
    cache.parent.mkdir(parents=True)
    torch.save(coco, cache)

    arch = Architecture.named("mobilenet-v3-fpn", min_size=96, max_size=128, pretrained="coco")
    classes = ["dog", "widget", "person"]
    model = build_model(len(classes) + 1, arch)
    lines = []
    report = load_pretrained(model, arch, classes, lines.append)
    assert report["matched_classes"] == ["dog", "person"] and report["new_classes"] == ["widget"]
    assert all(k.startswith("roi_heads.mask_") for k in report["fresh"])  # the detector has no mask branch
    labels = weights.meta["categories"]
    own = model.state_dict()
    for row, name in ((0, "__background__"), (1, "dog"), (3, "person")):
        j = labels.index(name)
        assert torch.equal(own["roi_heads.box_predictor.cls_score.weight"][row],
                           coco["roi_heads.box_predictor.cls_score.weight"][j])
        assert torch.equal(own["roi_heads.box_predictor.bbox_pred.weight"][4 * row:4 * row + 4],
                           coco["roi_heads.box_predictor.bbox_pred.weight"][4 * j:4 * j + 4])
    assert torch.equal(own["backbone.fpn.layer_blocks.0.0.weight"], coco["backbone.fpn.layer_blocks.0.0.weight"])
    assert "started from torchvision's FasterRCNN_MobileNet_V3_Large_FPN_Weights.COCO_V1" in lines[0]
    # frozen BatchNorm and the first stages frozen, as torchvision builds a detector from COCO weights
    assert not model.backbone.body["0"][0].weight.requires_grad
