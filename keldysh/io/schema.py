"""Constants of the results schema (version, format marker, sections) and the walk over a nested tree."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Version of the on-disk layout written by :func:`write_results`. Bump it (and add a reader
#: and an upgrade step below, and a frozen example file in tests/data/) whenever the layout
#: changes in a way an older reader would misread.
SCHEMA_VERSION = 1

#: Value of the root attribute ``format``; together with ``schema_version`` it identifies a
#: keldysh results file (a generic attribute name alone could be a coincidence).
FORMAT = "keldysh-engine results"

_DATA_SECTIONS = ("mesh", "grids", "results", "history", "checkpoint")
_MAPPING_ORDER = ("results", "grids", "mesh", "history", "checkpoint")
_CONFIG_JSON = "config_json"
# Arrays at least this large are stored gzip-compressed (chunked); small ones stay contiguous.
_COMPRESS_MIN_SIZE = 4096


def _leaf_paths(tree: Mapping[str, Any], prefix: str):
    for key, value in tree.items():
        path = f"{prefix}/{key}"
        if isinstance(value, dict):
            yield from _leaf_paths(value, path)
        else:
            yield path
