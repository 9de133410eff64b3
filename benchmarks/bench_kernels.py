"""(a) G^R and rho accumulation per (k, ω) point on one core: numba kernel vs numpy twin.

``keldysh.greens.rho_quadrature`` (numba) against ``rho_quadrature_numpy`` (batched
``np.linalg.inv`` + ``einsum``) on the same inputs: 200 random Nambu blocks with Δ± ≠ 0 and
their adapted grids (``adapted_grids``, 20 points per panel), at T = 0 and T = 1e-3.
The numba kernel is compiled (and its cache loaded) before timing; best of 5 rounds in CPU
time of the process (one thread: the time on an idle core; wall times in the notes).
Target: numpy / numba ≥ 30 in ns per (k, ω) point.
"""
from __future__ import annotations

import numpy as np

from benchmarks.common import Record, best_cpu_time, best_time, random_blocks


def run(quick: bool = False) -> list[Record]:
    from keldysh.greens import adapted_grids, rho_quadrature, rho_quadrature_numpy

    n_k = 200
    h, g, m = random_blocks(n_k, seed=1, gamma=None)
    records = []
    for T in (0.0, 1e-3):
        w, wt = adapted_grids(h, g, m, T, 20)
        n_points = int(np.count_nonzero(wt))
        rho_quadrature(h[:2], g[:2], w[:2], wt[:2], m[:2], T)  # compile / load the cache
        a = rho_quadrature(h, g, w, wt, m, T)
        b = rho_quadrature_numpy(h, g, w, wt, m, T)
        agree = float(np.max(np.abs(a - b)) / np.max(np.abs(b)))
        repeat = 3 if quick else 5
        t_nb = best_cpu_time(lambda: rho_quadrature(h, g, w, wt, m, T), repeat)
        t_np = best_cpu_time(lambda: rho_quadrature_numpy(h, g, w, wt, m, T), repeat)
        w_nb = best_time(lambda: rho_quadrature(h, g, w, wt, m, T), repeat)
        w_np = best_time(lambda: rho_quadrature_numpy(h, g, w, wt, m, T), repeat)
        records.append(Record(
            name=f"a. rho accumulation per (k, w) point, T={T:g} (numba vs numpy twin)",
            value=1e9 * t_nb / n_points, baseline=1e9 * t_np / n_points, unit="ns/point",
            target=30.0,
            notes={"n_k": n_k, "points": n_points, "padded_points": int(w.size),
                   "max_rel_difference": agree, "numba_s": t_nb, "numpy_s": t_np,
                   "wall_ns_per_point": {"numba": 1e9 * w_nb / n_points, "numpy": 1e9 * w_np / n_points},
                   "timing": "value, baseline: CPU time of the process (best of rounds)"}))
    return records
