"""Pinned, converged numbers of the paper's figures (small meshes, seconds each).

Every pinned value was produced by the engine and is cross-checked here against an
independent oracle where one exists (Eq. 16, the flat-pair formula of spec §6, the exact
polarisation integral); the rest guard against regressions of converged results.
"""
import numpy as np
import pytest

from keldysh.baths import BathSet
from keldysh.lattice import HoneycombModel
from keldysh.nambu import DrivenSystem
from solvers.fast_intraband import polarisation, quasi_thermal_system
from solvers.stability import StabilityOptions, phase_point, shell_mesh

G = 1e-3


@pytest.mark.parametrize("delta, expected", [
    (0.25, [0.602706985581, 0.489728791387, 0.322604403381, 0.0]),
    (1.0, [0.999089292467, 0.921148955207, 0.684381881848, 0.0]),
    (5.0, [0.966033621761, 0.954974658209, 0.349772250669, 0.0]),
])
def test_fig2_eta_values(delta, expected):
    m = HoneycombModel(delta)
    K = m.valley_centres()["K+"]
    ks = np.array([K + [0.3, 0], K + [0, 0.3], [0.5, 0.5], [0.0, 1.0]])
    assert np.allclose(m.eta(ks), expected, atol=1e-11)
    assert m.eta(K) == pytest.approx(1.0) and m.eta(-K) == pytest.approx(-1.0)


def point(system, v_values, routes):
    return phase_point(system, lambda level: shell_mesh(system, resolution_over_gamma=0.5 / 2**level),
                       v_values, options=StabilityOptions(routes=routes))


@pytest.fixture(scope="module")
def fig3a_point():
    """Fig. 3a parameters at Ω/Γ = 1: δ = 5t, Γ1 = Γ2 = Γ/2, μ = -Γ/2, ω0 = δ + 0.1t."""
    s = DrivenSystem(HoneycombModel(5.0), 5.1, G, BathSet.paper(G / 2, G / 2, -G / 2), -G / 2)
    return point(s, [0.5, 3.0], ("born_markov",))


def test_fig3a_paper_criterion(fig3a_point):
    p = fig3a_point
    assert p.closed_forms["F_plus_eq14"] == pytest.approx(0.3597869447, rel=1e-8)
    assert p.closed_forms["F_plus_eq17"] == pytest.approx(0.3292035844, rel=1e-8)
    # Eq. (16): V_c = ±sqrt(v² + 1/F²), two branches of opposite sign
    F = p.closed_forms["F_plus_eq14"]
    for v in (0.5, 3.0):
        assert p.get("paper", "eq14", v).V_c == pytest.approx([-np.sqrt(v**2 + F**-2), np.sqrt(v**2 + F**-2)],
                                                              rel=1e-12)
    assert p.get("paper", "eq14", 0.5).V_c == pytest.approx([-2.8240379821, 2.8240379821], rel=1e-9)
    # exact Born-Markov (Rabi-dressed) kernel under the paper's criterion, certified
    bm = p.get("paper", "born_markov", 0.5)
    assert bm.certified and np.all(bm.errors < 1e-4 * np.abs(bm.V_c))
    assert bm.V_c == pytest.approx([-5.0398118575, 5.0609686861], rel=1e-6)
    assert p.get("paper", "born_markov", 3.0).V_c == pytest.approx([-5.8423218837, 5.8634787122], rel=1e-6)
    assert complex(p.chi0["born_markov"][0, 0]) == pytest.approx(0.1985640966 + 0.3225884379j, rel=1e-6)


def test_fig3a_full_criterion(fig3a_point):
    p = fig3a_point
    weak = p.get("full", "born_markov", 0.5)
    assert weak.certified and weak.V_c.size == 0 and weak.counts == (0,)  # never unstable for |V| <= 10 t
    strong = p.get("full", "born_markov", 3.0)
    assert strong.certified and strong.V_max == 30.0
    assert strong.V_c == pytest.approx([-1.989672409, 1.9871314546], rel=1e-6)
    assert strong.nu_c == pytest.approx([1e-3, 1e-3], abs=1e-9)  # onset at E = -2μ
    # unstable between the two boundaries (one growing mode), stable outside, up to |V| = 30 t
    assert strong.counts == (0, 1, 0)


@pytest.mark.parametrize("mu2, P, paper, full", [
    (0.2, 0.004497911825390548, 1.0202241241, 0.228660631),
    (0.3, 0.013842648053057368, 0.5774937818, 0.4786702759),
])
def test_fig3b_fast_intraband(mu2, P, paper, full):
    model = HoneycombModel(0.25)
    assert polarisation(model, mu2) == pytest.approx(P, rel=1e-10)
    s = quasi_thermal_system(model, G, -G / 2, mu2)
    p = point(s, [0.5], ("paper", "born_markov"))
    # paper criterion: F_+ = (P/2)/(2Γ12) and Eq. (16)
    F = P / 2 / (2 * G)
    assert p.chi0["paper"][0, 0].real == pytest.approx(F, rel=1e-8)
    assert p.get("paper", "paper", 0.5).V_c == pytest.approx([-paper, paper], rel=1e-8)
    assert paper == pytest.approx(np.sqrt(0.25 + F**-2), rel=1e-8)
    # full criterion, flat pair dispersion: V_c = ±sqrt(v² - Γ12²/(P/2)²) (spec §6), both routes
    for route in ("paper", "born_markov"):
        c = p.get("full", route, 0.5)
        assert c.certified and c.V_c == pytest.approx([-full, full], rel=1e-8)
        assert c.counts == (0, 1, 0)
    assert full == pytest.approx(np.sqrt(0.25 - (G / (P / 2)) ** 2), rel=1e-8)
