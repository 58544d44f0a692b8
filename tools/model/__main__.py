"""python -m tools.model synth|train|export|evaluate ... (run from the repository root)."""

from __future__ import annotations

import argparse
import json
import sys

from .dataset import DatasetError
from .export import GRAPH_SCORE_THRESHOLD, ExportError
from .train import CheckpointError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.model", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("synth", help="write a synthetic COCO dataset of shapes")
    p.add_argument("out", help="dataset directory to create (images/ + annotations.json)")
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)

    p = commands.add_parser("train", help="train (or resume) a small Mask R-CNN on a COCO dataset directory")
    p.add_argument("data", help="COCO dataset directory (annotations.json beside the images)")
    p.add_argument("--out", required=True, help="run directory: last.pt checkpoint and train.log; resumes from it")
    p.add_argument("--iterations", type=int, default=3000)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--lr", type=float, default=1.5e-3)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--checkpoint-every", type=int, default=100)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    p.add_argument("--max-minutes", type=float, default=None,
                   help="training time budget: the LR schedule ends and training stops when it is used")
    p.add_argument("--min-size", type=int, default=None, help="short side the network resizes to (new runs)")
    p.add_argument("--max-size", type=int, default=None, help="cap on the long side (new runs)")
    p.add_argument("--machine", default=None, help="machine description recorded in the checkpoint and card")
    p.add_argument("--init-from", default=None,
                   help="new run starting from this checkpoint's weights (fine-tuning with a fresh schedule)")
    p.add_argument("--scales", default=None,
                   help="comma-separated short sides picked at random per batch, e.g. 384,448,512 (multi-scale)")

    p = commands.add_parser("export", help="export a checkpoint to ONNX (three layouts) with model cards")
    p.add_argument("checkpoint")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--name", required=True, help="file stem: NAME.onnx, NAME-boxes.onnx, NAME-zoo.onnx")
    p.add_argument("--verify-data", default=None, help="dataset whose first images check ONNX against PyTorch")
    p.add_argument("--verify-images", type=int, default=3)
    p.add_argument("--metrics", default=None, help="metrics JSON from evaluate to put into the cards")
    p.add_argument("--layouts", default="maskrcnn,boxes,zoo")
    p.add_argument("--min-size", type=int, default=None, help="input short side (default: the training size)")
    p.add_argument("--max-size", type=int, default=None, help="input long side cap (default: the training size)")
    p.add_argument("--graph-score-threshold", type=float, default=GRAPH_SCORE_THRESHOLD,
                   help="detections below this score never leave the graph (the app's threshold cannot go lower)")

    p = commands.add_parser("evaluate", help="COCO box and mask AP of a checkpoint on a COCO dataset directory")
    p.add_argument("checkpoint")
    p.add_argument("data")
    p.add_argument("--out", default=None, help="write the metrics JSON here")
    p.add_argument("--cards", nargs="*", default=[], help="model cards whose 'metrics' to fill in")
    p.add_argument("--limit", type=int, default=None, help="score only the first N images")
    p.add_argument("--min-size", type=int, default=None, help="input short side (default: the training size)")
    p.add_argument("--max-size", type=int, default=None, help="input long side cap (default: the training size)")

    args = parser.parse_args(argv)
    try:
        if args.command == "synth":
            from .synth import synthesize
            synthesize(args.out, args.count, args.seed)
            print(f"wrote {args.count} images to {args.out}")
        elif args.command == "train":
            from .net import Architecture
            from .train import train
            sizes = {k: v for k, v in (("min_size", args.min_size), ("max_size", args.max_size)) if v}
            scales = [int(s) for s in args.scales.split(",")] if args.scales else None
            train(args.data, args.out, args.iterations, batch_size=args.batch_size, lr=args.lr, warmup=args.warmup,
                  checkpoint_every=args.checkpoint_every, device=args.device, threads=args.threads,
                  max_minutes=args.max_minutes, arch=None if args.init_from else Architecture(**sizes),
                  machine=args.machine, init_from=args.init_from, input_size=sizes, scales=scales)
        elif args.command == "export":
            from .export import export_all
            metrics = json.loads(open(args.metrics).read()) if args.metrics else None
            export_all(args.checkpoint, args.out_dir, args.name, layouts=args.layouts.split(","),
                       verify_data=args.verify_data, verify_images=args.verify_images, metrics=metrics,
                       min_size=args.min_size, max_size=args.max_size,
                       graph_score_threshold=args.graph_score_threshold)
        elif args.command == "evaluate":
            from .evaluate import evaluate, write_metrics
            metrics = evaluate(args.checkpoint, args.data, limit=args.limit, min_size=args.min_size,
                               max_size=args.max_size)
            write_metrics(metrics, args.out, args.cards)
    except (DatasetError, CheckpointError, ExportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
