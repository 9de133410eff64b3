"""The figure of the threshold task, in laboratory units."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from keldysh import io
from solvers.app.plot.style import _figure, _save


_THRESHOLD_LABELS = {"linewidth": "linewidth ħΓ_a", "lifetime": "population lifetime τ", "temperature": "temperature",
                     "detuning": "detuning from the A transition", "photon_energy": "photon energy",
                     "V": "V (× unit cell)", "Vprime": "|V'| (× unit cell)", "V_over_bandwidth": "V / bandwidth",
                     "Vprime_over_bandwidth": "|V'| / bandwidth", "none": ""}
#: scan units that are energies: factor to eV (for the top axis in units of t)
_TO_EV = {"meV": 1e-3, "eV": 1.0}


def _threshold_title(config: dict) -> str:
    drive, baths, inter = config.get("drive", {}), config.get("baths", {}), config.get("interaction", {})
    parts = [config.get("material", {}).get("name", "")]
    if "detuning" in drive:
        parts.append(f"{drive.get('pattern', '')} light, {drive['detuning']} above A")
    elif "photon_energy" in drive:
        parts.append(f"{drive.get('pattern', '')} light of {drive['photon_energy']}")
    for key, label in (("linewidth", "linewidth"), ("lifetime", "lifetime"), ("temperature", "T")):
        if key in baths:
            parts.append(f"{label} {baths[key]}")
    for key, label in (("V", "V"), ("V_over_bandwidth", "V/W"), ("Vprime", "|V'|"), ("Vprime_over_bandwidth", "|V'|/W")):
        if key in inter:
            parts.append(f"{label} = {inter[key]}")
    head = f"threshold: {config['description']}" if config.get("description") else "threshold"
    return head + "\n" + ", ".join(p for p in parts if p)


def plot_threshold(data: io.Results, out: Path, stem: str) -> list[Path]:
    """Threshold intensity per criterion against the scanned parameter, in laboratory units
    (module docstring), and the evaluations of every search."""
    res, grids = data.results, data.grids
    material = grids["material"]
    t_eV = float(material["t_eV"])
    param = str(grids.get("scan_parameter", "none"))
    unit = str(grids.get("scan_unit", ""))
    x = np.atleast_1d(np.asarray(grids["scan_values"], dtype=float))
    criteria = [str(c) for c in np.atleast_1d(grids["criteria"])]
    routes = [str(r) for r in np.atleast_1d(grids["routes"])]
    fig, axes = _figure(2, 1, size=(6.0, 4.6))
    ax, ev_ax = axes[0, 0], axes[0, 1]
    styles = {"paper": dict(color="C0", marker="s"), "full": dict(color="C1", marker="o")}
    finite_I = []
    for crit, route in zip(criteria, routes):
        r = res[crit]
        I = np.asarray(r["intensity_W_cm2"], dtype=float)
        err = np.asarray(r["error_W_cm2"], dtype=float)
        cert = np.asarray(r["certified"], dtype=bool)
        status = np.asarray(r["status"]).astype(str)
        st = styles.get(crit, dict(color="C2", marker="D"))
        label = f"{crit} criterion ({route})"
        ok = np.isfinite(I)
        finite_I += list(I[ok])
        ax.plot(x[ok], I[ok], ls="-", lw=1.0, color=st["color"], label=label)
        for mask, face in ((ok & cert, st["color"]), (ok & ~cert, "white")):
            if mask.any():
                ax.errorbar(x[mask], I[mask], yerr=np.where(np.isfinite(err[mask]), err[mask], 0.0), ls="none",
                            marker=st["marker"], color=st["color"], mfc=face, ms=6, capsize=3)
        above = np.char.startswith(status, "stable up to")
        if above.any():
            lower = np.asarray(r["lower_W_cm2"], dtype=float)
            size = 12 - 4 * criteria.index(crit)  # nested triangles when both criteria are bounds
            ax.plot(x[above], lower[above], ls="none", marker="^", color=st["color"], ms=size, mfc="none",
                    label=f"{crit}: stable up to the maximum intensity")
            finite_I += list(lower[above])
        below = np.char.startswith(status, "unstable at the minimum")
        if below.any():
            upper = np.asarray(r["upper_W_cm2"], dtype=float)
            ax.plot(x[below], upper[below], ls="none", marker="v", color=st["color"], ms=9, mfc="white",
                    label=f"{crit}: unstable at the minimum intensity")
            finite_I += list(upper[below])
        ev = r.get("evaluations", {})
        if ev:
            Ie = np.asarray(ev["intensity_W_cm2"], dtype=float)
            un = np.asarray(ev["unstable"], dtype=bool)
            for i in range(Ie.shape[0]):
                keep = np.isfinite(Ie[i])
                offset = 0.15 * (criteria.index(crit) - 0.5 * (len(criteria) - 1))
                yv = np.full(keep.sum(), i + offset)
                ev_ax.plot(Ie[i][keep][~un[i][keep]], yv[~un[i][keep]], ls="none", marker=st["marker"],
                           color=st["color"], mfc="white", ms=4)
                ev_ax.plot(Ie[i][keep][un[i][keep]], yv[un[i][keep]], ls="none", marker=st["marker"],
                           color=st["color"], ms=4)
    ax.set_yscale("log")
    if param in ("lifetime",):
        ax.set_xscale("log")
    ax.set_ylabel("threshold intensity I (W/cm²)")
    ax.set_xlabel(f"{_THRESHOLD_LABELS.get(param, param)} ({unit})" if unit else _THRESHOLD_LABELS.get(param, param))
    if x.size == 1:
        ax.set_xticks(x)
    # right axis: the Rabi energy of the A transition, ħΩ_A = (meV per MV/cm) E0, I = c ε0 E0²
    k = float(material["rabi_A_meV_per_MV_cm"]) / np.sqrt(1e9 * float(material["intensity_GW_cm2_per_MV_cm_squared"]))
    right = ax.secondary_yaxis("right", functions=(lambda I: k * np.sqrt(np.maximum(I, 0.0)),
                                                    lambda R: (np.maximum(R, 0.0) / k) ** 2))
    right.set_ylabel("ħΩ_A at threshold (meV)")
    if unit in _TO_EV:
        f = _TO_EV[unit] / t_eV
        top = ax.secondary_xaxis("top", functions=(lambda v: v * f, lambda v: v / f))
        top.set_xlabel(f"{_THRESHOLD_LABELS.get(param, param)} / t   (t = {t_eV:.4g} eV)")
    ax.legend(fontsize=8, loc="best")
    ev_ax.set_xscale("log")
    ev_ax.set_xlabel("intensity I (W/cm²)")
    ev_ax.set_yticks(np.arange(x.size))
    labels = np.atleast_1d(grids.get("scan_labels", x.astype(str))).astype(str)
    ev_ax.set_yticklabels(labels if param != "none" else [""])
    ev_ax.set_ylabel(f"{_THRESHOLD_LABELS.get(param, param)}" if param != "none" else "")
    ev_ax.set_title("evaluations of the searches (filled: unstable)", fontsize=9)
    ev_top = ev_ax.secondary_xaxis("top", functions=(lambda I: k * np.sqrt(np.maximum(I, 0.0)),
                                                     lambda R: (np.maximum(R, 0.0) / k) ** 2))
    ev_top.set_xlabel("ħΩ_A (meV)")
    return [_save(fig, _threshold_title(data.config), out, stem, "threshold")]
