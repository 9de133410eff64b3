"""The threshold search (solvers.threshold), the laboratory-unit config of task "threshold"
(solvers.app.config.material) and the task itself.

Oracles: synthetic predicates with known thresholds (the search logic, certification and every
status); Eq. (16) for the paper criterion; for the full criterion in the undressed Born-Markov
limit (route "paper", flat pair) the growth rates λ = -Γ ± P sqrt(|V'|² - V²) of spec §6, so
the threshold drive solves P(Ω) sqrt(|V'|² - V²) = Γ with P = Σ_k w_k n22_k (Eq. 10), found
here by root finding on the populations alone; hand conversions of the physical inputs.
"""
from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import brentq

from keldysh import io
from keldysh.baths import BathSet
from keldysh.kmesh import EnergyMesh, Resonance
from keldysh.lattice import HoneycombModel
from keldysh.materials import SpinSectorModel, preset
from keldysh.nambu import DrivenSystem, SpinfulSystem
from solvers import born_markov
from solvers.app import plot
from solvers.app.config import Config, ConfigError
from solvers.app.config.material import bandwidth_eV
from solvers.app.tasks import TASKS
from solvers.stability import ChiEvaluator, paper_couplings
from solvers.threshold import Evaluation, find_threshold, stability_at


# -- the search on synthetic predicates ------------------------------------------------------
def _predicate(thresholds, windows=()):
    """unstable iff I >= thresholds[level] or I in one of ``windows`` (lo, hi)."""
    calls = []

    def evaluate(I, level):
        calls.append((I, level))
        unstable = I >= thresholds[level] or any(lo <= I <= hi for lo, hi in windows)
        return Evaluation(I, level, unstable, int(unstable), 0.0, 0.0, "ok", 1, 0.0)

    return evaluate, calls


def test_search_converges_on_the_levels_and_certifies():
    Ic = 3.7e8
    levels = [Ic * (1 + 0.5 * 4.0**-k) for k in range(4)]  # 1.5, 1.125, 1.031, 1.008 x Ic
    evaluate, calls = _predicate(levels)
    r = find_threshold(evaluate, 1e6, 1e11, rtol=0.1, max_level=3)
    assert r.certified and r.status == "ok"
    assert len(r.levels) == 3  # level 2 agrees with level 1 within 10 %
    assert r.lower < levels[2] <= r.upper and r.upper / r.lower - 1 <= 0.1 / 4
    assert r.intensity == pytest.approx(levels[2], rel=0.1 / 4)
    assert r.error >= abs(r.levels[2] - r.levels[1]) and r.count == 1
    assert [e.intensity for e in r.evaluations] == [c[0] for c in calls]  # every evaluation recorded
    # the same with a tighter tolerance needs the next level, which is not allowed: not converged
    r2 = find_threshold(_predicate(levels)[0], 1e6, 1e11, rtol=0.01, max_level=2)
    assert not r2.certified and r2.status == "not converged by level 2"
    assert r2.intensity == pytest.approx(levels[2], rel=0.01)


def test_search_reports_no_threshold_and_threshold_below_the_range():
    r = find_threshold(_predicate([math.inf] * 3)[0], 1e6, 1e10, max_level=2)
    assert math.isnan(r.intensity) and r.lower == 1e10 and r.certified
    assert r.status == "stable up to the maximum intensity"
    r = find_threshold(_predicate([1.0] * 3)[0], 1e6, 1e10)
    assert math.isnan(r.intensity) and r.upper == 1e6 and not r.certified
    assert r.status == "unstable at the minimum intensity"
    # a finer level that is unstable below the minimum says so
    r = find_threshold(_predicate([2e6, 1.0])[0], 1e6, 1e10, max_level=1)
    assert r.status == "unstable at the minimum intensity at level 1" and not r.certified
    # and one that is stable up to the maximum
    r = find_threshold(_predicate([2e9, math.inf])[0], 1e6, 1e10, max_level=1)
    assert r.status.startswith("stable up to the maximum intensity at level 1") and math.isnan(r.intensity)


