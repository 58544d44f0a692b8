"""Mask R-CNN as two graphs, for box prompts: the backbone once per image, the RoI heads once per box.

Fast R-CNN's split, kept by Mask R-CNN: the backbone and FPN turn an image into feature maps once, and every region
is then cheap: RoIAlign crops the shared maps and the small box and mask heads classify and segment it. Exported
apart, the app can keep an image's feature maps and answer a box drawn by a person in milliseconds.

- backbone (NAME-split-backbone.onnx): `image` float32 RGB 0..1 [3,H,W] (the graph normalises and resizes as the
  full model does) -> `features_0..3`, the FPN maps P2-P5 [1,C,h/4..h/32,w/4..w/32] of the resized, padded image,
  and `resized_size` int64 [2], the resized image's height and width before padding.
- roi-heads (NAME-split-heads.onnx): the four maps, `resized_size`, `image_size` int64 [2] (height and width of the
  image given to the backbone) and `boxes` float32 [N,4] x1,y1,x2,y2 in that image's pixels -> `scores` [N,K] class
  probabilities (softmax, index 0 the background), `boxes_refined` [N,K,4] each class's refined box in image pixels
  (clipped to the image) and `masks` [N,K,28,28] each class's mask probabilities over the box it was given (paste
  into that box as torchvision's paste_masks_in_image does).

One card (NAME-split.json, format torchvision-maskrcnn-split) describes both graphs with their sha256 and names the
full model of the same weights. Both graphs run in onnxruntime-node at export, and the masks the heads give for the
boxes the full model predicts must agree with the full model's (IoU >= 0.99).

    python -m tools.model.export_split CHECKPOINT --out-dir resources/models --name loupe-shapes
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import hashlib
import inspect
import json
import subprocess
import sys
import tempfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
import torchvision
from PIL import Image
from torch import nn
from torchvision.models.detection.roi_heads import paste_masks_in_image

from .net import Architecture
from .train import CheckpointError, load_checkpoint, model_from_checkpoint

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_SCRIPT = Path(__file__).resolve().parent / "run_split.mjs"
FORMAT = "torchvision-maskrcnn-split"
OPSET = 11
LEVELS = ("0", "1", "2", "3")  # the FPN maps the RoI heads pool from (P2-P5); the extra P6 serves only the RPN
FEATURE_NAMES = tuple(f"features_{level}" for level in LEVELS)
MIN_MASK_IOU = 0.99
MASK_THRESHOLD = 0.5


class SplitError(Exception):
    """A split export that failed, or whose graphs disagree with the full model."""


class BackboneGraph(nn.Module):
    """Image -> FPN maps and the resized size: the full model's transform and backbone, nothing else."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.transform = copy.deepcopy(model.transform)
        self.backbone = model.backbone

    def forward(self, image: torch.Tensor):
        resized, _ = self.transform.resize(self.transform.normalize(image), None)
        resized_size = torch._shape_as_tensor(resized)[-2:]
        batch = self.transform.batch_images([resized], size_divisible=self.transform.size_divisible)
        features = self.backbone(batch)
        return (*(features[level] for level in LEVELS), resized_size)


