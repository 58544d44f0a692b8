#!/usr/bin/env python3
"""Writes the LabelMe fixture folder of the format tests (tools/formats/fixtures/labelme), then, given the reference
tools, their outputs next to it. Everything this writes is committed; the tests read it without these tools.

    /usr/bin/python3 tools/formats/make_fixtures.py                  # the LabelMe folder only (needs Pillow)
    tools/formats/.venv/bin/python tools/formats/make_fixtures.py --labelme-repo DIR
        # also runs DIR/examples/instance_segmentation/labelme2coco.py and labelme2voc.py (LabelMe's own converters;
        # needs imgviz and pycocotools: bash tools/formats/setup-venv.sh) into fixtures/labelme2coco and
        # fixtures/labelme2voc, and Ultralytics' convert_coco on resources/samples/annotations.json into
        # fixtures/ultralytics-convert-coco

The LabelMe files follow LabelMe's documented layout (version, flags, shapes with label, points, group_id,
shape_type, flags, description; imagePath relative to the JSON; imageData; imageHeight, imageWidth), including a
LabelMe 3 file (no shape_type, no image size, the image inside as imageData).
"""
from __future__ import annotations

import argparse
import base64
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
REPO = HERE.parent.parent

LABELS = ["__ignore__", "_background_", "cat", "dog", "box", "ball"]


def scene(size: tuple[int, int], seed: int) -> Image.Image:
    image = Image.new("RGB", size, (40 + seed * 20, 60, 80))
    draw = ImageDraw.Draw(image)
    draw.rectangle((4, 4, 30, 24), fill=(200, 180, 40))
    draw.ellipse((50, 20, 70, 40), fill=(30, 160, 220))
    draw.polygon([(10, 40), (30, 40), (20, 58)], fill=(220, 60, 60))
    return image


def shape(label, points, shape_type="polygon", group_id=None, description=""):
    return {
        "label": label,
        "points": points,
        "group_id": group_id,
        "description": description,
        "shape_type": shape_type,
        "flags": {},
        "mask": None,
    }


def labelme_file(image_path, size, shapes):
    return {
        "version": "5.4.1",
        "flags": {},
        "shapes": shapes,
        "imagePath": image_path,
        "imageData": None,
        "imageHeight": size[1],
        "imageWidth": size[0],
    }


def write_labelme_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    size = (96, 64)
    scene(size, 0).save(folder / "scene1.png")
    scene(size, 1).save(folder / "scene2.png")
    scene(size, 2).save(folder / "scene3.png")

    # Every area shape type, a group of two parts, a region to ignore, a polygon over the border.
    scene1 = labelme_file("scene1.png", size, [
        shape("cat", [[10.5, 40.25], [30.75, 40.0], [20.0, 58.5]]),
        shape("box", [[4.0, 4.0], [30.5, 24.5]], "rectangle"),
        shape("ball", [[60.0, 30.0], [70.0, 30.0]], "circle"),
        shape("dog", [[40.0, 2.0], [48.0, 2.0], [48.0, 12.0], [40.0, 12.0]], group_id=1),
        shape("dog", [[52.0, 4.0], [60.0, 4.0], [56.0, 14.0]], group_id=1),
        shape("__ignore__", [[76.0, 44.0], [94.0, 44.0], [94.0, 62.0], [76.0, 62.0]]),
        shape("cat", [[80.0, 2.0], [100.0, 2.0], [100.0, 20.0], [84.0, 16.0]]),
    ])
    (folder / "scene1.json").write_text(json.dumps(scene1, indent=2) + "\n")

    # LabelMe 3: no shape_type, no image size, the image inside the file.
    buffer = io.BytesIO()
    scene(size, 1).save(buffer, format="PNG")
    scene2 = {
        "shapes": [
            {"label": "dog", "line_color": None, "fill_color": None, "points": [[5, 5], [25, 5], [25, 25], [5, 25]]},
            {"label": "cat", "line_color": None, "fill_color": None, "points": [[40, 30], [60, 30], [50, 50]]},
        ],
        "lineColor": [0, 255, 0, 128],
        "fillColor": [255, 0, 0, 128],
        "imagePath": "scene2.png",
        "imageData": base64.b64encode(buffer.getvalue()).decode("ascii"),
    }
    (folder / "scene2.json").write_text(json.dumps(scene2, indent=2) + "\n")

    # Shapes without an area, in a folder of its own (LabelMe's converters only read the top folder, and would
    # draw these as thick lines and dots).
    (folder / "more").mkdir(exist_ok=True)
    scene3 = labelme_file("../scene3.png", size, [
        shape("cat", [[10.0, 40.0], [30.0, 40.0], [20.0, 58.0]]),
        shape("cat", [[5.0, 5.0]], "point"),
        shape("edge", [[5.0, 5.0], [20.0, 20.0]], "line"),
        shape("edge", [[5.0, 5.0], [20.0, 20.0], [30.0, 5.0]], "linestrip"),
    ])
    (folder / "more" / "scene3.json").write_text(json.dumps(scene3, indent=2) + "\n")
    (folder / "labels.txt").write_text("\n".join(LABELS) + "\n")


def run_labelme_converters(labelme_repo: Path, folder: Path) -> None:
    examples = labelme_repo / "examples" / "instance_segmentation"
    for script, target in (("labelme2coco.py", "labelme2coco"), ("labelme2voc.py", "labelme2voc")):
        out = FIXTURES / target
        shutil.rmtree(out, ignore_errors=True)
        with tempfile.TemporaryDirectory() as tmp:
            produced = Path(tmp) / "out"
            subprocess.run(
                [sys.executable, str(examples / script), str(folder), str(produced), "--labels", str(folder / "labels.txt"), "--noviz"]
                + (["--nonpy"] if script == "labelme2voc.py" else []),
                check=True,
            )
            out.mkdir(parents=True)
            # The converted images are the fixture's own: left out.
            for path in sorted(produced.rglob("*")):
                if path.is_file() and "JPEGImages" not in path.parts:
                    target_path = out / path.relative_to(produced)
                    target_path.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(path, target_path)


def run_ultralytics_convert_coco() -> None:
    os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp())
    from ultralytics.data.converter import convert_coco

    out = FIXTURES / "ultralytics-convert-coco"
    shutil.rmtree(out, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        annotations = Path(tmp) / "annotations"
        annotations.mkdir()
        shutil.copy(REPO / "resources" / "samples" / "annotations.json", annotations / "instances_samples.json")
        produced = Path(tmp) / "yolo"
        convert_coco(labels_dir=str(annotations), save_dir=str(produced), use_segments=True, cls91to80=False)
        shutil.copytree(produced / "labels", out / "labels")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labelme-repo", type=Path, help="a checkout of github.com/wkentaro/labelme")
    args = parser.parse_args()
    folder = FIXTURES / "labelme"
    write_labelme_folder(folder)
    if args.labelme_repo:
        run_labelme_converters(args.labelme_repo, folder)
        run_ultralytics_convert_coco()


if __name__ == "__main__":
    main()
