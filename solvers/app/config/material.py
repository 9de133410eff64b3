"""Laboratory units at the boundary: the tables of task ``threshold`` and their conversion to the
engine's units (spec §9; :mod:`keldysh.materials`, :mod:`keldysh.units`).

A threshold run describes a TMD monolayer in the units of a laboratory; every quantity is a
string with its unit, parsed with pint (:func:`keldysh.units.parse_quantity`)::

    task = "threshold"

    [material]                      # a preset of keldysh.materials (Xiao et al. 2012)
    name = "MoS2"                   #   MoS2 | WS2 | MoSe2 | WSe2
    # gap = "1.66 eV"               #   optional overrides: Δ, 2λ, a, Xiao's t or ħv = a t
    # spin_splitting = "150 meV"
    # lattice_constant = "3.193 angstrom"
    # dirac_hopping = "1.10 eV"     #   or hbar_v = "3.51 eV * angstrom" (not both)

    [drive]                         # circular light (σ+), keldysh.units for the conventions
    detuning = "10 meV"             #   photon energy above the A transition Δ - λ (at K+), or
    # photon_energy = "1.595 eV"
    pattern = "circular"            #   circular (default) | circular-abs | dichroic | valley
    max_intensity = "1e11 W/cm^2"   #   the search stops here (or max_field = "6 MV/cm")
    # min_intensity = "1e6 W/cm^2"  #   the lowest intensity tried (default max_intensity / 1e5)

    [baths]
    linewidth = "0.26 meV"          #   ħΓ_a, HWHM of the spectral function, both bands, or
    # lifetime = "1.3 ps"           #   the population lifetime τ = ħ/(2 ħΓ_a)
    temperature = "4 K"             #   default "0 K"
    # mu = "-0.26 meV"              #   chemical potential from the middle of the A gap at K+
                                    #   (default -(Γ1 + Γ2)/2 = -linewidth: the paper's choice)

    [interaction]                   # couplings in eV x unit cell, or as a ratio to the bandwidth
    V = "0 eV"                      #   or V_over_bandwidth = 0.0
    Vprime = "2.5 eV"               #   |V'|, or Vprime_over_bandwidth = 0.8
    phi = 0.0                       #   phase of V' (radians)

    [scan]                          # optional: one of the physical inputs above
    parameter = "linewidth"         #   linewidth | lifetime | detuning | photon_energy |
    values = ["0.26 meV", "2 meV"]  #   temperature | V | Vprime | V_over_bandwidth | Vprime_over_bandwidth

Conventions (docs/materials.md): energies in units of t_lat = :attr:`Material.t_eV`; Γ_a the
amplitude decay rate (spec §3), ħΓ_a = the linewidth (HWHM); circular light of peak field E0 has
I = c ε0 E0² and ħΩ_σ = e E0 |P_+(K+)| / (2 (Δ - σλ)) in sector σ; V and V' multiply the pair
sums per unit cell (Eqs. 8, 12), so they are energies (eV) times the unit-cell area
A_c = 3√3 d²/2; the bandwidth is that of one band of the spinless lattice model with δ = Δ,
W = sqrt(Δ²/4 + 9 t_lat²) - Δ/2.

Every table validates on construction and raises :class:`~.validation.ConfigError` naming the
key and the allowed range in the key's unit.  :class:`ThresholdPoint` is one point of a run in
engine units (the scan value applied), with the :class:`keldysh.nambu.SpinfulSystem` at a given
intensity.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from keldysh import units
from keldysh.baths import BathSet
from keldysh.lattice import DRIVE_PATTERNS
from keldysh.materials import PRESETS, Material, preset
from keldysh.nambu import DrivenSystem, SpinfulSystem

from .parameters import ENERGY_MAX, PHASE_MAX, RATE_RANGE
from .validation import ConfigError, number, set_field, show, string

__all__ = ["MaterialParams", "LaserParams", "MaterialBathParams", "CouplingParams", "ThresholdScanParams",
           "ThresholdPoint", "THRESHOLD_SCAN_PARAMETERS", "bandwidth_eV", "quantity"]

#: scan parameter -> (the table it replaces a key of, kind, canonical unit); None: a plain number
THRESHOLD_SCAN_PARAMETERS = {
    "linewidth": ("baths", "energy", "meV"),
    "lifetime": ("baths", "time", "fs"),
    "temperature": ("baths", "temperature", "K"),
    "detuning": ("drive", "energy", "meV"),
    "photon_energy": ("drive", "energy", "eV"),
    "V": ("interaction", "energy", "eV"),
    "Vprime": ("interaction", "energy", "eV"),
    "V_over_bandwidth": ("interaction", None, ""),
    "Vprime_over_bandwidth": ("interaction", None, ""),
}
#: keys that give the same quantity as a scan parameter (the scan forbids them all)
_SAME = {"linewidth": ("linewidth", "lifetime"), "lifetime": ("linewidth", "lifetime"),
         "detuning": ("detuning", "photon_energy"), "photon_energy": ("detuning", "photon_energy"),
         "temperature": ("temperature",), "V": ("V", "V_over_bandwidth"), "V_over_bandwidth": ("V", "V_over_bandwidth"),
         "Vprime": ("Vprime", "Vprime_over_bandwidth"), "Vprime_over_bandwidth": ("Vprime", "Vprime_over_bandwidth")}

#: ranges in the key's unit (what is physical and what the engine handles)
PHOTON_ENERGY_RANGE_EV = (1e-3, 10.0)
DETUNING_RANGE_MEV = (-1000.0, 1000.0)
LINEWIDTH_RANGE_MEV = (1e-4, 100.0)
LIFETIME_RANGE_FS = (1e-2, 1e10)
TEMPERATURE_RANGE_K = (0.0, 2000.0)
INTENSITY_RANGE = (1e-3, 1e16)        # W/cm^2
FIELD_RANGE = (1e-9, 1e4)             # MV/cm
COUPLING_MAX_EV = 1e3                 # |V|, |V'|
RATIO_MAX = 1e3                       # |V|/W, |V'|/W
MU_RANGE_MEV = (-1000.0, 1000.0)
#: material overrides: key -> (kind, unit, Material field, factor, range in the unit)
_OVERRIDES = {
    "gap": ("energy", "eV", "gap_eV", 1.0, (0.01, 10.0)),
    "spin_splitting": ("energy", "eV", "lambda_so_eV", 0.5, (0.0, 5.0)),
    "lattice_constant": ("length", "angstrom", "lattice_constant_angstrom", 1.0, (0.5, 20.0)),
    "dirac_hopping": ("energy", "eV", "dirac_hopping_eV", 1.0, (0.01, 100.0)),
    "hbar_v": ("energy_length", "eV * angstrom", None, 1.0, (0.01, 1000.0)),
}


def quantity(key: str, value: Any, kind: str, unit: str, lo: float | None = None, hi: float | None = None,
             *, open_lo: bool = False) -> float:
    """``value`` (a string with its unit, e.g. "0.26 meV") as a float in ``unit``, within
    [lo, hi] (``open_lo``: lo excluded); ConfigError naming ``key`` and the range otherwise."""
    if not isinstance(value, str):
        raise ConfigError(key, f"must be a quantity with its unit as a string, e.g. "
                               f"{_EXAMPLES.get(kind, '1 ' + unit)!r} (got {show(value)})")
    try:
        q = units.parse_quantity(value, kind, key)
    except ValueError as exc:
        raise ConfigError(key, str(exc).split(": ", 1)[-1]) from None
    x = float(q.to(unit).magnitude)
    too_low = lo is not None and (x <= lo if open_lo else x < lo)
    if too_low or (hi is not None and x > hi):
        left = "(" if open_lo else "["
        raise ConfigError(key, f"must be within {left}{lo:g}, {hi:g}] {unit} (got {show(value)} = {x:g} {unit})")
    return x


_EXAMPLES = {"energy": "10 meV", "temperature": "4 K", "time": "500 fs", "field": "2 MV/cm",
             "intensity": "1e9 W/cm^2", "length": "3.19 angstrom", "energy_length": "3.51 eV * angstrom"}


def _one_of(table: str, obj, names: tuple[str, str], required: bool, scanned: str | None = None) -> str | None:
    """The one of two alternative keys that is given (both: error; none: error if required)."""
    given = [n for n in names if getattr(obj, n) is not None]
    if len(given) == 2:
        raise ConfigError(f"{table}.{given[1]}", f"give either {table}.{names[0]} or {table}.{names[1]}, not both")
    if not given and required and scanned not in names:
        raise ConfigError(f"{table}.{names[0]}", f"required: {table}.{names[0]} or {table}.{names[1]}")
    return given[0] if given else None


def bandwidth_eV(material: Material) -> float:
    """W = sqrt(Δ²/4 + 9 t_lat²) - Δ/2: the width of one band of the spinless lattice model
    with δ = Δ (eV); the unit of the *_over_bandwidth couplings."""
    return math.sqrt(material.gap_eV**2 / 4 + 9 * material.t_eV**2) - material.gap_eV / 2


# -------------------------------------------------------------------------------------------
# the tables


@dataclass(frozen=True)
class MaterialParams:
    """[material]: a preset ``name`` (MoS2, WS2, MoSe2, WSe2; case-insensitive, stored as the
    preset's name) and optional overrides with units: ``gap`` (Δ), ``spin_splitting`` (2λ),
    ``lattice_constant`` (a), ``dirac_hopping`` (Xiao's t) or ``hbar_v`` (ħv = a t)."""

    name: str | None = None
    gap: str | None = None
    spin_splitting: str | None = None
    lattice_constant: str | None = None
    dirac_hopping: str | None = None
    hbar_v: str | None = None

    def __post_init__(self):
        if self.name is None:
            raise ConfigError("material.name", f"required (one of {', '.join(map(repr, PRESETS))})")
        name = string("material.name", self.name)
        try:
            set_field(self, "name", preset(name).name)
        except ValueError:
            raise ConfigError("material.name", f"must be one of {', '.join(map(repr, PRESETS))} "
                                               f"(got {show(name)})") from None
        _one_of("material", self, ("dirac_hopping", "hbar_v"), required=False)
        for key, (kind, unit, _, _, (lo, hi)) in _OVERRIDES.items():
            if getattr(self, key) is not None:
                quantity(f"material.{key}", getattr(self, key), kind, unit, lo, hi,
                         open_lo=key != "spin_splitting")
        self.material()  # the combination (e.g. λ < Δ) is checked by keldysh.materials

    def material(self) -> Material:
        """The :class:`Material`: the preset with the overrides applied (recorded in its source)."""
        base = preset(self.name)
        changes: dict[str, float] = {}
        for key, (kind, unit, attr, factor, _) in _OVERRIDES.items():
            value = getattr(self, key)
            if value is None:
                continue
            x = float(units.parse_quantity(value, kind, f"material.{key}").to(unit).magnitude)
            if key == "hbar_v":
                a = changes.get("lattice_constant_angstrom", base.lattice_constant_angstrom)
                changes["dirac_hopping_eV"] = x / a
            else:
                changes[attr] = factor * x
        try:
            return base.overrides(**changes)
        except ValueError as exc:
            text = str(exc).split(": ", 1)[-1]  # "<field> must ...": the key of that field
            attr = text.split(" ", 1)[0]
            key = next((k for k, spec in _OVERRIDES.items() if spec[2] == attr), "gap")
            if key == "dirac_hopping" and self.hbar_v is not None:
                key = "hbar_v"
            raise ConfigError(f"material.{key}", text) from None


@dataclass(frozen=True)
class LaserParams:
    """[drive] of a threshold run: ``photon_energy`` or ``detuning`` (from the A transition
    Δ - λ at K+), ``pattern`` (default "circular": σ+ light on the whole zone, spec §9), the
    intensity range searched: ``max_intensity`` or ``max_field`` (peak field of circular light,
    I = c ε0 E0²), ``min_intensity`` or ``min_field`` (default max_intensity / 1e5)."""

    photon_energy: str | None = None
    detuning: str | None = None
    pattern: str = "circular"
    max_intensity: str | None = None
    max_field: str | None = None
    min_intensity: str | None = None
    min_field: str | None = None

    def __post_init__(self):
        set_field(self, "pattern", string("drive.pattern", self.pattern, DRIVE_PATTERNS))
        _one_of("drive", self, ("photon_energy", "detuning"), required=False)
        if self.photon_energy is not None:
            quantity("drive.photon_energy", self.photon_energy, "energy", "eV", *PHOTON_ENERGY_RANGE_EV,
                     open_lo=True)
        if self.detuning is not None:
            quantity("drive.detuning", self.detuning, "energy", "meV", *DETUNING_RANGE_MEV)
        _one_of("drive", self, ("max_intensity", "max_field"), required=True)
        _one_of("drive", self, ("min_intensity", "min_field"), required=False)
        lo, hi = self.intensity_range()
        if not lo < hi:
            key = "drive.min_intensity" if self.min_intensity is not None else "drive.min_field"
            raise ConfigError(key, f"must be below the maximum ({hi:g} W/cm^2; got {lo:g} W/cm^2)")

    def _intensity(self, intensity_key: str, field_key: str) -> float | None:
        if getattr(self, intensity_key) is not None:
            return quantity(f"drive.{intensity_key}", getattr(self, intensity_key), "intensity", "W/cm^2",
                            *INTENSITY_RANGE)
        if getattr(self, field_key) is not None:
            E0 = quantity(f"drive.{field_key}", getattr(self, field_key), "field", "MV/cm", *FIELD_RANGE)
            return float(units.field_to_intensity(units.ureg.Quantity(float(E0), "MV/cm")).to("W/cm^2").magnitude)
        return None

    def intensity_range(self) -> tuple[float, float]:
        """(I_min, I_max) in W/cm²."""
        hi = self._intensity("max_intensity", "max_field")
        lo = self._intensity("min_intensity", "min_field")
        return (hi / 1e5 if lo is None else lo), hi


@dataclass(frozen=True)
class MaterialBathParams:
    """[baths] of a threshold run: ``linewidth`` (ħΓ_a of both bands, the HWHM of the spectral
    function) or ``lifetime`` (population lifetime τ, Γ_a = 1/(2τ)), ``temperature`` (K) and
    ``mu`` (from the middle of the A gap at K+; None -> -(Γ1 + Γ2)/2 = -linewidth).  The
    temperature is filled in as "0 K" unless a scan sets it."""

    linewidth: str | None = None
    lifetime: str | None = None
    temperature: str | None = None
    mu: str | None = None

    def __post_init__(self):
        _one_of("baths", self, ("linewidth", "lifetime"), required=False)
        if self.linewidth is not None:
            quantity("baths.linewidth", self.linewidth, "energy", "meV", *LINEWIDTH_RANGE_MEV)
        if self.lifetime is not None:
            quantity("baths.lifetime", self.lifetime, "time", "fs", *LIFETIME_RANGE_FS)
        if self.temperature is not None:
            quantity("baths.temperature", self.temperature, "temperature", "K", *TEMPERATURE_RANGE_K)
        if self.mu is not None:
            quantity("baths.mu", self.mu, "energy", "meV", *MU_RANGE_MEV)


@dataclass(frozen=True)
class CouplingParams:
    """[interaction] of a threshold run: ``V`` (eV x unit cell) or ``V_over_bandwidth``
    (default 0), ``Vprime`` = |V'| or ``Vprime_over_bandwidth``, and ``phi``, the phase of V'."""

    V: str | None = None
    V_over_bandwidth: float | None = None
    Vprime: str | None = None
    Vprime_over_bandwidth: float | None = None
    phi: float = 0.0

    def __post_init__(self):
        _one_of("interaction", self, ("V", "V_over_bandwidth"), required=False)
        _one_of("interaction", self, ("Vprime", "Vprime_over_bandwidth"), required=False)
        if self.V is not None:
            quantity("interaction.V", self.V, "energy", "eV", -COUPLING_MAX_EV, COUPLING_MAX_EV)
        if self.Vprime is not None:
            quantity("interaction.Vprime", self.Vprime, "energy", "eV", 0.0, COUPLING_MAX_EV)
        if self.V_over_bandwidth is not None:
            set_field(self, "V_over_bandwidth", number("interaction.V_over_bandwidth", self.V_over_bandwidth,
                                                       domain=(-RATIO_MAX, RATIO_MAX)))
        if self.Vprime_over_bandwidth is not None:
            set_field(self, "Vprime_over_bandwidth", number("interaction.Vprime_over_bandwidth",
                                                            self.Vprime_over_bandwidth, ge=0, domain=(0, RATIO_MAX)))
        set_field(self, "phi", number("interaction.phi", self.phi, domain=(-PHASE_MAX, PHASE_MAX)))


_RANGES = {"linewidth": LINEWIDTH_RANGE_MEV, "lifetime": LIFETIME_RANGE_FS, "temperature": TEMPERATURE_RANGE_K,
           "detuning": DETUNING_RANGE_MEV, "photon_energy": PHOTON_ENERGY_RANGE_EV,
           "V": (-COUPLING_MAX_EV, COUPLING_MAX_EV), "Vprime": (0.0, COUPLING_MAX_EV)}


@dataclass(frozen=True)
class ThresholdScanParams:
    """[scan] of a threshold run: ``parameter`` (:data:`THRESHOLD_SCAN_PARAMETERS`) and its
    ``values``: strings with units (numbers for the *_over_bandwidth ratios), strictly
    monotonic.  :attr:`magnitudes` holds them in the canonical unit of the parameter (meV for
    linewidth and detuning, fs, K, eV for photon_energy, V and Vprime)."""

    parameter: str | None = None
    values: tuple | None = None

    def __post_init__(self):
        if self.parameter is None:
            raise ConfigError("scan.parameter", f"required (one of {', '.join(map(repr, THRESHOLD_SCAN_PARAMETERS))})")
        parameter = string("scan.parameter", self.parameter, tuple(THRESHOLD_SCAN_PARAMETERS))
        _, kind, unit = THRESHOLD_SCAN_PARAMETERS[parameter]
        values = self.values
        if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)) or len(values) == 0:
            raise ConfigError("scan.values", f"must be a non-empty list (got {show(values)})")
        if len(values) > 1000:
            raise ConfigError("scan.values", f"must have at most 1000 entries (got {len(values)})")
        mags = []
        for i, v in enumerate(values):
            key = f"scan.values[{i}]"
            if kind is None:
                bounds = {"ge": 0} if parameter.startswith("Vprime") else {}
                mags.append(number(key, v, domain=(-RATIO_MAX, RATIO_MAX), **bounds))
            else:
                lo, hi = _RANGES[parameter]
                mags.append(quantity(key, v, kind, unit, lo, hi,
                                     open_lo=parameter in ("linewidth", "lifetime", "photon_energy")))
        steps = np.diff(mags)
        if steps.size and not (np.all(steps > 0) or np.all(steps < 0)):
            raise ConfigError("scan.values", f"must be strictly increasing or decreasing (got {show(list(values))})")
        set_field(self, "parameter", parameter)
        set_field(self, "values", tuple(float(v) if kind is None else v for v in values))

    def __len__(self) -> int:
        return len(self.values)

    @property
    def magnitudes(self) -> np.ndarray:
        """The values as numbers in :attr:`unit`."""
        _, kind, unit = THRESHOLD_SCAN_PARAMETERS[self.parameter]
        if kind is None:
            return np.asarray(self.values, dtype=float)
        return np.array([units.parse_quantity(v, kind).to(unit).magnitude for v in self.values], dtype=float)

    @property
    def unit(self) -> str:
        return THRESHOLD_SCAN_PARAMETERS[self.parameter][2]


