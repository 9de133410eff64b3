"""Task ``gap-map``: the superconducting state under coherent drive across a window of V
(spec §6; :mod:`solvers.continuation`).

For the system of the config (any drive pattern, paper baths) and |V'| = interaction.Vprime
(phase interaction.phi; interaction.V is not read: the V window numerics.V_window replaces it):

1. the full criterion at this |V'| (:func:`solvers.stability.phase_point`, route born_markov,
   certified by refinement unless numerics.certify = false) gives the boundaries of the
   normal state; for the valley drive on the resonance-shell energy mesh
   (:func:`solvers.stability.shell_mesh`, panels of Γ/2 halved per level; unless
   numerics.criterion_on_shell = false), otherwise on numerics.mesh refined per level;
2. every boundary inside the window, and each of its crossing frequencies ν_c, is a
   bifurcation point; it is located again on numerics.mesh for every route of
   numerics.branch_routes and continued in V (:func:`solvers.continuation.gap_map`): |Δ±|(V),
   ν(V), the spectrum of the Born-Markov dynamics linearised around every point (Goldstone
   mode excluded), folds, the bifurcation type and the exponent of |Δ|² ∝ |V - V_c|, and
   time-integration checks of stable Born-Markov points.

``results/`` is :func:`solvers.continuation.gap_map_tree` (the one serializer; layout in its
docstring); ``history/`` the wall time of the criterion and of each branch.
"""
from __future__ import annotations

import time

import numpy as np

from solvers.continuation import ContinuationOptions, GapMapOptions, StabilityOptions as SpectrumOptions, gap_map
from solvers.stability import StabilityOptions, phase_point

from ..config import InteractionParams
from ..config.numerics import ShellMesh
from .common import single_mesh_record
from .driver import Progress

__all__ = ["run_gap_map", "gap_map_options"]


def gap_map_options(num) -> GapMapOptions:
    """The :class:`~solvers.continuation.GapMapOptions` of the gap-map numerics."""
    cont = ContinuationOptions(a0=num.a0, ds=num.ds, ds_max=num.ds_max, max_points=num.max_points, tol=num.tol,
                               stability_options=SpectrumOptions(sigma=num.sigma))
    return GapMapOptions(routes=tuple(num.branch_routes), continuation=cont, n_checks=num.n_checks,
                         check_tol=num.check_tol, check_t_max=num.check_t_max)


def run_gap_map(cfg, comm=None, progress: Progress | None = None, hooks=None) -> dict:
    """The gap map of the config (module docstring)."""
    progress = progress or Progress()
    num = cfg.numerics
    system = cfg.system()
    mesh = cfg.mesh(system)
    inter = cfg.interaction if cfg.interaction is not None else InteractionParams()
    v = float(inter.Vprime)
    progress.start(2, 0, "gap-map")
    t0 = time.perf_counter()
    if system.pattern == "valley" and num.criterion_on_shell:
        shell = ShellMesh()

        def mesh_at(level: int):
            return shell.refined(level).build(system, None, num)
    else:
        resonance = cfg.resonance(system) if num.mesh.USES_RESONANCE else None

        def mesh_at(level: int):
            return num.mesh.refined(level).build(system, resonance, num)

    options = StabilityOptions(routes=("born_markov",), criteria=("full",), V_max=num.V_max, phi=inter.phi,
                               certify=num.certify, tolerance=num.tolerance, max_level=num.max_level,
                               nu_per_panel=num.nu_per_panel, nu_span=num.nu_span, closed_forms=False)
    point = phase_point(system, mesh_at, [v], options=options, comm=comm)
    criterion = point.get("full", "born_markov", v)
    t_criterion = time.perf_counter() - t0
    progress.advance()
    gm = gap_map(system, mesh, inter.Vprime_complex, num.V_window, criterion, options=gap_map_options(num),
                 comm=comm)
    progress.advance()
    results = gm.to_tree()
    history = {"criterion_seconds": float(t_criterion), "gap_map_seconds": float(gm.seconds),
               "branch_seconds": np.array([b.seconds for b in gm.branches], dtype=float),
               "criterion_statistics": {k: float(x) for k, x in criterion.statistics.items()
                                        if isinstance(x, (int, float, np.integer, np.floating))}}
    return {"results": results, "mesh": single_mesh_record(cfg, system, mesh),
            "grids": {"V_window": np.array(num.V_window, dtype=float)}, "history": history}
