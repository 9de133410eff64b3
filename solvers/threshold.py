"""The threshold of an instability in a control parameter (the drive intensity), certified.

Question: for fixed couplings (V, V'), the lowest intensity I at which the normal state is
unstable, under the paper criterion or the full criterion of spec §6.

* **The predicate** (:func:`stability_at`), at one intensity on one mesh level:

  - full criterion: the number of growing modes N(V) at the given V, from the locus crossings
    and Nyquist counts of :func:`solvers.stability.scan_real_axis` over |V| <= V_max (the
    interval of the boundaries that contains V); unstable when N(V) > 0;
  - paper criterion: F = Re chi(0) (Eq. 13 for the ``paper`` route); unstable when the static
    linearised gap map Δ -> M F Δ (M of Eq. 12) has a real eigenvalue above 1.  For F_- = -F_+
    (Eq. 15, γ1 = γ2) the eigenvalues are ±F_+ sqrt(V² - |V'|²), and this is |V| > V_c of
    Eq. (16): the region the paper calls superconducting.

* **The search** (:func:`find_threshold`): at level ``level0``, the predicate on a geometric
  grid of ``points_per_decade`` intensities per decade from I_min up to the first unstable one
  (a bracket), then bisection in log I until the bracket's relative width is ``rtol/4``.  At
  each finer level (the mesh refined as in the stability pipeline: about twice the samples, a
  ν trace twice as fine) the bracket is re-checked (moved by grid steps if the finer level
  disagrees) and bisected again.  The threshold is **certified** when two successive levels
  agree within ``rtol`` (relative); its error estimate is the larger of that change and half
  the final bracket.  Statuses say what was found: "ok"; "stable up to the maximum intensity"
  (no threshold below I_max: reported as such, with I_max as a lower bound, never as a number);
  "unstable at the minimum intensity" (I_min is an upper bound); "not converged by level L";
  and a note when an evaluation's own status was not clean (count mismatch, unresolved ν
  intervals: see the evaluations).

  "First" is relative to the bracket grid: an unstable window narrower than one grid step
  (a factor 10^(1/points_per_decade) in I) below the reported threshold would be missed.

Every rank calls these functions with the same arguments and gets the same result (all
decisions come from the deterministic k sums of :class:`solvers.stability.ChiEvaluator`).
"""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from solvers.stability import ChiEvaluator, coupling_matrix, default_nu_grid, scan_real_axis
from solvers.stability.grids import pair_energy

__all__ = ["Evaluation", "ThresholdResult", "stability_at", "find_threshold", "CRITERIA"]

log = logging.getLogger(__name__)

CRITERIA = ("paper", "full")
#: statuses of scan_real_axis whose counts are trusted without a note
_CLEAN = ("ok", "warning", "bisected")


@dataclass(frozen=True)
class Evaluation:
    """The predicate at one intensity and level.

    ``count``: growing modes at V (full) or real eigenvalues of M F above 1 (paper);
    ``margin``: full: V minus the nearest boundary V_c (units of t; NaN without one); paper:
    the largest real eigenvalue of M F minus 1; ``nu``: full: the crossing frequency of that
    nearest boundary (rotating frame, units of t), paper: 0; ``status``: the full scan's status
    ("ok", ...) or "ok"."""

    intensity: float
    level: int
    unstable: bool
    count: int
    margin: float
    nu: float
    status: str
    n_samples: int
    seconds: float


@dataclass(frozen=True)
class ThresholdResult:
    """The threshold of one criterion and route (see the module docstring).

    ``intensity``: the threshold (NaN when none was found; then ``lower`` = I_max is a lower
    bound), ``error``: its error estimate, ``lower``/``upper``: the final bracket (stable at
    ``lower``, unstable at ``upper``), ``levels``: the threshold found at each level,
    ``count`` and ``nu``: the growing modes and the crossing frequency just above threshold
    (at ``upper``), ``evaluations``: every predicate evaluation in order."""

    criterion: str
    route: str
    intensity: float
    error: float
    lower: float
    upper: float
    certified: bool
    status: str
    levels: tuple = ()
    count: int = 0
    nu: float = float("nan")
    evaluations: tuple = field(default_factory=tuple)
    seconds: float = 0.0


