"""solvers.app.config: loud, one-line, key-naming errors; defaults; resolved round trip; overrides."""
from __future__ import annotations

import copy
import dataclasses
import json
import logging
import math
import tomllib
from pathlib import Path

import pytest

from solvers.app.config import (
    BathParams,
    Config,
    ConfigError,
    DriveParams,
    ModelParams,
    MonkhorstPackMesh,
    PhaseDiagramNumerics,
    ScanParams,
    apply_overrides,
    check_resolution,
    load_config,
    parse_override,
    resolution_warnings,
)

REPO = Path(__file__).resolve().parents[1]
RUNS = sorted((REPO / "runs").glob("*.toml"))

PHASE = {
    "task": "phase-diagram",
    "model": {"delta": 5.0},
    "baths": {"kind": "paper", "Gamma1": 5e-4, "Gamma2": 5e-4},
    "scan": {"parameter": "Omega_over_Gamma", "values": [0.1, 1.0, 10.0]},
    "numerics": {"mesh": "exact-dos", "n_resonance": 40, "n_band": 20},
}
QUASI = {
    "task": "phase-diagram",
    "model": {"delta": 0.25},
    "baths": {"kind": "quasi_thermal", "Gamma12": 1e-3},
    "scan": {"parameter": "mu2", "start": 0.13, "stop": 0.5, "num": 4},
}
GAP = {
    "task": "gap",
    "model": {"delta": 1.0},
    "baths": {"kind": "quasi_thermal", "Gamma12": 1e-3, "mu2": 0.56},
    "interaction": {"V": 0.0, "Vprime": 1.0},
}
ETA = {"task": "eta-map", "model": {"delta": 1.0}}
SPECTRAL = {
    "task": "spectral",
    "model": {"delta": 5.0},
    "drive": {"Omega": 5e-3},
    "baths": {"Gamma1": 5e-4, "Gamma2": 5e-4},
}
SUSC = {
    "task": "susceptibility",
    "model": {"delta": 1.0},
    "drive": {"Omega": 1e-3, "pattern": "dichroic"},
    "baths": {"Gamma1": 5e-4, "Gamma2": 5e-4},
    "numerics": {"nk": 10},
}


def with_(base: dict, **changes) -> dict:
    """A deep copy of ``base`` with dotted-key changes; the value ``DELETE`` removes a key."""
    out = copy.deepcopy(base)
    for dotted, value in changes.items():
        parts = dotted.split("__")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if value is DELETE:
            node.pop(parts[-1], None)
        else:
            node[parts[-1]] = value
    return out


DELETE = object()

