"""Reading a COCO instance-segmentation dataset directory (annotations.json beside its image files), checked up front
so bad input fails with a message naming the file and the reason."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from pycocotools import mask as mask_utils


class DatasetError(Exception):
    """A dataset directory that cannot be used, with the reason."""


@dataclass(frozen=True)
class Classes:
    """Label index i + 1 (0 is background) <-> the dataset's category ids, in ascending id order."""
    names: list[str]
    category_ids: list[int]

    @property
    def labels(self) -> list[str]:
        return ["__background__", *self.names]

    def to_dict(self) -> dict:
        return {"names": self.names, "category_ids": self.category_ids}

    @classmethod
    def from_dict(cls, values: dict) -> "Classes":
        return cls(list(values["names"]), list(values["category_ids"]))


class CocoDataset(torch.utils.data.Dataset):
    """Images as float RGB 0..1 CHW tensors with torchvision detection targets (boxes xyxy, labels, masks)."""

    def __init__(self, root: str | Path, require_instances: bool = True, augment: bool = False):
        self.root = Path(root)
        self.annotation_file = self.root / "annotations.json"
        if not self.root.is_dir():
            raise DatasetError(f"{self.root}: dataset directory does not exist")
        if not self.annotation_file.is_file():
            raise DatasetError(f"{self.annotation_file}: missing; a dataset directory holds annotations.json "
                               "(COCO instance segmentation) beside its images")
        try:
            coco = json.loads(self.annotation_file.read_text())
        except json.JSONDecodeError as error:
            raise DatasetError(f"{self.annotation_file}: not valid JSON ({error})") from error
        for key in ("images", "annotations", "categories"):
            if not isinstance(coco.get(key), list):
                raise DatasetError(f"{self.annotation_file}: no '{key}' list; not a COCO instances file")
        if not coco["categories"]:
            raise DatasetError(f"{self.annotation_file}: 'categories' is empty")

        self.images = sorted(coco["images"], key=lambda im: im["id"])
        missing = [im["file_name"] for im in self.images if not (self.root / im["file_name"]).is_file()]
        if missing:
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            raise DatasetError(f"{self.annotation_file}: {len(missing)} image file(s) named in 'images' do not exist "
                               f"under {self.root}: {shown}")

        categories = sorted(coco["categories"], key=lambda c: c["id"])
        self.classes = Classes([c["name"] for c in categories], [c["id"] for c in categories])
        label_of = {cid: i + 1 for i, cid in enumerate(self.classes.category_ids)}
        image_ids = {im["id"] for im in self.images}
        self.annotations_by_image: dict[int, list[dict]] = {im["id"]: [] for im in self.images}
        for ann in coco["annotations"]:
            if ann["image_id"] not in image_ids:
                raise DatasetError(f"{self.annotation_file}: annotation {ann.get('id')} names image_id "
                                   f"{ann['image_id']}, which is not in 'images'")
            if ann["category_id"] not in label_of:
                raise DatasetError(f"{self.annotation_file}: annotation {ann.get('id')} names category_id "
                                   f"{ann['category_id']}, which is not in 'categories'")
            self.annotations_by_image[ann["image_id"]].append(ann)

        counts = {cid: 0 for cid in self.classes.category_ids}
        for ann in coco["annotations"]:
            if not ann.get("iscrowd", 0):
                counts[ann["category_id"]] += 1
        self.instance_counts = {name: counts[cid] for name, cid in zip(self.classes.names, self.classes.category_ids)}
        empty = [name for name, n in self.instance_counts.items() if n == 0]
        if empty and require_instances:
            raise DatasetError(f"{self.annotation_file}: categor{'y' if len(empty) == 1 else 'ies'} "
                               f"{', '.join(repr(n) for n in empty)} ha{'s' if len(empty) == 1 else 've'} no "
                               "instances; a model cannot learn a class it never sees (remove the category or "
                               "annotate some)")
        self.label_of = label_of
        self.augment = augment

    def __len__(self) -> int:
        return len(self.images)

    def summary(self) -> dict:
        return {"directory": str(self.root), "images": len(self.images),
                "instances": sum(self.instance_counts.values()), "instances_per_class": self.instance_counts}

    def load_image(self, index: int) -> torch.Tensor:
        info = self.images[index]
        path = self.root / info["file_name"]
        try:
            with Image.open(path) as im:
                pixels = np.asarray(im.convert("RGB"), dtype=np.float32) / 255
        except OSError as error:
            raise DatasetError(f"{path}: cannot be read as an image ({error})") from error
        if pixels.shape[:2] != (info["height"], info["width"]):
            raise DatasetError(f"{path}: is {pixels.shape[1]}x{pixels.shape[0]} but annotations.json says "
                               f"{info['width']}x{info['height']}")
        return torch.from_numpy(pixels).permute(2, 0, 1).contiguous()

    def __getitem__(self, index: int):
        info = self.images[index]
        image = self.load_image(index)
        height, width = info["height"], info["width"]
        boxes, labels, masks = [], [], []
        for ann in self.annotations_by_image[info["id"]]:
            if ann.get("iscrowd", 0):
                continue
            mask = decode_segmentation(ann["segmentation"], height, width)
            x, y, w, h = ann["bbox"]
            if w < 1 or h < 1 or not mask.any():
                continue
            boxes.append([x, y, x + w, y + h])
            labels.append(self.label_of[ann["category_id"]])
            masks.append(mask)
        target = {
            "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
            "labels": torch.tensor(labels, dtype=torch.int64),
            "masks": torch.from_numpy(np.stack(masks)) if masks else torch.zeros((0, height, width), dtype=torch.uint8),
            "image_id": info["id"],
        }
        if self.augment and random.random() < 0.5:
            image = image.flip(-1)
            target["masks"] = target["masks"].flip(-1)
            b = target["boxes"].clone()
            target["boxes"][:, 0], target["boxes"][:, 2] = width - b[:, 2], width - b[:, 0]
        return image, target


def decode_segmentation(segmentation, height: int, width: int) -> np.ndarray:
    """uint8 HxW mask from a COCO segmentation: polygons, uncompressed or compressed RLE."""
    if isinstance(segmentation, list):
        rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
    elif isinstance(segmentation.get("counts"), list):
        rle = mask_utils.frPyObjects(segmentation, height, width)
    else:
        rle = segmentation
    return mask_utils.decode(rle).astype(np.uint8)


def collate(batch):
    return tuple(zip(*batch))
