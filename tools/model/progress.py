"""Training progress for people (a bar on a terminal) and for programs (JSON lines on stdout, `--progress jsonl`).

The JSON-lines protocol (version 1) is documented in tools/model/README.md, "Progress protocol": one object per
line, each with an "event" key: start, iteration, checkpoint, done, error."""

from __future__ import annotations

import json
import sys
from typing import Callable, TextIO

PROTOCOL_VERSION = 1


class Rate:
    """Exponentially smoothed seconds per iteration, for images/s and time left that do not jump about."""

    def __init__(self, weight: float = 0.1):
        self.weight = weight
        self.seconds: float | None = None

    def add(self, seconds: float) -> None:
        self.seconds = seconds if self.seconds is None else (1 - self.weight) * self.seconds + self.weight * seconds


class Progress:
    """events=True writes JSON lines to `stream`; otherwise iteration lines redraw a bar on a terminal's stderr."""

    def __init__(self, events: bool = False, stream: TextIO | None = None, log: Callable[[str], None] = print):
        self.events = events
        self.stream = stream or sys.stdout
        self.log = log
        self.bar = not events and sys.stderr.isatty()

    @classmethod
    def silent(cls) -> "Progress":
        """For the processes beside rank 0 under torchrun: only rank 0 reports."""
        progress = cls(events=False, log=lambda *_: None)
        progress.bar = False
        return progress

    def emit(self, event: str, **fields) -> None:
        if self.events:
            self.stream.write(json.dumps({"event": event, **fields}, separators=(",", ":")) + "\n")
            self.stream.flush()

    def iteration(self, line: str, step: int, iterations: int, **fields) -> None:
        self.emit("iteration", iteration=step, iterations=iterations, **fields)
        if self.bar:
            done = int(30 * step / max(iterations, 1))
            sys.stderr.write(f"\r[{'#' * done}{'.' * (30 - done)}] {line[:110]}")
            sys.stderr.flush()

    def end_bar(self) -> None:
        if self.bar:
            sys.stderr.write("\n")
            sys.stderr.flush()
