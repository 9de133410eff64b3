"""``keldysh-plot``: the plotter of every task, :func:`plot_file` and the command line."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from keldysh import io
from solvers.app.plot.figures import (plot_eta_map, plot_gap, plot_gap_map, plot_phase_diagram, plot_spectral,
                                      plot_susceptibility)
from solvers.app.plot.threshold import plot_threshold


PLOTTERS = {
    "eta-map": plot_eta_map,
    "phase-diagram": plot_phase_diagram,
    "susceptibility": plot_susceptibility,
    "spectral": plot_spectral,
    "gap": plot_gap,
    "gap-map": plot_gap_map,
    "threshold": plot_threshold,
}


def plot_file(path: str | Path, out: str | Path | None = None) -> list[Path]:
    """Write the figure(s) of one results file into ``out`` (default: the file's directory)."""
    path = Path(path)
    data = io.load(path)
    if not isinstance(data.config, dict):
        raise ValueError(f"{path}: not a usable results file: /config@config_json is not a JSON object "
                         f"(got a {type(data.config).__name__})")
    if data.task not in PLOTTERS:
        raise ValueError(f"{path}: no plot for task {data.task!r} (known: {', '.join(PLOTTERS)})")
    out = Path(out) if out is not None else path.parent
    out.mkdir(parents=True, exist_ok=True)
    return PLOTTERS[data.task](data, out, path.stem)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="keldysh-plot", description="Plot keldysh-run results files.")
    parser.add_argument("files", nargs="+", metavar="FILE.h5")
    parser.add_argument("--out", metavar="DIR", help="directory for the PNGs (default: next to each file)")
    args = parser.parse_args(argv)
    status = 0
    for name in args.files:
        try:
            written = plot_file(name, args.out)
        except (OSError, ValueError) as exc:
            print(f"keldysh-plot: error: {' '.join(str(exc).split())}", file=sys.stderr)
            status = 2
            continue
        except (KeyError, TypeError, IndexError, AttributeError) as exc:  # a file without what its task writes
            print(f"keldysh-plot: error: {name}: cannot plot it, malformed results "
                  f"({type(exc).__name__}: {' '.join(str(exc).split())})", file=sys.stderr)
            status = 2
            continue
        for p in written:
            print(p)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
