"""Recovering a loupe-small training checkpoint from the ONNX graph it was exported to.

The shipped model's checkpoint was never kept, but its ONNX graph holds every weight: the exporter copied the FPN,
RPN and head parameters under their own names and folded each BatchNorm into the convolution before it (weight
W' = W * gamma / sqrt(var + eps), bias b' = beta - mean * gamma / sqrt(var + eps)). The folded pair cannot be
split back into W and BatchNorm, but a BatchNorm that reproduces y = W'x + b' exactly can be chosen:

- in evaluation BatchNorm computes (x - mean) * gamma / sqrt(var + eps) + beta. With gamma = g, var = g^2 - eps
  (nudged so that var + eps rounds to exactly g^2 in float32) and g carrying at most 12 significant bits (so g^2
  and its square root are exact), gamma / sqrt(var + eps) is exactly 1; with beta - mean exactly b', the layer is
  exactly W'x + b'. Re-exporting folds it back to the very same W' and b', bit for bit;
- in training BatchNorm normalises with each batch's statistics instead, (x - batch mean) / batch std * gamma +
  beta. An identity BatchNorm (gamma 1, var 1 - eps) would rescale every channel to unit variance there and wreck
  the network at the first fine-tuning step. So g is the channel's standard deviation and mean its mean, measured
  over calibration images (as the running statistics of training measured them), and beta = mean + b': training
  mode then computes about what evaluation computes.

A channel whose mean cannot be carried exactly (b' too small beside it to survive beta - mean in float32) keeps
mean 0 and beta = b' (exact in evaluation; training-mode offset of that channel then rests on the batch).

The proof, in `recover`: every layout re-exported from the recovered weights is byte-identical to the shipped file,
and `compare_with_onnx` runs the checkpoint in PyTorch against the shipped graph in onnxruntime-node."""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

from .dataset import CocoDataset
from .export import LAYOUTS, export_onnx, layout_input, layout_module, run_onnx_in_node
from .net import Architecture, build_model
from .train import save_checkpoint

EPS = np.float32(1e-5)  # BatchNorm2d's eps, the one the exporter folded with
SIGNIFICANT_BITS = 12


class RecoveryError(Exception):
    """An ONNX graph whose weights do not fit the network of net.py."""


def module_path(node_name: str) -> str:
    """'/model/backbone/body/stage1/stage1.1/body/body.0/Conv' -> 'backbone.body.stage1.1.body.0': the exporter
    names each scope by its module's qualified name within its parent."""
    parts = node_name.strip("/").split("/")[1:-1]
    path, previous = [], None
    for part in parts:
        path.append(part[len(previous) + 1:] if previous and part.startswith(previous + ".") else part)
        previous = part
    return ".".join(path)


def folded_weights(graph: onnx.GraphProto, model: nn.Module) -> dict[str, np.ndarray]:
    """State-dict entries from the graph: named initializers as they are; each folded Conv as the weight of its
    convolution and the bias b' of the BatchNorm after it (keyed 'NAME.folded_bias')."""
    initializers = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    modules = dict(model.named_modules())
    found: dict[str, np.ndarray] = {}
    for name, value in initializers.items():
        if name.startswith("model."):
            found[name[len("model."):]] = value
    for node in graph.node:
        if node.op_type != "Conv" or node.input[1].startswith("model."):
            continue
        conv = module_path(node.name)
        parent, index = conv.rsplit(".", 1)
        bn = f"{parent}.{int(index) + 1}"
        if not isinstance(modules.get(conv), nn.Conv2d) or not isinstance(modules.get(bn), nn.BatchNorm2d):
            raise RecoveryError(f"{node.name}: no convolution followed by BatchNorm at {conv} in net.py's network")
        found[f"{conv}.weight"] = initializers[node.input[1]]
        found[f"{bn}.folded_bias"] = initializers[node.input[2]]
    return found


