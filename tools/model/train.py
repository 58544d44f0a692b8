"""Training a Mask R-CNN on a COCO dataset directory: resumable checkpoints, a loss log, progress for people and for
programs, graceful stops, and several processes under torchrun (DistributedDataParallel).

Crash safety: the checkpoint (RUN/last.pt) is replaced atomically every --checkpoint-every iterations and at the end,
so after a crash or `kill -9` the same command continues from the last one; Ctrl-C (or SIGTERM) finishes the
iteration under way, writes a checkpoint and stops (a second Ctrl-C aborts at once, keeping the last checkpoint)."""

from __future__ import annotations

import math
import os
import platform
import random
import re
import signal
import threading
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path

import torch

from .dataset import Classes, CocoDataset, DatasetError, collate
from .devices import DeviceError, resolve_device
from .distributed import Processes
from .net import Architecture, build_model
from .progress import PROTOCOL_VERSION, Progress, Rate
from .weights import load_matching


class CheckpointError(Exception):
    """A checkpoint that cannot be used here, with the reason."""


class TrainingInterrupted(Exception):
    """Training stopped by Ctrl-C or SIGTERM after writing its checkpoint; the same command continues it."""

    def __init__(self, iteration: int, checkpoint: Path):
        super().__init__(f"interrupted at iteration {iteration}; checkpoint {checkpoint} (run the same command "
                         "to continue)")
        self.iteration = iteration
        self.checkpoint = checkpoint


def save_checkpoint(path: Path, **state) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as file:
        torch.save(state, file)
        file.flush()
        os.fsync(file.fileno())
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


def architecture_of(path: str | Path, state: dict) -> Architecture:
    try:
        return Architecture.from_dict(state["architecture"])
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: {error}") from error


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
    return model


def learning_rate(step: int, progress: float, base: float, warmup: int) -> float:
    """Linear warmup over `warmup` steps, then cosine decay to 1% of base as progress goes from 0 to 1."""
    if step < warmup:
        return base * (0.02 + 0.98 * step / warmup)
    return base * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def machine_description(device: torch.device, world_size: int) -> str:
    if device.type == "cuda":
        return f"{world_size} x {torch.cuda.get_device_name(device)}, CUDA {torch.version.cuda}"
    return (f"{platform.system()} {platform.machine()}, {torch.get_num_threads()} CPU threads"
            + (f" x {world_size} processes" if world_size > 1 else ""))


