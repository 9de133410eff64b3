"""Born-Markov steady state, the paper's closed forms (10)-(17) and the single-k API."""
import numpy as np
import pytest

from keldysh.baths import BathSet, fermi
from keldysh.kmesh import EnergyMesh, KMesh, Resonance
from keldysh.lattice import HoneycombModel
from keldysh.nambu import DrivenSystem, ModeArrays
from keldysh.single_k import correlators
from solvers.born_markov import (eq10_n22, eq11_n11, eq13_kernel, eq14_kernel, eq15_kernel_minus,
                                 eq17_kernel, pair_response, paper_kernels, populations,
                                 steady_state)

# spec §8 oracle: rotating-frame energies (k1, k2, -k1) and the -k2 mode (irrelevant at Δ- = 0)
ORACLE_XI = np.array([-0.1, 0.101, -0.1, 0.101])
ORACLE_GAMMA = np.full(4, 5e-4)
ORACLE_OCC = np.array([1.0, 0.0, 1.0, 0.0])


def test_spec_oracle_values():
    rho = correlators(ORACLE_XI, 0.002, ORACLE_GAMMA, occupation=ORACLE_OCC)
    assert rho[0, 0].real == pytest.approx(0.999802068, abs=5e-10)
    assert rho[1, 1].real == pytest.approx(1.979316e-4, abs=5e-11)
    # <c+_k1 c_k2> = rho_{10}
    assert rho[1, 0].real == pytest.approx(-9.946064e-3, abs=5e-10)
    assert rho[1, 0].imag == pytest.approx(-4.948290e-5, abs=5e-12)
    d = 1e-8
    pair = correlators(ORACLE_XI, 0.002, ORACLE_GAMMA, occupation=ORACLE_OCC, delta_plus=d)[1, 2] / d
    assert pair.real == pytest.approx(0.0487373, abs=5e-8)
    assert pair.imag == pytest.approx(0.0487591, abs=5e-8)


def _oracle_modes():
    """The spec §8 single-k problem as one-sample ModeArrays (weight 1)."""
    return ModeArrays(xi=ORACLE_XI[None], rabi=np.array([0.002]), gamma=ORACLE_GAMMA[None],
                      bath_mu=np.zeros((1, 4)), temperature=np.zeros((1, 4)),
                      occupation=ORACLE_OCC[None], weight=np.ones(1), energy=np.ones(1))


def test_closed_form_pair_response_at_the_spec_oracle():
    """pair_response (the 2x2 closed form, not the Lyapunov solve) at the spec §8 point:
    dressed, the oracle's 0.0487373 + 0.0487591i; undressed, Eq. (9)
    -(1 - n22 - n11_-k)/(E - iΓ) with the oracle's n22 = 1.979316e-4, n11_-k = 1,
    E = xi'(k2) + xi'(-k1) = 0.001, Γ = 1e-3, i.e. 0.0989658 (1 + i) (the spec's ~0.099 (1 + i))."""
    modes = _oracle_modes()
    dressed = pair_response(modes)[0][0]
    assert dressed.real == pytest.approx(0.0487373, abs=5e-8)
    assert dressed.imag == pytest.approx(0.0487591, abs=5e-8)
    undressed = pair_response(modes, dressed=False)[0][0]
    expected = -(1 - 1.979316e-4 - 1.0) / (0.001 - 1e-3j)
    assert undressed == pytest.approx(expected, rel=1e-6)  # the oracle's n22 has 7 digits
    assert abs(undressed - dressed) > 0.4 * abs(dressed)  # the dressing matters here


def paper_eq10_n22(eps, Omega, G1, G2):
    """Eq. (10) as printed (T = 0): n^22 = γ1 Ω~² / (γ1 γ2 + Ω~²), Ω~² = Ω²/(ε² + Γ²)."""
    G = G1 + G2
    w = Omega**2 / (eps**2 + G**2)
    return (G1 / G) * w / ((G1 / G) * (G2 / G) + w)


