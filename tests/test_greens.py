"""Green's functions, frequency grids and the exact pole sum (spec §3, §7)."""
import numpy as np
import pytest

from keldysh.frequency import FrequencyGrid, stack_grids
from keldysh.greens import (adapted_grids, keldysh_gf, lesser_gf, occupation, retarded_gf,
                            retarded_gf_numpy, rho_pole_sum, rho_quadrature,
                            rho_quadrature_numpy, spectral_function)
from keldysh.lyapunov import lyapunov_steady_state
from keldysh.nambu import nambu_chemical_potentials, nambu_hamiltonian

PAPER_BATHS = np.array([0.5, -0.5, 0.5, -0.5])  # x omega0


def random_blocks(n, seed=0, scale=0.05):
    rng = np.random.default_rng(seed)
    xi = rng.uniform(-scale, scale, (n, 4))
    rabi = rng.uniform(0, 4e-3, n)
    dp = rng.normal(0, 1e-3, n) + 1j * rng.normal(0, 1e-3, n)
    dm = rng.normal(0, 1e-3, n) + 1j * rng.normal(0, 1e-3, n)
    h = nambu_hamiltonian(xi, rabi, dp, dm)
    gamma = rng.uniform(5e-4, 2e-3, (n, 4))
    m = nambu_chemical_potentials(PAPER_BATHS * 0.2 + rng.normal(0, 1e-3, 4))
    return h, gamma, np.tile(m, (n, 1))


def test_single_level_retarded_is_exact_lorentzian():
    xi, gam = 0.37, 2e-3
    h = np.diag([xi, -1.0, 2.0, 0.5]).astype(complex)
    w = np.linspace(-1, 1, 101)
    g = retarded_gf(h[None], [gam, 1, 1, 1], w)[0]
    assert np.allclose(g[:, 0, 0], 1 / (w - xi + 1j * gam), rtol=1e-13, atol=0)
    assert np.allclose(g[:, 0, 1:], 0)


def test_numba_kernels_equal_numpy_twins():
    h, gamma, m = random_blocks(5)
    w = np.linspace(-0.3, 0.3, 57)
    gr = retarded_gf(h, gamma, w)
    assert np.allclose(gr, retarded_gf_numpy(h, gamma, w), rtol=1e-12, atol=1e-12 * np.abs(gr).max())
    wt = np.full(w.shape, w[1] - w[0])
    for T in (0.0, 1e-3):
        a = rho_quadrature(h, gamma, w, wt, m, T)
        b = rho_quadrature_numpy(h, gamma, w, wt, m, T)
        assert np.allclose(a, b, rtol=1e-12, atol=1e-14)
    fz = np.array([1.0, 0.0, 0.3, -1.0])
    assert np.allclose(rho_quadrature(h, gamma, w, wt, m, 0.0, fz),
                       rho_quadrature_numpy(h, gamma, w, wt, m, 0.0, fz), rtol=1e-12, atol=1e-14)


def test_equilibrium_fdt_and_sum_rule():
    """No drive, no gap, every mode in equilibrium with its bath: G^K = (G^R - G^A)(1 - 2n)."""
    xi = np.array([-0.2, 0.15, -0.1, 0.3])
    h = nambu_hamiltonian(xi, 0.0)[None]
    gamma = np.array([1e-3, 2e-3, 1e-3, 2e-3])
    m = nambu_chemical_potentials([0.01, -0.02, 0.0, 0.05])
    T = 5e-3
    w = np.linspace(-0.5, 0.5, 2001)
    gr = retarded_gf(h, gamma, w)[0]
    ga = np.conj(np.swapaxes(gr, -1, -2))
    gk = keldysh_gf(h, gamma, w, m, T)[0]
    n = occupation(w, m, T)
    expect = (gr - ga) * (1 - 2 * n)[:, None, :]
    assert np.allclose(gk, expect, atol=1e-12 * np.abs(gk).max())
    gl = lesser_gf(h, gamma, w, m, T)[0]
    assert np.allclose(gl, -(gr - ga) * n[:, None, :], atol=1e-12 * np.abs(gl).max())
    # G^K = G^> + G^<  and  G^R - G^A = G^> - G^<
    A = spectral_function(h, gamma, w)[0]
    assert np.allclose(A, 1j * (gr - ga))
    assert np.all(np.linalg.eigvalsh(A) > -1e-12)
    # sum rule ∫ A dω/2π = 1 per mode, on an adapted grid
    z = np.linalg.eigvals(h[0] - 1j * np.diag(gamma))
    grid = FrequencyGrid.adapted(z, [], 0.0, 40)
    Aw = spectral_function(h, gamma, grid.points)[0]
    norm = grid.integrate(Aw) / (2 * np.pi)
    assert np.allclose(norm, np.eye(4), atol=1e-10)


