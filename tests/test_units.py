"""Physical units and conversions to the engine's units (spec §2, §3, §9).

Hand values use CODATA 2018: k_B = 8.617333262e-5 eV/K, ħ = 6.582119569e-16 eV s,
c ε0 = 2.6544187e-3 S.
"""
import numpy as np
import pint
import pytest

from keldysh import units
from keldysh.lattice import HoneycombModel
from keldysh.materials import PRESETS, SpinSectorModel, preset

MOS2 = preset("MoS2")
T_MOS2 = 2 * 1.10 / np.sqrt(3)          # t_lat of MoS2 by hand, eV


@pytest.mark.parametrize("text,kind,unit,value", [
    ("1.9 eV", "energy", "eV", 1.9),
    ("20 meV", "energy", "eV", 0.020),
    ("2 MV/cm", "field", "V/m", 2e8),
    ("1e9 W/cm^2", "intensity", "W/m^2", 1e13),
    ("500 fs", "time", "s", 5e-13),
    ("1.2 ps", "time", "s", 1.2e-12),
    ("10 K", "temperature", "K", 10.0),
    ("3.19 angstrom", "length", "nm", 0.319),
])
def test_parse_examples(text, kind, unit, value):
    q = units.parse_quantity(text, kind, key="x")
    assert q.to(unit).magnitude == pytest.approx(value, rel=1e-12)
    # a Quantity of the package registry passes through
    assert units.parse_quantity(q, kind, key="x") is q


@pytest.mark.parametrize("value,kind,message", [
    ("1.9 eV", "field", r"drive\.E0: expected an electric field.*got '1.9 eV'"),
    ("2 MV/cm", "energy", r"drive\.E0: expected an energy"),
    ("1.9", "energy", r"drive\.E0: expected an energy.*dimensionless"),
    (1.9, "energy", r"drive\.E0: expected an energy.*given as a string with its unit"),
    ("foo eV", "energy", r"drive\.E0: cannot parse 'foo eV'"),
    ("1 +", "energy", r"drive\.E0: cannot parse"),
    ("10 degC", "temperature", r"drive\.E0: cannot parse '10 degC' as a temperature in kelvin"),
    ("nan eV", "energy", r"drive\.E0: must be finite"),
])
def test_parse_errors_name_the_key_and_the_dimension(value, kind, message):
    with pytest.raises(ValueError, match=message):
        units.parse_quantity(value, kind, key="drive.E0")


def test_parse_rejects_other_registries_and_unknown_kinds():
    other = pint.UnitRegistry()
    with pytest.raises(ValueError, match="another pint registry"):
        units.parse_quantity(other.Quantity(1.0, "eV"), "energy", key="x")
    with pytest.raises(ValueError, match="kind"):
        units.parse_quantity("1 eV", "mass")


# -- energies, temperatures, linewidths --------------------------------------------
def test_energy_and_temperature_hand_values():
    assert units.energy_to_t("1.66 eV", MOS2) == pytest.approx(1.66 / T_MOS2, rel=1e-12)
    assert units.energy_to_t("20 meV", MOS2) == pytest.approx(0.020 / T_MOS2, rel=1e-12)
    assert units.t_to_energy(1.0, MOS2).m_as("eV") == pytest.approx(T_MOS2, rel=1e-12)
    # k_B * 300 K = 25.852 meV
    assert units.temperature_to_t("300 K", MOS2) == pytest.approx(
        8.617333262e-5 * 300 / T_MOS2, rel=1e-9)
    x = units.temperature_to_t("10 K", MOS2)
    assert units.t_to_temperature(x, MOS2).m_as("K") == pytest.approx(10.0, rel=1e-12)


