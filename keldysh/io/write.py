"""HDF5 results files: one self-describing, versioned, resumable file per run.

The layout is documented in ``docs/hdf5_schema.md``; :data:`SCHEMA_VERSION` is the version
this module writes. In short::

    /                  attrs: format, schema_version, package_version, git_describe, argv,
                              n_ranks, created, task, finished (written last)
    /config            the resolved config as groups/attrs/datasets (for browsing) and,
                       authoritative, the whole config as the JSON attribute ``config_json``
    /results           \
    /mesh, /grids       | nested dicts: dict -> group, array -> dataset,
    /history            | scalar / string / None -> attribute
    /checkpoint        /

This module is MPI-free: in a parallel run the caller gathers to rank 0 and calls
:func:`write_results` there only. Files are never executed when read: no pickle, no eval, no
stored class paths; every value is a number, a string, a bool, None or a numeric/string array.

Writes are atomic: the file is assembled in memory, written to ``path + ".tmp-<pid>"`` (created
exclusively) in the same directory and moved over ``path`` with :func:`os.replace` only once
complete, so a crash mid-write or a full disk leaves the previous file at ``path`` untouched,
and the temp file is removed on every failure that Python sees. The root attribute
``finished`` is the last thing written; ``finished=False`` marks a resumable checkpoint of an
unfinished run.

Reading: :func:`load` returns a :class:`Results`, a read-only mapping over ``"section/name"``
paths (``r["results/paper_eq14"]``) with :meth:`Results.to_xarray` for labelled data.
Old files keep loading: :func:`load` reads each schema version with its own reader and upgrades
the result step by step to the current in-memory layout (see ``_READERS`` and ``_UPGRADES``).
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime
import errno
import fnmatch
import functools
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from importlib import metadata
from io import BytesIO
from pathlib import Path
from typing import Any

import h5py
import numpy as np

__all__ = [
    "FORMAT",
    "SCHEMA_VERSION",
    "Results",
    "is_results_file",
    "load",
    "write_results",
]

logger = logging.getLogger(__name__)

#: Version of the on-disk layout written by :func:`write_results`. Bump it (and add a reader
#: and an upgrade step below, and a frozen example file in tests/data/) whenever the layout
#: changes in a way an older reader would misread.
SCHEMA_VERSION = 1

#: Value of the root attribute ``format``; together with ``schema_version`` it identifies a
#: keldysh results file (a generic attribute name alone could be a coincidence).
FORMAT = "keldysh-engine results"

_DISTRIBUTION = "keldysh-engine"
_DATA_SECTIONS = ("mesh", "grids", "results", "history", "checkpoint")
_MAPPING_ORDER = ("results", "grids", "mesh", "history", "checkpoint")
_CONFIG_JSON = "config_json"
# Arrays at least this large are stored gzip-compressed (chunked); small ones stay contiguous.
_COMPRESS_MIN_SIZE = 4096


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


def _leaf_paths(tree: Mapping[str, Any], prefix: str):
    for key, value in tree.items():
        path = f"{prefix}/{key}"
        if isinstance(value, dict):
            yield from _leaf_paths(value, path)
        else:
            yield path


# --------------------------------------------------------------------------------------------
# writing


def write_results(
    path: str | os.PathLike,
    *,
    task: str,
    config: Mapping[str, Any],
    results: Mapping[str, Any],
    mesh: Mapping[str, Any] | None = None,
    grids: Mapping[str, Any] | None = None,
    history: Mapping[str, Any] | None = None,
    checkpoint: Mapping[str, Any] | None = None,
    argv: list[str] | tuple[str, ...] | None = None,
    n_ranks: int = 1,
    finished: bool = True,
    overwrite: bool = False,
) -> None:
    """Write one results file atomically (temp file in the same directory, then rename).

    Parameters
    ----------
    path : path-like
        Destination. Its directory must exist.
    task : str
        What was run; stored as the root attribute ``task``.
    config : mapping
        The resolved config (defaults included). Must be JSON-serialisable (TOML values
        are); numpy scalars and arrays are converted to Python numbers and lists.
    results, mesh, grids, history, checkpoint : mapping
        Nested dicts whose leaves are numpy arrays or lists of numbers/bools/strings
        (-> datasets; complex allowed, 0-d and empty arrays allowed) or int, float, complex,
        bool, str, None (-> attributes). Keys are non-empty str without ``/``. Sections
        passed as None are not written (and load back as None).
    argv : sequence of str, optional
        Command line to record; defaults to ``sys.argv``.
    n_ranks : int
        Number of MPI ranks of the run that produced the data.
    finished : bool
        Stored in the root attribute ``finished``, which is written last.
    overwrite : bool
        Replace an existing file at ``path``; otherwise raise :class:`FileExistsError`.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False (checked before writing, and again,
        atomically, when the finished temp file is moved into place).
    OSError
        The temp file cannot be created or written (no space left, quota, I/O error, no
        permission), or not moved into place: ``errno`` says why, ``filename`` is ``path``
        (for the write itself). The temp file is removed and ``path`` is untouched.
    TypeError, ValueError
        A value or key that the schema cannot store, named by its path in the file.
        Nothing is left behind: the temp file is removed and ``path`` is untouched.
    """
    path = os.fspath(path)
    if not overwrite and os.path.lexists(path):
        raise _file_exists(path)
    if not isinstance(task, str) or not task:
        raise ValueError(f"task must be a non-empty str, got {task!r}")
    if not isinstance(config, Mapping):
        raise TypeError(f"config must be a mapping, got {type(config).__name__}")
    if not isinstance(results, Mapping):
        raise TypeError(f"results must be a mapping, got {type(results).__name__}")
    if _CONFIG_JSON in config:
        raise ValueError(f"config key {_CONFIG_JSON!r} is reserved by the results schema")
    if isinstance(n_ranks, bool) or not isinstance(n_ranks, (int, np.integer)) or n_ranks < 1:
        raise ValueError(f"n_ranks must be a positive int, got {n_ranks!r}")
    argv = [str(arg) for arg in (sys.argv if argv is None else argv)]
    config_json = _config_to_json(config)
    sections = {
        "results": results,
        "mesh": mesh,
        "grids": grids,
        "history": history,
        "checkpoint": checkpoint,
    }

    tmp = f"{path}.tmp-{os.getpid()}"
    fd = _create_exclusive(tmp)  # the temp file is ours from here on: removed on any failure
    try:
        # The file is assembled in memory and written with plain os.write: a full disk or
        # another write error is then an OSError here, never a failure inside the HDF5
        # library (which can crash the interpreter when its own writes fail).
        image = BytesIO()
        with h5py.File(image, "w", track_order=True) as f:
            f.attrs["format"] = FORMAT
            f.attrs["schema_version"] = np.int64(SCHEMA_VERSION)
            f.attrs["package_version"] = package_version()
            f.attrs["git_describe"] = git_describe()
            f.attrs["argv"] = json.dumps(argv)
            f.attrs["n_ranks"] = np.int64(n_ranks)
            f.attrs["created"] = datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds"
            )
            f.attrs["task"] = task

            config_group = f.create_group("config", track_order=True)
            config_group.attrs[_CONFIG_JSON] = config_json
            _write_tree(config_group, json.loads(config_json), "/config", lenient=True)
            for name, tree in sections.items():
                if tree is None:
                    continue
                if not isinstance(tree, Mapping):
                    raise TypeError(f"{name} must be a mapping or None, got {type(tree).__name__}")
                _write_tree(f.create_group(name, track_order=True), tree, f"/{name}")

            f.attrs["finished"] = bool(finished)  # last: a file without it is not finished
        _write_all(fd, image.getbuffer(), path)
        os.close(fd)
        fd = None
        _move_into_place(tmp, path, overwrite)
    except BaseException:
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(os.path.dirname(os.path.abspath(path)))
    logger.info("wrote %s (task=%s, finished=%s)", path, task, bool(finished))


def _file_exists(path: str) -> FileExistsError:
    return FileExistsError(
        errno.EEXIST, "results file exists (pass overwrite=True to replace it)", path
    )


def _move_into_place(tmp: str, path: str, overwrite: bool) -> None:
    """Rename the complete temp file onto ``path``; without ``overwrite`` never clobber."""
    if overwrite:
        os.replace(tmp, path)
        return
    # A hard link fails atomically if `path` appeared while we were writing.
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise _file_exists(path) from None
    except OSError:  # file system without hard links: check, then rename
        if os.path.lexists(path):
            raise _file_exists(path) from None
        os.replace(tmp, path)
    else:
        os.unlink(tmp)


def _create_exclusive(tmp: str) -> int:
    """Create the temp file (mode 0o666 & ~umask, as h5py would), failing if it exists: a
    leftover of a killed process that had our pid is removed first (nobody else uses the
    name ``<path>.tmp-<our pid>``)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        return os.open(tmp, flags, 0o666)
    except FileExistsError:
        os.unlink(tmp)
        return os.open(tmp, flags, 0o666)


