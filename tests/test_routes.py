"""Pair susceptibilities of every route (solvers.stability.routes) against independent oracles,
and the paper criterion (spec §4-§6, §9)."""
import numpy as np
import pytest

from keldysh.baths import BathSet
from keldysh.greens import pair_response_quadrature, response_grids
from keldysh.kmesh import EnergyMesh, KMesh, Resonance
from keldysh.lattice import HoneycombModel
from keldysh.nambu import DrivenSystem, ModeArrays, nambu_chemical_potentials, nambu_occupations
from solvers import born_markov
from solvers.stability import ROUTES, ChiEvaluator, coupling_roots, determinant, pair_susceptibility
from solvers.stability import paper_couplings, route_samples


def samples_response(modes, route, z=0.0, n_per_panel=20):
    """Per-sample (chi_++, chi_--) of a route (the diagonal of its matrix)."""
    r = route_samples(route, modes, z, n_per_panel=n_per_panel)
    return np.stack([r[:, 0, 0], r[:, 1, 1]], axis=-1)

G1 = G2 = 5e-4
GAMMA = G1 + G2


def fig3a_system(ratio, delta=5.0, omega0=5.1, G1=G1, G2=G2, T=0.0):
    G = G1 + G2
    mu = -G / 2
    return DrivenSystem(HoneycombModel(delta), omega0, ratio * G, BathSet.paper(G1, G2, mu, T), mu)


def energy_mesh(system, n_res=300, n_band=80):
    G = float(system.baths.gamma[0].sum())
    W = np.sqrt(G**2 + 4 * system.Omega**2)
    return EnergyMesh.resonant(system.model, Resonance.drive(system.omega0, W), n_res, n_band)


def test_dressing_difference_pinned_by_independent_quadrature():
    """At Ω = Γ the exact BM Re chi_+ is 0.55 of Eq. (13) (spec §4a); the frozen-occupation
    Keldysh quadrature (a different code path: G^R products on real-frequency grids)
    gives the same number."""
    system = fig3a_system(1.0)
    mesh = energy_mesh(system, 200, 40)
    modes = system.modes(mesh)
    bm = pair_susceptibility(system, mesh, route="born_markov")
    paper = ChiEvaluator("paper", system, mesh).static()  # Eq. (13)
    assert bm[0, 0].real / paper[0, 0].real == pytest.approx(0.55, abs=0.01)
    # independent evaluation: quadrature of the Langreth formula with frozen occupations
    sel = np.argsort(-np.abs(modes.weight * samples_response(modes, "born_markov")[:, 0]))[:60]
    sub = modes.take(np.sort(sel))
    h = sub.hamiltonian()
    m = nambu_chemical_potentials(sub.bath_mu)
    w, wt = response_grids(h, sub.gamma, m, 0.0, 0.0, 32)
    quad = pair_response_quadrature(h, sub.gamma, 0.0, w, wt, m, 0.0, frozen=nambu_occupations(sub.occupation))
    lyap = samples_response(sub, "born_markov")
    assert np.allclose(quad, lyap, rtol=1e-8, atol=1e-9 * np.abs(lyap).max())


@pytest.mark.parametrize("z", [0.0, 4e-4, -3e-4 + 2e-4j, 1e-3j])
def test_born_markov_response_equals_frozen_keldysh_at_complex_frequency(z):
    system = fig3a_system(2.0)
    modes = system.modes(energy_mesh(system, 40, 10)).take(slice(20, 60, 5))
    h = modes.hamiltonian()
    m = nambu_chemical_potentials(modes.bath_mu)
    w, wt = response_grids(h, modes.gamma, m, 0.0, z, 40)
    quad = pair_response_quadrature(h, modes.gamma, z, w, wt, m, 0.0, frozen=nambu_occupations(modes.occupation))
    lyap = samples_response(modes, "born_markov", z)
    assert np.allclose(quad, lyap, rtol=1e-7, atol=1e-8 * np.abs(lyap).max())


@pytest.mark.parametrize("nu", [0.0, 7e-4, -2e-3])
def test_keldysh_quadrature_and_finite_differences_agree(nu):
    """Three Keldysh evaluations of the whole 2x2 matrix: the closed-form pole-sum linear
    response ("keldysh"), the Langreth quadrature ("quadrature") and finite-Δ differences of
    the exact pole sum of rho in the frame rotating at ν ("poles")."""
    system = fig3a_system(1.5, T=2e-4)
    modes = system.modes(energy_mesh(system, 40, 10)).take(slice(10, 70, 6))
    k = route_samples("keldysh", modes, nu)
    q = route_samples("quadrature", modes, nu, n_per_panel=48)
    p = route_samples("poles", modes, nu)
    scale = np.abs(k).max()
    assert np.allclose(k, q, rtol=1e-9, atol=1e-10 * scale)
    assert np.allclose(k, p, rtol=1e-6, atol=1e-7 * scale)
    # the valley drive does not convert K+ pairs into K- pairs: off-diagonal entries vanish
    for r in (k, q, p):
        assert np.abs(r[:, 0, 1]).max() <= 1e-9 * scale and np.abs(r[:, 1, 0]).max() <= 1e-9 * scale


