"""Reading a COCO instance-segmentation dataset directory (annotations.json beside its image files), checked up front
so bad input fails with a message naming the file and the reason.

Images are read as Loupe shows them: EXIF orientation applied (Loupe stores each image's displayed size, and its
annotations are in those pixels), the first frame of a multi-frame file, alpha dropped. Any format Loupe scans is
read: jpg, png, webp, tif/tiff, bmp and gif."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from pycocotools import mask as mask_utils

# What each EXIF orientation needs to be shown upright, as libvips' autorotate (sharp's .rotate()) applies it.
ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


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


def exif_orientation(image: Image.Image) -> int:
    """The EXIF orientation tag (1 to 8; 1 when absent or out of range), read before the pixels are loaded. Pillow
    also takes an orientation from XMP when EXIF has none; libvips, which decodes for Loupe, does not, so neither
    does this."""
    if image.format == "TIFF":
        orientation = image.tag_v2.get(0x0112, 1)
    elif "exif" in image.info or "Raw profile type exif" in image.info:
        orientation = image.getexif().get(0x0112, 1)
    else:
        orientation = 1
    return orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else 1


def displayed_size(path: Path) -> tuple[int, int]:
    """(width, height) after EXIF orientation, from the file's header: the size Loupe records for the image."""
    with Image.open(path) as image:
        # Pillow reports a TIFF's size already turned in some versions and as stored in others: use the tags
        width, height = (image.tag_v2[256], image.tag_v2[257]) if image.format == "TIFF" else image.size
        return (height, width) if exif_orientation(image) >= 5 else (width, height)


def read_rgb(path: Path) -> np.ndarray:
    """uint8 HxWx3 RGB as shown: orientation applied, first frame, alpha dropped, 16-bit grey scaled to 8 bits."""
    with Image.open(path) as image:
        image.seek(0)
        # Pillow's TIFF loader turns the pixels by the orientation tag itself (Pillow 9 and later)
        method = None if image.format == "TIFF" else ORIENTATION_TRANSPOSE.get(exif_orientation(image))
        upright = image.transpose(method) if method is not None else image
        if upright.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
            grey = np.asarray(upright, dtype=np.float64)
            grey = np.clip(np.round(grey / 257), 0, 255).astype(np.uint8)
            return np.repeat(grey[..., None], 3, axis=2)
        return np.asarray(upright.convert("RGB"))


class CocoDataset(torch.utils.data.Dataset):
    """Images as float RGB 0..1 CHW tensors with torchvision detection targets (boxes xyxy, labels, masks).

    With annotated_classes_only (training), the classes are the categories that have at least one instance (crowd
    regions do not count): a class without examples cannot be learnt, so it is left out and named in `left_out`
    rather than refusing the whole dataset."""

    def __init__(self, root: str | Path, annotated_classes_only: bool = True, augment: bool = False,
                 check_sizes: bool = True):
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
            raise DatasetError(f"{self.annotation_file}: {len(missing)} image file(s) named in 'images' do not exist "
                               f"under {self.root}: {first_five(missing)}")

        categories = sorted(coco["categories"], key=lambda c: c["id"])
        self.categories = Classes([c["name"] for c in categories], [c["id"] for c in categories])
        image_ids = {im["id"] for im in self.images}
        self.annotations_by_image: dict[int, list[dict]] = {im["id"]: [] for im in self.images}
        for ann in coco["annotations"]:
            if ann["image_id"] not in image_ids:
                raise DatasetError(f"{self.annotation_file}: annotation {ann.get('id')} names image_id "
                                   f"{ann['image_id']}, which is not in 'images'")
            if ann["category_id"] not in self.categories.category_ids:
                raise DatasetError(f"{self.annotation_file}: annotation {ann.get('id')} names category_id "
                                   f"{ann['category_id']}, which is not in 'categories'")
            self.annotations_by_image[ann["image_id"]].append(ann)

        counts = {cid: 0 for cid in self.categories.category_ids}
        for ann in coco["annotations"]:
            if not ann.get("iscrowd", 0):
                counts[ann["category_id"]] += 1
        self.instance_counts = {name: counts[cid] for name, cid in zip(self.categories.names,
                                                                       self.categories.category_ids)}
        self.left_out = [name for name, n in self.instance_counts.items() if n == 0] if annotated_classes_only else []
        if annotated_classes_only and len(self.left_out) == len(self.categories.names):
            raise DatasetError(f"{self.annotation_file}: no category has instances; there is nothing to learn "
                               "(annotate some objects, or review images that have them)")
        kept = [(n, cid) for n, cid in zip(self.categories.names, self.categories.category_ids)
                if n not in self.left_out]
        self.classes = Classes([n for n, _ in kept], [cid for _, cid in kept])
        self.label_of = {cid: i + 1 for i, cid in enumerate(self.classes.category_ids)}
        self.augment = augment
        if check_sizes:
            self.check_sizes()

    def check_sizes(self) -> None:
        """Every image's displayed size (EXIF orientation applied) must be the one annotations.json gives, since
        masks and boxes are in those pixels; reading only the headers, all images are checked before training."""
        wrong = []
        for info in self.images:
            path = self.root / info["file_name"]
            try:
                width, height = displayed_size(path)
            except OSError as error:
                raise DatasetError(f"{path}: cannot be read as an image ({error})") from error
            if (width, height) != (info["width"], info["height"]):
                wrong.append(f"{info['file_name']} is {width}x{height}, not {info['width']}x{info['height']}")
        if wrong:
            raise DatasetError(f"{self.annotation_file}: {len(wrong)} image(s) differ in size from 'images' "
                               f"(sizes after EXIF orientation): {first_five(wrong)}")

    def __len__(self) -> int:
        return len(self.images)

    def summary(self) -> dict:
        summary = {"directory": str(self.root), "images": len(self.images),
                   "instances": sum(self.instance_counts.values()), "instances_per_class": self.instance_counts}
        if self.left_out:
            summary["left_out"] = self.left_out
        return summary

    def load_image(self, index: int) -> torch.Tensor:
        info = self.images[index]
        path = self.root / info["file_name"]
        try:
            pixels = read_rgb(path).astype(np.float32) / 255
        except OSError as error:
            raise DatasetError(f"{path}: cannot be read as an image ({error})") from error
        if pixels.shape[:2] != (info["height"], info["width"]):
            raise DatasetError(f"{path}: is {pixels.shape[1]}x{pixels.shape[0]} (after EXIF orientation) but "
                               f"annotations.json says {info['width']}x{info['height']}")
        return torch.from_numpy(pixels).permute(2, 0, 1).contiguous()

    def __getitem__(self, index: int):
        info = self.images[index]
        image = self.load_image(index)
        height, width = info["height"], info["width"]
        boxes, labels, masks = [], [], []
        for ann in self.annotations_by_image[info["id"]]:
            if ann.get("iscrowd", 0) or ann["category_id"] not in self.label_of:
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


def first_five(items: list[str]) -> str:
    return ", ".join(items[:5]) + (f" and {len(items) - 5} more" if len(items) > 5 else "")


def decode_segmentation(segmentation, height: int, width: int) -> np.ndarray:
    """uint8 HxW mask from a COCO segmentation: polygons, uncompressed or compressed RLE."""
    if isinstance(segmentation, list):
        if not segmentation:
            return np.zeros((height, width), np.uint8)
        rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
    elif isinstance(segmentation.get("counts"), list):
        rle = mask_utils.frPyObjects(segmentation, height, width)
    else:
        rle = segmentation
    return mask_utils.decode(rle).astype(np.uint8)


def collate(batch):
    return tuple(zip(*batch))
