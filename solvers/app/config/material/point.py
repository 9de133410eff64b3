"""One point of a threshold run in engine units (ThresholdPoint) and the checks across the tables."""
from __future__ import annotations

from dataclasses import dataclass

from keldysh import units
from keldysh.baths import BathSet
from keldysh.materials import Material
from keldysh.nambu import DrivenSystem, SpinfulSystem

from ..parameters import ENERGY_MAX, RATE_RANGE
from ..validation import ConfigError, set_field
from .quantities import (_SAME, COUPLING_MAX_EV, DETUNING_RANGE_MEV, LIFETIME_RANGE_FS, LINEWIDTH_RANGE_MEV,
                         MU_RANGE_MEV, PHOTON_ENERGY_RANGE_EV, TEMPERATURE_RANGE_K, THRESHOLD_SCAN_PARAMETERS,
                         _one_of, bandwidth_eV, quantity)
from .tables import CouplingParams, LaserParams, MaterialBathParams, MaterialParams, ThresholdScanParams


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
