"""Loading the config of a run, ``--show-config`` (the resolved config as TOML with units), dotted-key lookup."""
from __future__ import annotations

import json
import math
import tomllib
from typing import Any

from solvers.app.cli.parser import PROG
from solvers.app.config import Config, ConfigError, apply_overrides, load_config, parse_override


def _load(args) -> Config:
    """:func:`load_config`, with every way a value can fail to parse as a ConfigError (Python
    refuses integers of more than 4300 digits, deeply nested arrays exhaust the recursion)."""
    for text in args.overrides:
        try:
            parse_override(text)
        except (ValueError, RecursionError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"-o {_shorten(text)}", f"cannot read the value: {_first_sentence(exc)}") from None
    try:
        return load_config(args.config, args.overrides, output=args.output)
    except ConfigError:
        raise
    except (ValueError, RecursionError, OverflowError) as exc:
        raise ConfigError(str(args.config), f"cannot read it: {_first_sentence(exc)}") from None


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _first_sentence(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.split(";")[0].split("\n")[0]


#: the unit or meaning of every key, for --show-config ("" for keys that are not numbers)
_KEY_NOTES = {
    "model.delta": "sublattice gap delta (t)",
    "model.t": "hopping, the unit of energy (t)",
    "drive.omega0": "drive frequency omega0 (t)",
    "drive.Omega": "Rabi amplitude Omega (t)",
    "drive.pattern": "which k the light drives",
    "baths.kind": "paper | quasi_thermal",
    "baths.Gamma1": "amplitude decay rate of band 1 (t)",
    "baths.Gamma2": "amplitude decay rate of band 2 (t)",
    "baths.Gamma12": "pair decoherence rate Gamma12 (t)",
    "baths.mu": "bath chemical potential mu (t)",
    "baths.mu2": "band-2 chemical potential of K+ (t)",
    "baths.reading": "how mu2 is measured: lab (from mid-gap) | band_edge",
    "baths.temperature": "bath temperature T (t, k_B = 1)",
    "interaction.V": "intravalley coupling V (t)",
    "interaction.Vprime": "|V'|, intervalley coupling (t)",
    "interaction.phi": "phase of V' (radians)",
    "scan.parameter": "the swept parameter",
    "output.path": "the results file",
    "output.checkpoint": "scans write the file after every point",
    "numerics.mesh": "the k-sum mesh",
    "numerics.nk": "Monkhorst-Pack points per axis",
    "numerics.n_resonance": "Gauss points on the resonance panel",
    "numerics.n_band": "tanh-sinh points per band panel",
    "numerics.shell_resolution": "panel length in the shell (units of Gamma)",
    "numerics.shell_order": "Gauss points per shell panel",
    "numerics.refine_level": "polar refinement level s (48 s^2 points)",
    "numerics.polar_resolution": "panel length along the rays (units of Gamma)",
    "numerics.polar_order": "Gauss points per ray panel",
    "numerics.polar_angles": "Gauss angles per 120-degree sector",
    "numerics.n_per_panel": "frequency points per panel of the quadrature route",
    "numerics.routes": "how chi is computed",
    "numerics.criteria": "paper (Re chi at nu = 0) | full (growth rates)",
    "numerics.v_values": "|V'| values (t)",
    "numerics.nu_per_panel": "points per panel of the nu grid",
    "numerics.nu_span": "half-width of the nu grid (units of Gamma + 2 Omega + 2 T)",
    "numerics.V_max": "range |V| <= V_max of the full criterion (t)",
    "numerics.certify": "refine until two levels agree",
    "numerics.tolerance": "certification tolerance (relative to max(|V_c|, t))",
    "numerics.max_level": "refinement levels 0..max_level",
    "numerics.route": "born_markov | keldysh",
    "numerics.tol": "accepted relative residual",
    "numerics.max_nfev": "function evaluations of the gap solver",
    "numerics.grid_points": "k points per axis",
    "numerics.n_cut": "k points on the cut",
    "numerics.n_omega": "frequencies",
    "numerics.omega_halfwidth": "frequency window +- omega_halfwidth (t)",
    "numerics.cut_halfwidth": "k range around the resonance (1/a, a the C-C distance)",
    "numerics.V_window": "[V_lo, V_hi]: the window of V whose bifurcation points are continued (t)",
    "numerics.branch_routes": "routes of the branches: born_markov (with stability) | keldysh",
    "numerics.criterion_on_shell": "the full criterion on the resonance-shell mesh",
    "numerics.a0": "first amplitude of a branch (units of Gamma1 + Gamma2)",
    "numerics.ds": "arclength step",
    "numerics.ds_max": "largest arclength step",
    "numerics.max_points": "points per branch",
    "numerics.sigma": "stability counting line Re lambda = -sigma 2 min Gamma",
    "numerics.n_checks": "time-integration checks per branch",
    "numerics.check_tol": "tolerance of the time-integration checks",
    "numerics.check_t_max": "time span of a check (1/t)",
    # task threshold (laboratory units, solvers.app.config.material)
    "material.name": "MoS2 | WS2 | MoSe2 | WSe2 (Xiao et al. 2012)",
    "material.gap": "override of Delta (energy)",
    "material.spin_splitting": "override of 2 lambda (energy)",
    "material.lattice_constant": "override of a (length)",
    "material.dirac_hopping": "override of Xiao's t, hbar v = a t (energy)",
    "material.hbar_v": "override of hbar v (energy x length)",
    "drive.photon_energy": "photon energy (energy)",
    "drive.detuning": "photon energy above the A transition Delta - lambda (energy)",
    "drive.max_intensity": "the search stops here (intensity, I = c eps0 E0^2)",
    "drive.max_field": "the search stops here (peak field of circular light)",
    "drive.min_intensity": "the lowest intensity tried (intensity)",
    "drive.min_field": "the lowest peak field tried",
    "baths.linewidth": "hbar Gamma_a, HWHM of the spectral function, both bands (energy)",
    "baths.lifetime": "population lifetime tau = hbar / (2 hbar Gamma_a) (time)",
    "interaction.V_over_bandwidth": "V / W, W the width of one band of the lattice model",
    "interaction.Vprime_over_bandwidth": "|V'| / W",
    "numerics.paper_route": "route of the paper criterion (paper: Eq. 13)",
    "numerics.full_route": "route of the full criterion",
    "numerics.points_per_decade": "bracket grid in intensity",
    "numerics.rel_tolerance": "relative tolerance of the threshold (bisection to 1/4 of it)",
}
#: task threshold: keys whose meaning differs from the engine-unit tasks
_THRESHOLD_NOTES = {
    "drive.pattern": "circular | circular-abs | dichroic | valley",
    "baths.temperature": "bath temperature (temperature)",
    "baths.mu": "chemical potential from the middle of the A gap (energy)",
    "interaction.V": "intravalley coupling V (energy x unit cell)",
    "interaction.Vprime": "|V'| (energy x unit cell)",
    "numerics.V_max": "range |V| <= V_max of the full criterion (t)",
}
_SCAN_UNITS = {"Omega_over_Gamma": "Omega / Gamma, Gamma = Gamma1 + Gamma2", "Omega": "t", "omega0": "t",
               "detuning": "omega0 - delta, t", "mu2": "t", "delta": "t"}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


def _given(raw: dict, table: str | None, key: str) -> bool:
    node = raw if table is None else raw.get(table)
    return isinstance(node, dict) and key in node


def show_config(cfg: Config, raw: dict, source: str = "") -> str:
    """The resolved config of ``cfg`` as TOML: every default filled in and marked, the unit
    (or meaning) of every key as a comment; ``raw`` is the parsed file with the overrides
    applied (to tell given keys from defaults).  ``tomllib.loads`` of it gives back a config
    equal to ``cfg``."""
    resolved = cfg.resolved()
    lines = [f"# {PROG} --show-config {source}".rstrip(),
             "# the resolved configuration: every default filled in ('default'), energies in units of t",
             "# (hbar = k_B = 1), momenta in 1/a with a the C-C (nearest-neighbour) distance"]
    if cfg.task == "threshold":
        lines[1:] = ["# the resolved configuration: every default filled in ('default'); laboratory units,",
                     "# every quantity a string with its unit (numerics in engine units)"]
    notes = {**_KEY_NOTES, **(_THRESHOLD_NOTES if cfg.task == "threshold" else {})}

    def entry(table: str | None, key: str, value: Any) -> str:
        dotted = f"{table}.{key}" if table else key
        note = notes.get(dotted, "")
        if dotted in ("scan.values", "scan.start", "scan.stop"):
            unit = (cfg.scan.unit or "ratio") if cfg.task == "threshold" else _SCAN_UNITS.get(resolved['scan']['parameter'], '')
            note = f"values of the scanned parameter ({unit})"
        generator = raw.get("scan") if dotted == "scan.values" and not _given(raw, table, key) else None
        if isinstance(generator, dict):
            given = ", ".join(f"{k} = {_toml_value(generator[k])}" for k in ("start", "stop", "num", "log")
                              if k in generator)
            note = f"{note}; from {given}"
        elif not _given(raw, table, key):
            note = f"{note}; default" if note else "default"
        text = f"{key} = {_toml_value(value)}"
        return f"{text:<34} # {note}" if note else text

    for key, value in resolved.items():
        if not isinstance(value, dict):
            lines.append(entry(None, key, value))
    for table, values in resolved.items():
        if isinstance(values, dict):
            lines += ["", f"[{table}]"] + [entry(table, key, value) for key, value in values.items()]
    return "\n".join(lines) + "\n"


def _raw_config(args) -> dict:
    with open(args.config, "rb") as fh:
        raw = tomllib.load(fh)
    pairs = [parse_override(text) for text in args.overrides]
    if args.output is not None:
        pairs.append(("output.path", str(args.output)))
    return apply_overrides(raw, pairs)


def _lookup(tree: Any, dotted: str) -> Any:
    node = tree
    for part in dotted.replace("[", ".[").split("."):
        if not part:
            continue
        try:
            node = node[int(part[1:-1])] if part.startswith("[") else node[part]
        except (KeyError, IndexError, TypeError, ValueError):
            return "<absent>"
    return node
