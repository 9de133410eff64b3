"""The tables of a threshold run: [material], [drive], [baths], [interaction] and [scan] in laboratory units."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from keldysh import units
from keldysh.lattice import DRIVE_PATTERNS
from keldysh.materials import PRESETS, Material, preset

from ..parameters import PHASE_MAX
from ..validation import ConfigError, number, set_field, show, string
from .quantities import (_OVERRIDES, COUPLING_MAX_EV, DETUNING_RANGE_MEV, FIELD_RANGE, INTENSITY_RANGE,
                         LIFETIME_RANGE_FS, LINEWIDTH_RANGE_MEV, MU_RANGE_MEV, PHOTON_ENERGY_RANGE_EV,
                         RATIO_MAX, TEMPERATURE_RANGE_K, THRESHOLD_SCAN_PARAMETERS, _one_of, quantity)


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
