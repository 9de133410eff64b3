"""Exact pole-sum pair response matrix chi_ab(z) (keldysh.response; spec §3, §6, §8, §9).

Every route is held to an independent oracle: the exact Born-Markov response (closed form and
a 16x16 Sylvester solve) for frozen occupations, the real-frequency quadrature of the Langreth
rule, an 8x8 block-triangular embedding evaluated with keldysh.greens.pair_integral, the
spec's §8 number, and the numpy twin.
"""
import numpy as np
import pytest

from keldysh.baths import BathSet
from keldysh.greens import pair_integral, pair_response_quadrature, response_grids
from keldysh.lattice import HoneycombModel
from keldysh.lyapunov import lyapunov_steady_state, solve_sylvester
from keldysh.nambu import DrivenSystem, nambu_chemical_potentials, nambu_hamiltonian, nambu_occupations
from keldysh.response import (PoleResponse, pair_response_matrix_quadrature, pair_response_poles,
                              pair_response_poles_numpy)
from solvers import born_markov

#: Ψ indices and signs of (S_+, S_-) = (rho_12, -rho_03); Δ_+ enters as E_12, Δ_- as -E_03
PAIRS = (((1, 2), 1.0), ((0, 3), -1.0))


def random_normal_blocks(n, seed, hole_drive, scale=0.05):
    """n normal-state blocks: random xi, Rabi Ω, (if ``hole_drive``) a complex hole-block drive
    h[2,3] = -Ω', h[3,2] = -conj(Ω') as the circular pattern makes it (spec §9), random rates,
    and Fermi levels among the quasi-energies."""
    rng = np.random.default_rng(seed)
    xi = rng.uniform(-scale, scale, (n, 4))
    h = nambu_hamiltonian(xi, rng.uniform(0, 4e-3, n))
    if hole_drive:
        om = rng.uniform(1e-3, 4e-3, n) * np.exp(2j * np.pi * rng.uniform(size=n))
        h[:, 2, 3] = -om
        h[:, 3, 2] = -np.conj(om)
    gamma = rng.uniform(5e-4, 2e-3, (n, 4))
    m = nambu_chemical_potentials(rng.uniform(-0.8 * scale, 0.8 * scale, (n, 4)))
    return h, gamma, m