def paper_eq11_n11(eps, Omega, G1, G2):
    """Eq. (11) as printed (T = 0): n^11 = 1 - γ2 Ω~² / (γ1 γ2 + Ω~²)."""
    G = G1 + G2
    w = Omega**2 / (eps**2 + G**2)
    return 1 - (G2 / G) * w / ((G1 / G) * (G2 / G) + w)


@pytest.mark.parametrize("eps", [-0.05, -1e-3, 0.0, 2e-4, 0.03])
@pytest.mark.parametrize("rates", [(5e-4, 5e-4), (2e-4, 8e-4), (1e-3, 3e-4)])
@pytest.mark.parametrize("Omega", [1e-5, 1e-3, 5e-3])
def test_lyapunov_populations_equal_eqs_10_11(eps, rates, Omega):
    """The Lyapunov populations and the library's Eqs. (10)-(11) against the printed formulas."""
    G1, G2 = rates
    xi = np.array([-0.2, -0.2 + eps, -0.2, -0.2 + eps])
    rho = correlators(xi, Omega, [G1, G2, G1, G2], occupation=ORACLE_OCC)
    n22, n11 = paper_eq10_n22(eps, Omega, G1, G2), paper_eq11_n11(eps, Omega, G1, G2)
    assert rho[1, 1].real == pytest.approx(n22, abs=1e-12)
    assert rho[0, 0].real == pytest.approx(n11, abs=1e-12)
    assert eq10_n22(eps, Omega, G1, G2) == pytest.approx(n22, rel=1e-12, abs=1e-300)
    assert eq11_n11(eps, Omega, G1, G2) == pytest.approx(n11, rel=1e-12)


def test_general_occupation_form_of_eqs_10_11():
    rho = correlators([0.0, 0.001, 0.0, 0.0], 2e-3, [4e-4, 6e-4, 1e-3, 1e-3], occupation=[0.7, 0.2, 1, 0])
    assert rho[1, 1].real == pytest.approx(eq10_n22(0.001, 2e-3, 4e-4, 6e-4, 0.7, 0.2), abs=1e-13)
    assert rho[0, 0].real == pytest.approx(eq11_n11(0.001, 2e-3, 4e-4, 6e-4, 0.7, 0.2), abs=1e-13)


def test_single_k_methods_agree_where_they_should():
    """Keldysh grid = exact poles (<=1e-8); Born-Markov = poles as Γ/ω0 -> 0 at T = 0."""
    omega0 = 2.0
    bath_mu = np.array([0.5, -0.5, 0.5, -0.5]) * omega0
    xi = np.array([-0.1, 0.1005, -0.1, 0.1005])
    kw = dict(delta_plus=1e-4 + 2e-4j, delta_minus=-3e-4j, nu=1e-4)
    for T in (0.0, 2e-3):
        p = correlators(xi, 1e-3, ORACLE_GAMMA, bath_mu=bath_mu, temperature=T, method="poles", **kw)
        k = correlators(xi, 1e-3, ORACLE_GAMMA, bath_mu=bath_mu, temperature=T, method="keldysh", **kw)
        assert np.abs(k - p).max() / np.abs(p).max() < 1e-8
    bm = correlators(xi, 1e-3, ORACLE_GAMMA, occupation=ORACLE_OCC, **kw)
    p0 = correlators(xi, 1e-3, ORACLE_GAMMA, bath_mu=bath_mu, method="poles", **kw)
    # populations differ by O(Γ/ω0) (the bath's Fermi tail): small but not zero
    diff = np.abs(bm - p0).max()
    assert 1e-6 < diff < 5e-3


