"""Run configuration: a TOML file -> frozen, validated dataclasses.

One TOML file describes one run (``runs/*.toml``)::

    task = "phase-diagram"          # eta-map | susceptibility | phase-diagram | gap | spectral
    description = "free text"       # optional, copied into the output

    [model]        # physical: the gapped honeycomb lattice (spec §1)
    delta = 5.0    #   sublattice gap δ > 0 (units of t)
    t = 1.0        #   hopping, the unit of energy

    [drive]        # physical: the laser (spec §2); not with baths.kind = "quasi_thermal"
    omega0 = 5.1   #   drive frequency ω0 (default δ + 0.1 t)
    Omega = 1e-3   #   Rabi amplitude Ω >= 0 (default 0; not when a scan sets it)
    pattern = "valley"              # valley | dichroic

    [baths]        # physical: the reservoirs (spec §3, §5)
    kind = "paper"                  # paper: rates Γ1, Γ2 per band, one μ and T
    Gamma1 = 5e-4  #   amplitude decay rates Γ_a > 0
    Gamma2 = 5e-4
    mu = -5e-4     #   bath chemical potential (default -(Γ1 + Γ2)/2)
    temperature = 0.0
    # kind = "quasi_thermal" (fast-intraband limit, spec §5) takes instead:
    # Gamma12 > 0, mu (default -Γ12/2), mu2 (band-2 chemical potential of K+),
    # reading = "lab" | "band_edge" (how μ2 is measured), temperature

    [interaction]  # physical: the couplings of the gap task (Eqs. 8, 12)
    V = 0.0        #   intravalley V
    Vprime = 1.0   #   |V'| >= 0
    phi = 0.0      #   phase of V' = |V'| e^{iφ}

    [scan]         # the swept parameter (phase-diagram; eta-map: delta)
    parameter = "Omega_over_Gamma"  # Omega_over_Gamma | Omega | mu2 | delta
    values = [0.1, 1.0, 10.0]       # strictly monotonic, or:
    # start = 0.1, stop = 100.0, num = 40, log = true

    [numerics]     # numerical: meshes, grids, routes, tolerances (see NumericsParams)

    [output]
    path = "out/run.h5"             # default out/<config file stem>.h5
    checkpoint = true               # scans write a checkpoint after every point

Physical parameters (model, drive, baths, interaction) are kept apart from the numerical
ones (numerics) and from the bookkeeping (scan, output).  Every dataclass validates itself
on construction; :class:`Config` adds the checks that involve several tables and fills in
the defaults that depend on other values.

Loud errors: an unknown key, a table the task does not use, a wrong type (a bool is not a
number), NaN or infinity, a value out of range, an empty or non-monotonic scan all raise
:class:`ConfigError` with a one-line message that starts with the dotted key and says what
is allowed, e.g. ``baths.Gamma1: must be > 0 (got -0.001)``.

:meth:`Config.resolved` returns the configuration as a plain dict with every default filled
in and only the keys the run uses: this is what goes into every output file, and
``Config.from_dict(cfg.resolved()) == cfg``.

Overrides (``keldysh-run CONFIG -o key.sub=value``) are parsed as TOML literals (``-o
numerics.routes='["paper"]'``), falling back to a plain string (``-o task=gap``).  Setting
``scan.values`` by an override drops ``start/stop/num/log`` of the file's [scan] table and
vice versa, so a sweep can be replaced from the command line; likewise ``-o numerics.mesh=...``
drops the file's keys that only the other meshes read.
"""
from __future__ import annotations

import dataclasses
import difflib
import json
import logging
import math
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from keldysh.lattice import RECIPROCAL, HoneycombModel, resonance_on_cut
from solvers.fast_intraband import READINGS, lab_mu2
from solvers.gap import GAP_ROUTES
from solvers.susceptibility import ROUTES

__all__ = [
    "TASKS",
    "ROUTES",
    "GAP_ROUTES",
    "CRITERIA",
    "MESHES",
    "PATTERNS",
    "BATH_KINDS",
    "SCAN_PARAMETERS",
    "ConfigError",
    "ModelParams",
    "DriveParams",
    "BathParams",
    "InteractionParams",
    "ScanParams",
    "NumericsParams",
    "OutputParams",
    "Config",
    "load_config",
    "parse_override",
    "apply_overrides",
    "resolution_warnings",
    "check_resolution",
    "default_mesh",
]

log = logging.getLogger(__name__)

TASKS = ("eta-map", "susceptibility", "phase-diagram", "gap", "spectral")
CRITERIA = ("paper", "full")
MESHES = ("exact-dos", "exact-dos-shell", "monkhorst-pack", "refined-polar")
PATTERNS = ("valley", "dichroic")
BATH_KINDS = ("paper", "quasi_thermal")
SCAN_PARAMETERS = ("Omega_over_Gamma", "Omega", "mu2", "delta")

#: which tables each task reads (model and numerics are always allowed, output too)
_TASK_TABLES = {
    "eta-map": ("scan",),
    "susceptibility": ("drive", "baths"),
    "phase-diagram": ("drive", "baths", "scan"),
    "gap": ("drive", "baths", "interaction"),
    "spectral": ("drive", "baths"),
}
_MESH_TASKS = ("susceptibility", "phase-diagram", "gap")


