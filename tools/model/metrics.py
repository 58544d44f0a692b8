"""COCO metrics from pycocotools' COCOeval, plus the figures a person picks a score threshold by.

- `stats`: COCOeval's twelve summary figures (AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl);
  `AP`, `AP50`, `AP75` repeat the first three, and `per_class` holds each class's AP (IoU 0.50:0.95, all areas,
  100 detections), null for a class without ground truth (figures COCOeval reports as -1 are null here too).
- `at_score` and `suggested_score`: precision, recall and F1 at a score threshold, per class and over all classes
  (counts summed), and the threshold that maximises F1 over all classes. They use COCOeval's own matching at IoU 0.50
  (area "all", at most 100 detections per image and class): a detection matched to a reviewed instance is a true
  positive, one matched to nothing a false positive, one matched to a crowd region neither; recall is over the
  instances that are not crowd regions. COCOeval matches greedily from the highest score down, so the matches of
  the detections above a threshold do not depend on those below it: one matching serves every threshold.
  precision = TP / (TP + FP), recall = TP / N, F1 = 2 TP / (TP + FP + N); each null where its denominator is 0.
  The suggested threshold is the best detection score rounded down to 3 decimals; its figures are taken there.

app/eval/cocoeval.ts computes the same figures in TypeScript; its test compares the two on the same inputs."""

from __future__ import annotations

import contextlib
import copy
import io
import math

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

STAT_NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")
MATCH_IOU = 0.5


def undefined_as_none(value: float) -> float | None:
    return None if value < 0 else float(value)


def coco_metrics(coco_gt: COCO, results: list[dict], iou_type: str, image_ids: list[int] | None = None,
                 category_ids: list[int] | None = None, threshold: float = 0.5, min_threshold: float = 0.0) -> dict:
    """Unrounded metrics of `results` (COCO result entries) against `coco_gt`. iou_type is "bbox" or "segm"; for
    segm the entries' boxes are dropped, so that pycocotools derives each detection's area from its mask.
    threshold: where `at_score` is taken; min_threshold: the lowest score `suggested_score` may pick (a graph that
    drops detections below some score cannot be run at a lower threshold)."""
    image_ids = sorted(coco_gt.getImgIds()) if image_ids is None else sorted(image_ids)
    category_ids = sorted(coco_gt.getCatIds()) if category_ids is None else sorted(category_ids)
    names = {cid: coco_gt.cats[cid]["name"] for cid in category_ids}
    if iou_type == "segm":
        results = [{k: v for k, v in r.items() if k != "bbox"} for r in results]
    with contextlib.redirect_stdout(io.StringIO()):
        coco_dt = coco_gt.loadRes(copy.deepcopy(results)) if results else no_results(coco_gt)
        evaluator = COCOeval(coco_gt, coco_dt, iou_type)
        evaluator.params.imgIds = image_ids
        evaluator.params.catIds = category_ids
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    precision = evaluator.eval["precision"]  # [IoU thresholds, recall thresholds, classes, area ranges, max dets]
    per_class = {}
    for k, cid in enumerate(evaluator.params.catIds):
        values = precision[:, :, k, 0, -1]
        values = values[values > -1]
        per_class[names[cid]] = float(values.mean()) if values.size else None
    stats = {name: undefined_as_none(v) for name, v in zip(STAT_NAMES, evaluator.stats)}
    matches = class_matches(evaluator, names)
    return {"AP": stats["AP"], "AP50": stats["AP50"], "AP75": stats["AP75"], "per_class": per_class,
            "stats": stats, "at_score": at_score(matches, threshold),
            "suggested_score": suggested_score(matches, min_threshold)}


def no_results(coco_gt: COCO) -> COCO:
    """An empty result set (pycocotools' loadRes cannot take an empty list): COCOeval then scores every class with
    ground truth 0, as it would any other miss."""
    empty = COCO()
    empty.dataset = {"images": list(coco_gt.dataset["images"]), "annotations": [],
                     "categories": copy.deepcopy(coco_gt.dataset["categories"])}
    empty.createIndex()
    return empty