def default_workers(device: torch.device, processes: Processes) -> int:
    """DataLoader worker processes per training process: a few on a GPU, one on a CPU (whose cores the model
    already uses), never more than the cores allow."""
    cores = os.cpu_count() or 1
    per_process = max(0, cores // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", processes.world_size))) - 1)
    return min(4 if device.type == "cuda" else 1, per_process)


def ignore_interrupts_in_worker(_worker_id: int) -> None:
    # Ctrl-C reaches the whole process group: the main process decides when to stop, the loaders keep loading.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class StopRequest:
    """Ctrl-C or SIGTERM asks training to stop after the iteration under way; a second Ctrl-C aborts at once."""

    def __init__(self):
        self.requested = False
        self.signal_name = ""

    @contextmanager
    def installed(self):
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

        def handler(signum, _frame):
            if self.requested and signum == signal.SIGINT:
                raise KeyboardInterrupt
            self.requested = True
            self.signal_name = signal.Signals(signum).name

        for s in previous:
            signal.signal(s, handler)
        try:
            yield self
        finally:
            for s, h in previous.items():
                signal.signal(s, h)


def batches(loader):
    """The loader's batches; a DatasetError raised in a worker process arrives wrapped in its traceback, and leaves
    here with its own message again."""
    iterator = iter(loader)
    while True:
        try:
            batch = next(iterator)
        except StopIteration:
            return
        except DatasetError as error:
            found = re.findall(r"DatasetError: (.+)", str(error))
            raise (DatasetError(found[-1].strip()) if found else error) from None
        yield batch


def autocast(enabled: bool):
    return torch.autocast(device_type="cuda", dtype=torch.float16) if enabled else nullcontext()


def grad_scaler(enabled: bool):
    if hasattr(torch, "amp") and hasattr(torch.amp, "GradScaler"):
        return torch.amp.GradScaler("cuda", enabled=enabled)
    return torch.cuda.amp.GradScaler(enabled=enabled)


def train(data: str, out: str, iterations: int, batch_size: int = 4, lr: float = 1.5e-3, warmup: int = 200,
          weight_decay: float = 1e-4, checkpoint_every: int = 100, device: str = "cpu", threads: int | None = None,
          max_minutes: float | None = None, seed: int = 0, arch: Architecture | None = None,
          machine: str | None = None, init_from: str | None = None, input_size: dict | None = None,
          scales: list[int] | None = None, workers: int | None = None, amp: bool | None = None,
          rois_per_image: int | None = None, progress: Progress | None = None, log=print) -> Path:
    """Trains (or resumes from out/last.pt) and returns the path of the final checkpoint.

    arch: a new run's network (default loupe-small); with pretrained="coco" it starts from torchvision's COCO
    weights. init_from starts a new run from another checkpoint's weights with a fresh schedule (fine-tuning, e.g.
    the default model on reviewed annotations): class rows are matched by class name; input_size
    ({"min_size", "max_size"}) may change there, as it holds no weights. scales lists short sides picked at random
    per batch (multi-scale training). rois_per_image: region proposals sampled per image for the box and mask heads
    (the network's own default when None: 128 for loupe-small, torchvision's 512 for the others). Under torchrun
    every process runs this; batch_size is per process.
    Raises TrainingInterrupted after a graceful stop (Ctrl-C, SIGTERM)."""
    processes = Processes.from_environment()
    torch_device = resolve_device(device, processes.local_rank)
    processes.start(torch_device)
    try:
        return _train(processes, torch_device, data, out, iterations, batch_size, lr, warmup, weight_decay,
                      checkpoint_every, threads, max_minutes, seed, arch, machine, init_from, input_size, scales,
                      workers, amp, rois_per_image, (progress or Progress(log=log)) if processes.is_main else Progress.silent(),
                      log if processes.is_main else (lambda *_: None))
    finally:
        processes.stop()


def _train(processes: Processes, device: torch.device, data, out, iterations, batch_size, lr, warmup, weight_decay,
           checkpoint_every, threads, max_minutes, seed, arch, machine, init_from, input_size, scales, workers, amp,
           rois_per_image, progress: Progress, log) -> Path:
    if threads:
        torch.set_num_threads(threads)
    out_dir = Path(out)
    checkpoint_path = out_dir / "last.pt"
    dataset = CocoDataset(data, annotated_classes_only=True, augment=True)
    if len(dataset) == 0:
        raise DatasetError(f"{dataset.annotation_file}: 'images' is empty; nothing to train on")
    if dataset.left_out:
        log(f"left out (no instances to learn from): {', '.join(dataset.left_out)}")
    labels = dataset.classes.labels

    state = load_checkpoint(checkpoint_path) if checkpoint_path.exists() else None
    initial = None
    if state is not None:
        check_classes(checkpoint_path, Classes.from_dict(state["classes"]), dataset)
        resumed_arch = architecture_of(checkpoint_path, state)
        if arch is not None and arch.name != resumed_arch.name:
            raise CheckpointError(f"{checkpoint_path}: this run trains {resumed_arch.name}, not {arch.name}; "
                                  "use another --out for a new run")
        arch = resumed_arch
    elif init_from:
        initial = load_checkpoint(init_from)
        initial_arch = architecture_of(init_from, initial)
        if arch is not None and arch.name != initial_arch.name:
            raise CheckpointError(f"{init_from}: a {initial_arch.name} checkpoint cannot start a {arch.name} run")
        arch = Architecture.from_dict({**initial_arch.to_dict(), **(input_size or {})})
    arch = arch or Architecture()

    torch.manual_seed(seed)  # the initial weights of a new run are reproducible, and the same in every process
    model = build_model(len(labels), arch)
    init_report = None
    if initial is not None:
        init_report = load_matching(model, initial["model"], labels, Classes.from_dict(initial["classes"]).labels)
        log(f"starting from the weights of {init_from} (iteration {initial.get('iteration')})"
            + (f"; new classes: {', '.join(init_report['new_classes'])}" if init_report["new_classes"] else "")
            + (f"; not in this dataset: {', '.join(init_report['missing_classes'])}"
               if init_report["missing_classes"] else "")
            + (f"; fresh: {', '.join(init_report['fresh'])}" if init_report["fresh"] else ""))
    elif state is None and arch.pretrained == "coco":
        from .torchvision_nets import load_pretrained
        # one process downloads into torch's cache, the others read it from there
        if processes.is_main:
            init_report = load_pretrained(model, arch, dataset.classes.names, log)
        processes.barrier()
        if not processes.is_main:
            init_report = load_pretrained(model, arch, dataset.classes.names, lambda *_: None)
    model.to(device)

    amp = device.type == "cuda" if amp is None else amp
    if amp and device.type != "cuda":
        raise DeviceError("mixed precision (--amp) needs --device cuda")
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=lr, weight_decay=weight_decay)
    scaler = grad_scaler(amp)
    step, elapsed, images_seen, prior_seconds, epoch = 0, 0.0, 0, 0.0, 0
    if initial is not None:
        prior_seconds = initial.get("training_seconds", 0.0) + initial.get("prior_training_seconds", 0.0)
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if amp and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        step, elapsed = state["iteration"], state["training_seconds"]
        prior_seconds = state.get("prior_training_seconds", 0.0)
        scales = scales or state.get("scales")
        rois_per_image = rois_per_image or state.get("rois_per_image")
        images_seen = state.get("images_seen", step * state.get("batch_size", batch_size))
        epoch = state.get("epoch", 0)
        log(f"resumed from {checkpoint_path} at iteration {step}")
    random.seed(seed + step + 1000 * processes.rank)
    torch.manual_seed(seed + step + 1000 * processes.rank)

    training_model = model
    if processes.distributed:
        training_model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
    if workers is None:
        workers = default_workers(device, processes)
    if processes.distributed:
        sampler = torch.utils.data.DistributedSampler(dataset, processes.world_size, processes.rank, shuffle=True,
                                                      seed=seed)
    else:
        sampler = torch.utils.data.RandomSampler(dataset)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, sampler=sampler, collate_fn=collate, num_workers=workers,
        pin_memory=device.type == "cuda", drop_last=len(sampler) > batch_size, persistent_workers=workers > 0,
        worker_init_fn=ignore_interrupts_in_worker if workers > 0 else None)
    if processes.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
    log_file = (out_dir / "train.log").open("a") if processes.is_main else None
    machine = machine or machine_description(device, processes.world_size)
    initialised_from = (state.get("initialised_from") if state is not None
                        else str(init_from) if init_from
                        else f"torchvision {arch.name} COCO weights" if arch.pretrained == "coco" else None)
    images_per_step = batch_size * processes.world_size

    def checkpoint() -> None:
        if not processes.is_main:
            return
        save_checkpoint(checkpoint_path, model=model.state_dict(), optimizer=optimizer.state_dict(),
                        scaler=scaler.state_dict() if amp else None, iteration=step, training_seconds=elapsed,
                        images_seen=images_seen, classes=dataset.classes.to_dict(), architecture=arch.to_dict(),
                        data=dataset.summary(), batch_size=batch_size, world_size=processes.world_size,
                        # torch.__version__ is a str subclass that torch 2's weights-only loader refuses
                        planned_iterations=iterations, machine=machine, torch=str(torch.__version__),
                        prior_training_seconds=prior_seconds, initialised_from=initialised_from, scales=scales,
                        rois_per_image=rois_per_image, epoch=epoch)
        progress.emit("checkpoint", iteration=step, path=str(checkpoint_path))

    if rois_per_image:
        model.roi_heads.fg_bg_sampler.batch_size_per_image = rois_per_image
    if scales:
        # torchvision picks one of these short sides at random per batch while training
        model.transform.min_size = tuple(s + 0.01 for s in scales)

    progress.emit("start", protocol=PROTOCOL_VERSION, run=str(out_dir), checkpoint=str(checkpoint_path),
                  iteration=step, iterations=iterations, resumed=state is not None, max_minutes=max_minutes,
                  arch=arch.name, pretrained=arch.pretrained, initialised_from=initialised_from,
                  device=str(device), world_size=processes.world_size, batch_size=images_per_step,
                  workers=workers, amp=amp, images=len(dataset), classes=dataset.classes.names,
                  left_out=dataset.left_out, init=init_report)
    model.train()
    reason = "completed"
    smoothed: dict[str, float] = {}
    rate = Rate()
    stop = StopRequest()
    try:
        with stop.installed():
            while step < iterations and reason == "completed":
                if processes.distributed:
                    sampler.set_epoch(epoch)
                loaded = time.monotonic()
                for images, targets in batches(loader):
                    t0 = time.monotonic()
                    load_seconds = t0 - loaded
                    # With a time budget the schedule follows whichever of steps or time runs out first, so the
                    # cosine decay completes on a slow or busy machine too.
                    fraction = step / iterations
                    if max_minutes is not None:
                        fraction = max(fraction, elapsed / 60 / max_minutes)
                    stop_now, fraction = processes.agree(stop.requested, fraction, device)
                    if stop_now:
                        reason = "interrupted"
                        break
                    if fraction >= 1:
                        log(f"stopping at iteration {step}: time budget of {max_minutes} min used")
                        reason = "time-budget"
                        break
                    for group in optimizer.param_groups:
                        group["lr"] = learning_rate(step, fraction, lr, warmup)
                    images = [im.to(device, non_blocking=True) for im in images]
                    targets = [{k: (v.to(device, non_blocking=True) if torch.is_tensor(v) else v)
                                for k, v in t.items()} for t in targets]
                    with autocast(amp):
                        losses = training_model(images, targets)
                        total = sum(losses.values())
                    if not torch.isfinite(total):
                        raise FloatingPointError(f"loss became {total.item()} at iteration {step}; lower --lr")
                    optimizer.zero_grad(set_to_none=True)
                    scaler.scale(total).backward()
                    scaler.unscale_(optimizer)
                    torch.nn.utils.clip_grad_norm_(trainable, 10.0)
                    scaler.step(optimizer)
                    scaler.update()
                    step += 1
                    images_seen += images_per_step
                    seconds = time.monotonic() - t0 + load_seconds
                    elapsed += seconds
                    rate.add(seconds)
                    for k, v in losses.items():
                        smoothed[k] = 0.9 * smoothed.get(k, v.item()) + 0.1 * v.item()
                    if log_file is not None:
                        report(progress, log_file, step, iterations, optimizer.param_groups[0]["lr"], total.item(),
                               smoothed, rate, images_per_step, elapsed, max_minutes)
                    if step % checkpoint_every == 0:
                        checkpoint()
                    if step >= iterations:
                        break
                    loaded = time.monotonic()
                else:
                    epoch += 1  # the loader ran dry: the next pass over the data
        progress.end_bar()
        checkpoint()
        processes.barrier()
    finally:
        if log_file is not None:
            log_file.close()
    progress.emit("done", iteration=step, iterations=iterations, reason=reason, checkpoint=str(checkpoint_path),
                  seconds=round(elapsed, 1))
    if reason == "interrupted":
        log(f"stopped by {stop.signal_name or 'another process'} at iteration {step}; checkpoint {checkpoint_path}")
        raise TrainingInterrupted(step, checkpoint_path)
    log(f"trained {step} iterations in {elapsed / 60:.1f} min; checkpoint {checkpoint_path}")
    return checkpoint_path


def report(progress: Progress, log_file, step: int, iterations: int, lr: float, loss: float,
           smoothed: dict[str, float], rate: Rate, images_per_step: int, elapsed: float,
           max_minutes: float | None) -> None:
    """One iteration's line in train.log and on the progress channel (bar or JSON)."""
    seconds_per_step = rate.seconds or 0.0
    left = (iterations - step) * seconds_per_step
    if max_minutes is not None:
        left = min(left, max(0.0, max_minutes * 60 - elapsed))
    line = (f"iter {step}/{iterations} lr {lr:.2e} loss {loss:.3f} "
            + " ".join(f"{k[5:]} {v:.3f}" for k, v in smoothed.items())
            + f" s/it {elapsed / step if step else 0:.2f}")
    log_file.write(f"{time.strftime('%H:%M:%S')} {line}\n")
    log_file.flush()
    progress.iteration(line, step, iterations, loss=round(loss, 5), losses={k: round(v, 5) for k, v in smoothed.items()},
                       lr=lr, images_per_second=round(images_per_step / seconds_per_step, 3) if seconds_per_step else None,
                       elapsed_seconds=round(elapsed, 2), eta_seconds=round(left, 1))
