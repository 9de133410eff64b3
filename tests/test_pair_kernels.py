"""solvers.pair_kernels: the vectorised Born-Markov pair-response sums against the numpy twin."""
import numpy as np
import pytest

from keldysh.baths import BathSet
from keldysh.kmesh import Resonance
from keldysh.lattice import HoneycombModel
from keldysh.nambu import DrivenSystem, ModeArrays
from keldysh.refined_kmesh import RefinedKMesh
from solvers import born_markov as bm
from solvers.pair_kernels import PairSumsSoA, pair_response_matrix_sum_soa

G1 = G2 = 5e-4
Z = np.array([0.0, 1e-3, -2e-3, 3e-4 + 2e-4j, 1e-2j])


def _random_modes(n=40, seed=0):
    """Complex Ω_k and Ω_-k comparable to the detunings, unequal rates, occupations in (0, 1)."""
    rng = np.random.default_rng(seed)
    return ModeArrays(xi=rng.uniform(-3e-3, 3e-3, (n, 4)),
                      rabi=rng.uniform(0, 3e-3, n) * np.exp(2j * np.pi * rng.uniform(size=n)),
                      gamma=rng.uniform(3e-4, 1.5e-3, (n, 4)), bath_mu=rng.uniform(-1e-3, 1e-3, (n, 4)),
                      temperature=np.full((n, 4), 1e-3), occupation=rng.uniform(0, 1, (n, 4)),
                      weight=rng.uniform(0.5, 1.0, n) / n, energy=np.ones(n),
                      rabi_minus=rng.uniform(0, 3e-3, n) * np.exp(2j * np.pi * rng.uniform(size=n)))


def _mesh_modes(pattern, ratio=10.0):
    system = DrivenSystem(HoneycombModel(5.0), 5.1, ratio * 1e-3, BathSet.paper(G1, G2, -5e-4), -5e-4, pattern)
    W = bm.resonance_width(system.Omega, G1, G2)
    return system.modes(RefinedKMesh.resonant(system.model, Resonance.drive(5.1, W), 3, 6, 12, 6))


@pytest.mark.parametrize("case", ["random", "circular", "valley"])
@pytest.mark.parametrize("dressed", [True, False])
def test_soa_kernel_equals_the_numpy_twin(case, dressed):
    """Every entry of Σ_k w chi_ab(z) at real and complex z: driven hole blocks (random,
    circular) and undriven ones (valley: the branch-free elimination reduces to the decoupled
    closed form), with and without the Rabi dressing."""
    modes = _random_modes() if case == "random" else _mesh_modes(case)
    ref = bm.pair_response_matrix_sum_numpy(modes, Z, dressed)
    got = PairSumsSoA(modes, dressed)(Z)
    assert got.shape == (Z.size, 2, 2)
    assert np.max(np.abs(got - ref)) <= 1e-13 * np.max(np.abs(ref))
    if case == "valley":  # no valley conversion without the K- drive
        assert np.all(got[:, 0, 1] == 0) and np.all(got[:, 1, 0] == 0)


def test_scalar_z_and_one_shot_form():
    modes = _random_modes(7, seed=3)
    one = pair_response_matrix_sum_soa(modes, 2e-4)
    assert one.shape == (1, 2, 2)
    assert np.allclose(one[0], bm.pair_response_matrix_sum_numpy(modes, [2e-4])[0], rtol=1e-13, atol=0)
    with pytest.raises(ValueError, match="1-d"):
        PairSumsSoA(modes)(np.zeros((2, 2)))
