"""Task ``threshold``: the laser intensity at which a TMD monolayer's driven normal state first
becomes unstable, under the full criterion and the paper's, in laboratory units (spec §6, §9).

For every scan point (a linewidth, a detuning, a coupling, ...; or the config's one point) the
:class:`~solvers.app.config.material.ThresholdPoint` gives the material's two spin-orbit sectors
at any intensity I (:class:`keldysh.nambu.SpinfulSystem`: σ = +1, the A transition, and σ = -1,
each with its own gap, band offset, resonance and Rabi energy ħΩ_σ(I)), and
:func:`solvers.threshold.find_threshold` searches I in [I_min, I_max] for the first instability
at the config's couplings (V, V'), certified by refining the sector meshes
(numerics.mesh at levels 0..max_level, built around each sector's resonance).

Results (every array has the scan as its first axis, n_scan; NaN / "" where a point is not
done), ``results/<criterion>/`` for each of numerics.criteria:

* ``intensity_W_cm2``, ``error_W_cm2``: the threshold and its error estimate (NaN when none was
  found: then ``status`` says why and ``lower_W_cm2`` = the maximum intensity is a lower bound);
  ``lower_W_cm2``, ``upper_W_cm2``: the final bracket (stable, unstable);
* the same threshold as ``field_MV_cm`` (peak field of circular light, I = c ε0 E0²) and as
  Rabi energies ``rabi_A_meV``, ``rabi_B_meV`` and ``rabi_A_t``, ``rabi_B_t`` (units of t),
  ``rabi_A_over_Gamma`` (Ω_A / (Γ1 + Γ2));
* ``certified`` (bool), ``status`` (str), ``count`` (growing modes just above threshold),
  ``nu_t``, ``nu_meV`` (the frequency at which the mode crosses, rotating frame; 0 for the
  paper criterion) and ``nu_from_pair_A_meV`` (the same measured from the A sector's pair energy
  at K+, λ - 2μ), ``levels_W_cm2`` (n_scan, max_level + 1: the threshold at each level),
  ``n_evaluations``, ``seconds``;
* ``evaluations/``: every predicate evaluation, (n_scan, n_max): ``intensity_W_cm2``,
  ``level``, ``unstable``, ``count``, ``margin`` (full: V - nearest V_c in t; paper: largest
  real eigenvalue of M F minus 1), ``nu_t``, ``n_samples``, ``seconds``, ``status``.

``results/parameters/``: the point in laboratory and engine units (photon_energy_eV,
detuning_meV, linewidth_meV, temperature_K, mu_meV, V_eV, Vprime_eV, V_over_bandwidth, ...,
omega0_t, Gamma_t, mu_t, T_t, V_t, Vprime_t).  ``grids/``: the scan (parameter, values in
``scan_unit``, the strings as given), ``grids/material/`` (the material's parameters and
conversions, e.g. ``t_eV``, ``rabi_A_meV_per_MV_cm``), ``grids/units/`` (the unit of every
quantity, as attributes).
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np

from keldysh import units
from keldysh.kmesh import Resonance
from solvers.born_markov import resonance_width
from solvers.threshold import find_threshold, stability_at

from ..config.material import bandwidth_eV
from .common import mesh_record
from .driver import Progress, ScanDriver, ScanHooks

__all__ = ["run_threshold", "sector_meshes", "mesh_samples_estimate", "UNITS"]

log = logging.getLogger(__name__)

#: the unit of every quantity of the results (grids/units in the file)
UNITS = {
    "intensity_W_cm2": "W/cm^2", "error_W_cm2": "W/cm^2", "lower_W_cm2": "W/cm^2", "upper_W_cm2": "W/cm^2",
    "levels_W_cm2": "W/cm^2", "field_MV_cm": "MV/cm", "rabi_A_meV": "meV", "rabi_B_meV": "meV",
    "rabi_A_t": "t", "rabi_B_t": "t", "rabi_A_over_Gamma": "1 (Omega_A / (Gamma1 + Gamma2))",
    "nu_t": "t (rotating frame)", "nu_meV": "meV (rotating frame)",
    "nu_from_pair_A_meV": "meV (from the A pair energy at K+, lambda - 2 mu)", "margin": "t (full) or 1 (paper)",
    "photon_energy_eV": "eV", "detuning_meV": "meV (from the A transition at K+)",
    "linewidth_meV": "meV (HWHM, hbar Gamma_a)", "temperature_K": "K", "mu_meV": "meV (from the middle of the A gap)",
    "V_eV": "eV x unit cell", "Vprime_eV": "eV x unit cell", "V_over_bandwidth": "1", "Vprime_over_bandwidth": "1",
    "omega0_t": "t", "Gamma_t": "t", "mu_t": "t", "T_t": "t", "V_t": "t x unit cell", "Vprime_t": "t x unit cell",
    "t_eV": "eV", "seconds": "s",
}


def sector_meshes(choice, system, num, level: int) -> tuple:
    """One mesh per sector of ``system`` at resolution ``level`` of the mesh choice, each built
    around its own sector's resonance e_k = ω0/2 (width W of Eq. 10 with that sector's Ω)."""
    mesh = choice.refined(level)
    out = []
    for s in system.sectors:
        resonance = None
        if mesh.USES_RESONANCE:
            g1, g2 = s.baths.gamma[0]
            resonance = Resonance.drive(s.omega0, max(float(resonance_width(s.Omega, g1, g2)), 1e-12))
        out.append(mesh.build(s, resonance, num))
    return tuple(out)


def _material_record(material) -> dict[str, Any]:
    m = material
    return {"name": m.name, "source": m.source, "gap_eV": m.gap_eV, "lambda_so_eV": m.lambda_so_eV,
            "gap_A_eV": m.gap_A_eV, "gap_B_eV": m.gap_B_eV, "hbar_v_eV_angstrom": m.hbar_v_eV_angstrom,
            "lattice_constant_angstrom": m.lattice_constant_angstrom, "t_eV": m.t_eV,
            "delta_over_t": m.delta_over_t, "lambda_over_t": m.lambda_over_t, "bandwidth_eV": bandwidth_eV(m),
            "rabi_A_meV_per_MV_cm": units.field_to_rabi("1 MV/cm", m, +1) * m.t_eV * 1e3,
            "rabi_B_meV_per_MV_cm": units.field_to_rabi("1 MV/cm", m, -1) * m.t_eV * 1e3,
            "intensity_GW_cm2_per_MV_cm_squared": units.intensity_per_field_squared().m_as("GW/cm^2")}


def run_threshold(cfg, comm=None, progress: Progress | None = None, hooks: ScanHooks | None = None) -> dict:
    """Threshold intensities of the full and the paper criterion at every scan point (see the
    module docstring): the laser intensity above which the normal state of the material's two
    spin-orbit sectors, driven by circular light, has a growing mode at the given couplings."""
    num = cfg.numerics
    choice = num.mesh
    scan = cfg.scan
    raw_values = list(scan.values) if scan is not None else [None]
    n = len(raw_values)
    values = cfg.scan_values() if scan is not None else np.zeros(1)
    criteria = tuple(num.criteria)
    points = [cfg.threshold_point(v) for v in raw_values]
    material = points[0].material
    levels = num.max_level + 1 if num.certify else 1

    def blank() -> dict[str, np.ndarray]:
        out = {k: np.full(n, np.nan) for k in ("intensity_W_cm2", "error_W_cm2", "lower_W_cm2", "upper_W_cm2",
                                               "field_MV_cm", "rabi_A_meV", "rabi_B_meV", "rabi_A_t", "rabi_B_t",
                                               "rabi_A_over_Gamma", "nu_t", "nu_meV", "nu_from_pair_A_meV",
                                               "seconds")}
        out.update(certified=np.zeros(n, bool), status=np.full(n, "", dtype=object), count=np.full(n, -1, np.int64),
                   n_evaluations=np.zeros(n, np.int64), levels_W_cm2=np.full((n, levels), np.nan))
        return out

    tables: dict[str, dict] = {c: blank() for c in criteria}
    evaluations: dict[str, list] = {c: [None] * n for c in criteria}
    parameters = {k: np.full(n, np.nan) for k in points[0].record()}
    for i, p in enumerate(points):
        for k, v in p.record().items():
            parameters[k][i] = v
    n_samples = np.full(n, -1, dtype=np.int64)
    resumed: dict = {}
    if hooks is not None and hooks.resume is not None:
        resumed = hooks.resume["results"]
    driver = ScanDriver("threshold", scan.parameter if scan is not None else "point", values, hooks=hooks,
                        progress=progress, checkpoint=cfg.output.checkpoint, per_point={"mesh": {"n_samples": n_samples}})

    def point(i: int, value: float) -> dict:
        p = points[i]
        I_min, I_max = p.intensity_range
        Vprime = p.Vprime * np.exp(1j * p.phi)
        for crit in criteria:
            route = num.paper_route if crit == "paper" else num.full_route

            def evaluate(I: float, level: int):
                system = p.system(I)
                meshes = sector_meshes(choice, system, num, level)
                if level == 0:
                    n_samples[i] = max(n_samples[i], sum(len(m) for m in meshes))
                return stability_at(system, meshes, p.V, Vprime, crit, route, level=level, V_max=num.V_max,
                                    nu_per_panel=num.nu_per_panel, nu_span=num.nu_span, n_per_panel=num.n_per_panel,
                                    comm=comm, intensity=I)

            res = find_threshold(evaluate, I_min, I_max, criterion=crit, route=route,
                                 points_per_decade=num.points_per_decade, rtol=num.rel_tolerance,
                                 max_level=num.max_level, certify=num.certify)
            _store(tables[crit], i, res, p)
            evaluations[crit][i] = res.evaluations
            log.info("threshold: point %d, %s criterion (%s): %s, I = %.4g W/cm^2 (± %.2g), %d evaluations",
                     i, crit, route, res.status, res.intensity, res.error, len(res.evaluations))
        return {}

    def sections() -> dict[str, Any]:
        results: dict[str, Any] = {"parameters": {k: v.copy() for k, v in parameters.items()}}
        for crit in criteria:
            table = {k: (v.astype(str) if k == "status" else v.copy()) for k, v in tables[crit].items()}
            old = resumed.get(crit, {}) if isinstance(resumed.get(crit), dict) else {}
            done_before = hooks.resume["completed"] if hooks is not None and hooks.resume is not None else np.zeros(n, bool)
            for key, arr in table.items():
                if key in old and np.shape(old[key]) == arr.shape:
                    arr[done_before] = np.asarray(old[key])[done_before]
            table["evaluations"] = _evaluation_table(evaluations[crit], old.get("evaluations", {}), done_before)
            results[crit] = table
        units_attrs = {k: v for k, v in UNITS.items()}
        if scan is not None:
            units_attrs["scan_values"] = scan.unit or "1"
        return {"results": results,
                "mesh": mesh_record(choice, n_samples.copy()),
                "grids": {"scan_parameter": scan.parameter if scan is not None else "none",
                          "scan_values": np.asarray(values, dtype=float).copy(),
                          "scan_unit": scan.unit if scan is not None else "",
                          "scan_labels": np.array([str(v) for v in raw_values], dtype=str),
                          "criteria": np.array(criteria, dtype=str),
                          "routes": np.array([num.paper_route if c == "paper" else num.full_route for c in criteria],
                                             dtype=str),
                          "material": _material_record(material), "units": units_attrs}}

    return driver.run(point, sections)


def _store(table: dict, i: int, res, p) -> None:
    """Row i of a criterion's table from a ThresholdResult ``res`` at point ``p``."""
    I = res.intensity
    table["intensity_W_cm2"][i] = I
    table["error_W_cm2"][i] = res.error
    table["lower_W_cm2"][i] = res.lower
    table["upper_W_cm2"][i] = res.upper
    if np.isfinite(I):
        field = units.intensity_to_field(units.ureg.Quantity(float(I), "W/cm^2")).m_as("MV/cm")
        om_a, om_b = p.rabi(I)
        table["field_MV_cm"][i] = field
        table["rabi_A_t"][i], table["rabi_B_t"][i] = om_a, om_b
        table["rabi_A_meV"][i], table["rabi_B_meV"][i] = om_a * p.t_eV * 1e3, om_b * p.t_eV * 1e3
        table["rabi_A_over_Gamma"][i] = om_a / (2 * p.Gamma)
    table["nu_t"][i] = res.nu
    table["nu_meV"][i] = res.nu * p.t_eV * 1e3
    # relative to the A sector's pair energy at K+, E_A = 2 c_A(K+) - 2μ = λ - 2μ (spec §9)
    table["nu_from_pair_A_meV"][i] = (res.nu - (p.material.lambda_over_t - 2 * p.mu)) * p.t_eV * 1e3
    table["certified"][i] = res.certified
    table["status"][i] = res.status
    table["count"][i] = res.count
    table["n_evaluations"][i] = len(res.evaluations)
    table["seconds"][i] = res.seconds
    lv = table["levels_W_cm2"]
    lv[i, :] = np.nan
    lv[i, : min(len(res.levels), lv.shape[1])] = res.levels[: lv.shape[1]]


