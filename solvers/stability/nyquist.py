"""Full criterion along the real frequency axis: the locus of D = 0 and certified Nyquist counts.

The normal state is unstable when D(z) = det[1 - M chi(z)] has a root with Im z > 0 (spec §6).
chi^R is analytic in the upper half plane and continuous onto the real axis, and
chi(ν) -> 0 for |ν| -> ∞, so the number N(V) of such roots (growing modes) at coupling V is
the winding number of D(ν) around 0 along the real axis (the Nyquist criterion).

How N(V) changes with V follows from the **locus**: for every real ν the two couplings V_j(ν)
with D(ν; V_j) = 0 (:func:`solvers.stability.determinant.coupling_roots`).  N(V) can change
only where a root z(V) crosses the real axis, i.e. at the real points of the locus,
V_c = V_j(ν_c) with Im V_j(ν_c) = 0, and there it changes by

    jump = -sign(d Im V_j / dν)|_{ν_c}      (going up in V)

because V_j is analytic near the axis and dz/dV = 1/V_j'(ν_c) (Cauchy-Riemann: Im V_j' along
the axis is the slope of Im V_j).  The boundaries are found directly, as zeros of Im V_j(ν) on
continuous branches (Brent's method), and every count is checked independently:

1. *Trace the locus*: the ν grid is refined until the two branches can be followed without
   ambiguity and each step of a branch that can reach |V| <= V_max is small (``rel_step`` of
   |V|, or ``theta`` times its distance from the real axis); the window is grown until
   |D - 1| <= 1/4 for every |V| <= V_max at both ends (the tails cannot wind).
2. *Crossings*: sign changes of Im V_j are refined by Brent's method; crossings closer than
   ``merge_tol`` in V (e.g. the ±ν pairs of a particle-hole symmetric chi) form one
   boundary whose jump is their sum.
3. *Counts*: the winding number of D is computed directly at *probe* couplings — the midpoint
   of every interval between boundaries and a uniform set over [-V_max, V_max] — after
   refining the grid until the phase of D changes by less than π/2 per step at each probe.
   The count of the first interval plus the jumps must reproduce every probe count.  A probe
   that disagrees reveals crossings the locus trace missed (e.g. where the locus runs almost
   along the real axis): they are located by bisection in V on the direct count and added
   with status "bisected".

Every failed bracket, unresolved interval or count mismatch is recorded, logged as a warning
and returned: nothing is dropped silently.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq

from .determinant import _roots, quadratic_coefficients

__all__ = ["LocusCrossing", "FullScan", "scan_real_axis", "winding_counts", "chordal"]

log = logging.getLogger(__name__)

#: refinement passes allowed to resolve the phase of D at the probe couplings
COUNT_PASSES = 60


def chordal(x, y) -> np.ndarray:
    """Chordal distance on the Riemann sphere (∞ allowed): |x - y| / sqrt((1+|x|²)(1+|y|²))."""
    x = np.asarray(x, dtype=complex)
    y = np.asarray(y, dtype=complex)
    xi, yi = ~np.isfinite(x), ~np.isfinite(y)
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.abs(x - y) / np.sqrt((1 + np.abs(x) ** 2) * (1 + np.abs(y) ** 2))
        dx = 1.0 / np.sqrt(1 + np.abs(y) ** 2)  # x = ∞
        dy = 1.0 / np.sqrt(1 + np.abs(x) ** 2)  # y = ∞
    return np.where(xi & ~yi, dx, np.where(yi & ~xi, dy, np.where(xi & yi, 0.0, d)))


@dataclass(frozen=True)
class LocusCrossing:
    """A boundary: real couplings V where roots cross the real axis at frequencies ``nu``.

    ``jump``: change of the number of growing modes going up in V (sum over the merged
    crossings); ``nu``: the crossing frequencies (sorted); ``residual``: largest |Im V_j| at
    the refined crossings; ``status``: "ok", "bisected" (found by the count, ν approximate),
    or why the bracket failed."""

    V: float
    nu: tuple
    jump: int
    residual: float
    status: str = "ok"


@dataclass
class FullScan:
    """What :func:`scan_real_axis` found for one V' (one route, one mesh).

    ``boundaries``: every boundary with |V_c| <= V_max, sorted by (V_c, ν_c); ``outside``:
    real locus points beyond V_max (not boundaries of the requested range, kept for the
    record); ``failed``: brackets that did not converge to a real-axis root; ``counts``:
    growing modes per interval [-V_max, V_1], ..., [V_n, V_max]; ``probe_V`` / ``probe_counts``:
    the direct Nyquist counts that confirm them; ``nu``/``chi``: the final grid and chi on it;
    ``unresolved``: ν intervals that hit the minimum step; ``status``: "ok" or a reason."""

    boundaries: list
    outside: list
    failed: list
    counts: np.ndarray
    probe_V: np.ndarray
    probe_counts: np.ndarray
    nu: np.ndarray
    chi: np.ndarray
    V_max: float
    n_evaluations: int
    passes: int
    unresolved: list = field(default_factory=list)
    status: str = "ok"
    warnings: list = field(default_factory=list)

    @property
    def V_c(self) -> np.ndarray:
        return np.array([b.V for b in self.boundaries])


def _track(R: np.ndarray) -> np.ndarray:
    """Reorder the two roots per grid point (n, 2) into continuous branches (nearest chordal match)."""
    if R.shape[0] < 2:
        return R.copy()
    straight = chordal(R[1:, 0], R[:-1, 0]) + chordal(R[1:, 1], R[:-1, 1])
    crossed = chordal(R[1:, 0], R[:-1, 1]) + chordal(R[1:, 1], R[:-1, 0])
    swap = np.concatenate([[False], crossed < straight])
    parity = np.cumsum(swap) % 2 == 1
    T = R.copy()
    T[parity] = R[parity][:, ::-1]
    return T


def winding_counts(nu, chi, Vprime, V_values):
    """Winding number of D(ν; V) along the grid for each V, and the phase steps.

    Returns (counts (n_V,) float — close to integers when resolved —, |steps| (n_V, n-1))."""
    a, b, c = quadratic_coefficients(chi, Vprime)
    V = np.asarray(V_values, dtype=float)[:, None]
    D = a[None] * V**2 + b[None] * V + c[None]
    steps = np.angle(D[:, 1:] / D[:, :-1])
    return steps.sum(axis=1) / (2 * np.pi), np.abs(steps)


class _Grid:
    """The ν grid with chi on it; ``add`` evaluates new points in one batched call."""

    def __init__(self, chi_fn, nu):
        self.chi_fn = chi_fn
        self.n_eval = 0
        self.nu = np.unique(np.asarray(nu, dtype=float))
        self.chi = self.evaluate(self.nu)

    def evaluate(self, points):
        self.n_eval += np.size(points)
        return np.asarray(self.chi_fn(np.asarray(points, dtype=float)), dtype=complex)

    def add(self, points) -> int:
        points = np.setdiff1d(np.unique(np.asarray(points, dtype=float)), self.nu)
        if points.size == 0:
            return 0
        new = self.evaluate(points)
        allnu = np.concatenate([self.nu, points])
        order = np.argsort(allnu, kind="stable")
        self.nu, self.chi = allnu[order], np.concatenate([self.chi, new])[order]
        return points.size

    def branches(self, Vprime):
        return _track(_roots(*quadratic_coefficients(self.chi, Vprime)))


def scan_real_axis(chi_fn, Vprime: complex, V_max: float, nu_initial, centre: float, *,
                   theta: float = 0.5, rel_step: float = 0.05, n_probe: int = 81,
                   merge_tol: float = 1e-7, min_step: float = 1e-10, max_passes: int = 60,
                   max_points: int = 100_000, tol_im: float = 1e-9) -> FullScan:
    """Locate every boundary with |V_c| <= V_max and count the growing modes in every interval.

    ``chi_fn(nu) -> (n, 2, 2)`` chi at real frequencies (every MPI rank must return the same
    numbers: all decisions here are taken from them); ``nu_initial`` a starting grid that
    resolves the known features (pair energy, Rabi sidebands); ``centre`` the pair energy
    (the window grows geometrically around it).  See the module docstring for ``theta``,
    ``rel_step``, ``n_probe`` and ``merge_tol``; ``min_step`` (relative to the initial window)
    is the smallest ν step, below which an interval is recorded as unresolved."""
    g = _Grid(chi_fn, nu_initial)
    warnings: list[str] = []
    h_min = min_step * max(float(g.nu[-1] - g.nu[0]), 1e-300)
    v = abs(Vprime)
    _grow_window(g, Vprime, V_max, centre, warnings)

    # 1. trace the locus -----------------------------------------------------------------
    passes = 0
    unresolved: set = set()
    for passes in range(1, max_passes + 1):
        T = g.branches(Vprime)
        refine = _trace_criteria(T, V_max, theta, rel_step)
        if not _refine(g, refine, h_min, unresolved, max_points, warnings):
            break
    else:
        warnings.append(f"locus tracing did not settle in {max_passes} passes")

    log.debug("traced: %d points, %d evaluations, %d passes", g.nu.size, g.n_eval, passes)
    # 2. crossings ------------------------------------------------------------------------
    T = g.branches(Vprime)
    found, outside, failed = _crossings(g, T, Vprime, V_max, tol_im)
    boundaries = _merge(found, merge_tol)

    log.debug("crossings: %d points, %d evaluations", g.nu.size, g.n_eval)
    # 3. counts at probes, bisection of anything the trace missed -------------------------
    uniform = np.linspace(-V_max, V_max, max(n_probe, 2))
    for _ in range(8):
        probes, expected = _probes(boundaries, uniform, V_max, merge_tol)
        direct = _resolved_counts(g, Vprime, probes, h_min, unresolved, COUNT_PASSES, max_points, warnings)
        bad = np.nonzero(direct - direct[0] != expected - expected[0])[0]
        if bad.size == 0:
            break
        added = _bisect_missed(g, Vprime, probes, direct, expected, boundaries, h_min, unresolved,
                               COUNT_PASSES, max_points, warnings, merge_tol)
        if not added:
            break
        boundaries = _merge(sorted(boundaries + added, key=_key), merge_tol)
    else:
        warnings.append("missed boundaries kept appearing after 8 rounds of bisection")
    probes, expected = _probes(boundaries, uniform, V_max, merge_tol)
    direct = _resolved_counts(g, Vprime, probes, h_min, unresolved, COUNT_PASSES, max_points, warnings)
    counts = _interval_counts(boundaries, probes, direct, V_max)

    status = "ok"
    if not np.array_equal(direct, expected_from(counts, boundaries, probes)):
        warnings.append("direct Nyquist counts at the probes disagree with the boundaries' jumps "
                        f"(counts per interval {counts.tolist()})")
        status = "count mismatch"
    if counts.size and np.any(counts < 0):
        warnings.append(f"negative number of growing modes {counts.tolist()}")
        status = "count mismatch"
    if failed:
        warnings.append(f"{len(failed)} bracket(s) did not converge to a real-axis root")
        status = status if status != "ok" else "failed bracket"
    if unresolved:
        warnings.append(f"{len(unresolved)} nu interval(s) at the minimum step {h_min:.3g}")
        status = status if status != "ok" else "unresolved"
    if any(b.status != "ok" for b in boundaries) and status == "ok":
        status = "bisected"
    if warnings and status == "ok":
        status = "warning"
    for w in warnings:
        log.warning("full criterion (|V'| = %.6g): %s", v, w)
    return FullScan(boundaries, outside, failed, counts, probes, direct, g.nu, g.chi, V_max,
                    g.n_eval, passes, sorted(unresolved), status, warnings)


def _key(b):
    return (b.V, b.nu)


def _grow_window(g: _Grid, Vprime, V_max, centre, warnings) -> None:
    """Extend the grid geometrically around ``centre`` until |D - 1| <= 1/4 at both ends
    for every |V| <= V_max."""
    for _ in range(60):
        a, b, c = quadratic_coefficients(g.chi[[0, -1]], Vprime)
        bound = np.abs(a) * V_max**2 + np.abs(b) * V_max + np.abs(c - 1.0)
        pts = []
        if bound[0] > 0.25:
            pts.append(centre + (g.nu[0] - centre) * np.geomspace(1.0, 2.0, 6)[1:])
        if bound[1] > 0.25:
            pts.append(centre + (g.nu[-1] - centre) * np.geomspace(1.0, 2.0, 6)[1:])
        if not pts:
            return
        g.add(np.concatenate(pts))
    warnings.append(f"nu window could not be grown until |D - 1| <= 1/4 at both ends (V_max = {V_max:g})")


def _trace_criteria(T, V_max, theta, rel_step) -> np.ndarray:
    """Intervals whose locus steps are too large to follow the branches (module docstring)."""
    sep = chordal(T[:, 0], T[:, 1])
    move = np.maximum(chordal(T[1:, 0], T[:-1, 0]), chordal(T[1:, 1], T[:-1, 1]))
    refine = move > 0.25 * np.minimum(sep[1:], sep[:-1])
    for j in range(2):
        x0, x1 = T[:-1, j], T[1:, j]
        fin = np.isfinite(x0) & np.isfinite(x1)
        with np.errstate(invalid="ignore"):
            size = np.minimum(np.abs(x0), np.abs(x1))
            near = fin & (size <= 2.0 * V_max + 1.0)
            same = np.sign(x0.imag) == np.sign(x1.imag)
            dist = np.minimum(np.abs(x0.imag), np.abs(x1.imag))
            allowed = np.maximum(theta * dist, rel_step * (1.0 + size))
            refine |= near & same & (np.abs(x1 - x0) > allowed)
    return refine


def _refine(g: _Grid, refine, h_min, unresolved: set, max_points, warnings) -> bool:
    """Insert the midpoints of the flagged intervals (not below the minimum step)."""
    small = np.diff(g.nu) <= 2 * h_min
    for i in np.nonzero(refine & small)[0]:
        unresolved.add((float(g.nu[i]), float(g.nu[i + 1])))
    refine = refine & ~small
    if not refine.any():
        return False
    if g.nu.size + refine.sum() > max_points:
        warnings.append(f"nu grid budget of {max_points} points exhausted")
        return False
    idx = np.nonzero(refine)[0]
    return g.add(0.5 * (g.nu[idx] + g.nu[idx + 1])) > 0


def _crossings(g: _Grid, T, Vprime, V_max, tol_im):
    """Zeros of Im V_j(ν) on each tracked branch, refined by Brent's method."""
    found, outside, failed = [], [], []
    nu = g.nu
    for j in range(2):
        x = T[:, j]
        fin = np.isfinite(x)
        with np.errstate(invalid="ignore"):
            s = np.sign(x.imag)
        for i in np.nonzero(fin[:-1] & fin[1:] & (s[:-1] * s[1:] < 0))[0]:
            x0, x1 = x[i], x[i + 1]
            # a sign change through V = ∞ (the locus passes the point at infinity) is not a
            # crossing: its step is as large as the values themselves
            if abs(x1 - x0) > 0.5 * max(abs(x0), abs(x1)) + 1.0 and min(abs(x0), abs(x1)) > 2 * V_max + 1:
                continue
            lo, hi = float(nu[i]), float(nu[i + 1])

            def root_at(w, guess=None, lo=lo, hi=hi, x0=x0, x1=x1):
                r = _roots(*quadratic_coefficients(g.evaluate(np.array([w]))[0], Vprime))
                if guess is None:
                    guess = x0 + (x1 - x0) * (w - lo) / (hi - lo)
                return r[int(np.argmin(chordal(r, guess)))]

            try:
                wc = brentq(lambda w: root_at(w).imag, lo, hi, xtol=1e-15 * max(1.0, abs(lo)),
                            rtol=4 * np.finfo(float).eps, maxiter=200)
                Vc = root_at(wc)
                # the jump from the local slope of Im V_j at the crossing (the bracket's end
                # points may be far apart on a coarse grid)
                h = max(1e-7 * (hi - lo), 1e-12 * max(1.0, abs(wc)))
                slope = root_at(min(wc + h, hi), Vc).imag - root_at(max(wc - h, lo), Vc).imag
                jump = -1 if slope > 0 else 1
            except (ValueError, RuntimeError) as exc:  # recorded, never dropped
                failed.append(LocusCrossing(float(0.5 * (x0.real + x1.real)), (0.5 * (lo + hi),),
                                            -1 if x1.imag > x0.imag else 1, float("nan"),
                                            f"bracket failed: {exc}"))
                continue
            item = LocusCrossing(float(Vc.real), (float(wc),), jump, float(abs(Vc.imag)))
            if item.residual > tol_im * (1.0 + abs(Vc.real)):
                failed.append(LocusCrossing(item.V, item.nu, jump, item.residual,
                                            "not a real-axis root (|Im V| stays finite)"))
            elif abs(Vc.real) <= V_max:
                found.append(item)
            else:
                outside.append(item)
    found.sort(key=_key)
    outside.sort(key=_key)
    return found, outside, failed


