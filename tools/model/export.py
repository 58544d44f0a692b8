"""Exporting a checkpoint to ONNX in three layouts, each checked in onnxruntime-node against PyTorch, with its card.

- torchvision-maskrcnn (NAME.onnx): float32 RGB 0..1 [3,H,W] in; the graph normalises and resizes; boxes [N,4] xyxy
  in input pixels, labels int64 [N], scores [N], masks [N,1,H,W] float probabilities pasted into the input size.
- torchvision-fasterrcnn (NAME-boxes.onnx): the same weights without the mask branch: boxes, labels, scores.
- onnx-zoo-maskrcnn (NAME-zoo.onnx): the ONNX Model Zoo Mask R-CNN contract: float32 BGR 0..255 minus channel means
  [3,H,W], sides padded by the caller to a multiple of 32, no resizing in the graph; masks [N,1,28,28] per box, left
  for the caller to paste into the box.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import torch
import torchvision
from torch import nn

from .dataset import Classes, CocoDataset
from .devices import resolve_device
from .train import load_checkpoint, model_from_checkpoint, save_checkpoint

REPO_ROOT = Path(__file__).resolve().parents[2]
VERIFY_SCRIPT = Path(__file__).resolve().parent / "verify_onnx.mjs"
ZOO_BGR_MEANS = [102.9801, 115.9465, 122.7717]
ZOO_PAD_MULTIPLE = 32
OPSET = 11
# Detections below this never leave the graph; a higher cut pastes fewer full-image masks per run.
GRAPH_SCORE_THRESHOLD = 0.05
CARD_THRESHOLDS = {"score": 0.5, "mask": 0.5}
# What a checkpoint beside the ONNX files keeps: enough to fine-tune, evaluate or export it again, no optimiser.
RELEASE_KEYS = ("model", "classes", "architecture", "iteration", "training_seconds", "prior_training_seconds",
                "images_seen", "batch_size", "world_size", "data", "machine", "torch", "initialised_from", "scales",
                "recovered_from")


class ExportError(Exception):
    """An export that failed or whose ONNX graph disagrees with PyTorch."""


class TorchvisionLayout(nn.Module):
    """One image tensor in, a tuple of output tensors out (ONNX has no dicts or lists of images)."""

    def __init__(self, model: nn.Module, keys: tuple[str, ...]):
        super().__init__()
        self.model = model
        self.keys = keys

    def forward(self, image: torch.Tensor):
        detections = self.model([image])[0]
        return tuple(detections[k] for k in self.keys)


class ZooLayout(nn.Module):
    """The ONNX Model Zoo Mask R-CNN contract around torchvision's parts: no resizing and no mask pasting."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.transform = copy.deepcopy(model.transform)
        self.transform.resize = lambda image, target=None: (image, target)  # the caller sizes the image
        self.backbone, self.rpn, self.roi_heads = model.backbone, model.rpn, model.roi_heads
        self.register_buffer("bgr_means", torch.tensor(ZOO_BGR_MEANS).view(3, 1, 1))
        self.register_buffer("bgr_to_rgb", torch.tensor([2, 1, 0]))

    def forward(self, image: torch.Tensor):
        rgb = (image + self.bgr_means).index_select(0, self.bgr_to_rgb) / 255
        images, _ = self.transform([rgb])
        features = self.backbone(images.tensors)
        proposals, _ = self.rpn(images, features)
        detections, _ = self.roi_heads(features, proposals, images.image_sizes)
        d = detections[0]
        return d["boxes"], d["labels"], d["scores"], d["masks"]


def without_masks(model: nn.Module) -> nn.Module:
    boxes_only = copy.deepcopy(model)
    boxes_only.roi_heads.mask_roi_pool = None
    boxes_only.roi_heads.mask_head = None
    boxes_only.roi_heads.mask_predictor = None
    return boxes_only


