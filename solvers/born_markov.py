"""Born-Markov (Lindblad) limit: exact steady state per k and the paper's closed forms.

Spec §4.  Each mode's occupation is frozen at its bare lab-frame value
(n_F(E_ka - μ_{v,a}); holes 1 - n_F), and the equal-time matrix of each k block
solves the Lyapunov equation

    (-i h - Γ) rho + rho (i h - Γ) + 2 Γ n = 0,

the steady state of the paper's Lindblad equation (7) with population rates 2Γ_a.
The exact solution (:func:`steady_state`) is compared with the paper's closed forms:

* Eqs. (10)-(11): populations n^22_k, n^11_k of a driven k at Δ = 0
  (:func:`eq10_n22`, :func:`eq11_n11`);
* Eq. (13): the real pair kernel F_± (:func:`eq13_kernel`);
* Eq. (14): F_+ as an energy integral with the density of states (:func:`eq14_kernel`);
* Eq. (15): F_- = -(γ2/γ1) F_+ (:func:`eq15_kernel_minus`);
* Eq. (17): F_+ in closed form for t ≳ δ ≫ Ω, Γ at μ = -Γ/2 (:func:`eq17_kernel`);
* the width W of the resonance in Eq. (10) (:func:`resonance_width`).

Notation: Γ = Γ1 + Γ2 (sum of amplitude rates), γ_a = Γ_a/Γ,
Ω~² = Ω²/(ε² + Γ²), ε_k = E_k2 - E_k1 - ω0 the detuning, E_k = -2μ the pair energy.
"""
from __future__ import annotations

import numba as nb
import numpy as np

from keldysh.kmesh import EnergyMesh, Resonance
from keldysh.lattice import CELL_AREA, HoneycombModel
from keldysh.lyapunov import lyapunov_steady_state, solve_sylvester
from keldysh.nambu import PAIR_ELEMENTS, ModeArrays, nambu_occupations, pair_amplitudes

__all__ = [
    "steady_state",
    "populations",
    "pair_response",
    "pair_response_sum",
    "pair_response_sylvester",
    "normal_state",
    "normal_state_lyapunov",
    "eq10_n22",
    "eq11_n11",
    "eq13_kernel",
    "paper_kernels",
    "paper_kernel_samples",
    "eq14_kernel",
    "eq15_kernel_minus",
    "eq17_kernel",
    "resonance_width",
]


def steady_state(modes: ModeArrays, delta_plus=0j, delta_minus=0j, nu=0.0) -> np.ndarray:
    """Exact Born-Markov steady state rho_k (M, 4, 4) of every sample (spec §4).

    ν shifts the energies (h in the frame of the condensate) but not the frozen
    occupations (spec §2)."""
    h = modes.hamiltonian(delta_plus, delta_minus, nu)
    return lyapunov_steady_state(h, modes.gamma, nambu_occupations(modes.occupation))


def populations(rho) -> dict[str, np.ndarray]:
    """n^11_k, n^22_k, n^11_-k, n^22_-k and the pairs <c_-k1 c_k2>, <c_k1 c_-k2> (spec §3)."""
    pairs = pair_amplitudes(rho)
    return {
        "n11_k": rho[..., 0, 0].real,
        "n22_k": rho[..., 1, 1].real,
        "n11_mk": 1.0 - rho[..., 2, 2].real,
        "n22_mk": 1.0 - rho[..., 3, 3].real,
        "pair_plus": pairs[..., 0],
        "pair_minus": pairs[..., 1],
    }


def normal_state(modes: ModeArrays) -> np.ndarray:
    """Born-Markov steady state at Δ = 0 (the linearisation point), (M, 4, 4), in closed form.

    The driven pair (k1, k2) is the general-occupation form of Eqs. (10)-(11),
    n^11 = n1 - (n1 - n2) γ2 Ω~²/(γ1γ2 + Ω~²), n^22 = n2 + (n1 - n2) γ1 Ω~²/(γ1γ2 + Ω~²),
    with the coherence rho_01 = <c†_k2 c_k1> = -iΩ (n^22 - n^11)/(Γ - iε), ε = xi'_k2 - xi'_k1,
    Γ = Γ_k1 + Γ_k2; the undriven hole modes keep their frozen occupations.  Equal to the
    Lyapunov solution (:func:`normal_state_lyapunov`, tested)."""
    xi, g, occ, om = modes.xi, modes.gamma, modes.occupation, modes.rabi
    eps = xi[:, 1] - xi[:, 0]
    n22 = eq10_n22(eps, om, g[:, 0], g[:, 1], occ[:, 0], occ[:, 1])
    n11 = eq11_n11(eps, om, g[:, 0], g[:, 1], occ[:, 0], occ[:, 1])
    c = -1j * om * (n22 - n11) / (g[:, 0] + g[:, 1] - 1j * eps)
    rho = np.zeros((len(modes), 4, 4), complex)
    rho[:, 0, 0] = n11
    rho[:, 1, 1] = n22
    rho[:, 0, 1] = c
    rho[:, 1, 0] = np.conj(c)
    rho[:, 2, 2] = 1.0 - occ[:, 2]
    rho[:, 3, 3] = 1.0 - occ[:, 3]
    return rho


