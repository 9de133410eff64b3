"""Quantities with units of a threshold run: scan parameters, ranges, parsing with pint and the bandwidth."""
from __future__ import annotations

import math
from typing import Any

from keldysh import units
from keldysh.materials import Material

from ..validation import ConfigError, show

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
