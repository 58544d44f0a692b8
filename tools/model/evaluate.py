"""COCO box and mask metrics of a checkpoint on any COCO dataset directory (metrics.py: pycocotools' COCOeval,
plus precision, recall and F1 at a threshold and the F1-maximising threshold)."""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from .dataset import Classes, CocoDataset, DatasetError
from .devices import resolve_device
from .metrics import coco_metrics, rounded
from .train import CheckpointError, load_checkpoint, model_from_checkpoint

SCORE_THRESHOLD = 0.05  # COCO practice: score everything the model reports down to a low cut
MASK_THRESHOLD = 0.5


def predict(model: torch.nn.Module, dataset: CocoDataset, category_of_label: dict[int, int],
            limit: int | None = None, device: torch.device = torch.device("cpu"), log=print) -> list[dict]:
    """COCO result entries (bbox xywh and RLE segmentation) for the first `limit` images; labels the dataset does
    not have (category_of_label) are dropped."""
    results = []
    count = len(dataset) if limit is None else min(limit, len(dataset))
    started = time.monotonic()
    with torch.no_grad():
        for index in range(count):
            info = dataset.images[index]
            detections = {k: v.cpu() for k, v in model([dataset.load_image(index).to(device)])[0].items()}
            masks = (detections["masks"][:, 0] > MASK_THRESHOLD).numpy().astype(np.uint8)
            for box, label, score, mask in zip(detections["boxes"].tolist(), detections["labels"].tolist(),
                                               detections["scores"].tolist(), masks):
                if label not in category_of_label:
                    continue
                rle = mask_utils.encode(np.asfortranarray(mask))
                x1, y1, x2, y2 = box
                results.append({
                    "image_id": info["id"],
                    "category_id": category_of_label[label],
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "score": score,
                    "segmentation": {"size": rle["size"], "counts": rle["counts"].decode("ascii")},
                })
            if sys.stderr.isatty():
                sys.stderr.write(f"\rpredicting {index + 1}/{count}")
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    log(f"predicted {count} images in {time.monotonic() - started:.0f} s ({len(results)} detections)")
    return results


def match_classes(checkpoint: str, model_classes: Classes, dataset: CocoDataset, log) -> dict[int, int]:
    """Model label -> dataset category id, by class name. Classes only one side has are named; they are not
    scored (a model trained with some classes left out is still scored on the others)."""
    category_of_name = dict(zip(dataset.categories.names, dataset.categories.category_ids))
    mapping = {i + 1: category_of_name[n] for i, n in enumerate(model_classes.names) if n in category_of_name}
    if not mapping:
        raise CheckpointError(f"{checkpoint}: trained for classes {model_classes.names}, but "
                              f"{dataset.annotation_file} has {dataset.categories.names}: no class in common")
    only_model = [n for n in model_classes.names if n not in category_of_name]
    only_data = [n for n in dataset.categories.names if n not in model_classes.names]
    if only_model:
        log(f"warning: {dataset.annotation_file} has no category {', '.join(only_model)}; the model's "
            "predictions of it are not scored")
    if only_data:
        log(f"warning: the model does not know {', '.join(only_data)}; not scored")
    return mapping


def evaluate(checkpoint: str, data: str, limit: int | None = None, min_size: int | None = None,
             max_size: int | None = None, device: str = "cpu", threshold: float = 0.5,
             min_threshold: float = SCORE_THRESHOLD, predictions_out: str | None = None, log=print) -> dict:
    state = load_checkpoint(checkpoint)
    dataset = CocoDataset(data, annotated_classes_only=False)
    if len(dataset) == 0:
        raise DatasetError(f"{dataset.annotation_file}: 'images' is empty; nothing to score")
    model_classes = Classes.from_dict(state["classes"])
    category_of_label = match_classes(checkpoint, model_classes, dataset, log)
    scored = [c for c in category_of_label.values()]
    empty = [name for name, n in dataset.instance_counts.items() if n == 0 and name in model_classes.names]
    if empty:
        log(f"warning: {dataset.annotation_file}: no instances of {', '.join(empty)}; their AP is reported as null "
            "and the overall AP averages the other classes")
    torch_device = resolve_device(device)
    model = model_from_checkpoint(state, min_size, max_size).eval().to(torch_device)
    model.roi_heads.score_thresh = SCORE_THRESHOLD
    results = predict(model, dataset, category_of_label, limit, torch_device, log)
    if predictions_out:
        Path(predictions_out).write_text(json.dumps(results))
    count = len(dataset) if limit is None else min(limit, len(dataset))
    image_ids = [im["id"] for im in dataset.images[:count]]
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(str(dataset.annotation_file))
    metrics = {
        "dataset": {**dataset.summary(), "images_scored": count},
        "score_threshold": SCORE_THRESHOLD,
        "mask_threshold": MASK_THRESHOLD,
        "box": rounded(coco_metrics(coco_gt, results, "bbox", image_ids, scored, threshold, min_threshold)),
        "mask": rounded(coco_metrics(coco_gt, results, "segm", image_ids, scored, threshold, min_threshold)),
        "checkpoint_iteration": state.get("iteration"),
        "input_size": {"min_size": model.input_size[0], "max_size": model.input_size[1]},
    }
    for kind in ("box", "mask"):
        m = metrics[kind]
        per_class = ", ".join(f"{name} {'-' if ap is None else f'{ap:.3f}'}" for name, ap in m["per_class"].items())
        log(f"{kind:4s} AP {show(m['AP'])}  AP50 {show(m['AP50'])}  AP75 {show(m['AP75'])}  | {per_class}")
        at, best = m["at_score"], m["suggested_score"]
        log(f"     at score {at['score']}: precision {show(at['precision'])} recall {show(at['recall'])} "
            f"F1 {show(at['f1'])}; F1 is highest at {best['score']}: precision {show(best['precision'])} "
            f"recall {show(best['recall'])} F1 {show(best['f1'])}")
    return metrics


def show(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def write_metrics(metrics: dict, out: str | None, cards: list[str]) -> None:
    if out:
        Path(out).write_text(json.dumps(metrics, indent=2) + "\n")
    for card_path in cards:
        card = json.loads(Path(card_path).read_text())
        card["metrics"] = metrics
        Path(card_path).write_text(json.dumps(card, indent=2) + "\n")
