"""The 2D resonance-shell mesh (keldysh.shell_kmesh) against the exact-DOS energy integral."""
import numpy as np
import pytest

from keldysh.baths import BathSet
from keldysh.kmesh import EnergyMesh
from keldysh.lattice import HoneycombModel
from keldysh.nambu import DrivenSystem
from keldysh.shell_kmesh import PolarShellKMesh
from solvers.stability import ChiEvaluator
from solvers.stability.grids import polar_shell_mesh, shell_half_window

G = 1e-3


def system(pattern="valley", ratio=1.0):
    return DrivenSystem(HoneycombModel(5.0), 5.1, ratio * G, BathSet.paper(G / 2, G / 2, -G / 2), -G / 2, pattern)


def test_weights_cover_the_driven_half_and_points_lie_in_it():
    s = system()
    m = PolarShellKMesh.build(s.model, 2.55, 0.5 * G, 0.02, n_angle=8)
    assert m.weights.sum() == pytest.approx(0.5, rel=1e-5) and m.normalisation_error < 1e-5
    assert np.all(m.weights > 0)
    assert np.all(s.model.eta(m.points) > 0)  # every node inside K+ (η > 0), none on the edges


def test_valley_pattern_equals_the_exact_dos_shell():
    """For the valley drive everything depends on e only: the polar shell (angles x energy
    panels) and the exact-DOS energy integral are two quadratures of the same integral."""
    s = system()
    half = shell_half_window(s)
    z = np.array([0.0, G, 5 * G])
    exact = ChiEvaluator("born_markov", s, EnergyMesh.shell(s.model, 5.1, 0.25 * G, half, 4, n_band=240))(z)
    polar = ChiEvaluator("born_markov", s, polar_shell_mesh(s, n_angle=16))(z)
    assert np.allclose(polar, exact, rtol=5e-5, atol=0)
    coarse = ChiEvaluator("born_markov", s, polar_shell_mesh(s, n_angle=8))(z)
    assert np.abs(coarse - exact).max() > np.abs(polar - exact).max()  # converges with the angles


def test_circular_drive_on_the_polar_shell_converges():
    """The whole-zone drive (spec §9): two refinement levels of the polar shell agree; the
    summed K+ <-> K- conversion vanishes (C3-symmetric mesh; tests/test_circular.py)."""
    s = system("circular")
    a = ChiEvaluator("born_markov", s, polar_shell_mesh(s, resolution_over_gamma=0.5, n_angle=8))(0.0)[0]
    b = ChiEvaluator("born_markov", s, polar_shell_mesh(s, resolution_over_gamma=0.25, n_angle=16))(0.0)[0]
    assert abs(a[0, 0] - b[0, 0]) < 1e-3 * abs(b[0, 0])
    assert abs(b[0, 1]) < 1e-10 * abs(b[0, 0]) and abs(b[1, 0]) < 1e-10 * abs(b[0, 0])


def test_bad_arguments_raise():
    model = HoneycombModel(5.0)
    with pytest.raises(ValueError, match="resolution"):
        PolarShellKMesh.build(model, 2.55, 0.0, 0.1)
    with pytest.raises(ValueError, match="n_angle"):
        PolarShellKMesh.build(model, 2.55, 1e-3, 0.1, n_angle=0)
