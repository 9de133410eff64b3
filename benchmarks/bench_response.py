"""(g) Keldysh pair response chi(z) per (sample, z): exact pole sum vs the quadrature route.

Realistic samples of the Fig. 3a model: δ = 5 t, ω0 = 5.1 t, Γ1 = Γ2 = 5e-4 t, μ = -Γ/2,
Ω = 0.05 t, band energies e across the resonance shell (e = ω0/2 + (W/2) tan θ, θ uniform in
[-1.5, 1.5], W = sqrt(Γ² + 4Ω²)), at T = 0 and T = 1e-3 t, and six frequencies z (0, the
pair resonance -2μ, two other real ones, two with Im z > 0).

* baseline — the engine's Keldysh route per z: ``response_grids`` (20 points per panel, grid
  construction included) + ``pair_response_quadrature`` (the closed-form normal-state kernel);
* value — ``keldysh.response.pair_response_poles`` per z (eigendecomposition and
  z-independent set-up included in every call, the full 2x2 matrix chi_ab);
* notes — the same with the set-up done once per scan of the six z (``scan_usage``:
  ``PoleResponse`` + ``samples`` for every z; also ``weighted_sum`` over all z, and the
  set-up alone), and the accuracy: max over z of
  max|chi_poles - chi_quad| / max|chi_quad| (diagonal entries) against a converged quadrature
  (60 points per panel) and against the timed 20-point one (whose own discretisation error
  it then measures).

Numba kernels are compiled (or their cache loaded) before timing; best of 5 rounds in CPU
time of the process (one thread: the time on an idle core), the same in wall time in the
notes (``wall_ratio``: on a shared machine the wall time also counts waiting for a core).
Targets: ratio >= 20, max relative difference <= 1e-10 (notes: ``accuracy_met``).
"""
from __future__ import annotations

import numpy as np

from benchmarks.common import Record, best_cpu_time, best_time

G1 = G2 = 5e-4
OMEGA = 0.05
Z_VALUES = (0.0, 1e-3, 3e-4, -2e-3, 5e-4 + 2e-4j, 2e-3j)


def samples(n: int, T: float):
    """(h, gamma, m, T) of n Fig. 3a samples across the resonance shell."""
    from keldysh.baths import BathSet
    from keldysh.lattice import HoneycombModel
    from keldysh.nambu import DrivenSystem, nambu_chemical_potentials

    G = G1 + G2
    mu = -G / 2
    system = DrivenSystem(HoneycombModel(5.0), 5.1, OMEGA, BathSet.paper(G1, G2, mu, T), mu)
    W = np.sqrt(G**2 + 4 * OMEGA**2)
    e = 5.1 / 2 + 0.5 * W * np.tan(np.linspace(-1.5, 1.5, n))
    modes = system.modes_from_energies(e, OMEGA, np.full(n, 1.0 / n))
    return (modes.hamiltonian(), modes.gamma, nambu_chemical_potentials(modes.bath_mu),
            modes.temperature, modes.weight)


def run(quick: bool = False) -> list[Record]:
    from keldysh.greens import pair_response_quadrature, response_grids
    from keldysh.response import PoleResponse, pair_response_poles

    n = 600 if quick else 3000
    repeat = 3 if quick else 5
    records = []
    for T in (0.0, 1e-3):
        h, g, m, Tm, wts = samples(n, T)
        pair_response_poles(h[:2], g[:2], 0.0, m[:2], Tm[:2])  # compile / load the caches
        PoleResponse(h[:2], g[:2], m[:2], Tm[:2]).weighted_sum([0.0], wts[:2])
        pair_response_quadrature(h[:2], g[:2], 0.0, *response_grids(h[:2], g[:2], m[:2], Tm[:2], 0.0), m[:2], Tm[:2])

        def quadrature_route(npp=20):
            out = []
            for z in Z_VALUES:
                w, wt = response_grids(h, g, m, Tm, z, npp)
                out.append(pair_response_quadrature(h, g, z, w, wt, m, Tm))
            return out

        def pole_route():
            return [pair_response_poles(h, g, z, m, Tm) for z in Z_VALUES]

        def pole_samples(pr):
            return [pr.samples(z) for z in Z_VALUES]

        def pole_scan():  # the frequency-scan usage: set-up once, then every z
            return pole_samples(PoleResponse(h, g, m, Tm))

        zs = np.array(Z_VALUES)
        quad = quadrature_route()
        fine = quadrature_route(60)
        poles = pole_route()
        pr = PoleResponse(h, g, m, Tm)
        total = pr.weighted_sum(zs, wts)

        def diff(ref):
            return max(float(np.max(np.abs(np.stack([c[:, 0, 0], c[:, 1, 1]], -1) - r)) / np.max(np.abs(r)))
                       for c, r in zip(poles, ref))

        acc_fine = diff(fine)
        acc_quad = diff(quad)
        sums_agree = float(np.max(np.abs(total - np.stack([np.einsum("k,kab->ab", wts, c) for c in poles])))
                           / np.max(np.abs(total)))
        t_quad = best_time(quadrature_route, repeat)
        t_pole = best_time(pole_route, repeat)
        t_setup = best_time(lambda: PoleResponse(h, g, m, Tm), repeat)
        t_samples = best_time(lambda: pole_samples(pr), repeat)
        t_wsum = best_time(lambda: pr.weighted_sum(zs, wts), repeat)
        c_quad = best_cpu_time(quadrature_route, repeat)
        c_pole = best_cpu_time(pole_route, repeat)
        t_scan = best_time(pole_scan, repeat)
        c_scan = best_cpu_time(pole_scan, repeat)
        per = 1e9 / (n * len(Z_VALUES))
        w20, wt20 = response_grids(h, g, m, Tm, Z_VALUES[0], 20)
        records.append(Record(
            name=f"g. Keldysh chi(z) per (sample, z), T={T:g}: pole sum vs quadrature route",
            value=c_pole * per, baseline=c_quad * per, unit="ns/(sample,z)", target=20.0,
            notes={"n_samples": n, "z_values": [str(z) for z in Z_VALUES],
                   "quadrature_points_per_sample": float(np.count_nonzero(wt20) / n),
                   "pole_setup_ns_per_sample": 1e9 * t_setup / n,
                   "pole_samples_ns_per_sample_z_setup_amortised": t_samples * per,
                   "pole_weighted_sum_ns_per_sample_z": t_wsum * per,
                   "max_rel_difference": acc_fine,
                   "max_rel_difference_reference": "quadrature, 60 points per panel",
                   "max_rel_difference_vs_timed_20_point_quadrature": acc_quad,
                   "accuracy_target": 1e-10, "accuracy_met": bool(acc_fine <= 1e-10),
                   "weighted_sum_vs_sum_of_samples": sums_agree,
                   "quadrature_s": t_quad, "poles_s": t_pole,
                   "wall_ns_per_sample_z": {"poles": t_pole * per, "quadrature": t_quad * per},
                   "wall_ratio": t_quad / t_pole, "timing": "value, baseline: CPU time (best of rounds)",
                   "scan_usage_ns_per_sample_z": {"wall": t_scan * per, "cpu": c_scan * per},
                   "scan_usage_ratio": {"wall": t_quad / t_scan, "cpu": c_quad / c_scan}}))
    return records
