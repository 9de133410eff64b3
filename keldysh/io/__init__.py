"""HDF5 results files (package; the code is in :mod:`keldysh.io.write` while it is split)."""
from .write import (FORMAT, SCHEMA_VERSION, Results, git_describe, is_results_file, load,
                    package_version, write_results)

__all__ = [
    "FORMAT",
    "SCHEMA_VERSION",
    "Results",
    "is_results_file",
    "load",
    "write_results",
]