def test_search_moves_the_bracket_on_a_finer_level_up_to_the_maximum():
    # level 1 is unstable only above 9.5e9, less than one grid step below I_max = 1e10
    r = find_threshold(_predicate([4e9, 9.5e9])[0], 1e6, 1e10, rtol=0.05, max_level=1)
    assert r.levels[0] == pytest.approx(4e9, rel=0.05) and r.levels[1] == pytest.approx(9.5e9, rel=0.05)
    assert r.upper <= 1e10 and r.status == "not converged by level 1" and not r.certified


def test_search_finds_the_first_window_on_the_bracket_grid():
    # unstable in a window around 3.16e7 (a grid point at 2 per decade) and above 5e9
    evaluate, _ = _predicate([5e9, 5e9], windows=[(2e7, 4e7)])
    r = find_threshold(evaluate, 1e6, 1e11, rtol=0.05, max_level=1)
    assert r.intensity == pytest.approx(2e7, rel=0.05) and r.certified


def test_search_validates_its_range():
    with pytest.raises(ValueError, match="I_min < I_max"):
        find_threshold(_predicate([1.0])[0], 1e6, 1e5)


# -- the predicates against closed forms -----------------------------------------------------------
G1 = G2 = 5e-4
GAMMA = G1 + G2
MU = -GAMMA / 2


def _valley(Omega: float) -> DrivenSystem:
    return DrivenSystem(HoneycombModel(1.0), 1.1, Omega, BathSet.paper(G1, G2, MU), MU)


MESH = EnergyMesh.resonant(HoneycombModel(1.0), Resonance.drive(1.1, 8 * GAMMA), 300, 60)


def test_paper_predicate_is_eq16():
    """F_- = -F_+ (γ1 = γ2): unstable exactly for |V| > V_c = sqrt(v² + 1/F_+²) (Eq. 16)."""
    system = _valley(2e-3)
    v = 3.0
    chi0 = ChiEvaluator("paper", system, MESH).static()
    Vc = paper_couplings(chi0, v, "paper").V_c
    assert Vc[1] == pytest.approx(-Vc[0], rel=1e-9)
    for V, unstable in ((Vc[1] * (1 + 1e-6), True), (Vc[1] * (1 - 1e-6), False), (-Vc[1] * (1 + 1e-6), True),
                        (0.0, False)):
        e = stability_at(system, MESH, V, v, "paper", "paper")
        assert e.unstable is unstable and e.nu == 0.0


def test_full_predicate_threshold_is_the_undressed_growth_rate_closed_form():
    """Route "paper" (undressed), flat pair: unstable iff P(Ω) sqrt(v² - V²) > Γ.  Search in
    I = (Ω/Ω_ref)² through a one-sector SpinfulSystem (λ = 0) on a fixed mesh."""
    V, v = 0.3, 4.0
    ref = 1e-3

    def density(Omega):
        modes = _valley(Omega).modes(MESH)
        rho = born_markov.normal_state(modes)
        return float(modes.weight @ np.real(rho[:, 1, 1]))

    Omega_c = brentq(lambda Om: density(Om) * math.sqrt(v**2 - V**2) - GAMMA, 1e-4, 1e-1, xtol=1e-14)
    sector = SpinSectorModel(1.0, 1.0, 0.0, 1)

    def evaluate(I, level):
        Omega = ref * math.sqrt(I)
        system = SpinfulSystem((DrivenSystem(sector, 1.1, Omega, BathSet.paper(G1, G2, MU), MU),))
        return stability_at(system, (MESH,), V, v, "full", "paper", level=level, intensity=I)

    r = find_threshold(evaluate, 1e-2, 1e4, rtol=0.01, max_level=1, criterion="full", route="paper")
    assert r.certified and r.status == "ok", r.status
    assert r.lower <= (Omega_c / ref) ** 2 <= r.upper
    assert r.count == 1 and r.nu == pytest.approx(-2 * MU, abs=1e-9)  # onset at the flat pair energy