# (config, dotted key the message must start with, a fragment of the message)
BAD = [
    (with_(PHASE, baths__Gamma1=-0.001), "baths.Gamma1", "must be > 0 (got -0.001)"),
    (with_(PHASE, baths__Gamma2=0), "baths.Gamma2", "must be > 0"),
    (with_(PHASE, baths__Gamma1=True), "baths.Gamma1", "must be a number > 0 (got true)"),
    (with_(PHASE, baths__Gamma1="5e-4"), "baths.Gamma1", 'must be a number > 0 (got "5e-4")'),
    (with_(PHASE, baths__Gamma1=math.nan), "baths.Gamma1", "must be finite"),
    (with_(PHASE, baths__temperature=-1.0), "baths.temperature", "must be >= 0"),
    (with_(PHASE, baths__mu=math.inf), "baths.mu", "must be finite (got inf)"),
    (with_(PHASE, baths__Gama1=1e-3), "baths.Gama1", "did you mean 'Gamma1'"),
    (with_(PHASE, baths__kind="thermal"), "baths.kind", "must be one of 'paper', 'quasi_thermal'"),
    (with_(PHASE, baths__Gamma12=1e-3), "baths.Gamma12", "only with baths.kind = 'quasi_thermal'"),
    (with_(PHASE, baths__Gamma1=DELETE), "baths.Gamma1", "required"),
    (with_(PHASE, model__delta=0.0), "model.delta", "must be > 0 (got 0.0)"),
    (with_(PHASE, model__delta=-1), "model.delta", "must be > 0"),
    (with_(PHASE, model__delta=DELETE), "model.delta", "required"),
    (with_(PHASE, model__t=False), "model.t", "must be a number"),
    (with_(PHASE, modle={"delta": 1.0}), "modle", "did you mean 'model'"),
    (with_(PHASE, task="phase_diagram"), "task", "did you mean 'phase-diagram'"),
    (with_(PHASE, task=DELETE), "task", "required"),
    (with_(PHASE, drive={"pattern": "linear"}), "drive.pattern", "must be one of 'valley', 'dichroic'"),
    (with_(PHASE, drive={"omega0": -5.1}), "drive.omega0", "must be > 0"),
    (with_(PHASE, drive={"Omega": 1e-3}), "drive.Omega", "set by the scan"),
    (with_(PHASE, interaction={"V": 1.0}), "interaction", "not used by task 'phase-diagram'"),
    (with_(PHASE, scan__values=[]), "scan.values", "non-empty"),
    (with_(PHASE, scan__values=[1.0, 3.0, 2.0]), "scan.values", "strictly increasing or decreasing"),
    (with_(PHASE, scan__values=[1.0, 1.0]), "scan.values", "strictly increasing or decreasing"),
    (with_(PHASE, scan__values=[1.0, -1.0]), "scan.values[1]", "must be >= 0"),
    (with_(PHASE, scan__values=[1.0, True]), "scan.values[1]", "must be a number"),
    (with_(PHASE, scan__values=5.0), "scan.values", "must be a list of numbers"),
    (with_(PHASE, scan__start=1.0), "scan.start", "either scan.values or scan.start/stop/num"),
    (with_(PHASE, scan__parameter="Gamma"), "scan.parameter", "must be one of"),
    (with_(PHASE, scan__parameter="mu2"), "scan.parameter", "for baths.kind = 'paper'"),
    (with_(PHASE, scan=DELETE), "scan", "required by task 'phase-diagram'"),
    (with_(PHASE, scan={"parameter": "Omega_over_Gamma", "start": 0.0, "stop": 10.0, "num": 5, "log": True}),
     "scan.start", "must be > 0"),
    (with_(PHASE, scan={"parameter": "Omega_over_Gamma", "start": 1.0, "stop": 10.0}), "scan.num", "required"),
    (with_(PHASE, scan={"parameter": "Omega_over_Gamma", "start": 1.0, "stop": 10.0, "num": 1}),
     "scan.num", "must be >= 2"),
    (with_(PHASE, scan={"parameter": "Omega_over_Gamma", "start": 1.0, "stop": 10.0, "num": 2.0}),
     "scan.num", "must be an integer >= 1"),
    (with_(PHASE, numerics={"mesh": "monkhorst-pack", "nk": 11}), "numerics.nk", "must be an even integer >= 2 (got 11)"),
    (with_(PHASE, numerics={"mesh": "monkhorst-pack", "nk": 0}), "numerics.nk", "must be an even integer >= 2"),
    (with_(PHASE, numerics={"mesh": "monkhorst-pack"}), "numerics.nk", "required for numerics.mesh = 'monkhorst-pack'"),
    (with_(PHASE, numerics={"nk": 10}), "numerics.nk", "only used with numerics.mesh = 'monkhorst-pack'"),
    (with_(PHASE, numerics={"mesh": "monkhorst-pack", "nk": 10, "n_resonance": 40}), "numerics.n_resonance",
     "only used with numerics.mesh = 'exact-dos'"),
    (with_(PHASE, numerics={"mesh": "uniform"}), "numerics.mesh", "must be one of 'exact-dos', 'exact-dos-shell', 'monkhorst-pack'"),
    (with_(PHASE, numerics={"routes": ["paper", "born-markov"]}), "numerics.routes[1]", "did you mean 'born_markov'"),
    (with_(PHASE, numerics={"routes": []}), "numerics.routes", "non-empty"),
    (with_(PHASE, numerics={"routes": ["paper", "paper"]}), "numerics.routes", "must not repeat"),
    (with_(PHASE, numerics={"routes": "paper"}), "numerics.routes", "must be a list of strings"),
    (with_(PHASE, numerics={"criteria": ["exact"]}), "numerics.criteria[0]", "must be one of 'paper', 'full'"),
    (with_(PHASE, numerics={"routes": ["paper"], "criteria": ["full"]}), "numerics.criteria",
     "'full' needs a route other than 'paper'"),
    (with_(PHASE, numerics={"v_values": [0.5, -1.0]}), "numerics.v_values[1]", "must be >= 0"),
    (with_(PHASE, numerics={"nu_per_panel": 1}), "numerics.nu_per_panel", "must be an integer >= 2"),
    (with_(PHASE, numerics={"mesh": "exact-dos-shell", "shell_resolution": 0}), "numerics.shell_resolution",
     "must be > 0"),
    (with_(GAP, numerics={"mesh": "exact-dos-shell"}), "numerics.mesh", "for tasks susceptibility and phase-diagram"),
    (with_(GAP, numerics={"refine_level": 3}), "numerics.refine_level", "only used with numerics.mesh = 'refined-polar'"),
    (with_(GAP, numerics={"mesh": "refined-polar", "refine_level": 0}), "numerics.refine_level",
     "must be an integer >= 1"),
    (with_(PHASE, numerics={"n_per_panel": 1.5}), "numerics.n_per_panel", "must be an integer"),
    (with_(PHASE, numerics={"tol": 1e-8}), "numerics.tol", "not used by task 'phase-diagram'"),
    (with_(PHASE, numerics={"grid_points": 100}), "numerics.grid_points", "only by eta-map"),
    (with_(PHASE, numerics={"n_band": 20, "bogus": 1}), "numerics.bogus", "unknown key"),
    (with_(PHASE, numerics={"nu_points": 41}), "numerics.nu_points", "renamed, use numerics.nu_per_panel"),
    (with_(PHASE, baths__Gamma2=-1), "baths.Gamma2", "must be > 0 (got -1)"),
    (with_(PHASE, output={"path": ""}), "output.path", "must not be empty"),
    (with_(PHASE, output={"checkpoint": "yes"}), "output.checkpoint", "must be true or false"),
    (with_(PHASE, baths="paper"), "baths", "must be a table"),
    (with_(QUASI, baths__mu2=0.2), "baths.mu2", "set by the scan"),
    (with_(QUASI, baths__reading="edge"), "baths.reading", "must be one of 'lab', 'band_edge'"),
    (with_(QUASI, baths__Gamma1=1e-3), "baths.Gamma1", "only with baths.kind = 'paper'"),
    (with_(QUASI, drive={"omega0": 1.0}), "drive", "not used with baths.kind = 'quasi_thermal'"),
    (with_(QUASI, scan__parameter="Omega_over_Gamma"), "scan.parameter", "for baths.kind = 'quasi_thermal'"),
    (with_(GAP, baths__mu2=DELETE), "baths.mu2", "required for baths.kind = 'quasi_thermal'"),
    (with_(GAP, interaction__Vprime=-1.0), "interaction.Vprime", "must be >= 0"),
    (with_(GAP, interaction__phi=math.nan), "interaction.phi", "must be finite"),
    (with_(GAP, numerics={"route": "paper"}), "numerics.route", "must be one of 'born_markov', 'keldysh'"),
    (with_(GAP, numerics={"tol": 0.0}), "numerics.tol", "must be > 0 and < 1"),
    (with_(GAP, scan={"parameter": "mu2", "values": [0.5]}), "scan", "not used by task 'gap'"),
    (with_(ETA, baths={"Gamma1": 1e-3, "Gamma2": 1e-3}), "baths", "not used by task 'eta-map'"),
    (with_(ETA, scan={"parameter": "Omega", "values": [1.0]}), "scan.parameter", "must be one of 'delta'"),
    (with_(ETA, scan={"parameter": "delta", "values": [1.0, 2.0]}), "model.delta", "set by the scan"),
    (with_(ETA, scan={"parameter": "delta", "values": [0.0, 2.0]}, model={}), "scan.values[0]", "must be > 0"),
    (with_(SPECTRAL, drive__omega0=2.0), "drive.omega0", "needs the resonance omega0/2 inside band 2"),
    (with_(SPECTRAL, numerics={"n_cut": 1}), "numerics.n_cut", "must be an integer >= 2"),
    (with_(SPECTRAL, numerics={"omega_halfwidth": -1.0}), "numerics.omega_halfwidth", "must be > 0"),
    (with_(SPECTRAL, baths={"kind": "quasi_thermal", "Gamma12": 1e-3, "mu2": 0.5}, drive=DELETE),
     "baths.kind", "task 'spectral' needs the driven system"),
    (with_(SUSC, numerics={"mesh": "exact-dos"}), "numerics.mesh", "'exact-dos' serves only drive.pattern = 'valley'"),
    (with_(SUSC, numerics={"nk": 10, "criteria": ["paper"]}), "numerics.criteria", "not used by task 'susceptibility'"),
    (with_(SUSC, description=3), "description", "must be a string"),
]


