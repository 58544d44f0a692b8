"""python -m tools.model.child <command> ...: a tools.model command run by another program (`loupe train`, the
desktop app), which stops it through stdin the same way on every platform:

- a line `stop` is a Ctrl-C: training stops after the iteration under way, writes its checkpoint and exits 130; a
  second `stop` aborts at once, keeping the previous checkpoint;
- stdin closing (the parent ended, even by kill -9) is a SIGTERM: training stops at the next checkpoint the same way,
  so the same command run again continues, and no training outlives the program that started it.

The arguments and exit status are those of `python -m tools.model`.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

from .__main__ import main


def watch_parent() -> None:
    # os.read on the descriptor, not sys.stdin: a DataLoader worker forked while this thread held sys.stdin's lock
    # would hang closing sys.stdin (multiprocessing does that in every child it starts).
    fd = sys.stdin.fileno()
    pending = b""
    while chunk := os.read(fd, 256):
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            if line.strip() == b"stop":
                signal.raise_signal(signal.SIGINT)
    # Nobody reads the output any more: writing it to closed pipes would end the run before its checkpoint.
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    signal.raise_signal(signal.SIGTERM)


if __name__ == "__main__":
    threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()
    sys.exit(main())
