"""(d) Born-Markov steady state per k: vectorised Lyapunov solver vs QuTiP's Fock space.

Engine: ``keldysh.lyapunov.lyapunov_steady_state`` on 20 000 random blocks at once (Δ± ≠ 0,
Ω ≠ 0, random rates and frozen occupations), time per k.  Times are CPU times of the process
(one BLAS thread; the machine is shared), the engine's wall time in the notes.  Baseline: QuTiP ``steadystate``
(method "direct") of the exact Lindblad problem of one block in the 16-dim Fock space
(:mod:`benchmarks.qutip_oracle`), per k, on the first 20 blocks; the value of the baseline
is the time of ``steadystate`` plus the expectation values, the notes also give the time
including the construction of H and the collapse operators.  Agreement: max |Δrho| over
those blocks (target 1e-8).  Target: ≥ 1000x faster per k.
QuTiP is optional (``pip install qutip`` or the ``bench`` extra): without it the record
has met = null and says so.
"""
from __future__ import annotations

import time

import numpy as np

from benchmarks.common import Record, best_cpu_time, best_time, random_blocks


def run(quick: bool = False) -> list[Record]:
    from keldysh.lyapunov import lyapunov_steady_state
    from keldysh.nambu import nambu_occupations

    n_k = 5000 if quick else 20000
    h, g, _ = random_blocks(n_k, seed=4, gamma=None)
    rng = np.random.default_rng(5)
    occ = rng.uniform(0.0, 1.0, (n_k, 4))
    occ[: n_k // 2] = np.array([1.0, 0.0, 1.0, 0.0])  # T = 0 populations for half of them
    nocc = nambu_occupations(occ)
    lyapunov_steady_state(h[:2], g[:2], nocc[:2])
    t_lyap = best_cpu_time(lambda: lyapunov_steady_state(h, g, nocc), 3 if quick else 5) / n_k
    t_lyap_wall = best_time(lambda: lyapunov_steady_state(h, g, nocc), 3 if quick else 5) / n_k
    name = "d. Born-Markov steady state per k: Lyapunov (vectorised) vs QuTiP steadystate"
    try:
        import qutip
    except ImportError:
        return [Record(name=name, value=t_lyap * 1e6, baseline=None, unit="us/k", target=1000.0,
                       notes={"skipped": "qutip not installed (pip install qutip, or the "
                                         "'bench' extra)"})]
    from benchmarks.qutip_oracle import fock_correlators

    n_q = 5 if quick else 20
    rho = lyapunov_steady_state(h[:n_q], g[:n_q], nocc[:n_q])
    fock_correlators(h[0], g[0], occ[0])  # warm-up (imports, first sparse factorisation)
    t_total, t_solve, diff = [], [], 0.0
    for i in range(n_q):
        t0 = time.process_time()
        ref = fock_correlators(h[i], g[i], occ[i])
        t_total.append(time.process_time() - t0)
        diff = max(diff, float(np.max(np.abs(ref - rho[i]))))
    # steadystate + expectation values only (H and c_ops prebuilt): the fair per-k cost
    t_solve = _solve_only_times(qutip, h[:n_q], g[:n_q], occ[:n_q])
    rec = Record(name=name, value=t_lyap * 1e6, baseline=float(np.median(t_solve)) * 1e6,
                 unit="us/k", target=1000.0,
                 notes={"n_k_lyapunov": n_k, "n_k_qutip": n_q, "max_abs_difference": diff,
                        "agreement_target": 1e-8, "agreement_met": diff <= 1e-8,
                        "qutip_with_construction_us": float(np.median(t_total)) * 1e6,
                        "lyapunov_wall_us": t_lyap_wall * 1e6, "timing": "CPU time of the process",
                        "qutip_version": qutip.__version__})
    if diff > 1e-8:
        rec.met = False
    return [rec]


def _solve_only_times(qutip, h, g, occ):
    times = []
    c = [qutip.fdestroy(4, a) for a in range(4)]
    psi = [c[0], c[1], c[2].dag(), c[3].dag()]
    ops = [[psi[j].dag() * psi[i] for j in range(4)] for i in range(4)]
    for hk, gk, nk in zip(h, g, occ):
        H = sum(complex(hk[i, j]) * psi[i].dag() * psi[j]
                for i in range(4) for j in range(4) if hk[i, j] != 0)
        c_ops = [np.sqrt(2 * gk[a] * (1 - nk[a])) * c[a] for a in range(4) if nk[a] < 1]
        c_ops += [np.sqrt(2 * gk[a] * nk[a]) * c[a].dag() for a in range(4) if nk[a] > 0]
        t0 = time.process_time()
        r = qutip.steadystate(H, c_ops, method="direct")  # default solver (spsolve: ~ as fast as dense)
        np.array([[qutip.expect(o, r) for o in row] for row in ops])
        times.append(time.process_time() - t0)
    return times
