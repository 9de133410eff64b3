"""Where a task's results are NaN or infinite although they must be finite (exit status 4)."""
from __future__ import annotations

import numpy as np


def _bad(value) -> int:
    """Number of NaN or infinite entries of a float/complex value (0 for other values)."""
    a = np.asarray(value)
    if a.dtype.kind not in "fc":
        return 0
    return int(a.size - np.count_nonzero(np.isfinite(a)))


def _first_bad(tree: dict, where: str, skip=()) -> str | None:
    for key, value in tree.items():
        path = f"{where}/{key}"
        if path in skip:
            continue
        if isinstance(value, dict):
            found = _first_bad(value, path, skip)
            if found:
                return found
        elif (n := _bad(value)):
            return f"{path}: {n} of {np.size(value)} values are NaN or infinite"
    return None


def nonfinite_results(task: str, output: dict) -> str | None:
    """Where a task's results are NaN or infinite although they must be finite (None if
    nowhere).  NaN is legitimate padding in several arrays, so the rule is per task:

    * eta-map: η may be NaN only at k = Γ (0/0; at most one point per map: an odd
      ``grid_points``); everything else finite;
    * spectral: the distribution -iG^</A is NaN where A < 1e-12 max A (by definition) and
      must be finite elsewhere; everything else finite;
    * phase-diagram: chi(0) of every route (``results/chi0``) at every completed scan point;
      V_c, ν_c, errors and the per-result statistics are NaN-padded (no boundary, not
      computed) and ``V_max`` is infinite for the paper criterion, so they are not checked;
    * gap: when it converged, Δ±, ν and the residual (a run that did not converge exits 3);
    * gap-map: the solutions of every branch (V, Δ±, ν, residual); the criterion's ν_c, the
      eigenvalues, growth rates and exponents are NaN-padded or NaN where not computed;
    * threshold: the point's parameters (``results/parameters``); a threshold is NaN where
      none was found (its ``status`` says why) and the evaluations are NaN-padded;
    * susceptibility and any other task: every float and complex value."""
    res = output.get("results") or {}
    if task == "eta-map" and "eta" in res:
        eta = np.asarray(res["eta"])
        per_map = (eta.size - np.count_nonzero(np.isfinite(eta))) / max(eta.shape[0], 1) if eta.ndim == 3 else 0
        if per_map > 1:
            return f"results/eta: {_bad(eta)} values are NaN or infinite (at most one per map, at k = Gamma)"
        return _first_bad(res, "results", skip=("results/eta",))
    if task == "spectral" and "A" in res and "distribution" in res:
        A = np.asarray(res["A"])
        dist = np.asarray(res["distribution"])
        if A.size and np.all(np.isfinite(A)):
            where = A >= 1e-12 * np.max(A)
            if (n := _bad(dist[where])):
                return f"results/distribution: {n} values are NaN or infinite where A >= 1e-12 max A"
        return _first_bad(res, "results", skip=("results/distribution",))
    if task == "phase-diagram":
        completed = np.asarray((output.get("history") or {}).get("completed", []), dtype=bool)
        chi = res.get("chi0")
        for route, chi0 in (chi.items() if isinstance(chi, dict) else ()):
            chi0 = np.asarray(chi0)
            rows = chi0[completed] if completed.shape == chi0.shape[:1] else chi0
            if (n := _bad(rows)):
                return f"results/chi0/{route}: {n} of {rows.size} values are NaN or infinite at completed points"
        return None
    if task == "threshold":
        return _first_bad(res.get("parameters") or {}, "results/parameters")
    if task == "gap-map":
        for key, g in sorted((res.get("branches") or {}).items()):
            pts = g.get("points", {}) if isinstance(g, dict) else {}
            found = _first_bad({k: pts[k] for k in ("V", "delta_plus", "delta_minus", "nu", "residual") if k in pts},
                               f"results/branches/{key}/points")
            if found:
                return found
        return None
    if task == "gap":
        if not res.get("converged"):
            return None
        return _first_bad({k: res[k] for k in ("delta_plus", "delta_minus", "nu", "residual") if k in res},
                          "results")
    return _first_bad(res, "results")
