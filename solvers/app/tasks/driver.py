"""The resumable scan driver, apart from the physics (as TeNPy separates its Simulation
from the algorithms): it owns the loop over the scan values, the completed flags, the
per-point timings, resuming from an earlier run, the checkpoints and stopping on request.

A task gives it a ``point(i, value) -> dict`` function (the physics of one scan point:
arrays that the driver stacks along a new first axis of length n_scan, NaN where a point
is not done) and a ``sections() -> dict`` function (the task's own ``mesh`` and ``grids``
sections of the output; a task that serializes its points itself returns ``results`` there
too, and may add entries to ``history``).  The caller gives :class:`ScanHooks` (resume state, checkpoint
writer, stop flag) and a :class:`Progress`.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Progress", "ScanHooks", "Interrupted", "ScanDriver", "scan_resume_state"]

log = logging.getLogger(__name__)


class Progress:
    """Progress of a task in work units; this base class reports nothing.

    ``start(total, done)`` is called once, ``advance(n)`` after each finished unit."""

    def start(self, total: int, done: int = 0, desc: str = "") -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class ScanHooks:
    """What a scan needs from its caller (all optional).

    ``resume``: the state of an earlier run (:func:`scan_resume_state`), whose completed
    points are taken over unchanged; ``checkpoint(output)``: called on every rank with the
    partial output after each completed point except the last (the caller writes it from one
    rank); ``should_stop()``: called on every rank after each point, must return the same
    answer on all ranks (e.g. an Allreduce of a signal flag); True raises :class:`Interrupted`
    after a checkpoint."""

    resume: dict | None = None
    checkpoint: Callable[[dict], None] | None = None
    should_stop: Callable[[], bool] | None = None


class Interrupted(Exception):
    """A scan stopped early on request; ``output`` is the checkpointed partial output."""

    def __init__(self, output: dict, n_completed: int, n_total: int):
        super().__init__(f"stopped after {n_completed} of {n_total} scan points")
        self.output = output
        self.n_completed = n_completed
        self.n_total = n_total


def scan_resume_state(loaded, n: int) -> dict:
    """The resumable state of an ``n``-point scan from a loaded results file
    (:class:`keldysh.io.Results`).

    Checks that it belongs to this scan (same number of points, arrays with the scan as
    leading axis) and returns {"completed": bool (n,), "results": {...}, "history": {...},
    "grids": {...}, "mesh": {...}}.  Raises ValueError with a one-line reason otherwise."""
    if loaded.finished:
        completed = np.ones(n, bool)
    else:
        ck = loaded.checkpoint or {}
        completed = np.asarray(ck.get("completed", []), dtype=bool)
    if completed.shape != (n,):
        raise ValueError(f"checkpoint has {completed.size} scan points, the config has {n}")
    def scan_arrays(tree, where):
        out = {}
        for key, value in tree.items():
            if isinstance(value, dict):
                out[key] = scan_arrays(value, f"{where}/{key}")
                continue
            arr = np.asarray(value)
            if arr.ndim == 0 or arr.shape[0] != n:
                raise ValueError(f"{where}/{key} does not have the scan ({n} points) as first axis")
            out[key] = arr.copy()
        return out

    results = scan_arrays(loaded.results or {}, "results")
    history = {k: np.asarray(v).copy() for k, v in (loaded.history or {}).items()
               if isinstance(v, np.ndarray) and v.shape[:1] == (n,)}
    return {"completed": completed, "results": results, "history": history,
            "grids": loaded.grids or {}, "mesh": loaded.mesh or {}}


def _store(results: dict, index: int, n: int, point: dict) -> None:
    for key, value in point.items():
        arr = np.asarray(value)
        if key not in results:
            dtype = complex if np.iscomplexobj(arr) else float
            results[key] = np.full((n,) + arr.shape, np.nan, dtype=dtype)
        results[key][index] = arr


class ScanDriver:
    """One resumable scan of ``parameter`` over ``values`` for the task ``name``.

    ``per_point``: the task's bookkeeping arrays (n,) by output section, e.g.
    {"mesh": {"n_samples": ...}}; the task fills entry i in its ``point`` function, and a
    resumed run takes them over from the same section of the earlier file.  ``checkpoint``:
    False disables the checkpoint hook (output.checkpoint = false)."""

    def __init__(self, name: str, parameter: str, values, *, hooks: ScanHooks | None = None,
                 progress: Progress | None = None, checkpoint: bool = True,
                 per_point: dict[str, dict[str, np.ndarray]] | None = None):
        self.name, self.parameter = name, parameter
        self.values = np.asarray(values, dtype=float)
        self.n = n = self.values.size
        self.hooks = hooks or ScanHooks()
        self.progress = progress or Progress()
        self.checkpoint = checkpoint
        self.per_point = per_point or {}
        self.completed = np.zeros(n, bool)
        self.seconds = np.full(n, np.nan)
        self.results: dict[str, np.ndarray] = {}
        if self.hooks.resume is not None:
            self._resume(self.hooks.resume)

    def _resume(self, state: dict) -> None:
        n = self.n
        self.completed = state["completed"].copy()
        self.results = {k: v.copy() for k, v in state["results"].items()}
        old_history = state.get("history", {})
        if "seconds" in old_history:
            self.seconds = np.asarray(old_history["seconds"], dtype=float).copy()
        for section, arrays in self.per_point.items():
            old = state.get(section, {})
            for name, arr in arrays.items():
                if name in old and np.shape(old[name]) == (n,):
                    arr[:] = old[name]
        log.info("%s: resuming with %d of %d scan points done", self.name, self.completed.sum(), n)

    def output(self, sections: Callable[[], dict], finished: bool) -> dict:
        """The results-file sections now: stacked results, the task's sections, the timings
        and completed flags, and (unless finished) the checkpoint."""
        own = sections()
        history = {"seconds": self.seconds.copy(), "completed": self.completed.copy(), **own.pop("history", {})}
        out: dict[str, Any] = {"results": own.pop("results", dict(self.results)), **own, "history": history}
        if not finished:
            out["checkpoint"] = {"completed": self.completed.copy(), "n_completed": int(self.completed.sum()),
                                 "n_scan": int(self.n)}
        return out

    def run(self, point: Callable[[int, float], dict], sections: Callable[[], dict]) -> dict:
        """Compute every point not yet completed; checkpoint after each point but the last
        and stop (:class:`Interrupted`) when ``hooks.should_stop()`` says so."""
        hooks, n = self.hooks, self.n
        self.progress.start(n, int(self.completed.sum()), self.parameter)
        todo = [i for i in range(n) if not self.completed[i]]
        for count, i in enumerate(todo):
            value = float(self.values[i])
            t0 = time.perf_counter()
            _store(self.results, i, n, point(i, value))
            self.completed[i] = True
            self.seconds[i] = time.perf_counter() - t0
            self.progress.advance()
            log.info("%s: %s = %.6g done (%d/%d, %.1f s)", self.name, self.parameter, value,
                     self.completed.sum(), n, self.seconds[i])
            if count == len(todo) - 1:
                break
            partial = None
            if hooks.checkpoint is not None and self.checkpoint:
                partial = self.output(sections, finished=False)
                hooks.checkpoint(partial)
            if hooks.should_stop is not None and hooks.should_stop():
                if partial is None:
                    partial = self.output(sections, finished=False)
                    if hooks.checkpoint is not None:
                        hooks.checkpoint(partial)
                raise Interrupted(partial, int(self.completed.sum()), n)
        return self.output(sections, finished=True)