def zoo_input(image: torch.Tensor) -> torch.Tensor:
    """RGB 0..1 [3,H,W] -> BGR 0..255 minus means, zero-padded at bottom/right to a multiple of 32."""
    bgr = image[[2, 1, 0]] * 255 - torch.tensor(ZOO_BGR_MEANS).view(3, 1, 1)
    _, h, w = bgr.shape
    ph, pw = -h % ZOO_PAD_MULTIPLE, -w % ZOO_PAD_MULTIPLE
    return torch.nn.functional.pad(bgr, (0, pw, 0, ph))


LAYOUTS = {
    "maskrcnn": {"format": "torchvision-maskrcnn", "suffix": "", "outputs": ("boxes", "labels", "scores", "masks")},
    "boxes": {"format": "torchvision-fasterrcnn", "suffix": "-boxes", "outputs": ("boxes", "labels", "scores")},
    "zoo": {"format": "onnx-zoo-maskrcnn", "suffix": "-zoo", "outputs": ("boxes", "labels", "scores", "masks")},
}


def layout_module(layout: str, model: nn.Module) -> nn.Module:
    if layout == "maskrcnn":
        return TorchvisionLayout(model, LAYOUTS[layout]["outputs"])
    if layout == "boxes":
        return TorchvisionLayout(without_masks(model), LAYOUTS[layout]["outputs"])
    if layout == "zoo":
        return ZooLayout(model)
    raise ExportError(f"unknown layout {layout!r}; choose from {', '.join(LAYOUTS)}")


def layout_input(layout: str, image: torch.Tensor) -> torch.Tensor:
    return zoo_input(image) if layout == "zoo" else image


def export_onnx(module: nn.Module, layout: str, example: torch.Tensor, path: Path) -> None:
    outputs = LAYOUTS[layout]["outputs"]
    dynamic = {"image": {1: "height", 2: "width"}}
    for name in outputs:
        dynamic[name] = {0: "detections"}
    if layout == "maskrcnn":
        dynamic["masks"] = {0: "detections", 2: "height", 3: "width"}
    kwargs = {}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # the TorchScript exporter handles torchvision's detection models
    torch.onnx.export(module, (example,), str(path), opset_version=OPSET, input_names=["image"],
                      output_names=list(outputs), dynamic_axes=dynamic, do_constant_folding=True, **kwargs)


