"""Seeded synthetic COCO instance-segmentation scenes: circles, rectangles, triangles and stars.

Each image gets a textured, gradient or noise background and 0 to 8 shapes drawn in order; a shape drawn later
hides what lies under it, so an occluded shape's mask loses the hidden pixels. Shapes left with too little visible
area are not drawn at all, so every annotated instance is clearly recognisable.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from pycocotools import mask as mask_utils

CLASSES = ("circle", "rectangle", "triangle", "star")
MIN_SIDE, MAX_SIDE = 256, 640
MIN_EXTENT, MAX_EXTENT = 12, 120
MAX_OBJECTS = 8
MIN_VISIBLE_FRACTION = 0.4
MIN_VISIBLE_PIXELS = 40


def shape_polygon(kind: str, cx: float, cy: float, extent: float, angle: float, rng: np.random.Generator):
    """Outline of one shape as a list of (x, y) points; `extent` is its size across."""
    r = extent / 2
    if kind == "circle":
        t = np.linspace(0, 2 * math.pi, 64, endpoint=False)
        pts = np.stack([np.cos(t), np.sin(t)], 1) * r
    elif kind == "rectangle":
        aspect = rng.uniform(0.35, 1.0)
        w, h = r, r * aspect
        pts = np.array([[-w, -h], [w, -h], [w, h], [-w, h]])
    elif kind == "triangle":
        base = rng.uniform(0, 2 * math.pi / 3)
        t = base + np.array([0, 2 * math.pi / 3, 4 * math.pi / 3]) + rng.uniform(-0.35, 0.35, 3)
        pts = np.stack([np.cos(t), np.sin(t)], 1) * r
    elif kind == "star":
        inner = rng.uniform(0.38, 0.55)
        t = np.arange(10) * math.pi / 5
        radius = np.where(np.arange(10) % 2 == 0, 1.0, inner) * r
        pts = np.stack([np.cos(t) * radius, np.sin(t) * radius], 1)
    else:
        raise ValueError(f"unknown shape kind {kind!r}")
    c, s = math.cos(angle), math.sin(angle)
    pts = pts @ np.array([[c, s], [-s, c]])
    return [(float(x + cx), float(y + cy)) for x, y in pts]


def background(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """float32 HxWx3 in 0..255: a gradient, smooth noise or a periodic texture."""
    style = rng.choice(["gradient", "noise", "texture"])
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    if style == "gradient":
        angle = rng.uniform(0, 2 * math.pi)
        proj = xx * math.cos(angle) + yy * math.sin(angle)
        t = (proj - proj.min()) / max(float(np.ptp(proj)), 1.0)
    elif style == "noise":
        scale = int(rng.integers(4, 40))
        small = rng.uniform(0, 1, (height // scale + 2, width // scale + 2)).astype(np.float32)
        t = np.asarray(Image.fromarray((small * 255).astype(np.uint8)).resize(
            (width + 2 * scale, height + 2 * scale), Image.BICUBIC), np.float32)[scale:scale + height,
                                                                                 scale:scale + width] / 255
    else:
        period = rng.uniform(6, 40)
        angle = rng.uniform(0, math.pi)
        u = xx * math.cos(angle) + yy * math.sin(angle)
        v = -xx * math.sin(angle) + yy * math.cos(angle)
        if rng.random() < 0.5:
            t = 0.5 + 0.5 * np.sin(2 * math.pi * u / period)
        else:
            t = ((np.floor(u / period) + np.floor(v / period)) % 2).astype(np.float32)
        t = 0.3 + 0.4 * t
    img = c0 + (c1 - c0) * t[..., None]
    return img.astype(np.float32)


def scene(width: int, height: int, rng: np.random.Generator):
    """One image (uint8 HxWx3) and its instances [(class_index, bool mask)]."""
    img = background(width, height, rng)
    count = int(rng.integers(0, MAX_OBJECTS + 1))
    shapes = []
    for _ in range(count):
        kind = int(rng.integers(len(CLASSES)))
        extent = float(np.exp(rng.uniform(math.log(MIN_EXTENT), math.log(MAX_EXTENT))))
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        poly = shape_polygon(CLASSES[kind], cx, cy, extent, rng.uniform(0, 2 * math.pi), rng)
        canvas = Image.new("L", (width, height), 0)
        ImageDraw.Draw(canvas).polygon(poly, fill=255)
        full = np.asarray(canvas) > 0
        if full.sum() >= MIN_VISIBLE_PIXELS:
            shapes.append((kind, full))

    # Drop shapes hidden too much by those above them; dropping one only uncovers others.
    while True:
        covered = np.zeros((height, width), bool)
        visible = [None] * len(shapes)
        for i in range(len(shapes) - 1, -1, -1):
            visible[i] = shapes[i][1] & ~covered
            covered |= shapes[i][1]
        bad = [i for i, (kind, full) in enumerate(shapes)
               if visible[i].sum() < max(MIN_VISIBLE_PIXELS, MIN_VISIBLE_FRACTION * full.sum())]
        if not bad:
            break
        del shapes[bad[0]]

    for kind, full in shapes:
        colour = rng.uniform(0, 255, 3)
        under = img[full].mean(0)
        if np.abs(colour - under).sum() < 120:  # keep shapes distinguishable from what they cover
            colour = 255 - under
        shade = rng.uniform(-25, 25) * (np.mgrid[0:height, 0:width][0][full] / height - 0.5)
        img[full] = colour + shade[:, None]
    img += rng.normal(0, rng.uniform(0, 8), img.shape)
    pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    if rng.random() < 0.3:
        pil = pil.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
    return np.asarray(pil), [(kind, vis) for (kind, _), vis in zip(shapes, visible)]


def synthesize(out_dir: str | Path, count: int, seed: int, quality: int = 92) -> Path:
    """Write `count` scenes as JPEG files plus annotations.json (COCO, compressed RLE) into out_dir."""
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    images, annotations = [], []
    for image_id in range(1, count + 1):
        width, height = (int(v) for v in rng.integers(MIN_SIDE, MAX_SIDE + 1, 2))
        pixels, instances = scene(width, height, rng)
        file_name = f"images/{image_id:06d}.jpg"
        Image.fromarray(pixels).save(out / file_name, quality=quality)
        images.append({"id": image_id, "file_name": file_name, "width": width, "height": height})
        for kind, visible in instances:
            rle = mask_utils.encode(np.asfortranarray(visible.astype(np.uint8)))
            annotations.append({
                "id": len(annotations) + 1,
                "image_id": image_id,
                "category_id": kind + 1,
                "segmentation": {"size": rle["size"], "counts": rle["counts"].decode("ascii")},
                "area": float(mask_utils.area(rle)),
                "bbox": [float(v) for v in mask_utils.toBbox(rle)],
                "iscrowd": 0,
            })
    coco = {
        "info": {"description": f"Loupe synthetic shapes, {count} images, seed {seed}"},
        "images": images,
        "annotations": annotations,
        "categories": [{"id": i + 1, "name": name, "supercategory": "shape"} for i, name in enumerate(CLASSES)],
    }
    (out / "annotations.json").write_text(json.dumps(coco))
    return out