# -- the laboratory-unit config ---------------------------------------------------------------------
BASE = {
    "task": "threshold",
    "material": {"name": "mos2"},
    "drive": {"detuning": "10 meV", "max_intensity": "1e9 W/cm^2"},
    "baths": {"linewidth": "0.26 meV", "temperature": "4 K"},
    "interaction": {"V": "1.0 eV", "Vprime": "2.5 eV"},
}


def _with(**changes) -> dict:
    raw = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        table, key = dotted.split("__")
        if value is None:
            raw.setdefault(table, {}).pop(key, None)
        else:
            raw.setdefault(table, {})[key] = value
    return raw


def test_physical_inputs_in_engine_units_by_hand():
    cfg = Config.from_dict(BASE)
    p = cfg.threshold_point()
    m = preset("MoS2")
    t = m.t_eV  # 1.2701706 eV
    assert cfg.material.name == "MoS2" and p.material is m
    assert p.photon_energy_eV == pytest.approx(1.595, abs=1e-12)
    assert p.omega0 == pytest.approx(1.595 / t, rel=1e-12)
    assert p.Gamma == pytest.approx(0.26e-3 / t, rel=1e-12)  # Γ1 = Γ2 = ħΓ_a (HWHM)
    assert p.mu == pytest.approx((0.0375 - 0.26e-3) / t, rel=1e-12)  # λ/2 - (Γ1 + Γ2)/2: A mid-gap - Γ/2
    assert p.T == pytest.approx(8.617333e-5 * 4 / t, rel=1e-6)  # k_B T
    assert (p.V, p.Vprime) == pytest.approx((1.0 / t, 2.5 / t), rel=1e-12)
    assert p.intensity_range == pytest.approx((1e4, 1e9))  # default minimum: maximum / 1e5
    # Rabi energies of the two sectors: ħΩ_σ = e E0 ħv / (Δ - σλ) at E0 = sqrt(I / (c ε0))
    E0 = math.sqrt(1e9 / 2.6544187e9)  # MV/cm
    om_a, om_b = p.rabi(1e9)
    assert om_a * t * 1e3 == pytest.approx(E0 * 10 * 3.5123 / 1.585, rel=1e-6)  # 1 MV/cm = 0.01 V/Å
    assert om_b * t * 1e3 == pytest.approx(E0 * 10 * 3.5123 / 1.735, rel=1e-6)
    system = p.system(1e9)
    assert system.labels == ("A", "B")
    assert [s.model.gap("K+") * t for s in system.sectors] == pytest.approx([1.585, 1.735], rel=1e-12)
    assert [s.Omega for s in system.sectors] == pytest.approx([om_a, om_b], rel=1e-12)


def test_alternative_inputs_lifetime_photon_energy_field_ratios_and_overrides():
    raw = _with(baths__linewidth=None, baths__lifetime="1 ps", drive__detuning=None, drive__photon_energy="1.6 eV",
                drive__max_intensity=None, drive__max_field="2 MV/cm", interaction__V=None,
                interaction__V_over_bandwidth=0.5, interaction__Vprime=None, interaction__Vprime_over_bandwidth=1.0)
    raw["material"].update(gap="1.70 eV", spin_splitting="140 meV", hbar_v="3.3 eV * angstrom")
    p = Config.from_dict(raw).threshold_point()
    m = p.material
    assert (m.gap_eV, m.lambda_so_eV) == pytest.approx((1.70, 0.070))
    assert m.hbar_v_eV_angstrom == pytest.approx(3.3, rel=1e-12) and "overridden" in m.source
    assert p.linewidth_meV == pytest.approx(0.329106, rel=1e-5)  # ħ/(2 τ) = 0.6582 meV ps / 2
    assert p.detuning_meV == pytest.approx(1e3 * (1.6 - (1.70 - 0.070)), abs=1e-9)
    assert p.intensity_range[1] == pytest.approx(2.6544187e9 * 4, rel=1e-6)  # c ε0 E0²
    W = bandwidth_eV(m)
    assert W == pytest.approx(math.sqrt(1.70**2 / 4 + 9 * m.t_eV**2) - 0.85, rel=1e-12)
    assert (p.V_eV, p.Vprime_eV) == pytest.approx((0.5 * W, W), rel=1e-12)


