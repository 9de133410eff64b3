"""The flat-pair test system of spec §6 shared by the stability tests (not a test module)."""
import numpy as np

from keldysh.nambu import ModeArrays

G1 = G2 = 5e-4
GAMMA = G1 + G2
MU = -GAMMA / 2


def inverted_modes(p=0.3, n=20, density=0.01):
    """No drive; the K+ baths impose band-2 occupation p and band-1 occupation 1 - p.

    Excited density P = p x density (equal electrons and holes); flat pair energy E = -2μ."""
    e = np.linspace(1.0, 1.2, n)
    omega0 = 2.1
    x1, x2 = -e - MU + omega0 / 2, e - MU - omega0 / 2
    return ModeArrays(xi=np.stack([x1, x2, x1, x2], 1), rabi=np.zeros(n),
                      gamma=np.tile([G1, G2, G1, G2], (n, 1)), bath_mu=np.zeros((n, 4)),
                      temperature=np.zeros((n, 4)), occupation=np.tile([1 - p, p, 1.0, 0.0], (n, 1)),
                      weight=np.full(n, density / n), energy=e), p * density
