"""Physical units: parse quantities with pint and convert to and from the engine's units.

The engine works with ħ = k_B = 1, lengths in the nearest-neighbour distance d and
energies in the honeycomb hopping t (spec, "Units").  For a material preset
(:mod:`keldysh.materials`) t = :attr:`Material.t_eV` and d =
:attr:`Material.nn_distance_angstrom`.  One :data:`ureg` (a ``pint.UnitRegistry``)
serves the whole package; quantities from another registry are rejected.

Conventions
-----------
* Linewidth: ħΓ_a, with Γ_a the decay rate of the single-particle AMPLITUDE (spec §3),
  is the half width at half maximum of the Lorentzian spectral function
  A(ω) = 2Γ_a / ((ω - ε)² + Γ_a²).  Populations relax at 2Γ_a, so the population
  lifetime is τ_pop = 1/(2Γ_a), i.e. Γ_a = ħ/(2 τ_pop) (:func:`lifetime_to_t`).
* Circular light: E(t) = E0 (cos ωt, ς sin ωt), E0 = |E(t)| the (constant) peak field,
  intensity I = c ε0 E0² (vacuum, no local-field or substrate factors).  Write
  E(t) = (E0/2) [(x̂ + iς ŷ) e^{-iωt} + c.c.].  In the length gauge the electron
  (charge -e) couples as H' = e E·r, with interband position r_21 = -i P_21/(E_2 - E_1)
  (from [r, H] = i ∂H/∂k, P = <u_2|∂H/∂k|u_1>).  The absorbing term
  Ω_k e^{-iωt} c†_2 c_1 of spec §2 therefore has
  Ω_k = -i e (E0/2) (P_x + iς P_y)/(E_2 - E_1) = -i e E0 P_ς / (2 (E_2 - E_1)):
  the component ς = +1, E0 (cos ωt, +sin ωt), couples through P_+ and is the spec's
  σ+ light (absorbed in K+).  Its Rabi energy at the K+ centre is

      ħΩ = e E0 |P_+(K+)| / (2 (E_2 - E_1)(K+)),

  which on the lattice (|P_+(K+)| = 3 t d) and in the Dirac limit is
  e E0 ħv / Δ_gap: the dipole length is ħv/Δ_gap (2.116 Å for MoS2, 21.16 meV per
  MV/cm).  Δ_gap = Δ for the spinless model, Δ - σλ for sector σ.
"""
from __future__ import annotations

import math

import numpy as np
import pint

from .materials import Material

__all__ = [
    "ureg",
    "parse_quantity",
    "energy_to_t",
    "t_to_energy",
    "temperature_to_t",
    "t_to_temperature",
    "linewidth_to_t",
    "t_to_linewidth",
    "lifetime_to_t",
    "t_to_lifetime",
    "dipole_length",
    "rabi_energy_dirac",
    "field_to_rabi",
    "rabi_to_field",
    "field_to_intensity",
    "intensity_to_field",
    "intensity_per_field_squared",
    "rabi_to_intensity",
    "intensity_to_rabi",
]

#: the package's unit registry
ureg = pint.UnitRegistry()

#: kind -> (canonical unit, description with an example)
_KINDS = {
    "energy": ("eV", "an energy, e.g. '20 meV'"),
    "temperature": ("K", "a temperature in kelvin, e.g. '10 K'"),
    "time": ("fs", "a time, e.g. '500 fs'"),
    "field": ("MV/cm", "an electric field, e.g. '2 MV/cm'"),
    "intensity": ("W/cm^2", "an intensity, e.g. '1e9 W/cm^2'"),
    "length": ("angstrom", "a length, e.g. '3.19 angstrom'"),
    "energy_length": ("eV * angstrom", "an energy times a length, e.g. '3.51 eV * angstrom'"),
}

_E = ureg.Quantity(1, "elementary_charge")
_KB = ureg.Quantity(1, "boltzmann_constant")
_HBAR = ureg.Quantity(1, "hbar")
_C_EPS0 = ureg.Quantity(1, "speed_of_light") * ureg.Quantity(1, "vacuum_permittivity")