def normal_state_lyapunov(modes: ModeArrays) -> np.ndarray:
    """:func:`normal_state` from the 16x16 Lyapunov solve (slow twin)."""
    return lyapunov_steady_state(modes.hamiltonian(), modes.gamma, nambu_occupations(modes.occupation))


def pair_response(modes: ModeArrays, z=0.0, dressed: bool = True, rho0=None) -> tuple[np.ndarray, np.ndarray]:
    """Exact Born-Markov pair susceptibilities per sample at (complex) frequency z.

    chi_+(z)_k = ∂<c_-k1 c_k2>/∂Δ+ and chi_-(z)_k = ∂(-rho_03)/∂Δ- at Δ = 0, from the
    linearised Lyapunov equation for a perturbation δh e^{-izt}::

        (A + iz/2) X + X (A† + iz/2) - i [δh, rho0] = 0,   A = -ih - Γ,

    with δh = E_12 (Δ+) or -E_03 (Δ-).  At Δ = 0 the hole modes are decoupled, so the
    particle-hole block splits into two 2x2 systems solved in closed form:

        (A_pp + c_j) x_j = -q_j,  c_j = i h_jj - Γ_j + iz  (j = 2 for Δ+, 3 for Δ-),
        q_2 = -i (-rho0_01, rho0_22 - rho0_11),   q_3 = -i (rho0_00 - rho0_33, rho0_10),

    chi_+ = x_2[1], chi_- = -x_3[0].  This includes the Rabi dressing of the driven modes;
    ``dressed=False`` drops the drive from A_pp (keeps it in rho0), which is the structure
    of the paper's Eq. (9).  Returns (chi_plus, chi_minus), each (M,) complex for a scalar
    z, or (n_z, M) for a 1-d array of frequencies (one vectorised evaluation).
    """
    if rho0 is None:
        rho0 = normal_state(modes)
    g = modes.gamma
    xi = modes.xi
    z = np.asarray(z, dtype=complex)
    if z.ndim > 1:
        raise ValueError(f"z: must be a scalar or 1-d, got shape {z.shape}")
    z = z[:, None] if z.ndim == 1 else z
    om = modes.rabi if dressed else np.zeros(len(modes))
    # diagonal of h: (xi0, xi1, -xi2, -xi3)
    a00 = -1j * xi[:, 0] - g[:, 0]
    a11 = -1j * xi[:, 1] - g[:, 1]
    a01 = -1j * om

    def solve(c, q0, q1):
        m00, m11 = a00 + c, a11 + c
        det = m00 * m11 - a01 * a01
        return -(m11 * q0 - a01 * q1) / det, -(m00 * q1 - a01 * q0) / det

    c2 = -1j * xi[:, 2] - g[:, 2] + 1j * z
    _, chi_p = solve(c2, 1j * rho0[:, 0, 1], -1j * (rho0[:, 2, 2] - rho0[:, 1, 1]))
    c3 = -1j * xi[:, 3] - g[:, 3] + 1j * z
    x0, _ = solve(c3, -1j * (rho0[:, 0, 0] - rho0[:, 3, 3]), -1j * rho0[:, 1, 0])
    return chi_p, -x0