_EVAL_FIELDS = {"intensity_W_cm2": "intensity", "level": "level", "unstable": "unstable", "count": "count",
                "margin": "margin", "nu_t": "nu", "n_samples": "n_samples", "seconds": "seconds", "status": "status"}


def _evaluation_table(per_point: list, old: dict, done_before) -> dict[str, np.ndarray]:
    """(n_scan, n_max) arrays of every evaluation (NaN / -1 / "" padded)."""
    n = len(per_point)
    width = max([len(e) for e in per_point if e is not None] + [np.shape(old.get("level", np.zeros((n, 0))))[-1], 1])
    out: dict[str, np.ndarray] = {}
    for key, attr in _EVAL_FIELDS.items():
        if key == "status":
            arr = np.full((n, width), "", dtype=object)
        elif key in ("level", "count", "n_samples"):
            arr = np.full((n, width), -1, dtype=np.int64)
        elif key == "unstable":
            arr = np.zeros((n, width), dtype=bool)
        else:
            arr = np.full((n, width), np.nan)
        if key in old and np.ndim(old[key]) == 2 and np.shape(old[key])[0] == n:
            prev = np.asarray(old[key])
            arr[done_before, : prev.shape[1]] = prev[done_before]
        for i, evs in enumerate(per_point):
            if evs is not None:
                for j, e in enumerate(evs):
                    arr[i, j] = getattr(e, attr)
        out[key] = arr.astype(str) if key == "status" else arr
    return out


