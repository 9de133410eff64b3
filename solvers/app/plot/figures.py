"""``keldysh-plot FILE.h5 [--out DIR]``: one PNG per results file of ``keldysh-run``.

Figures by task (energies in units of t, momenta in units of 1/a, a the nearest-neighbour
distance; the run's parameters in the title):

* eta-map: η(k) (Eq. 2) over the Brillouin zone, colour scale -1..1, one panel per δ,
  zone boundary and valley centres K± marked;
* phase-diagram: V_c/t against Ω/Γ (log axis) or μ2/t; one colour per |V'|, one line style
  per method (closed forms Eqs. 14, 17; the paper criterion per route) and one marker per
  route of the full criterion, both branches; symlog V axis (the branches diverge at weak drive); the K+
  polarisation on a twin axis for μ2 scans;
* susceptibility: Re and Im of chi_± against ν for each route (chi(0) of the paper route as
  points at ν = 0);
* spectral: A(k, ω) and the distribution -iG^</A of the mode c_k2 along the cut through K+,
  and the populations n22_k, 1 - n11_k (Born-Markov and Keldysh);
* gap: the residual history of the accepted solve, and every attempt;
* gap-map: |Δ+|, |Δ−|, ν and max Re λ against V per branch (stable solid, unstable dashed),
  bifurcation points and folds marked;
* threshold (laboratory units): the threshold intensity (W/cm², log axis; right axis: the
  Rabi energy ħΩ_A in meV) of each criterion against the scanned parameter (its unit; top axis
  in units of t where it is an energy), open markers where not certified, triangles for a
  bound (no instability up to the maximum intensity); and every evaluation of the searches.

Uses matplotlib's Agg canvas directly (no pyplot state, no display needed).  Prints the
paths it wrote, one per line, and nothing else; exit status 2 for an unusable file.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

from keldysh import io

__all__ = ["main", "plot_file", "PLOTTERS"]

#: paper criterion: one line style and colour per route (closed forms grey/black)
_PAPER_STYLES = {
    "eq14": dict(color="0.55", ls="-", lw=2.5, label="paper crit., Eq. (14)"),
    "eq17": dict(color="k", ls=":", lw=1.5, label="paper crit., Eq. (17)"),
    "paper": dict(color="C0", ls="--", lw=1.3, label="paper crit., Eq. (13) kernel"),
    "born_markov": dict(color="C1", ls="-", lw=1.3, label="paper crit., Re χ (Born-Markov)"),
    "keldysh": dict(color="C3", ls="-.", lw=1.3, label="paper crit., Re χ (Keldysh)"),
    "quadrature": dict(color="C4", ls=(0, (3, 1, 1, 1)), lw=1.0, label="paper crit., Re χ (quadrature)"),
    "poles": dict(color="C2", ls=(0, (1, 2)), lw=1.3, label="paper crit., Re χ (poles)"),
}
#: full criterion: markers only (boundaries appear, vanish and change branch along a scan)
_FULL_STYLES = {
    "paper": dict(color="C0", marker="v", label="full crit., Eq. (9) kernel"),
    "born_markov": dict(color="C1", marker="o", label="full crit., Born-Markov"),
    "keldysh": dict(color="C3", marker="s", label="full crit., Keldysh"),
    "quadrature": dict(color="C4", marker="D", label="full crit., quadrature"),
    "poles": dict(color="C2", marker="^", label="full crit., poles"),
}
_ROUTE_COLOURS = {"paper": "C0", "born_markov": "C1", "keldysh": "C3", "quadrature": "C4", "poles": "C2"}


def _figure(ncols: int = 1, nrows: int = 1, size=(6.4, 4.8)):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def _wrap(text: str, width: int) -> str:
    """Break every line of ``text`` longer than ``width`` characters after a comma (else at a
    space), so that no line of a title runs off the figure."""
    lines = []
    for line in text.split("\n"):
        while len(line) > width:
            cut = line.rfind(", ", 0, width)
            step = 2
            if cut <= 0:
                cut, step = line.rfind(" ", 0, width), 1
            if cut <= 0:
                break
            lines.append(line[: cut + (1 if step == 2 else 0)])
            line = line[cut + step:]
        lines.append(line)
    return "\n".join(lines)


def _save(fig, title: str, out: Path, stem: str, name: str) -> Path:
    """Give ``fig`` its title, wrapped to the figure's width, and write it as
    ``<out>/<stem>_<name>.png``."""
    fig.suptitle(_wrap(title, int(9.5 * fig.get_figwidth())))  # ~7 pt per character at 12 pt
    path = out / f"{stem}_{name}.png"
    fig.savefig(path, dpi=110)
    return path


#: a value the description already gives ("delta = 5t", "Omega = 5 Gamma", "V' = t"): the
#: title does not repeat it
_SAID = {
    "delta": r"(?<![\w])(?:delta|δ)(?:\s*/\s*t)?\s*=",
    "Omega": r"(?<![\w/])(?:Omega|Ω)(?![\w/])\s*=",
    "Gamma": r"(?<![\w/])(?:Gamma|Γ)(?![\w/])\s*=",
    "Gamma12": r"(?:Gamma12|Γ12)\s*=",
    "mu": r"(?<![\w])(?:mu|μ)(?![\w])\s*=",
    "mu2": r"(?:mu2|μ2)\s*=",
    "T": r"(?<![\w])(?:T|temperature)(?![\w])\s*=",
    "V": r"(?<![\w|'])V(?![\w'|])\s*=",
    "Vprime": r"\|?V'\|?\s*=",
    "phi": r"(?<![\w])(?:phi|φ)(?![\w])\s*=",
}


def _said(description: str) -> set[str]:
    """The parameters whose value ``description`` gives (keys of :data:`_SAID`)."""
    return {name for name, pattern in _SAID.items() if re.search(pattern, description or "")}


def _title(config: dict) -> str:
    """The task and description, then the parameters of the resolved config that the
    description does not already give (ω0 − δ always); :func:`_save` wraps it."""
    parts = []
    said = _said(config.get("description", ""))
    model = config.get("model", {})
    if "delta" in model and "delta" not in said:
        parts.append(f"δ = {model['delta']:g} t")
    drive = config.get("drive")
    if drive:
        if drive.get("omega0") is not None:
            if "delta" in model:
                parts.append(f"ω0 − δ = {drive['omega0'] - model['delta']:g} t")
            else:
                parts.append(f"ω0 = {drive['omega0']:g} t")
        if "Omega" in drive and "Omega" not in said:
            parts.append(f"Ω = {drive['Omega']:g} t")
        if drive.get("pattern", "valley") != "valley":
            parts.append(f"{drive['pattern']} drive")
    baths = config.get("baths")
    if baths:
        if baths.get("kind") == "quasi_thermal":
            intraband = "" if "intraband" in config.get("description", "") else "fast intraband, "
            if "Gamma12" not in said:
                parts.append(f"{intraband}Γ12 = {baths['Gamma12']:g} t")
            elif intraband:
                parts.append("fast intraband")
            reading = baths.get("reading", "lab")
            if "mu2" in baths:
                parts.append(f"{reading} reading" if "mu2" in said else f"μ2 = {baths['mu2']:g} t ({reading} reading)")
            else:
                parts.append(f"μ2 in the {reading} reading")
        elif not ("Gamma" in said and baths["Gamma1"] == baths["Gamma2"]):
            parts.append(f"Γ1 = {baths['Gamma1']:g} t, Γ2 = {baths['Gamma2']:g} t")
        if "mu" not in said:
            parts.append(f"μ = {baths['mu']:g} t")
        if baths.get("temperature") and "T" not in said:
            parts.append(f"T = {baths['temperature']:g} t")
    inter = config.get("interaction")
    if inter:
        for name, text in (("V", f"V = {inter['V']:g} t"), ("Vprime", f"|V'| = {inter['Vprime']:g} t"),
                           ("phi", f"φ = {inter['phi']:g}")):
            if name not in said:
                parts.append(text)
    mesh = config.get("numerics", {}).get("mesh")
    if mesh:
        extra = f" nk={config['numerics']['nk']}" if mesh == "monkhorst-pack" else ""
        parts.append(f"mesh {mesh}{extra}")
    head = config.get("task", "")
    desc = config.get("description")
    line1 = f"{head}: {desc}" if desc else head
    body = ", ".join(parts)
    return f"{line1}\n{body}" if body else line1


# --------------------------------------------------------------------------------------------


def plot_eta_map(data: io.Results, out: Path, stem: str) -> list[Path]:
    res, grids = data.results, data.grids
    deltas = np.atleast_1d(grids["delta"])
    kx, ky = grids["kx"], grids["ky"]
    corners = np.asarray(grids["bz_corners"])
    fig, axes = _figure(len(deltas), 1, size=(4.6, 4.2))
    image = None
    for i, delta in enumerate(deltas):
        ax = axes[0, i]
        image = ax.imshow(res["eta"][i], origin="lower", extent=(kx[0], kx[-1], ky[0], ky[-1]),
                          cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest", aspect="equal")
        hexagon = np.vstack([corners, corners[:1]])
        ax.plot(hexagon[:, 0], hexagon[:, 1], "k-", lw=0.8)
        kp, km = res["K_plus"][i], res["K_minus"][i]
        ax.plot(*kp, "o", mfc="none", mec="k", ms=9)
        ax.annotate("K+", kp, xytext=(6, 6), textcoords="offset points")
        ax.plot(*km, "s", mfc="none", mec="k", ms=8)
        ax.annotate("K−", km, xytext=(6, 6), textcoords="offset points")
        ax.set_title(f"δ = {delta:g} t")
        ax.set_xlabel("$k_x a$  (a: C–C distance)")
        ax.set_ylabel("$k_y a$")
    fig.colorbar(image, ax=axes[0, :].tolist(), label="η(k)  (circular dichroism, Eq. 2)", shrink=0.8)
    return [_save(fig, _title(data.config) + "\nK+ is the valley centre with η = +1", out, stem, "eta-map")]


def _break_at_infinity(x, y, scale: float):
    """(x, y) with a NaN point inserted between consecutive points where a branch passes
    through infinity, so that the line is not drawn across the plot.  Two samples of opposite
    sign are joined through 0 or through ∞, whichever is the shorter way round the circle
    θ = 2 arctan(y / ``scale``) (the real line closed at ∞)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    theta = 2 * np.arctan(y / scale)
    xs, ys = [], []
    for i in range(y.size):
        if i and np.isfinite(y[i]) and np.isfinite(y[i - 1]) and y[i] * y[i - 1] < 0 \
                and abs(theta[i] - theta[i - 1]) > np.pi:
            xs.append(0.5 * (x[i] + x[i - 1]))
            ys.append(np.nan)
        xs.append(x[i])
        ys.append(y[i])
    return np.array(xs), np.array(ys)