class HeadsGraph(nn.Module):
    """FPN maps + boxes in image pixels -> per box and class: probability, refined box, 28x28 mask."""

    def __init__(self, model: nn.Module):
        super().__init__()
        heads = model.roi_heads
        self.box_roi_pool, self.box_head, self.box_predictor = heads.box_roi_pool, heads.box_head, heads.box_predictor
        self.mask_roi_pool, self.mask_head, self.mask_predictor = heads.mask_roi_pool, heads.mask_head, heads.mask_predictor
        self.box_coder = heads.box_coder

    def forward(self, f0, f1, f2, f3, resized_size, image_size, boxes):
        features = OrderedDict(zip(LEVELS, (f0, f1, f2, f3)))
        # (x, y, x, y) factors from the given image's pixels to the resized image's, where the maps were computed
        ratio = resized_size.to(boxes.dtype) / image_size.to(boxes.dtype)
        to_resized = torch.stack([ratio[1], ratio[0], ratio[1], ratio[0]])
        rois = boxes * to_resized
        # The pools' level scales are fixed when they first run (a stride per map), so the shapes are not traced.
        shapes = [(int(f0.shape[-2]) * 4, int(f0.shape[-1]) * 4)]
        box_features = self.box_head(self.box_roi_pool(features, [rois], shapes))
        class_logits, box_regression = self.box_predictor(box_features)
        refined = self.box_coder.decode(box_regression, [rois]) / to_resized
        limit = torch.stack([image_size[1], image_size[0], image_size[1], image_size[0]]).to(boxes.dtype)
        refined = torch.min(torch.max(refined, torch.zeros_like(refined)), limit.expand_as(refined))
        mask_logits = self.mask_predictor(self.mask_head(self.mask_roi_pool(features, [rois], shapes)))
        return torch.softmax(class_logits, -1), refined, mask_logits.sigmoid()


BACKBONE_OUTPUTS = (*FEATURE_NAMES, "resized_size")
HEADS_INPUTS = (*FEATURE_NAMES, "resized_size", "image_size", "boxes")
HEADS_OUTPUTS = ("scores", "boxes_refined", "masks")


def build_model(state: dict, min_size: int | None, max_size: int | None) -> nn.Module:
    """The trained network. A checkpoint from a newer tools/model may name its architecture ('name', 'pretrained');
    for the compact network those add nothing to the fields this version builds from."""
    arch = dict(state["architecture"])
    known = {f.name for f in dataclasses.fields(Architecture)}
    if set(arch) - known and arch.get("name", "loupe-small") == "loupe-small" and not arch.get("pretrained"):
        state = {**state, "architecture": {k: v for k, v in arch.items() if k in known}}
    try:
        return model_from_checkpoint(state, min_size, max_size).eval()
    except TypeError as error:
        raise CheckpointError(f"architecture {arch.get('name')!r} cannot be built here ({error})") from error


def export_graph(module: nn.Module, args: tuple, path: Path, inputs, outputs, dynamic: dict) -> None:
    kwargs = {}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # the TorchScript exporter handles torchvision's detection parts
    torch.onnx.export(module, args, str(path), opset_version=OPSET, input_names=list(inputs),
                      output_names=list(outputs), dynamic_axes=dynamic, do_constant_folding=True, **kwargs)


def feature_axes(name: str) -> dict:
    return {2: f"{name}_height", 3: f"{name}_width"}