def run_onnx_in_node(onnx_path: Path, inputs: list[torch.Tensor]) -> list[dict[str, np.ndarray]]:
    """Outputs of onnxruntime-node (the runtime the app uses) for each input."""
    with tempfile.TemporaryDirectory() as tmp:
        specs = []
        for i, x in enumerate(inputs):
            file = Path(tmp) / f"input{i}.bin"
            file.write_bytes(x.contiguous().numpy().astype(np.float32).tobytes())
            specs.append(f"{file}:{'x'.join(str(d) for d in x.shape)}")
        result = subprocess.run(["node", str(VERIFY_SCRIPT), str(onnx_path), tmp, *specs], cwd=REPO_ROOT,
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise ExportError(f"{onnx_path}: onnxruntime-node failed to run it:\n{result.stderr.strip()}")
        dtypes = {"float32": np.float32, "int64": np.int64}
        runs = []
        for i in range(len(inputs)):
            described = json.loads((Path(tmp) / str(i) / "outputs.json").read_text())
            runs.append({name: np.fromfile(Path(tmp) / str(i) / f"{name}.bin", dtype=dtypes[d["type"]])
                        .reshape([int(v) for v in d["dims"]]) for name, d in described.items()})
        return runs


def compare(layout: str, expected: tuple[torch.Tensor, ...], actual: dict[str, np.ndarray],
            detections_per_image: int) -> dict:
    """Every PyTorch detection with score >= 0.1 must appear in onnxruntime's output with the same label, its box
    within 1 px and its mask at IoU >= 0.99 (pixels within 0.002 of the 0.5 mask threshold aside). Detections are
    matched by box rather than by rank, since near-equal scores may sort differently. Two cases are excused, as float rounding may decide them either way: a detection
    scoring within 0.002 of the cut-off (the lowest score of a full output), and one whose overlapping neighbour
    (IoU > 0.3, same label) scores within 0.002 of it, where NMS may keep either (only untrained models do this)."""
    names = LAYOUTS[layout]["outputs"]
    ref = {n: t.detach().numpy() for n, t in zip(names, expected)}
    cut = ref["scores"].min() if len(ref["scores"]) >= detections_per_image else 0.0
    required = np.flatnonzero((ref["scores"] >= 0.1) & (ref["scores"] > cut + 0.002))
    max_box_diff, min_iou, unmatched, excused = 0.0, 1.0, [], 0
    for i in required:
        same_label = np.flatnonzero(actual["labels"] == ref["labels"][i])
        if len(same_label) == 0:
            unmatched.append(i)
            continue
        diffs = np.abs(actual["boxes"][same_label] - ref["boxes"][i]).max(1)
        j = same_label[diffs.argmin()]
        if diffs.min() > 1:
            unmatched.append(i)
            continue
        max_box_diff = max(max_box_diff, float(diffs.min()))
        if "masks" in names:
            # A pixel whose probability is within float rounding of 0.5 may land on either side: not compared.
            decided = np.abs(ref["masks"][i] - 0.5) > 0.002
            m_ref, m_act = (ref["masks"][i] > 0.5) & decided, (actual["masks"][j] > 0.5) & decided
            union = np.logical_or(m_ref, m_act).sum()
            min_iou = min(min_iou, float(np.logical_and(m_ref, m_act).sum() / union) if union else 1.0)
    iou = torchvision.ops.box_iou(torch.from_numpy(ref["boxes"]), torch.from_numpy(ref["boxes"])).numpy()
    tied = [i for i in unmatched
            if any(j != i and ref["labels"][j] == ref["labels"][i] and iou[i, j] > 0.3
                   and abs(ref["scores"][j] - ref["scores"][i]) < 0.002 for j in range(len(ref["scores"])))]
    excused = len(tied)
    unmatched = [i for i in unmatched if i not in tied]
    if unmatched:
        i = unmatched[0]
        raise ExportError(f"{layout}: {len(unmatched)} of {len(required)} PyTorch detections have no onnxruntime "
                          f"detection of the same label within 1 px (first: label {ref['labels'][i]}, score "
                          f"{ref['scores'][i]:.3f}, box {np.round(ref['boxes'][i], 1).tolist()})")
    if min_iou < 0.99:
        raise ExportError(f"{layout}: a mask's IoU between PyTorch and onnxruntime is {min_iou:.4f} (limit 0.99)")
    return {"detections": len(required) - excused, "excused_ties": excused,
            "max_box_diff_px": round(max_box_diff, 4), "min_mask_iou": round(min_iou, 4)}


def verification_images(verify_data: str | None, count: int) -> tuple[list[torch.Tensor], str]:
    if verify_data:
        dataset = CocoDataset(verify_data, annotated_classes_only=False)
        picked = [i for i in range(len(dataset)) if dataset.annotations_by_image[dataset.images[i]["id"]]][:count]
        return [dataset.load_image(i) for i in picked], str(verify_data)
    from .synth import scene
    rng = np.random.default_rng(20261125)
    images = []
    for width, height in [(480, 360), (300, 620), (640, 256)][:count]:
        pixels, _ = scene(width, height, rng)
        images.append(torch.from_numpy(pixels.astype(np.float32) / 255).permute(2, 0, 1).contiguous())
    return images, "synthetic scenes (seed 20261125)"


def card_thresholds(layout: str, metrics: dict | None, graph_score_threshold: float, log=print) -> dict:
    """The score threshold that maximises F1 on the metrics' dataset (masks; boxes for the box-only layout), or
    0.5 without metrics; never below what the graph lets through."""
    suggested = ((metrics or {}).get("box" if layout == "boxes" else "mask") or {}).get("suggested_score") or {}
    score = suggested.get("score")
    if score is None:
        return dict(CARD_THRESHOLDS)
    if score < graph_score_threshold:
        log(f"warning: the F1-maximising threshold {score} is below the graph's cut {graph_score_threshold}; "
            "the card uses the cut (evaluate with --min-threshold set to the cut to search above it)")
        score = graph_score_threshold
    return {"score": score, "mask": CARD_THRESHOLDS["mask"]}


def write_release_checkpoint(state: dict, source: Path, destination: Path) -> dict:
    """The weights beside the ONNX files (NAME.pt), named with their sha256 in every card, so a new version can be
    fine-tuned from this one; the source itself when it already lies there."""
    if source.resolve() != destination.resolve():
        save_checkpoint(destination, **{k: state[k] for k in RELEASE_KEYS if k in state})
    data = destination.read_bytes()
    described = {"file": destination.name, "sha256": hashlib.sha256(data).hexdigest(), "size_bytes": len(data)}
    if state.get("recovered_from"):
        described["recovered_from"] = state["recovered_from"]
    return described


def card(layout: str, name: str, classes: Classes, state: dict, arch_sizes: tuple[int, int],
         verification: dict, metrics: dict | None, sha256: str, size_bytes: int,
         graph_score_threshold: float = GRAPH_SCORE_THRESHOLD, thresholds: dict | None = None,
         checkpoint: dict | None = None) -> dict:
    min_size, max_size = arch_sizes
    outputs = {
        "boxes": {"name": "boxes", "dtype": "float32", "shape": ["N", 4],
                  "description": "x1, y1, x2, y2 in input pixels"},
        "labels": {"name": "labels", "dtype": "int64", "shape": ["N"], "description": "index into labels"},
        "scores": {"name": "scores", "dtype": "float32", "shape": ["N"], "description": "0..1, sorted descending"},
    }
    if layout == "maskrcnn":
        outputs["masks"] = {"name": "masks", "dtype": "float32", "shape": ["N", 1, "H", "W"],
                            "description": "per-pixel probability over the whole input image"}
        image_input = {"name": "image", "dtype": "float32", "shape": [3, "H", "W"], "layout": "CHW", "color": "RGB",
                       "range": [0, 1], "resize": "in-graph", "min_size": min_size, "max_size": max_size}
    elif layout == "boxes":
        image_input = {"name": "image", "dtype": "float32", "shape": [3, "H", "W"], "layout": "CHW", "color": "RGB",
                       "range": [0, 1], "resize": "in-graph", "min_size": min_size, "max_size": max_size}
    else:
        outputs["masks"] = {"name": "masks", "dtype": "float32", "shape": ["N", 1, 28, 28],
                            "description": "per-box probability, to be resized into the box by the caller"}
        image_input = {"name": "image", "dtype": "float32", "shape": [3, "H", "W"], "layout": "CHW", "color": "BGR",
                       "range": [0, 255], "mean": ZOO_BGR_MEANS, "resize": "caller", "min_size": min_size,
                       "max_size": max_size, "pad_multiple": ZOO_PAD_MULTIPLE,
                       "description": "resize so the short side is min_size without the long side passing "
                                      "max_size, subtract mean per channel, zero-pad bottom/right to pad_multiple; "
                                      "outputs are in that resized image's pixels"}
    return {
        "format": LAYOUTS[layout]["format"],
        "name": name + LAYOUTS[layout]["suffix"],
        "labels": classes.labels,
        "input": image_input,
        "outputs": outputs,
        "thresholds": thresholds or dict(CARD_THRESHOLDS),
        "graph_score_threshold": graph_score_threshold,
        "opset": OPSET,
        "checkpoint": checkpoint,
        "training": {
            "architecture": state["architecture"].get("name", "loupe-small"),
            "pretrained": state["architecture"].get("pretrained"),
            "data": state.get("data"),
            "iterations": state.get("iteration"),
            "batch_size": state.get("batch_size"),
            "processes": state.get("world_size", 1),
            "images_seen": state.get("images_seen"),
            "input_size": {k: state["architecture"][k] for k in ("min_size", "max_size")},
            "seconds": round(state.get("training_seconds", 0.0)),
            # a fine-tuned run also counts the training of the checkpoint it started from
            "total_seconds": round(state.get("training_seconds", 0.0) + state.get("prior_training_seconds", 0.0)),
            "initialised_from": state.get("initialised_from"),
            "scales": state.get("scales"),
            "machine": state.get("machine"),
            "framework": f"torch {state.get('torch', torch.__version__)}, torchvision {torchvision.__version__}",
        },
        "metrics": metrics,
        "verification": verification,
        "size_bytes": size_bytes,
        "sha256": sha256,
    }


def export_all(checkpoint: str, out_dir: str, name: str, layouts=("maskrcnn", "boxes", "zoo"),
               verify_data: str | None = None, verify_images: int = 3, metrics: dict | None = None,
               min_size: int | None = None, max_size: int | None = None,
               graph_score_threshold: float = GRAPH_SCORE_THRESHOLD, device: str = "cpu", log=print) -> list[Path]:
    """Exports each layout to out_dir/<name><suffix>.onnx + .json, and the weights to out_dir/<name>.pt; raises
    ExportError if a check fails. With metrics (from evaluate), each card's score threshold is the F1-maximising
    one. device: where PyTorch runs while tracing and computing the outputs the ONNX graphs must match."""
    state = load_checkpoint(checkpoint)
    classes = Classes.from_dict(state["classes"])
    torch_device = resolve_device(device)
    if torch_device.type == "cuda":
        # TF32 would round convolutions differently from onnxruntime's float32 on the CPU
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    model = model_from_checkpoint(state, min_size, max_size).eval().to(torch_device)
    if not 0 <= graph_score_threshold < 1:
        raise ExportError(f"graph score threshold {graph_score_threshold} is outside 0..1")
    model.roi_heads.score_thresh = graph_score_threshold
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    images, source = verification_images(verify_data, verify_images)
    release = write_release_checkpoint(state, Path(checkpoint), out / f"{name}.pt")
    written = []
    for layout in layouts:
        module = layout_module(layout, model).eval().to(torch_device)
        onnx_path = out / f"{name}{LAYOUTS[layout]['suffix']}.onnx"
        inputs = [layout_input(layout, im) for im in images]
        with torch.no_grad():
            export_onnx(module, layout, inputs[0].to(torch_device), onnx_path)
            expected = [tuple(t.cpu() for t in module(x.to(torch_device))) for x in inputs]
        actual = run_onnx_in_node(onnx_path, inputs)
        checks = [compare(layout, e, a, model.roi_heads.detections_per_img) for e, a in zip(expected, actual)]
        verification = {
            "runtime": "onnxruntime-node", "images": len(images), "source": source,
            "detections_compared": sum(c["detections"] for c in checks),
            "excused_ties": sum(c["excused_ties"] for c in checks),
            "max_box_diff_px": max(c["max_box_diff_px"] for c in checks),
            "min_mask_iou": min(c["min_mask_iou"] for c in checks) if layout != "boxes" else None,
            "passed": True,
        }
        data = onnx_path.read_bytes()
        description = card(layout, name, classes, state, model.input_size,
                           verification, metrics, hashlib.sha256(data).hexdigest(), len(data),
                           graph_score_threshold, card_thresholds(layout, metrics, graph_score_threshold, log),
                           release)
        card_path = onnx_path.with_suffix(".json")
        card_path.write_text(json.dumps(description, indent=2) + "\n")
        log(f"{onnx_path} ({len(data) / 1e6:.1f} MB): verified on {len(images)} images, "
            f"{verification['detections_compared']} detections, max box diff {verification['max_box_diff_px']} px, "
            f"min mask IoU {verification['min_mask_iou']}")
        written += [onnx_path, card_path]
    return written
