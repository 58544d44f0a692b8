#!/usr/bin/env python3
"""Reads a YOLO dataset the way Ultralytics does and prints what it found as JSON (for main/exchange/reference.test.ts).

    tools/formats/.venv/bin/python tools/formats/check_yolo.py DATASET_DIR

check_det_dataset on DATASET_DIR/data.yaml, then verify_image_label on every image of train and val (the check
Ultralytics runs before training), and each segment drawn with its polygon2mask as a COCO RLE (pycocotools).
"""
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp())

import numpy as np  # noqa: E402
import pycocotools.mask as mask_util  # noqa: E402
from ultralytics.data.utils import IMG_FORMATS, check_det_dataset, img2label_paths, polygon2mask, verify_image_label  # noqa: E402


def main() -> None:
    root = Path(sys.argv[1]).resolve()
    data = check_det_dataset(str(root / "data.yaml"), autodownload=False)
    result = {"names": {int(k): v for k, v in data["names"].items()}, "nc": data["nc"], "images": []}
    seen = set()
    for split in ("train", "val"):
        folders = data[split] if isinstance(data[split], list) else [data[split]]
        for folder in folders:
            files = sorted(str(p) for p in Path(folder).rglob("*") if p.suffix[1:].lower() in IMG_FORMATS)
            for image, label in zip(files, img2label_paths(files)):
                if image in seen:
                    continue
                seen.add(image)
                _, labels, shape, segments, _, missing, found, empty, corrupt, message = verify_image_label(
                    (image, label, "", False, data["nc"], 0, 0, False)
                )
                masks = []
                if shape is not None:
                    height, width = shape
                    for segment in segments:
                        polygon = (segment * np.array([width, height])).reshape(-1)
                        drawn = polygon2mask((height, width), [polygon], color=1, downsample_ratio=1)
                        rle = mask_util.encode(np.asfortranarray(drawn.astype(np.uint8)))
                        masks.append({"size": [int(height), int(width)], "counts": rle["counts"].decode("ascii")})
                result["images"].append({
                    "file": str(Path(image).relative_to(root)),
                    "split": split,
                    "size": None if shape is None else [int(shape[1]), int(shape[0])],
                    "corrupt": corrupt,
                    "missing": missing,
                    "found": found,
                    "empty": empty,
                    "message": message,
                    "classes": [] if labels is None else [int(c) for c in labels[:, 0]],
                    "boxes": [] if labels is None else [[float(v) for v in row[1:]] for row in labels],
                    "masks": masks,
                })
    print(json.dumps(result))


if __name__ == "__main__":
    main()