@pytest.mark.parametrize("raw, key, fragment", BAD, ids=[f"{i}-{key}" for i, (_, key, _) in enumerate(BAD)])
def test_bad_config_names_its_key(raw, key, fragment):
    with pytest.raises(ConfigError) as info:
        Config.from_dict(raw)
    message = str(info.value)
    assert message.startswith(f"{key}: "), message
    assert fragment in message, message
    assert "\n" not in message
    assert info.value.key == key
    assert isinstance(info.value, ValueError)


def test_there_are_many_distinct_bad_inputs():
    assert len(BAD) >= 20
    assert len({key for _, key, _ in BAD}) >= 20


def test_error_message_example_from_the_docs():
    with pytest.raises(ConfigError, match=r"^baths\.Gamma1: must be > 0 \(got -0\.001\)$"):
        Config.from_dict(with_(PHASE, baths__Gamma1=-0.001))


def test_dataclasses_validate_on_construction_and_are_frozen():
    with pytest.raises(ConfigError, match="^model.delta: must be > 0"):
        ModelParams(delta=-1.0)
    with pytest.raises(ConfigError, match="^drive.pattern:"):
        DriveParams(pattern="sigma-")
    assert DriveParams(pattern="circular").pattern == "circular"  # spec §9, whole zone
    with pytest.raises(ConfigError, match="^numerics.nk:"):
        MonkhorstPackMesh(nk=3)
    with pytest.raises(ConfigError, match="^numerics.nk: required"):
        MonkhorstPackMesh()
    with pytest.raises(ConfigError, match="^numerics.v_values\\[0\\]: must be >= 0"):
        PhaseDiagramNumerics(v_values=(-1.0,))
    with pytest.raises(ConfigError, match="^baths.Gamma12: required"):
        BathParams(kind="quasi_thermal")
    params = ModelParams(delta=1)
    assert params.delta == 1.0 and isinstance(params.delta, float)
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.delta = 2.0


