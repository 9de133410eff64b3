"""The full criterion (solvers.stability.nyquist) and the certified phase point
(solvers.stability.pipeline) against independent oracles: the closed-form growth rates of the
flat pair (spec §6), the eigenvalues of the linearised Born-Markov dynamics, a brute-force
Nyquist count on a dense grid, and the serializer's round trip."""
import numpy as np
import pytest

from keldysh.baths import BathSet
from keldysh.frequency import FrequencyGrid
from keldysh.kmesh import EnergyMesh, Resonance
from keldysh.lattice import HoneycombModel
from keldysh.nambu import DrivenSystem
from solvers import born_markov
from solvers.dynamics import linear_spectrum
from solvers.stability import (ChiEvaluator, StabilityOptions, phase_point, point_from_tree, scan_real_axis,
                               shell_mesh, stack_points)
from solvers.stability import nyquist
from solvers.stability.nyquist import winding_counts

from flat_pair import G1, G2, GAMMA, MU, inverted_modes  # noqa: E402  (tests/flat_pair.py)

E = -2 * MU


def bm_chi(modes, dressed=True):
    """chi(ν) (n, 2, 2) of the Born-Markov closed form (numpy twin), for ``modes``."""
    def chi(nus):
        cp, cm = born_markov.pair_response(modes, np.asarray(nus, dtype=complex), dressed=dressed)
        out = np.zeros((len(nus), 2, 2), complex)
        out[:, 0, 0], out[:, 1, 1] = cp @ modes.weight, cm @ modes.weight
        return out
    return chi


def start_grid(width=GAMMA):
    return FrequencyGrid.adapted(np.array([E - 1j * width]), [], 0.0, 8).points


def test_flat_pair_boundaries_and_counts():
    """Spec §6: λ = -Γ ± P sqrt(v² - V²) — unstable for |V| < sqrt(v² - Γ²/P²), one growing
    mode, onset at ν = E; no boundary if v < Γ/P."""
    modes, P = inverted_modes()
    v = 0.5
    scan = scan_real_axis(bm_chi(modes), v, 5.0, start_grid(), E)
    Vc = np.sqrt(v**2 - (GAMMA / P) ** 2)
    assert scan.V_c == pytest.approx([-Vc, Vc], rel=1e-9)
    assert [b.nu for b in scan.boundaries] == [pytest.approx((E,), abs=1e-12)] * 2
    assert [b.jump for b in scan.boundaries] == [1, -1]
    assert scan.counts.tolist() == [0, 1, 0] and scan.status == "ok"
    # the linear spectrum agrees: unstable inside, stable outside
    assert linear_spectrum(modes, 0.9 * Vc, v).real.max() > 0 > linear_spectrum(modes, 1.1 * Vc, v).real.max()
    weak = scan_real_axis(bm_chi(modes), 0.9 * GAMMA / P, 5.0, start_grid(), E)
    assert weak.V_c.size == 0 and weak.counts.tolist() == [0]


def test_counts_equal_eigenvalue_counts_of_the_linearised_dynamics():
    """Dressed drive (Rabi dressing on): the Nyquist count of every interval equals the number
    of eigenvalues with Re λ > 0 of the linearised Born-Markov dynamics at its midpoint."""
    system = DrivenSystem(HoneycombModel(1.0), 1.1, 3e-3, BathSet.paper(G1, G2, MU), MU)
    mesh = EnergyMesh.resonant(system.model, Resonance.drive(1.1, 6e-3), 60, 10)
    modes = system.modes(mesh)
    for v in (30.0, 60.0):
        scan = scan_real_axis(bm_chi(modes), v, 120.0, start_grid(4e-3), E)
        assert scan.status in ("ok", "warning"), scan.warnings
        assert len(scan.boundaries) >= 1  # the test can fail: there is an unstable window
        edges = np.concatenate([[-120.0], scan.V_c, [120.0]])
        for lo, hi, count in zip(edges[:-1], edges[1:], scan.counts):
            V = 0.5 * (lo + hi)
            lam = linear_spectrum(modes, V, v)
            assert count == int(np.sum(lam.real > 1e-12 * np.abs(lam).max())), (v, V, count)


def test_fig3a_strong_drive_against_a_dense_brute_force_count():
    """Ω = 100 Γ, |V'| = t (Fig. 3a): every interval's count equals the winding number of D on a
    dense uniform grid (no adaptivity), and the ±ν pairs at the same V merge into one boundary
    of jump 2 (chi(E + x) = conj chi(E - x) for this valley drive)."""
    s = DrivenSystem(HoneycombModel(5.0), 5.1, 100 * GAMMA, BathSet.paper(G1, G2, MU), MU)
    ev = ChiEvaluator("born_markov", s, shell_mesh(s))
    scan = scan_real_axis(ev, 1.0, 10.0, start_grid(), E)
    assert scan.status == "ok"
    assert scan.V_c == pytest.approx([-7.46605, -1.97427, 0.70071, 2.68274], abs=2e-4)
    assert [b.jump for b in scan.boundaries] == [2, -2, 1, -1]
    assert len(scan.boundaries[0].nu) == 2 and scan.boundaries[0].nu[0] < E < scan.boundaries[0].nu[1]
    assert scan.counts.tolist() == [0, 2, 0, 1, 0]
    dense = E + np.concatenate([-np.geomspace(3e4, 1.0, 400) * GAMMA,
                                np.linspace(-1.0, 1.0, 16001) * 2000 * GAMMA,
                                np.geomspace(1.0, 3e4, 400) * GAMMA])
    dense = np.unique(dense)
    chi = ev(dense)
    edges = np.concatenate([[-10.0], scan.V_c, [10.0]])
    mids = 0.5 * (edges[:-1] + edges[1:])
    total, steps = winding_counts(dense, chi, 1.0, mids)
    assert np.all(steps.max(axis=1) < 0.75 * np.pi)  # the dense count is itself resolved
    assert np.rint(total).astype(int).tolist() == scan.counts.tolist()


