"""COCO box and mask AP (pycocotools' COCOeval) of a checkpoint on any COCO dataset directory."""

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
from pycocotools.cocoeval import COCOeval

from .dataset import Classes, CocoDataset
from .train import check_classes, load_checkpoint, model_from_checkpoint

SCORE_THRESHOLD = 0.05  # COCO practice: score everything the model reports down to a low cut
MASK_THRESHOLD = 0.5


def predict(model: torch.nn.Module, dataset: CocoDataset, limit: int | None = None, log=print) -> list[dict]:
    """COCO result entries (bbox xywh and RLE segmentation) for the first `limit` images."""
    results = []
    count = len(dataset) if limit is None else min(limit, len(dataset))
    started = time.monotonic()
    with torch.no_grad():
        for index in range(count):
            info = dataset.images[index]
            detections = model([dataset.load_image(index)])[0]
            masks = (detections["masks"][:, 0] > MASK_THRESHOLD).numpy().astype(np.uint8)
            for box, label, score, mask in zip(detections["boxes"].tolist(), detections["labels"].tolist(),
                                               detections["scores"].tolist(), masks):
                rle = mask_utils.encode(np.asfortranarray(mask))
                x1, y1, x2, y2 = box
                results.append({
                    "image_id": info["id"],
                    "category_id": dataset.classes.category_ids[label - 1],
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


def summarize(coco_gt: COCO, results: list[dict], iou_type: str, classes: Classes, image_ids: list[int]) -> dict:
    """AP, AP50, AP75 and per-class AP; a class without ground truth in these images gets None."""
    if not results:
        return {"AP": 0.0, "AP50": 0.0, "AP75": 0.0, "per_class": {name: 0.0 for name in classes.names}}
    with contextlib.redirect_stdout(io.StringIO()):
        coco_dt = coco_gt.loadRes(results)
        evaluator = COCOeval(coco_gt, coco_dt, iou_type)
        evaluator.params.imgIds = image_ids
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    stats = evaluator.stats
    precision = evaluator.eval["precision"]  # [IoU thresholds, recall, categories, area ranges, max dets]
    per_class = {}
    for k, category_id in enumerate(evaluator.params.catIds):
        values = precision[:, :, k, 0, -1]
        values = values[values > -1]
        name = classes.names[classes.category_ids.index(category_id)]
        per_class[name] = round(float(values.mean()), 4) if values.size else None
    return {"AP": round(float(stats[0]), 4), "AP50": round(float(stats[1]), 4), "AP75": round(float(stats[2]), 4),
            "per_class": per_class}


def evaluate(checkpoint: str, data: str, limit: int | None = None, min_size: int | None = None,
             max_size: int | None = None, log=print) -> dict:
    state = load_checkpoint(checkpoint)
    dataset = CocoDataset(data, require_instances=False)
    check_classes(checkpoint, Classes.from_dict(state["classes"]), dataset)
    empty = [name for name, n in dataset.instance_counts.items() if n == 0]
    if empty:
        log(f"warning: {dataset.annotation_file}: no instances of {', '.join(empty)}; their AP is reported as null "
            "and the overall AP averages the other classes")
    model = model_from_checkpoint(state, min_size, max_size).eval()
    model.roi_heads.score_thresh = SCORE_THRESHOLD
    results = predict(model, dataset, limit, log)
    count = len(dataset) if limit is None else min(limit, len(dataset))
    image_ids = [im["id"] for im in dataset.images[:count]]
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(str(dataset.annotation_file))
    metrics = {
        "dataset": {**dataset.summary(), "images_scored": count},
        "score_threshold": SCORE_THRESHOLD,
        "mask_threshold": MASK_THRESHOLD,
        "box": summarize(coco_gt, results, "bbox", dataset.classes, image_ids),
        "mask": summarize(coco_gt, [{k: v for k, v in r.items() if k != "bbox"} for r in results], "segm",
                          dataset.classes, image_ids),
        "checkpoint_iteration": state.get("iteration"),
        "input_size": {"min_size": model.input_size[0], "max_size": model.input_size[1]},
    }
    for kind in ("box", "mask"):
        m = metrics[kind]
        per_class = ", ".join(f"{name} {'-' if ap is None else f'{ap:.3f}'}" for name, ap in m["per_class"].items())
        log(f"{kind:4s} AP {m['AP']:.3f}  AP50 {m['AP50']:.3f}  AP75 {m['AP75']:.3f}  | {per_class}")
    return metrics


def write_metrics(metrics: dict, out: str | None, cards: list[str]) -> None:
    if out:
        Path(out).write_text(json.dumps(metrics, indent=2) + "\n")
    for card_path in cards:
        card = json.loads(Path(card_path).read_text())
        card["metrics"] = metrics
        Path(card_path).write_text(json.dumps(card, indent=2) + "\n")
