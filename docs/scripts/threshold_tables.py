"""Print the threshold tables of docs/materials.md from the results files of the threshold runs.

    python docs/scripts/threshold_tables.py out/

reads out/{mos2,ws2,mose2,wse2}_threshold.h5 and out/mos2_threshold_coupling{,_2meV}.h5
(the commands are in docs/materials.md) and prints the Markdown tables, nothing else.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from keldysh import io

MATERIALS = ("MoS2", "WS2", "MoSe2", "WSe2")


def _sci(x: float) -> str:
    """1.39e9 -> '1.4e9' (two significant digits, no '+' or leading zeros)."""
    mant, exp = f"{x:.1e}".split("e")
    return f"{mant}e{int(exp)}"


def cell(r, crit: str, i: int, rabi: bool = True) -> str:
    """One threshold: 'I (ħΩ_A meV)', '> I_max' for none below the maximum, and a mark when
    not certified."""
    base = f"results/{crit}/"
    I = float(r[base + "intensity_W_cm2"][i])
    status = str(r[base + "status"][i])
    if np.isfinite(I):
        text = _sci(I) + (f" ({float(r[base + 'rabi_A_meV'][i]):.3g} meV)" if rabi else "")
    elif status.startswith("stable up to"):
        text = f"> {_sci(float(r[base + 'lower_W_cm2'][i]))}"
    elif status.startswith("unstable at the minimum"):
        text = f"< {_sci(float(r[base + 'upper_W_cm2'][i]))}"
    else:
        text = "—"
    if not bool(r[base + "certified"][i]):
        text += f" (not certified: {status})"
    return text


def _load(path: Path):
    """The finished results file at ``path``, or None (not run, or not finished)."""
    if not path.exists():
        return None
    r = io.load(path)
    return r if r.finished else None


def materials_table(out: Path) -> str:
    files = {m: _load(out / f"{m.lower()}_threshold.h5") for m in MATERIALS}
    missing = [m for m, r in files.items() if r is None]
    files = {m: r for m, r in files.items() if r is not None}
    if not files:
        return "Not computed: no finished threshold run in " + str(out)
    labels = [str(x) for x in next(iter(files.values()))["grids/scan_labels"]]
    head = "| linewidth ħΓ_a | " + " | ".join(f"{m}: paper | {m}: full" for m in files) + " |"
    lines = [head, "|---|" + "---:|" * (2 * len(files))]
    for i, label in enumerate(labels):
        row = [label]
        for m in files:
            r = files[m]
            assert [str(x) for x in r["grids/scan_labels"]] == labels
            row += [cell(r, "paper", i), cell(r, "full", i)]
        lines.append("| " + " | ".join(row) + " |")
    if missing:
        lines.append(f"\nNot computed (no finished run in this release): {', '.join(missing)}.")
    return "\n".join(lines)


def detail_table(path: Path) -> str:
    r = io.load(path)
    labels = [str(x) for x in r["grids/scan_labels"]]
    lines = ["| linewidth | criterion | I (W/cm²) | ± | E0 (MV/cm) | ħΩ_A (meV) | Ω_A/(Γ1+Γ2) | "
             "ν − E_A (meV) | modes | evaluations | levels (W/cm²) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for i, label in enumerate(labels):
        for crit in ("paper", "full"):
            b = f"results/{crit}/"
            I = float(r[b + "intensity_W_cm2"][i])
            if not np.isfinite(I):
                lines.append(f"| {label} | {crit} | {cell(r, crit, i, rabi=False)} | | | | | | | "
                             f"{int(r[b + 'n_evaluations'][i])} | |")
                continue
            levels = ", ".join(_sci(x) for x in np.asarray(r[b + "levels_W_cm2"][i]) if np.isfinite(x))
            nu = float(r[b + "nu_from_pair_A_meV"][i]) if crit == "full" else float("nan")
            lines.append(
                f"| {label} | {crit} | {_sci(I)} | {_sci(float(r[b + 'error_W_cm2'][i]))} | "
                f"{float(r[b + 'field_MV_cm'][i]):.3g} | {float(r[b + 'rabi_A_meV'][i]):.3g} | "
                f"{float(r[b + 'rabi_A_over_Gamma'][i]):.3g} | {'—' if crit == 'paper' else f'{nu:.3g}'} | "
                f"{int(r[b + 'count'][i])} | {int(r[b + 'n_evaluations'][i])} | {levels} |")
    return "\n".join(lines)


def coupling_table(out: Path) -> str:
    files = {"0.26 meV": _load(out / "mos2_threshold_coupling.h5"),
             "2 meV": _load(out / "mos2_threshold_coupling_2meV.h5")}
    missing = [k for k, r in files.items() if r is None]
    files = {k: r for k, r in files.items() if r is not None}
    if not files:
        return "Not computed in this release (runs/mos2_threshold_coupling.toml, both linewidths)."
    first = next(iter(files.values()))
    ratios = np.asarray(first["grids/scan_values"], dtype=float)
    V = np.asarray(first["results/parameters/V_eV"], dtype=float)
    lines = ["| V/W | V (eV × cell) | " + " | ".join(f"{k}: paper | {k}: full" for k in files) + " |",
             "|---:|---:|" + "---:|" * (2 * len(files))]
    for i, (x, v) in enumerate(zip(ratios, V)):
        row = [f"{x:g}", f"{v:.2f}"]
        for r in files.values():
            row += [cell(r, "paper", i), cell(r, "full", i)]
        lines.append("| " + " | ".join(row) + " |")
    if missing:
        lines.append(f"\nNot computed in this release: linewidth {', '.join(missing)}.")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else "out")
    print("Threshold intensity (W/cm²) and ħΩ_A at threshold, four materials:\n")
    print(materials_table(out))
    print("\nMoS2 in detail:\n")
    print(detail_table(out / "mos2_threshold.h5"))
    print("\nMoS2 against V (|V'| = 1.6 W):\n")
    print(coupling_table(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
