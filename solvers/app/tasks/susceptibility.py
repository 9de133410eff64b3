"""Task ``susceptibility``: the pair susceptibility matrix chi_ab(ν) of every route (spec §6,
§9) and the closed forms.

Routes are those of :data:`solvers.stability.ROUTES` (each computes its own chi through
:class:`solvers.stability.ChiEvaluator`): "keldysh" is the exact pole-sum Keldysh response,
"quadrature" the same by frequency quadrature (its oracle), "poles" finite-Δ differences of
the pole-sum rho, "born_markov" the linearised Lyapunov equation, "paper" the Eq. (9)
structure (Eq. 13 at ν = 0).
"""
from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from solvers.stability import ChiEvaluator, default_nu_grid
from solvers.stability.pipeline import closed_form_kernels

from .common import single_mesh_record
from .driver import Progress

__all__ = ["run_susceptibility"]

log = logging.getLogger(__name__)


def run_susceptibility(cfg, comm=None, progress: Progress | None = None, hooks=None) -> dict:
    """chi_ab(z) of every route at z = 0 and at z = ν on the real grid of
    :func:`solvers.stability.default_nu_grid` (panels at -2μ and the Rabi sidebands,
    ``numerics.nu_per_panel`` points each, within -2μ ± nu_span (Γ1 + Γ2 + 2Ω + 2T)).

    Per route: ``chi_plus_0``, ``chi_minus_0`` (chi_++(0), chi_--(0); for the paper route
    Eq. (13) itself), ``F_plus``, ``F_minus`` (their real parts), ``chi_matrix_0`` (2, 2),
    ``chi_plus``, ``chi_minus`` (n_nu,) and ``chi_matrix`` (n_nu, 2, 2).  Also the closed
    forms Eqs. (14), (15), (17) when they apply (valley drive, paper baths, T = 0)."""
    progress = progress or Progress()
    num = cfg.numerics
    system = cfg.system()
    mesh = cfg.mesh(system)
    nu = default_nu_grid(system, num.nu_per_panel, num.nu_span)
    progress.start(2 * len(num.routes), 0, "chi")
    results: dict[str, Any] = {}
    history: dict[str, Any] = {}
    for route in num.routes:
        t0 = time.perf_counter()
        ev = ChiEvaluator(route, system, mesh, comm, {"n_per_panel": num.n_per_panel})
        chi0 = ev.static()
        progress.advance()
        chi = ev(nu)
        progress.advance()
        results[route] = {"chi_plus_0": complex(chi0[0, 0]), "chi_minus_0": complex(chi0[1, 1]),
                          "F_plus": float(chi0[0, 0].real), "F_minus": float(chi0[1, 1].real),
                          "chi_matrix_0": chi0, "chi_plus": chi[:, 0, 0], "chi_minus": chi[:, 1, 1],
                          "chi_matrix": chi}
        history[route] = {"seconds": time.perf_counter() - t0}
        log.info("susceptibility: route %s: chi+(0) = %.6g%+.6gj (%.1f s)", route,
                 chi0[0, 0].real, chi0[0, 0].imag, history[route]["seconds"])
    results.update(closed_form_kernels(system))
    results["pair_energy"] = float(-2 * system.mu)
    return {"results": results, "mesh": single_mesh_record(cfg, system, mesh), "grids": {"nu": nu},
            "history": history}
