"""Reading a results file: :class:`Results`, :func:`load` (one reader per schema version), :func:`is_results_file`."""
from __future__ import annotations

import dataclasses
import errno
import json
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

import h5py
import numpy as np

from .provenance import package_version
from .schema import _CONFIG_JSON, _DATA_SECTIONS, _MAPPING_ORDER, FORMAT, SCHEMA_VERSION, _leaf_paths
from .xarray_view import _labelled

logger = logging.getLogger("keldysh.io")  # the name of the module before the split


@dataclasses.dataclass(frozen=True, eq=False)
class Results(Mapping):
    """Contents of a results file, as plain Python/numpy values; what :func:`load` returns.

    A read-only mapping from slash-separated paths to values, like an open ``h5py.File``
    without the file: ``r.keys()`` lists every leaf (dataset or attribute) of the data
    sections as ``"<section>/<name>"`` paths, e.g. ``"results/paper_eq14"`` or
    ``"results/born_markov/chi_plus"``; ``r[path]`` returns a leaf (numpy array, Python scalar,
    str or None) or, for a group path such as ``"results"`` or ``"results/born_markov"``, the
    nested dict below it; ``path in r`` is True for leaves and groups; ``r.items()`` yields
    (path, leaf) pairs. A leading ``/`` is accepted. The root attributes and the config are
    not in the mapping: they are the attributes :attr:`attrs` and :attr:`config`.

    :meth:`to_xarray` returns ``/results`` as an :class:`xarray.Dataset` with the dimensions
    of the task's layout labelled (scan value, |V'|, branch, boundary, ν, k, ω, mode); see
    ``docs/hdf5_schema.md``.

    Attributes
    ----------
    task : str
        What was run (the ``keldysh-run`` task, e.g. ``"phase-diagram"``), the root
        attribute ``task``.
    config : dict
        The resolved config (defaults included), exactly as written (from
        ``/config@config_json``).
    results, mesh, grids, history, checkpoint : dict or None
        The data sections: nested dicts of numpy arrays, Python scalars (int, float, complex,
        bool), strings and None. ``results`` is always a dict; the others are None when the
        writer did not pass them.
    attrs : dict
        All root attributes (``schema_version``, ``package_version``, ``git_describe``,
        ``n_ranks``, ``created``, ...), with ``argv`` decoded from JSON to a list of str.
    finished : bool
        True when the run completed; False for a checkpoint of an unfinished run (and for a
        file whose ``finished`` attribute is missing).

    Equality is identity: the fields hold numpy arrays, for which ``==`` is elementwise, so a
    field-by-field (or mapping) ``__eq__`` would raise instead of answering.
    """

    task: str
    config: dict
    results: dict
    mesh: dict | None
    grids: dict | None
    history: dict | None
    checkpoint: dict | None
    attrs: dict
    finished: bool

    @property
    def schema_version(self) -> int:
        """Schema version of the file this was loaded from."""
        return self.attrs["schema_version"]

    @property
    def sections(self) -> tuple[str, ...]:
        """Names of the data sections present, ``"results"`` first (the order of :meth:`keys`)."""
        return tuple(name for name in _MAPPING_ORDER if getattr(self, name) is not None)

    # -- mapping over "section/.../name" paths ----------------------------------------------
    def __getitem__(self, path: str) -> Any:
        if not isinstance(path, str):
            raise KeyError(path)
        parts = (path[1:] if path.startswith("/") else path).split("/")
        if parts[0] not in self.sections:
            raise KeyError(path)
        node: Any = getattr(self, parts[0])
        for part in parts[1:]:
            if not isinstance(node, dict) or part not in node:
                raise KeyError(path)
            node = node[part]
        return node

    def __iter__(self):
        for name in self.sections:
            yield from _leaf_paths(getattr(self, name), name)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    # Mapping defines __eq__ (and so drops __hash__); results compare by identity.
    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return (
            f"Results(task={self.task!r}, finished={self.finished}, "
            f"sections={list(self.sections)}, created={self.attrs.get('created')!r})"
        )

    def to_xarray(self):
        """``/results`` as an :class:`xarray.Dataset` with labelled dimensions.

        Dimensions and coordinates follow the task's layout (``docs/hdf5_schema.md``,
        "Labelled data"): ``scan`` (the scan values, ``attrs["scan_parameter"]`` names the
        parameter), ``v`` (|V'|), ``branch`` (lower/upper), ``boundary`` and ``interval``
        (full-criterion crossings and the intervals between them), ``nu``, ``k`` (points of
        the spectral cut, with coordinates ``q`` and ``k_vector``), ``omega``, ``mode``,
        ``delta``/``ky``/``kx`` (η maps). Nested groups become variables named with dots
        (``"born_markov.chi_plus"``); scalars become 0-d variables (None is left out); arrays
        the layout does not know get generic dimensions ``dim_<name>_<axis>``, so new keys
        never break it. ``/grids`` entries become coordinates, scalar ones attributes; the
        dataset's attributes also hold ``task``, ``finished``, the root attributes and the
        resolved config as JSON (``config_json``). Energies, frequencies and momenta keep the
        file's units (t, and 1/a with a the C-C distance).

        Raises
        ------
        ImportError
            xarray is not installed (it is the optional extra ``keldysh-engine[xarray]``).
        """
        try:
            import xarray
        except ImportError as exc:
            raise ImportError(
                "Results.to_xarray needs xarray, an optional dependency: "
                "pip install 'keldysh-engine[xarray]' (or pip install xarray)"
            ) from exc
        data_vars, coords, attrs = _labelled(self)
        return xarray.Dataset(data_vars=data_vars, coords=coords, attrs=attrs)