def class_matches(evaluator: COCOeval, names: dict[int, str]) -> dict[str, tuple[np.ndarray, np.ndarray, int]]:
    """Per class: scores of the detections that count (not matched to a crowd region), whether each is matched
    at IoU 0.50, and the number of instances that count (not crowd regions); from COCOeval's per-image results."""
    p = evaluator.params
    t = int(np.flatnonzero(p.iouThrs == MATCH_IOU)[0])
    a = p.areaRngLbl.index("all")
    images, areas = len(p.imgIds), len(p.areaRng)
    matches = {}
    for k, cid in enumerate(p.catIds):
        scores, matched, instances = [], [], 0
        for i in range(images):
            e = evaluator.evalImgs[k * areas * images + a * images + i]
            if e is None:
                continue
            counted = ~e["dtIgnore"][t].astype(bool)
            scores.append(np.asarray(e["dtScores"], np.float64)[counted])
            matched.append(e["dtMatches"][t][counted] > 0)
            instances += int(np.count_nonzero(e["gtIgnore"] == 0))
        matches[names[cid]] = (np.concatenate(scores) if scores else np.zeros(0),
                               np.concatenate(matched) if matched else np.zeros(0, bool), instances)
    return matches


def figures(tp: int, fp: int, instances: int) -> dict:
    return {"precision": tp / (tp + fp) if tp + fp else None,
            "recall": tp / instances if instances else None,
            "f1": 2 * tp / (tp + fp + instances) if tp + fp + instances else None,
            "true_positives": tp, "false_positives": fp, "instances": instances}


def at_score(matches: dict, threshold: float) -> dict:
    per_class, tp_all, fp_all, n_all = {}, 0, 0, 0
    for name, (scores, matched, instances) in matches.items():
        kept = scores >= threshold
        tp, fp = int(np.count_nonzero(matched & kept)), int(np.count_nonzero(~matched & kept))
        per_class[name] = figures(tp, fp, instances)
        tp_all, fp_all, n_all = tp_all + tp, fp_all + fp, n_all + instances
    return {"score": threshold, "iou": MATCH_IOU, **figures(tp_all, fp_all, n_all), "per_class": per_class}


def best_threshold(scores: np.ndarray, matched: np.ndarray, instances: int, min_threshold: float):
    """(score, F1) of the threshold at or above min_threshold with the highest F1, the highest such score on a tie;
    candidates are the detections' own scores. None when no detection scores min_threshold or more."""
    order = np.argsort(-scores, kind="mergesort")
    scores, matched = scores[order], matched[order]
    best, tp, fp = None, 0, 0
    for i in range(len(scores)):
        tp, fp = tp + int(matched[i]), fp + int(not matched[i])
        if i + 1 < len(scores) and scores[i + 1] == scores[i]:
            continue  # a threshold keeps every detection of equal score
        if scores[i] < min_threshold:
            break
        f1 = 2 * tp / (tp + fp + instances)
        if best is None or f1 > best[1]:
            best = (float(scores[i]), f1)
    return best


def suggested_score(matches: dict, min_threshold: float) -> dict:
    """The F1-maximising threshold over all classes, rounded down to 3 decimals (a threshold a person can read and
    type; the figures are those at the rounded value), and each class's own best threshold (unrounded)."""
    everything = list(matches.values())
    scores = np.concatenate([s for s, _, _ in everything]) if everything else np.zeros(0)
    matched = np.concatenate([m for _, m, _ in everything]) if everything else np.zeros(0, bool)
    instances = sum(n for _, _, n in everything)
    best = best_threshold(scores, matched, instances, min_threshold)
    if best is None:
        return {"score": None, "iou": MATCH_IOU, "min_score": min_threshold, **figures(0, 0, instances),
                "per_class": {}}
    point = at_score(matches, max(min_threshold, math.floor(best[0] * 1000) / 1000))
    for name, (s, m, n) in matches.items():
        own = best_threshold(s, m, n, min_threshold)
        point["per_class"][name]["best_score"] = own[0] if own else None
        point["per_class"][name]["best_f1"] = own[1] if own else None
    return {**point, "min_score": min_threshold}


def rounded(value, digits: int = 4):
    """The metrics with every float rounded, for cards and logs."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v, digits) for v in value]
    return value
