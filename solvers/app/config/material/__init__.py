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

from .point import ThresholdPoint, check_threshold_tables
from .quantities import (_EXAMPLES, _OVERRIDES, _SAME, COUPLING_MAX_EV, DETUNING_RANGE_MEV, FIELD_RANGE,
                         INTENSITY_RANGE, LIFETIME_RANGE_FS, LINEWIDTH_RANGE_MEV, MU_RANGE_MEV,
                         PHOTON_ENERGY_RANGE_EV, RATIO_MAX, TEMPERATURE_RANGE_K, THRESHOLD_SCAN_PARAMETERS,
                         _one_of, bandwidth_eV, quantity)
from .tables import (_RANGES, CouplingParams, LaserParams, MaterialBathParams, MaterialParams,
                     ThresholdScanParams)

__all__ = ["MaterialParams", "LaserParams", "MaterialBathParams", "CouplingParams", "ThresholdScanParams",
           "ThresholdPoint", "THRESHOLD_SCAN_PARAMETERS", "bandwidth_eV", "quantity"]