class ConfigError(ValueError):
    """A bad configuration value; ``key`` is the dotted key (or file name) it concerns.

    ``str(error)`` is the one-line message ``"<key>: <what is wrong> (got <value>)"``."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key


# --------------------------------------------------------------------------------------------
# value checks (each returns the normalised value or raises ConfigError naming the key)


def _show(value: Any) -> str:
    """A value as the user typed it (TOML-like): true, "text", 1e-3, nan, [1, 2]."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k} = {_show(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _bounds_text(gt=None, ge=None, lt=None, le=None) -> str:
    parts = []
    if gt is not None:
        parts.append(f"> {gt:g}")
    if ge is not None:
        parts.append(f">= {ge:g}")
    if lt is not None:
        parts.append(f"< {lt:g}")
    if le is not None:
        parts.append(f"<= {le:g}")
    return " and ".join(parts)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _number(key: str, value: Any, *, gt=None, ge=None, lt=None, le=None) -> float:
    bounds = _bounds_text(gt, ge, lt, le)
    if not _is_number(value):
        raise ConfigError(key, f"must be a number{' ' + bounds if bounds else ''} (got {_show(value)})")
    given, value = value, float(value)
    if not math.isfinite(value):
        raise ConfigError(key, f"must be finite{', ' + bounds if bounds else ''} (got {_show(value)})")
    if (
        (gt is not None and not value > gt)
        or (ge is not None and not value >= ge)
        or (lt is not None and not value < lt)
        or (le is not None and not value <= le)
    ):
        raise ConfigError(key, f"must be {bounds} (got {_show(given)})")
    return value


def _integer(key: str, value: Any, *, ge=None, even=False) -> int:
    what = "an even integer" if even else "an integer"
    bounds = f" >= {ge}" if ge is not None else ""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ConfigError(key, f"must be {what}{bounds} (got {_show(value)})")
    value = int(value)
    if (ge is not None and value < ge) or (even and value % 2):
        raise ConfigError(key, f"must be {what}{bounds} (got {value})")
    return value


def _string(key: str, value: Any, choices: Sequence[str] | None = None) -> str:
    allowed = ", ".join(repr(c) for c in choices) if choices else ""
    if not isinstance(value, str):
        what = f"one of {allowed}" if choices else "a string"
        raise ConfigError(key, f"must be {what} (got {_show(value)})")
    if choices is not None and value not in choices:
        hint = difflib.get_close_matches(value, choices, n=1)
        extra = f"; did you mean {hint[0]!r}?" if hint else ""
        raise ConfigError(key, f"must be one of {allowed} (got {_show(value)}{extra})")
    return value


def _boolean(key: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ConfigError(key, f"must be true or false (got {_show(value)})")
    return bool(value)


def _list(key: str, value: Any, what: str) -> list:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (list, tuple, np.ndarray)):
        raise ConfigError(key, f"must be a list of {what} (got {_show(value)})")
    if len(value) == 0:
        raise ConfigError(key, f"must be a non-empty list of {what} (got [])")
    return list(value)


def _number_list(key: str, value: Any, **bounds) -> tuple[float, ...]:
    items = _list(key, value, "numbers")
    return tuple(_number(f"{key}[{i}]", item, **bounds) for i, item in enumerate(items))


def _choice_list(key: str, value: Any, choices: Sequence[str]) -> tuple[str, ...]:
    items = _list(key, value, "strings")
    out = tuple(_string(f"{key}[{i}]", item, choices) for i, item in enumerate(items))
    if len(set(out)) != len(out):
        raise ConfigError(key, f"must not repeat an entry (got {_show(list(out))})")
    return out