def plot_phase_diagram(data: io.Results, out: Path, stem: str) -> list[Path]:
    """One panel per |V'|: the paper criterion's V_c per route (lines, broken where a branch
    passes through infinity), the full criterion's boundaries per route (markers; open
    markers where a result is not certified, a red x where a boundary has a status other than
    ok) and the unstable intervals of the first full-criterion route (shaded, with the number
    of growing modes), the reference lines V = ±|V'|."""
    res, grids = data.results, data.grids
    x = np.asarray(grids["scan_values"], dtype=float)
    parameter = str(grids["scan_parameter"])
    v_values = np.asarray(grids["v_values"], dtype=float)
    nv = max(v_values.size, 1)
    fig, axes = _figure(nv, 1, size=(5.2, 5.0))
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: dict[str, Any] = {}
    paper = res.get("paper", {})
    full = res.get("full", {})
    logx = parameter in ("Omega_over_Gamma", "Omega") and np.all(x > 0)
    for j, v in enumerate(v_values):
        ax = axes[0, j]
        for route, g in paper.items():
            st = _PAPER_STYLES.get(route, dict(color="0.3", ls="-", lw=1.0, label=f"paper crit., {route}"))
            vc = np.asarray(g["V_c"], dtype=float)[:, j, :]
            for b in range(vc.shape[-1]):
                ax.plot(*_break_at_infinity(x, vc[:, b], max(1.0, float(v))), color=st["color"], ls=st["ls"],
                        lw=st["lw"])
            handles.setdefault(st["label"], Line2D([], [], color=st["color"], ls=st["ls"], lw=st["lw"],
                                                   label=st["label"]))
        shade = next((r for r in ("keldysh", "quadrature", "born_markov", "poles", "paper") if r in full), None)
        for k, (route, g) in enumerate(full.items()):
            st = _FULL_STYLES.get(route, dict(color="0.3", marker="x", label=f"full crit., {route}"))
            vc = np.asarray(g["V_c"], dtype=float)[:, j, :]
            cert = np.asarray(g["certified"], dtype=bool)[:, j]
            status = np.asarray(g["status"]).astype(str)[:, j, :]
            for i in range(x.size):
                ys = vc[i][np.isfinite(vc[i])]
                ax.plot(np.full(ys.size, x[i]), ys, ls="none", marker=st["marker"], color=st["color"],
                        ms=max(3, 8 - 2 * k), mfc=st["color"] if cert[i] else "none", alpha=0.9)
                bad = [vc[i, b] for b in range(vc.shape[1]) if np.isfinite(vc[i, b]) and status[i, b] not in ("ok",)]
                if bad:
                    ax.plot(np.full(len(bad), x[i]), bad, ls="none", marker="x", color="red", ms=8)
            handles.setdefault(st["label"], Line2D([], [], ls="none", marker=st["marker"], color=st["color"],
                                                   label=st["label"] + " (open: not certified)"))
            if route == shade and "counts" in g:
                counts = np.asarray(g["counts"])[:, j, :]
                vmax = np.asarray(g["V_max"], dtype=float)[:, j]
                for i in range(x.size):
                    edges = [-vmax[i], *vc[i][np.isfinite(vc[i])].tolist(), vmax[i]]
                    for q, c in enumerate(counts[i][: len(edges) - 1]):
                        if c > 0:
                            ax.plot([x[i], x[i]], [edges[q], edges[q + 1]], color=st["color"], lw=6,
                                    alpha=0.18, solid_capstyle="butt")
                handles.setdefault("unstable", Patch(color=st["color"], alpha=0.25,
                                                     label=f"unstable (growing modes > 0), {route}"))
        if v > 0:
            for sign in (1, -1):
                ax.axhline(sign * v, color="0.4", lw=0.6, ls=(0, (6, 3)))
            handles.setdefault("ref", Line2D([], [], color="0.4", lw=0.6, ls=(0, (6, 3)), label="V = ±|V'|"))
        ax.axhline(0, color="0.8", lw=0.5)
        if logx:
            ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=max(1.0, float(v)))
        xlabel = {"Omega_over_Gamma": "Ω / Γ   (Γ = Γ1 + Γ2)", "Omega": "Ω / t", "mu2": "μ2 / t",
                  "omega0": "ω0 / t", "detuning": "(ω0 − δ) / t"}
        ax.set_xlabel(xlabel.get(parameter, parameter))
        ax.set_title(f"|V'| = {v:g} t", fontsize=10)
        if j == 0:
            ax.set_ylabel("critical coupling $V_c$ / t  (symlog)")
        if parameter == "mu2" and "polarisation" in res:
            twin = ax.twinx()
            twin.plot(x, 100 * np.asarray(res["polarisation"]), color="0.5", lw=2, alpha=0.6)
            twin.set_ylabel("K+ polarisation P (%)  (grey)", color="0.4")
    fig.legend(handles=list(handles.values()), loc="outside lower center", fontsize=8, ncol=3)
    done = data.history.get("completed") if data.history else None
    note = "" if done is None or np.all(done) else f"  [unfinished: {int(np.sum(done))}/{x.size} points]"
    path = _save(fig, _title(data.config) + ("\n" + note.strip() if note else ""), out, stem, "phase-diagram")
    paths = [path]
    if parameter in ("Omega_over_Gamma", "Omega") and "F_plus_eq14" in res.get("closed_forms", {}):
        paths.append(_plot_kernels(data, out, stem, x, parameter))
    return paths