def test_spectral_sum_rule_driven_gapped_block():
    h, gamma, m = random_blocks(1, seed=3)
    z = np.linalg.eigvals(h[0] - 1j * np.diag(gamma[0]))
    grid = FrequencyGrid.adapted(z, [], 0.0, 40)
    norm = grid.integrate(spectral_function(h, gamma, grid.points)[0]) / (2 * np.pi)
    assert np.allclose(norm, np.eye(4), atol=1e-10)


@pytest.mark.parametrize("T", [0.0, 1e-4, 1e-2])
def test_adapted_grid_matches_pole_sum(T):
    """The adapted quadrature equals the exact pole sum to 1e-8 with <= 400 points."""
    h, gamma, m = random_blocks(8, seed=1)
    Ts = np.full((8, 4), T)
    exact = rho_pole_sum(h, gamma, m, Ts)
    w, wt = adapted_grids(h, gamma, m, Ts, n_per_panel=20)
    assert w.shape[1] <= 400
    quad = rho_quadrature(h, gamma, w, wt, m, Ts)
    err = np.abs(quad - exact).max(axis=(1, 2)) / np.abs(exact).max(axis=(1, 2))
    assert err.max() < 1e-8
    # convergence: more points, smaller error (not a lucky coincidence)
    w2, wt2 = adapted_grids(h, gamma, m, Ts, n_per_panel=10)
    err2 = np.abs(rho_quadrature(h, gamma, w2, wt2, m, Ts) - exact).max()
    assert err2 > np.abs(quad - exact).max()


def test_pole_sum_against_brute_force_uniform_grid():
    """Independent check of the closed-form integrals (logarithms, digamma)."""
    h, gamma, m = random_blocks(1, seed=7, scale=0.02)
    gamma = gamma * 20  # broad Lorentzians so that a uniform grid converges
    for T in (0.003, 0.01):  # smooth n(ω): the trapezoid rule converges fast
        exact = rho_pole_sum(h, gamma, m, T)[0]
        grid = FrequencyGrid.uniform(-2000.0, 2000.0, 4_000_001)
        quad = rho_quadrature(h, gamma, grid.points, grid.weights, m, T)[0]
        # tails beyond ±2000 contribute O(Γ/2000) to the diagonal
        assert np.abs(quad - exact).max() < 2e-5


def test_frozen_occupation_keldysh_equals_lyapunov():
    """Keldysh with frozen occupations equals the Lyapunov solution (<= 1e-9 relative)."""
    h, gamma, m = random_blocks(6, seed=2)
    n = np.random.default_rng(5).uniform(0, 1, (6, 4))
    lyap = lyapunov_steady_state(h, gamma, n)
    poles = rho_pole_sum(h, gamma, m, 0.0, frozen=n)
    assert np.abs(poles - lyap).max() / np.abs(lyap).max() < 1e-12
    w, wt = adapted_grids(h, gamma, m, 0.0, n_per_panel=24)
    quad = rho_quadrature(h, gamma, w, wt, m, 0.0, frozen=n)
    assert np.abs(quad - lyap).max() / np.abs(lyap).max() < 1e-9


def test_rho_is_a_valid_density_matrix():
    h, gamma, m = random_blocks(4, seed=9)
    rho = rho_pole_sum(h, gamma, m, 1e-3)
    assert np.allclose(rho, np.conj(np.swapaxes(rho, -1, -2)))
    ev = np.linalg.eigvalsh(rho)
    assert np.all(ev > -1e-12) and np.all(ev < 1 + 1e-12)


