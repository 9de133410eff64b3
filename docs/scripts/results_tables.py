"""Print the tables of docs/results.md from the results files of the runs/ configs.

    python docs/scripts/results_tables.py out/fig3a.h5 out/fig3a_detuning.h5 ...

Every number is read from the files (the certified values and their error estimates); nothing
is typed in by hand.
"""
from __future__ import annotations

import sys

import numpy as np

from keldysh.io import load
from solvers.stability import point_from_tree


def fmt_bounds(c, digits=4):
    if not len(c.boundaries):
        return "none"
    out = []
    for b in c.boundaries:
        err = f" ± {b.error:.0e}" if np.isfinite(b.error) else ""
        mult = f" (×{b.jump:+d})" if abs(b.jump) > 1 else ""
        out.append(f"{b.V:.{digits}f}{err}{mult}")
    return ", ".join(out)


def windows(c):
    if not c.counts:
        return ""
    parts = []
    for lo, hi, n in c.unstable_intervals():
        parts.append(f"{lo:.3g} < V < {hi:.3g} ({n})")
    return "; ".join(parts) if parts else "stable"


def fig3a_table(path, rows=(0.1, 0.49, 1.0, 4.9, 20.0, 41.0, 59.0, 70.0, 100.0)):
    r = load(path)
    x = np.asarray(r.grids["scan_values"])
    v_values = np.asarray(r.grids["v_values"])
    print(f"\n### {path}: paper criterion and kernels (|V'| = 0.5 t)\n")
    print("| Ω/Γ | F_+ Eq. (14) | Eq. (17) | Re χ_++(0) exact BM | exact / Eq. (13) | V_c paper, Eq. (14) | V_c paper, exact BM | V_c paper, Keldysh |")
    print("|---|---|---|---|---|---|---|---|")
    for want in rows:
        i = int(np.argmin(np.abs(np.log(x / want))))
        p = point_from_tree(r.results, i, v_values)
        F14, F17 = p.closed_forms["F_plus_eq14"], p.closed_forms["F_plus_eq17"]
        bm = p.chi0["born_markov"][0, 0].real
        paper = p.chi0["paper"][0, 0].real
        cells = [f"{x[i]:.3g}", f"{F14:.3g}", f"{F17:.3g}", f"{bm:.3g}", f"{bm / paper:.3g}"]
        for route in ("eq14", "born_markov", "keldysh"):
            c = p.get("paper", route, 0.5)
            cells.append(" / ".join(f"{V:+.3g}" for V in c.V_c) or "none")
        print("| " + " | ".join(cells) + " |")
    for v in v_values:
        print(f"\n### {path}: full criterion, |V'| = {v:g} t (certified boundaries ± error; unstable windows (growing modes))\n")
        print("| Ω/Γ | Born-Markov | Keldysh | unstable (Keldysh) | certified |")
        print("|---|---|---|---|---|")
        for want in rows:
            i = int(np.argmin(np.abs(np.log(x / want))))
            p = point_from_tree(r.results, i, v_values)
            bm, ke = p.get("full", "born_markov", v), p.get("full", "keldysh", v)
            print(f"| {x[i]:.3g} | {fmt_bounds(bm)} | {fmt_bounds(ke)} | {windows(ke)} | {bm.certified and ke.certified} |")


def scan_table(path):
    r = load(path)
    x = np.asarray(r.grids["scan_values"])
    v_values = np.asarray(r.grids["v_values"])
    par = str(r.grids["scan_parameter"])
    print(f"\n### {path}: full criterion against {par} (Keldysh; Born-Markov agrees to the digits shown unless stated)\n")
    print(f"| {par} | " + " | ".join(f"|V'| = {v:g}: boundaries" for v in v_values) + " | " +
          " | ".join(f"|V'| = {v:g}: unstable" for v in v_values) + " | paper crit. (Keldysh), |V'| = 1 |")
    print("|---" * (2 * v_values.size + 2) + "|")
    for i, val in enumerate(x):
        p = point_from_tree(r.results, i, v_values)
        cells = [f"{val:g}"]
        cells += [fmt_bounds(p.get("full", "keldysh", v), 3) for v in v_values]
        cells += [windows(p.get("full", "keldysh", v)) for v in v_values]
        cells.append(" / ".join(f"{V:+.3g}" for V in p.get("paper", "keldysh", v_values[-1]).V_c) or "none")
        for v in v_values:
            a, b = p.get("full", "born_markov", v), p.get("full", "keldysh", v)
            if a.counts != b.counts or not np.allclose(a.V_c, b.V_c, atol=1e-3):
                cells[-1] += f" (BM differs at |V'| = {v:g}: {fmt_bounds(a, 3)})"
        print("| " + " | ".join(cells) + " |")


def fig3b_table(path, rows=(0.15, 0.2, 0.3, 0.5)):
    r = load(path)
    x = np.asarray(r.grids["scan_values"])
    v_values = np.asarray(r.grids["v_values"])
    print(f"\n### {path}: fast-intraband limit\n")
    print("| μ2/t | P (K+ polarisation) | V_c paper, \\|V'\\| = 0.5 | full, \\|V'\\| = 0.5: BM / Keldysh | paper, \\|V'\\| = 1 | full, \\|V'\\| = 1: BM / Keldysh |")
    print("|---|---|---|---|---|---|")
    for want in rows:
        i = int(np.argmin(np.abs(x - want)))
        p = point_from_tree(r.results, i, v_values)
        cells = [f"{x[i]:.3g}", f"{100 * float(r.results['polarisation'][i]):.3g} %"]
        for v in (0.5, 1.0):
            paper = p.get("paper", "paper", v)
            cells.append(" / ".join(f"{V:+.4g}" for V in paper.V_c) or "none")
            full = [p.get("full", route, v) for route in ("born_markov", "keldysh")]
            cells.append(" ; ".join((", ".join(f"{V:+.4g}" for V in c.V_c) or "stable")
                                    + ("" if c.certified else " (not certified)") for c in full))
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    for path in sys.argv[1:]:
        task_file = load(path)
        if str(task_file.grids.get("scan_parameter")) == "Omega_over_Gamma" and "keldysh" in task_file.results.get("full", {}):
            fig3a_table(path)
        elif str(task_file.grids.get("scan_parameter")) == "mu2":
            fig3b_table(path)
        else:
            scan_table(path)