@pytest.mark.parametrize("changes,key,message", [
    (dict(baths__linewidth="-1 meV"), "baths.linewidth", r"must be within \[0.0001, 100\] meV"),
    (dict(baths__linewidth="1 ps"), "baths.linewidth", "expected an energy"),
    (dict(baths__linewidth=0.26), "baths.linewidth", "quantity with its unit"),
    (dict(baths__linewidth=None), "baths.linewidth", "required: baths.linewidth or baths.lifetime"),
    (dict(baths__lifetime="1 ps"), "baths.lifetime", "either baths.linewidth or baths.lifetime"),
    (dict(drive__photon_energy="1.6 eV"), "drive.detuning", "either drive.photon_energy or drive.detuning"),
    (dict(drive__detuning="-2 eV"), "drive.detuning", r"within \[-1000, 1000\] meV"),
    (dict(drive__max_intensity="1e20 W/cm^2"), "drive.max_intensity", r"within \[0.001, 1e\+16\] W/cm\^2"),
    (dict(drive__min_intensity="1e10 W/cm^2"), "drive.min_intensity", "below the maximum"),
    (dict(drive__pattern="linear"), "drive.pattern", "must be one of"),
    (dict(interaction__Vprime="-1 eV"), "interaction.Vprime", r"within \[0, 1000\] eV"),
    (dict(interaction__Vprime=None), "interaction.Vprime", "required"),
    (dict(material__name="MoTe2"), "material.name", "must be one of 'MoS2', 'WS2', 'MoSe2', 'WSe2'"),
    (dict(material__spin_splitting="4 eV"), "material.spin_splitting", "lambda_so_eV must satisfy"),
    (dict(material__colour="red"), "material.colour", "unknown key"),
    (dict(baths__temperature="-3 K"), "baths.temperature", r"within \[0, 2000\] K"),
])
def test_errors_name_the_key_and_the_allowed_range(changes, key, message):
    with pytest.raises(ConfigError, match=message) as err:
        Config.from_dict(_with(**changes))
    assert err.value.key == key


def test_tables_scan_mesh_and_round_trip():
    with pytest.raises(ConfigError, match="^model: not used by task 'threshold'"):
        Config.from_dict({**BASE, "model": {"delta": 1.0}})
    with pytest.raises(ConfigError, match="^material: not used by task 'phase-diagram'"):
        Config.from_dict({"task": "phase-diagram", "model": {"delta": 5.0}, "material": {"name": "MoS2"},
                          "baths": {"Gamma1": 5e-4, "Gamma2": 5e-4}, "scan": {"parameter": "Omega", "values": [1.0]}})
    with pytest.raises(ConfigError, match="^material: required by task 'threshold'"):
        Config.from_dict({k: v for k, v in BASE.items() if k != "material"})
    scan = {"parameter": "linewidth", "values": ["0.26 meV", "2 meV"]}
    with pytest.raises(ConfigError, match="^baths.linewidth: set by the scan"):
        Config.from_dict({**BASE, "scan": scan})
    raw = _with(baths__linewidth=None)
    raw["scan"] = scan
    cfg = Config.from_dict(raw)
    assert cfg.scan_values().tolist() == [0.26, 2.0] and cfg.scan.unit == "meV"
    assert [cfg.threshold_point(v).linewidth_meV for v in cfg.scan.values] == [0.26, 2.0]
    assert cfg.numerics.mesh.KIND == "polar-shell" and cfg.baths.temperature == "4 K"
    assert Config.from_dict(cfg.resolved()) == cfg
    json.dumps(cfg.resolved())  # plain values only
    with pytest.raises(ConfigError, match="strictly increasing or decreasing"):
        Config.from_dict({**raw, "scan": {"parameter": "linewidth", "values": ["1 meV", "0.5 meV", "2 meV"]}})
    with pytest.raises(ConfigError, match="serves only the spinless model"):
        Config.from_dict({**BASE, "numerics": {"mesh": "exact-dos-shell"}})
    ratio = _with(interaction__V=None)
    ratio["scan"] = {"parameter": "V_over_bandwidth", "values": [0.5, 1.0]}
    cfg = Config.from_dict(ratio)
    W = bandwidth_eV(preset("MoS2"))
    assert [cfg.threshold_point(v).V_eV for v in cfg.scan.values] == pytest.approx([0.5 * W, W])