def _merge(items, merge_tol) -> list:
    """Crossings closer than merge_tol (1 + |V|) in V form one boundary (jumps add up)."""
    out: list = []
    for c in sorted(items, key=_key):
        if out and abs(c.V - out[-1].V) <= merge_tol * (1.0 + abs(c.V)):
            p = out[-1]
            status = p.status if p.status == c.status else f"{p.status}+{c.status}"
            out[-1] = LocusCrossing(p.V, tuple(sorted(p.nu + c.nu)), p.jump + c.jump,
                                    max(p.residual, c.residual), status)
        else:
            out.append(c)
    return [b for b in out if b.jump != 0 or b.status != "ok"]


def _probes(boundaries, uniform, V_max, merge_tol):
    """Probe couplings (interval midpoints and a uniform set away from the boundaries) and the
    counts the boundaries predict there, relative to the first interval (expected - expected[0])."""
    edges = np.concatenate([[-V_max], [b.V for b in boundaries], [V_max]])
    mids = 0.5 * (edges[:-1] + edges[1:])
    Vb = np.array([b.V for b in boundaries])
    gap = 1e3 * merge_tol * (1.0 + np.abs(uniform))
    keep = np.all(np.abs(uniform[:, None] - Vb[None, :]) > gap[:, None], axis=1) if Vb.size else np.ones(uniform.size, bool)
    probes = np.unique(np.concatenate([mids, uniform[keep]]))
    return probes, expected_from(None, boundaries, probes)


