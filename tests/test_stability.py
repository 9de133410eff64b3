"""Growth rates, mean-field dynamics, nonlinear gap, fast-intraband (the full criterion itself:
tests/test_full_criterion.py)."""
import numpy as np
import pytest

from keldysh.baths import BathSet, fermi
from keldysh.kmesh import EnergyMesh, Resonance
from keldysh.lattice import HoneycombModel
from keldysh.nambu import DrivenSystem
from solvers.dynamics import fit_growth_rate, integrate, linear_spectrum
from solvers.fast_intraband import mu1_from_conservation, polarisation, quasi_thermal_system
from solvers.gap import solve_gap
from solvers.stability import ChiEvaluator, pair_susceptibility, route_samples

from flat_pair import G1, G2, GAMMA, MU, inverted_modes  # noqa: E402  (tests/flat_pair.py)


def assert_same_multiset(actual, expected, tol):
    """The complex numbers ``actual`` equal ``expected`` as multisets, each to ``tol``.

    Order-free (LAPACK returns eigenvalues in an order that depends on rounding, and ties in
    Re λ are common here): the optimal one-to-one pairing is found first.  Distinct expected
    values are checked to lie more than 4 tol apart, so the pairing is unambiguous."""
    from scipy.optimize import linear_sum_assignment

    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    gaps = np.abs(expected[:, None] - expected[None, :])
    assert np.all((gaps <= tol) | (gaps > 4 * tol)), "expected values too close to pair them"
    distance = np.abs(actual[:, None] - expected[None, :])
    rows, cols = linear_sum_assignment(distance)
    assert distance[rows, cols].max() <= tol, (actual[rows], expected[cols])


def undressed_spectrum(modes, P, V, v):
    """Closed-form eigenvalues of the linearised dynamics for :func:`inverted_modes` (Ω = 0).

    X_ij = δrho[i, j] (i particle, j hole) evolves at λ = -(Γ_i + Γ_j) - i (xi_i + xi_j).  The
    pair coherences X_12, X_03 all sit at the flat pair energy, λ0 = -Γ + 2iμ (spec §2); the
    gap feedback acts on their two weighted sums only, moving one pair of modes to
    λ0 ± P sqrt(v² - V²) (spec §6) and leaving 2M - 2 dark modes at λ0.  X_02 and X_13 are
    not coupled to Δ."""
    x, g = modes.xi, modes.gamma
    flat = -GAMMA + 2j * MU
    root = P * np.sqrt(complex(v**2 - V**2))
    return np.concatenate([[flat + root, flat - root], np.full(2 * len(modes) - 2, flat),
                           -2j * x[:, 0] - 2 * g[:, 0], -2j * x[:, 3] - 2 * g[:, 3]])


@pytest.mark.parametrize("V, v", [(0.0, 0.5), (0.1, 0.5), (-0.2, 0.5), (0.3, 0.4), (0.5, 0.1), (0.4, 0.0)])
def test_growth_rate_formula_undressed(V, v):
    """Spec §6: λ = -Γ ± P sqrt(v² - V²) at -Im λ = E = -2μ (for |V| > v the pair splits in
    frequency instead, -Im λ = -2μ ∓ P sqrt(V² - v²), and Re λ = -Γ).

    The whole spectrum is compared with its closed form as a multiset: with Ω = 0 and equal
    rates every eigenvalue but the collective pair has Re λ = -Γ, so "the first after a sort by
    Re λ" is chosen by LAPACK's rounding and is not the collective mode."""
    modes, P = inverted_modes()
    lam = linear_spectrum(modes, V, v * np.exp(0.7j))
    assert_same_multiset(lam, undressed_spectrum(modes, P, V, v), tol=1e-12)
    growth = -GAMMA + P * np.sqrt(complex(v**2 - V**2)).real
    assert lam.real.max() == pytest.approx(growth, abs=1e-12)


@pytest.mark.parametrize("V, v", [(0.1, 0.5), (0.0, 0.45)])
def test_time_integration_reproduces_linear_rate(V, v):
    """The nonlinear integration from a tiny seed grows at -Γ + P sqrt(v² - V²) (spec §6)."""
    modes, P = inverted_modes()
    rate = -GAMMA + P * np.sqrt(v**2 - V**2)
    assert linear_spectrum(modes, V, v).real.max() == pytest.approx(rate, abs=1e-12)
    tr = integrate(modes, V, v, t_end=8.0 / rate, seed=1e-12, n_out=300)
    assert fit_growth_rate(tr.t, tr.delta_plus, (0.3, 0.9)) == pytest.approx(rate, rel=0.01)


def test_dressed_linear_spectrum_matches_time_integration_and_full_criterion():
    """Driven system (Rabi dressing on): the BM eigenvalue, the time integration and the
    root of det[1 - M chi(z)] agree."""
    system = DrivenSystem(HoneycombModel(1.0), 1.1, 3e-3, BathSet.paper(G1, G2, MU), MU)
    mesh = EnergyMesh.resonant(system.model, Resonance.drive(1.1, 6e-3), 60, 10)
    modes = system.modes(mesh)
    V, v = 0.0, 60.0  # strong V' so that the driven system is unstable
    lam = linear_spectrum(modes, V, v)
    growing = lam[lam.real > 0]  # selected by a property, not by position in LAPACK's output
    assert growing.size >= 1
    rate = lam.real.max()
    tr = integrate(modes, V, v, t_end=10.0 / rate, seed=1e-13, n_out=300)
    assert fit_growth_rate(tr.t, tr.delta_plus, (0.4, 0.9)) == pytest.approx(rate, rel=0.01)
    # every growing mode's z = iλ solves det[1 - M chi(z)] = 0 with the exact BM chi
    for z in 1j * growing:
        chi = modes.weight @ route_samples("born_markov", modes, z).reshape(len(modes), 4)
        cp, cm = chi[0], chi[3]
        assert abs(1 - V * (cp + cm) + (V**2 - v**2) * cp * cm) < 1e-8


