"""python -m tools.model synth|train|evaluate|export|recover|cocoeval ... (run from the repository root).

Exit status: 0 done, 2 an error (one line `error: <file>: <reason>` on stderr; with `train --progress jsonl` also an
"error" event on stdout), 130 training stopped by Ctrl-C or SIGTERM after writing its checkpoint."""

from __future__ import annotations

import argparse
import json
import sys

from .dataset import DatasetError
from .devices import DeviceError
from .export import GRAPH_SCORE_THRESHOLD, ExportError
from .train import CheckpointError, TrainingInterrupted

INTERRUPTED = 130


def parser() -> argparse.ArgumentParser:
    from .net import ARCHITECTURES
    main = argparse.ArgumentParser(prog="python -m tools.model", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = main.add_subparsers(dest="command", required=True)

    p = commands.add_parser("synth", help="write a synthetic COCO dataset of shapes")
    p.add_argument("out", help="dataset directory to create (images/ + annotations.json)")
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)

    p = commands.add_parser("train", help="train (or resume) a Mask R-CNN on a COCO dataset directory; under "
                                          "torchrun, one process per GPU (or CPU process)")
    p.add_argument("data", help="COCO dataset directory (annotations.json beside the images)")
    p.add_argument("--out", required=True, help="run directory: last.pt checkpoint and train.log; resumes from it")
    p.add_argument("--arch", choices=ARCHITECTURES, default=None, help="network of a new run (default loupe-small)")
    p.add_argument("--pretrained", choices=["coco"], default=None,
                   help="start from torchvision's COCO weights (resnet50-fpn-v2, mobilenet-v3-fpn; downloaded once "
                        "into torch's cache)")
    p.add_argument("--init-from", default=None,
                   help="new run starting from this checkpoint's weights (fine-tuning with a fresh schedule; class "
                        "rows matched by class name)")
    p.add_argument("--iterations", type=int, default=3000)
    p.add_argument("--batch-size", type=int, default=4, help="images per step and process")
    p.add_argument("--lr", type=float, default=1.5e-3)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--checkpoint-every", type=int, default=100)
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    p.add_argument("--workers", type=int, default=None,
                   help="DataLoader worker processes per training process (default: 4 on a GPU, 1 on a CPU)")
    p.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                   help="mixed precision (default: on with CUDA)")
    p.add_argument("--max-minutes", type=float, default=None,
                   help="training time budget: the LR schedule ends and training stops when it is used")
    p.add_argument("--min-size", type=int, default=None, help="short side the network resizes to (new runs)")
    p.add_argument("--max-size", type=int, default=None, help="cap on the long side (new runs)")
    p.add_argument("--scales", default=None,
                   help="comma-separated short sides picked at random per batch, e.g. 384,448,512 (multi-scale)")
    p.add_argument("--rois-per-image", type=int, default=None,
                   help="proposals sampled per image for the box and mask heads (default: the network's own, "
                        "128 for loupe-small, 512 for torchvision's)")
    p.add_argument("--machine", default=None, help="machine description recorded in the checkpoint and card")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--progress", choices=["text", "jsonl"], default="text",
                   help="jsonl: progress events as JSON lines on stdout, messages on stderr (README: progress "
                        "protocol)")

    p = commands.add_parser("export", help="export a checkpoint to ONNX (three layouts) with model cards")
    p.add_argument("checkpoint")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--name", required=True, help="file stem: NAME.onnx, NAME-boxes.onnx, NAME-zoo.onnx, NAME.pt")
    p.add_argument("--verify-data", default=None, help="dataset whose first images check ONNX against PyTorch")
    p.add_argument("--verify-images", type=int, default=3)
    p.add_argument("--metrics", default=None,
                   help="metrics JSON from evaluate: into the cards, whose score threshold becomes the F1-maximising one")
    p.add_argument("--layouts", default="maskrcnn,boxes,zoo")
    p.add_argument("--min-size", type=int, default=None, help="input short side (default: the training size)")
    p.add_argument("--max-size", type=int, default=None, help="input long side cap (default: the training size)")
    p.add_argument("--graph-score-threshold", type=float, default=GRAPH_SCORE_THRESHOLD,
                   help="detections below this score never leave the graph (the app's threshold cannot go lower)")
    p.add_argument("--device", default="cpu", help="where PyTorch traces and computes reference outputs")
    p.add_argument("--json", action="store_true", help="print the written files as one JSON object on stdout")

    p = commands.add_parser("evaluate", help="COCO box and mask metrics of a checkpoint on a COCO dataset directory")
    p.add_argument("checkpoint")
    p.add_argument("data")
    p.add_argument("--out", default=None, help="write the metrics JSON here")
    p.add_argument("--cards", nargs="*", default=[], help="model cards whose 'metrics' to fill in")
    p.add_argument("--limit", type=int, default=None, help="score only the first N images")
    p.add_argument("--min-size", type=int, default=None, help="input short side (default: the training size)")
    p.add_argument("--max-size", type=int, default=None, help="input long side cap (default: the training size)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    p.add_argument("--threshold", type=float, default=0.5, help="score threshold of at_score")
    p.add_argument("--min-threshold", type=float, default=0.05,
                   help="lowest threshold suggested_score may pick (the graph score threshold of the export)")
    p.add_argument("--predictions", default=None, help="also write the detections scored, as a COCO results file")

    p = commands.add_parser("recover", help="rebuild a loupe-small checkpoint from its torchvision-maskrcnn ONNX "
                                            "export and prove it (re-export byte-identical)")
    p.add_argument("onnx")
    p.add_argument("--card", required=True)
    p.add_argument("--calibration-data", required=True,
                   help="dataset whose images set the BatchNorm statistics (not the held-out set)")
    p.add_argument("--out", required=True)
    p.add_argument("--parity-data", default=None,
                   help="held-out dataset on which PyTorch must agree with the graph in onnxruntime-node")
    p.add_argument("--parity-images", type=int, default=20)

    p = commands.add_parser("cocoeval", help="metrics.py's figures for a ground-truth COCO file and a results "
                                             "file, unrounded, as JSON (the oracle app/eval/cocoeval.ts is tested by)")
    p.add_argument("ground_truth")
    p.add_argument("results")
    p.add_argument("--iou-type", choices=["bbox", "segm"], required=True)
    p.add_argument("--threshold", type=float, default=0.5)
    p.add_argument("--min-threshold", type=float, default=0.0)
    return main


def run(args: argparse.Namespace) -> int:
    if args.command == "synth":
        from .synth import synthesize
        synthesize(args.out, args.count, args.seed)
        print(f"wrote {args.count} images to {args.out}")
    elif args.command == "train":
        from .net import Architecture
        from .progress import Progress
        from .train import train
        log = (lambda line: print(line, file=sys.stderr)) if args.progress == "jsonl" else print
        sizes = {k: v for k, v in (("min_size", args.min_size), ("max_size", args.max_size)) if v}
        arch = None
        if args.arch or args.pretrained or (sizes and not args.init_from):
            try:
                arch = Architecture.named(args.arch or "loupe-small", args.min_size, args.max_size, args.pretrained)
            except ValueError as error:
                raise CheckpointError(str(error)) from error
        scales = [int(s) for s in args.scales.split(",")] if args.scales else None
        train(args.data, args.out, args.iterations, batch_size=args.batch_size, lr=args.lr, warmup=args.warmup,
              checkpoint_every=args.checkpoint_every, device=args.device, threads=args.threads,
              max_minutes=args.max_minutes, seed=args.seed, arch=arch, machine=args.machine,
              init_from=args.init_from, input_size=sizes, scales=scales, workers=args.workers, amp=args.amp,
              rois_per_image=args.rois_per_image, progress=Progress(events=args.progress == "jsonl", log=log), log=log)
    elif args.command == "export":
        from .export import export_all
        metrics = json.loads(open(args.metrics).read()) if args.metrics else None
        log = (lambda line: print(line, file=sys.stderr)) if args.json else print
        written = export_all(args.checkpoint, args.out_dir, args.name, layouts=args.layouts.split(","),
                             verify_data=args.verify_data, verify_images=args.verify_images, metrics=metrics,
                             min_size=args.min_size, max_size=args.max_size,
                             graph_score_threshold=args.graph_score_threshold, device=args.device, log=log)
        if args.json:
            print(json.dumps({"onnx": [str(p) for p in written[::2]], "cards": [str(p) for p in written[1::2]],
                              "checkpoint": str(written[0].with_name(args.name + ".pt"))}))
    elif args.command == "evaluate":
        from .evaluate import evaluate, write_metrics
        metrics = evaluate(args.checkpoint, args.data, limit=args.limit, min_size=args.min_size,
                           max_size=args.max_size, device=args.device, threshold=args.threshold,
                           min_threshold=args.min_threshold, predictions_out=args.predictions)
        write_metrics(metrics, args.out, args.cards)
    elif args.command == "recover":
        from .recover import RecoveryError, recover
        try:
            recover(args.onnx, args.card, args.calibration_data, args.out, parity_data=args.parity_data,
                    parity_images=args.parity_images)
        except RecoveryError as error:
            raise ExportError(str(error)) from error
    elif args.command == "cocoeval":
        import contextlib
        import io
        from pycocotools.coco import COCO
        from .metrics import coco_metrics
        with contextlib.redirect_stdout(io.StringIO()):
            ground_truth = COCO(args.ground_truth)
        results = json.loads(open(args.results).read())
        print(json.dumps(coco_metrics(ground_truth, results, args.iou_type, threshold=args.threshold,
                                      min_threshold=args.min_threshold)))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    events = getattr(args, "progress", None) == "jsonl"
    try:
        return run(args)
    except TrainingInterrupted as stopped:
        print(f"stopped: {stopped}", file=sys.stderr)
        return INTERRUPTED
    except (DatasetError, CheckpointError, ExportError, DeviceError, FloatingPointError) as error:
        message = str(error)
        if events:
            print(json.dumps({"event": "error", "message": message}), flush=True)
        print(f"error: {message}", file=sys.stderr)
        return 2
    except Exception as error:  # noqa: BLE001 - a caller reading JSON lines still gets the failure as an event
        if events:
            print(json.dumps({"event": "error", "message": f"{type(error).__name__}: {error}"}), flush=True)
        raise


if __name__ == "__main__":
    sys.exit(main())
