"""Task ``phase-diagram``: certified critical couplings along a scan of Ω/Γ, Ω, ω0, ω0 - δ
or μ2 (Fig. 3a, 3b and the ω0 dependence).

The physics of one scan point is :func:`solvers.stability.phase_point` (every route computes
its own chi and its own Nyquist count; the paper and the full criterion; certification by
refining the mesh and the ν trace until two levels agree); the loop, resume, checkpoints and
stopping are the :class:`~.driver.ScanDriver`'s.  The results are written by the one
serializer :func:`solvers.stability.stack_points` (layout in :mod:`solvers.stability.results`)
and a resumed run reads its completed points back with :func:`solvers.stability.point_from_tree`.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np

from solvers.fast_intraband import polarisation
from solvers.stability import StabilityOptions, default_nu_grid, phase_point, point_from_tree, stack_points
from solvers.stability.results import summarise

from .common import mesh_record
from .driver import Progress, ScanDriver, ScanHooks

__all__ = ["run_phase_diagram", "stability_options"]

log = logging.getLogger(__name__)


def stability_options(num) -> StabilityOptions:
    """The :class:`StabilityOptions` of the phase-diagram numerics."""
    return StabilityOptions(routes=tuple(num.routes), criteria=tuple(num.criteria), V_max=num.V_max,
                            certify=num.certify, tolerance=num.tolerance, max_level=num.max_level,
                            n_per_panel=num.n_per_panel, nu_per_panel=num.nu_per_panel, nu_span=num.nu_span)


def run_phase_diagram(cfg, comm=None, progress: Progress | None = None,
                      hooks: ScanHooks | None = None) -> dict:
    """Certified critical couplings at every scan value (see the module docstring).

    ``results/`` holds the stacked :class:`~solvers.stability.PhasePoint` of every completed
    point (:mod:`solvers.stability.results`: ``parameters/``, ``chi0/<route>``,
    ``closed_forms/``, ``paper/<route>/``, ``full/<route>/`` with V_c, nu_c, jump, error,
    status, counts, certified, ...) and, for μ2 scans, the K+ ``polarisation`` (n_scan,);
    ``grids/`` the scan values, ``v_values`` and the starting ν grid of each point (NaN-padded);
    ``history/summary`` the numbers of certified results and of boundaries by status."""
    num = cfg.numerics
    choice = num.mesh
    values = cfg.scan_values()
    n = values.size
    v_values = np.asarray(num.v_values, dtype=float)
    options = stability_options(num)
    quasi = cfg.baths.kind == "quasi_thermal"
    point_grids = [default_nu_grid(cfg.system(float(v)), num.nu_per_panel, num.nu_span) for v in values]
    nu_grids = np.full((n, max(g.size for g in point_grids)), np.nan)
    for i, g in enumerate(point_grids):
        nu_grids[i, : g.size] = g
    bookkeeping = {"n_samples": np.full(n, -1, dtype=np.int64)}
    if choice.USES_RESONANCE:
        bookkeeping.update(resonance_omega0=np.full(n, np.nan), resonance_width=np.full(n, np.nan))
    # a momentum mesh that does not depend on the scan value: level 0 is built once and stored
    static = choice.build(cfg.system(float(values[0])), None, num) if choice.KIND == "monkhorst-pack" else None
    points: list = [None] * n
    extra = {"polarisation": np.full(n, np.nan)} if quasi else {}
    if hooks is not None and hooks.resume is not None:
        old = hooks.resume["results"]
        for i in np.nonzero(hooks.resume["completed"])[0]:
            points[i] = point_from_tree(old, int(i), v_values)
            if points[i] is None:
                raise ValueError(f"checkpoint: scan point {i} is marked completed but has no results")
        for key in extra:
            if key in old:
                extra[key][:] = np.asarray(old[key], dtype=float)
    driver = ScanDriver("phase-diagram", cfg.scan.parameter, values, hooks=hooks, progress=progress,
                        checkpoint=cfg.output.checkpoint, per_point={"mesh": bookkeeping})

    def point(i: int, value: float) -> dict:
        system = cfg.system(value)
        resonance = cfg.resonance(system) if choice.USES_RESONANCE else None
        if resonance is not None:
            bookkeeping["resonance_omega0"][i] = 2 * resonance.energy
            bookkeeping["resonance_width"][i] = resonance.width
        meshes: dict = {}

        def mesh_at(level: int):
            if level == 0 and static is not None:
                return static
            if level not in meshes:
                meshes[level] = choice.refined(level).build(system, resonance, num)
            return meshes[level]

        points[i] = phase_point(system, mesh_at, v_values, options=options, comm=comm)
        bookkeeping["n_samples"][i] = len(mesh_at(0))
        if quasi:
            extra["polarisation"][i] = polarisation(system.model, value, cfg.baths.temperature, cfg.baths.reading)
        s = points[i].summary()
        log.info("phase-diagram: %s = %.6g: %d of %d results certified", cfg.scan.parameter, value,
                 s["certified"], s["n_couplings"])
        return {}

    def sections() -> dict[str, Any]:
        mesh = mesh_record(choice, bookkeeping["n_samples"].copy(), bookkeeping.get("resonance_omega0"),
                           bookkeeping.get("resonance_width"), mesh=static)
        results = stack_points(points, v_values)
        results.pop("completed", None)
        results.update({k: v.copy() for k, v in extra.items()})
        done = [p for p in points if p is not None]
        summary = summarise(done)
        return {"results": results, "mesh": mesh,
                "grids": {"scan_parameter": cfg.scan.parameter, "scan_values": values.copy(),
                          "v_values": v_values.copy(), "nu": nu_grids.copy()},
                "history": {"summary": {"n_couplings": summary["n_couplings"], "certified": summary["certified"],
                                        "not_certified": summary["not_certified"],
                                        "boundaries": summary["boundaries"],
                                        "boundary_status": np.array(sorted(summary["by_status"]), dtype=str),
                                        "boundary_status_count": np.array(
                                            [summary["by_status"][k] for k in sorted(summary["by_status"])],
                                            dtype=np.int64)}}}

    return driver.run(point, sections)