def _plot_kernels(data: io.Results, out: Path, stem: str, x, parameter) -> Path:
    """F_+ = Re chi_+(0) against the drive: Eqs. (13), (14), (17) and the exact routes, with
    the ratio exact/Eq. (13) (the Rabi dressing, spec §4a) in a second panel."""
    res = data.results
    closed = res["closed_forms"]
    chi0 = res.get("chi0", {})
    fig, axes = _figure(2, 1, size=(5.2, 4.2))
    ax, rx = axes[0, 0], axes[0, 1]
    ax.plot(x, np.asarray(closed["F_plus_eq14"], dtype=float), color="k", lw=2.5, alpha=0.35,
            label="Eq. (14): exact DOS")
    ax.plot(x, np.asarray(closed["F_plus_eq17"], dtype=float), color="k", ls=":", lw=1.5,
            label="Eq. (17): reconstructed closed form")
    ref = np.real(np.asarray(chi0["paper"])[:, 0, 0]) if "paper" in chi0 else np.asarray(closed["F_plus_eq14"])
    for route, c in chi0.items():
        F = np.asarray(c)[:, 0, 0]
        st = _PAPER_STYLES.get(route, {})
        label = "Eq. (13) on the mesh" if route == "paper" else f"Re χ++(0), {route}"
        ax.plot(x, F.real, color=_ROUTE_COLOURS.get(route), ls=st.get("ls", "-"), label=label)
        if route != "paper":
            rx.plot(x, F.real / ref, color=_ROUTE_COLOURS.get(route), ls=st.get("ls", "-"), label=f"Re χ++ / Eq. (13), {route}")
            rx.plot(x, F.imag / ref, color=_ROUTE_COLOURS.get(route), ls=":", lw=1, label=f"Im χ++ / Eq. (13), {route}")
    for a in (ax, rx):
        if np.all(x > 0):
            a.set_xscale("log")
        a.set_xlabel("Ω / Γ" if parameter == "Omega_over_Gamma" else "Ω / t")
    ax.set_yscale("log")
    ax.set_ylabel("$F_+$  (per unit cell, 1/t)")
    ax.legend(fontsize=7)
    rx.axhline(1, color="0.7", lw=0.5)
    rx.set_ylabel("exact / Eq. (13)")
    rx.legend(fontsize=7)
    rx.set_title("Rabi dressing of the pair propagator", fontsize=9)
    return _save(fig, _title(data.config), out, stem, "kernels")