def test_defaults_are_filled_in():
    cfg = Config.from_dict(PHASE)
    assert cfg.drive.omega0 == pytest.approx(5.1)  # delta + 0.1 t
    assert cfg.drive.pattern == "valley"
    assert cfg.drive.Omega is None  # set by the scan
    assert cfg.baths.mu == pytest.approx(-5e-4)  # -(Gamma1 + Gamma2)/2
    assert cfg.baths.temperature == 0.0
    assert cfg.numerics.mesh.KIND == "exact-dos"
    assert Config.from_dict(with_(PHASE, numerics=DELETE)).numerics.mesh.KIND == "exact-dos-shell"
    assert Config.from_dict(GAP).numerics.mesh.KIND == "exact-dos"
    assert cfg.output.path == "out/phase-diagram.h5"
    quasi = Config.from_dict(QUASI)
    assert quasi.baths.mu == pytest.approx(-5e-4) and quasi.baths.reading == "lab"
    assert quasi.drive is None
    assert quasi.scan.values == pytest.approx((0.13, 0.25333333333333335, 0.37666666666666665, 0.5))
    susc = Config.from_dict(SUSC)
    assert susc.numerics.mesh.KIND == "monkhorst-pack"  # default for the dichroic pattern
    refined = Config.from_dict(with_(SUSC, numerics={"mesh": "refined-polar"}))
    assert refined.numerics.mesh.refine_level == 4
    assert refined.resolved()["numerics"]["refine_level"] == 4 and "nk" not in refined.resolved()["numerics"]
    gap = Config.from_dict(with_(GAP, interaction=DELETE))
    assert gap.interaction.V == 0.0 and gap.interaction.Vprime == 0.0


