"""Config files and command-line overrides: ``keldysh-run CONFIG -o key.sub=value``.

Overrides are parsed as TOML literals (``-o numerics.routes='["paper"]'``), falling back to
a plain string (``-o task=gap``).  Setting ``scan.values`` by an override drops
``start/stop/num/log`` of the file's [scan] table and vice versa, so a sweep can be replaced
from the command line; likewise ``-o numerics.mesh=...`` drops the file's keys that only the
other meshes read.
"""
from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .advice import check_resolution
from .numerics import MESH_ONLY
from .parameters import _SCAN_GENERATOR
from .run_config import Config
from .validation import ConfigError

__all__ = ["parse_override", "apply_overrides", "load_config"]


def parse_override(text: str) -> tuple[str, Any]:
    """``"key.sub=value"`` -> (``"key.sub"``, value); value as a TOML literal, else a string."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"-o {text}", "expected KEY=VALUE with a dotted KEY, e.g. -o model.delta=1.0")
    parts = key.split(".")
    if any(not p.strip() for p in parts):
        raise ConfigError(f"-o {text}", f"bad dotted key {key!r}")
    try:
        parsed = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value.strip()
    return key, parsed



def apply_overrides(raw: Mapping[str, Any], overrides: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    """A deep copy of ``raw`` with the (dotted key, value) overrides applied in order.

    Tables are created as needed.  Overriding ``scan.values`` drops the file's
    ``scan.start/stop/num/log`` and overriding one of those drops the file's ``scan.values``;
    overriding ``numerics.mesh`` drops the file's keys of the other meshes (e.g. ``nk``)."""
    out = json.loads(json.dumps(raw))  # TOML documents are JSON-representable (no dates here)
    keys = [k for k, _ in overrides]
    numerics = out.get("numerics")
    new_mesh = dict(overrides).get("numerics.mesh")
    if isinstance(numerics, dict) and isinstance(new_mesh, str):
        for name, only in MESH_ONLY.items():
            if only != new_mesh and f"numerics.{name}" not in keys:
                numerics.pop(name, None)
    scan = out.get("scan")
    if isinstance(scan, dict):
        if "scan.values" in keys:
            for name in _SCAN_GENERATOR:
                scan.pop(name, None)
        if any(f"scan.{name}" in keys for name in _SCAN_GENERATOR):
            scan.pop("values", None)
    for key, value in overrides:
        parts = key.split(".")
        node = out
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, dict):
                raise ConfigError(".".join(parts[: i + 1]), f"is not a table; cannot set {key}")
            node = child
        node[parts[-1]] = value
    return out


def load_config(path: str | Path, overrides: Sequence[str] = (), *, output: str | None = None,
                warn: bool = False) -> Config:
    """Read, override and validate a TOML config file.

    ``overrides``: ``"key=value"`` strings (see :func:`parse_override`); ``output``: replaces
    ``output.path``; ``warn``: log the resolution warnings (:func:`check_resolution`)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(str(path), "no such config file") from None
    except IsADirectoryError:
        raise ConfigError(str(path), "is a directory, not a config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), f"not a text file: {exc}") from None
    pairs = [parse_override(text) for text in overrides]
    if output is not None:
        pairs.append(("output.path", str(output)))
    cfg = Config.from_dict(apply_overrides(raw, pairs), source=str(path))
    if warn:
        check_resolution(cfg)
    return cfg