def plot_susceptibility(data: io.Results, out: Path, stem: str) -> list[Path]:
    res, nu = data.results, np.asarray(data.grids["nu"], dtype=float)
    fig, axes = _figure(2, 2, size=(5.0, 3.6))
    for route, entry in res.items():
        if not isinstance(entry, dict):
            continue
        colour = _ROUTE_COLOURS.get(route, None)
        for row, which in enumerate(("plus", "minus")):
            for col, part in enumerate((np.real, np.imag)):
                ax = axes[row, col]
                if f"chi_{which}" in entry:
                    ax.plot(nu, part(entry[f"chi_{which}"]), color=colour, label=route)
                ax.plot([0.0], [part(entry[f"chi_{which}_0"])], "o", color=colour, mfc="none",
                        label=f"{route}, ν = 0" if f"chi_{which}" not in entry else None)
    for row, which in enumerate(("+", "−")):
        for col, part in enumerate(("Re", "Im")):
            ax = axes[row, col]
            ax.set_xlabel("ν / t  (condensate frequency)")
            ax.set_ylabel(f"{part} χ{which}(ν)  (per unit cell, 1/t)")
            ax.axvline(res.get("pair_energy", np.nan), color="0.7", lw=0.5)
            ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 2))
    axes[0, 0].legend(fontsize=8)
    return [_save(fig, _title(data.config) + "\n(grey line: pair energy −2μ)", out, stem, "susceptibility")]