def test_registries_are_derived_from_the_numerics_dataclasses():
    from solvers.app.config import MESH_ONLY, MESH_TASKS, TASKS, USED_BY

    # the same as the tables that used to be kept by hand
    assert MESH_ONLY == {"n_resonance": "exact-dos", "n_band": "exact-dos", "shell_resolution": "exact-dos-shell",
                         "shell_order": "exact-dos-shell", "nk": "monkhorst-pack", "refine_level": "refined-polar",
                         "polar_resolution": "polar-shell", "polar_order": "polar-shell", "polar_angles": "polar-shell"}
    assert MESH_TASKS == ("susceptibility", "phase-diagram", "gap", "gap-map", "threshold")
    assert USED_BY["nk"] == MESH_TASKS and USED_BY["criteria"] == ("phase-diagram", "threshold")
    assert USED_BY["routes"] == ("susceptibility", "phase-diagram") and USED_BY["grid_points"] == ("eta-map",)
    # every key a resolved config writes is one its task reads
    for raw in (PHASE, QUASI, GAP, ETA, SPECTRAL, SUSC):
        cfg = Config.from_dict(raw)
        assert cfg.task in TASKS
        assert all(cfg.task in USED_BY[key] for key in cfg.resolved()["numerics"])


def test_numerics_is_the_task_dataclass_with_the_mesh_as_a_tagged_choice():
    base = dict(task="phase-diagram", model=ModelParams(delta=5.0), baths=BathParams(Gamma1=5e-4, Gamma2=5e-4),
                scan=ScanParams(parameter="Omega", values=(1e-3,)))
    cfg = Config(**base, numerics=PhaseDiagramNumerics(mesh=MonkhorstPackMesh(nk=10)))
    assert cfg.resolved()["numerics"]["mesh"] == "monkhorst-pack" and cfg.resolved()["numerics"]["nk"] == 10
    assert "n_resonance" not in cfg.resolved()["numerics"]
    assert Config.from_dict(cfg.resolved()).numerics == cfg.numerics
    assert Config(**base).numerics.mesh.KIND == "exact-dos-shell"  # the default mesh, filled in
    with pytest.raises(ConfigError, match="^numerics: task 'gap' reads a GapNumerics"):
        Config(**{**base, "task": "gap", "scan": None}, numerics=PhaseDiagramNumerics())


def test_log_scan_is_geometric():
    cfg = Config.from_dict(with_(PHASE, scan={"parameter": "Omega_over_Gamma", "start": 0.1,
                                              "stop": 100.0, "num": 4, "log": True}))
    assert cfg.scan.values == pytest.approx((0.1, 1.0, 10.0, 100.0))
    assert cfg.scan.start is None and cfg.scan.num is None  # a scan is its values


@pytest.mark.parametrize("raw", [PHASE, QUASI, GAP, ETA, SPECTRAL, SUSC,
                                 with_(ETA, model={}, scan={"parameter": "delta", "values": [0.25, 1, 5]})])
def test_resolved_round_trip(raw):
    cfg = Config.from_dict(raw)
    resolved = cfg.resolved()
    assert Config.from_dict(resolved) == cfg
    # plain JSON (what goes into every output file), and TOML-expressible (no None)
    assert json.loads(json.dumps(resolved)) == resolved
    assert "None" not in repr(resolved)
    again = Config.from_dict(json.loads(json.dumps(resolved)))
    assert again.resolved() == resolved


def test_resolved_has_all_defaults_and_only_used_keys():
    resolved = Config.from_dict(PHASE).resolved()
    assert resolved["drive"] == {"omega0": pytest.approx(5.1), "pattern": "valley"}
    assert resolved["baths"]["mu"] == pytest.approx(-5e-4)
    assert set(resolved["numerics"]) == {"mesh", "n_resonance", "n_band", "n_per_panel", "routes",
                                         "criteria", "v_values", "nu_per_panel", "nu_span",
                                         "certify", "tolerance", "max_level"}
    assert resolved["scan"] == {"parameter": "Omega_over_Gamma", "values": [0.1, 1.0, 10.0]}
    spectral = Config.from_dict(SPECTRAL).resolved()
    assert spectral["numerics"]["omega_halfwidth"] == pytest.approx(8 * (1e-3 + 5e-3))
    assert spectral["numerics"]["cut_halfwidth"] > 0