def parse_quantity(value, kind: str, key: str = "value") -> pint.Quantity:
    """Parse ``value`` (a string such as "2 MV/cm", or a Quantity of :data:`ureg`).

    ``kind`` is one of energy, temperature, time, field, intensity, length, energy_length
    (ħv).  Raises
    ValueError naming ``key`` and the expected dimension when the value has no unit,
    the wrong dimension, cannot be parsed, or is not finite.
    """
    if kind not in _KINDS:
        raise ValueError(f"kind: must be one of {sorted(_KINDS)}, got {kind!r}")
    unit, description = _KINDS[kind]
    if isinstance(value, ureg.Quantity):
        q = value
    elif isinstance(value, pint.Quantity):
        raise ValueError(f"{key}: {value!r} belongs to another pint registry; use keldysh.units.ureg")
    elif isinstance(value, str):
        try:
            q = ureg.Quantity(value)
        except Exception as exc:  # pint raises many types (even AssertionError) on bad input
            reason = str(exc) or type(exc).__name__
            raise ValueError(f"{key}: cannot parse {value!r} as {description} ({reason})") from exc
    else:
        raise ValueError(f"{key}: expected {description}, given as a string with its unit; "
                         f"got {value!r}")
    if not isinstance(q, ureg.Quantity) or not q.check(ureg.Quantity(1, unit).dimensionality):
        dim = q.dimensionality if isinstance(q, ureg.Quantity) else "dimensionless"
        raise ValueError(f"{key}: expected {description} (dimension "
                         f"{ureg.Quantity(1, unit).dimensionality}), got {value!r} of dimension {dim}")
    if not np.all(np.isfinite(q.magnitude)):
        raise ValueError(f"{key}: must be finite, got {value!r}")
    return q


def _magnitude(value, kind, unit, key) -> float:
    return parse_quantity(value, kind, key).to(unit).magnitude


# -- energies, temperatures, linewidths -------------------------------------
def energy_to_t(value, material: Material, key: str = "energy") -> float:
    """An energy in units of t = :attr:`Material.t_eV`."""
    return _magnitude(value, "energy", "eV", key) / material.t_eV


def t_to_energy(x: float, material: Material) -> pint.Quantity:
    """x t as an energy in eV."""
    return ureg.Quantity(x * material.t_eV, "eV")


def temperature_to_t(value, material: Material, key: str = "T") -> float:
    """k_B T in units of t."""
    kT = (ureg.Quantity(_magnitude(value, "temperature", "K", key), "K") * _KB).to("eV").magnitude
    return kT / material.t_eV


def t_to_temperature(x: float, material: Material) -> pint.Quantity:
    """The temperature T with k_B T = x t, in K."""
    return (ureg.Quantity(x * material.t_eV, "eV") / _KB).to("K")


def linewidth_to_t(value, material: Material, key: str = "Gamma") -> float:
    """Γ_a in units of t from ħΓ_a = HWHM of the spectral function (an energy)."""
    return energy_to_t(value, material, key)


def t_to_linewidth(Gamma: float, material: Material) -> pint.Quantity:
    """ħΓ_a (HWHM of the spectral function) in meV for Γ_a = Gamma t."""
    return t_to_energy(Gamma, material).to("meV")


def lifetime_to_t(value, material: Material, key: str = "tau") -> float:
    """Γ_a in units of t from the population lifetime τ_pop = 1/(2Γ_a): Γ_a = ħ/(2 τ_pop)."""
    tau = ureg.Quantity(_magnitude(value, "time", "fs", key), "fs")
    if tau.magnitude <= 0:
        raise ValueError(f"{key}: a lifetime must be > 0, got {value!r}")
    return (_HBAR / (2 * tau)).to("eV").magnitude / material.t_eV


def t_to_lifetime(Gamma: float, material: Material) -> pint.Quantity:
    """The population lifetime τ_pop = ħ/(2 ħΓ_a) in fs for Γ_a = Gamma t."""
    if not Gamma > 0:
        raise ValueError(f"Gamma: must be > 0, got {Gamma!r}")
    return (_HBAR / (2 * ureg.Quantity(Gamma * material.t_eV, "eV"))).to("fs")