def plot_spectral(data: io.Results, out: Path, stem: str) -> list[Path]:
    from matplotlib.colors import LogNorm

    res, grids = data.results, data.grids
    q, w = np.asarray(grids["q"]), np.asarray(grids["omega"])
    A = np.asarray(res["A"])
    fig, axes = _figure(3, 1, size=(4.8, 4.2))
    total = A.sum(axis=-1).T  # (n_omega, n_cut)
    positive = total[total > 0]
    floor = max(positive.max() * 1e-4, positive.min()) if positive.size else 1e-12
    mesh = axes[0, 0].pcolormesh(q, w, np.maximum(total, floor), shading="nearest",
                                 norm=LogNorm(vmin=floor, vmax=max(total.max(), floor * 10)), cmap="magma")
    fig.colorbar(mesh, ax=axes[0, 0], label="Σ_i A_ii(k, ω)  (1/t)")
    axes[0, 0].set_title("spectral function (all 4 Nambu modes)")
    dist = np.asarray(res["distribution"])[..., 1].T
    mesh = axes[0, 1].pcolormesh(q, w, dist, shading="nearest", vmin=0, vmax=1, cmap="viridis")
    fig.colorbar(mesh, ax=axes[0, 1], label="f(k, ω) = −iG<_22 / A_22  (mode c_k2)")
    axes[0, 1].set_title("distribution of band 2 in K+")
    for ax in axes[0, :2]:
        ax.set_xlabel("|k − K+| a  (a: C–C distance; cut along $k_x$ towards Γ)")
        ax.set_ylabel("ω / t  (rotating frame)")
        ax.axvline(res["q_resonance"], color="w", lw=0.6, ls="--")
    ax = axes[0, 2]
    for name, ls in (("born_markov", "-"), ("keldysh", "--")):
        pops = res[name]
        ax.plot(q, pops["n22_k"], color="C0", ls=ls, label=f"n22_k ({name})")
        ax.plot(q, pops["one_minus_n11_k"], color="C1", ls=ls, label=f"1 − n11_k ({name})")
    ax.axvline(res["q_resonance"], color="0.6", lw=0.6, ls="--")
    ax.set_xlabel("|k − K+| a  (a: C–C distance)")
    ax.set_ylabel("population")
    ax.set_ylim(bottom=0, top=1.45 * ax.get_ylim()[1])  # headroom: the legend sits above the curves
    ax.legend(fontsize=7, loc="upper center", ncol=2)
    ax.set_title("populations (resonance dashed)")
    paths = [_save(fig, _title(data.config), out, stem, "spectral")]
    if "valley_map" in res:
        vm = res["valley_map"]
        fig, axes = _figure(2, 1, size=(4.6, 4.0))
        for ax, key, label in ((axes[0, 0], "n22_k", "$n^{22}_k$"),
                               (axes[0, 1], "one_minus_n11_k", "$1 - n^{11}_k$")):
            im = ax.pcolormesh(vm["kx"], vm["ky"], np.asarray(vm[key]), shading="nearest", cmap="viridis")
            fig.colorbar(im, ax=ax, label=label)
            ax.set_aspect("equal")
            ax.set_xlabel("$k_x a$  (a: C–C distance)")
            ax.set_ylabel("$k_y a$")
            ax.set_title(f"{label} around K+ (Born-Markov steady state)")
        paths.append(_save(fig, _title(data.config), out, stem, "populations"))
    return paths


