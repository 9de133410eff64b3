"""The figures of the tasks in engine units: eta-map, phase-diagram, susceptibility, spectral, gap, gap-map."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from keldysh import io
from solvers.app.plot.style import _FULL_STYLES, _PAPER_STYLES, _ROUTE_COLOURS, _figure, _save, _title


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