def stability_at(system, mesh, V: float, Vprime: complex, criterion: str, route: str, *, level: int = 0,
                 V_max: float | None = None, nu_per_panel: int = 8, nu_span: float = 8.0, n_per_panel: int = 20,
                 comm=None, intensity: float = float("nan")) -> Evaluation:
    """The predicate "unstable at coupling V" for ``system`` (a DrivenSystem or SpinfulSystem)
    on ``mesh`` (one per sector for a spinful system), by ``criterion`` and ``route``.

    The full criterion scans |V| <= ``V_max`` (default 1.25 max(|V|, |V'|) + 0.05 t) with the
    ν trace of level ``level`` (``rel_step`` = 0.05 / 2^level, as in the stability pipeline)."""
    t0 = time.perf_counter()
    if criterion not in CRITERIA:
        raise ValueError(f"criterion: must be one of {CRITERIA}, got {criterion!r}")
    options = {"n_per_panel": int(round(n_per_panel * 1.5**level))}
    ev = ChiEvaluator(route, system, mesh, comm, options)
    n = sum(len(m) for m in mesh) if isinstance(mesh, (tuple, list)) else len(mesh)
    if criterion == "paper":
        F = np.real(ev.static())
        lam = np.linalg.eigvals(coupling_matrix(V, Vprime) @ F)
        real = lam[np.abs(lam.imag) <= 1e-12 * np.maximum(1.0, np.abs(lam))].real
        count = int(np.sum(real > 1.0))
        margin = float(np.max(real) - 1.0) if real.size else float("nan")
        return Evaluation(float(intensity), level, count > 0, count, margin, 0.0, "ok", n,
                          time.perf_counter() - t0)
    t = _hopping(system)
    vmax = V_max if V_max is not None else 1.25 * max(abs(V), abs(Vprime)) + 0.05 * t
    if abs(V) > vmax:
        raise ValueError(f"V_max: must be >= |V| = {abs(V)!r}, got {vmax!r}")
    scan = scan_real_axis(ev, Vprime, vmax, default_nu_grid(system, nu_per_panel, nu_span), pair_energy(system),
                          rel_step=0.05 / 2**level)
    Vc = scan.V_c
    idx = int(np.searchsorted(Vc, V))
    count = int(scan.counts[idx]) if len(scan.counts) else 0
    if Vc.size:
        near = int(np.argmin(np.abs(Vc - V)))
        margin, nu = float(V - Vc[near]), float(scan.boundaries[near].nu[0])
    else:
        margin, nu = float("nan"), float("nan")
    return Evaluation(float(intensity), level, count > 0, count, margin, nu, scan.status, n,
                      time.perf_counter() - t0)


def _hopping(system) -> float:
    first = system.sectors[0] if hasattr(system, "sectors") else system
    return float(first.model.t)