def load(path: str | os.PathLike) -> Results:
    """Read a results file written by :func:`write_results`, of this or an older schema.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        ``path`` is not a keldysh results file (not HDF5, corrupt, or HDF5 without the
        ``format``/``schema_version`` attributes), or was written with a newer schema than
        this package understands.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(errno.ENOENT, "no such results file", path)
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(
            f"{path}: not a keldysh results file (not readable as HDF5: {exc})"
        ) from exc
    with f:
        try:
            version = _schema_version(dict(f.attrs), path)
        except (OSError, RuntimeError, KeyError) as exc:
            raise ValueError(
                f"{path}: not a keldysh results file (unreadable root attributes: {exc!r})"
            ) from exc
        try:
            raw = _READERS[version](f)
        except (KeyError, TypeError, ValueError, OSError, RuntimeError) as exc:
            raise ValueError(
                f"{path}: not a keldysh results file (corrupt schema {version} file: {exc!r})"
            ) from exc
    for step in range(version, SCHEMA_VERSION):
        raw = _UPGRADES[step](raw)
    logger.debug("loaded %s (schema %d)", path, version)
    return Results(**raw)


def is_results_file(path: str | os.PathLike) -> bool:
    """True when ``path`` is an HDF5 file carrying the keldysh results markers.

    Also True for files of a newer schema than :func:`load` can read. Never raises for a
    missing, foreign or unreadable file.
    """
    try:
        with h5py.File(os.fspath(path), "r") as f:
            return f.attrs.get("format") == FORMAT and "schema_version" in f.attrs
    except (OSError, ValueError):
        return False


def _schema_version(attrs: Mapping[str, Any], path: str) -> int:
    if "schema_version" not in attrs or attrs.get("format") != FORMAT:
        raise ValueError(
            f"{path}: not a keldysh results file (no schema_version/format attributes)"
        )
    version = attrs["schema_version"]
    if not isinstance(version, (int, np.integer)) or isinstance(version, (bool, np.bool_)):
        raise ValueError(f"{path}: not a keldysh results file (schema_version {version!r})")
    version = int(version)
    if version > SCHEMA_VERSION:
        raise ValueError(
            f"{path}: written with results schema_version {version}, newer than the "
            f"{SCHEMA_VERSION} this keldysh-engine ({package_version()}) reads; upgrade it"
        )
    if version not in _READERS:
        raise ValueError(f"{path}: not a keldysh results file (unknown schema_version {version})")
    return version


def _read_v1(f: h5py.File) -> dict[str, Any]:
    """Schema 1 on disk -> the schema-1 in-memory layout (the fields of :class:`Results`)."""
    attrs = {key: _attr_to_python(value) for key, value in f.attrs.items()}
    attrs["argv"] = json.loads(attrs["argv"])
    return {
        "task": attrs["task"],
        "config": json.loads(f["config"].attrs[_CONFIG_JSON]),
        "results": _read_tree(f["results"]),
        **{
            name: _read_tree(f[name]) if name in f else None
            for name in _DATA_SECTIONS
            if name != "results"
        },
        "attrs": attrs,
        "finished": bool(attrs.get("finished", False)),
    }


def _read_tree(group: h5py.Group) -> dict[str, Any]:
    tree: dict[str, Any] = {key: _attr_to_python(value) for key, value in group.attrs.items()}
    for key, member in group.items():
        if isinstance(member, h5py.Group):
            tree[key] = _read_tree(member)
        elif isinstance(member, h5py.Dataset):
            tree[key] = _dataset_to_array(member)
        else:
            raise ValueError(f"{member.name}: unexpected HDF5 object {type(member).__name__}")
    return tree


def _attr_to_python(value: Any) -> Any:
    if isinstance(value, h5py.Empty):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return value


def _dataset_to_array(dataset: h5py.Dataset) -> np.ndarray:
    if h5py.check_string_dtype(dataset.dtype) is not None:
        return np.asarray(dataset.asstr()[...], dtype=str)
    return np.asarray(dataset[...])


# On-disk schema version -> reader returning that version's in-memory layout.
_READERS: dict[int, Callable[[h5py.File], dict[str, Any]]] = {1: _read_v1}
# Version n -> function taking the in-memory layout of version n to that of version n + 1.
# Schema 2 will add `_read_v2` to _READERS and `2 - 1 = 1: _upgrade_1_to_2` here.
_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}