def test_nu_shifts_energies_and_bath_mu_but_not_frozen_occupations():
    xi = np.array([-0.1, 0.1005, -0.1, 0.1005])
    bath_mu = np.array([1.0, -1.0, 1.0, -1.0])
    a = correlators(xi, 1e-3, ORACLE_GAMMA, bath_mu=bath_mu, nu=0.01, delta_plus=1e-4, method="poles")
    b = correlators(xi - 0.005, 1e-3, ORACLE_GAMMA, bath_mu=bath_mu - 0.005, delta_plus=1e-4, method="poles")
    assert np.allclose(a, b, atol=1e-15)
    c = correlators(xi, 1e-3, ORACLE_GAMMA, occupation=ORACLE_OCC, nu=0.01, delta_plus=1e-4)
    d = correlators(xi - 0.005, 1e-3, ORACLE_GAMMA, occupation=ORACLE_OCC, delta_plus=1e-4)
    assert np.allclose(c, d, atol=1e-15)


@pytest.mark.parametrize("bad, match", [
    (dict(xi=[0, 0, 0]), "xi"),
    (dict(xi=[0, np.nan, 0, 0]), "xi"),
    (dict(gamma=[1e-3, -1e-3, 1e-3, 1e-3]), "gamma"),
    (dict(rabi=np.inf), "rabi"),
    (dict(method="magic"), "method"),
    (dict(occupation=None), "occupation"),
    (dict(occupation=[1, 0, 1.5, 0]), "occupation"),
    (dict(method="poles", bath_mu=None), "bath_mu"),
    (dict(method="keldysh", bath_mu=[0, 0, 0, 0], temperature=-1.0), "temperature"),
    (dict(delta_plus=complex(np.nan, 0)), "delta_plus"),
    (dict(nu="fast"), "nu"),
])
def test_single_k_bad_arguments(bad, match):
    kw = dict(xi=ORACLE_XI, rabi=1e-3, gamma=ORACLE_GAMMA, occupation=ORACLE_OCC)
    kw.update(bad)
    xi, rabi, gamma = kw.pop("xi"), kw.pop("rabi"), kw.pop("gamma")
    with pytest.raises(ValueError, match=match):
        correlators(xi, rabi, gamma, **kw)


# ---------------------------------------------------------------------------
# kernels
# ---------------------------------------------------------------------------
def _system(delta, omega0, Omega, G1, G2, mu=None, T=0.0):
    mu = -(G1 + G2) / 2 if mu is None else mu
    return DrivenSystem(HoneycombModel(delta), omega0, Omega, BathSet.paper(G1, G2, mu, T), mu)


def test_steady_state_on_mesh_matches_eqs_10_11_and_populations():
    sysm = _system(1.0, 1.1, 1e-3, 5e-4, 5e-4)
    em = EnergyMesh.resonant(sysm.model, Resonance.drive(1.1, 2e-3), 50, 30)
    modes = sysm.modes(em)
    pops = populations(steady_state(modes))
    eps = 2 * em.energies - 1.1
    assert np.allclose(pops["n22_k"], eq10_n22(eps, 1e-3, 5e-4, 5e-4), atol=1e-13)
    assert np.allclose(pops["n11_k"], eq11_n11(eps, 1e-3, 5e-4, 5e-4), atol=1e-13)
    assert np.allclose(pops["n11_mk"], 1.0) and np.allclose(pops["n22_mk"], 0.0)


@pytest.mark.parametrize("G1, G2", [(5e-4, 5e-4), (3e-4, 7e-4)])
def test_eq15_and_weak_drive_limit_of_exact_susceptibility(G1, G2):
    """Eq. (15) F_- = -(γ2/γ1) F_+; exact Re χ_+ -> Eq. (13) at Ω/Γ = 0.05 (≤ 1 %)."""
    G = G1 + G2
    Omega = 0.05 * G
    sysm = _system(5.0, 5.1, Omega, G1, G2)
    W = np.sqrt(G**2 + Omega**2 * G**2 / (G1 * G2))
    modes = sysm.modes(EnergyMesh.resonant(sysm.model, Resonance.drive(5.1, W), 400, 120))
    Fp, Fm = paper_kernels(modes)
    assert Fm == pytest.approx(eq15_kernel_minus(Fp, G1, G2), rel=1e-10)
    chi_p, chi_m = (np.sum(modes.weight * c) for c in pair_response(modes))
    assert chi_p.real == pytest.approx(Fp, rel=0.01)
    assert chi_m.real == pytest.approx(Fm, rel=0.01)
    # the undressed exact response is Eq. (9)/(13) exactly
    und_p, und_m = (np.sum(modes.weight * c) for c in pair_response(modes, dressed=False))
    assert und_p.real == pytest.approx(Fp, rel=1e-9)
    assert und_m.real == pytest.approx(Fm, rel=1e-9)