def _set(obj: Any, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


def _forbid(key: str, value: Any, reason: str) -> None:
    if value is not None:
        raise ConfigError(key, f"{reason} (got {_show(value)})")


# --------------------------------------------------------------------------------------------
# physical parameters


@dataclass(frozen=True)
class ModelParams:
    """The gapped honeycomb model (spec §1): sublattice gap ``delta`` (δ > 0) and hopping
    ``t`` > 0, the unit of energy.  ``delta`` may be left out only when a scan sets it."""

    delta: float | None = None
    t: float = 1.0

    def __post_init__(self):
        if self.delta is not None:
            _set(self, "delta", _number("model.delta", self.delta, gt=0))
        _set(self, "t", _number("model.t", self.t, gt=0))


@dataclass(frozen=True)
class DriveParams:
    """The drive (spec §2): frequency ``omega0`` (ω0 > 0; None -> δ + 0.1 t, filled in by
    :class:`Config`), Rabi amplitude ``Omega`` (Ω >= 0; None -> 0, or set by a scan) and the
    ``pattern`` "valley" (Ω_k = Ω in K+) or "dichroic" (Ω_k ∝ |P_+(k)|)."""

    omega0: float | None = None
    Omega: float | None = None
    pattern: str = "valley"

    def __post_init__(self):
        if self.omega0 is not None:
            _set(self, "omega0", _number("drive.omega0", self.omega0, gt=0))
        if self.Omega is not None:
            _set(self, "Omega", _number("drive.Omega", self.Omega, ge=0))
        _set(self, "pattern", _string("drive.pattern", self.pattern, PATTERNS))


@dataclass(frozen=True)
class BathParams:
    """Wide-band baths (spec §3; amplitude decay rates).

    ``kind = "paper"``: rates ``Gamma1``, ``Gamma2`` > 0 of bands 1, 2 in both valleys, one
    chemical potential ``mu`` (default -(Γ1 + Γ2)/2) and ``temperature`` T >= 0.

    ``kind = "quasi_thermal"`` (fast-intraband limit, spec §5, Fig. 3b): pair decoherence rate
    ``Gamma12`` > 0, K- at ``mu`` (default -Γ12/2), K+ band 2 at ``mu2`` (band 1 at -μ2 by
    particle-number conservation), ``reading`` "lab" (μ2 measured from mid-gap) or
    "band_edge" (from δ/2).  ``mu2`` may be left out only when a scan sets it."""

    kind: str = "paper"
    Gamma1: float | None = None
    Gamma2: float | None = None
    Gamma12: float | None = None
    mu: float | None = None
    mu2: float | None = None
    reading: str | None = None
    temperature: float = 0.0

    def __post_init__(self):
        kind = _string("baths.kind", self.kind, BATH_KINDS)
        _set(self, "kind", kind)
        _set(self, "temperature", _number("baths.temperature", self.temperature, ge=0))
        if kind == "paper":
            for name in ("Gamma12", "mu2", "reading"):
                _forbid(f"baths.{name}", getattr(self, name),
                        "only with baths.kind = 'quasi_thermal', not 'paper'")
            for name in ("Gamma1", "Gamma2"):
                if getattr(self, name) is None:
                    raise ConfigError(f"baths.{name}", "required for baths.kind = 'paper' (a number > 0)")
                _set(self, name, _number(f"baths.{name}", getattr(self, name), gt=0))
            default_mu = -(self.Gamma1 + self.Gamma2) / 2
        else:
            for name in ("Gamma1", "Gamma2"):
                _forbid(f"baths.{name}", getattr(self, name),
                        "only with baths.kind = 'paper'; the fast-intraband limit uses Gamma12")
            if self.Gamma12 is None:
                raise ConfigError("baths.Gamma12", "required for baths.kind = 'quasi_thermal' (a number > 0)")
            _set(self, "Gamma12", _number("baths.Gamma12", self.Gamma12, gt=0))
            if self.mu2 is not None:
                _set(self, "mu2", _number("baths.mu2", self.mu2))
            _set(self, "reading", _string("baths.reading", "lab" if self.reading is None else self.reading,
                                          READINGS))
            default_mu = -self.Gamma12 / 2
        _set(self, "mu", default_mu if self.mu is None else _number("baths.mu", self.mu))

    @property
    def Gamma(self) -> float:
        """Γ = Γ1 + Γ2 (paper) or Γ12 (quasi-thermal): the pair decoherence rate."""
        return self.Gamma1 + self.Gamma2 if self.kind == "paper" else self.Gamma12


@dataclass(frozen=True)
class InteractionParams:
    """Interband pairing couplings (Eqs. 8, 12): intravalley ``V``, intervalley
    V' = ``Vprime`` e^{i ``phi``} with ``Vprime`` = |V'| >= 0."""

    V: float = 0.0
    Vprime: float = 0.0
    phi: float = 0.0

    def __post_init__(self):
        _set(self, "V", _number("interaction.V", self.V))
        _set(self, "Vprime", _number("interaction.Vprime", self.Vprime, ge=0))
        _set(self, "phi", _number("interaction.phi", self.phi))

    @property
    def Vprime_complex(self) -> complex:
        return complex(self.Vprime * np.exp(1j * self.phi))


# --------------------------------------------------------------------------------------------
# bookkeeping: the scan and the output


_SCAN_BOUNDS = {"Omega_over_Gamma": {"ge": 0}, "Omega": {"ge": 0}, "mu2": {}, "delta": {"gt": 0}}


@dataclass(frozen=True)
class ScanParams:
    """The swept parameter and its values.

    ``parameter``: "Omega_over_Gamma" (Ω = value x Γ, Γ = Γ1 + Γ2), "Omega", "mu2"
    (quasi-thermal baths) or "delta" (eta-map).  Either ``values`` (a strictly increasing or
    decreasing list) or ``start``, ``stop``, ``num`` and optionally ``log`` (log-spaced,
    start and stop > 0).  After construction ``values`` holds the expanded tuple and the
    generator fields are None: a scan is its list of values."""

    parameter: str | None = None
    values: tuple[float, ...] | None = None
    start: float | None = None
    stop: float | None = None
    num: int | None = None
    log: bool | None = None

    def __post_init__(self):
        if self.parameter is None:
            raise ConfigError("scan.parameter", f"required (one of {', '.join(map(repr, SCAN_PARAMETERS))})")
        parameter = _string("scan.parameter", self.parameter, SCAN_PARAMETERS)
        bounds = _SCAN_BOUNDS[parameter]
        generator = {k: getattr(self, k) for k in ("start", "stop", "num", "log") if getattr(self, k) is not None}
        if self.values is not None:
            if generator:
                raise ConfigError(f"scan.{next(iter(generator))}",
                                  "give either scan.values or scan.start/stop/num, not both")
            values = _number_list("scan.values", self.values, **bounds)
        else:
            for name in ("start", "stop", "num"):
                if getattr(self, name) is None:
                    raise ConfigError(f"scan.{name}", "required unless scan.values is given "
                                      "(a scan is values = [...] or start, stop, num [, log])")
            logscale = _boolean("scan.log", False if self.log is None else self.log)
            start = _number("scan.start", self.start, **({"gt": 0} if logscale else bounds))
            stop = _number("scan.stop", self.stop, **({"gt": 0} if logscale else bounds))
            num = _integer("scan.num", self.num, ge=1)
            if num == 1 and start != stop:
                raise ConfigError("scan.num", f"must be >= 2 when scan.start != scan.stop (got {num})")
            grid = np.geomspace(start, stop, num) if logscale else np.linspace(start, stop, num)
            values = tuple(float(v) for v in grid)
        steps = np.diff(values)
        if steps.size and not (np.all(steps > 0) or np.all(steps < 0)):
            raise ConfigError("scan.values", f"must be strictly increasing or decreasing (got {_show(list(values))})")
        _set(self, "parameter", parameter)
        _set(self, "values", values)
        for name in ("start", "stop", "num", "log"):
            _set(self, name, None)

    def __len__(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class OutputParams:
    """Where the results go: ``path`` (None -> ``out/<config stem>.h5``, filled in by
    :func:`load_config`) and whether scans ``checkpoint`` after every point."""

    path: str | None = None
    checkpoint: bool = True

    def __post_init__(self):
        if self.path is not None:
            path = _string("output.path", self.path)
            if not path.strip():
                raise ConfigError("output.path", "must not be empty")
            _set(self, "path", path)
        _set(self, "checkpoint", _boolean("output.checkpoint", self.checkpoint))


# --------------------------------------------------------------------------------------------
# numerical parameters


@dataclass(frozen=True)
class NumericsParams:
    """Numerical parameters; each task reads only some of them (``USED_BY``).

    k-sums (susceptibility, phase-diagram, gap):
        ``mesh`` "exact-dos" (energy quadrature with the exact DOS, valley pattern only),
        "exact-dos-shell" (the same with the resonance shell resolved uniformly,
        :func:`solvers.scan.shell_mesh`: what the full criterion needs at real ν away from
        the pair energy; susceptibility and phase-diagram only) or
        "monkhorst-pack" (uniform ``nk`` x ``nk`` mesh of the zone, nk even, restricted to K+)
        or "refined-polar" (:class:`keldysh.kmesh.RefinedKMesh`: a polar quadrature of K+
        refined at the resonance shell, level ``refine_level`` s = (n_angle, n_radial,
        n_angle_outer, n_outer) / (1, 2, 4, 2); s = 4 is 768 points).  The two k meshes serve
        the dichroic pattern.  ``n_resonance`` Gauss points on the resonance
        panel and ``n_band`` tanh-sinh points per band panel of the exact-DOS mesh;
        ``shell_resolution`` (panel length in units of Γ = Γ1 + Γ2, or Γ12) and
        ``shell_order`` (Gauss points per panel) of the shell mesh, whose window is set by
        ``nu_span``.  Default: :func:`default_mesh`.
    susceptibility, phase-diagram:
        ``routes`` (paper, born_markov, keldysh, poles), ``n_per_panel`` (frequency points per
        panel of the Keldysh quadrature), ``nu_per_panel`` and ``nu_span``: the real-frequency
        grid of the full criterion and of chi(ν) (:func:`solvers.scan.default_nu_grid`:
        adapted panels at the pair energy -2μ and the Rabi sidebands, ``nu_per_panel`` points
        each, clipped to -2μ ± nu_span (Γ1 + Γ2 + 2Ω + 2T)).
    phase-diagram:
        ``criteria`` (paper, full) and ``v_values``: the |V'| at which V_c is computed.
    gap:
        ``route`` (born_markov, keldysh), ``tol`` (relative residual), ``max_nfev``.
    eta-map:
        ``grid_points`` per axis of the uniform k grid.
    spectral:
        ``n_cut`` k points on the cut through K+, ``n_omega`` frequencies, the half-widths
        ``omega_halfwidth`` (frequency window around 0 in the rotating frame) and
        ``cut_halfwidth`` (k range around the resonance); None -> automatic (8 (Γ + Ω), and
        the k range whose detuning spans that window).
    """

    mesh: str | None = None
    nk: int | None = None
    n_resonance: int = 200
    n_band: int = 60
    shell_resolution: float = 0.5
    shell_order: int = 4
    refine_level: int = 4
    n_per_panel: int = 32
    routes: tuple[str, ...] = ("paper", "born_markov")
    criteria: tuple[str, ...] = ("paper", "full")
    v_values: tuple[float, ...] = (0.0, 0.5, 1.0)
    nu_per_panel: int = 8
    nu_span: float = 8.0
    route: str = "born_markov"
    tol: float = 1e-10
    max_nfev: int = 400
    grid_points: int = 200
    n_cut: int = 101
    n_omega: int = 201
    omega_halfwidth: float | None = None
    cut_halfwidth: float | None = None

    #: task(s) that read each key
    USED_BY = {
        "mesh": _MESH_TASKS,
        "nk": _MESH_TASKS,
        "n_resonance": _MESH_TASKS,
        "n_band": _MESH_TASKS,
        "shell_resolution": _MESH_TASKS,
        "shell_order": _MESH_TASKS,
        "refine_level": _MESH_TASKS,
        "n_per_panel": ("susceptibility", "phase-diagram"),
        "routes": ("susceptibility", "phase-diagram"),
        "criteria": ("phase-diagram",),
        "v_values": ("phase-diagram",),
        "nu_per_panel": ("susceptibility", "phase-diagram"),
        "nu_span": ("susceptibility", "phase-diagram"),
        "route": ("gap",),
        "tol": ("gap",),
        "max_nfev": ("gap",),
        "grid_points": ("eta-map",),
        "n_cut": ("spectral",),
        "n_omega": ("spectral",),
        "omega_halfwidth": ("spectral",),
        "cut_halfwidth": ("spectral",),
    }
    #: keys read only with one kind of mesh
    MESH_ONLY = {"nk": "monkhorst-pack", "n_resonance": "exact-dos", "n_band": "exact-dos",
                 "shell_resolution": "exact-dos-shell", "shell_order": "exact-dos-shell",
                 "refine_level": "refined-polar"}

    def __post_init__(self):
        if self.mesh is not None:
            _set(self, "mesh", _string("numerics.mesh", self.mesh, MESHES))
        if self.nk is not None:
            _set(self, "nk", _integer("numerics.nk", self.nk, ge=2, even=True))
        for name, low in (("n_resonance", 4), ("n_band", 4), ("shell_order", 1), ("refine_level", 1),
                          ("n_per_panel", 4),
                          ("nu_per_panel", 2),
                          ("max_nfev", 1), ("grid_points", 2), ("n_cut", 2), ("n_omega", 2)):
            _set(self, name, _integer(f"numerics.{name}", getattr(self, name), ge=low))
        _set(self, "routes", _choice_list("numerics.routes", self.routes, ROUTES))
        _set(self, "criteria", _choice_list("numerics.criteria", self.criteria, CRITERIA))
        _set(self, "v_values", _number_list("numerics.v_values", self.v_values, ge=0))
        _set(self, "nu_span", _number("numerics.nu_span", self.nu_span, gt=0))
        _set(self, "shell_resolution", _number("numerics.shell_resolution", self.shell_resolution, gt=0))
        _set(self, "route", _string("numerics.route", self.route, GAP_ROUTES))
        _set(self, "tol", _number("numerics.tol", self.tol, gt=0, lt=1))
        for name in ("omega_halfwidth", "cut_halfwidth"):
            if getattr(self, name) is not None:
                _set(self, name, _number(f"numerics.{name}", getattr(self, name), gt=0))

    def used(self, task: str) -> list[str]:
        """Names of the keys that ``task`` reads with this mesh, in declaration order."""
        names = []
        for f in dataclasses.fields(self):
            if task not in self.USED_BY[f.name]:
                continue
            if f.name in self.MESH_ONLY and self.mesh != self.MESH_ONLY[f.name]:
                continue
            names.append(f.name)
        return names


# --------------------------------------------------------------------------------------------
# the whole configuration


@dataclass(frozen=True)
class Config:
    """A validated run: ``task`` and its tables (None where the task does not use one).

    Construct with :meth:`from_dict` (a parsed TOML document) or :func:`load_config` (a
    file, with overrides); direct construction validates too."""

    task: str
    model: ModelParams
    drive: DriveParams | None = None
    baths: BathParams | None = None
    interaction: InteractionParams | None = None
    scan: ScanParams | None = None
    numerics: NumericsParams = dataclasses.field(default_factory=NumericsParams)
    output: OutputParams = dataclasses.field(default_factory=OutputParams)
    description: str = ""

    def __post_init__(self):
        task = _string("task", self.task, TASKS)
        if not isinstance(self.description, str):
            raise ConfigError("description", f"must be a string (got {_show(self.description)})")
        tables = _TASK_TABLES[task]
        for name in ("drive", "baths", "interaction", "scan"):
            if getattr(self, name) is not None and name not in tables:
                raise ConfigError(name, f"not used by task {task!r} (remove the [{name}] table)")
        self._check_scan(task)
        self._check_model(task)
        self._check_baths_and_drive(task)
        if task == "gap" and self.interaction is None:
            _set(self, "interaction", InteractionParams())
        self._check_numerics(task)

    # -- cross-table checks and defaults ---------------------------------------------------
    def _check_scan(self, task):
        scan = self.scan
        if task == "phase-diagram" and scan is None:
            raise ConfigError("scan", "required by task 'phase-diagram' ([scan] with parameter and values)")
        if scan is None:
            return
        if task == "eta-map":
            allowed = ("delta",)
        elif self.baths is not None and self.baths.kind == "quasi_thermal":
            allowed = ("mu2",)
        else:
            allowed = ("Omega_over_Gamma", "Omega")
        if scan.parameter not in allowed:
            context = f"task {task!r}" if task == "eta-map" else \
                f"baths.kind = {self.baths.kind if self.baths else 'paper'!r}"
            raise ConfigError("scan.parameter", f"must be one of {', '.join(map(repr, allowed))} "
                              f"for {context} (got {_show(scan.parameter)})")

    def _scanned(self, parameter: str) -> bool:
        return self.scan is not None and self.scan.parameter == parameter

    def _check_model(self, task):
        if self._scanned("delta"):
            _forbid("model.delta", self.model.delta, "set by the scan (scan.parameter = 'delta'); remove it")
        elif self.model.delta is None:
            raise ConfigError("model.delta", "required (the sublattice gap, a number > 0)")

    def _check_baths_and_drive(self, task):
        if "baths" not in _TASK_TABLES[task]:
            return
        if self.baths is None:
            raise ConfigError("baths", f"required by task {task!r} ([baths] with kind and rates)")
        baths = self.baths
        if baths.kind == "quasi_thermal":
            if self.drive is not None:
                raise ConfigError("drive", "not used with baths.kind = 'quasi_thermal' (the fast-intraband "
                                  "limit has no coherent drive; remove the [drive] table)")
            if task == "spectral":
                raise ConfigError("baths.kind", "task 'spectral' needs the driven system: must be 'paper' "
                                  "(got 'quasi_thermal')")
            if self._scanned("mu2"):
                _forbid("baths.mu2", baths.mu2, "set by the scan (scan.parameter = 'mu2'); remove it")
            elif baths.mu2 is None:
                raise ConfigError("baths.mu2", "required for baths.kind = 'quasi_thermal' (a number)")
            return
        drive = self.drive if self.drive is not None else DriveParams()
        scanned = self._scanned("Omega_over_Gamma") or self._scanned("Omega")
        if scanned:
            _forbid("drive.Omega", drive.Omega,
                    f"set by the scan (scan.parameter = {self.scan.parameter!r}); remove it")
        elif drive.Omega is None:
            drive = dataclasses.replace(drive, Omega=0.0)
        if drive.omega0 is None:
            drive = dataclasses.replace(drive, omega0=self.model.delta + 0.1 * self.model.t)
        _set(self, "drive", drive)
        if task == "spectral" and resonance_on_cut(self.physical_model(), drive.omega0 / 2) is None:
            lo, hi = self.physical_model().band_edges()
            raise ConfigError("drive.omega0", f"task 'spectral' needs the resonance omega0/2 inside band 2 "
                              f"({lo:g}, {hi:g}), i.e. omega0 in ({2 * lo:g}, {2 * hi:g}) "
                              f"(got {_show(drive.omega0)})")

    def _check_numerics(self, task):
        num = self.numerics
        if task in _MESH_TASKS:
            pattern = self.drive.pattern if self.drive is not None else "valley"
            mesh = num.mesh or default_mesh(task, pattern)
            if mesh.startswith("exact-dos") and pattern != "valley":
                raise ConfigError("numerics.mesh", f"{mesh!r} serves only drive.pattern = 'valley' "
                                  f"(got pattern {pattern!r}); use 'monkhorst-pack' or 'refined-polar'")
            if mesh == "exact-dos-shell" and task == "gap":
                raise ConfigError("numerics.mesh", "'exact-dos-shell' resolves the shell that a ν scan "
                                  "probes: for tasks susceptibility and phase-diagram only (got task 'gap')")
            if mesh == "monkhorst-pack" and num.nk is None:
                raise ConfigError("numerics.nk", "required for numerics.mesh = 'monkhorst-pack' "
                                  "(an even integer >= 2)")
            num = dataclasses.replace(num, mesh=mesh)
        if task == "phase-diagram" and "full" in num.criteria and set(num.routes) <= {"paper"}:
            raise ConfigError("numerics.criteria", "'full' needs a route other than 'paper' in "
                              f"numerics.routes (got routes {_show(list(num.routes))})")
        if task == "spectral":
            drive, gamma = self.drive, self.baths.Gamma
            width = num.omega_halfwidth or 8.0 * (gamma + drive.Omega)
            cut = num.cut_halfwidth
            if cut is None:
                q, v = resonance_on_cut(self.physical_model(), drive.omega0 / 2)
                cut = min(width / v, q)  # xi'_k2 = e - mu - omega0/2 spans +-width over q_res +- cut
            num = dataclasses.replace(num, omega_halfwidth=float(width), cut_halfwidth=float(cut))
        _set(self, "numerics", num)

    # -- derived objects -------------------------------------------------------------------
    def physical_model(self, delta: float | None = None) -> HoneycombModel:
        """The :class:`HoneycombModel` (``delta`` overrides model.delta, e.g. in a delta scan)."""
        return HoneycombModel(self.model.delta if delta is None else delta, self.model.t)

    def scan_values(self) -> np.ndarray:
        return np.asarray(self.scan.values if self.scan is not None else [], dtype=float)

    # -- construction from TOML and back ----------------------------------------------------
    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, source: str | None = None) -> "Config":
        """Validate a parsed TOML document (unknown keys and unused tables are errors).

        ``source``: the config file, whose stem names the default output ``out/<stem>.h5``."""
        if not isinstance(raw, Mapping):
            raise ConfigError("config", f"must be a table (got {_show(raw)})")
        tables = {"model": ModelParams, "drive": DriveParams, "baths": BathParams,
                  "interaction": InteractionParams, "scan": ScanParams,
                  "numerics": NumericsParams, "output": OutputParams}
        _check_keys("", raw, ("task", "description", *tables))
        if "task" not in raw:
            raise ConfigError("task", f"required (one of {', '.join(map(repr, TASKS))})")
        task = _string("task", raw["task"], TASKS)
        description = raw.get("description", "")
        kwargs: dict[str, Any] = {}
        for name, klass in tables.items():
            if name not in raw:
                continue
            table = raw[name]
            if not isinstance(table, Mapping):
                raise ConfigError(name, f"must be a table [{name}] (got {_show(table)})")
            if name in ("drive", "baths", "interaction", "scan") and name not in _TASK_TABLES[task]:
                raise ConfigError(name, f"not used by task {task!r} (remove the [{name}] table)")
            _check_keys(name, table, [f.name for f in dataclasses.fields(klass)])
            if name == "numerics":
                drive = kwargs.get("drive")
                _check_numerics_keys(task, table, drive.pattern if drive is not None else "valley")
            kwargs[name] = klass(**table)
        if "model" not in kwargs:
            raise ConfigError("model", "required ([model] with delta)")
        output = kwargs.get("output", OutputParams())
        if output.path is None:
            stem = Path(source).stem if source is not None else task
            output = dataclasses.replace(output, path=f"out/{stem}.h5")
        kwargs["output"] = output
        return cls(task=task, description=description, **kwargs)

    def resolved(self) -> dict[str, Any]:
        """Plain-dict configuration, every default filled in, only the keys the run uses.

        Lists, floats, ints, bools and strings only (JSON and TOML representable):
        ``Config.from_dict(cfg.resolved()) == cfg``."""
        out: dict[str, Any] = {"task": self.task}
        if self.description:
            out["description"] = self.description
        model = {"delta": self.model.delta, "t": self.model.t}
        if self._scanned("delta"):
            del model["delta"]
        out["model"] = model
        if self.drive is not None:
            drive = {"omega0": self.drive.omega0, "Omega": self.drive.Omega, "pattern": self.drive.pattern}
            if drive["Omega"] is None:
                del drive["Omega"]
            out["drive"] = drive
        if self.baths is not None:
            b = self.baths
            if b.kind == "paper":
                baths = {"kind": b.kind, "Gamma1": b.Gamma1, "Gamma2": b.Gamma2, "mu": b.mu,
                         "temperature": b.temperature}
            else:
                baths = {"kind": b.kind, "Gamma12": b.Gamma12, "mu": b.mu, "mu2": b.mu2,
                         "reading": b.reading, "temperature": b.temperature}
                if b.mu2 is None:
                    del baths["mu2"]
            out["baths"] = baths
        if self.interaction is not None:
            out["interaction"] = dataclasses.asdict(self.interaction)
        if self.scan is not None:
            out["scan"] = {"parameter": self.scan.parameter, "values": list(self.scan.values)}
        num = self.numerics
        out["numerics"] = {name: _plain(getattr(num, name)) for name in num.used(self.task)}
        out["output"] = {"path": self.output.path, "checkpoint": self.output.checkpoint}
        return out

    def describe(self) -> str:
        """Short one-line summary of the physical parameters (for logs and plot titles)."""
        parts = [self.task]
        if self.model.delta is not None:
            parts.append(f"δ={self.model.delta:g}t")
        if self.drive is not None:
            parts.append(f"ω0={self.drive.omega0:g}")
            if self.drive.Omega is not None:
                parts.append(f"Ω={self.drive.Omega:g}")
        if self.baths is not None:
            b = self.baths
            if b.kind == "paper":
                parts.append(f"Γ1={b.Gamma1:g} Γ2={b.Gamma2:g} μ={b.mu:g}")
            else:
                parts.append(f"Γ12={b.Gamma12:g} μ={b.mu:g}")
                if b.mu2 is not None:
                    parts.append(f"μ2={b.mu2:g}")
            if b.temperature:
                parts.append(f"T={b.temperature:g}")
        if self.scan is not None:
            parts.append(f"scan {self.scan.parameter} x{len(self.scan)}")
        return ", ".join(parts)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


#: keys that existed under another name: the error says what to use instead
_RENAMED = {
    "numerics.nu_points": "numerics.nu_per_panel (points per panel of the adapted ν grid, "
                          "solvers.scan.default_nu_grid)",
}


def _check_keys(where: str, table: Mapping[str, Any], allowed: Iterable[str]) -> None:
    allowed = list(allowed)
    for key in table:
        if key not in allowed:
            dotted = f"{where}.{key}" if where else str(key)
            if dotted in _RENAMED:
                raise ConfigError(dotted, f"unknown key: renamed, use {_RENAMED[dotted]}")
            hint = difflib.get_close_matches(str(key), allowed, n=1)
            extra = f"; did you mean {hint[0]!r}?" if hint else ""
            raise ConfigError(dotted, f"unknown key (allowed: {', '.join(allowed)}{extra})")


def default_mesh(task: str, pattern: str) -> str:
    """The k-sum mesh when numerics.mesh is not given: the Monkhorst-Pack mesh for the
    dichroic drive (its k-sum is genuinely 2D); for the valley drive the exact-DOS energy
    quadrature, with the resonance shell resolved uniformly for the tasks that evaluate
    chi(ν) at real ν (a coarser shell turns chi(ν) into a comb of per-sample Lorentzians
    with spurious real-axis crossings of the full criterion)."""
    if pattern != "valley":
        return "monkhorst-pack"
    return "exact-dos-shell" if task in ("susceptibility", "phase-diagram") else "exact-dos"


def _check_numerics_keys(task: str, table: Mapping[str, Any], pattern: str) -> None:
    for key in table:
        users = NumericsParams.USED_BY[key]
        if task not in users:
            raise ConfigError(f"numerics.{key}", f"not used by task {task!r} (only by {', '.join(users)})")
    mesh = table.get("mesh", default_mesh(task, pattern))
    if task in _MESH_TASKS and isinstance(mesh, str):
        for key, only in NumericsParams.MESH_ONLY.items():
            if key in table and mesh != only:
                raise ConfigError(f"numerics.{key}", f"only used with numerics.mesh = {only!r} "
                                  f"(got mesh {mesh!r})")


# --------------------------------------------------------------------------------------------
# files and overrides


def parse_override(text: str) -> tuple[str, Any]:
    """``"key.sub=value"`` -> (``"key.sub"``, value); value as a TOML literal, else a string."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"-o {text}", "expected KEY=VALUE with a dotted KEY, e.g. -o model.delta=1.0")
    parts = key.split(".")
    if any(not p.strip() for p in parts):
        raise ConfigError(f"-o {text}", f"bad dotted key {key!r}")
    try:
        parsed = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value.strip()
    return key, parsed


_SCAN_GENERATOR = ("start", "stop", "num", "log")


def apply_overrides(raw: Mapping[str, Any], overrides: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    """A deep copy of ``raw`` with the (dotted key, value) overrides applied in order.

    Tables are created as needed.  Overriding ``scan.values`` drops the file's
    ``scan.start/stop/num/log`` and overriding one of those drops the file's ``scan.values``;
    overriding ``numerics.mesh`` drops the file's keys of the other meshes (e.g. ``nk``)."""
    out = json.loads(json.dumps(raw))  # TOML documents are JSON-representable (no dates here)
    keys = [k for k, _ in overrides]
    numerics = out.get("numerics")
    new_mesh = dict(overrides).get("numerics.mesh")
    if isinstance(numerics, dict) and isinstance(new_mesh, str):
        for name, only in NumericsParams.MESH_ONLY.items():
            if only != new_mesh and f"numerics.{name}" not in keys:
                numerics.pop(name, None)
    scan = out.get("scan")
    if isinstance(scan, dict):
        if "scan.values" in keys:
            for name in _SCAN_GENERATOR:
                scan.pop(name, None)
        if any(f"scan.{name}" in keys for name in _SCAN_GENERATOR):
            scan.pop("values", None)
    for key, value in overrides:
        parts = key.split(".")
        node = out
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, dict):
                raise ConfigError(".".join(parts[: i + 1]), f"is not a table; cannot set {key}")
            node = child
        node[parts[-1]] = value
    return out


