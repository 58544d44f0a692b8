#!/usr/bin/env python3
"""Reads LabelMe files with LabelMe's own code and prints what it found as JSON (for main/exchange/reference.test.ts).

    tools/formats/.venv/bin/python tools/formats/check_labelme.py FILE.json...

labelme's read_label_file (which loads the image beside it and checks imageHeight and imageWidth against it), then
shapes_to_label, which draws the instances as LabelMe's own tools do; each instance as a COCO RLE (pycocotools).
"""
import json
import sys

import numpy as np
import pycocotools.mask as mask_util
from labelme._label_file import read_label_file
from labelme.utils import img_data_to_arr, shapes_to_label


def main() -> None:
    result = []
    for path in sys.argv[1:]:
        entry = {"file": path}
        try:
            data = read_label_file(path)
        except Exception as error:  # reported, not raised: the test names the file
            entry["error"] = str(error)
            result.append(entry)
            continue
        image = img_data_to_arr(data.image_data)
        names = sorted({shape["label"] for shape in data.shapes})
        values = {name: i + 1 for i, name in enumerate(names)}
        classes, instances = shapes_to_label(image.shape, data.shapes, values)
        found = []
        for instance in sorted(int(v) for v in np.unique(instances) if v != 0):
            drawn = instances == instance
            label = names[int(np.bincount(classes[drawn]).argmax()) - 1]
            rle = mask_util.encode(np.asfortranarray(drawn.astype(np.uint8)))
            found.append({"label": label, "size": [int(image.shape[0]), int(image.shape[1])], "counts": rle["counts"].decode("ascii")})
        entry.update({"version": data.other_data.get("version"), "size": [int(image.shape[1]), int(image.shape[0])], "instances": found, "shapes": len(data.shapes)})
        result.append(entry)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