@pytest.mark.parametrize("path", RUNS, ids=[p.stem for p in RUNS])
def test_shipped_run_configs_are_valid(path):
    cfg = load_config(path)
    assert Config.from_dict(cfg.resolved()) == cfg
    assert cfg.output.path.startswith("out/")
    text = path.read_text()
    assert text.lstrip().startswith("#"), "every run config starts with a comment saying what it is"


def test_required_run_configs_exist():
    names = {p.stem for p in RUNS}
    assert {"quickstart", "fig2_eta", "fig3a", "fig3b", "keldysh_vs_born_markov", "gap", "spectral"} <= names
    fig3a = load_config(REPO / "runs" / "fig3a.toml")
    assert len(fig3a.scan) == 40 and fig3a.scan.values[0] == pytest.approx(0.1)
    assert fig3a.scan.values[-1] == pytest.approx(100.0)
    assert fig3a.numerics.routes == ("paper", "born_markov", "keldysh")
    assert fig3a.numerics.criteria == ("paper", "full")
    assert fig3a.numerics.v_values == (0.0, 0.5, 1.0)
    assert fig3a.baths.mu == pytest.approx(-5e-4) and fig3a.drive.omega0 == pytest.approx(5.1)
    fig3b = load_config(REPO / "runs" / "fig3b.toml")
    assert fig3b.baths.kind == "quasi_thermal" and fig3b.model.delta == 0.25
    assert fig3b.scan.values[0] == pytest.approx(0.13) and fig3b.scan.values[-1] == pytest.approx(0.5)


# ------------------------------------------------------------------------------ overrides


@pytest.mark.parametrize("text, key, value", [
    ("model.delta=2", "model.delta", 2),
    ("model.delta=2.5", "model.delta", 2.5),
    ("numerics.routes=[\"paper\", \"keldysh\"]", "numerics.routes", ["paper", "keldysh"]),
    ("task=gap", "task", "gap"),
    ("baths.kind=quasi_thermal", "baths.kind", "quasi_thermal"),
    ("output.checkpoint=false", "output.checkpoint", False),
    ("drive.pattern=\"dichroic\"", "drive.pattern", "dichroic"),
    (" scan.values = [1, 2] ", "scan.values", [1, 2]),
])
def test_parse_override(text, key, value):
    assert parse_override(text) == (key, value)


@pytest.mark.parametrize("text", ["model.delta", "=3", "model..delta=1"])
def test_bad_override_syntax(text):
    with pytest.raises(ConfigError, match="^-o "):
        parse_override(text)


