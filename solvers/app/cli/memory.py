"""The memory estimate per rank of a config, the memory of the node, and the preflight check of the two."""
from __future__ import annotations

import contextlib
import json
import math
import os

from solvers.app.cli.config_view import _lookup
from solvers.app.cli.parser import log
from solvers.app.config import Config


_GIB = 1024**3
#: resident size of a rank before any work (interpreter, numpy, numba, MPI), measured ~0.2 GiB
_BASE_BYTES = 320 * 1024**2
#: per k sample and route of the k-sum tasks (chi at every nu, chunked), measured 1.5-3.2 KiB
_BYTES_PER_SAMPLE = 4096
#: per grid point of the eta map (complex Bloch vectors and P+-), measured 245 B
_BYTES_PER_ETA_POINT = 320
#: per (k, omega) point of the spectral cut on its rank (4x4 complex G's), measured 760 B
_BYTES_PER_SPECTRAL_POINT = 1024


def _mesh_samples(cfg: Config) -> tuple[float, str]:
    """Largest number of k samples of the level-0 mesh over the scan, and the key that sets it."""
    if cfg.task == "threshold":
        from solvers.app.tasks.threshold import mesh_samples_estimate

        return mesh_samples_estimate(cfg)
    choice = cfg.numerics.mesh
    kind = choice.KIND
    if kind == "monkhorst-pack":
        return choice.nk**2 / 2, "numerics.nk"
    if kind == "refined-polar":
        return 48.0 * choice.refine_level**2, "numerics.refine_level"
    if kind == "exact-dos":
        return float(choice.n_resonance + 4 * choice.n_band), "numerics.n_resonance"
    if kind in ("exact-dos-shell", "polar-shell"):
        from solvers.stability.grids import shell_half_window

        span = getattr(cfg.numerics, "nu_span", 8.0)
        values = cfg.scan_values()
        points = [None] if values.size == 0 else sorted({float(values[0]), float(values[-1])})
        worst = 0.0
        for value in points:
            system = cfg.system(value)
            gamma = float(system.baths.gamma[0].sum())
            lo, hi = system.model.band_edges()
            window = min(2 * shell_half_window(system, span), hi - lo)
            if kind == "exact-dos-shell":
                n = window / (choice.shell_resolution * gamma) * choice.shell_order + 240
            else:
                n = 3 * choice.polar_angles * (window / (choice.polar_resolution * gamma) * choice.polar_order + 24)
            worst = max(worst, n)
        key = "numerics.shell_resolution" if kind == "exact-dos-shell" else "numerics.polar_resolution"
        return worst, key
    return 0.0, "numerics.mesh"


def memory_estimate(cfg: Config, n_ranks: int = 1) -> tuple[float, str]:
    """(bytes per rank, the key that most sets it): a coarse upper estimate from the sizes of the
    config, calibrated on measured peak resident sizes (the constants above).

    eta-map: the grid (``grid_points``²) times the δ values; spectral: the cut times the
    frequencies (``n_cut`` x ``n_omega``, the cut split over the ranks); the k-sum tasks: the
    samples of the finest mesh (level ``max_level`` of the certification: 2^level times the
    level-0 mesh) times the routes, split over the ranks."""
    num = cfg.numerics
    if cfg.task == "eta-map":
        n_delta = max(1, cfg.scan_values().size)
        n2 = float(num.grid_points) ** 2
        return _BASE_BYTES + n2 * (_BYTES_PER_ETA_POINT + 32 * n_delta), "numerics.grid_points"
    if cfg.task == "spectral":
        local = math.ceil(num.n_cut / n_ranks)
        cells = float(num.n_omega) * (local * _BYTES_PER_SPECTRAL_POINT + num.n_cut * 4 * 8 * 4)
        return _BASE_BYTES + cells, "numerics.n_omega"
    if getattr(num, "mesh", None) is None:
        return float(_BASE_BYTES), ""
    samples, key = _mesh_samples(cfg)
    levels = 2.0 ** num.max_level if getattr(num, "certify", False) else 1.0
    if levels > 1 and samples * levels > 4 * samples:
        key = f"{key} (or numerics.max_level)"
    routes = len(getattr(num, "routes", ("one",)))
    per_rank = samples * levels * (128 + _BYTES_PER_SAMPLE * routes / n_ranks)
    return _BASE_BYTES + per_rank, key


def _memory_available() -> float | None:
    """Bytes this node can give the run: MemAvailable, capped by a cgroup memory limit; None
    if unknown."""
    found: list[float] = []
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    found.append(float(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    if not found:
        with contextlib.suppress(ValueError, OSError, AttributeError):
            found.append(float(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")))
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit_file) as fh:
                limit = fh.read().strip()
            if limit == "max" or float(limit) >= 2.0**60:
                continue
            with open(usage_file) as fh:
                usage = float(fh.read().strip())
            found.append(max(float(limit) - usage, 0.0))
        except (OSError, ValueError):
            continue
    return min(found) if found else None


def _memory_problem(cfg: Config, n_ranks: int, local_ranks: int, max_memory_gib: float | None) -> str | None:
    need, key = memory_estimate(cfg, n_ranks)
    available = max_memory_gib * _GIB if max_memory_gib is not None else _memory_available()
    log.debug("memory estimate %.3g GiB per rank, %d rank(s) on this node, available %s", need / _GIB,
              local_ranks, "unknown" if available is None else f"{available / _GIB:.3g} GiB")
    if available is None or need * local_ranks <= available:
        return None
    where = "given by --max-memory" if max_memory_gib is not None else "available on this node"
    ranks = f" x {local_ranks} ranks on this node" if local_ranks > 1 else ""
    now = ""
    if key and not key.startswith("numerics.mesh"):
        name = key.split(" ")[0]
        value = _lookup(cfg.resolved(), name)
        now = f" (now {json.dumps(value)})" if value != "<absent>" else ""
    change = f"lower {key}{now}" if key else "use a smaller config"
    more = " or run on more ranks" if cfg.task != "eta-map" else ""
    return (f"memory: the run needs about {need / _GIB:.3g} GiB per rank{ranks}, {available / _GIB:.3g} GiB "
            f"{where}: {change}{more} (or --max-memory GIB if the estimate is wrong)")