def load_config(path: str | Path, overrides: Sequence[str] = (), *, output: str | None = None,
                warn: bool = False) -> Config:
    """Read, override and validate a TOML config file.

    ``overrides``: ``"key=value"`` strings (see :func:`parse_override`); ``output``: replaces
    ``output.path``; ``warn``: log the resolution warnings (:func:`check_resolution`)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(str(path), "no such config file") from None
    except IsADirectoryError:
        raise ConfigError(str(path), "is a directory, not a config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), f"not a text file: {exc}") from None
    pairs = [parse_override(text) for text in overrides]
    if output is not None:
        pairs.append(("output.path", str(output)))
    cfg = Config.from_dict(apply_overrides(raw, pairs), source=str(path))
    if warn:
        check_resolution(cfg)
    return cfg


# --------------------------------------------------------------------------------------------
# resolution checks


def _reciprocal_length() -> float:
    return float(np.linalg.norm(RECIPROCAL[0]))


def resolution_warnings(cfg: Config) -> list[str]:
    """Human-readable warnings about meshes too coarse for the physics, and off-band drives.

    Energy meshes: the plain exact-DOS mesh for a task that evaluates chi(ν) at real ν (use
    the shell mesh), and a shell mesh coarser than Γ/2 (:func:`keldysh.kmesh.EnergyMesh.shell`).

    Monkhorst-Pack: the resonant shell {k : |ε_k| <~ W}, W = max(Ω, Γ) (the smallest over a
    scan; Γ12 and the Fermi step at μ2 for quasi-thermal baths) has a width in k of about
    W / |dε/dk| = W / (2 v), v = de/dk the band velocity at the resonance.  The mesh spacing
    |b|/nk should be at most half of it; the warning gives the nk that achieves that."""
    out: list[str] = []
    if cfg.baths is None:
        return out
    num = cfg.numerics
    values = cfg.scan_values()
    if cfg.baths.kind == "paper":
        gamma = cfg.baths.Gamma
        if cfg._scanned("Omega_over_Gamma"):
            omegas = values * gamma
        elif cfg._scanned("Omega"):
            omegas = values
        else:
            omegas = np.array([cfg.drive.Omega])
        width = max(float(np.min(omegas)), gamma)
        centres = [cfg.drive.omega0 / 2]
        model = cfg.physical_model()
        lo, hi = model.band_edges()
        if not lo < centres[0] < hi:
            out.append(f"drive.omega0: the resonance omega0/2 = {centres[0]:g} is outside band 2 "
                       f"({lo:g}, {hi:g}): no k is resonant with the drive")
    else:
        width = cfg.baths.Gamma12
        model = cfg.physical_model()
        mu2s = values if cfg._scanned("mu2") else np.array([cfg.baths.mu2])
        centres = [lab_mu2(model, m, cfg.baths.reading) for m in mu2s]
    scans_nu = cfg.task == "susceptibility" or (cfg.task == "phase-diagram" and "full" in num.criteria)
    if scans_nu and num.mesh == "exact-dos":
        out.append("numerics.mesh: 'exact-dos' concentrates its points at the resonance; chi(nu) at real "
                   "nu away from the pair energy then becomes a comb of per-sample Lorentzians with "
                   "spurious full-criterion crossings: 'exact-dos-shell' suggested")
    if num.mesh == "exact-dos-shell" and num.shell_resolution > 0.5:
        out.append(f"numerics.shell_resolution: panels of {num.shell_resolution:g} Gamma may not resolve the "
                   f"per-sample Lorentzians of width ~Gamma in chi(nu); <= 0.5 suggested")
    if num.mesh == "monkhorst-pack":
        spacing = _reciprocal_length() / num.nk
        worst = None
        for centre in centres:
            found = resonance_on_cut(model, centre)
            if found is None:
                continue
            shell = width / (2 * found[1])
            if worst is None or shell < worst[0]:
                worst = (shell, centre)
        if worst is not None and spacing > worst[0] / 2:
            need = int(math.ceil(2 * _reciprocal_length() / worst[0]))
            need += need % 2
            out.append(f"numerics.nk: a {num.nk} x {num.nk} mesh (spacing {spacing:.3g}) cannot resolve "
                       f"the resonant shell at e = {worst[1]:.4g} (width ~{worst[0]:.2g} in k for "
                       f"max(Omega, Gamma) = {width:.2g}); nk >= {need} suggested, or numerics.mesh = "
                       f"'refined-polar' (or 'exact-dos' for the valley pattern)")
    if cfg.task == "spectral" and num.omega_halfwidth:
        # a uniform frequency grid must resolve the narrowest Lorentzian (half-width Γ_min)
        gmin = (min(cfg.baths.Gamma1, cfg.baths.Gamma2) if cfg.baths.kind == "paper"
                else cfg.baths.Gamma12 / 2)
        step = 2 * num.omega_halfwidth / (num.n_omega - 1)
        if step > gmin / 2:
            need = int(math.ceil(4 * num.omega_halfwidth / gmin)) + 1
            out.append(f"numerics.n_omega: a frequency step of {step:.3g} cannot resolve Lorentzians of "
                       f"half-width Gamma = {gmin:.3g}; n_omega >= {need} suggested")
    return out


def check_resolution(cfg: Config) -> list[str]:
    """Log :func:`resolution_warnings` with ``logging.warning``; returns them."""
    warnings = resolution_warnings(cfg)
    for message in warnings:
        log.warning("%s", message)
    return warnings