@pytest.mark.parametrize("z", [2e-4, 1e-3j, -5e-4 + 3e-4j])
def test_keldysh_route_equals_quadrature_at_complex_frequency(z):
    system = fig3a_system(3.0, T=0.0)
    modes = system.modes(energy_mesh(system, 40, 10)).take(slice(5, 75, 7))
    k = route_samples("keldysh", modes, z)
    q = route_samples("quadrature", modes, z, n_per_panel=48)
    assert np.allclose(k, q, rtol=1e-9, atol=1e-10 * np.abs(k).max())


def test_equilibrium_keldysh_static_response_is_real():
    """No drive, all baths at one μ and T: Im chi(0) = 0 in the Keldysh route."""
    for mu, T in ((-5e-4, 0.0), (3e-4, 2e-3)):
        system = DrivenSystem(HoneycombModel(1.0), 1.2, 0.0, BathSet.paper(G1, G2, mu, T), mu)
        mesh = EnergyMesh.resonant(system.model, Resonance.drive(1.2, 0.05), 30, 20)
        s = pair_susceptibility(system, mesh, route="keldysh")
        # the pole sum's error is absolute, ~eps/Γ per Pauli-blocked sample (keldysh.response)
        assert abs(s[0, 0].imag) <= 1e-8 * abs(s[0, 0])
        assert abs(s[1, 1].imag) <= 1e-8 * abs(s[1, 1])
        assert abs(s[0, 0]) > 0
    # and it is not real away from equilibrium (the test can fail)
    driven = fig3a_system(1.0)
    sd = pair_susceptibility(driven, energy_mesh(driven, 60, 20), route="keldysh")
    assert abs(sd[0, 0].imag) > 0.1 * abs(sd[0, 0])


def test_keldysh_tends_to_born_markov_as_gamma_over_omega0_vanishes():
    """Single driven pair with T ≫ Γ, ω0 ≫ T: |chi_K - chi_BM| shrinks linearly with Γ/ω0."""
    omega0, T = 2.0, 0.02
    errs = []
    for G in (4e-4, 2e-4, 1e-4):
        xi = np.array([-0.3, -0.3 + 0.2 * G, -0.3, -0.3 + 0.2 * G])  # near-resonant, small detuning
        bath = np.array([0.5, -0.5, 0.5, -0.5]) * omega0
        modes = ModeArrays(xi=xi[None], rabi=np.array([0.5 * G]), gamma=np.full((1, 4), G),
                           bath_mu=bath[None], temperature=np.full((1, 4), T),
                           occupation=(xi[None] < bath).astype(float) * 1.0,
                           weight=np.ones(1), energy=np.ones(1))
        # BM occupation: bare lab-frame Fermi function at the bath temperature
        from keldysh.baths import fermi
        modes = ModeArrays(**{**modes.__dict__, "occupation": fermi(xi - bath, T)[None]})
        bm = samples_response(modes, "born_markov")[0]
        ke = samples_response(modes, "keldysh")[0]
        errs.append(np.abs(ke - bm).max() / np.abs(bm).max())
    errs = np.array(errs)
    assert errs[0] < 0.05
    rates = errs[:-1] / errs[1:]
    assert np.all((rates > 1.6) & (rates < 2.5)), errs


def test_paper_route_is_eq13_and_undressed_bm():
    system = fig3a_system(3.0, G1=3e-4, G2=7e-4)
    mesh = energy_mesh(system, 100, 30)
    paper = ChiEvaluator("paper", system, mesh).static()
    Fp, Fm = born_markov.paper_kernels(system.modes(mesh))
    assert paper[0, 0].real == pytest.approx(Fp, rel=1e-14) and paper[1, 1].real == pytest.approx(Fm, rel=1e-14)
    # the paper route's chi(z) is the undressed Born-Markov response (Eq. 9 structure): its
    # real part at z = 0 is Eq. (13), and it differs from the dressed one
    und = pair_susceptibility(system, mesh, route="paper")
    assert und[0, 0].real == pytest.approx(Fp, rel=1e-9) and und[1, 1].real == pytest.approx(Fm, rel=1e-9)
    modes = system.modes(mesh)
    cp, cm = born_markov.pair_response(modes, 3e-4, dressed=False)
    assert pair_susceptibility(system, mesh, route="paper", z=3e-4)[0, 0] == pytest.approx(modes.weight @ cp, rel=1e-12)
    assert abs(pair_susceptibility(system, mesh, route="born_markov")[0, 0].real - Fp) > 0.1 * Fp
    # Eq. (15) in the paper approximation
    assert Fm == pytest.approx(-(7e-4 / 3e-4) * Fp, rel=1e-12)


