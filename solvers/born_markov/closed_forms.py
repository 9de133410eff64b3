"""The paper's closed forms of the Born-Markov limit: Eqs. (10)-(11), (13)-(15), (17) and the resonance width."""
from __future__ import annotations

import numpy as np

from keldysh.kmesh import EnergyMesh, Resonance
from keldysh.lattice import CELL_AREA, HoneycombModel
from keldysh.nambu import ModeArrays


def _driven_block(eps, rabi, g_lo, g_hi, n_lo, n_hi):
    """Populations (n^11, n^22) and coherence <c†_2 c_1> of one driven pair of modes
    (lower 1, upper 2) at Δ = 0: Eqs. (10)-(11) in their general-occupation form with |Ω|, and
    <c†_2 c_1> = -i conj(Ω) (n^22 - n^11)/(Γ - iε), Γ = Γ_1 + Γ_2, ε = xi'_2 - xi'_1
    (the drive Ω c†_2 c_1 + h.c.)."""
    amp = np.abs(rabi)
    n22 = eq10_n22(eps, amp, g_lo, g_hi, n_lo, n_hi)
    n11 = eq11_n11(eps, amp, g_lo, g_hi, n_lo, n_hi)
    return n11, n22, -1j * np.conj(rabi) * (n22 - n11) / (g_lo + g_hi - 1j * eps)


# ----------------------------------------------------------------------------
# the paper's closed forms
# ----------------------------------------------------------------------------
def resonance_width(Omega, Gamma1, Gamma2):
    """W = sqrt(Γ² + Ω² Γ²/(Γ1 Γ2)) = sqrt(Γ² + Ω²/(γ1 γ2)), Γ = Γ1 + Γ2: the Lorentzian
    half-width of n^22 (Eq. 10) in the detuning ε = 2e - ω0 (power broadening of Γ)."""
    G = Gamma1 + Gamma2
    return np.sqrt(G**2 + Omega**2 * G**2 / (Gamma1 * Gamma2))


def _rabi_factor(eps, Omega, Gamma):
    return np.asarray(Omega, dtype=float) ** 2 / (np.asarray(eps, dtype=float) ** 2 + Gamma**2)


def eq10_n22(eps, Omega, Gamma1, Gamma2, n1=1.0, n2=0.0):
    """Eq. (10): upper-band population of a driven k,

        n^22 = n2 + (n1 - n2) γ1 Ω~² / (γ1 γ2 + Ω~²)

    (the paper's T = 0 form has n1 = 1, n2 = 0: n^22 = γ1 Ω~²/(γ1γ2 + Ω~²))."""
    G = Gamma1 + Gamma2
    g1, g2 = Gamma1 / G, Gamma2 / G
    w = _rabi_factor(eps, Omega, G)
    return n2 + (n1 - n2) * g1 * w / (g1 * g2 + w)


def eq11_n11(eps, Omega, Gamma1, Gamma2, n1=1.0, n2=0.0):
    """Eq. (11): lower-band population of a driven k,

        n^11 = n1 - (n1 - n2) γ2 Ω~² / (γ1 γ2 + Ω~²)."""
    G = Gamma1 + Gamma2
    g1, g2 = Gamma1 / G, Gamma2 / G
    w = _rabi_factor(eps, Omega, G)
    return n1 - (n1 - n2) * g2 * w / (g1 * g2 + w)


def eq13_kernel(E, Gamma, n22, n11_opposite, weight):
    """Eq. (13): F = -(1/N) Σ_k E_k/(E_k² + Γ²) (1 - n^22_k - n^11_{-k}).

    All arguments broadcast over the samples; ``weight`` carries the 1/N."""
    return float(np.sum(weight * _eq13_summand(E, Gamma, n22, n11_opposite)))


def _eq13_summand(E, Gamma, n22, n11_opposite):
    """-E/(E² + Γ²) (1 - n^22_k - n^11_{-k}), the summand of Eq. (13)."""
    E = np.asarray(E, dtype=float)
    return -E / (E**2 + Gamma**2) * (1.0 - n22 - n11_opposite)


