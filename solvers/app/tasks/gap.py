"""Task ``gap``: the nonzero steady state (Δ+, Δ-, ν) of the gap equation (spec §6)."""
from __future__ import annotations

import numpy as np

from solvers.fast_intraband import polarisation
from solvers.gap import solve_gap

from .common import single_mesh_record
from .driver import Progress

__all__ = ["run_gap"]


def run_gap(cfg, comm=None, progress: Progress | None = None, hooks=None) -> dict:
    """Nonzero steady state of Δ+ = V S+ + V' S-, Δ- = V'* S+ + V S- (Eqs. 8, 12) with the
    condensate frequency ν, by :func:`solvers.gap.solve_gap` (route numerics.route:
    "born_markov" the Lyapunov steady state, "keldysh" the exact pole sum).

    ``results/converged`` is False when no nonzero solution was verified (the CLI then exits
    with status 3); the attempts are recorded under ``history/attempts``."""
    progress = progress or Progress()
    num = cfg.numerics
    system = cfg.system()
    mesh = cfg.mesh(system)
    inter = cfg.interaction
    progress.start(1, 0, "gap")
    res = solve_gap(system, mesh, inter.V, inter.Vprime_complex, route=num.route, comm=comm,
                    tol=num.tol, max_nfev=num.max_nfev)
    progress.advance()
    attempts = {key: np.array([a[key] for a in res.attempts]) for key in
                (res.attempts[0].keys() if res.attempts else ())}
    results = {
        "converged": bool(res.converged),
        "reason": str(res.reason),
        "route": str(res.route),
        "delta_plus": complex(res.delta_plus),
        "delta_minus": complex(res.delta_minus),
        "abs_delta_plus": float(abs(res.delta_plus)),
        "abs_delta_minus": float(abs(res.delta_minus)),
        "nu": float(res.nu),
        "residual": float(res.residual),
        "iterations": int(res.iterations),
        "V": float(inter.V),
        "Vprime": complex(inter.Vprime_complex),
    }
    if system.Omega == 0 and cfg.baths.kind == "quasi_thermal":
        results["polarisation"] = polarisation(system.model, cfg.baths.mu2, cfg.baths.temperature,
                                               cfg.baths.reading)
    return {"results": results, "mesh": single_mesh_record(cfg, system, mesh), "grids": {},
            "history": {"residual": np.asarray(res.history, dtype=float), "seconds": float(res.seconds),
                        "attempts": attempts}}