def run_in_node(backbone: Path, heads: Path, cases: list[tuple[torch.Tensor, np.ndarray]]) -> list[dict]:
    """Both graphs in onnxruntime-node (the runtime the app uses): per (image, boxes) case, the heads' outputs."""
    with tempfile.TemporaryDirectory() as tmp:
        specs = []
        for i, (image, boxes) in enumerate(cases):
            (Path(tmp) / f"image{i}.bin").write_bytes(image.contiguous().numpy().astype(np.float32).tobytes())
            (Path(tmp) / f"boxes{i}.bin").write_bytes(np.ascontiguousarray(boxes, np.float32).tobytes())
            specs.append({"image": f"image{i}.bin", "dims": list(image.shape), "boxes": f"boxes{i}.bin",
                          "count": int(len(boxes))})
        (Path(tmp) / "cases.json").write_text(json.dumps(specs))
        result = subprocess.run(["node", str(RUN_SCRIPT), str(backbone), str(heads), tmp], cwd=REPO_ROOT,
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise SplitError(f"{backbone.name} + {heads.name}: onnxruntime-node failed:\n{result.stderr.strip()}")
        runs = []
        for i in range(len(cases)):
            described = json.loads((Path(tmp) / str(i) / "outputs.json").read_text())
            runs.append({name: np.fromfile(Path(tmp) / str(i) / f"{name}.bin", dtype=np.float32)
                         .reshape([int(v) for v in d["dims"]]) for name, d in described.items()})
        return runs


def mask_iou(a: np.ndarray, b: np.ndarray, decided: np.ndarray) -> float:
    a, b = a & decided, b & decided
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def verification_images(verify_data: str | None, count: int) -> tuple[list[torch.Tensor], str]:
    """The first `count` images of a COCO dataset directory, or synthetic scenes."""
    if verify_data:
        root = Path(verify_data)
        coco = json.loads((root / "annotations.json").read_text())
        annotated = {a["image_id"] for a in coco["annotations"]}
        files = [root / i["file_name"] for i in coco["images"] if i["id"] in annotated][:count]
        images = []
        for file in files:
            with Image.open(file) as im:
                pixels = np.asarray(im.convert("RGB"), dtype=np.float32) / 255
            images.append(torch.from_numpy(pixels).permute(2, 0, 1).contiguous())
        return images, str(verify_data)
    from .synth import scene
    rng = np.random.default_rng(20261201)
    images = []
    for width, height in [(640, 480), (300, 620), (512, 384)][:count]:
        pixels, _ = scene(width, height, rng)
        images.append(torch.from_numpy(pixels.astype(np.float32) / 255).permute(2, 0, 1).contiguous())
    return images, "synthetic scenes (seed 20261201)"


def probe_boxes(image: torch.Tensor, count: int = 6) -> torch.Tensor:
    """Boxes of assorted sizes spread over the image (seeded), so the heads are compared even where the full
    model predicts little (an untrained model)."""
    _, h, w = image.shape
    rng = np.random.default_rng(h * 10007 + w)
    x0, y0 = rng.uniform(0, 0.7, count) * w, rng.uniform(0, 0.7, count) * h
    bw, bh = rng.uniform(0.08, 0.3, count) * w, rng.uniform(0.08, 0.3, count) * h
    return torch.tensor(np.stack([x0, y0, np.minimum(x0 + bw, w), np.minimum(y0 + bh, h)], 1), dtype=torch.float32)


def compare_with_full(model: nn.Module, images: list[torch.Tensor], backbone: Path, heads: Path) -> dict:
    """The split graphs in onnxruntime-node against the full model in PyTorch. For the boxes the full model predicts,
    the heads' mask of the predicted class, pasted into the box as the full model pastes, must match the full
    model's mask at IoU >= 0.99. For probe boxes, every class's mask and probability and every refined box must
    match the full model's own heads run on those boxes. Pixels whose probability lies within float rounding of
    the threshold (0.002) are not compared."""
    torch_heads = HeadsGraph(model).eval()
    torch_backbone = BackboneGraph(model).eval()
    with torch.no_grad():
        predictions = [model([image])[0] for image in images]
        probes = [probe_boxes(image) for image in images]
        expected = [torch_heads(*torch_backbone(image), torch.tensor(image.shape[-2:]), boxes)
                    for image, boxes in zip(images, probes)]
    cases = [(image, torch.cat([p["boxes"], boxes]).numpy()) for image, p, boxes in zip(images, predictions, probes)]
    outputs = run_in_node(backbone, heads, cases)
    ious, probe_ious, same_class, predicted = [], [], 0, 0
    max_box_diff, max_probability_diff = 0.0, 0.0
    for image, p, out, (scores, refined, masks) in zip(images, predictions, outputs, expected):
        n = len(p["labels"])
        if n:
            per_class = torch.from_numpy(out["masks"][:n])
            chosen = per_class[torch.arange(n), p["labels"]][:, None]
            pasted = paste_masks_in_image(chosen, p["boxes"], tuple(image.shape[-2:]))[:, 0].numpy()
            for split_mask, full_mask in zip(pasted, p["masks"][:, 0].numpy()):
                decided = (np.abs(full_mask - MASK_THRESHOLD) > 0.002) & (np.abs(split_mask - MASK_THRESHOLD) > 0.002)
                ious.append(mask_iou(split_mask > MASK_THRESHOLD, full_mask > MASK_THRESHOLD, decided))
            same_class += int((out["scores"][:n, 1:].argmax(1) + 1 == p["labels"].numpy()).sum())
            predicted += n
        got, want = out["masks"][n:], masks.numpy()
        decided = (np.abs(got - MASK_THRESHOLD) > 0.002) & (np.abs(want - MASK_THRESHOLD) > 0.002)
        probe_ious += [mask_iou(g > MASK_THRESHOLD, w > MASK_THRESHOLD, d)
                       for g, w, d in zip(got.reshape(-1, 28, 28), want.reshape(-1, 28, 28), decided.reshape(-1, 28, 28))]
        max_box_diff = max(max_box_diff, float(np.abs(out["boxes_refined"][n:] - refined.numpy()).max()))
        max_probability_diff = max(max_probability_diff, float(np.abs(out["scores"][n:] - scores.numpy()).max()))
    worst = min(ious, default=1.0)
    if worst < MIN_MASK_IOU:
        raise SplitError(f"a mask of the split heads agrees with the full model's at IoU {worst:.4f} only "
                         f"(limit {MIN_MASK_IOU})")
    if min(probe_ious) < MIN_MASK_IOU or max_box_diff > 0.01 or max_probability_diff > 1e-3:
        raise SplitError(f"on probe boxes the heads in onnxruntime differ from PyTorch: mask IoU {min(probe_ious):.4f}, "
                         f"refined boxes by {max_box_diff:.4f} px, class probabilities by {max_probability_diff:.5f}")
    return {"runtime": "onnxruntime-node", "images": len(images), "predicted_boxes": predicted,
            "min_mask_iou": round(worst, 4), "mean_mask_iou": round(float(np.mean(ious)), 4) if ious else None,
            "same_best_class": round(same_class / predicted, 4) if predicted else None,
            "probe_boxes": sum(len(b) for b in probes), "probe_min_mask_iou": round(min(probe_ious), 4),
            "probe_max_box_diff_px": round(max_box_diff, 5), "probe_max_probability_diff": round(max_probability_diff, 6),
            "passed": True}


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def companion(out: Path, name: str, checkpoint: Path) -> dict:
    """The full model these graphs share their weights with: its card, the sha256 of its graph when it is there (the
    app finds the split graphs of a model by it), and the checkpoint's."""
    full_onnx = out / f"{name}.onnx"
    return {"card": f"{name}.json",
            "sha256": sha256_of(full_onnx) if full_onnx.exists() else None,
            "checkpoint_sha256": sha256_of(checkpoint)}


def graph_entry(path: Path, inputs: dict, outputs: dict) -> dict:
    data = path.read_bytes()
    return {"onnx": path.name, "sha256": hashlib.sha256(data).hexdigest(), "size_bytes": len(data),
            "inputs": inputs, "outputs": outputs}


def card(name: str, state: dict, model: nn.Module, backbone: Path, heads: Path, verification: dict,
         source: dict) -> dict:
    min_size, max_size = model.input_size
    labels = ["__background__", *state["classes"]["names"]]
    channels = model.backbone.out_channels
    maps = {f"features_{level}": {"dtype": "float32", "shape": [1, channels, f"h/{4 << i}", f"w/{4 << i}"],
                                  "stride": 4 << i} for i, level in enumerate(LEVELS)}
    size = {"dtype": "int64", "shape": [2], "description": "height, width"}
    return {
        "format": FORMAT,
        "name": f"{name}-split",
        "labels": labels,
        "input": {"name": "image", "dtype": "float32", "shape": [3, "H", "W"], "layout": "CHW", "color": "RGB",
                  "range": [0, 1], "resize": "in-graph", "min_size": min_size, "max_size": max_size},
        "graphs": {
            "backbone": graph_entry(backbone, {"image": {"dtype": "float32", "shape": [3, "H", "W"]}},
                                    {**maps, "resized_size": {**size, "description": "the resized image's height "
                                                                                     "and width, before padding"}}),
            "roi_heads": graph_entry(heads, {
                **maps, "resized_size": size,
                "image_size": {**size, "description": "height, width of the image given to the backbone"},
                "boxes": {"dtype": "float32", "shape": ["N", 4], "description": "x1, y1, x2, y2 in image pixels"},
            }, {
                "scores": {"dtype": "float32", "shape": ["N", len(labels)], "description": "class probabilities"},
                "boxes_refined": {"dtype": "float32", "shape": ["N", len(labels), 4],
                                  "description": "each class's refined box, x1, y1, x2, y2 in image pixels"},
                "masks": {"dtype": "float32", "shape": ["N", len(labels), 28, 28],
                          "description": "each class's mask probabilities over the given box"},
            }),
        },
        "thresholds": {"mask": MASK_THRESHOLD},
        "opset": OPSET,
        "model": source,
        "verification": verification,
        "framework": f"torch {torch.__version__}, torchvision {torchvision.__version__}",
    }


def export_split(checkpoint: str, out_dir: str, name: str, verify_data: str | None = None, verify_images: int = 3,
                 min_size: int | None = None, max_size: int | None = None, log=print) -> list[Path]:
    """Writes out_dir/NAME-split-backbone.onnx, NAME-split-heads.onnx and NAME-split.json; raises SplitError when the
    graphs disagree with the full model."""
    state = load_checkpoint(checkpoint)
    model = build_model(state, min_size, max_size)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    images, source = verification_images(verify_data, verify_images)
    backbone_path = out / f"{name}-split-backbone.onnx"
    heads_path = out / f"{name}-split-heads.onnx"
    backbone, heads = BackboneGraph(model).eval(), HeadsGraph(model).eval()
    example = images[0]
    with torch.no_grad():
        model([example])  # fixes the pools' level scales before tracing
        export_graph(backbone, (example,), backbone_path, ["image"], BACKBONE_OUTPUTS,
                     {"image": {1: "height", 2: "width"}, **{f: feature_axes(f) for f in FEATURE_NAMES}})
        *maps, resized_size = backbone(example)
        boxes = torch.tensor([[10.0, 12.0, 80.0, 70.0], [40.0, 30.0, 200.0, 150.0]])
        image_size = torch.tensor(example.shape[-2:])
        export_graph(heads, (*maps, resized_size, image_size, boxes), heads_path, HEADS_INPUTS, HEADS_OUTPUTS,
                     {**{f: feature_axes(f) for f in FEATURE_NAMES}, "boxes": {0: "boxes"},
                      "scores": {0: "boxes"}, "boxes_refined": {0: "boxes"}, "masks": {0: "boxes"}})
    verification = {**compare_with_full(model, images, backbone_path, heads_path), "source": source}
    card_path = out / f"{name}-split.json"
    description = card(name, state, model, backbone_path, heads_path, verification,
                       companion(out, name, Path(checkpoint)))
    card_path.write_text(json.dumps(description, indent=2) + "\n")
    for path in (backbone_path, heads_path):
        log(f"{path} ({path.stat().st_size / 1e6:.1f} MB)")
    log(f"{card_path}: {verification['predicted_boxes']} predicted boxes on {len(images)} images, min mask IoU with "
        f"the full model {verification['min_mask_iou']}; {verification['probe_boxes']} probe boxes, min mask IoU "
        f"{verification['probe_min_mask_iou']}")
    return [backbone_path, heads_path, card_path]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.model.export_split", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--name", required=True, help="the full model's file stem: writes NAME-split*.onnx/.json")
    parser.add_argument("--verify-data", default=None, help="COCO dataset whose first images check the graphs")
    parser.add_argument("--verify-images", type=int, default=3)
    parser.add_argument("--min-size", type=int, default=None, help="input short side (default: the training size)")
    parser.add_argument("--max-size", type=int, default=None, help="input long side cap (default: the training size)")
    args = parser.parse_args(argv)
    try:
        export_split(args.checkpoint, args.out_dir, args.name, verify_data=args.verify_data,
                     verify_images=args.verify_images, min_size=args.min_size, max_size=args.max_size)
    except (CheckpointError, SplitError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