def test_nonlinear_gap_solution_matches_time_integration():
    """Where the full criterion finds an instability (|V'| > |V|, enough excitation), the
    solver's nonzero (Δ, ν) solves the gap equation to 1e-10, and the time integration
    from a small seed settles on it within 1e-6."""
    model = HoneycombModel(1.0)
    system = quasi_thermal_system(model, 1e-3, MU, 0.56)
    mesh = EnergyMesh.resonant(model, Resonance.drive(1.02, 0.01), 40, 20)
    modes = system.modes(mesh)
    V, v = 0.0, 1.0
    assert linear_spectrum(modes, V, v).real.max() > 0
    tr = integrate(modes, V, v, t_end=3e5, seed=1e-7, n_out=200)
    ph = np.unwrap(np.angle(tr.delta_plus[-40:]))
    nu_t = -(ph[-1] - ph[0]) / (tr.t[-1] - tr.t[-40])
    res = solve_gap(system, mesh, V, v, route="born_markov")  # no guess: log-amplitude starts
    assert res.converged and res.residual < 1e-10
    assert abs(res.delta_plus) == pytest.approx(abs(tr.delta_plus[-1]), rel=1e-6)
    assert abs(res.delta_minus) == pytest.approx(abs(tr.delta_minus[-1]), rel=1e-6)
    assert res.nu == pytest.approx(nu_t, abs=1e-6 * abs(nu_t) + 1e-12)
    # history: the residual at every evaluation of the accepted run (whether nfev counts scipy's
    # extra shape-check call depends on its version), falling from O(1) to the solution
    assert res.iterations <= len(res.history) <= res.iterations + 1
    assert np.all(np.isfinite(res.history)) and res.history.min() < 1e-10 * res.history[0]


def test_no_fake_convergence_when_normal_state_is_stable():
    model = HoneycombModel(1.0)
    system = quasi_thermal_system(model, 1e-3, MU, 0.56)
    mesh = EnergyMesh.resonant(model, Resonance.drive(1.02, 0.01), 40, 20)
    modes = system.modes(mesh)
    V, v = 0.5, 0.1  # |V| > |V'|: the full criterion says stable
    assert linear_spectrum(modes, V, v).real.max() < 0
    res = solve_gap(system, mesh, V, v, route="born_markov")
    assert not res.converged
    assert "no nonzero solution" in res.reason
    assert len(res.attempts) >= 5
    # the evidence: every start, small or large, collapsed onto the normal state Δ = 0
    for a in res.attempts:
        assert a["final_amplitude"] < 1e-6 * a["start_amplitude"], a
    tr = integrate(modes, V, v, t_end=2e4, seed=1e-6, n_out=50)
    assert abs(tr.delta_plus[-1]) < 1e-3 * abs(tr.delta_plus[0])


# ---------------------------------------------------------------------------
# fast-intraband limit (spec §5)
# ---------------------------------------------------------------------------
def test_mu1_conserves_particle_number():
    model = HoneycombModel(0.25)
    mesh = EnergyMesh.resonant(model, Resonance.drive(0.5, 0.01), 60, 60)
    for mu2, T in ((0.2, 0.0), (0.3, 0.01)):
        mu1 = mu1_from_conservation(mu2)
        electrons = mesh.weights @ fermi(mesh.energies - mu2, T)
        holes = mesh.weights @ (1 - fermi(-mesh.energies - mu1, T))
        assert electrons == pytest.approx(holes, rel=1e-12)


def test_polarisation_lab_reading():
    model = HoneycombModel(0.25)
    assert polarisation(model, 0.2) == pytest.approx(0.0045, abs=5e-5)  # spec §5: 0.45 %
    assert polarisation(model, 0.1) == 0.0  # below the band edge δ/2
    # the other reading measures μ2 from the band-2 edge δ/2 (spec §5)
    assert polarisation(model, 0.2, reading="band_edge") == pytest.approx(
        polarisation(model, 0.2 + 0.125), rel=1e-12)
    assert polarisation(model, 0.2, reading="band_edge") > 3 * polarisation(model, 0.2)


def test_fast_intraband_routes():
    """Paper route = exact BM with no drive (no dressing); Keldysh close for Γ12 ≪ everything."""
    model = HoneycombModel(0.25)
    system = quasi_thermal_system(model, 1e-3, -5e-4, 0.2)
    mesh = EnergyMesh.resonant(model, Resonance.drive(0.4, 0.01), 60, 60)
    paper = ChiEvaluator("paper", system, mesh).static()  # Eq. (13)
    bm = pair_susceptibility(system, mesh, route="born_markov")
    assert bm[0, 0].real == pytest.approx(paper[0, 0].real, rel=1e-10)
    assert bm[1, 1].real == pytest.approx(paper[1, 1].real, rel=1e-10)
    # F_+ = (E/(E²+Γ12²)) Σ n22 = P/2 /(2Γ12) at μ = -Γ12/2
    P = polarisation(model, 0.2, mesh=mesh)
    assert paper[0, 0].real == pytest.approx(P / 2 / (2 * 1e-3), rel=1e-10)
    ke = pair_susceptibility(system, mesh, route="keldysh")
    assert ke[0, 0].real == pytest.approx(bm[0, 0].real, rel=0.02)  # measured: 1.0 %
    assert ke[1, 1].real == pytest.approx(bm[1, 1].real, rel=0.02)  # measured: 0.7 %