def paper_kernel_samples(modes: ModeArrays) -> np.ndarray:
    """Per-sample summands of Eq. (13) (without the weight), shape (M, 2): F_+ and F_- terms.

    F_+ sums k ∈ K+: n^22_k from Eq. (10) with Ω_k and n^11_{-k} from Eq. (11) with Ω_{-k}.
    F_- sums k' = -k ∈ K-: n^22_{k'} from Eq. (10) with Ω_{-k} and n^11_{-k'} = n^11_k from
    Eq. (11) with Ω_k.  (For the K+-only patterns Ω_{-k} = 0 and the K- populations are the
    frozen occupations of c_-k1, c_-k2.)  Eqs. (10)-(11) take the general-occupation form with
    |Ω| (:func:`normal_state`).  The pair energies are E = xi'_k2 + xi'_-k1 and
    xi'_-k2 + xi'_k1 (both -2μ), the pair decoherence rates Γ_k2 + Γ_-k1 and Γ_-k2 + Γ_k1.
    The paper's kernel is diagonal: the drive's conversion of K+ pairs into K- pairs (the
    off-diagonal chi_+- of :func:`pair_response_matrix`) is not in Eq. (13)."""
    xi, g, occ = modes.xi, modes.gamma, modes.occupation
    n11, n22, _ = _driven_block(xi[:, 1] - xi[:, 0], modes.rabi, g[:, 0], g[:, 1], occ[:, 0], occ[:, 1])
    m11, m22, _ = _driven_block(xi[:, 3] - xi[:, 2], modes.rabi_minus, g[:, 2], g[:, 3],
                                occ[:, 2], occ[:, 3])
    fp = _eq13_summand(xi[:, 1] + xi[:, 2], g[:, 1] + g[:, 2], n22, m11)
    fm = _eq13_summand(xi[:, 3] + xi[:, 0], g[:, 3] + g[:, 0], m22, n11)
    return np.stack([fp, fm], axis=-1)


def paper_kernels(modes: ModeArrays) -> tuple[float, float]:
    """F_+ and F_- of Eq. (13) with the populations of Eqs. (10)-(11) (the paper's kernel);
    see :func:`paper_kernel_samples`."""
    F = modes.weight @ paper_kernel_samples(modes)
    return float(F[0]), float(F[1])


def eq14_kernel(model: HoneycombModel, omega0: float, Omega: float, Gamma1: float,
                Gamma2: float, mu: float, n_resonance: int = 400, n_band: int = 120) -> float:
    """Eq. (14): F_+ for the valley drive at T ≪ δ as an energy integral with the exact DOS,

        F_+ = E/(E² + Γ²) ∫ dε rho(ε) n^22(ε),   n^22 from Eq. (10) with ε_k = 2ε - ω0,

    (the K- band 1 is full, so 1 - n^22_k - n^11_-k = -n^22_k), E = -2μ, Γ = Γ1 + Γ2."""
    G = Gamma1 + Gamma2
    mesh = EnergyMesh.resonant(model, Resonance.drive(omega0, resonance_width(Omega, Gamma1, Gamma2)),
                               n_resonance, n_band)
    n22 = eq10_n22(2 * mesh.energies - omega0, Omega, Gamma1, Gamma2)
    E = -2.0 * mu
    return float(E / (E**2 + G**2) * np.sum(mesh.weights * n22))


def eq15_kernel_minus(F_plus: float, Gamma1: float, Gamma2: float) -> float:
    """Eq. (15): F_- = -(γ2/γ1) F_+ = -(Γ2/Γ1) F_+."""
    return -Gamma2 / Gamma1 * F_plus


def eq17_kernel(model: HoneycombModel, omega0: float, Omega: float, Gamma1: float,
                Gamma2: float, mu: float | None = None) -> float:
    """Eq. (17): closed form of F_+ for t ≳ δ ≫ Ω, Γ (resonance inside the band).

    In Eq. (14) n^22(ε) = (Ω²/γ2) / ((2ε - ω0)² + W²), W² = Γ² + Ω²/(γ1γ2)
    (:func:`resonance_width`), is a Lorentzian narrow on the scale of the DOS; with the massive-Dirac density of
    states rho(ε) = 2 A_c ε / (9 π t²) at the resonance ε = ω0/2 the integral gives

        F_+ = E/(E² + Γ²) · A_c ω0 Ω² / (18 t² γ2 W),

    which at μ = -Γ/2 (E = Γ) is A_c ω0 Ω² / (36 t² γ2 Γ W).  (The text of Eq. (17)
    is reconstructed from its stated assumptions; the tests compare it with Eq. (14).)
    """
    G = Gamma1 + Gamma2
    g2 = Gamma2 / G
    mu = -G / 2 if mu is None else mu
    E = -2.0 * mu
    W = resonance_width(Omega, Gamma1, Gamma2)
    return float(E / (E**2 + G**2) * CELL_AREA * omega0 * Omega**2 / (18 * model.t**2 * g2 * W))
