"""Task ``susceptibility``: chi_±(ν) of every route (spec §6) and the closed forms.

Route names are those of :mod:`solvers.susceptibility`: "keldysh" there is the
real-frequency quadrature of the Keldysh response (:func:`keldysh.greens.pair_response_quadrature`)
and "poles" the finite-Δ difference of the exact pole sum (in the gap task "keldysh" is the
exact pole sum).
"""
from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from keldysh.nambu import DrivenSystem
from solvers import born_markov
from solvers.scan import closed_forms_available, default_nu_grid
from solvers.susceptibility import pair_susceptibility

from .common import single_mesh_record
from .driver import Progress

__all__ = ["run_susceptibility", "closed_form_kernels"]

log = logging.getLogger(__name__)


def closed_form_kernels(system: DrivenSystem) -> dict[str, float]:
    """F_+ from Eqs. (14) and (17) and F_- from Eq. (15), when they apply
    (:func:`solvers.scan.closed_forms_available`: valley drive, paper baths, T = 0)."""
    if not closed_forms_available(system):
        return {}
    G1, G2 = system.baths.gamma[0]
    args = (system.model, system.omega0, system.Omega, G1, G2, system.mu)
    F14 = born_markov.eq14_kernel(*args)
    F17 = born_markov.eq17_kernel(*args)
    return {"F_plus_eq14": F14, "F_minus_eq15": born_markov.eq15_kernel_minus(F14, G1, G2),
            "F_plus_eq17": F17}


def run_susceptibility(cfg, comm=None, progress: Progress | None = None, hooks=None) -> dict:
    """chi_±(z) of every route at z = 0 and at z = ν on the real grid of
    :func:`solvers.scan.default_nu_grid` (panels at -2μ and the Rabi sidebands,
    ``numerics.nu_per_panel`` points each, within -2μ ± nu_span (Γ1 + Γ2 + 2Ω + 2T); not for
    the "paper" route, which is defined at ν = 0 only).  Also the closed forms Eqs. (14),
    (15), (17) when they apply (valley drive, paper baths, T = 0)."""
    progress = progress or Progress()
    num = cfg.numerics
    system = cfg.system()
    mesh = cfg.mesh(system)
    nu = default_nu_grid(system, num.nu_per_panel, num.nu_span)
    progress.start(sum(1 + (nu.size if r != "paper" else 0) for r in num.routes), 0, "chi")
    results: dict[str, Any] = {}
    history: dict[str, Any] = {}
    for route in num.routes:
        t0 = time.perf_counter()
        chi0 = pair_susceptibility(system, mesh, route=route, z=0.0, comm=comm, n_per_panel=num.n_per_panel)
        progress.advance()
        entry: dict[str, Any] = {"chi_plus_0": chi0.chi_plus, "chi_minus_0": chi0.chi_minus,
                                 "F_plus": chi0.F_plus, "F_minus": chi0.F_minus}
        if route != "paper":
            cp = np.empty(nu.size, complex)
            cm = np.empty(nu.size, complex)
            for j, z in enumerate(nu):
                s = pair_susceptibility(system, mesh, route=route, z=float(z), comm=comm,
                                        n_per_panel=num.n_per_panel)
                cp[j], cm[j] = s.chi_plus, s.chi_minus
                progress.advance()
            entry.update(chi_plus=cp, chi_minus=cm)
        results[route] = entry
        history[route] = {"seconds": time.perf_counter() - t0}
        log.info("susceptibility: route %s: chi+(0) = %.6g%+.6gj (%.1f s)", route,
                 chi0.chi_plus.real, chi0.chi_plus.imag, history[route]["seconds"])
    results.update(closed_form_kernels(system))
    results["pair_energy"] = float(-2 * system.mu)
    return {"results": results, "mesh": single_mesh_record(cfg, system, mesh), "grids": {"nu": nu},
            "history": history}
