"""Progress of a task on rank 0: a tqdm bar on a terminal, else INFO lines."""
from __future__ import annotations

import sys
import time

from solvers.app.cli.parser import log
from solvers.app.tasks import Progress


class _TqdmProgress(Progress):
    """tqdm bar on stderr (rank 0, and only when stderr is a terminal)."""

    def __init__(self):
        self._bar = None

    def start(self, total, done=0, desc=""):
        from tqdm import tqdm

        self._bar = tqdm(total=total, initial=done, desc=desc or None, file=sys.stderr,
                         dynamic_ncols=True, leave=True)

    def advance(self, n=1):
        if self._bar is not None:
            self._bar.update(n)

    def close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class _LogProgress(Progress):
    """Progress as INFO lines (rank 0, stderr not a terminal: a log file, a batch job): one at
    the start, then at most one every ``every`` seconds, and the last unit."""

    def __init__(self, task: str, every: float = 10.0):
        self.task, self.every = task, every
        self.total = self.done = 0
        self.desc = ""
        self.t0 = self.last = 0.0

    def start(self, total, done=0, desc=""):
        self.total, self.done, self.desc = int(total), int(done), desc or "units"
        self.t0 = self.last = time.perf_counter()
        log.info("progress: %s: %d of %d %s done", self.task, self.done, self.total, self.desc)

    def advance(self, n=1):
        self.done += n
        now = time.perf_counter()
        if self.done >= self.total or now - self.last >= self.every:
            self.last = now
            log.info("progress: %s: %d of %d %s done (%.1f s)", self.task, self.done, self.total, self.desc,
                     now - self.t0)
