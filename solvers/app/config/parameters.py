"""The physical tables of a run ([model], [drive], [baths], [interaction]) and the
bookkeeping ones ([scan], [output]): frozen dataclasses that validate on construction.

This is the one validated parameter hierarchy of the engine: the physics objects
(:class:`keldysh.lattice.HoneycombModel`, :class:`keldysh.nambu.DrivenSystem`,
:class:`keldysh.baths.BathSet`) are built from these by :class:`~.run_config.Config` and do
not check the values again.  Validation lives here because only here can an error name
the key the user typed and the rule that involves other keys of the same file.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from keldysh.lattice import DRIVE_PATTERNS
from solvers.fast_intraband import READINGS

from .validation import (ConfigError, Validated, boolean, checked, forbid, integer, number, number_list,
                         set_field, show, string)

__all__ = ["PATTERNS", "BATH_KINDS", "SCAN_PARAMETERS", "ModelParams", "DriveParams", "BathParams",
           "InteractionParams", "ScanParams", "OutputParams"]

PATTERNS = DRIVE_PATTERNS  # valley, dichroic (K+ only); circular, circular-abs (whole zone, spec §9)
BATH_KINDS = ("paper", "quasi_thermal")
SCAN_PARAMETERS = ("Omega_over_Gamma", "Omega", "omega0", "detuning", "mu2", "delta")

#: Domain of the physical parameters (docs/running.md, "Bounds"), energies in the config's
#: units (t = 1 unless model.t says otherwise).  Beyond these the numerics lose their meaning:
#: squares of energies overflow, or widths fall below the float resolution of the band.
HOPPING_RANGE = (1e-3, 1e3)      # model.t
GAP_RANGE = (1e-6, 1e4)          # model.delta, and the values of a delta scan
ENERGY_MAX = 1e4                 # |omega0|, Omega, |mu|, |mu2|, temperature, |V|, |V'|, detuning
RATE_RANGE = (1e-10, 1e2)        # Gamma1, Gamma2, Gamma12
PHASE_MAX = 1e3                  # |phi| (radians)
OMEGA_OVER_GAMMA_MAX = 1e6       # the values of an Omega_over_Gamma scan
SCAN_MAX_POINTS = 10_000         # scan.num, len(scan.values)


@dataclass(frozen=True)
class ModelParams(Validated):
    """The gapped honeycomb model (spec §1): sublattice gap ``delta`` (δ > 0) and hopping
    ``t`` > 0, the unit of energy.  ``delta`` may be left out only when a scan sets it."""

    TABLE = "model"
    delta: float | None = checked(None, number, gt=0, domain=GAP_RANGE)
    t: float = checked(1.0, number, gt=0, domain=HOPPING_RANGE)


@dataclass(frozen=True)
class DriveParams(Validated):
    """The drive (spec §2): frequency ``omega0`` (ω0 > 0; None -> δ + 0.1 t, filled in by
    :class:`~.run_config.Config`), Rabi amplitude ``Omega`` (Ω >= 0; None -> 0, or set by
    a scan) and the ``pattern``: "valley" (Ω_k = Ω in K+), "dichroic" (Ω_k ∝ |P_+(k)| in K+),
    "circular" (σ+ light on the whole zone, Ω_k = Ω P_+(k)/|P_+(K+)| complex in the Bloch
    gauge of the closed-form Bloch vectors, spec §9) or "circular-abs" (its phase-free |Ω_k|)."""

    TABLE = "drive"
    omega0: float | None = checked(None, number, gt=0, domain=(0, ENERGY_MAX))
    Omega: float | None = checked(None, number, ge=0, domain=(0, ENERGY_MAX))
    pattern: str = checked("valley", string, choices=PATTERNS)


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

    #: the keys of each kind (the others must be absent)
    KEYS = {"paper": ("Gamma1", "Gamma2"), "quasi_thermal": ("Gamma12", "mu2", "reading")}

    def __post_init__(self):
        kind = string("baths.kind", self.kind, BATH_KINDS)
        set_field(self, "kind", kind)
        set_field(self, "temperature", number("baths.temperature", self.temperature, ge=0, domain=(0, ENERGY_MAX)))
        other = "quasi_thermal" if kind == "paper" else "paper"
        reason = ("only with baths.kind = 'quasi_thermal', not 'paper'" if kind == "paper" else
                  "only with baths.kind = 'paper'; the fast-intraband limit uses Gamma12")
        for name in self.KEYS[other]:
            forbid(f"baths.{name}", getattr(self, name), reason)
        rates = ("Gamma1", "Gamma2") if kind == "paper" else ("Gamma12",)
        for name in rates:
            if getattr(self, name) is None:
                raise ConfigError(f"baths.{name}", f"required for baths.kind = {kind!r} (a number > 0)")
            set_field(self, name, number(f"baths.{name}", getattr(self, name), gt=0, domain=RATE_RANGE))
        if kind == "quasi_thermal":
            if self.mu2 is not None:
                set_field(self, "mu2", number("baths.mu2", self.mu2, domain=(-ENERGY_MAX, ENERGY_MAX)))
            set_field(self, "reading", string("baths.reading", "lab" if self.reading is None else self.reading,
                                              READINGS))
        default_mu = -self.Gamma / 2
        mu = default_mu if self.mu is None else number("baths.mu", self.mu, domain=(-ENERGY_MAX, ENERGY_MAX))
        set_field(self, "mu", mu)

    @property
    def Gamma(self) -> float:
        """Γ = Γ1 + Γ2 (paper) or Γ12 (quasi-thermal): the pair decoherence rate."""
        return self.Gamma1 + self.Gamma2 if self.kind == "paper" else self.Gamma12


@dataclass(frozen=True)
class InteractionParams(Validated):
    """Interband pairing couplings (Eqs. 8, 12): intravalley ``V``, intervalley
    V' = ``Vprime`` e^{i ``phi``} with ``Vprime`` = |V'| >= 0."""

    TABLE = "interaction"
    V: float = checked(0.0, number, domain=(-ENERGY_MAX, ENERGY_MAX))
    Vprime: float = checked(0.0, number, ge=0, domain=(0, ENERGY_MAX))
    phi: float = checked(0.0, number, domain=(-PHASE_MAX, PHASE_MAX))

    @property
    def Vprime_complex(self) -> complex:
        return complex(self.Vprime * np.exp(1j * self.phi))


_SCAN_BOUNDS = {"Omega_over_Gamma": {"ge": 0, "domain": (0, OMEGA_OVER_GAMMA_MAX)},
                "Omega": {"ge": 0, "domain": (0, ENERGY_MAX)}, "omega0": {"gt": 0, "domain": (0, ENERGY_MAX)},
                "detuning": {"domain": (-ENERGY_MAX, ENERGY_MAX)}, "mu2": {"domain": (-ENERGY_MAX, ENERGY_MAX)},
                "delta": {"gt": 0, "domain": GAP_RANGE}}
_SCAN_GENERATOR = ("start", "stop", "num", "log")


@dataclass(frozen=True)
class ScanParams:
    """The swept parameter and its values.

    ``parameter``: "Omega_over_Gamma" (Ω = value x Γ, Γ = Γ1 + Γ2), "Omega", "omega0" (the
    drive frequency), "detuning" (ω0 - δ, so ω0 = δ + value), "mu2" (quasi-thermal baths)
    or "delta" (eta-map).  Either ``values`` (a strictly increasing or
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
        parameter = string("scan.parameter", self.parameter, SCAN_PARAMETERS)
        bounds = _SCAN_BOUNDS[parameter]
        generator = {k: getattr(self, k) for k in _SCAN_GENERATOR if getattr(self, k) is not None}
        if self.values is not None:
            if generator:
                raise ConfigError(f"scan.{next(iter(generator))}",
                                  "give either scan.values or scan.start/stop/num, not both")
            values = number_list("scan.values", self.values, max_len=SCAN_MAX_POINTS, **bounds)
        else:
            for name in ("start", "stop", "num"):
                if getattr(self, name) is None:
                    raise ConfigError(f"scan.{name}", "required unless scan.values is given "
                                      "(a scan is values = [...] or start, stop, num [, log])")
            logscale = boolean("scan.log", False if self.log is None else self.log)
            if logscale:  # log-spaced: start and stop > 0 (and within the parameter's domain)
                bounds = {"gt": 0, **({"domain": bounds["domain"]} if "domain" in bounds else {})}
            start = number("scan.start", self.start, **bounds)
            stop = number("scan.stop", self.stop, **bounds)
            num = integer("scan.num", self.num, ge=1, at_most=SCAN_MAX_POINTS)
            if num == 1 and start != stop:
                raise ConfigError("scan.num", f"must be >= 2 when scan.start != scan.stop (got {num})")
            grid = np.geomspace(start, stop, num) if logscale else np.linspace(start, stop, num)
            values = tuple(float(v) for v in grid)
        steps = np.diff(values)
        if steps.size and not (np.all(steps > 0) or np.all(steps < 0)):
            raise ConfigError("scan.values", f"must be strictly increasing or decreasing (got {show(list(values))})")
        set_field(self, "parameter", parameter)
        set_field(self, "values", values)
        for name in _SCAN_GENERATOR:
            set_field(self, name, None)

    def __len__(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class OutputParams(Validated):
    """Where the results go: ``path`` (None -> ``out/<config stem>.h5``, filled in by
    :func:`~.overrides.load_config`) and whether scans ``checkpoint`` after every point."""

    TABLE = "output"
    path: str | None = checked(None, string)
    checkpoint: bool = checked(True, boolean)

    def __post_init__(self):
        super().__post_init__()
        if self.path is not None and not self.path.strip():
            raise ConfigError("output.path", "must not be empty")
