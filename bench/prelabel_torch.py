"""The PyTorch-eager baseline for `npm run bench:prelabel`: the same checkpoint and images, decoded with Pillow,
run image by image through torchvision's MaskRCNN, masks thresholded as the app does.

usage: prelabel_torch.py CHECKPOINT IMAGE_DIR COUNT [--threads N] [--graph-score T]"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tools.model.train import load_checkpoint, model_from_checkpoint  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("checkpoint")
parser.add_argument("image_dir")
parser.add_argument("count", type=int)
parser.add_argument("--threads", type=int, default=os.cpu_count())
parser.add_argument("--score", type=float, default=0.5)
parser.add_argument("--graph-score", type=float, default=0.05, help="the exported graph's own score cut (its card's)")
args = parser.parse_args()

torch.set_num_threads(args.threads)
model = model_from_checkpoint(load_checkpoint(args.checkpoint)).eval()
model.roi_heads.score_thresh = args.graph_score  # as the exported graph
files = sorted(p for p in Path(args.image_dir).iterdir() if p.suffix in (".png", ".jpg"))[: args.count]

start = time.perf_counter()
instances = 0
with torch.inference_mode():
    for file in files:
        pixels = np.array(Image.open(file).convert("RGB"))
        image = torch.from_numpy(pixels).permute(2, 0, 1).float().div(255)
        out = model([image])[0]
        keep = out["scores"] >= args.score
        masks = (out["masks"][keep] > 0.5).numpy()
        instances += len(masks)
seconds = time.perf_counter() - start
print(f"pytorch eager ({torch.__version__}, {args.threads} threads): {len(files)} images, {instances} instances "
      f"in {seconds:.1f} s = images/s {len(files) / seconds:.2f}")