def test_missed_crossings_are_found_by_the_probe_counts(monkeypatch):
    """Boundaries that the locus trace misses (simulated: it finds none) are still found, by
    the direct Nyquist counts at the probes and bisection in V, and recorded as such (status
    'bisected', a warning), never dropped."""
    modes, P = inverted_modes()
    v = 0.5
    monkeypatch.setattr(nyquist, "_crossings", lambda *args: ([], [], []))
    scan = scan_real_axis(bm_chi(modes), v, 5.0, start_grid(), E)
    Vc = np.sqrt(v**2 - (GAMMA / P) ** 2)
    assert scan.counts.tolist() == [0, 1, 0]
    assert scan.V_c == pytest.approx([-Vc, Vc], abs=1e-6 * Vc)
    assert [b.status for b in scan.boundaries] == ["bisected", "bisected"]
    assert [b.nu[0] for b in scan.boundaries] == pytest.approx([E, E], abs=5 * GAMMA)
    assert scan.status == "bisected" and len(scan.warnings) == 2


def test_a_failed_bracket_is_recorded_and_counted(monkeypatch):
    modes, _ = inverted_modes()

    def broken(*args, **kwargs):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(nyquist, "brentq", broken)
    scan = scan_real_axis(bm_chi(modes), 0.5, 5.0, start_grid(), E)
    assert len(scan.failed) == 2 and all("bracket failed" in f.status for f in scan.failed)
    assert scan.status != "ok"
    assert any("did not converge" in w for w in scan.warnings)


def test_window_is_grown_until_D_tends_to_one():
    modes, _ = inverted_modes()
    chi = bm_chi(modes)
    scan = scan_real_axis(chi, 0.5, 50.0, start_grid(), E)
    a = chi(scan.nu[[0, -1]])
    for V in (-50.0, 50.0):
        D = np.linalg.det(np.eye(2) - np.array([[V, 0.5], [0.5, V]]) @ a)
        assert np.all(np.abs(D - 1) <= 0.25)


# --------------------------------------------------------------------------------------------
# the certified phase point


@pytest.fixture(scope="module")
def strong_drive_point():
    s = DrivenSystem(HoneycombModel(5.0), 5.1, 100 * GAMMA, BathSet.paper(G1, G2, MU), MU)
    opts = StabilityOptions(routes=("paper", "born_markov"), V_max=10.0)
    return s, phase_point(s, lambda level: shell_mesh(s, resolution_over_gamma=0.5 / 2**level), [0.5, 1.0],
                          options=opts)


def test_phase_point_is_certified_with_error_estimates(strong_drive_point):
    _, p = strong_drive_point
    full = p.get("full", "born_markov", 1.0)
    assert full.certified and full.status == "ok"
    assert full.counts == (0, 2, 0, 1, 0)
    assert np.all(full.errors <= 1e-4 * np.maximum(np.abs(full.V_c), 1.0))
    assert np.all(full.errors > 0)  # a real estimate (two levels differ), not a placeholder
    assert full.statistics["level"] == 1
    # every route computed on its own: the paper route's full criterion is the undressed
    # kernel's window |V| < sqrt(v² - Γ²/P²) ≈ |V'| (spec §6), not Born-Markov's boundaries
    paper = p.get("full", "paper", 1.0)
    assert paper.counts == (0, 1, 0) and paper.V_c[1] == pytest.approx(1.0, abs=1e-3)
    # closed forms: Eq. (16) for γ1 = γ2, V_c = ±sqrt(v² + 1/F²)
    F = p.closed_forms["F_plus_eq14"]
    eq14 = p.get("paper", "eq14", 0.5)
    assert eq14.V_c == pytest.approx([-np.sqrt(0.25 + F**-2), np.sqrt(0.25 + F**-2)], rel=1e-12)


def test_uncertified_when_the_budget_is_one_level():
    s = DrivenSystem(HoneycombModel(5.0), 5.1, 20 * GAMMA, BathSet.paper(G1, G2, MU), MU)
    p = phase_point(s, lambda level: shell_mesh(s, resolution_over_gamma=0.5 / 2**level), [1.0],
                    options=StabilityOptions(routes=("born_markov",), max_level=0, closed_forms=False))
    for c in p.couplings:
        assert not c.certified and "not converged by level 0" in c.status
    p2 = phase_point(s, lambda level: shell_mesh(s), [1.0],
                     options=StabilityOptions(routes=("born_markov",), certify=False, closed_forms=False))
    assert all(not c.certified and "certify = false" in c.status for c in p2.couplings)


def test_serializer_round_trip(strong_drive_point):
    _, p = strong_drive_point
    tree = stack_points([None, p], [0.5, 1.0])
    assert np.isnan(tree["full"]["born_markov"]["V_c"][0]).all()
    q = point_from_tree(tree, 1, [0.5, 1.0])
    assert sorted(p.keys()) == sorted(q.keys())
    for c in p.couplings:
        d = q.get(c.criterion, c.route, c.v)
        assert d.boundaries == c.boundaries
        assert d.counts == c.counts and d.certified == c.certified and d.status == c.status
        assert d.approximations == c.approximations and d.V_max == c.V_max
    for r in p.chi0:
        assert np.array_equal(q.chi0[r], p.chi0[r])
