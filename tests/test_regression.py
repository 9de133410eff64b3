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
from solvers.scan import phase_point, shell_mesh

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


@pytest.fixture(scope="module")
def fig3a_point():
    """Fig. 3a parameters at Ω/Γ = 1: δ = 5t, Γ1 = Γ2 = Γ/2, μ = -Γ/2, ω0 = δ + 0.1t."""
    s = DrivenSystem(HoneycombModel(5.0), 5.1, G, BathSet.paper(G / 2, G / 2, -G / 2), -G / 2)
    return phase_point(s, shell_mesh(s), [0.5, 3.0], routes=("born_markov",))


def test_fig3a_paper_criterion(fig3a_point):
    out = fig3a_point
    assert float(out["F_plus_eq14"]) == pytest.approx(0.3597869447, rel=1e-8)
    assert float(out["F_plus_eq17"]) == pytest.approx(0.3292035844, rel=1e-8)
    # Eq. (16): V_c = ±sqrt(v² + 1/F²), two branches of opposite sign
    F = float(out["F_plus_eq14"])
    for i, v in enumerate([0.5, 3.0]):
        assert out["paper_eq14"][i] == pytest.approx([-np.sqrt(v**2 + F**-2), np.sqrt(v**2 + F**-2)], rel=1e-12)
    assert out["paper_eq14"][0] == pytest.approx([-2.8240379821, 2.8240379821], rel=1e-9)
    # exact Born-Markov (Rabi-dressed) kernel under the paper's criterion
    assert out["paper_born_markov"][0] == pytest.approx([-5.0398118575, 5.0609686861], rel=1e-6)
    assert out["paper_born_markov"][1] == pytest.approx([-5.8423218837, 5.8634787122], rel=1e-6)
    assert complex(out["chi_plus_born_markov"]) == pytest.approx(0.1985640966 + 0.3225884379j, rel=1e-6)


def test_fig3a_full_criterion(fig3a_point):
    out = fig3a_point
    assert np.all(np.isnan(out["full_born_markov"][0]))  # v = 0.5: never unstable
    assert out["unstable_modes_born_markov"][0, 0] == 0
    assert out["full_born_markov"][1, :2] == pytest.approx([-1.989672409, 1.9871314546], rel=1e-6)
    assert np.all(np.isnan(out["full_born_markov"][1, 2:]))
    assert out["nu_born_markov"][1, :2] == pytest.approx([1e-3, 1e-3], abs=1e-9)  # onset at E = -2μ
    # unstable between the two boundaries (one growing mode), stable outside
    assert out["unstable_modes_born_markov"][1, :3].tolist() == [0, 1, 0]


@pytest.mark.parametrize("mu2, P, paper, full", [
    (0.2, 0.004497911825390548, 1.0202241241, 0.228660631),
    (0.3, 0.013842648053057368, 0.5774937818, 0.4786702759),
])
def test_fig3b_fast_intraband(mu2, P, paper, full):
    model = HoneycombModel(0.25)
    assert polarisation(model, mu2) == pytest.approx(P, rel=1e-10)
    s = quasi_thermal_system(model, G, -G / 2, mu2)
    out = phase_point(s, shell_mesh(s), [0.5], routes=("paper", "born_markov"))
    # paper criterion: F_+ = (P/2)/(2Γ12) and Eq. (16)
    F = P / 2 / (2 * G)
    assert complex(out["chi_plus_paper"]).real == pytest.approx(F, rel=1e-8)
    assert out["paper_paper"][0] == pytest.approx([-paper, paper], rel=1e-8)
    assert paper == pytest.approx(np.sqrt(0.25 + F**-2), rel=1e-8)
    # full criterion, flat pair dispersion: V_c = ±sqrt(v² - Γ12²/(P/2)²) (spec §6)
    assert out["full_born_markov"][0, :2] == pytest.approx([-full, full], rel=1e-8)
    assert out["unstable_modes_born_markov"][0, :3].tolist() == [0, 1, 0]
    assert full == pytest.approx(np.sqrt(0.25 - (G / (P / 2)) ** 2), rel=1e-8)