def expected_from(counts, boundaries, probes) -> np.ndarray:
    """Counts at the probes implied by the boundaries' jumps, starting from ``counts[0]``
    (or 0 if None: then only the differences are meaningful)."""
    base = 0 if counts is None or not np.size(counts) else int(counts[0])
    jumps = np.array([b.jump for b in boundaries], dtype=int)
    Vb = np.array([b.V for b in boundaries])
    below = (Vb[None, :] < probes[:, None]) if Vb.size else np.zeros((probes.size, 0), bool)
    return base + (below * jumps[None, :]).sum(axis=1)


def _resolved_counts(g: _Grid, Vprime, probes, h_min, unresolved, max_passes, max_points, warnings):
    """Direct Nyquist counts at the probes after refining the grid where the phase of D
    changes by more than π/2 per step; returned relative to the first probe's count + its
    absolute value (the first probe fixes the offset)."""
    for _ in range(max_passes):
        total, steps = winding_counts(g.nu, g.chi, Vprime, probes)
        refine = np.any(steps > 0.5 * np.pi, axis=0)
        if not _refine(g, refine, h_min, unresolved, max_points, warnings):
            break
    total, _ = winding_counts(g.nu, g.chi, Vprime, probes)
    direct = np.rint(total).astype(int)
    off = np.abs(total - direct)
    if np.any(off > 0.05):
        warnings.append(f"winding number not close to an integer at V = {probes[np.argmax(off)]:.6g} "
                        f"({total[np.argmax(off)]:.3f})")
    return direct


