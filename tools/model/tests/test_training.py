"""Training as the app's loop needs it: class heads matched by name, photos as Loupe shows them (EXIF orientation,
every format it scans), a clear error for CUDA without a CUDA build, progress as JSON lines, a kill -9 or Ctrl-C
then the same command continuing, and several processes under torchrun."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tools.model.dataset import ORIENTATION_TRANSPOSE, CocoDataset, DatasetError, displayed_size, read_rgb
from tools.model.devices import DeviceError, resolve_device
from tools.model.tests.support import REPO_ROOT, quiet, run_cli
from tools.model.train import train

# Stored pixels that show as the original once an orientation's transpose is applied (each is its own inverse but
# the quarter turns).
STORED_FOR = {o: {Image.Transpose.ROTATE_90: Image.Transpose.ROTATE_270,
                  Image.Transpose.ROTATE_270: Image.Transpose.ROTATE_90}.get(t, t)
              for o, t in ORIENTATION_TRANSPOSE.items()}
SMALL = ["--min-size", "128", "--max-size", "160", "--batch-size", "1", "--workers", "0", "--warmup", "1"]


def save_oriented(shown: Image.Image, path: Path, orientation: int, **options) -> None:
    stored = shown.transpose(STORED_FOR[orientation]) if orientation in STORED_FOR else shown
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(path, exif=exif.tobytes(), **options)


def sharp_decode(paths: list[Path], out: Path) -> list[dict]:
    """Each file through the pipeline Loupe's inference decodes with (main/inference/decode.ts): sharp, rotated
    by EXIF, alpha removed, sRGB; raw RGB bytes plus the size Loupe's probe records (main/fs/probe.ts)."""
    script = """
import sharp from 'sharp';
import { writeFileSync } from 'node:fs';
const [out, ...files] = process.argv.slice(1);
const described = [];
for (const [i, file] of files.entries()) {
  const meta = await sharp(file, { pages: 1 }).metadata();
  const o = meta.orientation ?? 1;
  const probed = o >= 5 && o <= 8 ? [meta.height, meta.width] : [meta.width, meta.height];
  const { data, info } = await sharp(file).rotate().removeAlpha().toColourspace('srgb').raw()
    .toBuffer({ resolveWithObject: true });
  writeFileSync(`${out}/${i}.rgb`, data);
  described.push({ probed, width: info.width, height: info.height, channels: info.channels });
}
console.log(JSON.stringify(described));
"""
    result = subprocess.run(["node", "--input-type=module", "-e", script, str(out), *map(str, paths)],
                            cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def pattern(width: int = 60, height: int = 40) -> Image.Image:
    """Smooth and asymmetric, so a wrong turn or flip shows and lossy codecs stay close to it."""
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 // width, y * 255 // height, np.full_like(x, 90)], -1).astype(np.uint8)
    rgb[:8, :12] = [250, 20, 20]
    return Image.fromarray(rgb)


def test_images_are_read_as_loupe_shows_them_in_every_orientation_and_format(tmp_path):
    shown = pattern()
    files = []
    for o in range(1, 9):
        files.append(tmp_path / f"o{o}.jpg")
        save_oriented(shown, files[-1], o, quality=95)
    for suffix, options in ((".png", {}), (".webp", {"lossless": True}), (".tiff", {})):
        files.append(tmp_path / f"o6{suffix}")
        save_oriented(shown, files[-1], 6, **options)
    rgba = shown.convert("RGBA")
    rgba.putalpha(128)
    files.append(tmp_path / "alpha.png")
    rgba.save(files[-1])
    files.append(tmp_path / "grey16.png")
    Image.fromarray((np.asarray(shown.convert("L"), np.uint16) * 257)).save(files[-1])
    files.append(tmp_path / "first-frame.gif")
    shown.save(files[-1], save_all=True, append_images=[shown.transpose(Image.Transpose.ROTATE_180)])

    for path, loupe in zip(files, sharp_decode(files, tmp_path)):
        index = files.index(path)
        ours = read_rgb(path)
        assert displayed_size(path) == tuple(loupe["probed"]) == (60, 40), path.name
        assert ours.shape == (loupe["height"], loupe["width"], 3), path.name
        theirs = np.frombuffer((tmp_path / f"{index}.rgb").read_bytes(), np.uint8).reshape(ours.shape)
        assert np.abs(ours.astype(int) - theirs).max() <= 2, path.name
        upright = np.asarray(shown if path.name != "grey16.png" else shown.convert("L").convert("RGB"))
        assert np.abs(ours.astype(int) - upright).mean() < 5, f"{path.name} is not shown upright"

    # BMP: Loupe decodes it itself (main/fs/bmp.ts), without orientation; lossless.
    shown.save(tmp_path / "plain.bmp")
    assert np.array_equal(read_rgb(tmp_path / "plain.bmp"), np.asarray(shown))


def test_a_photo_with_exif_orientation_6_trains_with_its_annotations_in_the_shown_pixels(dataset_dir, tmp_path):
    copy = Path(shutil.copytree(dataset_dir, tmp_path / "copy"))
    coco = json.loads((copy / "annotations.json").read_text())
    first = coco["images"][0]
    shown = Image.open(copy / first["file_name"])
    rotated = copy / "images/rot.jpg"
    save_oriented(shown, rotated, 6, quality=95)
    first["file_name"] = "images/rot.jpg"  # width and height stay the shown ones, as Loupe exports them
    (copy / "annotations.json").write_text(json.dumps(coco))
    assert Image.open(rotated).size == (first["height"], first["width"])

    dataset = CocoDataset(copy)
    index = next(i for i, im in enumerate(dataset.images) if im["file_name"] == "images/rot.jpg")
    image, target = dataset[index]
    assert tuple(image.shape[1:]) == (first["height"], first["width"])
    assert (image - torch.from_numpy(np.asarray(shown, np.float32) / 255).permute(2, 0, 1)).abs().mean() < 0.02
    train(str(copy), str(tmp_path / "run"), iterations=1, batch_size=2, warmup=1, workers=0, log=quiet)

    # A file whose size disagrees with annotations.json is named before training starts.
    first["width"], first["height"] = first["height"], first["width"]
    (copy / "annotations.json").write_text(json.dumps(coco))
    with pytest.raises(DatasetError, match=r"1 image\(s\) differ in size.*rot\.jpg is \d+x\d+, not"):
        CocoDataset(copy)


def test_class_heads_are_matched_by_name_for_a_reordered_class_list(dataset_dir, checkpoint, tmp_path):
    copy = Path(shutil.copytree(dataset_dir, tmp_path / "copy"))
    coco = json.loads((copy / "annotations.json").read_text())
    old = {c["id"]: c["name"] for c in coco["categories"]}
    new_ids = {"star": 1, "triangle": 2, "circle": 3, "hexagon": 4}  # rectangle gone, hexagon new
    kept = [a for a in coco["annotations"] if old[a["category_id"]] != "rectangle"]
    for a in kept:
        a["category_id"] = new_ids[old[a["category_id"]]]
    kept[0]["category_id"] = new_ids["hexagon"]
    coco["annotations"] = kept
    coco["categories"] = [{"id": i, "name": n} for n, i in new_ids.items()]
    (copy / "annotations.json").write_text(json.dumps(coco))

    lines = []
    tuned = train(str(copy), str(tmp_path / "run"), iterations=1, batch_size=2, lr=0.0, warmup=1, workers=0,
                  init_from=str(checkpoint), log=lines.append)
    started = next(line for line in lines if line.startswith("starting from the weights of"))
    assert "new classes: hexagon" in started and "not in this dataset: rectangle" in started
    assert "fresh:" not in started
    before, after = torch.load(checkpoint)["model"], torch.load(tuned)["model"]
    old_label = {"__background__": 0, "circle": 1, "rectangle": 2, "triangle": 3, "star": 4}
    new_label = {"__background__": 0, "star": 1, "triangle": 2, "circle": 3, "hexagon": 4}
    for key, rows in (("roi_heads.box_predictor.cls_score.weight", 1), ("roi_heads.box_predictor.bbox_pred.weight", 4),
                      ("roi_heads.box_predictor.bbox_pred.bias", 4), ("roi_heads.mask_predictor.mask_fcn_logits.bias", 1),
                      ("roi_heads.mask_predictor.mask_fcn_logits.weight", 1)):
        for name in ("__background__", "star", "triangle", "circle"):
            i, j = new_label[name] * rows, old_label[name] * rows
            assert torch.equal(after[key][i:i + rows], before[key][j:j + rows]), f"{key}: {name}"
        hexagon = after[key][4 * rows:5 * rows]
        assert not any(torch.equal(hexagon, before[key][j * rows:(j + 1) * rows]) for j in range(5)), key


def test_cuda_without_a_cuda_build_says_how_to_install_one(dataset_dir, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has a usable GPU")
    expected = r"built without CUDA.*setup-venv\.sh --cuda" if torch.version.cuda is None else r"sees no usable GPU"
    with pytest.raises(DeviceError, match=expected):
        resolve_device("cuda")
    result = run_cli("train", str(dataset_dir), "--out", str(tmp_path / "run"), "--iterations", "1", "--device", "cuda")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: --device cuda:")


def read_events(process: subprocess.Popen, until) -> list[dict]:
    events = []
    for line in process.stdout:
        events.append(json.loads(line))
        if until(events[-1]):
            break
    return events


def test_kill_9_then_the_same_command_continues_from_the_last_checkpoint(dataset_dir, tmp_path):
    command = [sys.executable, "-m", "tools.model", "train", str(dataset_dir), "--out", str(tmp_path / "run"),
               "--iterations", "8", "--checkpoint-every", "1", "--progress", "jsonl", *SMALL]
    first = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        events = read_events(first, lambda e: e["event"] == "checkpoint" and e["iteration"] >= 2)
    finally:
        first.kill()  # SIGKILL: no handler runs, no checkpoint is written on the way out
        first.wait(timeout=60)
    assert first.returncode == -signal.SIGKILL
    start = events[0]
    assert start["event"] == "start" and start["protocol"] == 1 and start["resumed"] is False
    assert start["iterations"] == 8 and start["classes"] == ["circle", "rectangle", "triangle", "star"]
    iteration = next(e for e in events if e["event"] == "iteration")
    assert {"iteration", "iterations", "loss", "losses", "lr", "images_per_second", "elapsed_seconds",
            "eta_seconds"} <= set(iteration)
    saved = torch.load(tmp_path / "run/last.pt")["iteration"]
    assert 2 <= saved < 8

    second = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr
    events = [json.loads(line) for line in second.stdout.splitlines()]
    assert events[0]["event"] == "start" and events[0]["resumed"] is True and events[0]["iteration"] == saved
    assert [e["iteration"] for e in events if e["event"] == "iteration"] == list(range(saved + 1, 9))
    assert events[-1] == {**events[-1], "event": "done", "iteration": 8, "reason": "completed"}
    assert torch.load(tmp_path / "run/last.pt")["iteration"] == 8


def test_ctrl_c_writes_a_checkpoint_and_stops_with_status_130(dataset_dir, tmp_path):
    command = [sys.executable, "-m", "tools.model", "train", str(dataset_dir), "--out", str(tmp_path / "run"),
               "--iterations", "50", "--checkpoint-every", "100", "--progress", "jsonl", *SMALL]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    read_events(process, lambda e: e["event"] == "iteration")
    process.send_signal(signal.SIGINT)
    rest, errors = process.communicate(timeout=300)
    assert process.returncode == 130, errors
    events = [json.loads(line) for line in rest.splitlines()]
    done = events[-1]
    assert done["event"] == "done" and done["reason"] == "interrupted" and done["iteration"] < 50
    assert events[-2] == {"event": "checkpoint", "iteration": done["iteration"], "path": str(tmp_path / "run/last.pt")}
    assert torch.load(tmp_path / "run/last.pt")["iteration"] == done["iteration"]
    assert "run the same command to continue" in errors


def launcher_stream_bug() -> bool:
    """torch 1.x's torchrun reads its default --redirects/--tee "0" as no value under Python 3.11 (the enum flag 0
    is no longer iterated) and fails before starting a process; naming both streams works around it."""
    return int(torch.__version__.split(".")[0]) < 2 and sys.version_info >= (3, 11)


def test_torchrun_trains_with_two_processes(dataset_dir, tmp_path):
    logs = ["--redirects", "1", "--tee", "2", "--log_dir", str(tmp_path / "logs")] if launcher_stream_bug() else []
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *logs,
         "-m", "tools.model", "train", str(dataset_dir), "--out", str(tmp_path / "run"), "--iterations", "2",
         "--progress", "jsonl", "--min-size", "128", "--max-size", "160", "--batch-size", "1", "--workers", "1",
         "--warmup", "1"],
        cwd=REPO_ROOT, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    if logs:
        outputs = {int(p.parent.name): p.read_text() for p in (tmp_path / "logs").glob("*/attempt_0/*/stdout.log")}
        assert outputs[1] == "", "only rank 0 reports"
        stdout = outputs[0]
    else:
        stdout = result.stdout
    events = [json.loads(line) for line in stdout.splitlines()]
    starts = [e for e in events if e["event"] == "start"]
    assert len(starts) == 1, "only rank 0 reports"
    assert starts[0]["world_size"] == 2 and starts[0]["batch_size"] == 2 and starts[0]["workers"] == 1
    assert events[-1]["event"] == "done" and events[-1]["iteration"] == 2
    state = torch.load(tmp_path / "run/last.pt")
    assert state["world_size"] == 2 and state["images_seen"] == 4 and state["iteration"] == 2