def test_overrides_apply_and_replace_a_scan(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(
        'task = "phase-diagram"\n[model]\ndelta = 5.0\n[baths]\nGamma1 = 5e-4\nGamma2 = 5e-4\n'
        '[scan]\nparameter = "Omega_over_Gamma"\nstart = 0.1\nstop = 10.0\nnum = 3\nlog = true\n'
    )
    cfg = load_config(path, ["model.delta=4", "scan.values=[1, 2]", "numerics.mesh=exact-dos",
                             "numerics.n_band=30"], output=str(tmp_path / "x.h5"))
    assert cfg.model.delta == 4.0
    assert cfg.scan.values == (1.0, 2.0)
    assert cfg.numerics.mesh.n_band == 30
    assert cfg.output.path == str(tmp_path / "x.h5")
    assert load_config(path).output.path == "out/c.h5"  # default: out/<stem>.h5
    with pytest.raises(ConfigError, match=r"^model\.delta: is not a table; cannot set model\.delta\.x$"):
        apply_overrides(tomllib.loads(path.read_text()), [("model.delta.x", 1)])
    with pytest.raises(ConfigError, match=r"^numerics\.nkk: unknown key"):
        load_config(path, ["numerics.nkk=4"])


def test_file_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("task = \n")
    with pytest.raises(ConfigError, match=r"bad\.toml: invalid TOML"):
        load_config(bad)


# ------------------------------------------------------------------------- resolution


def test_monkhorst_pack_resolution_warning_suggests_nk(caplog):
    cfg = Config.from_dict(with_(PHASE, numerics={"mesh": "monkhorst-pack", "nk": 10}))
    with caplog.at_level(logging.WARNING, logger="solvers.app.config"):
        warnings = check_resolution(cfg)
    assert len(warnings) == 1 and warnings[0].startswith("numerics.nk: ")
    assert "nk >= " in warnings[0]
    suggested = int(warnings[0].split("nk >= ")[1].split()[0])
    assert suggested % 2 == 0 and suggested > 1000
    assert caplog.records and caplog.records[0].levelno == logging.WARNING
    # a mesh as fine as suggested is quiet; so is the exact-DOS quadrature
    fine = Config.from_dict(with_(PHASE, numerics={"mesh": "monkhorst-pack", "nk": suggested}))
    assert resolution_warnings(fine) == []
    assert resolution_warnings(Config.from_dict(with_(PHASE, numerics=DELETE))) == []  # shell mesh


def test_energy_mesh_warnings_for_the_full_criterion():
    (warning,) = resolution_warnings(Config.from_dict(PHASE))  # plain exact-DOS + full criterion
    assert warning.startswith("numerics.mesh: ") and "'exact-dos-shell' suggested" in warning
    paper_only = with_(PHASE, numerics={"mesh": "exact-dos", "criteria": ["paper"]})
    assert resolution_warnings(Config.from_dict(paper_only)) == []
    coarse = with_(PHASE, numerics={"shell_resolution": 2.0})
    (warning,) = resolution_warnings(Config.from_dict(coarse))
    assert warning.startswith("numerics.shell_resolution: ")


def test_resolution_warning_for_a_drive_off_the_band():
    cfg = Config.from_dict(with_(PHASE, drive={"omega0": 4.0}))  # omega0/2 = 2 < delta/2 = 2.5
    warnings = resolution_warnings(cfg)
    assert any(w.startswith("drive.omega0: ") and "outside band 2" in w for w in warnings)


def test_mesh_override_drops_the_other_meshes_keys(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(
        'task = "phase-diagram"\n[model]\ndelta = 5.0\n[baths]\nGamma1 = 5e-4\nGamma2 = 5e-4\n'
        '[scan]\nparameter = "Omega"\nvalues = [1e-3]\n'
        '[numerics]\nmesh = "exact-dos"\nn_resonance = 40\nn_band = 20\n'
    )
    cfg = load_config(path, ["numerics.mesh=monkhorst-pack", "numerics.nk=12"])
    assert cfg.numerics.mesh.KIND == "monkhorst-pack" and cfg.numerics.mesh.nk == 12
    assert "n_resonance" not in cfg.resolved()["numerics"]
    with pytest.raises(ConfigError, match=r"^numerics\.nk: required"):
        load_config(path, ["numerics.mesh=monkhorst-pack"])
    # a key of another mesh given on the command line is still an error
    with pytest.raises(ConfigError, match=r"^numerics\.n_band: only used with numerics\.mesh = 'exact-dos'"):
        load_config(path, ["numerics.mesh=exact-dos-shell", "numerics.n_band=30"])


def test_spectral_frequency_grid_too_coarse_for_gamma_warns():
    from solvers.app.config import Config, resolution_warnings

    cfg = Config.from_dict({"task": "spectral", "model": {"delta": 5.0},
                            "drive": {"omega0": 5.1, "Omega": 5e-3},
                            "baths": {"kind": "paper", "Gamma1": 5e-4, "Gamma2": 5e-4},
                            "numerics": {"n_omega": 11, "omega_halfwidth": 0.05}})
    warnings = resolution_warnings(cfg)
    assert any(w.startswith("numerics.n_omega:") and "suggested" in w for w in warnings)
    fine = Config.from_dict({**cfg.resolved(), "numerics": {**cfg.resolved()["numerics"], "n_omega": 501}})
    assert not any(w.startswith("numerics.n_omega:") for w in resolution_warnings(fine))
