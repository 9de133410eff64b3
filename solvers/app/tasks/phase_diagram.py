"""Task ``phase-diagram``: critical couplings V_c along a scan of Ω/Γ, Ω or μ2 (Fig. 3a, 3b).

The physics of one scan point is :func:`solvers.scan.phase_point`; the loop, resume,
checkpoints and stopping are the :class:`~.driver.ScanDriver`'s.  Route names are those of
:mod:`solvers.susceptibility` ("keldysh": the real-frequency quadrature of the Keldysh
response; "poles": the finite-Δ pole-sum difference).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from solvers.fast_intraband import polarisation
from solvers.scan import default_nu_grid, phase_point

from .common import mesh_record
from .driver import Progress, ScanDriver, ScanHooks

__all__ = ["run_phase_diagram", "order_degenerate_branches"]


def order_degenerate_branches(point: dict, rtol: float = 1e-9) -> None:
    """Make the order of full-criterion crossings independent of rounding, in place.

    ``full_<route>`` (n_v, n) lists crossings by ascending V_c (NaN-padded) with their
    frequencies in ``nu_<route>``.  Two crossings at the same V_c (a degenerate pair at ±ν
    around the pair energy, V_c equal to the last bits) would be ordered by rounding, i.e. by
    the number of MPI ranks; such ties (|ΔV_c| <= rtol |V_c|) are ordered by ν instead."""
    for key in [k for k in point if k.startswith("full_")]:
        nu_key = "nu_" + key[len("full_"):]
        if nu_key not in point:
            continue
        vc, nu = np.array(point[key], dtype=float), np.array(point[nu_key], dtype=float)
        if vc.ndim != 2 or nu.shape != vc.shape:
            continue
        for row in range(vc.shape[0]):
            j = 0
            while j < vc.shape[1] - 1:
                k = j + 1
                while (k < vc.shape[1] and np.isfinite(vc[row, k])
                       and abs(vc[row, k] - vc[row, j]) <= rtol * max(abs(vc[row, j]), abs(vc[row, k]))):
                    k += 1
                if k - j > 1:
                    order = j + np.argsort(nu[row, j:k], kind="stable")
                    vc[row, j:k], nu[row, j:k] = vc[row, order], nu[row, order]
                j = k
        point[key], point[nu_key] = vc, nu


def run_phase_diagram(cfg, comm=None, progress: Progress | None = None,
                      hooks: ScanHooks | None = None) -> dict:
    """Critical couplings along the scan (Fig. 3a: Ω/Γ; Fig. 3b: μ2).

    At each scan value: build the system (paper baths with Ω from the scan, or the
    fast-intraband system at μ2) and its mesh, and call :func:`solvers.scan.phase_point`
    with numerics.routes, numerics.criteria, the |V'| values numerics.v_values and the ν
    grid of :func:`solvers.scan.default_nu_grid` (numerics.nu_per_panel, numerics.nu_span;
    stored NaN-padded as ``grids/nu``, (n_scan, max length)).  Its arrays are stacked along a
    new first axis (n_scan):
    ``paper_eq14``, ``paper_eq17``, ``paper_<route>`` have shape (n_scan, n_v, 2) (both
    branches, NaN where none); ``full_<route>``, ``nu_<route>`` (n_scan, n_v, N) the
    crossings of the full criterion (N = :data:`solvers.scan.N_BOUNDARIES`, NaN-padded; ties
    in V_c ordered by ν), ``chi_plus_<route>`` (n_scan,), and whatever else the point
    returns (e.g. ``unstable_modes_<route>``), stacked the same way.
    Also ``Omega`` (n_scan,) and, for μ2 scans, the K+ polarisation ``polarisation`` (n_scan,).

    Completed points of ``hooks.resume`` are kept as they are; after each new point
    ``hooks.checkpoint`` is called (unless it was the last) and ``hooks.should_stop``
    consulted, which may end the scan with :class:`~.driver.Interrupted`."""
    num = cfg.numerics
    choice = num.mesh
    values = cfg.scan_values()
    n = values.size
    v_values = np.asarray(num.v_values, dtype=float)
    # the ν grid of every point (its length depends on Ω: sideband panels), NaN-padded
    point_grids = [default_nu_grid(cfg.system(float(v)), num.nu_per_panel, num.nu_span) for v in values]
    nu_grids = np.full((n, max(g.size for g in point_grids)), np.nan)
    for i, g in enumerate(point_grids):
        nu_grids[i, : g.size] = g
    bookkeeping = {"n_samples": np.full(n, -1, dtype=np.int64)}
    if choice.USES_RESONANCE:
        bookkeeping.update(resonance_omega0=np.full(n, np.nan), resonance_width=np.full(n, np.nan))
    driver = ScanDriver("phase-diagram", cfg.scan.parameter, values, hooks=hooks, progress=progress,
                        checkpoint=cfg.output.checkpoint, per_point={"mesh": bookkeeping})
    # a momentum mesh that does not depend on the scan value is built once
    static_mesh = cfg.mesh(cfg.system(float(values[0]))) if choice.KIND == "monkhorst-pack" else None
    quasi = cfg.baths.kind == "quasi_thermal"

    def point(i: int, value: float) -> dict:
        system = cfg.system(value)
        mesh = static_mesh if static_mesh is not None else cfg.mesh(system)
        if choice.USES_RESONANCE:
            shell = cfg.resonance(system)
            bookkeeping["resonance_omega0"][i] = 2 * shell.energy
            bookkeeping["resonance_width"][i] = shell.width
        out = phase_point(system, mesh, v_values, routes=num.routes, criteria=num.criteria,
                          comm=comm, nu_grid=point_grids[i], n_per_panel=num.n_per_panel)
        order_degenerate_branches(out)
        out["Omega"] = system.Omega
        if quasi:
            out["polarisation"] = polarisation(system.model, value, cfg.baths.temperature, cfg.baths.reading)
        bookkeeping["n_samples"][i] = len(mesh)
        return out

    def sections() -> dict[str, Any]:
        mesh = mesh_record(choice, bookkeeping["n_samples"].copy(), bookkeeping.get("resonance_omega0"),
                           bookkeeping.get("resonance_width"), mesh=static_mesh)
        return {"mesh": mesh,
                "grids": {"scan_parameter": cfg.scan.parameter, "scan_values": values.copy(),
                          "v_values": v_values.copy(), "nu": nu_grids.copy(),
                          "branches": np.array(["lower", "upper"])}}

    return driver.run(point, sections)
