"""keldysh.io: round trips, the finished flag, atomic writes and the frozen schema-1 file."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import h5py
import numpy as np
import pytest

from keldysh import io

DATA = Path(__file__).resolve().parent / "data"


def _write(path, **overrides):
    kwargs = dict(task="demo", config={"model": {"delta": 0.5}}, results={"x": 1.0})
    kwargs.update(overrides)
    io.write_results(path, **kwargs)


def _leftover_temp_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.tmp-*"))


def _assert_tree_equal(actual, expected, where="") -> None:
    """Exact equality, including array dtypes/shapes and Python scalar types."""
    assert isinstance(actual, dict), where
    assert actual.keys() == expected.keys(), where
    for key, want in expected.items():
        got, here = actual[key], f"{where}/{key}"
        if isinstance(want, dict):
            _assert_tree_equal(got, want, here)
        elif isinstance(want, np.ndarray):
            assert isinstance(got, np.ndarray), here
            assert got.dtype == want.dtype and got.shape == want.shape, here
            np.testing.assert_array_equal(got, want, err_msg=here)
        else:
            assert type(got) is type(want) and got == want, (here, got, want)


# ----------------------------------------------------------------------------- round trips


def test_round_trip_of_every_supported_value_type(tmp_path):
    rng = np.random.default_rng(1)
    results = {
        "complex_array": rng.normal(size=(3, 4)) + 1j * rng.normal(size=(3, 4)),
        "complex64": np.arange(3, dtype=np.complex64) * (1 - 2j),
        "float32": np.linspace(0, 1, 7, dtype=np.float32),
        "int32": np.arange(-3, 3, dtype=np.int32),
        "uint8": np.arange(4, dtype=np.uint8),
        "bools": np.array([[True, False], [False, True]]),
        "zero_d": np.array(2.5),
        "zero_d_complex": np.array(1 - 1j),
        "empty": np.zeros(0),
        "empty_2d_complex": np.zeros((3, 0), dtype=complex),
        "strings": np.array(["K+", "K-", "ünïcode"]),
        "large": rng.normal(size=10_000),  # stored compressed
        "int": 7,
        "negative_int": -(2**40),
        "float": 0.125,
        "nan": float("nan"),
        "complex": 1.5 - 2j,
        "true": True,
        "false": False,
        "string": "héllo, world",
        "empty_string": "",
        "none": None,
        "nested": {"deeper": {"array": np.eye(2), "flag": True}, "empty_dict": {}},
    }
    path = tmp_path / "r.h5"
    io.write_results(path, task="demo", config={}, results=results)
    loaded = io.load(path).results

    expected = dict(results, nan=None)  # NaN != NaN: compared separately below
    assert np.isnan(loaded["nan"]) and type(loaded["nan"]) is float
    loaded["nan"] = None
    _assert_tree_equal(loaded, expected)


def test_lists_become_arrays(tmp_path):
    path = tmp_path / "r.h5"
    _write(path, results={"ints": [1, 2, 3], "grid": [[0.0, 1.0]], "names": ["a", "b"], "e": []})
    loaded = io.load(path).results
    _assert_tree_equal(
        loaded,
        {
            "ints": np.array([1, 2, 3]),
            "grid": np.array([[0.0, 1.0]]),
            "names": np.array(["a", "b"]),
            "e": np.array([]),
        },
    )


def test_all_sections_round_trip_and_absent_ones_are_none(tmp_path):
    path = tmp_path / "r.h5"
    mesh = {"k": np.arange(6.0).reshape(3, 2)}
    history = {"residual": np.array([1.0, 0.1]), "converged": True}
    checkpoint = {"rho": np.ones((2, 4, 4), dtype=complex), "iteration": 3}
    _write(path, mesh=mesh, history=history, checkpoint=checkpoint)
    r = io.load(path)
    _assert_tree_equal(r.mesh, mesh)
    _assert_tree_equal(r.history, history)
    _assert_tree_equal(r.checkpoint, checkpoint)
    assert r.grids is None

    _write(path, overwrite=True)
    r = io.load(path)
    assert (r.mesh, r.grids, r.history, r.checkpoint) == (None, None, None, None)
    assert r.results == {"x": 1.0}


def test_config_round_trips_exactly_and_is_browsable(tmp_path):
    config = {
        "model": {"t": 1.0, "delta": 0.5, "mu": np.float64(0.0), "name": "honeycomb"},
        "baths": [{"Gamma": 0.01}, {"Gamma": 0.02}],  # a TOML array of tables
        "numerics": {"nk": np.int64(12), "ks": np.array([1, 2]), "mixed": [1, "a"], "ok": True},
    }
    path = tmp_path / "r.h5"
    _write(path, config=config)
    assert io.load(path).config == {
        "model": {"t": 1.0, "delta": 0.5, "mu": 0.0, "name": "honeycomb"},
        "baths": [{"Gamma": 0.01}, {"Gamma": 0.02}],
        "numerics": {"nk": 12, "ks": [1, 2], "mixed": [1, "a"], "ok": True},
    }
    with h5py.File(path, "r") as f:
        group = f["config"]
        assert group["model"].attrs["delta"] == 0.5
        assert group["model"].attrs["name"] == "honeycomb"
        np.testing.assert_array_equal(group["numerics/ks"][...], [1, 2])
        assert bool(group["numerics"].attrs["ok"]) is True
        # Not representable natively: mirrored as JSON text.
        assert json.loads(group.attrs["baths"]) == config["baths"]
        assert json.loads(group.attrs["config_json"])["model"]["name"] == "honeycomb"


def test_root_attributes(tmp_path):
    path = tmp_path / "r.h5"
    _write(path, argv=["keldysh-run", "runs/x.toml"], n_ranks=4)
    r = io.load(path)
    assert r.task == "demo"
    assert r.schema_version == io.SCHEMA_VERSION == r.attrs["schema_version"]
    assert r.attrs["format"] == io.FORMAT
    assert r.attrs["argv"] == ["keldysh-run", "runs/x.toml"]
    assert r.attrs["n_ranks"] == 4
    assert r.attrs["created"].endswith("+00:00")
    assert isinstance(r.attrs["package_version"], str) and r.attrs["package_version"]
    assert isinstance(r.attrs["git_describe"], str) and r.attrs["git_describe"]
    with h5py.File(path, "r") as f:  # argv is stored as JSON text, readable without us
        assert json.loads(f.attrs["argv"]) == ["keldysh-run", "runs/x.toml"]


def test_argv_defaults_to_sys_argv(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["prog", "--flag"])
    _write(tmp_path / "r.h5")
    assert io.load(tmp_path / "r.h5").attrs["argv"] == ["prog", "--flag"]


def test_results_is_frozen(tmp_path):
    _write(tmp_path / "r.h5")
    r = io.load(tmp_path / "r.h5")
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.task = "other"
    assert "demo" in repr(r)


def test_git_describe_and_version_never_raise(monkeypatch):
    def broken_run(*args, **kwargs):
        raise FileNotFoundError("git")

    io.git_describe.cache_clear()
    monkeypatch.setattr(subprocess, "run", broken_run)
    try:
        assert io.git_describe() == "unknown"
    finally:
        io.git_describe.cache_clear()
    monkeypatch.setattr(io.provenance, "_DISTRIBUTION", "no-such-distribution-xyz")
    assert io.package_version() == "0+unknown"


# ------------------------------------------------------------------------- finished flag


def test_finished_flag_round_trips(tmp_path):
    path = tmp_path / "r.h5"
    _write(path, finished=False, checkpoint={"iteration": 3})
    r = io.load(path)
    assert r.finished is False and r.checkpoint == {"iteration": 3}
    _write(path, finished=True, overwrite=True)
    assert io.load(path).finished is True


def test_finished_is_the_last_root_attribute_written(tmp_path):
    path = tmp_path / "r.h5"
    _write(path)
    with h5py.File(path, "r") as f:  # root attribute creation order is tracked
        assert list(f.attrs)[-1] == "finished"


def test_file_without_finished_attribute_is_unfinished(tmp_path):
    path = tmp_path / "r.h5"
    _write(path)
    with h5py.File(path, "r+") as f:
        del f.attrs["finished"]
    assert io.load(path).finished is False


# --------------------------------------------------------------------- atomic, no clobber


@pytest.fixture
def previous_file(tmp_path):
    path = tmp_path / "r.h5"
    _write(path, results={"version": "old"})
    return path, path.read_bytes()


def test_crash_mid_write_leaves_previous_file_and_no_temp(previous_file, monkeypatch):
    path, before = previous_file
    real_write_tree = io.write._write_tree
    seen_temp = []

    def crash_in_history(group, tree, where, **kwargs):
        if where == "/history":
            seen_temp.extend(_leftover_temp_files(path.parent))
            raise RuntimeError("simulated crash")
        return real_write_tree(group, tree, where, **kwargs)

    monkeypatch.setattr(io.write, "_write_tree", crash_in_history)
    with pytest.raises(RuntimeError, match="simulated crash"):
        _write(path, results={"version": "new"}, history={"r": [1.0]}, overwrite=True)
    assert seen_temp and seen_temp[0].name.startswith("r.h5.tmp-")  # the crash was mid-write
    assert path.read_bytes() == before
    assert _leftover_temp_files(path.parent) == []
    assert io.load(path).results == {"version": "old"}


def test_crash_at_rename_leaves_previous_file_and_no_temp(previous_file, monkeypatch):
    path, before = previous_file

    def failing_replace(src, dst):
        raise OSError("simulated failure of rename")

    monkeypatch.setattr(io.write.os, "replace", failing_replace)
    with pytest.raises(OSError, match="simulated"):
        _write(path, results={"version": "new"}, overwrite=True)
    assert path.read_bytes() == before
    assert _leftover_temp_files(path.parent) == []


def test_unstorable_value_leaves_previous_file_and_no_temp(previous_file):
    path, before = previous_file
    with pytest.raises(TypeError, match="/results/bad"):
        _write(path, results={"ok": 1.0, "bad": object()}, overwrite=True)
    assert path.read_bytes() == before
    assert _leftover_temp_files(path.parent) == []


def test_existing_file_without_overwrite(previous_file):
    path, before = previous_file
    with pytest.raises(FileExistsError, match="r.h5") as info:
        _write(path)
    assert info.value.filename == str(path)
    assert path.read_bytes() == before
    assert _leftover_temp_files(path.parent) == []


def test_file_appearing_during_the_write_is_not_clobbered(tmp_path, monkeypatch):
    path = tmp_path / "r.h5"
    real_write_tree = io.write._write_tree

    def someone_else_writes(group, tree, where, **kwargs):
        if where == "/results":
            path.write_bytes(b"theirs")
        return real_write_tree(group, tree, where, **kwargs)

    monkeypatch.setattr(io.write, "_write_tree", someone_else_writes)
    with pytest.raises(FileExistsError):
        _write(path)
    assert path.read_bytes() == b"theirs"
    assert _leftover_temp_files(tmp_path) == []


def test_overwrite_replaces(previous_file):
    path, _ = previous_file
    _write(path, results={"version": "new"}, overwrite=True)
    assert io.load(path).results == {"version": "new"}
    assert _leftover_temp_files(path.parent) == []


# -------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "results, error, match",
    [
        ({"a/b": 1.0}, ValueError, "not a valid HDF5 name"),
        ({"": 1.0}, ValueError, "not a valid HDF5 name"),
        ({1: 1.0}, TypeError, "keys must be str"),
        ({"x": {"y": object()}}, TypeError, "/results/x/y"),
        ({"x": [1, "a"]}, TypeError, "mixes strings"),
        ({"x": [[1.0], [1.0, 2.0]]}, TypeError, "/results/x"),
        ({"x": np.array([object()])}, TypeError, "dtype object"),
        ({"x": b"bytes"}, TypeError, "bytes"),
        ({"x": 2**70}, TypeError, "int64"),
    ],
)
def test_unstorable_values_are_named(tmp_path, results, error, match):
    with pytest.raises(error, match=match):
        _write(tmp_path / "r.h5", results=results)
    assert list(tmp_path.iterdir()) == []


def test_config_must_be_json(tmp_path):
    with pytest.raises(TypeError, match="JSON"):
        _write(tmp_path / "r.h5", config={"V": 1 + 1j})
    with pytest.raises(ValueError, match="reserved"):
        _write(tmp_path / "r.h5", config={"config_json": "x"})
    assert list(tmp_path.iterdir()) == []


# -------------------------------------------------------------------- foreign and corrupt


def test_foreign_hdf5_file(tmp_path):
    path = tmp_path / "foreign.h5"
    with h5py.File(path, "w") as f:
        f["data"] = np.arange(3)
        f.attrs["schema_version"] = 1  # a common name: not enough to be ours
    assert not io.is_results_file(path)
    with pytest.raises(ValueError, match=r"foreign\.h5: not a keldysh results file"):
        io.load(path)


@pytest.mark.parametrize("content", [b"", b"not hdf5 at all\n" * 100], ids=["empty", "text"])
def test_non_hdf5_file(tmp_path, content):
    path = tmp_path / "junk.h5"
    path.write_bytes(content)
    assert not io.is_results_file(path)
    with pytest.raises(ValueError, match=r"junk\.h5: not a keldysh results file"):
        io.load(path)


def test_truncated_results_file(tmp_path):
    path = tmp_path / "r.h5"
    _write(path, results={"big": np.arange(20_000.0)})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"r\.h5: not a keldysh results file"):
        io.load(path)


def test_missing_file(tmp_path):
    assert not io.is_results_file(tmp_path / "nope.h5")
    with pytest.raises(FileNotFoundError):
        io.load(tmp_path / "nope.h5")


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "r.h5"
    _write(path)
    with h5py.File(path, "r+") as f:
        f.attrs["schema_version"] = io.SCHEMA_VERSION + 1
    assert io.is_results_file(path)
    with pytest.raises(ValueError, match="newer"):
        io.load(path)


# --------------------------------------------------------------- frozen schema-1 file


def test_frozen_v1_file_still_loads():
    """tests/data/results_v1.h5 was written once by make_results_v1.py; never regenerate."""
    path = DATA / "results_v1.h5"
    assert io.is_results_file(path)
    r = io.load(path)
    assert r.schema_version == 1
    assert r.task == "born_markov"
    assert r.finished is True
    assert r.attrs["n_ranks"] == 2
    assert r.attrs["argv"] == ["keldysh-run", "runs/example.toml", "--output", "results_v1.h5"]
    assert r.config == {
        "model": {"t": 1.0, "delta": 0.5, "mu": 0.0},
        "drive": {"pattern": "valley", "Omega": 0.1, "omega0": 2.0},
        "baths": [{"Gamma": 0.01, "T": 0.001}, {"Gamma": 0.02, "T": 0.001}],
        "numerics": {"nk": 12, "tol": 1e-10, "verbose": False, "seeds": [1, 2, 3]},
    }
    _assert_tree_equal(
        r.results,
        {
            "converged": True,
            "iterations": 7,
            "nu": None,
            "label": "example",
            "energy": -1.25,
            "phase": 0.5 - 0.25j,
            "Delta": np.array([0.1 + 0.02j, -0.05j]),
            "n_occ": np.array(0.75),
            "empty": np.zeros((0, 4)),
            "mask": np.array([True, False, True]),
            "valleys": np.array(["K+", "K-"]),
            "per_valley": {"S": np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)},
        },
    )
    _assert_tree_equal(
        r.mesh,
        {
            "k": np.array([[0.0, 0.1], [0.2, 0.3], [0.4, 0.5], [0.6, 0.7], [0.8, 0.9], [1.0, 1.1]]),
            "weight": np.full(6, 1 / 6),
        },
    )
    _assert_tree_equal(
        r.grids,
        {"omega": np.array([-1.0, -0.5, 0.0, 0.5, 1.0]), "n": np.arange(5, dtype=np.int32)},
    )
    _assert_tree_equal(
        r.history,
        {
            "residual": np.array([1.0, 0.1, 0.01, 1e-3, 1e-4, 1e-5, 1e-6]),
            "timing": {"wall_s": 1.5},
        },
    )
    rho = np.zeros((2, 4, 4), dtype=complex)
    rho[:, 0, 0] = [0.25, 0.5]
    rho[:, 1, 2] = [0.1 + 0.2j, -0.3j]
    _assert_tree_equal(r.checkpoint, {"iteration": 7, "rho": rho})


# ------------------------------------------------------------- the Results mapping API


def test_results_is_a_mapping_of_slash_paths(tmp_path):
    path = tmp_path / "r.h5"
    results = {"x": 1.0, "route": {"chi": np.arange(3.0), "note": "ok"}, "nothing": None}
    grids = {"nu": np.linspace(-1, 1, 3)}
    _write(path, results=results, grids=grids, history={"seconds": 0.5})
    r = io.load(path)
    assert isinstance(r, Mapping)
    # leaves only, "results" first, then the other sections present (mesh, checkpoint absent);
    # within a group its attributes (scalars, strings, None) come before its datasets and groups
    assert list(r.keys()) == [
        "results/x", "results/nothing", "results/route/note", "results/route/chi",
        "grids/nu", "history/seconds",
    ]
    assert len(r) == 6 and r.sections == ("results", "grids", "history")
    assert r["results/x"] == 1.0 and r["/results/route/note"] == "ok"
    np.testing.assert_array_equal(r["results/route/chi"], [0.0, 1.0, 2.0])
    assert r["results/nothing"] is None
    assert r["results/route"] is r.results["route"]  # a group path gives the nested dict
    assert r["grids"] is r.grids
    for present in ("results/x", "results/route", "results", "/grids/nu", "history/seconds"):
        assert present in r
    for absent in ("results/y", "results/x/deeper", "mesh", "mesh/kind", "config", "attrs",
                   "results//x", "", "task", 3, None):
        assert absent not in r
    with pytest.raises(KeyError, match="results/y"):
        r["results/y"]
    with pytest.raises(KeyError):
        r["checkpoint"]
    leaves = dict(r.items())
    assert leaves.keys() == set(r)
    assert leaves["history/seconds"] == 0.5
    assert r.get("results/absent", "default") == "default"


def test_results_compare_by_identity_and_hash(tmp_path):
    _write(tmp_path / "r.h5", results={"a": np.arange(3)})
    first, second = io.load(tmp_path / "r.h5"), io.load(tmp_path / "r.h5")
    assert first == first and first != second  # no elementwise array comparison
    assert len({first, second, first}) == 2


def test_frozen_v1_file_as_a_mapping():
    r = io.load(DATA / "results_v1.h5")
    assert r["results/per_valley/S"].dtype == np.float32
    assert r["checkpoint/iteration"] == 7
    assert "results/nu" in r and r["results/nu"] is None
    assert len(r) == 12 + 2 + 2 + 2 + 2  # results, mesh, grids, history, checkpoint leaves


# ----------------------------------------------------------------------- to_xarray

# Synthetic files with the layouts of the solvers tasks (docs/running.md, "What each task
# writes"), every dimension of a different size so that a wrong label cannot go unnoticed.
N_SCAN, N_V, N_BOUND, N_NU = 3, 2, 6, 11


def _phase_diagram_sections():
    """The layout of solvers.stability.results (stack_points), every axis a different size."""
    rng = np.random.default_rng(3)
    completed = np.array([True, True, False])
    K, M = 2, 4

    def group(full: bool):
        g = {"V_c": rng.normal(size=(N_SCAN, N_V, N_BOUND)), "nu_c": rng.normal(size=(N_SCAN, N_V, N_BOUND, K)),
             "jump": rng.integers(-2, 3, size=(N_SCAN, N_V, N_BOUND)), "error": rng.random((N_SCAN, N_V, N_BOUND)),
             "status": np.full((N_SCAN, N_V, N_BOUND), "ok"), "n_boundaries": rng.integers(0, 6, (N_SCAN, N_V)),
             "certified": np.ones((N_SCAN, N_V), bool), "point_status": np.full((N_SCAN, N_V), "ok"),
             "V_max": np.full((N_SCAN, N_V), 10.0), "approximations": np.array(["a; b"] * N_SCAN)}
        if full:
            g["counts"] = rng.integers(-1, 3, size=(N_SCAN, N_V, N_BOUND + 1))
            g["outside_V_c"] = rng.normal(size=(N_SCAN, N_V, M))
        return g

    results = {
        "paper": {"eq14": group(False), "born_markov": group(False)},
        "full": {"born_markov": group(True)},
        "chi0": {"born_markov": rng.normal(size=(N_SCAN, 2, 2)) + 1j},
        "parameters": {"Omega": np.array([1e-4, 1e-3, 1e-2])},
        # keys the layout does not know: the scan axis is still labelled
        "growth_rate_born_markov": rng.normal(size=(N_SCAN, N_V, 5)),
        "status": "ok",
    }
    grids = {
        "scan_parameter": "Omega_over_Gamma",
        "scan_values": np.array([0.1, 1.0, 10.0]),
        "v_values": np.array([0.0, 0.5]),
        "nu": rng.normal(size=(N_SCAN, N_NU)),
    }
    history = {"seconds": np.ones(N_SCAN), "completed": completed}
    return results, grids, history


def _leaves(tree, prefix=""):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def test_to_xarray_phase_diagram(tmp_path):
    pytest.importorskip("xarray")
    results, grids, history = _phase_diagram_sections()
    path = tmp_path / "pd.h5"
    io.write_results(path, task="phase-diagram", config={"task": "phase-diagram"},
                     results=results, grids=grids, history=history, finished=False)
    ds = io.load(path).to_xarray()
    per_boundary = ("scan", "v", "boundary")
    expected_dims = {}
    for criterion, routes in (("paper", ("eq14", "born_markov")), ("full", ("born_markov",))):
        for route in routes:
            g = f"{criterion}.{route}."
            expected_dims.update({g + "V_c": per_boundary, g + "jump": per_boundary, g + "error": per_boundary,
                                  g + "status": per_boundary, g + "nu_c": per_boundary + ("crossing",),
                                  g + "n_boundaries": ("scan", "v"), g + "certified": ("scan", "v"),
                                  g + "point_status": ("scan", "v"), g + "V_max": ("scan", "v"),
                                  g + "approximations": ("scan",)})
    expected_dims.update({"full.born_markov.counts": ("scan", "v", "interval"),
                          "full.born_markov.outside_V_c": ("scan", "v", "outside"),
                          "chi0.born_markov": ("scan", "a", "b"), "parameters.Omega": ("scan",),
                          "growth_rate_born_markov": ("scan", "dim_growth_rate_born_markov_1",
                                                      "dim_growth_rate_born_markov_2"),
                          "status": ()})
    assert {name: ds[name].dims for name in ds.data_vars} == expected_dims
    for name, value in _leaves(results):
        np.testing.assert_array_equal(ds[name].values, value)
    np.testing.assert_array_equal(ds["scan"].values, grids["scan_values"])
    np.testing.assert_array_equal(ds["v"].values, grids["v_values"])
    assert ds["nu_grid"].dims == ("scan", "nu_point")
    np.testing.assert_array_equal(ds["completed"].values, history["completed"])
    assert ds.attrs["scan_parameter"] == "Omega_over_Gamma"
    assert ds.attrs["task"] == "phase-diagram" and ds.attrs["finished"] is False
    assert json.loads(ds.attrs["config_json"]) == {"task": "phase-diagram"}
    # labels select: the second boundary at |V'| = 0.5 for the second scan value
    V = results["paper"]["eq14"]["V_c"]
    assert ds["paper.eq14.V_c"].sel(scan=1.0, v=0.5, boundary=1).item() == V[1, 1, 1]


def test_to_xarray_eta_map_susceptibility_spectral_gap(tmp_path):
    pytest.importorskip("xarray")
    rng = np.random.default_rng(4)
    cases = {
        "eta-map": (
            {"eta": rng.normal(size=(2, 4, 5)), "energy": rng.normal(size=(2, 4, 5)),
             "K_plus": rng.normal(size=(2, 2)), "K_minus": rng.normal(size=(2, 2)),
             "eta_at_K_plus": np.ones(2), "valley_note": "K+ has eta = +1"},
            {"delta": np.array([0.25, 5.0]), "kx": np.linspace(-1, 1, 5),
             "ky": np.linspace(-1, 1, 4), "bz_corners": rng.normal(size=(6, 2))},
            {"eta": ("delta", "ky", "kx"), "energy": ("delta", "ky", "kx"),
             "K_plus": ("delta", "component"), "K_minus": ("delta", "component"),
             "eta_at_K_plus": ("delta",), "valley_note": ()},
        ),
        "susceptibility": (
            {"F_plus_eq14": 0.36, "pair_energy": 1e-3,
             "paper": {"chi_plus_0": 0.3 + 0j, "F_plus": 0.3},
             "born_markov": {"chi_plus_0": 0.2 + 0.3j, "chi_plus": rng.normal(size=7) + 0j,
                             "chi_minus": rng.normal(size=7) + 0j}},
            {"nu": np.linspace(-1, 1, 7)},
            {"F_plus_eq14": (), "pair_energy": (), "paper.chi_plus_0": (), "paper.F_plus": (),
             "born_markov.chi_plus_0": (), "born_markov.chi_plus": ("nu",),
             "born_markov.chi_minus": ("nu",)},
        ),
        "spectral": (
            {"A": rng.random((3, 5, 4)), "occupied": rng.random((3, 5, 4)),
             "distribution": rng.random((3, 5, 4)), "energy": rng.random(3),
             "detuning": rng.random(3), "rabi": rng.random(3), "xi": rng.random((3, 4)),
             "born_markov": {"n22_k": rng.random(3)}, "keldysh": {"n22_k": rng.random(3)},
             "q_resonance": 0.3,
             "valley_map": {"kx": np.linspace(0, 1, 6), "ky": np.linspace(0, 1, 7),
                            "n22_k": rng.random((7, 6))}},
            {"q": np.linspace(0.1, 0.5, 3), "k": rng.normal(size=(3, 2)),
             "omega": np.linspace(-1, 1, 5), "modes": np.array(["c_k1", "c_k2", "c+_-k1", "c+_-k2"])},
            {"A": ("k", "omega", "mode"), "occupied": ("k", "omega", "mode"),
             "distribution": ("k", "omega", "mode"), "energy": ("k",), "detuning": ("k",),
             "rabi": ("k",), "xi": ("k", "mode"), "born_markov.n22_k": ("k",),
             "keldysh.n22_k": ("k",), "q_resonance": (), "valley_map.n22_k": ("map_ky", "map_kx")},
        ),
        "gap": (
            {"converged": True, "reason": "converged", "delta_plus": 1e-3 + 0j, "iterations": 4},
            {},
            {"converged": (), "reason": (), "delta_plus": (), "iterations": ()},
        ),
    }
    for task, (results, grids, expected_dims) in cases.items():
        path = tmp_path / f"{task}.h5"
        io.write_results(path, task=task, config={}, results=results, grids=grids)
        ds = io.load(path).to_xarray()
        assert {name: ds[name].dims for name in ds.data_vars} == expected_dims, task
        for name in ds.data_vars:
            want = results
            for part in name.split("."):
                want = want[part]
            np.testing.assert_array_equal(ds[name].values, want, err_msg=f"{task}: {name}")
    ds = io.load(tmp_path / "eta-map.h5").to_xarray()
    np.testing.assert_array_equal(ds["ky"].values, np.linspace(-1, 1, 4))
    assert list(ds["component"].values) == ["x", "y"]
    assert ds["bz_corners"].dims == ("corner", "component")
    ds = io.load(tmp_path / "spectral.h5").to_xarray()
    assert list(ds["mode"].values) == ["c_k1", "c_k2", "c+_-k1", "c+_-k2"]
    assert ds["q"].dims == ("k",) and ds["k_vector"].dims == ("k", "component")
    np.testing.assert_array_equal(ds["map_kx"].values, np.linspace(0, 1, 6))
    assert ds["A"].sel(mode="c_k2").shape == (3, 5)
    ds = io.load(tmp_path / "susceptibility.h5").to_xarray()
    np.testing.assert_array_equal(ds["nu"].values, np.linspace(-1, 1, 7))


def test_to_xarray_unknown_task_and_frozen_v1_file():
    pytest.importorskip("xarray")
    r = io.load(DATA / "results_v1.h5")
    ds = r.to_xarray()
    assert "nu" not in ds  # None is left out
    assert ds["per_valley.S"].dims == ("dim_per_valley.S_0", "dim_per_valley.S_1")
    assert ds["empty"].shape == (0, 4)
    np.testing.assert_array_equal(ds["Delta"].values, r.results["Delta"])
    assert ds["label"].item() == "example" and ds["converged"].item() is True
    np.testing.assert_array_equal(ds["omega"].values, r.grids["omega"])  # grids -> coordinates
    assert ds.attrs["task"] == "born_markov" and ds.attrs["n_ranks"] == 2
    assert json.loads(ds.attrs["argv"])[0] == "keldysh-run"


def test_to_xarray_without_xarray_names_the_extra(tmp_path, monkeypatch):
    _write(tmp_path / "r.h5")
    r = io.load(tmp_path / "r.h5")
    monkeypatch.setitem(sys.modules, "xarray", None)  # import xarray -> ImportError
    with pytest.raises(ImportError, match=r"keldysh-engine\[xarray\]"):
        r.to_xarray()


# Tiny configs of every keldysh-run task: the real writers' layouts, labelled by to_xarray.
_PAPER_SYSTEM = """
[model]
delta = 5.0
[drive]
omega0 = 5.1
{omega}
[baths]
kind = "paper"
Gamma1 = 5e-4
Gamma2 = 5e-4
"""
_TINY_CONFIGS = {
    "eta-map": ("task = 'eta-map'\n[model]\nt = 1.0\n[scan]\nparameter = 'delta'\n"
                "values = [1.0, 5.0]\n[numerics]\ngrid_points = 8\n"),
    "susceptibility": ("task = 'susceptibility'\n" + _PAPER_SYSTEM.format(omega="Omega = 1e-3")
                       + "[numerics]\nroutes = ['paper', 'born_markov']\nnu_per_panel = 2\n"),
    "phase-diagram": ("task = 'phase-diagram'\n" + _PAPER_SYSTEM.format(omega="")
                      + "[scan]\nparameter = 'Omega_over_Gamma'\nvalues = [0.5, 5.0, 50.0]\n"
                      "[numerics]\nroutes = ['paper', 'born_markov']\nv_values = [0.0, 1.0]\n"
                      "nu_per_panel = 2\n"),
    "gap": ("task = 'gap'\n[model]\ndelta = 1.0\n[baths]\nkind = 'quasi_thermal'\n"
            "Gamma12 = 1e-3\nmu2 = 0.56\n[interaction]\nVprime = 1.0\n"
            "[numerics]\nmesh = 'exact-dos'\nn_resonance = 20\nn_band = 10\n"),
    "spectral": ("task = 'spectral'\n" + _PAPER_SYSTEM.format(omega="Omega = 5e-3")
                 + "[numerics]\nn_cut = 5\nn_omega = 9\n"),
}
# The dimensions docs/hdf5_schema.md promises for the keys each task writes today.
_REAL_DIMS = {
    "eta-map": {"eta": ("delta", "ky", "kx"), "K_plus": ("delta", "component"),
                "eta_at_K_plus": ("delta",)},
    "susceptibility": {"born_markov.chi_plus": ("nu",), "born_markov.chi_minus": ("nu",),
                       "born_markov.chi_matrix": ("nu", "a", "b"), "paper.chi_plus_0": (), "F_plus_eq14": ()},
    "phase-diagram": {"paper.eq14.V_c": ("scan", "v", "boundary"),
                      "paper.born_markov.V_c": ("scan", "v", "boundary"),
                      "full.born_markov.V_c": ("scan", "v", "boundary"),
                      "full.born_markov.nu_c": ("scan", "v", "boundary", "crossing"),
                      "full.born_markov.counts": ("scan", "v", "interval"),
                      "full.born_markov.certified": ("scan", "v"),
                      "chi0.born_markov": ("scan", "a", "b"), "parameters.Omega": ("scan",)},
    "gap": {"converged": (), "delta_plus": (), "nu": ()},
    "spectral": {"A": ("k", "omega", "mode"), "distribution": ("k", "omega", "mode"),
                 "xi": ("k", "mode"), "born_markov.n22_k": ("k",),
                 "valley_map.n22_k": ("map_ky", "map_kx")},
}


@pytest.fixture(scope="module")
def task_files(tmp_path_factory):
    """The five tiny runs, through the CLI (python -m solvers), started side by side."""
    base = tmp_path_factory.mktemp("tasks")
    runs = {}
    for task, text in _TINY_CONFIGS.items():
        config = base / f"{task}.toml"
        config.write_text(text)
        out = base / f"{task}.h5"
        runs[task] = (out, subprocess.Popen(
            [sys.executable, "-m", "solvers", str(config), "--output", str(out)],
            cwd=base, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    files = {}
    for task, (out, proc) in runs.items():
        _, stderr = proc.communicate(timeout=300)
        files[task] = (out, proc.returncode, stderr)
    return files


@pytest.mark.parametrize("task", sorted(_TINY_CONFIGS))
def test_to_xarray_labels_what_the_tasks_write(task_files, task):
    pytest.importorskip("xarray")
    out, returncode, stderr = task_files[task]
    assert returncode == 0, stderr
    r = io.load(out)
    ds = r.to_xarray()
    assert r.task == task and ds.attrs["task"] == task
    for name, dims in _REAL_DIMS[task].items():
        assert ds[name].dims == dims, (task, name)
        np.testing.assert_array_equal(ds[name].values, r["results/" + name.replace(".", "/")])
    # every key the writer produced is in the dataset (as a variable or a coordinate)
    for path in r:
        if path.startswith("results/") and r[path] is not None:
            name = path[len("results/"):].replace("/", ".")
            assert name in ds.variables or path.startswith("results/valley_map/k"), path