@pytest.mark.parametrize("g1, g2", [(5e-4, 5e-4), (3e-4, 7e-4)])
def test_paper_criterion_two_branches_and_saturation(g1, g2):
    v = 0.5
    Vc = []
    for ratio in (0.5, 5.0, 50.0, 500.0):
        system = fig3a_system(ratio, G1=g1, G2=g2)
        F = born_markov.eq14_kernel(system.model, system.omega0, system.Omega, g1, g2, system.mu)
        Fm = born_markov.eq15_kernel_minus(F, g1, g2)
        cc = paper_couplings(np.diag([F, Fm]), v, "eq14")
        assert cc.V_c.size == 2 and cc.V_c[0] < 0 < cc.V_c[1]  # two branches of opposite sign
        for V in cc.V_c:
            assert determinant(V, v, np.diag([F, Fm])) == pytest.approx(0, abs=1e-9)
        Vc.append(cc.V_c)
    Vc = np.array(Vc)
    # |V_c| decreases with drive and saturates at |V'|
    assert np.all(np.diff(np.abs(Vc[:, 1])) < 0)
    assert np.abs(Vc[-1]) == pytest.approx([v, v], rel=2e-2)
    assert np.all(np.abs(np.abs(Vc[-1]) - v) < np.abs(np.abs(Vc[-2]) - v))
    if g1 == g2:  # Eq. (16): V_c = ±sqrt(v² + 1/F²)
        F = born_markov.eq14_kernel(HoneycombModel(5.0), 5.1, 500 * (g1 + g2), g1, g2, -(g1 + g2) / 2)
        assert Vc[-1, 1] == pytest.approx(np.sqrt(v**2 + 1 / F**2), rel=1e-12)


def test_coupling_roots_solve_the_determinant():
    rng = np.random.default_rng(0)
    chi = rng.normal(size=(20, 2, 2)) + 1j * rng.normal(size=(20, 2, 2))  # valley-mixing chi too
    Vp = 0.7 * np.exp(0.4j)
    r = coupling_roots(chi, Vp)
    for j in range(2):
        M = np.zeros((20, 2, 2), complex)
        M[:, 0, 0] = M[:, 1, 1] = r[:, j]
        M[:, 0, 1], M[:, 1, 0] = Vp, np.conj(Vp)
        direct = np.linalg.det(np.eye(2) - M @ chi)  # det[1 - M chi] directly
        assert np.allclose(direct, 0, atol=1e-10)
        assert np.allclose(determinant(r[:, j], Vp, chi), 0, atol=1e-10)
    # diagonal chi: the phase of V' drops out and D is the familiar quadratic
    d = chi * np.eye(2)
    V = 0.3
    assert np.allclose(determinant(V, Vp, d), 1 - V * (d[:, 0, 0] + d[:, 1, 1])
                       + (V**2 - 0.49) * d[:, 0, 0] * d[:, 1, 1], atol=1e-12)


def test_mesh_routes_agree_on_2d_mesh_and_energy_mesh():
    """Valley pattern: the 2D K+ mesh and the exact-DOS energy mesh give the same chi (broad Γ)."""
    G = 0.05
    system = DrivenSystem(HoneycombModel(1.0), 1.6, 0.03, BathSet.paper(G / 2, G / 2, -G / 2), -G / 2)
    a = pair_susceptibility(system, KMesh.driven_half(system.model, 300), route="born_markov")
    b = pair_susceptibility(system, EnergyMesh.resonant(system.model, Resonance.drive(1.6, 0.1)), route="born_markov")
    assert a[0, 0] == pytest.approx(b[0, 0], rel=5e-3)
    assert a[1, 1] == pytest.approx(b[1, 1], rel=5e-3)


def test_route_validation():
    system = fig3a_system(1.0)
    mesh = energy_mesh(system, 10, 10)
    with pytest.raises(ValueError, match="route"):
        pair_susceptibility(system, mesh, route="magic")
    for route in ROUTES:
        with pytest.raises(ValueError, match="z"):
            pair_susceptibility(system, mesh, route=route, z=-1e-3j)
    with pytest.raises(ValueError, match="real frequency"):
        pair_susceptibility(system, mesh, route="poles", z=1e-3j)


def test_non_finite_kernel_result_raises_naming_the_sample():
    system = fig3a_system(1.0)
    mesh = energy_mesh(system, 10, 10)
    bad = type(mesh)(mesh.energies.copy(), mesh.weights.copy())
    bad.energies[3] = np.nan
    with pytest.raises(FloatingPointError, match=r"non-finite pair response \(born_markov\) in block 0"):
        pair_susceptibility(system, bad, route="born_markov")
