"""Writing a results file: :func:`write_results` (atomic: temp file, os.write, rename) and the leaf encoding."""
from __future__ import annotations

import contextlib
import datetime
import errno
import json
import logging
import os
import sys
from collections.abc import Mapping
from io import BytesIO
from typing import Any

import h5py
import numpy as np

from .provenance import git_describe, package_version
from .schema import _COMPRESS_MIN_SIZE, _CONFIG_JSON, FORMAT, SCHEMA_VERSION

logger = logging.getLogger("keldysh.io")  # the name of the module before the split


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