def _write_all(fd: int, data: memoryview, path: str) -> None:
    """Write ``data`` to ``fd`` (the temp file of ``path``) and fsync it; an error (ENOSPC,
    EDQUOT, EIO, ...) is raised as an OSError that names ``path``."""
    try:
        view = memoryview(data).cast("B")
        while view.nbytes:
            written = os.write(fd, view[: 1 << 24])
            view = view[written:]
        os.fsync(fd)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write the results file: {exc.strerror}", path) from None


def _fsync_dir(directory: str) -> None:
    """Persist the rename itself (best effort: not every platform can fsync a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _config_to_json(config: Mapping[str, Any]) -> str:
    def convert(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            return value.tolist()
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, (tuple, set, frozenset)):
            return list(value)
        raise TypeError(f"config value {value!r} of type {type(value).__name__} is not JSON")

    try:
        text = json.dumps(config, default=convert, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"config is not JSON-serialisable: {exc}") from exc
    return text


def _check_key(key: Any, where: str) -> None:
    if not isinstance(key, str):
        raise TypeError(f"{where}: keys must be str, got {key!r}")
    if not key or key == "." or "/" in key or "\x00" in key:
        raise ValueError(f"{where}: key {key!r} is not a valid HDF5 name")


def _write_tree(group: h5py.Group, tree: Mapping[str, Any], where: str, *, lenient=False) -> None:
    """Store a nested dict under ``group``: dict -> group, array -> dataset, else attribute.

    With ``lenient`` (the browsable mirror of the config, whose authoritative copy is
    ``config_json``) values HDF5 cannot hold natively, such as lists of tables or mixed lists,
    are stored as JSON string attributes instead of raising.
    """
    for key, value in tree.items():
        _check_key(key, where)
        here = f"{where}/{key}"
        if isinstance(value, Mapping):
            _write_tree(group.create_group(key, track_order=True), value, here, lenient=lenient)
            continue
        try:
            kind, payload = _encode_leaf(value, here)
        except TypeError:
            if not lenient:
                raise
            kind, payload = "attr", json.dumps(value)
        if kind == "attr":
            group.attrs[key] = payload
        elif payload.dtype.kind == "O":  # strings
            group.create_dataset(key, data=payload, dtype=h5py.string_dtype())
        elif payload.ndim > 0 and payload.size >= _COMPRESS_MIN_SIZE:
            group.create_dataset(
                key, data=payload, compression="gzip", compression_opts=4, shuffle=True
            )
        else:
            group.create_dataset(key, data=payload)


def _encode_leaf(value: Any, where: str) -> tuple[str, Any]:
    """Classify a leaf as ("attr", scalar/str/Empty) or ("dataset", ndarray)."""
    if value is None:
        return "attr", h5py.Empty("f8")
    if isinstance(value, (bool, np.bool_)):
        return "attr", np.bool_(value)
    if isinstance(value, (int, np.integer)):
        try:
            return "attr", np.int64(value)
        except OverflowError:
            raise TypeError(f"{where}: integer {value} does not fit in int64") from None
    if isinstance(value, (float, np.floating, complex, np.complexfloating)):
        return "attr", value
    if isinstance(value, str):
        return "attr", str(value)
    if isinstance(value, (bytes, bytearray)):
        raise TypeError(f"{where}: bytes are not supported; decode to str")
    if isinstance(value, np.ndarray):
        return "dataset", _encode_array(value, where)
    if isinstance(value, (list, tuple)):
        try:
            array = np.asarray(value)
        except ValueError as exc:  # ragged
            raise TypeError(f"{where}: cannot store {type(value).__name__}: {exc}") from None
        if array.dtype.kind == "U" and not _all_str(value):
            raise TypeError(f"{where}: list mixes strings with other values")
        return "dataset", _encode_array(array, where)
    raise TypeError(f"{where}: cannot store a value of type {type(value).__name__}")


def _all_str(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_all_str(item) for item in value)
    return isinstance(value, str)


def _encode_array(array: np.ndarray, where: str) -> np.ndarray:
    kind = array.dtype.kind
    if kind in "biufc":
        return np.asarray(array, order="C")  # (np.ascontiguousarray would make 0-d 1-d)
    if kind == "U" or (kind == "O" and _all_str(array.tolist())):
        return np.asarray(array.astype(str), dtype=object)
    raise TypeError(f"{where}: cannot store an array of dtype {array.dtype}")


# --------------------------------------------------------------------------------------------
# reading


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


# --------------------------------------------------------------------------------------------
# labelled dimensions (Results.to_xarray)


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


# --------------------------------------------------------------------------------------------
# provenance


def package_version() -> str:
    """Installed version of keldysh-engine, or ``"0+unknown"`` when not installed."""
    try:
        return metadata.version(_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "0+unknown"


@functools.lru_cache(maxsize=1)
def git_describe() -> str:
    """``git describe --always --dirty`` of the source tree this package was imported from.

    Cached for the process: it describes the code that was loaded, even if the work tree
    changes while a long run writes checkpoints. ``"unknown"`` when the package does not sit
    at the top of a git work tree (e.g. installed into site-packages) or git fails; never
    raises.
    """
    package_dir = Path(__file__).resolve().parents[1]  # keldysh/ (this file is keldysh/io/...)
    try:
        top = _git(package_dir, "rev-parse", "--show-toplevel")
        if Path(top).resolve() != package_dir.parent:
            return "unknown"
        return _git(package_dir, "describe", "--always", "--dirty") or "unknown"
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        logger.debug("git describe failed: %s", exc)
        return "unknown"


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
    )
    return done.stdout.strip()