def _interval_counts(boundaries, probes, direct, V_max) -> np.ndarray:
    """Counts per interval: the first interval's direct count plus the jumps."""
    first = direct[0]
    jumps = np.array([b.jump for b in boundaries], dtype=int)
    return first + np.concatenate([[0], np.cumsum(jumps)]).astype(int)


def _bisect_missed(g, Vprime, probes, direct, expected, boundaries, h_min, unresolved,
                   max_passes, max_points, warnings, merge_tol):
    """Locate boundaries between consecutive probes whose direct counts disagree with the
    known jumps, by bisection in V on the direct count."""
    offset = direct[0] - expected[0]
    mismatch = (direct - expected - offset)

    def f(V):
        d = _resolved_counts(g, Vprime, np.array([probes[0], V]), h_min, unresolved, max_passes,
                             max_points, warnings)
        e = expected_from(None, boundaries, np.array([probes[0], V]))
        return int((d[1] - d[0]) - (e[1] - e[0]))

    added = []
    for i in range(probes.size - 1):
        if mismatch[i] == mismatch[i + 1]:
            continue
        lo, hi, flo = probes[i], probes[i + 1], mismatch[i]
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if f(mid) == flo:
                lo = mid
            else:
                hi = mid
            if hi - lo <= merge_tol * (1.0 + abs(mid)):
                break
        Vb = 0.5 * (lo + hi)
        nu_b = _locus_frequency(g, Vprime, Vb)
        added.append(LocusCrossing(float(Vb), (nu_b,), int(mismatch[i + 1] - flo), float("nan"), "bisected"))
        warnings.append(f"boundary at V = {Vb:.8g} (nu ~ {nu_b:.6g}) found by bisection of the count, "
                        "not by the locus trace")
    return added


def _locus_frequency(g: _Grid, Vprime, V) -> float:
    """The grid frequency where the locus passes closest to the real coupling V."""
    R = _roots(*quadratic_coefficients(g.chi, Vprime))
    d = np.min(np.abs(R - V), axis=1)
    return float(g.nu[int(np.nanargmin(d))])