@pytest.mark.parametrize("ratio, expected", [(0.05, 1.00), (1.0, 0.55), (5.0, 0.06)])
def test_rabi_dressing_ratio_over_resonant_shell(ratio, expected):
    """Spec §4(a): Re χ_exact / Eq. (13) = 1.000, 0.55, 0.06 at Ω/Γ = 0.05, 1, 5 (μ = -Γ/2)."""
    G1 = G2 = 5e-4
    G = G1 + G2
    Omega = ratio * G
    sysm = _system(5.0, 5.1, Omega, G1, G2)
    W = np.sqrt(G**2 + Omega**2 * 4)
    modes = sysm.modes(EnergyMesh.resonant(sysm.model, Resonance.drive(5.1, W), 400, 120))
    Fp, _ = paper_kernels(modes)
    chi = np.sum(modes.weight * pair_response(modes)[0])
    assert chi.real / Fp == pytest.approx(expected, abs=0.01)


def test_eq14_equals_eq13_on_a_fine_k_mesh():
    """Eq. (14) with the exact DOS = Eq. (13) summed on a fine 2D Monkhorst-Pack mesh.

    Broad rates (Γ = 0.05 t) so that the resonance shell is resolved by the mesh."""
    G1 = G2 = 0.025
    Omega, omega0, delta = 0.03, 1.6, 1.0
    sysm = _system(delta, omega0, Omega, G1, G2)
    F14 = eq14_kernel(sysm.model, omega0, Omega, G1, G2, -(G1 + G2) / 2)
    F13 = paper_kernels(sysm.modes(KMesh.driven_half(sysm.model, 400)))[0]
    assert F13 == pytest.approx(F14, rel=2e-3)
    F13e = paper_kernels(sysm.modes(EnergyMesh.resonant(sysm.model, Resonance.drive(omega0, 0.1))))[0]
    assert F13e == pytest.approx(F14, rel=1e-5)  # two different energy quadratures


@pytest.mark.parametrize("Omega_over_Gamma", [0.1, 0.5, 1.0])
def test_eq17_matches_eq14_where_it_holds(Omega_over_Gamma):
    """t ≳ δ ≫ Ω, Γ with the resonance inside the band: Eq. (17) ≈ Eq. (14) (≤ 2 %)."""
    G1 = G2 = 5e-4
    model = HoneycombModel(0.25)
    omega0 = 0.3
    Omega = Omega_over_Gamma * (G1 + G2)
    F14 = eq14_kernel(model, omega0, Omega, G1, G2, -(G1 + G2) / 2)
    F17 = eq17_kernel(model, omega0, Omega, G1, G2)
    assert F17 == pytest.approx(F14, rel=0.02)
    # and fails, as it should, far outside its regime (δ = 5 t: DOS not Dirac-like)
    big = HoneycombModel(5.0)
    assert abs(eq17_kernel(big, 5.1, Omega, G1, G2) / eq14_kernel(big, 5.1, Omega, G1, G2, -5e-4) - 1) > 0.05


def test_eq13_kernel_formula():
    E = np.array([1e-3, 1e-3])
    F = eq13_kernel(E, 1e-3, np.array([0.1, 0.2]), np.array([1.0, 1.0]), np.array([0.5, 0.5]))
    assert F == pytest.approx(-(0.5 * 500 * (-0.1) + 0.5 * 500 * (-0.2)))