def check_threshold_tables(material: MaterialParams | None, drive: LaserParams | None,
                           baths: MaterialBathParams | None, interaction: CouplingParams | None,
                           scan: ThresholdScanParams | None) -> None:
    """The checks of a threshold run that involve several tables (required tables, a scanned
    key not also given, the photon energy above zero, couplings and linewidths in the engine's
    domain once converted to units of t)."""
    for name, table in (("material", material), ("drive", drive), ("baths", baths), ("interaction", interaction)):
        if table is None:
            raise ConfigError(name, f"required by task 'threshold' ([{name}] table; see docs/materials.md)")
    scanned = scan.parameter if scan is not None else None
    if scanned is not None:
        table = THRESHOLD_SCAN_PARAMETERS[scanned][0]
        obj = {"drive": drive, "baths": baths, "interaction": interaction}[table]
        for key in _SAME[scanned]:
            if getattr(obj, key) is not None:
                raise ConfigError(f"{table}.{key}", f"set by the scan (scan.parameter = {scanned!r}); remove it")
    if scanned != "temperature" and baths.temperature is None:
        set_field(baths, "temperature", "0 K")
    _one_of("drive", drive, ("photon_energy", "detuning"), required=True, scanned=scanned)
    _one_of("baths", baths, ("linewidth", "lifetime"), required=True, scanned=scanned)
    _one_of("interaction", interaction, ("Vprime", "Vprime_over_bandwidth"), required=True, scanned=scanned)
    values = scan.values if scan is not None else (None,)
    for value in values:
        ThresholdPoint.build(material, drive, baths, interaction, scanned, value)


