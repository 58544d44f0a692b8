"""Training the small Mask R-CNN on a COCO dataset directory, with resumable checkpoints and a loss log."""

from __future__ import annotations

import math
import platform
import random
import sys
import time
from pathlib import Path

import torch

from .dataset import Classes, CocoDataset, DatasetError, collate
from .net import Architecture, build_model


class CheckpointError(Exception):
    """A checkpoint that cannot be used here, with the reason."""


def save_checkpoint(path: Path, **state) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)  # never leave a half-written checkpoint behind


def load_checkpoint(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint does not exist")
    try:
        # Plain tensors and containers only; torch 1.x's weights-only loader cannot read floats yet.
        safe = {"weights_only": True} if int(torch.__version__.split(".")[0]) >= 2 else {}
        if hasattr(torch.serialization, "add_safe_globals"):
            # checkpoints written by earlier versions of this script hold torch.__version__ as it is
            torch.serialization.add_safe_globals([torch.torch_version.TorchVersion])
        state = torch.load(path, map_location="cpu", **safe)
    except Exception as error:  # torch raises several types for a damaged file
        raise CheckpointError(f"{path}: cannot be read as a checkpoint ({error})") from error
    for key in ("model", "classes", "architecture"):
        if key not in state:
            raise CheckpointError(f"{path}: not a Loupe checkpoint (no '{key}')")
    return state


def check_classes(checkpoint_path: str | Path, checkpoint_classes: Classes, dataset: CocoDataset) -> None:
    if checkpoint_classes.names != dataset.classes.names:
        raise CheckpointError(
            f"{checkpoint_path}: trained for classes {checkpoint_classes.names}, but {dataset.annotation_file} has "
            f"{dataset.classes.names}; train a new model for this class list (or fix the dataset's categories)")


def model_from_checkpoint(state: dict, min_size: int | None = None, max_size: int | None = None) -> torch.nn.Module:
    """The trained network; min_size/max_size change the input size it resizes to (they hold no weights)."""
    classes = Classes.from_dict(state["classes"])
    arch = Architecture.from_dict(state["architecture"])
    arch.min_size = min_size or arch.min_size
    arch.max_size = max_size or arch.max_size
    model = build_model(len(classes.labels), arch)
    model.load_state_dict(state["model"])
    model.input_size = (arch.min_size, arch.max_size)
    return model


def load_matching_weights(model: torch.nn.Module, weights: dict) -> list[str]:
    """Loads every tensor whose name and shape match; returns the names left at their fresh initialisation."""
    own = model.state_dict()
    usable = {k: v for k, v in weights.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(usable, strict=False)
    return sorted(k for k in own if k not in usable)


def learning_rate(step: int, progress: float, base: float, warmup: int) -> float:
    """Linear warmup over `warmup` steps, then cosine decay to 1% of base as progress goes from 0 to 1."""
    if step < warmup:
        return base * (0.02 + 0.98 * step / warmup)
    return base * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def machine_description(device: str) -> str:
    if device.startswith("cuda") and torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)}, CUDA"
    return f"{platform.system()} {platform.machine()}, {torch.get_num_threads()} CPU threads"


