"""Line styles and colours, the Agg figure, titles from the resolved config, saving a PNG."""
from __future__ import annotations

import re
from pathlib import Path


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