# -- light --------------------------------------------------------------------
def _gap_eV(material: Material, sigma) -> float:
    return material.gap_eV if sigma is None else material.sector_gap_eV(sigma)


def dipole_length(material: Material, sigma: int | None = None) -> pint.Quantity:
    """Dirac-limit interband dipole length ħv/Δ_gap at K+ (Å); Δ_gap = Δ or Δ - σλ."""
    return ureg.Quantity(material.hbar_v_eV_angstrom / _gap_eV(material, sigma), "angstrom")


def rabi_energy_dirac(E0, material: Material, sigma: int | None = None,
                      key: str = "E0") -> pint.Quantity:
    """Dirac-limit Rabi energy ħΩ = e E0 ħv / Δ_gap (meV) of circular light of peak field E0."""
    field = parse_quantity(E0, "field", key)
    return (_E * field * dipole_length(material, sigma)).to("meV")


def _lattice_coupling_eV_angstrom(material: Material, sigma) -> float:
    """|P_+(K+)| / (2 (E_2 - E_1)(K+)) of the lattice model, in Å (the e E0 coefficient)."""
    model = material.model(sigma)
    kp = model.valley_centres()["K+"]
    pp, _ = model.velocity_elements(kp)
    e1, e2 = model.bands(kp)
    # engine units: P in t d, energies in t  ->  ratio in units of d
    return float(abs(pp) / (2 * (e2 - e1))) * material.nn_distance_angstrom


def field_to_rabi(E0, material: Material, sigma: int | None = None, key: str = "E0") -> float:
    """ħΩ / t = e E0 |P_+(K+)| / (2 (E_2 - E_1)(K+)) / t, from the lattice model.

    ``sigma=None``: spinless model (gap Δ); ``sigma=±1``: that spin-orbit sector.
    """
    field = parse_quantity(E0, "field", key).to("V/angstrom").magnitude
    return field * _lattice_coupling_eV_angstrom(material, sigma) / material.t_eV


def rabi_to_field(Omega: float, material: Material, sigma: int | None = None) -> pint.Quantity:
    """Peak field E0 (MV/cm) whose lattice Rabi energy is ħΩ = Omega t (inverse of :func:`field_to_rabi`)."""
    if not np.isfinite(Omega) or Omega < 0:
        raise ValueError(f"Omega: must be finite and >= 0, got {Omega!r}")
    field = Omega * material.t_eV / _lattice_coupling_eV_angstrom(material, sigma)
    return ureg.Quantity(field, "V/angstrom").to("MV/cm")


def intensity_per_field_squared() -> pint.Quantity:
    """c ε0 in (GW/cm²) per (MV/cm)²: I = c ε0 E0² for circular light of peak field E0."""
    return (_C_EPS0 * ureg.Quantity(1, "MV/cm") ** 2).to("GW/cm^2")


def field_to_intensity(E0, key: str = "E0") -> pint.Quantity:
    """I = c ε0 E0² (W/cm²) of circular light of peak field E0 = |E|."""
    field = parse_quantity(E0, "field", key)
    return (_C_EPS0 * field**2).to("W/cm^2")


def intensity_to_field(intensity, key: str = "I") -> pint.Quantity:
    """E0 = sqrt(I / (c ε0)) (MV/cm), inverse of :func:`field_to_intensity`."""
    q = parse_quantity(intensity, "intensity", key)
    if q.magnitude < 0:
        raise ValueError(f"{key}: an intensity must be >= 0, got {intensity!r}")
    return ureg.Quantity(math.sqrt((q / _C_EPS0).to("V^2/cm^2").magnitude), "V/cm").to("MV/cm")


def rabi_to_intensity(Omega: float, material: Material, sigma: int | None = None) -> pint.Quantity:
    """Intensity (W/cm²) of circular light whose lattice Rabi energy is Omega t."""
    return field_to_intensity(rabi_to_field(Omega, material, sigma))


def intensity_to_rabi(intensity, material: Material, sigma: int | None = None,
                      key: str = "I") -> float:
    """Lattice Rabi energy ħΩ / t of circular light of intensity I."""
    return field_to_rabi(intensity_to_field(intensity, key), material, sigma)
