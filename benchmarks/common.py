"""Shared pieces of the benchmarks: the record type, timers, machine description."""
from __future__ import annotations

import os
import platform
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Record:
    """One measured number against its baseline.

    ``value``: the engine's number; ``baseline``: the same quantity for the reference method;
    ``ratio``: baseline / value (a speed-up or a reduction factor; None if undefined);
    ``target``: the threshold, applied to ``target_of`` ("ratio" or "value") with
    ``comparison`` (">=" or "<="); ``met``: True/False, or None when not measured (e.g. an
    optional dependency is missing - ``notes`` says why)."""

    name: str
    value: float | None
    baseline: float | None
    unit: str
    target: float | None
    target_of: str = "ratio"
    comparison: str = ">="
    ratio: float | None = None
    met: bool | None = None
    notes: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.ratio is None and self.value not in (None, 0) and self.baseline is not None:
            self.ratio = float(self.baseline) / float(self.value)
        if self.met is None and self.target is not None:
            x = self.ratio if self.target_of == "ratio" else self.value
            if x is not None and np.isfinite(x):
                self.met = bool(x >= self.target if self.comparison == ">=" else x <= self.target)

    def as_dict(self) -> dict:
        d = asdict(self)
        for k in ("value", "baseline", "ratio", "target"):
            if d[k] is not None:
                d[k] = float(d[k])
        return d


def best_time(fn, repeat: int = 5, min_time: float = 0.2) -> float:
    """Best wall time of one call of ``fn`` over ``repeat`` rounds (each round loops until
    ``min_time`` has passed, to beat timer resolution): the least disturbed run on a
    shared machine."""
    best = np.inf
    for _ in range(repeat):
        n, t0 = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            dt = time.perf_counter() - t0
            if dt >= min_time:
                break
        best = min(best, dt / n)
    return best


def best_cpu_time(fn, repeat: int = 5, min_time: float = 0.2) -> float:
    """:func:`best_time` in CPU time of this process (``time.process_time``): on a shared,
    oversubscribed machine the wall time of a round also counts the time the process waits
    for a core."""
    best = np.inf
    for _ in range(repeat):
        n, t0 = 0, time.process_time()
        while True:
            fn()
            n += 1
            dt = time.process_time() - t0
            if dt >= min_time:
                break
        best = min(best, dt / n)
    return best


def cache_limit(route: str) -> int:
    """Samples per rank up to which :class:`solvers.stability.ChiEvaluator` keeps its blocks
    between calls (``CACHE_SAMPLES`` if set, else the byte budget over the route's bytes per
    sample)."""
    from solvers.stability import routes

    fixed = getattr(routes, "CACHE_SAMPLES", None)
    if fixed is not None:
        return int(fixed)
    return int(routes.CACHE_BYTES // routes.BYTES_PER_SAMPLE[route])


def machine_info() -> dict:
    import numba
    import scipy

    info = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "numba": numba.__version__,
        "numba_threads": numba.get_num_threads(),
    }
    try:
        info["loadavg_at_start"] = list(os.getloadavg())
    except OSError:
        pass
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        info["git"] = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT,
                                     capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def random_blocks(n: int, seed: int = 0, gamma: float | None = 1e-3, omega0: float = 1.0):
    """n random Nambu blocks h_k (spec §3) with Δ± ≠ 0, as the engine builds them.

    Rotating-frame energies xi ∈ [-0.3, 0.3] t around the resonance, Rabi Ω_k ∈ [0, 5e-3],
    |Δ±| ≤ 2e-3 with random phases, rates Γ = ``gamma`` on every mode (random in
    [5e-4, 2e-3] if None), bath chemical potentials ±ω0/2 of the rotating frame.
    Returns (h (n,4,4), gamma (n,4), m (n,4) Nambu chemical potentials)."""
    from keldysh.nambu import nambu_chemical_potentials, nambu_hamiltonian

    rng = np.random.default_rng(seed)
    xi = rng.uniform(-0.3, 0.3, (n, 4))
    rabi = rng.uniform(0.0, 5e-3, n)
    dp = 2e-3 * rng.uniform(0.2, 1.0, n) * np.exp(2j * np.pi * rng.uniform(size=n))
    dm = 2e-3 * rng.uniform(0.2, 1.0, n) * np.exp(2j * np.pi * rng.uniform(size=n))
    h = np.stack([nambu_hamiltonian(xi[i], rabi[i], dp[i], dm[i]) for i in range(n)])
    g = np.full((n, 4), gamma) if gamma is not None else rng.uniform(5e-4, 2e-3, (n, 4))
    bath_mu = np.array([0.5, -0.5, 0.5, -0.5]) * omega0
    m = np.tile(nambu_chemical_potentials(bath_mu), (n, 1))
    return h, g, m
