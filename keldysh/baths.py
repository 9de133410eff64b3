"""Wide-band fermionic baths (spec §3) and their rotating-frame parameters (spec §2).

Every mode (valley v ∈ {K+, K-}, band a ∈ {1, 2}) couples to its own wide-band
bath with an energy-independent amplitude decay rate Γ_{v,a} (**damping
convention of the spec: Γ is the decay rate of the single-particle amplitude**,
Σ^R = -iΓ, populations relax at 2Γ), a lab-frame chemical potential μ_{v,a} and a
temperature T_{v,a}::

    Σ^R = -i Γ,   Σ^<(ω) = 2 i Γ n(ω),   Σ^K(ω) = -2 i Γ (1 - 2 n(ω)).

In the rotating frame U = exp(i ω0 t Σ_k (n_k2 - n_k1)/2) the bath of band 1 (2)
has chemical potential μ_{v,1} + ω0/2 (μ_{v,2} - ω0/2).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BathSet", "fermi", "bath_self_energy"]

#: index of a valley in the (2, 2) parameter arrays: [valley, band]
VALLEYS = ("K+", "K-")
BANDS = (1, 2)


def fermi(x, T) -> np.ndarray:
    """Fermi function n_F(x) at temperature T ≥ 0 (T = 0: step, 1/2 at x = 0)."""
    x = np.asarray(x, dtype=float)
    T = np.asarray(T, dtype=float)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        hot = 0.5 * (1.0 - np.tanh(x / (2.0 * np.where(T > 0, T, 1.0))))
    cold = np.where(x < 0, 1.0, np.where(x > 0, 0.0, 0.5))
    return np.where(T > 0, hot, cold)


def _table(value) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, dtype=float), (2, 2)).copy()


@dataclass(frozen=True)
class BathSet:
    """Bath parameters per (valley, band); arrays of shape (2, 2) = [valley, band].

    Row 0 is valley K+ (the driven one), row 1 is K-; column 0 is band 1 (lower),
    column 1 band 2.  ``mu`` are lab-frame chemical potentials (absolute energies,
    not measured from the system's μ).

    Not validated here: the values come from a validated run configuration (which names
    the key the user typed) or from code that chose them; the Green's-function kernels
    check Γ > 0 where they use it (:mod:`keldysh.greens`).
    """

    gamma: np.ndarray
    mu: np.ndarray
    temperature: np.ndarray

    def __post_init__(self):
        for name in ("gamma", "mu", "temperature"):
            object.__setattr__(self, name, _table(getattr(self, name)))

    @classmethod
    def paper(cls, Gamma1: float, Gamma2: float, mu: float, temperature: float = 0.0) -> "BathSet":
        """The paper's baths: rate Γ_a per band, one chemical potential μ and T everywhere."""
        return cls(gamma=[[Gamma1, Gamma2], [Gamma1, Gamma2]], mu=mu, temperature=temperature)

    @classmethod
    def quasi_thermal(cls, Gamma12: float, mu: float, mu1: float, mu2: float,
                      temperature: float = 0.0) -> "BathSet":
        """Fast-intraband limit (spec §5): K+ bands at (μ1, μ2), K- at μ; rates Γ12/2."""
        return cls(gamma=Gamma12 / 2, mu=[[mu1, mu2], [mu, mu]], temperature=temperature)

    def rotating_mu(self, omega0: float) -> np.ndarray:
        """Rotating-frame chemical potentials μ_{v,1} + ω0/2, μ_{v,2} - ω0/2, shape (2, 2)."""
        return self.mu + np.array([+0.5, -0.5]) * omega0

    def mode_parameters(self, omega0: float, mu_ref: float):
        """Per-mode arrays for Ψ-particle modes (c_k1, c_k2, c_-k1, c_-k2) of k ∈ K+.

        Returns (gamma, bath_mu, temperature), each shape (4,); ``bath_mu`` is the
        rotating-frame chemical potential measured from ``mu_ref`` (the μ of the
        single-particle energies xi).
        """
        order = [(0, 0), (0, 1), (1, 0), (1, 1)]
        rot = self.rotating_mu(omega0) - mu_ref
        g = np.array([self.gamma[v, a] for v, a in order])
        m = np.array([rot[v, a] for v, a in order])
        T = np.array([self.temperature[v, a] for v, a in order])
        return g, m, T


def bath_self_energy(gamma, occupation):
    """Wide-band self-energies (Σ^R, Σ^<, Σ^K) for rates ``gamma`` and occupations n(ω).

    ``gamma`` shape (..., n_modes) and ``occupation`` broadcastable to it; returns
    diagonal values (not matrices): Σ^R = -iΓ, Σ^< = 2iΓn, Σ^K = -2iΓ(1 - 2n).
    """
    gamma = np.asarray(gamma, dtype=float)
    n = np.asarray(occupation, dtype=float)
    return -1j * gamma * np.ones_like(n), 2j * gamma * n, -2j * gamma * (1 - 2 * n)