def test_frequency_grid_validation():
    with pytest.raises(ValueError, match="increasing"):
        FrequencyGrid(np.array([0.0, 0.0, 1.0]), np.ones(3))
    with pytest.raises(ValueError, match="finite"):
        FrequencyGrid(np.array([0.0, np.nan]), np.ones(2))
    with pytest.raises(ValueError, match=">= 0"):
        FrequencyGrid(np.array([0.0, 1.0]), np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="lower half plane"):
        FrequencyGrid.adapted([0.1 + 0.0j])
    with pytest.raises(ValueError, match="n_omega"):
        FrequencyGrid.uniform(-1, 1, 1)
    g = FrequencyGrid.uniform(-1, 1, 201)
    assert g.resolves(0.0101) and not g.resolves(1e-3)
    assert g.integrate(np.ones(201)) == pytest.approx(2.0)
    P, W = stack_grids([g, FrequencyGrid.uniform(0, 1, 5)])
    assert P.shape == (2, 201) and W[1, 5:].sum() == 0


def test_gf_input_validation():
    with pytest.raises(ValueError, match="gamma"):
        retarded_gf(np.zeros((1, 4, 4)), [0, 1, 1, 1], [0.0])
    with pytest.raises(ValueError, match="h"):
        retarded_gf(np.zeros((1, 3, 3)), [1, 1, 1, 1], [0.0])


def test_fast_kernels_equal_generic_kernels():
    """Closed-form chain/normal-state kernels vs the generic Gauss-Jordan kernels."""
    from keldysh.greens import _prep_occ, pair_response_quadrature, response_grids
    from keldysh.kernels import _pair_response_batch, _rho_batch

    h, gamma, m = random_blocks(6, seed=11)
    for T in (0.0, 2e-3):
        w, wt = adapted_grids(h, gamma, m, T)
        mm, TT, fz = _prep_occ(6, m, T, None)
        ref = np.empty((6, 4, 4), complex)
        _rho_batch(h, gamma, mm, TT, fz, w, wt, ref)
        assert np.allclose(rho_quadrature(h, gamma, w, wt, m, T), ref, rtol=1e-12, atol=1e-15)
        h0 = nambu_hamiltonian(np.real(np.diagonal(h, axis1=1, axis2=2)) * [1, 1, -1, -1], h[:, 0, 1].real)
        for z in (0.0, 3e-4, 1e-4 + 2e-4j):
            wr, wtr = response_grids(h0, gamma, m, T, z)
            out = np.empty((6, 2), complex)
            _pair_response_batch(h0, gamma, mm, TT, fz, complex(z), wr, wtr, out)
            fast = pair_response_quadrature(h0, gamma, z, wr, wtr, m, T)
            assert np.allclose(fast, out, rtol=1e-11, atol=1e-14 * np.abs(out).max())


def test_numba_fermi_function_equals_its_numpy_twin():
    """keldysh.kernels._nf (exp form, cut-off tails) against keldysh.baths.fermi (tanh form)."""
    from keldysh.baths import fermi
    from keldysh.kernels import _nf

    for T in (0.0, 1e-3, 0.3):
        x = np.concatenate([np.linspace(-60, 60, 241) * max(T, 1e-3), [0.0]])
        kernel = np.array([_nf(v, T) for v in x])
        assert np.allclose(kernel, fermi(x, T), rtol=1e-14, atol=5e-17)
    assert _nf(0.0, 0.0) == 0.5 and _nf(-1e-300, 0.0) == 1.0 and _nf(1e-300, 0.0) == 0.0


def test_batched_grids_equal_single_grids():
    from keldysh.frequency import adapted_batch

    h, gamma, m = random_blocks(5, seed=4)
    z = np.linalg.eigvals(h - 1j * gamma[:, :, None] * np.eye(4))
    for T in (0.0, 1e-3):
        P, W = adapted_batch(z, m, np.full(5, T), 12)
        for k in range(5):
            g = FrequencyGrid.adapted(z[k], m[k], T, 12)
            assert np.array_equal(P[k, : len(g)], g.points) and np.array_equal(W[k, : len(g)], g.weights)
            assert np.all(W[k, len(g):] == 0)