# -------------------------------------------------------------------------------------------
# one point in engine units


@dataclass(frozen=True)
class ThresholdPoint:
    """One point of a threshold run, in laboratory and in engine units (t = ``material.t_eV``).

    Laboratory: ``photon_energy_eV``, ``detuning_meV`` (from the A transition Δ - λ at K+),
    ``linewidth_meV`` (ħΓ_a, both bands), ``temperature_K``, ``mu_meV`` (from the middle of the A
    gap), ``V_eV``, ``Vprime_eV``, ``phi``, ``intensity_range`` (W/cm²).  Engine: ``omega0``,
    ``Gamma`` (Γ1 = Γ2), ``mu`` (from the engine's zero of energy: μ = λ/2 + mu_meV), ``T``, ``V``,
    ``Vprime``.  :meth:`system` is the :class:`SpinfulSystem` at an intensity."""

    material: Material
    pattern: str
    photon_energy_eV: float
    detuning_meV: float
    linewidth_meV: float
    temperature_K: float
    mu_meV: float
    V_eV: float
    Vprime_eV: float
    phi: float
    intensity_range: tuple

    @property
    def t_eV(self) -> float:
        return self.material.t_eV

    @property
    def omega0(self) -> float:
        return self.photon_energy_eV / self.t_eV

    @property
    def Gamma(self) -> float:
        """Γ_a = Γ1 = Γ2 (units of t): the pair decoherence rate is 2Γ_a."""
        return self.linewidth_meV * 1e-3 / self.t_eV

    @property
    def mu(self) -> float:
        return (self.material.lambda_so_eV / 2 + self.mu_meV * 1e-3) / self.t_eV

    @property
    def T(self) -> float:
        return units.temperature_to_t(units.ureg.Quantity(float(self.temperature_K), "K"), self.material)

    @property
    def V(self) -> float:
        return self.V_eV / self.t_eV

    @property
    def Vprime(self) -> float:
        return self.Vprime_eV / self.t_eV

    def rabi(self, intensity: float) -> tuple[float, float]:
        """(Ω_A, Ω_B) in units of t of circular light of ``intensity`` (W/cm²)."""
        return tuple(units.intensity_to_rabi(units.ureg.Quantity(float(intensity), "W/cm^2"), self.material, s) for s in (1, -1))

    def system(self, intensity: float) -> SpinfulSystem:
        """The two sectors (σ = +1: A, σ = -1: B) at ``intensity`` (W/cm²), same baths and μ."""
        baths = BathSet.paper(self.Gamma, self.Gamma, self.mu, self.T)
        return SpinfulSystem(tuple(DrivenSystem(self.material.model(s), self.omega0, Om, baths, self.mu, self.pattern)
                                   for s, Om in zip((1, -1), self.rabi(intensity))))

    def record(self) -> dict[str, float]:
        """The point's parameters for the results file (laboratory and engine units)."""
        return {"photon_energy_eV": self.photon_energy_eV, "detuning_meV": self.detuning_meV,
                "linewidth_meV": self.linewidth_meV, "temperature_K": self.temperature_K, "mu_meV": self.mu_meV,
                "V_eV": self.V_eV, "Vprime_eV": self.Vprime_eV, "phi": self.phi,
                "V_over_bandwidth": self.V_eV / bandwidth_eV(self.material),
                "Vprime_over_bandwidth": self.Vprime_eV / bandwidth_eV(self.material),
                "omega0_t": self.omega0, "Gamma_t": self.Gamma, "mu_t": self.mu, "T_t": self.T,
                "V_t": self.V, "Vprime_t": self.Vprime}

    @classmethod
    def build(cls, material_params: MaterialParams, drive: LaserParams, baths: MaterialBathParams,
              interaction: CouplingParams, parameter: str | None = None, value=None) -> "ThresholdPoint":
        """The point with the scan ``parameter`` set to ``value`` (as in [scan] values)."""
        material = material_params.material()
        W = bandwidth_eV(material)
        gap_A = material.gap_A_eV

        def given(key, table, obj):
            if parameter == key:
                return value, f"scan.values ({key})"
            return getattr(obj, key), f"{table}.{key}"

        # photon energy
        v, key = given("photon_energy", "drive", drive)
        if v is not None:
            E = quantity(key, v, "energy", "eV", *PHOTON_ENERGY_RANGE_EV, open_lo=True)
        else:
            v, key = given("detuning", "drive", drive)
            E = gap_A + 1e-3 * quantity(key, v, "energy", "meV", *DETUNING_RANGE_MEV)
            if not E > PHOTON_ENERGY_RANGE_EV[0]:
                raise ConfigError(key, f"the photon energy A + detuning = {E:g} eV must be > 0 "
                                       f"(A transition {gap_A:g} eV)")
        # linewidth
        v, key = given("linewidth", "baths", baths)
        if v is not None:
            lw = quantity(key, v, "energy", "meV", *LINEWIDTH_RANGE_MEV, open_lo=True)
        else:
            v, key = given("lifetime", "baths", baths)
            tau = quantity(key, v, "time", "fs", *LIFETIME_RANGE_FS, open_lo=True)
            lw = float(units.t_to_linewidth(units.lifetime_to_t(units.ureg.Quantity(float(tau), "fs"), material), material).magnitude)
        gamma_t = lw * 1e-3 / material.t_eV
        if not RATE_RANGE[0] <= gamma_t <= RATE_RANGE[1]:
            lo, hi = (x * material.t_eV * 1e3 for x in RATE_RANGE)
            raise ConfigError(key, f"the linewidth {lw:g} meV is outside the range the engine handles for "
                                   f"{material.name}, [{lo:g}, {hi:g}] meV")
        v, key = given("temperature", "baths", baths)
        T = quantity(key, v, "temperature", "K", *TEMPERATURE_RANGE_K)
        mu = -lw if baths.mu is None else quantity("baths.mu", baths.mu, "energy", "meV", *MU_RANGE_MEV)

        def coupling(name, lo):
            v, key = given(name, "interaction", interaction)
            if v is not None:
                return quantity(key, v, "energy", "eV", lo, COUPLING_MAX_EV)
            v, key = given(f"{name}_over_bandwidth", "interaction", interaction)
            return 0.0 if v is None else float(v) * W

        V, Vp = coupling("V", -COUPLING_MAX_EV), coupling("Vprime", 0.0)
        for name, x in (("V", V), ("Vprime", Vp)):
            if abs(x) / material.t_eV > ENERGY_MAX:
                raise ConfigError(f"interaction.{name}", f"|{name}| = {abs(x):g} eV is beyond the range the engine "
                                                         f"handles, {ENERGY_MAX * material.t_eV:g} eV")
        return cls(material, drive.pattern, float(E), float(1e3 * (E - gap_A)), float(lw), float(T), float(mu),
                   float(V), float(Vp), float(interaction.phi), drive.intensity_range())