@nb.njit(cache=True, nogil=True)
def _pair_response_sums(xi, g, om, r01, r11, r22, r00, r33, w, zs, out):
    """Numba kernel of :func:`pair_response_sum` (same closed form as :func:`pair_response`)."""
    nk = xi.shape[0]
    for iz in range(zs.shape[0]):
        iz_ = 1j * zs[iz]
        sp = 0j
        sm = 0j
        for k in range(nk):
            a00 = complex(-g[k, 0], -xi[k, 0])
            a11 = complex(-g[k, 1], -xi[k, 1])
            a01 = -1j * om[k]
            a01sq = a01 * a01
            c2 = complex(-g[k, 2], -xi[k, 2]) + iz_
            m00, m11 = a00 + c2, a11 + c2
            q0, q1 = 1j * r01[k], -1j * (r22[k] - r11[k])
            sp += w[k] * (-(m00 * q1 - a01 * q0) / (m00 * m11 - a01sq))
            c3 = complex(-g[k, 3], -xi[k, 3]) + iz_
            m00, m11 = a00 + c3, a11 + c3
            q0, q1 = -1j * (r00[k] - r33[k]), -1j * np.conj(r01[k])
            sm += w[k] * ((m11 * q0 - a01 * q1) / (m00 * m11 - a01sq))
        out[iz, 0] = sp
        out[iz, 1] = sm


def pair_response_sum(modes: ModeArrays, z_values, dressed: bool = True, rho0=None) -> np.ndarray:
    """Σ_k weight_k (chi_+, chi_-)_k(z) for every z (numba), shape (n_z, 2).

    The closed form of :func:`pair_response` (its numpy twin, tested equal) without
    (n_z, M) temporaries: the hot path of frequency scans."""
    if rho0 is None:
        rho0 = normal_state(modes)
    zs = np.ascontiguousarray(np.atleast_1d(np.asarray(z_values, dtype=complex)))
    om = np.ascontiguousarray(modes.rabi if dressed else np.zeros(len(modes)), dtype=float)
    out = np.empty((zs.size, 2), complex)
    _pair_response_sums(np.ascontiguousarray(modes.xi), np.ascontiguousarray(modes.gamma), om,
                        np.ascontiguousarray(rho0[:, 0, 1]), np.ascontiguousarray(rho0[:, 1, 1]),
                        np.ascontiguousarray(rho0[:, 2, 2]), np.ascontiguousarray(rho0[:, 0, 0]),
                        np.ascontiguousarray(rho0[:, 3, 3]), np.ascontiguousarray(modes.weight, dtype=float),
                        zs, out)
    return out


def pair_response_sylvester(modes: ModeArrays, z=0.0, dressed: bool = True):
    """The same as :func:`pair_response` from the full 16x16 Sylvester equation (slow twin)."""
    h = modes.hamiltonian()
    rho0 = normal_state(modes)
    hp = h.copy()
    if not dressed:
        hp[..., 0, 1] = hp[..., 1, 0] = 0.0
    A = -1j * hp - modes.gamma[..., :, None] * np.eye(4)
    shift = 0.5j * np.asarray(z, dtype=complex) * np.eye(4)
    Ad = np.conj(np.swapaxes(A, -1, -2))
    out = []
    for (i, j), sign in PAIR_ELEMENTS:  # δh = E_12 for Δ+, -E_03 for Δ- (h[0,3] = -Δ-)
        dh = np.zeros((4, 4))
        dh[i, j] = sign
        Q = -1j * (dh @ rho0 - rho0 @ dh)
        X = solve_sylvester(A + shift, Ad + shift, Q)
        out.append(sign * X[..., i, j])
    return out[0], out[1]


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

    F_+ sums k ∈ K+: n^22_k from Eq. (10) (driven), n^11_{-k} the frozen occupation
    of c_-k1 (K- is undriven).  F_- sums k' = -k ∈ K-: n^22_{k'} the frozen
    occupation of c_-k2 and n^11_{-k'} = n^11_k from Eq. (11).  The pair energies are
    E = xi'_k2 + xi'_-k1 and xi'_-k2 + xi'_k1 (both -2μ), the pair decoherence rates
    Γ_k2 + Γ_-k1 and Γ_-k2 + Γ_k1."""
    xi, g, occ = modes.xi, modes.gamma, modes.occupation
    eps = xi[:, 1] - xi[:, 0]
    n22 = eq10_n22(eps, modes.rabi, g[:, 0], g[:, 1], occ[:, 0], occ[:, 1])
    n11 = eq11_n11(eps, modes.rabi, g[:, 0], g[:, 1], occ[:, 0], occ[:, 1])
    fp = _eq13_summand(xi[:, 1] + xi[:, 2], g[:, 1] + g[:, 2], n22, occ[:, 2])
    fm = _eq13_summand(xi[:, 3] + xi[:, 0], g[:, 3] + g[:, 0], occ[:, 3], n11)
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