# -- the task, its file and its plot ------------------------------------------------------------------
TINY = {
    "task": "threshold",
    "description": "tiny",
    "material": {"name": "MoS2"},
    "drive": {"detuning": "10 meV", "min_intensity": "1e7 W/cm^2", "max_intensity": "2e8 W/cm^2"},
    "baths": {"temperature": "4 K"},
    "interaction": {"V_over_bandwidth": 2.0, "Vprime_over_bandwidth": 1.6},
    "scan": {"parameter": "linewidth", "values": ["0.26 meV", "0.5 meV"]},
    "numerics": {"polar_angles": 3, "polar_resolution": 1.5, "nu_span": 3.0, "max_level": 1,
                 "points_per_decade": 1.0, "rel_tolerance": 0.2},
}


@pytest.fixture(scope="module")
def tiny_output():
    cfg = Config.from_dict(TINY)
    return cfg, TASKS["threshold"](cfg)


def test_task_output_layout_units_and_plot(tiny_output, tmp_path):
    cfg, out = tiny_output
    res, grids = out["results"], out["grids"]
    assert grids["scan_values"].tolist() == [0.26, 0.5] and grids["scan_unit"] == "meV"
    assert grids["units"]["intensity_W_cm2"] == "W/cm^2" and grids["units"]["rabi_A_meV"] == "meV"
    assert grids["units"]["rabi_A_t"] == "t" and grids["material"]["t_eV"] == pytest.approx(preset("MoS2").t_eV)
    assert res["parameters"]["linewidth_meV"].tolist() == [0.26, 0.5]
    assert res["parameters"]["Gamma_t"] == pytest.approx(np.array([0.26e-3, 0.5e-3]) / preset("MoS2").t_eV)
    for crit in ("paper", "full"):
        r = res[crit]
        assert r["intensity_W_cm2"].shape == (2,) and r["status"].shape == (2,)
        for i in range(2):
            I = r["intensity_W_cm2"][i]
            if np.isfinite(I):  # a found threshold: stable below it, unstable above, conversions consistent
                assert r["lower_W_cm2"][i] <= I <= r["upper_W_cm2"][i]
                p = cfg.threshold_point(cfg.scan.values[i])
                assert r["rabi_A_meV"][i] == pytest.approx(p.rabi(I)[0] * p.t_eV * 1e3, rel=1e-12)
                assert r["field_MV_cm"][i] == pytest.approx(math.sqrt(I / 2.6544187e9), rel=1e-6)
            else:
                assert r["status"][i].startswith(("stable up to", "unstable at the minimum"))
        ev = r["evaluations"]
        assert ev["intensity_W_cm2"].shape[0] == 2 and np.all(ev["n_samples"][np.isfinite(ev["intensity_W_cm2"])] > 0)
    # the paper criterion has a threshold inside the range at 0.26 meV, not at 0.5 meV (the test can fail)
    assert np.isfinite(res["paper"]["intensity_W_cm2"][0]) and res["paper"]["certified"][0]
    assert res["paper"]["status"][1] == "stable up to the maximum intensity"
    path = tmp_path / "tiny.h5"
    io.write_results(path, task="threshold", config=cfg.resolved(), results=res, mesh=out["mesh"], grids=grids,
                     history=out["history"], finished=True)
    loaded = io.load(path)
    assert loaded["grids/units/intensity_W_cm2"] == "W/cm^2"
    assert loaded["results/paper/status"].tolist() == res["paper"]["status"].tolist()
    pngs = plot.plot_file(path, tmp_path / "figs")
    assert len(pngs) == 1 and pngs[0].name == "tiny_threshold.png" and pngs[0].stat().st_size > 10_000