def train(data: str, out: str, iterations: int, batch_size: int = 4, lr: float = 1.5e-3, warmup: int = 200,
          weight_decay: float = 1e-4, checkpoint_every: int = 100, device: str = "cpu", threads: int | None = None,
          max_minutes: float | None = None, seed: int = 0, arch: Architecture | None = None,
          machine: str | None = None, init_from: str | None = None, input_size: dict | None = None,
          scales: list[int] | None = None, log=print) -> Path:
    """Trains (or resumes from out/last.pt) and returns the path of the final checkpoint.

    init_from starts a new run from another checkpoint's weights with a fresh schedule (fine-tuning, e.g. the
    default model on reviewed annotations); tensors whose shape differs, the class heads when the class list
    changed, start fresh; input_size ({"min_size", "max_size"}) may change there, as it holds no
    weights. scales lists short sides picked at random per batch (multi-scale training)."""
    if threads:
        torch.set_num_threads(threads)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint_path = out_dir / "last.pt"
    dataset = CocoDataset(data, require_instances=True, augment=True)
    if len(dataset) == 0:
        raise DatasetError(f"{dataset.annotation_file}: 'images' is empty; nothing to train on")

    state = load_checkpoint(checkpoint_path) if checkpoint_path.exists() else None
    if state is not None:
        check_classes(checkpoint_path, Classes.from_dict(state["classes"]), dataset)
        arch = Architecture.from_dict(state["architecture"])
    initial = None
    if state is None and init_from:
        initial = load_checkpoint(init_from)
        arch = Architecture.from_dict({**initial["architecture"], **(input_size or {})})
    arch = arch or Architecture()
    torch.manual_seed(seed)  # the initial weights of a new run are reproducible too
    model = build_model(len(dataset.classes.labels), arch).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    step, elapsed, images_seen, prior_seconds = 0, 0.0, 0, 0.0
    if initial is not None:
        fresh = load_matching_weights(model, initial["model"])
        prior_seconds = initial.get("training_seconds", 0.0) + initial.get("prior_training_seconds", 0.0)
        log(f"starting from the weights of {init_from} (iteration {initial.get('iteration')})"
            + (f"; fresh: {', '.join(fresh)}" if fresh else ""))
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, elapsed = state["iteration"], state["training_seconds"]
        prior_seconds = state.get("prior_training_seconds", 0.0)
        scales = scales or state.get("scales")
        images_seen = state.get("images_seen", step * state.get("batch_size", batch_size))
        log(f"resumed from {checkpoint_path} at iteration {step}")
    random.seed(seed + step)
    torch.manual_seed(seed + step)

    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, collate_fn=collate,
                                         num_workers=0, drop_last=len(dataset) > batch_size)
    log_file = (out_dir / "train.log").open("a")
    machine = machine or machine_description(device)

    def checkpoint() -> None:
        save_checkpoint(checkpoint_path, model=model.state_dict(), optimizer=optimizer.state_dict(), iteration=step,
                        training_seconds=elapsed, images_seen=images_seen, classes=dataset.classes.to_dict(),
                        architecture=arch.to_dict(), data=dataset.summary(), batch_size=batch_size,
                        # torch.__version__ is a str subclass that torch 2's weights-only loader refuses
                        planned_iterations=iterations, machine=machine, torch=str(torch.__version__),
                        prior_training_seconds=prior_seconds, initialised_from=initialised_from, scales=scales)

    initialised_from = state.get("initialised_from") if state is not None else (str(init_from) if init_from else None)
    if scales:
        # torchvision picks one of these short sides at random per batch while training
        model.transform.min_size = tuple(s + 0.01 for s in scales)

    model.train()
    stopped_early = False
    smoothed: dict[str, float] = {}
    try:
        while step < iterations and not stopped_early:
            loaded = time.monotonic()
            for images, targets in loader:
                if step >= iterations:
                    break
                t0 = time.monotonic()
                load_seconds = t0 - loaded
                # With a time budget the schedule follows whichever of steps or time runs out first, so the
                # cosine decay completes on a slow or busy machine too.
                progress = step / iterations
                if max_minutes is not None:
                    progress = max(progress, elapsed / 60 / max_minutes)
                if progress >= 1:
                    log(f"\nstopping at iteration {step}: time budget of {max_minutes} min used")
                    stopped_early = True
                    break
                for group in optimizer.param_groups:
                    group["lr"] = learning_rate(step, progress, lr, warmup)
                images = [im.to(device) for im in images]
                targets = [{k: (v.to(device) if torch.is_tensor(v) else v) for k, v in t.items()} for t in targets]
                losses = model(images, targets)
                total = sum(losses.values())
                if not torch.isfinite(total):
                    raise FloatingPointError(f"loss became {total.item()} at iteration {step}; lower --lr")
                optimizer.zero_grad(set_to_none=True)
                total.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
                optimizer.step()
                step += 1
                images_seen += len(images)
                elapsed += time.monotonic() - t0 + load_seconds
                for k, v in losses.items():
                    smoothed[k] = 0.9 * smoothed.get(k, v.item()) + 0.1 * v.item()
                line = (f"iter {step}/{iterations} lr {optimizer.param_groups[0]['lr']:.2e} loss {total.item():.3f} "
                        + " ".join(f"{k[5:]} {v:.3f}" for k, v in smoothed.items())
                        + f" s/it {elapsed / step if step else 0:.2f}")
                log_file.write(f"{time.strftime('%H:%M:%S')} {line}\n")
                log_file.flush()
                if sys.stderr.isatty():
                    done = int(30 * step / iterations)
                    sys.stderr.write(f"\r[{'#' * done}{'.' * (30 - done)}] {line[:110]}")
                    sys.stderr.flush()
                if step % checkpoint_every == 0:
                    checkpoint()
                loaded = time.monotonic()
    finally:
        checkpoint()
        log_file.close()
        if sys.stderr.isatty():
            sys.stderr.write("\n")
    log(f"trained {step} iterations in {elapsed / 60:.1f} min; checkpoint {checkpoint_path}")
    return checkpoint_path
