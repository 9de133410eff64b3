"""Labelled dimensions of each task's arrays: the layouts behind :meth:`Results.to_xarray`."""
from __future__ import annotations

import dataclasses
import fnmatch
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .schema import _leaf_paths

if TYPE_CHECKING:
    from .read import Results


@dataclasses.dataclass(frozen=True)
class _Layout:
    """How the arrays of one task are labelled (the layouts of ``solvers`` tasks, documented in
    ``docs/running.md``, "What each task writes").

    ``coords``: (path in the file, coordinate name, dims) for the arrays that label axes.
    ``variables``: (glob on the path below ``/results``, dims), tried in order; the first rule
    whose rank and sizes fit the array wins; a trailing ``...`` leaves the remaining axes to
    generic dimensions. Arrays that no rule fits get generic dimensions ``dim_<name>_<axis>``.
    """

    coords: tuple = ()
    variables: tuple = ()


_SPECTRAL_CUBE = ("k", "omega", "mode")
_LAYOUTS: dict[str, _Layout] = {
    "eta-map": _Layout(
        coords=(
            ("grids/delta", "delta", ("delta",)),
            ("grids/ky", "ky", ("ky",)),
            ("grids/kx", "kx", ("kx",)),
            ("grids/bz_corners", "bz_corners", ("corner", "component")),
        ),
        variables=(
            ("eta", ("delta", "ky", "kx")),
            ("energy", ("delta", "ky", "kx")),
            ("K_plus", ("delta", "component")),
            ("K_minus", ("delta", "component")),
            ("eta_at_K_plus", ("delta",)),
        ),
    ),
    "susceptibility": _Layout(
        coords=(("grids/nu", "nu", ("nu",)),),
        variables=(("*/chi_plus", ("nu",)), ("*/chi_minus", ("nu",)), ("*/chi_matrix", ("nu", "a", "b")),
                   ("*/chi_matrix_0", ("a", "b"))),
    ),
    "phase-diagram": _Layout(
        coords=(
            ("grids/scan_values", "scan", ("scan",)),
            ("grids/v_values", "v", ("v",)),
            ("grids/nu", "nu_grid", ("scan", "nu_point")),
            ("history/completed", "completed", ("scan",)),
        ),
        variables=(  # layout of solvers.stability.results
            ("*/*/nu_c", ("scan", "v", "boundary", "crossing")),
            ("*/*/counts", ("scan", "v", "interval")),
            ("*/*/outside_V_c", ("scan", "v", "outside")),
            ("*/*/approximations", ("scan",)),
            ("*/*/V_c", ("scan", "v", "boundary")),
            ("*/*/jump", ("scan", "v", "boundary")),
            ("*/*/error", ("scan", "v", "boundary")),
            ("*/*/status", ("scan", "v", "boundary")),
            ("*/*/*", ("scan", "v")),
            ("chi0/*", ("scan", "a", "b")),
            ("*", ("scan", ...)),  # every result of a scan has the scan as its first axis
        ),
    ),
    "gap": _Layout(),  # scalars only
    "spectral": _Layout(
        coords=(
            ("grids/q", "q", ("k",)),
            ("grids/k", "k_vector", ("k", "component")),
            ("grids/omega", "omega", ("omega",)),
            ("grids/modes", "mode", ("mode",)),
            ("results/valley_map/ky", "map_ky", ("map_ky",)),
            ("results/valley_map/kx", "map_kx", ("map_kx",)),
        ),
        variables=(
            ("A", _SPECTRAL_CUBE),
            ("occupied", _SPECTRAL_CUBE),
            ("distribution", _SPECTRAL_CUBE),
            ("xi", ("k", "mode")),
            ("energy", ("k",)),
            ("detuning", ("k",)),
            ("rabi", ("k",)),
            ("born_markov/*", ("k",)),
            ("keldysh/*", ("k",)),
            ("valley_map/*", ("map_ky", "map_kx")),
        ),
    ),
}
_COMPONENTS = np.array(["x", "y"])
_UNITS = "energies and frequencies in units of t (hbar = 1), momenta in units of 1/a (a: C-C distance)"


def _fit(dims: tuple, shape: tuple, sizes: Mapping[str, int]) -> tuple[str, ...] | None:
    """The named dims of ``dims`` if an array of ``shape`` fits them (rank, known sizes)."""
    named = dims[:-1] if dims and dims[-1] is Ellipsis else dims
    if len(shape) < len(named) or (named is dims and len(shape) != len(dims)):
        return None
    if any(sizes.get(dim, n) != n for dim, n in zip(named, shape)):
        return None
    return tuple(named)


def _generic(name: str, dims: tuple, ndim: int) -> tuple[str, ...]:
    return tuple(dims) + tuple(f"dim_{name}_{axis}" for axis in range(len(dims), ndim))


def _labelled(r: Results) -> tuple[dict, dict, dict]:
    """(data_vars, coords, attrs) of :meth:`Results.to_xarray`."""
    layout = _LAYOUTS.get(r.task, _Layout())
    sizes: dict[str, int] = {}
    coords: dict[str, tuple] = {}
    used: set[str] = set()
    for path, name, dims in layout.coords:
        value = r.get(path)
        if not isinstance(value, np.ndarray) or (fitted := _fit(dims, value.shape, sizes)) is None:
            continue  # absent or of another shape: left to the generic treatment
        coords[name] = (fitted, value)
        sizes.update(zip(fitted, value.shape))
        used.add(path)

    data_vars: dict[str, tuple] = {}
    for full_path in _leaf_paths(r.results, "results"):
        value = r[full_path]
        if full_path in used or value is None:
            continue
        path = full_path[len("results/"):]
        name = path.replace("/", ".")
        if name in coords:
            name = f"results.{name}"
        if not isinstance(value, np.ndarray):
            data_vars[name] = ((), np.asarray(value))
            continue
        dims: tuple = ()
        for pattern, rule in layout.variables:
            if fnmatch.fnmatchcase(path, pattern):
                fitted = _fit(rule, value.shape, sizes)
                if fitted is not None:
                    dims = fitted
                    break
        dims = _generic(name, dims, value.ndim)
        sizes.update(zip(dims, value.shape))
        data_vars[name] = (dims, value)

    attrs: dict[str, Any] = {
        "task": r.task,
        "finished": r.finished,
        "units": _UNITS,
        "config_json": json.dumps(r.config),
    }
    for key, value in r.attrs.items():
        if key not in attrs:
            attrs[key] = json.dumps(value) if isinstance(value, list) else value
    for path in _leaf_paths(r.grids or {}, "grids"):
        value = r[path]
        if path in used or value is None:
            continue
        name = path[len("grids/"):].replace("/", ".")
        if not isinstance(value, np.ndarray):
            attrs[name if name not in attrs else f"grids.{name}"] = value
            continue
        if name in coords or name in data_vars:
            name = f"grids.{name}"
        coords[name] = (_generic(name, (), value.ndim), value)
    if sizes.get("component") == _COMPONENTS.size:
        coords["component"] = (("component",), _COMPONENTS)
    return data_vars, coords, attrs