def plot_gap(data: io.Results, out: Path, stem: str) -> list[Path]:
    res, hist = data.results, data.history or {}
    fig, axes = _figure(2, 1, size=(5.2, 4.2))
    ax = axes[0, 0]
    residual = np.asarray(hist.get("residual", []), dtype=float)
    if residual.size:
        ax.semilogy(np.arange(1, residual.size + 1), np.maximum(residual, 1e-300), "o-", ms=3)
    else:
        ax.text(0.5, 0.5, "no accepted solve", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("function evaluation")
    ax.set_ylabel("|Δ − M S| / |Δ|   (relative residual)")
    state = "converged" if res.get("converged") else "NOT converged"
    ax.set_title(f"{state}: |Δ+| = {res['abs_delta_plus']:.4g} t, |Δ−| = {res['abs_delta_minus']:.4g} t, "
                 f"ν = {res['nu']:.4g} t", fontsize=9)
    ax = axes[0, 1]
    attempts = hist.get("attempts") or {}
    amp = ax.twinx()  # two quantities of each attempt, each on its own axis and colour
    if attempts and np.size(attempts.get("start_amplitude", [])):
        ax.loglog(attempts["start_amplitude"], np.maximum(attempts["residual"], 1e-300), "o", color="C0")
        amp.loglog(attempts["start_amplitude"], np.maximum(attempts["final_amplitude"], 1e-300), "s",
                   mfc="none", color="C1")
    ax.set_xlabel("starting amplitude |Δ+| + |Δ−|  (t)")
    ax.set_ylabel("relative residual at the end (circles)", color="C0")
    amp.set_ylabel("final amplitude |Δ| / t  (squares)", color="C1")
    ax.set_title(f"each attempt of the solver ({res.get('route', '')} route)", fontsize=9)
    return [_save(fig, _title(data.config), out, stem, "gap")]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of the runs of equal values of ``mask``, each extended by one point so that
    consecutive runs share their end points (a line changes style without a gap)."""
    out, start = [], 0
    for i in range(1, mask.size + 1):
        if i == mask.size or mask[i] != mask[start]:
            out.append((start, min(i + 1, mask.size)))
            start = i
    return out


def plot_gap_map(data: io.Results, out: Path, stem: str) -> list[Path]:
    """|Δ+|, |Δ−|, the condensate frequency ν and the largest growth rate max Re λ (Goldstone
    mode excluded) against V for every branch: solid where the Born-Markov linearisation says
    stable, dashed where unstable, dotted where not computed (Keldysh route); bifurcation points
    of the normal state (circles on the V axis, their ν_c in the ν panel), folds (triangles)."""
    res = data.results
    fig, axes = _figure(2, 2, size=(5.4, 3.8))
    panels = [(axes[0, 0], "abs_delta_plus", "|Δ+| / t"), (axes[0, 1], "abs_delta_minus", "|Δ−| / t"),
              (axes[1, 0], "nu", "ν / t  (condensate frequency)"), (axes[1, 1], "max_re", "max Re λ / t  (no Goldstone)")]
    from matplotlib.lines import Line2D

    handles: dict[str, Any] = {}
    branches = res.get("branches", {}) or {}
    for key in sorted(branches, key=int):
        g = branches[key]
        pts = g["points"]
        V = np.asarray(pts["V"], dtype=float)
        if V.size == 0:
            continue
        colour = f"C{int(key) % 10}"
        stable = np.asarray(pts.get("stable", np.full(V.size, -1)), dtype=int)
        label = f"branch {key} ({g['route']}, {g['kind'] or 'from a point'})"
        handles.setdefault(label, Line2D([], [], color=colour, label=label))
        for ax, name, _ in panels:
            if name not in pts:
                continue
            y = np.asarray(pts[name], dtype=float)
            for a, b in _runs(stable):
                ls = {1: "-", 0: "--"}.get(int(stable[a]), ":")
                ax.plot(V[a:b], y[a:b], color=colour, ls=ls, lw=1.6)
            ax.plot(V[[0]], y[[0]], "o", color=colour, ms=3)
        folds = np.atleast_1d(np.asarray(g.get("folds", []), dtype=float))
        for fV in folds[np.isfinite(folds)]:
            i = int(np.argmin(np.abs(V - fV)))
            for ax, name, _ in panels[:2]:
                ax.plot([fV], [np.asarray(pts[name])[i]], "^", color=colour, ms=8, mfc="none")
            handles.setdefault("fold", Line2D([], [], ls="none", marker="^", mfc="none", color="k", label="fold"))
    bif = res.get("bifurcations", {})
    Vc = np.atleast_1d(np.asarray(bif.get("V_c", []), dtype=float))
    if Vc.size:
        for ax, name, _ in panels[:2]:
            ax.plot(Vc, np.zeros_like(Vc), "o", color="k", mfc="w", ms=7, zorder=5)
        panels[2][0].plot(Vc, np.asarray(bif["nu_c"], dtype=float), "o", color="k", mfc="w", ms=7, zorder=5)
        handles["bif"] = Line2D([], [], ls="none", marker="o", color="k", mfc="w",
                                label="bifurcation point of the normal state (ν_c in the ν panel)")
    for style, text in (("-", "stable (Born-Markov linearisation)"), ("--", "unstable"),
                        (":", "stability not computed")):
        handles[text] = Line2D([], [], color="0.3", ls=style, label=text)
    window = np.asarray(res.get("window", [np.nan, np.nan]), dtype=float)
    for ax, name, ylabel in panels:
        ax.set_xlabel("V / t")
        ax.set_ylabel(ylabel)
        if np.all(np.isfinite(window)):
            ax.set_xlim(*window)
    panels[3][0].axhline(0, color="0.6", lw=0.6)
    panels[3][0].ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
    nu_ax = panels[2][0]
    nu_ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 2), useOffset=False)
    lo, hi = nu_ax.get_ylim()
    gamma = float(res.get("parameters", {}).get("Gamma1", 0.0)) + float(res.get("parameters", {}).get("Gamma2", 0.0))
    if gamma > 0 and hi - lo < 0.1 * gamma:  # ν pinned (e.g. at the flat pair energy): show ± Γ around it
        mid = 0.5 * (lo + hi)
        nu_ax.set_ylim(mid - gamma, mid + gamma)
    fig.legend(handles=list(handles.values()), loc="outside lower center", fontsize=8, ncol=2)
    inter = data.config.get("interaction", {})
    title = _title(data.config).replace(f"V = {inter.get('V', 0.0):g} t, ", "")  # V is scanned, not read
    return [_save(fig, title + "  (V: the horizontal axis)", out, stem, "gap-map")]


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