def find_threshold(evaluate: Callable[[float, int], Evaluation], I_min: float, I_max: float, *,
                   criterion: str = "", route: str = "", points_per_decade: float = 2.0, rtol: float = 0.02,
                   level0: int = 0, max_level: int = 2, certify: bool = True) -> ThresholdResult:
    """The lowest intensity in [I_min, I_max] where ``evaluate(I, level).unstable`` (module
    docstring): bracket on a geometric grid at ``level0``, bisect, refine the level until two
    levels agree within ``rtol`` (``certify``), else report "not converged"."""
    t0 = time.perf_counter()
    if not (0 < I_min < I_max and math.isfinite(I_max)):
        raise ValueError(f"intensities: need 0 < I_min < I_max < inf, got {I_min!r}, {I_max!r}")
    if not rtol > 0:
        raise ValueError(f"rtol: must be > 0, got {rtol!r}")
    evaluations: list[Evaluation] = []
    cache: dict = {}

    def at(I: float, level: int) -> Evaluation:
        key = (float(I), level)
        if key not in cache:
            e = evaluate(float(I), level)
            cache[key] = e
            evaluations.append(e)
            log.info("threshold %s/%s: level %d, I = %.6g: %s (count %d, status %s, %.1f s)", criterion, route,
                     level, I, "unstable" if e.unstable else "stable", e.count, e.status, e.seconds)
        return cache[key]

    n_grid = max(2, int(math.ceil(points_per_decade * math.log10(I_max / I_min))) + 1)
    grid = np.geomspace(I_min, I_max, n_grid)
    step = grid[1] / grid[0]
    top = max_level if certify else level0

    def result(intensity, error, lo, hi, certified, status, levels, above=None):
        count, nu = (above.count, above.nu) if above is not None else (0, float("nan"))
        if any(e.status not in _CLEAN for e in evaluations):
            bad = sum(e.status not in _CLEAN for e in evaluations)
            status = f"{status}; {bad} evaluation(s) with a non-clean full-criterion status"
        return ThresholdResult(criterion, route, float(intensity), float(error), float(lo), float(hi), certified,
                               status, tuple(levels), int(count), float(nu), tuple(evaluations),
                               time.perf_counter() - t0)

    # 1. bracket at level0 -----------------------------------------------------------------
    first = None
    for j, I in enumerate(grid):
        if at(I, level0).unstable:
            first = j
            break
    if first is None:
        # no threshold: confirm the stability at I_max on the finer levels
        certified = True
        for level in range(level0 + 1, top + 1):
            if at(I_max, level).unstable:
                certified = False
                break
        status = "stable up to the maximum intensity" if certified or not certify else \
            "stable up to the maximum intensity at level 0 only (a finer level is unstable at I_max)"
        return result(float("nan"), float("nan"), I_max, float("nan"), certified and certify, status, ())
    if first == 0:
        return result(float("nan"), float("nan"), float("nan"), I_min, False, "unstable at the minimum intensity",
                      (), at(I_min, level0))
    lo, hi = float(grid[first - 1]), float(grid[first])

    def bisect(lo, hi, level):
        while hi / lo - 1.0 > rtol / 4:
            mid = math.sqrt(lo * hi)
            if at(mid, level).unstable:
                hi = mid
            else:
                lo = mid
        return lo, hi

    lo, hi = bisect(lo, hi, level0)
    levels = [math.sqrt(lo * hi)]
    # 2. finer levels ------------------------------------------------------------------------
    for level in range(level0 + 1, top + 1):
        while at(lo, level).unstable:  # the finer level is unstable lower down: step down
            if lo <= I_min * (1 + 1e-12):
                return result(float("nan"), float("nan"), float("nan"), lo, False,
                              f"unstable at the minimum intensity at level {level}", levels, at(lo, level))
            hi, lo = lo, max(lo / step, I_min)
        while not at(hi, level).unstable:  # or stable higher up: step up
            if hi >= I_max * (1 - 1e-12):
                return result(float("nan"), float("nan"), hi, float("nan"), False,
                              f"stable up to the maximum intensity at level {level} (level {level - 1}: "
                              f"threshold {levels[-1]:.4g})", levels)
            lo, hi = hi, min(hi * step, I_max)
        lo, hi = bisect(lo, hi, level)
        levels.append(math.sqrt(lo * hi))
        change = abs(levels[-1] - levels[-2])
        if change <= rtol * levels[-1]:
            error = max(change, 0.5 * (hi - lo))
            return result(levels[-1], error, lo, hi, True, "ok", levels, at(hi, level))
    if not certify:
        return result(levels[-1], 0.5 * (hi - lo), lo, hi, False, "not certified (certify = false)", levels,
                      at(hi, level0))
    change = abs(levels[-1] - levels[-2]) if len(levels) > 1 else float("nan")
    return result(levels[-1], max(change, 0.5 * (hi - lo)), lo, hi, False,
                  f"not converged by level {top}" + ("" if len(levels) > 1 else " (one level only)"), levels,
                  at(hi, top))