def test_linewidth_and_lifetime_conventions():
    # ħΓ_a is an energy (HWHM); τ_pop = 1/(2Γ_a): 1 ps -> ħΓ_a = ħ/(2 ps) = 0.3291 meV
    assert units.linewidth_to_t("10 meV", MOS2) == pytest.approx(0.010 / T_MOS2, rel=1e-12)
    gamma = units.lifetime_to_t("1 ps", MOS2)
    assert gamma * T_MOS2 == pytest.approx(6.582119569e-16 / 2e-12, rel=1e-9)
    assert units.t_to_lifetime(gamma, MOS2).m_as("ps") == pytest.approx(1.0, rel=1e-12)
    assert units.t_to_linewidth(gamma, MOS2).m_as("meV") == pytest.approx(0.32910598, rel=1e-7)
    with pytest.raises(ValueError, match="tau: a lifetime must be > 0"):
        units.lifetime_to_t("-1 ps", MOS2)
    with pytest.raises(ValueError, match="Gamma"):
        units.t_to_lifetime(0.0, MOS2)


def test_lorentzian_hwhm_is_the_amplitude_rate():
    """A(ω) = -2 Im 1/(ω - ε + iΓ_a) (spec §3: G^R = 1/(ω - h + iΓ)) falls to half its
    peak at |ω - ε| = Γ_a, so ħΓ_a is the HWHM."""
    Gamma = units.linewidth_to_t("5 meV", MOS2)
    w = np.linspace(-20, 20, 400001) * Gamma
    A = -2 * np.imag(1 / (w + 1j * Gamma))
    above = w[A >= A.max() / 2]
    assert (above.max() - above.min()) / 2 == pytest.approx(Gamma, rel=1e-4)


# -- light ----------------------------------------------------------------------------
def test_intensity_of_circular_light():
    # c ε0 (1 MV/cm)² = 2.6544187e-3 S * 1e16 V²/m² = 2.6544e13 W/m² = 2.6544 GW/cm²
    assert units.intensity_per_field_squared().m_as("GW/cm^2") == pytest.approx(2.6544187, rel=1e-7)
    assert units.field_to_intensity("2 MV/cm").m_as("GW/cm^2") == pytest.approx(4 * 2.6544187, rel=1e-7)
    assert units.intensity_to_field("1e9 W/cm^2").m_as("MV/cm") == pytest.approx(
        np.sqrt(1 / 2.6544187), rel=1e-7)
    with pytest.raises(ValueError, match="I: an intensity must be >= 0"):
        units.intensity_to_field("-1 W/cm^2")


def test_mos2_dipole_length_and_rabi_per_field_by_hand():
    # ħv/Δ = 3.193 * 1.10 / 1.66 = 2.11584 Å; e (1 MV/cm = 0.01 V/Å) * 2.11584 Å = 21.158 meV
    assert units.dipole_length(MOS2).m_as("angstrom") == pytest.approx(2.115843, rel=1e-6)
    assert units.rabi_energy_dirac("1 MV/cm", MOS2).m_as("meV") == pytest.approx(21.15843, rel=1e-6)
    # A sector: 3.5123 / (1.66 - 0.075) = 2.215962 Å
    assert units.dipole_length(MOS2, +1).m_as("angstrom") == pytest.approx(2.215962, rel=1e-6)
    assert units.rabi_energy_dirac("1 MV/cm", MOS2, +1).m_as("meV") == pytest.approx(22.15962, rel=1e-6)


@pytest.mark.parametrize("t", [1.0, 2.5])
@pytest.mark.parametrize("delta", [0.25, 1.306911, 5.0])
def test_lattice_velocity_element_at_K_plus_is_3td(delta, t):
    model = HoneycombModel(delta=delta, t=t)
    pp, pm = model.velocity_elements(model.valley_centres()["K+"])
    assert abs(pp) == pytest.approx(3 * t, rel=1e-13)      # d = 1
    assert abs(pm) < 1e-13


@pytest.mark.parametrize("name", list(PRESETS))
@pytest.mark.parametrize("sigma", [None, 1, -1])
def test_lattice_rabi_energy_equals_the_dirac_one(name, sigma):
    m = PRESETS[name]
    lattice = units.field_to_rabi("1 MV/cm", m, sigma) * m.t_eV
    dirac = units.rabi_energy_dirac("1 MV/cm", m, sigma).m_as("eV")
    assert lattice == pytest.approx(dirac, rel=1e-12)
    # ħΩ is linear in E0
    assert units.field_to_rabi("3 MV/cm", m, sigma) == pytest.approx(
        3 * units.field_to_rabi("1 MV/cm", m, sigma), rel=1e-13)