def mesh_samples_estimate(cfg) -> tuple[float, str]:
    """Level-0 samples of the largest search (both sectors at the maximum intensity, the scan
    point with the narrowest linewidth), and the key that sets it: for the memory estimate of
    ``keldysh-run`` (the finest level has about 2^max_level times as many)."""
    from solvers.stability.grids import shell_half_window

    choice = cfg.numerics.mesh
    span = cfg.numerics.nu_span
    values = list(cfg.scan.values) if cfg.scan is not None else [None]
    worst = 0.0
    for value in {values[0], values[-1]}:
        p = cfg.threshold_point(value)
        system = p.system(p.intensity_range[1])
        n = 0.0
        for s in system.sectors:
            gamma = float(s.baths.gamma[0].sum())
            window = 2 * shell_half_window(s, span)
            if choice.KIND == "polar-shell":
                n += 3 * choice.polar_angles * (window / (choice.polar_resolution * gamma) * choice.polar_order + 24)
            elif choice.KIND == "refined-polar":
                n += 48.0 * choice.refine_level**2
            elif choice.KIND == "monkhorst-pack":
                n += choice.nk**2 / 2
        worst = max(worst, n)
    key = {"polar-shell": "numerics.polar_resolution (or drive.max_intensity)", "refined-polar": "numerics.refine_level",
           "monkhorst-pack": "numerics.nk"}.get(choice.KIND, "numerics.mesh")
    return worst, key