def rel(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def quadrature(h, gamma, z, m, T, frozen=None, n_per_panel=20):
    w, wt = response_grids(h, gamma, m, T, z, n_per_panel)
    return pair_response_matrix_quadrature(h, gamma, z, w, wt, m, T, frozen)


# ----------------------------------------------------------------------------
# 1. frozen occupations: the exact Born-Markov response
# ----------------------------------------------------------------------------
def fig3a_modes(Omega, G1=5e-4, G2=8e-4, n=40, T=0.0):
    """Samples across the resonance shell of the Fig. 3a model (δ = 5t, ω0 = 5.1t)."""
    mu = -(G1 + G2) / 2
    system = DrivenSystem(HoneycombModel(5.0), 5.1, Omega, BathSet.paper(G1, G2, mu, T), mu)
    W = np.sqrt((G1 + G2) ** 2 + 4 * Omega**2)
    e = 2.55 + 0.5 * W * np.tan(np.linspace(-1.45, 1.45, n))
    return system.modes_from_energies(e, Omega, np.full(n, 1.0 / n))


@pytest.mark.parametrize("z", [0.0, 4e-4, 1.3e-3, -3e-4 + 2e-4j, 1e-3j])
@pytest.mark.parametrize("Omega", [0.0, 1.3e-3, 0.05])
def test_frozen_equals_born_markov_closed_form(z, Omega):
    """Undriven hole blocks: diagonal = born_markov.pair_response (2x2 closed forms), the
    off-diagonal entries vanish.  Errors are measured in units of 1/(Γ1 + Γ2), the response
    of an unblocked pair at resonance (at Ω = 0 every channel here is Pauli blocked, chi = 0,
    and the pole sum leaves ~1e-16 of the O(1/Γ) terms that cancel)."""
    modes = fig3a_modes(Omega)
    h = modes.hamiltonian()
    fz = nambu_occupations(modes.occupation)
    chi = pair_response_poles(h, modes.gamma, z, nambu_chemical_potentials(modes.bath_mu), 0.0, fz)
    cp, cm = born_markov.pair_response(modes, z)
    scale = max(np.max(np.abs(cp)), np.max(np.abs(cm)), 1.0 / (5e-4 + 8e-4))
    assert np.max(np.abs(chi[:, 0, 0] - cp)) <= 1e-12 * scale
    assert np.max(np.abs(chi[:, 1, 1] - cm)) <= 1e-12 * scale
    assert np.max(np.abs(chi[:, 0, 1])) <= 1e-15 * scale and np.max(np.abs(chi[:, 1, 0])) <= 1e-15 * scale


def sylvester_matrix(h, gamma, z, frozen):
    """chi_ab(z) from the linearised Lyapunov equation with frozen occupations (16x16 solve):
    (A + iz/2) X + X (A† + iz/2) - i[δh_b, rho0] = 0, A = -ih - Γ, chi_ab = s_a X_{i_a j_a}."""
    rho0 = lyapunov_steady_state(h, gamma, frozen)
    A = -1j * h - gamma[..., :, None] * np.eye(4)
    shift = 0.5j * complex(z) * np.eye(4)
    Ad = np.conj(np.swapaxes(A, -1, -2))
    chi = np.empty(h.shape[:-2] + (2, 2), complex)
    for b, ((ib, jb), sb) in enumerate(PAIRS):
        dh = np.zeros((4, 4))
        dh[ib, jb] = sb
        X = solve_sylvester(A + shift, Ad + shift, -1j * (dh @ rho0 - rho0 @ dh))
        for a, ((ia, ja), sa) in enumerate(PAIRS):
            chi[..., a, b] = sa * X[..., ia, ja]
    return chi


@pytest.mark.parametrize("z", [0.0, 2.2e-3, -3e-4 + 2e-4j, 1e-3j])
def test_frozen_driven_hole_block_equals_sylvester(z):
    """Driven hole blocks (spec §9): all four entries against the 16x16 Sylvester solve."""
    h, gamma, m = random_normal_blocks(12, seed=3, hole_drive=True)
    rng = np.random.default_rng(7)
    frozen = rng.uniform(0, 1, (12, 4))
    chi = pair_response_poles(h, gamma, z, m, 0.0, frozen)
    ref = sylvester_matrix(h, gamma, z, frozen)
    assert rel(chi, ref) <= 1e-12
    # the drive of the hole block mixes the valleys: the off-diagonal entries are not small
    assert np.max(np.abs(ref[:, 0, 1])) > 1e-3 * np.max(np.abs(ref))
    assert np.max(np.abs(ref[:, 1, 0])) > 1e-3 * np.max(np.abs(ref))


# ----------------------------------------------------------------------------
# 2. Fermi occupations: the quadrature oracle
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("hole_drive", [False, True])
@pytest.mark.parametrize("T", [0.0, 1e-3])
@pytest.mark.parametrize("z", [0.0, 2.5e-3, -7e-3, 1e-3 + 1.5e-3j])
def test_pole_sum_equals_quadrature(hole_drive, T, z):
    h, gamma, m = random_normal_blocks(8, seed=5, hole_drive=hole_drive)
    chi = pair_response_poles(h, gamma, z, m, T)
    # the default grid (20 points per panel) is itself accurate to ~1e-9 here; 48 to rounding
    assert rel(chi, quadrature(h, gamma, z, m, T)) <= 5e-9
    q = quadrature(h, gamma, z, m, T, n_per_panel=48)
    for a in range(2):
        for b in range(2):
            assert np.max(np.abs(chi[:, a, b] - q[:, a, b])) <= 1e-11 * np.max(np.abs(q[:, a, b]))


@pytest.mark.parametrize("T", [0.0, 1e-3])
@pytest.mark.parametrize("z", [0.0, 1.3e-3, 2e-4 + 3e-4j])
def test_resonance_shell_samples_equal_quadrature(T, z):
    """Fig. 3a samples (Fermi occupations of the baths): the pair dispersion is flat, so every
    same-half-plane difference of the K+ pair is near-confluent (|u| ~ 1e-3: the series and
    ψ-divided-difference branches), and z = 1.3e-3 = -2μ is the pair resonance itself."""
    modes = fig3a_modes(0.02, n=16, T=T)
    h = modes.hamiltonian()
    m = nambu_chemical_potentials(modes.bath_mu)
    chi = pair_response_poles(h, modes.gamma, z, m, modes.temperature)
    q = quadrature(h, modes.gamma, z, m, modes.temperature, n_per_panel=60)
    assert rel(chi, q) <= 1e-11


def test_near_confluent_branches_equal_numpy_twin():
    """At |a - b| ~ 1e-3 |m - b| the numba code takes its series (T = 0) and ψ[x_a, x_b]
    (T > 0) branches while the twin's plain quotient still has ~12 digits."""
    h = nambu_hamiltonian(np.array([-0.04, 0.03, -0.03, 0.05]), 2e-3)[None]
    h[0, 2, 3] = -1e-3j
    h[0, 3, 2] = 1e-3j
    gamma = np.full(4, 6e-4)
    m = nambu_chemical_potentials(np.array([0.2, -0.2, 0.2, -0.2]))
    lam = PoleResponse(h, gamma, m).quasi_energies[0]
    for T in (0.0, 2e-3):
        for p, q in ((0, 2), (1, 3)):
            z = (lam[p] - lam[q]).real + 2e-4
            a = pair_response_poles(h, gamma, z, m, T)
            b = pair_response_poles_numpy(h, gamma, z, m, T)
            assert rel(a, b) <= 1e-10


def test_matrix_quadrature_diagonal_equals_pair_response_quadrature():
    """The generic 4-entry oracle against the engine's 2-column quadrature (undriven holes)."""
    h, gamma, m = random_normal_blocks(6, seed=2, hole_drive=False)
    for T, z in ((0.0, 1e-3), (2e-3, 2e-4 + 1e-3j)):
        w, wt = response_grids(h, gamma, m, T, z, 24)
        mat = pair_response_matrix_quadrature(h, gamma, z, w, wt, m, T)
        cols = pair_response_quadrature(h, gamma, z, w, wt, m, T)
        assert rel(np.stack([mat[:, 0, 0], mat[:, 1, 1]], -1), cols) <= 1e-12
        assert np.all(mat[:, 0, 1] == 0) and np.all(mat[:, 1, 0] == 0)


def test_mixed_temperatures_and_frozen_modes():
    """Per-mode T_i, and frozen constants on some modes only."""
    h, gamma, m = random_normal_blocks(6, seed=9, hole_drive=True)
    T = np.array([0.0, 2e-3, 5e-4, 0.0])
    frozen = np.array([-1.0, 0.3, -1.0, 1.0])
    for z in (0.0, 1e-3 + 5e-4j):
        chi = pair_response_poles(h, gamma, z, m, T, frozen)
        assert rel(chi, quadrature(h, gamma, z, m, T, frozen, n_per_panel=48)) <= 1e-11


def test_equilibrium_static_response_is_real():
    """No drive, one bath (μ', T) for every mode: the static response, at z = 2μ' (the frame in
    which the equilibrium chemical potential is zero, spec §2), is real (fluctuation-
    dissipation: the pair spectral weight vanishes at zero frequency)."""
    rng = np.random.default_rng(4)
    xi = rng.uniform(-0.05, 0.05, (10, 4))
    h = nambu_hamiltonian(xi, 0.0)
    gamma = rng.uniform(5e-4, 2e-3, (10, 4))
    for mu, T in ((0.0, 0.0), (3e-3, 0.0), (-2e-3, 1e-3)):
        m = nambu_chemical_potentials(np.full(4, mu))
        chi = pair_response_poles(h, gamma, 2 * mu, m, T)
        assert np.max(np.abs(chi.imag)) <= 1e-12 * np.max(np.abs(chi))
        # and not real away from it
        assert np.max(np.abs(pair_response_poles(h, gamma, 2 * mu + 1e-3, m, T).imag)) > 1e-3 * np.max(np.abs(chi))


# ----------------------------------------------------------------------------
# 3. block-triangular embedding: an independent pole sum (keldysh.greens.pair_integral)
# ----------------------------------------------------------------------------
def rho8_offdiagonal(H, gamma, m, T):
    """Top-right 4x4 block of ∫ dω/2π G8 2Γn G8† for the 8x8 (non-Hermitian) H, from its
    eigendecomposition and pair_integral (no symmetrisation: the 8x8 result is not Hermitian)."""
    lam, R = np.linalg.eig(H - 1j * np.diag(gamma))
    L = np.linalg.inv(R)
    A = R[:, :, None] * L[None, :, :]  # A[a, j, i] = R_aj L_ji
    I = pair_integral(lam[:, None, None], lam[None, :, None], m[None, None, :], T[None, None, :])
    rho = np.einsum("aji,bli,jli->ab", A, np.conj(A), I * (2 * gamma)[None, None, :])
    return rho[:4, 4:]


@pytest.mark.parametrize("hole_drive", [False, True])
@pytest.mark.parametrize("T", [0.0, 1.5e-3])
@pytest.mark.parametrize("z", [3e-3, -1e-2 + 1e-3j])
def test_embedding_8x8(hole_drive, T, z):
    """[[h - z, δh], [0, h]] has the resolvent block G^R(ω + z) δh G^R(ω) (term 1) and
    [[h, 0], [δh†, h + z̄]] has G^R(ω - z̄) δh† G^R(ω), whose lesser block gives P δh G^A(ω - z)
    (term 2); away from the pair resonance the 8x8 poles are distinct."""
    h, gamma, m = random_normal_blocks(4, seed=11, hole_drive=hole_drive)
    chi = pair_response_poles(h, gamma, z, m, T)
    for k in range(4):
        g8 = np.concatenate([gamma[k], gamma[k]])
        m8 = np.concatenate([m[k], m[k]])
        T8 = np.full(8, T)
        ref = np.empty((2, 2), complex)
        for b, ((ib, jb), sb) in enumerate(PAIRS):
            dh = np.zeros((4, 4))
            dh[ib, jb] = sb
            H1 = np.block([[h[k] - z * np.eye(4), dh], [np.zeros((4, 4)), h[k]]])
            H2 = np.block([[h[k], np.zeros((4, 4))], [dh.T, h[k] + np.conj(z) * np.eye(4)]])
            X = rho8_offdiagonal(H1, g8, m8, T8) + rho8_offdiagonal(H2, g8, m8, T8)
            for a, ((ia, ja), sa) in enumerate(PAIRS):
                ref[a, b] = sa * X[ia, ja]
        assert rel(chi[k], ref) <= 1e-10


# ----------------------------------------------------------------------------
# 4. confluent poles: the pair resonance and z = 0 with equal rates
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("hole_drive", [0.0, 1.5e-3])
@pytest.mark.parametrize("T", [0.0, 1e-3, 3e-2])
def test_pair_resonance_is_finite_continuous_and_exact(hole_drive, T):
    """Equal rates: z = Re(λ_p - λ_q) (p particle, q hole) makes a = λ_p - z and b = λ_q (and
    λ̄_r, λ̄_p + z) coincide.  At and 1e-14..1e-6 away from it the result is finite, moves by
    no more than its derivative allows, and equals the quadrature."""
    G = 5e-4
    h = nambu_hamiltonian(np.array([-0.1, 0.101, -0.1, 0.1012]), 2e-3)[None]
    h[0, 2, 3] = -hole_drive * np.exp(0.3j)
    h[0, 3, 2] = np.conj(h[0, 2, 3])
    gamma = np.full(4, G)
    m = nambu_chemical_potentials(np.array([0.05, -0.05, 0.05, -0.05]))
    pr = PoleResponse(h, gamma, m, T)
    lam = pr.quasi_energies[0]
    for p in (0, 1):
        for q in (2, 3):
            z0 = (lam[p] - lam[q]).real
            c0 = pr.samples(z0)[0]
            assert np.all(np.isfinite(c0))
            ref = quadrature(h, gamma, z0, m, T, n_per_panel=80)[0]
            scale = np.max(np.abs(ref))
            assert np.max(np.abs(c0 - ref)) <= 1e-9 * scale
            # |dchi/dz| ≲ |chi| / Γ_pair; allow rounding 1e-10 of the Pauli-blocked cancellations
            for dz in (1e-14, 1e-12, 1e-10, 1e-8, 1e-6):
                c = pr.samples(z0 + dz)[0]
                assert np.max(np.abs(c - c0)) <= 4 * dz / G * scale + 1e-10 * scale
            c = pr.samples(z0 + 1e-6)[0]
            assert np.max(np.abs(c - quadrature(h, gamma, z0 + 1e-6, m, T, n_per_panel=80)[0])) <= 1e-9 * scale


@pytest.mark.parametrize("T", [0.0, 2e-3])
def test_zero_frequency_with_degenerate_pair(T):
    """z = 0 with equal rates and xi'_k2 = -xi'_-k1: the particle and hole poles coincide (pair
    energy 0); also with a frozen occupation and against the Born-Markov closed form."""
    h = nambu_hamiltonian(np.array([-0.03, 0.02, -0.02, 0.04]), 1e-3)[None]
    gamma = np.full(4, 7e-4)
    m = nambu_chemical_potentials(np.array([0.01, -0.01, 0.01, -0.01]))
    chi = pair_response_poles(h, gamma, 0.0, m, T)
    assert np.all(np.isfinite(chi))
    assert rel(chi, quadrature(h, gamma, 0.0, m, T, n_per_panel=80)) <= 1e-10
    frozen = np.array([1.0, 0.0, 0.0, 1.0])
    chi_f = pair_response_poles(h, gamma, 0.0, m, T, frozen)
    assert rel(chi_f, sylvester_matrix(h, gamma, 0.0, frozen)) <= 1e-12


# ----------------------------------------------------------------------------
# 5. numba == numpy twin; weighted sums; bad inputs
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("hole_drive", [False, True])
def test_numba_equals_numpy_twin(hole_drive):
    h, gamma, m = random_normal_blocks(10, seed=21, hole_drive=hole_drive)
    frozen = np.array([-1.0, 0.2, -1.0, -1.0])
    for T in (0.0, 1e-3, np.array([1e-3, 0.0, 2e-3, 5e-4])):
        for z in (0.0, 1.7e-2, -4e-3 + 3e-3j):
            for fz in (None, frozen):
                a = pair_response_poles(h, gamma, z, m, T, fz)
                b = pair_response_poles_numpy(h, gamma, z, m, T, fz)
                # scipy's complex ψ is good to ~1e-13 relative
                assert rel(a, b) <= 1e-11


def test_weighted_sum_equals_sum_of_samples():
    h, gamma, m = random_normal_blocks(30, seed=8, hole_drive=True)
    w = np.random.default_rng(1).uniform(0, 1, 30)
    w[3] = 0.0
    pr = PoleResponse(h, gamma, m, 1e-3)
    zs = np.array([0.0, 1e-3, 2e-3 + 1e-3j])
    total = pr.weighted_sum(zs, w)
    assert total.shape == (3, 2, 2)
    for i, z in enumerate(zs):
        assert np.allclose(total[i], np.einsum("k,kab->ab", w, pr.samples(z)), rtol=1e-13, atol=0)
    assert np.allclose(pr.weighted_sum(1e-3, w)[0], total[1], rtol=1e-15, atol=0)
    assert np.array_equal(pr.samples(1e-3), pair_response_poles(h, gamma, 1e-3, m, 1e-3))


def test_bad_inputs_raise():
    h, gamma, m = random_normal_blocks(3, seed=1, hole_drive=False)
    pr = PoleResponse(h, gamma, m, 0.0)
    with pytest.raises(ValueError, match="z: .*Im z >= 0"):
        pr.samples(1e-3 - 1e-4j)
    with pytest.raises(ValueError, match="z_values: .*Im z >= 0"):
        pr.weighted_sum([0.0, -1e-3j], np.ones(3))
    with pytest.raises(ValueError, match="z_values: must be finite"):
        pr.weighted_sum([np.nan], np.ones(3))
    with pytest.raises(ValueError, match="z_values: must be a scalar or 1-d"):
        pr.weighted_sum(np.zeros((2, 2)), np.ones(3))
    with pytest.raises(ValueError, match=r"weights: must have shape \(3,\)"):
        pr.weighted_sum([0.0], np.ones(4))
    with pytest.raises(ValueError, match="weights: must be real"):
        pr.weighted_sum([0.0], np.ones(3) * 1j)
    with pytest.raises(ValueError, match="z: must be a scalar"):
        pr.samples([0.0, 1.0])
    with pytest.raises(ValueError, match="z: .*Im z >= 0"):
        pair_response_poles_numpy(h, gamma, -1j, m)
    with pytest.raises(ValueError, match="z: .*Im z >= 0"):
        pair_response_matrix_quadrature(h, gamma, -1j, np.zeros(3), np.ones(3), m)
    gapped = nambu_hamiltonian(np.zeros(4), 1e-3, delta_plus=1e-3)[None]
    with pytest.raises(ValueError, match="h: must be block diagonal"):
        PoleResponse(gapped, gamma[:1], m[:1])
    bad = h.copy()
    bad[0, 0, 1] += 1e-3
    with pytest.raises(ValueError, match="h: must be Hermitian"):
        PoleResponse(bad, gamma, m)
    with pytest.raises(ValueError, match="gamma"):
        PoleResponse(h, np.zeros(4), m)
    with pytest.raises(ValueError, match="temperature"):
        PoleResponse(h, gamma, m, -1.0)
    # exceptional point of the particle block: zero detuning, |Ω| = |Γ0 - Γ1|/2
    ep = nambu_hamiltonian(np.array([0.01, 0.01, 0.0, 0.02]), 5e-4)[None]
    with pytest.raises(ValueError, match="exceptional point"):
        PoleResponse(ep, np.array([1e-3, 2e-3, 1e-3, 1e-3]), m[:1])


# ----------------------------------------------------------------------------
# 6. the oracle value of spec §8
# ----------------------------------------------------------------------------
def test_spec_section8_oracle_value():
    """Single k, Born-Markov (band-1 particles full, band-2 empty: particle occupations
    (1, 0, 1, 0) as keldysh.single_k passes them, Nambu (1, 0, 0, 1)), xi' = (-0.1, 0.101, -0.1),
    Ω = 0.002, rates 5e-4: <c_-k1 c_k2>/Δ_+ = 0.0487373 + 0.0487591 i."""
    xi = np.array([-0.1, 0.101, -0.1, 0.101])
    h = nambu_hamiltonian(xi, 0.002)[None]
    frozen = nambu_occupations(np.array([1.0, 0.0, 1.0, 0.0]))
    assert np.array_equal(frozen, [1.0, 0.0, 0.0, 1.0])
    chi = pair_response_poles(h, np.full(4, 5e-4), 0.0, frozen=frozen)[0]
    assert chi[0, 0].real == pytest.approx(0.0487373, abs=1e-7)
    assert chi[0, 0].imag == pytest.approx(0.0487591, abs=1e-7)
    # and the finite-Δ_+ difference of the single-k API (an independent path: Lyapunov at Δ ≠ 0)
    from keldysh.single_k import correlators
    d = 1e-7
    rho = correlators(xi, 0.002, np.full(4, 5e-4), delta_plus=d, occupation=[1.0, 0.0, 1.0, 0.0])
    assert rho[1, 2] / d == pytest.approx(chi[0, 0], rel=1e-6)
