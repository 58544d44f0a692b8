"""Loading weights trained for one class list into a network built for another: the class-sized rows of the box
and mask predictors are matched by class name, so a reordered list loads each class into its own row, a new class
starts fresh and a class the source knew but the target lacks is named."""

from __future__ import annotations

import torch
from torch import nn

# Parameters with one block of rows per label (background included), and the rows in each block.
CLASS_ROWS = {
    "roi_heads.box_predictor.cls_score.weight": 1,
    "roi_heads.box_predictor.cls_score.bias": 1,
    "roi_heads.box_predictor.bbox_pred.weight": 4,
    "roi_heads.box_predictor.bbox_pred.bias": 4,
    "roi_heads.mask_predictor.mask_fcn_logits.weight": 1,
    "roi_heads.mask_predictor.mask_fcn_logits.bias": 1,
}
# COCO's label list pads unused category ids with this name; it is no class.
PLACEHOLDER_LABEL = "N/A"


def load_matching(model: nn.Module, weights: dict[str, torch.Tensor], labels: list[str],
                  source_labels: list[str]) -> dict:
    """Loads `weights` (trained with `source_labels`, background first) into `model` (built for `labels`).

    Class-sized rows go to the row of the class with the same name; every other tensor loads when its name and
    shape match. Returns what was fresh: parameter names left at their initialisation, and the classes matched,
    new (no rows in the source) and missing (in the source only)."""
    own = model.state_dict()
    source_row = {name: i for i, name in reversed(list(enumerate(source_labels)))}  # first one wins
    usable: dict[str, torch.Tensor] = {}
    for key, value in weights.items():
        if key not in own:
            continue
        rows = CLASS_ROWS.get(key)
        if rows is not None and value.shape[0] == rows * len(source_labels) and value.shape[1:] == own[key].shape[1:]:
            merged = own[key].clone()
            for i, name in enumerate(labels):
                j = source_row.get(name)
                if j is not None:
                    merged[i * rows:(i + 1) * rows] = value[j * rows:(j + 1) * rows]
            usable[key] = merged
        elif own[key].shape == value.shape:
            usable[key] = value
    model.load_state_dict(usable, strict=False)
    known = set(source_labels) - {PLACEHOLDER_LABEL}
    return {
        "fresh": sorted(k for k in own if k not in usable and not k.endswith("num_batches_tracked")),
        "matched_classes": [n for n in labels[1:] if n in known],
        "new_classes": [n for n in labels[1:] if n not in known],
        "missing_classes": [n for n in source_labels[1:] if n not in set(labels) and n != PLACEHOLDER_LABEL],
    }