def test_task_resumes_the_completed_points():
    from solvers.app.tasks import Interrupted, ScanHooks, scan_resume_state

    raw = copy.deepcopy(TINY)
    raw["numerics"]["criteria"] = ["paper"]
    cfg = Config.from_dict(raw)
    full = TASKS["threshold"](cfg)
    with pytest.raises(Interrupted) as stop:
        TASKS["threshold"](cfg, hooks=ScanHooks(should_stop=lambda: True))
    partial = stop.value.output
    assert partial["history"]["completed"].tolist() == [True, False]

    class Loaded:  # what keldysh.io.load gives the resume path
        finished = False
        checkpoint = partial["checkpoint"]
        results, history, grids, mesh = partial["results"], partial["history"], partial["grids"], partial["mesh"]

    state = scan_resume_state(Loaded, 2)
    resumed = TASKS["threshold"](cfg, hooks=ScanHooks(resume=state))
    for key in ("intensity_W_cm2", "lower_W_cm2", "upper_W_cm2"):
        np.testing.assert_array_equal(resumed["results"]["paper"][key], full["results"]["paper"][key])
    assert resumed["results"]["paper"]["status"].tolist() == full["results"]["paper"]["status"].tolist()
    np.testing.assert_array_equal(resumed["results"]["paper"]["evaluations"]["intensity_W_cm2"],
                                  full["results"]["paper"]["evaluations"]["intensity_W_cm2"])


@pytest.mark.mpi
@pytest.mark.slow
def test_task_under_mpi_equals_serial(mpiexec, tmp_path, tiny_output):
    """3 ranks take the same decisions as one: the same thresholds, brackets and evaluations."""
    cfg, serial = tiny_output
    config = tmp_path / "tiny.toml"
    config.write_text(_toml(TINY))
    out = tmp_path / "tiny.h5"
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    run = subprocess.run([mpiexec, "-n", "3", sys.executable, "-m", "mpi4py", "-m", "solvers", str(config),
                          "--output", str(out)], capture_output=True, text=True, timeout=600, env=env,
                         cwd=Path(__file__).resolve().parents[1])
    assert run.returncode == 0, run.stderr[-2000:]
    r = io.load(out)
    for crit in ("paper", "full"):
        for key in ("intensity_W_cm2", "lower_W_cm2", "upper_W_cm2", "error_W_cm2"):
            np.testing.assert_array_equal(r[f"results/{crit}/{key}"], serial["results"][crit][key])
        np.testing.assert_array_equal(r[f"results/{crit}/evaluations/intensity_W_cm2"],
                                      serial["results"][crit]["evaluations"]["intensity_W_cm2"])
        assert r[f"results/{crit}/status"].tolist() == serial["results"][crit]["status"].tolist()


def _toml(raw: dict) -> str:
    lines = []
    for key in ("task", "description"):
        lines.append(f"{key} = {json.dumps(raw[key])}")
    for table, values in raw.items():
        if isinstance(values, dict):
            lines.append(f"[{table}]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"