def channel_statistics(model: nn.Module, images: list[torch.Tensor]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per BatchNorm: mean and variance of its input per channel over the images, at the network's input size."""
    sums: dict[str, list] = {}
    hooks = []
    for name, module in model.named_modules():
        if isinstance(module, nn.BatchNorm2d):
            def hook(_module, inputs, _output, name=name):
                x = inputs[0].double()
                s = sums.setdefault(name, [0.0, 0.0, 0])
                s[0] = s[0] + x.sum((0, 2, 3))
                s[1] = s[1] + (x * x).sum((0, 2, 3))
                s[2] += x.numel() // x.shape[1]
            hooks.append(module.register_forward_hook(hook))
    model.eval()
    with torch.no_grad():
        for image in images:
            batch, _ = model.transform([image])
            model.backbone.body(batch.tensors)
    for h in hooks:
        h.remove()
    stats = {}
    for name, (total, squares, count) in sums.items():
        mean = (total / count).numpy()
        stats[name] = (mean, np.maximum((squares / count).numpy() - mean ** 2, 0.0))
    return stats


def exact_batchnorm(folded_bias: np.ndarray, mean: np.ndarray, var: np.ndarray) -> tuple[dict, int]:
    """BatchNorm parameters that compute exactly x + folded_bias in evaluation (see the module's docstring) and
    about the trained network's normalisation in training; also the number of channels whose mean fell back to 0."""
    f32 = np.float32
    gamma, running_var, beta, running_mean = [], [], [], []
    fallbacks = 0
    for b, m, v in zip(folded_bias.astype(f32), mean, var):
        std = float(np.sqrt(v + float(EPS)))
        step = 2.0 ** (np.floor(np.log2(std)) - (SIGNIFICANT_BITS - 1))
        g = f32(np.round(std / step) * step)
        square = f32(g * g)
        rv = f32(square - EPS)
        for _ in range(64):  # a few ulps either way find a var whose var + eps rounds to g^2
            total = f32(rv + EPS)
            if total == square:
                break
            rv = np.nextafter(rv, f32(np.inf) if total < square else f32(-np.inf), dtype=f32)
        if f32(rv + EPS) != square or f32(g / np.sqrt(f32(rv + EPS))) != f32(1):
            raise RecoveryError(f"no exact BatchNorm scale for a channel of standard deviation {std}")
        be = f32(f32(m) + b)
        mu = f32(be - b)
        exact = [c for c in (mu, np.nextafter(mu, f32(np.inf), dtype=f32), np.nextafter(mu, f32(-np.inf), dtype=f32))
                 if f32(be - c) == b]
        if exact:
            mu = exact[0]
        else:
            fallbacks += 1
            be, mu = b, f32(0)
        gamma.append(g)
        running_var.append(rv)
        beta.append(be)
        running_mean.append(mu)
    as_tensor = lambda values: torch.from_numpy(np.array(values, dtype=f32))  # noqa: E731
    return ({"weight": as_tensor(gamma), "bias": as_tensor(beta), "running_mean": as_tensor(running_mean),
             "running_var": as_tensor(running_var), "num_batches_tracked": torch.tensor(0)}, fallbacks)


def recovered_state_dict(onnx_path: Path, labels: list[str], arch: Architecture,
                         calibration: list[torch.Tensor]) -> tuple[dict, dict]:
    graph = onnx.load(str(onnx_path)).graph
    model = build_model(len(labels), arch)
    own = model.state_dict()
    found = folded_weights(graph, model)
    # First an identity BatchNorm (exact in evaluation), to measure the channel statistics the network produces.
    state: dict[str, torch.Tensor] = {}
    batchnorms = [n for n, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)]
    for key, value in found.items():
        if not key.endswith(".folded_bias"):
            state[key] = torch.from_numpy(value.copy())
    for bn in batchnorms:
        b = found.get(f"{bn}.folded_bias")
        if b is None:
            raise RecoveryError(f"{onnx_path}: no folded convolution for {bn}")
        c = len(b)
        state.update({f"{bn}.weight": torch.ones(c), f"{bn}.bias": torch.from_numpy(b.copy()),
                      f"{bn}.running_mean": torch.zeros(c), f"{bn}.running_var": torch.full((c,), 1 - float(EPS)),
                      f"{bn}.num_batches_tracked": torch.tensor(0)})
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in own if k in state and own[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        raise RecoveryError(f"{onnx_path}: does not fit net.py's network for {len(labels) - 1} classes "
                            f"(missing {missing[:5]}, unexpected {unexpected[:5]}, other shapes {wrong[:5]})")
    model.load_state_dict(state)
    stats = channel_statistics(model, calibration)
    fallbacks, channels = 0, 0
    for bn in batchnorms:
        mean, var = stats[bn]
        params, fell_back = exact_batchnorm(found[f"{bn}.folded_bias"], mean, var)
        fallbacks += fell_back
        channels += len(mean)
        state.update({f"{bn}.{k}": v for k, v in params.items()})
    return state, {"batchnorm_layers": len(batchnorms), "channels": channels, "mean_fallback_channels": fallbacks}


def recover(onnx_path: str, card_path: str, calibration_data: str, out: str, calibration_images: int = 64,
            parity_data: str | None = None, parity_images: int = 0, log=print) -> dict:
    """Writes the checkpoint to `out` and returns what the recovery did and proved: the re-export of every layout
    whose file lies beside the card must be byte-identical to it, and with parity_data the checkpoint in PyTorch
    must agree with the graph in onnxruntime-node on its first parity_images images (compare_with_onnx)."""
    onnx_file, card_file = Path(onnx_path), Path(card_path)
    card = json.loads(card_file.read_text())
    if card.get("format") != "torchvision-maskrcnn":
        raise RecoveryError(f"{card_file}: format {card.get('format')!r}; recovery reads the torchvision-maskrcnn "
                            "layout, which holds every weight")
    arch = Architecture(min_size=card["input"]["min_size"], max_size=card["input"]["max_size"])
    dataset = CocoDataset(calibration_data, annotated_classes_only=False)
    calibration = [dataset.load_image(i) for i in range(min(calibration_images, len(dataset)))]
    state, batchnorm = recovered_state_dict(onnx_file, card["labels"], arch, calibration)
    log(f"recovered {len(state)} tensors; {batchnorm['batchnorm_layers']} BatchNorm layers calibrated on "
        f"{len(calibration)} images of {calibration_data} ({batchnorm['mean_fallback_channels']} of "
        f"{batchnorm['channels']} channels keep mean 0)")

    model = build_model(len(card["labels"]), arch)
    model.load_state_dict(state)
    model.eval()
    model.roi_heads.score_thresh = card.get("graph_score_threshold", 0.05)
    identical = {}
    with tempfile.TemporaryDirectory() as tmp:
        stem = card_file.stem
        for layout, spec in LAYOUTS.items():
            shipped = card_file.with_name(stem + spec["suffix"] + ".onnx")
            if not shipped.is_file():
                continue
            again = Path(tmp) / shipped.name
            with torch.no_grad():
                export_onnx(layout_module(layout, model).eval(), layout, layout_input(layout, calibration[0]), again)
            identical[shipped.name] = again.read_bytes() == shipped.read_bytes()
            log(f"re-exported {shipped.name}: {'byte-identical' if identical[shipped.name] else 'DIFFERENT'}")
    if not all(identical.values()):
        raise RecoveryError(f"re-exporting the recovered weights does not reproduce {identical}")
    parity = None
    if parity_data:
        held_out = CocoDataset(parity_data, annotated_classes_only=False)
        images = [held_out.load_image(i) for i in range(min(parity_images, len(held_out)))]
        parity = {"data": str(parity_data), **compare_with_onnx(model, onnx_file, images)}
        log(f"PyTorch vs onnxruntime-node on {parity['images']} images of {parity_data}: {parity['detections']} "
            f"detections, max box diff {parity['max_box_diff_px']:.2e} px, max mask probability diff "
            f"{parity['max_mask_probability_diff']:.2e}, min mask IoU {parity['min_mask_iou']:.5f} "
            f"({parity['min_mask_iou_all_pixels']:.5f} over all pixels)")

    training = card.get("training") or {}
    onnx_bytes = onnx_file.read_bytes()
    framework = str(training.get("framework", ""))
    checkpoint = {
        "model": state,
        "classes": {"names": card["labels"][1:], "category_ids": list(range(1, len(card["labels"])))},
        "architecture": arch.to_dict(),
        "iteration": training.get("iterations"),
        "training_seconds": float(training.get("seconds", 0)),
        "prior_training_seconds": float(training.get("total_seconds", 0) - training.get("seconds", 0)),
        "images_seen": training.get("images_seen"),
        "batch_size": training.get("batch_size"),
        "data": training.get("data"),
        "machine": training.get("machine"),
        "torch": framework.split(",")[0].replace("torch ", "") if framework.startswith("torch ") else None,
        "initialised_from": training.get("initialised_from"),
        "scales": training.get("scales"),
        "recovered_from": {"onnx": onnx_file.name, "sha256": hashlib.sha256(onnx_bytes).hexdigest(),
                           "calibration": {"data": str(calibration_data), "images": len(calibration)},
                           "re_export_identical": identical, "parity": parity, **batchnorm},
    }
    save_checkpoint(Path(out), **checkpoint)
    log(f"wrote {out} ({Path(out).stat().st_size / 1e6:.1f} MB)")
    return checkpoint["recovered_from"]


def compare_with_onnx(model: nn.Module, onnx_path: Path, images: list[torch.Tensor], box_tolerance: float = 1e-3,
                      mask_tolerance: float = 1e-3, min_mask_iou: float = 0.999) -> dict:
    """Runs `model` (torchvision-maskrcnn layout) in PyTorch and `onnx_path` in onnxruntime-node on the images and
    demands the same detections: the same count and labels, boxes within box_tolerance px, every mask probability
    within mask_tolerance, and masks (> 0.5) at IoU >= min_mask_iou over the pixels whose probability is not within
    mask_tolerance of the 0.5 cut (float rounding decides those either way: one such pixel of a 300-pixel mask is
    IoU 0.997). The IoU over all pixels is reported too. Detections are paired by box, since near-equal scores may
    sort differently. Raises RecoveryError on any difference."""
    module = layout_module("maskrcnn", model).eval()
    with torch.no_grad():
        expected = [module(image) for image in images]
    actual = run_onnx_in_node(onnx_path, images)
    max_box, max_probability, max_score = 0.0, 0.0, 0.0
    min_iou, min_raw_iou, detections = 1.0, 1.0, 0
    for n, (ref, got) in enumerate(zip(expected, actual)):
        boxes, labels, scores, masks = (t.numpy() for t in ref)
        if len(boxes) != len(got["boxes"]):
            raise RecoveryError(f"image {n}: PyTorch found {len(boxes)} detections, onnxruntime {len(got['boxes'])}")
        for i in range(len(boxes)):
            diffs = np.abs(got["boxes"] - boxes[i]).max(1)
            j = int(diffs.argmin())
            if diffs[j] > box_tolerance or got["labels"][j] != labels[i]:
                raise RecoveryError(f"image {n}: detection {i} (label {labels[i]}, box {boxes[i].tolist()}) has no "
                                    f"onnxruntime twin within {box_tolerance} px (closest {diffs[j]:.2e})")
            p, q = masks[i, 0], got["masks"][j, 0]
            probability = float(np.abs(p - q).max())
            if probability > mask_tolerance:
                raise RecoveryError(f"image {n}: detection {i}'s mask probabilities differ by {probability:.2e}")
            decided = np.abs(p - 0.5) > mask_tolerance
            iou, raw = mask_iou(p > 0.5, q > 0.5, decided), mask_iou(p > 0.5, q > 0.5, None)
            if iou < min_mask_iou:
                raise RecoveryError(f"image {n}: detection {i}'s mask IoU is {iou:.5f} (limit {min_mask_iou})")
            max_box, max_probability = max(max_box, float(diffs[j])), max(max_probability, probability)
            min_iou, min_raw_iou = min(min_iou, iou), min(min_raw_iou, raw)
            max_score = max(max_score, float(abs(got["scores"][j] - scores[i])))
            detections += 1
    return {"images": len(images), "detections": detections, "max_box_diff_px": max_box,
            "max_score_diff": max_score, "max_mask_probability_diff": max_probability, "min_mask_iou": min_iou,
            "min_mask_iou_all_pixels": min_raw_iou}


def mask_iou(a: np.ndarray, b: np.ndarray, where: np.ndarray | None) -> float:
    if where is not None:
        a, b = a & where, b & where
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0