@pytest.mark.parametrize("sigma", [None, 1, -1])
def test_inverse_maps_round_trip(sigma):
    m = preset("WSe2")
    Omega = 0.004
    E0 = units.rabi_to_field(Omega, m, sigma)
    assert units.field_to_rabi(E0, m, sigma) == pytest.approx(Omega, rel=1e-13)
    intensity = units.rabi_to_intensity(Omega, m, sigma)
    assert intensity.m_as("W/cm^2") == pytest.approx(
        units.field_to_intensity(E0).m_as("W/cm^2"), rel=1e-13)
    assert units.intensity_to_rabi(intensity, m, sigma) == pytest.approx(Omega, rel=1e-12)
    assert units.intensity_to_rabi(f"{float(intensity.m_as('W/cm^2'))!r} W/cm^2", m, sigma) == \
        pytest.approx(Omega, rel=1e-12)
    with pytest.raises(ValueError, match="Omega"):
        units.rabi_to_field(-1.0, m, sigma)


def test_interband_position_is_minus_i_P_over_gap():
    """r_21 = i <u_2|∂_k u_1> (finite differences of the smooth closed-form gauge)
    equals -i P_21 / (E_2 - E_1), the relation the Rabi formula rests on."""
    model = SpinSectorModel(delta=1.306911, lambda_so=0.06, sigma=1)
    step = 1e-6
    for k in (np.array([0.4, -1.3]), model.valley_centres()["K+"] + np.array([0.05, 0.02])):
        _, u2 = model.bloch_vectors(k)
        e1, e2 = model.bands(k)
        pp, pm = model.velocity_elements(k)
        P = np.array([(pp + pm) / 2, (pp - pm) / 2j])          # (P_x, P_y)
        for axis, e in enumerate(np.eye(2)):
            du1 = (model.bloch_vectors(k + step * e)[0] - model.bloch_vectors(k - step * e)[0]) / (2 * step)
            r21 = 1j * np.vdot(u2, du1)
            assert r21 == pytest.approx(-1j * P[axis] / (e2 - e1), abs=1e-8)


@pytest.mark.parametrize("valley,absorbing", [("K+", 1), ("K-", -1)])
def test_circular_component_that_couples_through_P_plus(valley, absorbing):
    """E(t) = E0 (cos ωt, ς sin ωt): the e^{-iωt} Fourier component of e E(t)·r_21 is
    -i e E0 P_ς / (2 ΔE); at K+ only ς = +1 is absorbed (σ+ of the spec), at K- only ς = -1."""
    m = MOS2
    model = m.model(+1)
    k = model.valley_centres()[valley]
    e1, e2 = model.bands(k)
    pp, pm = model.velocity_elements(k)
    r21 = -1j * np.array([(pp + pm) / 2, (pp - pm) / 2j]) / (e2 - e1)
    phase = 2 * np.pi * np.arange(64) / 64                 # ωt over one period
    E0 = 1.0                                               # field in units of t/(e d)
    for varsigma, P in ((1, pp), (-1, pm)):
        field = E0 * np.stack([np.cos(phase), varsigma * np.sin(phase)])
        coupling = field.T @ r21                           # e E(t)·r_21
        coefficient = np.mean(coupling * np.exp(1j * phase))   # of e^{-iωt}
        assert coefficient == pytest.approx(-1j * E0 * P / (2 * (e2 - e1)), abs=1e-14)
        assert (abs(coefficient) > 0.1) == (varsigma == absorbing)
    if valley == "K+":
        # and the absorbed amplitude is the package's Rabi energy (E0 = 1 t/(e d))
        field_V_per_A = float(m.t_eV / m.nn_distance_angstrom)
        Omega = units.field_to_rabi(f"{field_V_per_A!r} V/angstrom", m, +1)
        assert Omega == pytest.approx(abs(pp) / (2 * (e2 - e1)), rel=1e-12)
