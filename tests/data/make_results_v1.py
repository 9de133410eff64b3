"""Generate the frozen schema-1 example file tests/data/results_v1.h5 (run ONCE, then commit).

The file is a compatibility fixture: tests/test_io.py loads it and checks the values below,
so that every later version of keldysh.io keeps reading files written with schema 1. Do not
regenerate it after the schema changes; add a results_v<N>.h5 next to it instead.

    python tests/data/make_results_v1.py [--force]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the repository root, for `keldysh`

from keldysh import io  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="overwrite the frozen file")
    args = parser.parse_args()
    if io.SCHEMA_VERSION != 1:
        raise SystemExit(f"keldysh.io writes schema {io.SCHEMA_VERSION}; this script makes v1")

    rho = np.zeros((2, 4, 4), dtype=complex)
    rho[:, 0, 0] = [0.25, 0.5]
    rho[:, 1, 2] = [0.1 + 0.2j, -0.3j]
    io.write_results(
        HERE / "results_v1.h5",
        task="born_markov",
        config={
            "model": {"t": 1.0, "delta": 0.5, "mu": 0.0},
            "drive": {"pattern": "valley", "Omega": 0.1, "omega0": 2.0},
            "baths": [{"Gamma": 0.01, "T": 0.001}, {"Gamma": 0.02, "T": 0.001}],
            "numerics": {"nk": 12, "tol": 1e-10, "verbose": False, "seeds": [1, 2, 3]},
        },
        results={
            "Delta": np.array([0.1 + 0.02j, -0.05j]),
            "converged": True,
            "iterations": 7,
            "nu": None,
            "label": "example",
            "energy": -1.25,
            "phase": 0.5 - 0.25j,
            "n_occ": np.array(0.75),
            "empty": np.zeros((0, 4)),
            "mask": np.array([True, False, True]),
            "valleys": ["K+", "K-"],
            "per_valley": {"S": np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)},
        },
        mesh={"k": np.arange(12.0).reshape(6, 2) / 10, "weight": np.full(6, 1 / 6)},
        grids={"omega": np.linspace(-1.0, 1.0, 5), "n": np.arange(5, dtype=np.int32)},
        history={
            "residual": np.array([1.0, 0.1, 0.01, 1e-3, 1e-4, 1e-5, 1e-6]),
            "timing": {"wall_s": 1.5},
        },
        checkpoint={"rho": rho, "iteration": 7},
        argv=["keldysh-run", "runs/example.toml", "--output", "results_v1.h5"],
        n_ranks=2,
        finished=True,
        overwrite=args.force,
    )


if __name__ == "__main__":
    main()
