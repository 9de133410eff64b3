"""Time-integration checks of the gap map of docs/results.md, at chosen points and seeds.

    python docs/scripts/gap_map_checks.py out/gap_map.h5

The gap-map task checks the most strongly damped stable points of each Born-Markov branch
(near the fold for runs/gap_map.toml); this script adds checks where the answer is known in
advance from the spectra: inside the window where the normal state is unstable (any seed must
land on the stable branch), and in the bistable range, where a seed below the unstable branch
(the separatrix) must decay to the normal state and one above it must land.  It integrates the
Born-Markov mean-field dynamics (:func:`solvers.continuation.integration_check`) and prints a
Markdown table, nothing else.
"""
from __future__ import annotations

import sys

import numpy as np

from keldysh import io
from solvers.app.config import Config
from solvers.continuation import gap_map_from_tree, integration_check

#: (target V, seed fraction): inside the window; bistable, below and above the separatrix
CASES = ((1.6, 0.5), (6.0, 0.5), (6.0, 0.9))


def main(argv: list[str]) -> int:
    r = io.load(argv[1] if len(argv) > 1 else "out/gap_map.h5")
    cfg = Config.from_dict(r.config)
    system = cfg.system()
    mesh = cfg.mesh(system)
    gm = gap_map_from_tree(r.results)
    br = gm.branches[0]
    stable = [p for p in br.points if p.spectrum is not None and p.spectrum.stable and p.spectrum.certified]
    unstable = [p for p in br.points if p.spectrum is not None and not p.spectrum.stable]
    print("| V | seed (× Δ of the point) | \\|Δ+\\| stable branch | \\|Δ+\\| unstable branch (separatrix) | "
          "t_end (1/t) | \\|Δ+\\| at t_end | ν at t_end − ν | lands |")
    print("|---:|---:|---:|---:|---:|---:|---:|---|")
    for V, seed in CASES:
        p = min(stable, key=lambda q: abs(q.V - V))
        u = [q for q in unstable if abs(q.V - p.V) < 0.3]
        if u:
            q = min(u, key=lambda q: abs(q.V - p.V))
            sep = f"{abs(q.delta_plus):.4g} (V = {q.V:.3f})"
        else:
            sep = "none (normal state unstable)"
        c = integration_check(system, mesh, gm.v * np.exp(1j * gm.phi), p, seed_fraction=seed)
        print(f"| {p.V:.4f} | {seed:g} | {abs(p.delta_plus):.4g} | {sep} | {c.t_end:.3g} | {c.abs_delta_plus:.3g} | "
              f"{c.nu - p.nu:.2g} | {'yes' if c.lands else 'no'} (rel. diff {c.rel_diff_plus:.1e}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