def test_finite_temperature_frozen_occupations():
    sysm = _system(1.0, 1.1, 1e-3, 5e-4, 5e-4, mu=0.0, T=0.3)
    modes = sysm.modes(EnergyMesh.resonant(sysm.model, Resonance.drive(1.1, 2e-3), 20, 20))
    assert np.allclose(modes.occupation[:, 1], fermi(modes.energy, 0.3))
    assert np.allclose(modes.occupation[:, 0], fermi(-modes.energy, 0.3))


@pytest.mark.parametrize("z", [0.0, 3e-4, 1e-4 + 2e-4j])
@pytest.mark.parametrize("dressed", [True, False])
def test_closed_form_pair_response_equals_full_sylvester(z, dressed):
    from solvers.born_markov import pair_response_sylvester

    sysm = _system(5.0, 5.1, 2e-3, 3e-4, 7e-4)
    modes = sysm.modes(EnergyMesh.resonant(sysm.model, Resonance.drive(5.1, 4e-3), 40, 10))
    a = pair_response(modes, z, dressed)
    b = pair_response_sylvester(modes, z, dressed)
    for x, y in zip(a, b):
        assert np.allclose(x, y, rtol=1e-12, atol=1e-14 * np.abs(y).max())


def test_closed_form_normal_state_equals_lyapunov():
    from solvers.born_markov import normal_state, normal_state_lyapunov

    sysm = _system(1.0, 1.1, 2e-3, 3e-4, 7e-4, mu=0.01, T=0.05)
    modes = sysm.modes(EnergyMesh.resonant(sysm.model, Resonance.drive(1.1, 4e-3), 40, 10))
    assert np.allclose(normal_state(modes), normal_state_lyapunov(modes), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("cache", [True, False])
def test_blocked_k_sum_equals_one_block(monkeypatch, cache):
    """The deterministic block sum of solvers.stability.routes (small blocks, cached or rebuilt
    per call) equals one sum over the whole mesh."""
    from solvers.stability import routes

    sysm = _system(1.0, 1.1, 2e-3, 5e-4, 5e-4)
    mesh = KMesh.driven_half(sysm.model, 40)
    monkeypatch.setattr(routes, "BLOCK", 10**9)
    monkeypatch.setattr(routes, "MIN_BLOCK", 10**9)
    assert routes.ChiEvaluator("born_markov", sysm, mesh).n_blocks == 1
    whole = routes.ChiEvaluator("born_markov", sysm, mesh)(3e-4)[0]
    monkeypatch.setattr(routes, "BLOCK", 97)
    monkeypatch.setattr(routes, "MIN_BLOCK", 97)
    monkeypatch.setattr(routes, "CACHE_SAMPLES", 10**9 if cache else 0)
    ev = routes.ChiEvaluator("born_markov", sysm, mesh)
    assert ev.n_blocks > 3 and ev.cached == cache
    parts = ev(3e-4)[0]
    assert np.allclose(parts, whole, rtol=1e-13, atol=0)


def test_boundary_points_are_split_between_driven_and_undriven():
    """Uniform meshes put points on η = 0 (the K+ boundary): each counts half driven."""
    G = 0.02
    sysm = _system(1.0, 1.2, 0.02, G / 2, G / 2)
    mesh = KMesh.driven_half(sysm.model, 120)
    modes = sysm.modes(mesh)
    ties = np.abs(sysm.model.eta(mesh.points)) <= 1e-12
    assert ties.sum() > 0 and len(modes) == len(mesh) + ties.sum()
    assert modes.weight.sum() == pytest.approx(mesh.weights.sum(), rel=1e-14)
    ref = eq14_kernel(sysm.model, 1.2, 0.02, G / 2, G / 2, -G / 2, 800, 200)
    errors = [abs(paper_kernels(sysm.modes(KMesh.driven_half(sysm.model, n)))[0] / ref - 1) for n in (120, 240)]
    assert errors[1] < 1e-4 and errors[1] < errors[0] / 4  # faster than the O(1/n) of the unsplit mesh
