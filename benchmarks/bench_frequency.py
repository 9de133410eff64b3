"""(b) Frequency points per k for 1e-8 relative accuracy of rho_k at Γ = 1e-3 t.

For T = 0, 1e-4, 1e-2: the smallest ``n_per_panel`` of ``keldysh.greens.adapted_grids`` for
which max_k ‖rho_quad - rho_pole‖_max / ‖rho_pole‖_max ≤ 1e-8 over random blocks (Δ± ≠ 0,
Γ = 1e-3 on every mode), ``rho_pole`` the exact pole sum.  Value: points per k (mean over the
blocks; the max is in the notes); target ≤ 400.

Baseline: one uniform grid (``FrequencyGrid.uniform``, trapezoid) of 10^6 points over
[-L, L] for L in {3, 30, 300} (t): the best error it reaches is recorded, and the number of
uniform points that 1e-8 would need is estimated from the two error sources of the
trapezoid rule on Lorentzians of half-width Γ: the truncated 1/ω² tails, ~Γ/(π L) (so
L ≥ Γ/(π·1e-8)), and the discretisation, ~exp(-2πΓ/h) (so h ≤ 2πΓ/ln(1e8)):
n ≈ 2L/h.
"""
from __future__ import annotations

import numpy as np

from benchmarks.common import Record, random_blocks

TOL = 1e-8
GAMMA = 1e-3


def _rel_err(a, b):
    return float(np.max(np.max(np.abs(a - b), axis=(1, 2)) / np.max(np.abs(b), axis=(1, 2))))


def run(quick: bool = False) -> list[Record]:
    from keldysh.frequency import FrequencyGrid
    from keldysh.greens import adapted_grids, rho_pole_sum, rho_quadrature

    n_k = 40 if quick else 100
    h, g, m = random_blocks(n_k, seed=2, gamma=GAMMA)
    L_needed = GAMMA / (np.pi * TOL)
    h_needed = 2 * np.pi * GAMMA / np.log(1 / TOL)
    n_uniform_estimate = 2 * L_needed / h_needed
    records = []
    for T in (0.0, 1e-4, 1e-2):
        exact = rho_pole_sum(h, g, m, T)
        found, err, pts = None, None, None
        for npp in range(4, 65, 2):
            w, wt = adapted_grids(h, g, m, T, npp)
            err = _rel_err(rho_quadrature(h, g, w, wt, m, T), exact)
            if err <= TOL:
                found = npp
                pts = np.count_nonzero(wt, axis=1)
                break
        # uniform baseline on a few blocks (10^6 points each)
        nb = 3 if quick else 5
        base = {}
        for L in (3.0, 30.0, 300.0):
            grid = FrequencyGrid.uniform(-L, L, 1_000_000)
            base[L] = _rel_err(rho_quadrature(h[:nb], g[:nb], grid.points, grid.weights, m[:nb], T),
                               exact[:nb])
        best_L = min(base, key=base.get)
        records.append(Record(
            name=f"b. frequency points per k for {TOL:g} rho_k, Gamma={GAMMA:g}, T={T:g}",
            value=float(pts.mean()) if found else None,
            baseline=float(n_uniform_estimate), unit="points/k",
            target=400.0, target_of="value", comparison="<=",
            notes={"n_per_panel": found, "max_points_per_k": int(pts.max()) if found else None,
                   "max_rel_error": err, "n_k": n_k,
                   "uniform_1e6_points_error_by_L": {f"{k:g}": v for k, v in base.items()},
                   "uniform_best_error_with_1e6_points": base[best_L],
                   "baseline_is": "estimated uniform points for 1e-8 (see module docstring)"}))
    return records
