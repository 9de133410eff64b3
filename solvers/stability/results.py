"""Typed results of the stability pipeline, and the one serializer that writes them.

A :class:`PhasePoint` holds, for one parameter point, the :class:`CriticalCouplings` of every
(criterion, route, |V'|) with their :class:`Boundary` list, counts, certification, status,
approximations and statistics.  :func:`stack_points` turns a scan of points into the arrays
of a results file and :func:`point_from_tree` reads one point back, so that what is in the
HDF5 file is exactly what the solver produced (and a resumed scan re-reads its points
through the same code).

Layout (``results/`` of a phase-diagram file; n = scan points, n_v = |V'| values, N = the
largest number of boundaries of any point, padded with NaN / 0 / "" / -1):

    parameters/<name>                (n,)          Omega, omega0, detuning = omega0 - delta, ...
    chi0/<route>                     (n, 2, 2)     chi_ab(0) at the finest level
    closed_forms/<name>              (n,)          F_plus_eq14, F_minus_eq15, F_plus_eq17
    <criterion>/<route>/V_c          (n, n_v, N)   boundaries, ascending (ties by ν)
                       /nu_c         (n, n_v, N, K) crossing frequencies of each boundary
                       /jump         (n, n_v, N)   change of the number of growing modes
                       /error        (n, n_v, N)   certification error estimate of V_c
                       /status       (n, n_v, N)   per boundary: ok, bisected, unmatched, ...
                       /counts       (n, n_v, N+1) growing modes per interval (full only)
                       /n_boundaries (n, n_v)
                       /certified    (n, n_v)
                       /point_status (n, n_v)
                       /n_evaluations, /level, /n_nu, /n_samples (n, n_v)
                       /outside_V_c  (n, n_v, M)   real locus points beyond V_max (full)
                       /V_max        (n, n_v)
                       /approximations (n,)      what was assumed, "; "-joined
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Boundary", "CriticalCouplings", "PhasePoint", "stack_points", "point_from_tree",
           "summarise"]


@dataclass(frozen=True)
class Boundary:
    """One critical coupling V_c.

    ``nu``: the real-axis crossing frequencies (one per crossing merged into this boundary;
    (0,) for the paper criterion); ``jump``: change of the number of growing modes going up
    in V (0 for the paper criterion); ``error``: the certification error estimate of V_c
    (NaN if the point is not certified); ``status``: "ok" or what went wrong."""

    V: float
    nu: tuple = (0.0,)
    jump: int = 0
    error: float = float("nan")
    status: str = "ok"


@dataclass(frozen=True)
class CriticalCouplings:
    """Critical couplings of one criterion and route at one |V'| = ``v`` (phase ``phi``).

    ``boundaries`` ascending in (V, ν); ``counts`` the number of growing modes in each of the
    len(boundaries) + 1 intervals of [-V_max, V_max] (full criterion; empty for the paper
    criterion); ``certified``: every boundary converged under refinement within
    ``tolerance`` (see :mod:`solvers.stability.certify`); ``status``: "ok" or a reason;
    ``approximations``: what was assumed; ``statistics``: evaluations, grid sizes, levels,
    seconds; ``outside``: real locus points beyond V_max (recorded, not boundaries)."""

    criterion: str
    route: str
    v: float
    phi: float = 0.0
    V_max: float = float("inf")
    boundaries: tuple = ()
    counts: tuple = ()
    certified: bool = False
    status: str = "ok"
    approximations: tuple = ()
    statistics: dict = field(default_factory=dict)
    warnings: tuple = ()
    outside: tuple = ()

    @property
    def V_c(self) -> np.ndarray:
        return np.array([b.V for b in self.boundaries], dtype=float)

    @property
    def nu_c(self) -> np.ndarray:
        """First crossing frequency of each boundary."""
        return np.array([b.nu[0] for b in self.boundaries], dtype=float)

    @property
    def errors(self) -> np.ndarray:
        return np.array([b.error for b in self.boundaries], dtype=float)

    def unstable_intervals(self) -> list[tuple[float, float, int]]:
        """(V_lo, V_hi, n_growing) for every interval with growing modes (full criterion)."""
        edges = [-self.V_max, *self.V_c.tolist(), self.V_max]
        return [(edges[i], edges[i + 1], int(c)) for i, c in enumerate(self.counts) if c > 0]


@dataclass
class PhasePoint:
    """Everything the stability pipeline found at one parameter point."""

    parameters: dict
    chi0: dict
    closed_forms: dict
    couplings: list
    seconds: float = 0.0

    def get(self, criterion: str, route: str, v: float) -> CriticalCouplings:
        for c in self.couplings:
            if c.criterion == criterion and c.route == route and np.isclose(c.v, v, rtol=0, atol=1e-15):
                return c
        raise KeyError(f"no {criterion} criterion for route {route!r} at |V'| = {v!r}")

    def keys(self) -> list[tuple[str, str]]:
        """(criterion, route) pairs present, in order of first appearance."""
        out = []
        for c in self.couplings:
            if (c.criterion, c.route) not in out:
                out.append((c.criterion, c.route))
        return out

    def summary(self) -> dict:
        """Counts for the log and the file: points certified, boundaries with a status."""
        return summarise([self])


def summarise(points) -> dict:
    """Totals over points: (criterion, route) pairs, certified, not certified, boundaries by status."""
    out = {"n_couplings": 0, "certified": 0, "not_certified": 0, "boundaries": 0, "by_status": {}}
    for p in points:
        for c in p.couplings:
            out["n_couplings"] += 1
            out["certified" if c.certified else "not_certified"] += 1
            for b in c.boundaries:
                out["boundaries"] += 1
                out["by_status"][b.status] = out["by_status"].get(b.status, 0) + 1
    return out


# ------------------------------------------------------------------------------------------
# serializer
#: statistics written per result (deterministic ones only: timings go to the history)
_STAT_KEYS = ("n_evaluations", "level", "n_nu", "n_samples")


def stack_points(points, v_values) -> dict:
    """The ``results`` tree of a scan; ``points`` (n,) PhasePoint or None (not yet computed)."""
    n = len(points)
    v_values = np.asarray(v_values, dtype=float)
    nv = v_values.size
    done = [p for p in points if p is not None]
    tree: dict = {}
    if not done:
        return tree
    pnames = sorted({k for p in done for k in p.parameters})
    tree["parameters"] = {k: np.array([np.nan if p is None else float(p.parameters.get(k, np.nan))
                                       for p in points]) for k in pnames}
    routes = sorted({r for p in done for r in p.chi0})
    tree["chi0"] = {r: np.stack([np.full((2, 2), np.nan + 0j) if p is None or r not in p.chi0
                                 else np.asarray(p.chi0[r], complex) for p in points]) for r in routes}
    cnames = sorted({k for p in done for k in p.closed_forms})
    if cnames:
        tree["closed_forms"] = {k: np.array([np.nan if p is None else float(p.closed_forms.get(k, np.nan))
                                             for p in points]) for k in cnames}
    keys = []
    for p in done:
        for key in p.keys():
            if key not in keys:
                keys.append(key)
    # one boundary axis for every (criterion, route): N, K, M are maxima over all of them
    flat = [c for p in done for c in p.couplings]
    sizes = (max([len(c.boundaries) for c in flat] + [1]),
             max([len(b.nu) for c in flat for b in c.boundaries] + [1]),
             max([len(c.outside) for c in flat] + [1]))
    for criterion, route in keys:
        cells = [[None] * nv for _ in range(n)]
        for i, p in enumerate(points):
            if p is None:
                continue
            for j, v in enumerate(v_values):
                try:
                    cells[i][j] = p.get(criterion, route, v)
                except KeyError:
                    pass
        tree.setdefault(criterion, {})[route] = _stack_cells(cells, criterion, sizes)
    return tree


def _stack_cells(cells, criterion, sizes) -> dict:
    n, nv = len(cells), len(cells[0])
    N, K, M = sizes
    out = {
        "V_c": np.full((n, nv, N), np.nan), "nu_c": np.full((n, nv, N, K), np.nan),
        "jump": np.zeros((n, nv, N), np.int64), "error": np.full((n, nv, N), np.nan),
        "status": np.full((n, nv, N), "", dtype=object), "n_boundaries": np.full((n, nv), -1, np.int64),
        "certified": np.zeros((n, nv), bool), "point_status": np.full((n, nv), "", dtype=object),
        "V_max": np.full((n, nv), np.nan), "phi": np.full((n, nv), np.nan),
    }
    for key in _STAT_KEYS:
        out[key] = np.full((n, nv), np.nan)
    if criterion == "full":
        out["counts"] = np.full((n, nv, N + 1), -1, np.int64)
        out["outside_V_c"] = np.full((n, nv, M), np.nan)
    approx: list = []
    for i in range(n):
        for j in range(nv):
            c = cells[i][j]
            if c is None:
                continue
            for a in c.approximations:
                if a not in approx:
                    approx.append(a)
            nb = len(c.boundaries)
            out["n_boundaries"][i, j] = nb
            out["certified"][i, j] = c.certified
            out["point_status"][i, j] = c.status
            out["V_max"][i, j] = c.V_max
            out["phi"][i, j] = c.phi
            for key in _STAT_KEYS:
                if key in c.statistics:
                    out[key][i, j] = float(c.statistics[key])
            for k, b in enumerate(c.boundaries):
                out["V_c"][i, j, k] = b.V
                out["nu_c"][i, j, k, : len(b.nu)] = b.nu
                out["jump"][i, j, k] = b.jump
                out["error"][i, j, k] = b.error
                out["status"][i, j, k] = b.status
            if criterion == "full":
                out["counts"][i, j, : len(c.counts)] = c.counts
                out["outside_V_c"][i, j, : len(c.outside)] = [b.V for b in c.outside]
    out["status"] = out["status"].astype(str)
    out["point_status"] = out["point_status"].astype(str)
    # what was assumed, per scan point (the same for every |V'|), "; "-joined
    out["approximations"] = np.array(["; ".join(approx) if any(c is not None for c in row) else ""
                                      for row in cells], dtype=str)
    return out


def point_from_tree(tree: dict, index: int, v_values) -> PhasePoint:
    """The PhasePoint ``index`` of a stacked ``results`` tree (the inverse of
    :func:`stack_points` for a completed point)."""
    params = {k: float(np.asarray(v)[index]) for k, v in tree.get("parameters", {}).items()
              if np.isfinite(np.asarray(v)[index])}
    chi0 = {r: np.asarray(v)[index] for r, v in tree.get("chi0", {}).items()
            if np.all(np.isfinite(np.asarray(v)[index]))}
    closed = {k: float(np.asarray(v)[index]) for k, v in tree.get("closed_forms", {}).items()
              if np.isfinite(np.asarray(v)[index])}
    couplings = []
    for criterion in ("paper", "full"):
        for route, g in sorted(tree.get(criterion, {}).items()):
            joined = str(np.asarray(g.get("approximations", np.array([""] * (index + 1))))[index])
            approx = tuple(a for a in joined.split("; ") if a)
            for j, v in enumerate(np.asarray(v_values, dtype=float)):
                nb = int(np.asarray(g["n_boundaries"])[index, j])
                if nb < 0:
                    continue
                bounds = []
                for k in range(nb):
                    nus = np.asarray(g["nu_c"])[index, j, k]
                    bounds.append(Boundary(float(g["V_c"][index, j, k]), tuple(float(x) for x in nus[np.isfinite(nus)]),
                                           int(g["jump"][index, j, k]), float(g["error"][index, j, k]),
                                           str(g["status"][index, j, k])))
                counts = ()
                outside = ()
                if criterion == "full":
                    cnt = np.asarray(g["counts"])[index, j, : nb + 1]
                    counts = tuple(int(x) for x in cnt)
                    ov = np.asarray(g["outside_V_c"])[index, j]
                    outside = tuple(Boundary(float(x)) for x in ov[np.isfinite(ov)])
                stats = {key: float(np.asarray(g[key])[index, j]) for key in _STAT_KEYS
                         if key in g and np.isfinite(np.asarray(g[key])[index, j])}
                couplings.append(CriticalCouplings(
                    criterion, route, float(v), float(np.asarray(g["phi"])[index, j]),
                    float(np.asarray(g["V_max"])[index, j]), tuple(bounds), counts,
                    bool(np.asarray(g["certified"])[index, j]), str(np.asarray(g["point_status"])[index, j]),
                    approx, stats, (), outside))
    return PhasePoint(params, chi0, closed, couplings)
