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

Linear response at Δ = 0 (spec §6, §9): the 2x2 pair susceptibility matrix chi_ab(z),
a, b ∈ {+, -}, in closed form per sample (:func:`pair_response_matrix`), its k-weighted
sum (:func:`pair_response_matrix_sum`, numba; the hot path of frequency scans) and the
16x16 Sylvester twin (:func:`pair_response_matrix_sylvester`).  With the whole-zone drive
of spec §9 ("circular") both diagonal blocks of h are driven and chi is a full matrix; for
the K+-only patterns its off-diagonal entries vanish and its diagonal is
:func:`pair_response` (chi_+, chi_-).

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
    "pair_response_matrix",
    "pair_response_matrix_sum",
    "PairResponseSums",
    "pair_response_matrix_sum_numpy",
    "pair_response_matrix_sylvester",
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


def _driven_block(eps, rabi, g_lo, g_hi, n_lo, n_hi):
    """Populations (n^11, n^22) and coherence <c†_2 c_1> of one driven pair of modes
    (lower 1, upper 2) at Δ = 0: Eqs. (10)-(11) in their general-occupation form with |Ω|, and
    <c†_2 c_1> = -i conj(Ω) (n^22 - n^11)/(Γ - iε), Γ = Γ_1 + Γ_2, ε = xi'_2 - xi'_1
    (the drive Ω c†_2 c_1 + h.c.)."""
    amp = np.abs(rabi)
    n22 = eq10_n22(eps, amp, g_lo, g_hi, n_lo, n_hi)
    n11 = eq11_n11(eps, amp, g_lo, g_hi, n_lo, n_hi)
    return n11, n22, -1j * np.conj(rabi) * (n22 - n11) / (g_lo + g_hi - 1j * eps)


def normal_state(modes: ModeArrays) -> np.ndarray:
    """Born-Markov steady state at Δ = 0 (the linearisation point), (M, 4, 4), in closed form.

    At Δ = 0 the Lyapunov equation of spec §4 splits into the particle block {0, 1} and the
    hole block {2, 3}.  The particle block is the driven pair (k1, k2): the general-occupation
    form of Eqs. (10)-(11),

        n^11 = n1 - (n1 - n2) γ2 Ω~²/(γ1γ2 + Ω~²),  n^22 = n2 + (n1 - n2) γ1 Ω~²/(γ1γ2 + Ω~²),

    Ω~² = |Ω_k|²/(ε² + Γ²), with rho_00 = n^11_k, rho_11 = n^22_k and the coherence
    rho_01 = <c†_k2 c_k1> = -i conj(Ω_k) (n^22 - n^11)/(Γ - iε), ε = xi'_k2 - xi'_k1,
    Γ = Γ_k1 + Γ_k2.  The hole block (Ψ_2, Ψ_3) = (c†_-k1, c†_-k2), whose Lyapunov problem has
    the Nambu occupations 1 - n_{-k1}, 1 - n_{-k2} and the drive h[2,3] = -Ω_{-k} (spec §9), is
    the particle-hole conjugate of the driven pair (-k1, -k2) with Ω_{-k}:
    rho_22 = 1 - n^11_{-k}, rho_33 = 1 - n^22_{-k} (Eqs. 10-11 with Ω_{-k}, ε_{-k} = xi'_-k2 - xi'_-k1
    and the -k rates and occupations), rho_23 = <Ψ†_3 Ψ_2> = -<c†_-k1 c_-k2>
    = -i Ω_{-k} (n^22_{-k} - n^11_{-k})/(Γ_{-k} + iε_{-k}).  For the K+-only patterns
    (Ω_{-k} = 0) the hole modes keep their frozen occupations.  Equal to the Lyapunov
    solution (:func:`normal_state_lyapunov`, tested)."""
    xi, g, occ = modes.xi, modes.gamma, modes.occupation
    n11, n22, c = _driven_block(xi[:, 1] - xi[:, 0], modes.rabi, g[:, 0], g[:, 1], occ[:, 0], occ[:, 1])
    m11, m22, cm = _driven_block(xi[:, 3] - xi[:, 2], modes.rabi_minus, g[:, 2], g[:, 3],
                                 occ[:, 2], occ[:, 3])
    rho = np.zeros((len(modes), 4, 4), complex)
    rho[:, 0, 0] = n11
    rho[:, 1, 1] = n22
    rho[:, 0, 1] = c
    rho[:, 1, 0] = np.conj(c)
    rho[:, 2, 2] = 1.0 - m11
    rho[:, 3, 3] = 1.0 - m22
    rho[:, 2, 3] = -np.conj(cm)
    rho[:, 3, 2] = -cm
    return rho


def normal_state_lyapunov(modes: ModeArrays) -> np.ndarray:
    """:func:`normal_state` from the 16x16 Lyapunov solve (slow twin)."""
    return lyapunov_steady_state(modes.hamiltonian(), modes.gamma, nambu_occupations(modes.occupation))


def _inv_apply(m00, m01, m10, m11, det, v0, v1):
    """[[m00, m01], [m10, m11]]^{-1} (v0, v1) by Cramer's rule (det the determinant)."""
    return (m11 * v0 - m01 * v1) / det, (m00 * v1 - m10 * v0) / det


def pair_response_matrix(modes: ModeArrays, z=0.0, dressed: bool = True, rho0=None) -> np.ndarray:
    """Exact Born-Markov pair susceptibility matrix chi_ab(z) per sample (spec §6, §9).

    chi_ab = ∂S_a/∂Δ_b at Δ = 0 for a perturbation δh e^{-izt}, a, b ∈ {+, -}, with the pair
    fields S_+ = rho_12, S_- = -rho_03 and δh = E_12 (Δ_+), -E_03 (Δ_-) (spec §3).  The
    linearised Lyapunov equation (A = -ih - Γ, rho0 the normal state)

        (A + iz) X + X A† - i [δh, rho0] = 0

    restricted to its particle-hole block X = δrho[0:2, 2:4] (the only block a pair field
    drives at Δ = 0) is the 2x2 Sylvester equation

        P X + X H + Q = 0,   P = A_pp + iz,  H = (A†)_hh,  Q = -i (δh_ph rho0_hh - rho0_pp δh_ph),

    A_pp = -i h_pp - Γ_p (drive Ω_k), H = i h_hh - Γ_h (drive -Ω_{-k} in h_hh).  In columns
    x_j = X[:, j]:  M_0 x_0 + H_10 x_1 = -q_0,  H_01 x_0 + M_1 x_1 = -q_1,  M_j = P + H_jj;
    solved by block elimination (2x2 inverses in closed form):

        y = -M_0^{-1} q_0,   (M_1 - H_01 H_10 M_0^{-1}) x_1 = -q_1 - H_01 y,   x_0 = y - H_10 M_0^{-1} x_1,

    and chi_+b = X^(b)_10 (rho_12), chi_-b = -X^(b)_01 (-rho_03).  The right-hand sides are
    Q^(+) = -i [[-rho0_01, 0], [rho0_22 - rho0_11, rho0_23]] and
    Q^(-) = -i [[-rho0_32, rho0_00 - rho0_33], [0, rho0_10]].  Without the K- drive
    (H_01 = H_10 = 0, rho0_23 = 0) the columns decouple, chi_+- = chi_-+ = 0 exactly and the
    diagonal is the closed form of :func:`pair_response`.  ``dressed=False`` drops the drive
    from the propagator (A_pp and H; both blocks) but keeps it in rho0: the structure of the
    paper's Eq. (9) (then chi is diagonal).

    Gauge (spec §9): a change u_ak -> e^{iθ_a(k)} u_ak of the Bloch vectors multiplies Ω_{±k}
    by e^{i(θ_1 - θ_2)(±k)} and the pair fields by f_+ = e^{-i(θ_2(k) + θ_1(-k))},
    f_- = e^{-i(θ_1(k) + θ_2(-k))}; then chi_k -> D chi_k D†, D = diag(f_+, f_-): the diagonal
    and det chi_k are invariant, and in the gauges that keep V, V' constant (f_± = const, i.e.
    Ω_k and Ω_-k rotated by a common phase) every entry is.  The off-diagonal entries carry the
    phase of Ω_k conj(Ω_-k).

    Returns (M, 2, 2) = (sample, a, b) for a scalar z, (n_z, M, 2, 2) for a 1-d array.
    """
    if rho0 is None:
        rho0 = normal_state(modes)
    z = np.asarray(z, dtype=complex)
    if z.ndim > 1:
        raise ValueError(f"z: must be a scalar or 1-d, got shape {z.shape}")
    scalar = z.ndim == 0
    z = np.atleast_1d(z)[:, None]
    g, xi = modes.gamma, modes.xi
    M = len(modes)
    om = modes.rabi if dressed else np.zeros(M, complex)
    omm = modes.rabi_minus if dressed else np.zeros(M, complex)
    # P = A_pp + iz (diagonal shifts go with H_jj below, as c_j)
    a00 = -1j * xi[:, 0] - g[:, 0]
    a11 = -1j * xi[:, 1] - g[:, 1]
    a01 = -1j * np.conj(om)  # -i h[0,1]
    a10 = -1j * om  # -i h[1,0]
    h01 = -1j * omm  # i h[2,3] = -i Ω_-k
    h10 = -1j * np.conj(omm)  # i h[3,2]
    c0 = -1j * xi[:, 2] - g[:, 2] + 1j * z  # H_00 + iz
    c1 = -1j * xi[:, 3] - g[:, 3] + 1j * z  # H_11 + iz
    m0 = (a00 + c0, a01, a10, a11 + c0)
    m1 = (a00 + c1, a01, a10, a11 + c1)
    det0 = m0[0] * m0[3] - a01 * a10
    # Schur complement S = M_1 - H_01 H_10 M_0^{-1}
    hh = h01 * h10 / det0
    s = (m1[0] - hh * m0[3], m1[1] + hh * m0[1], m1[2] + hh * m0[2], m1[3] - hh * m0[0])
    dets = s[0] * s[3] - s[1] * s[2]
    r = rho0
    zero = np.zeros(M, complex)
    out = np.empty((z.shape[0], M, 2, 2), complex)
    rhs = {  # (q_0, q_1) per pair field b
        0: ((1j * r[:, 0, 1], -1j * (r[:, 2, 2] - r[:, 1, 1])), (zero, -1j * r[:, 2, 3])),
        1: ((1j * r[:, 3, 2], zero), (-1j * (r[:, 0, 0] - r[:, 3, 3]), -1j * r[:, 1, 0])),
    }
    for b, ((q00, q01), (q10, q11)) in rhs.items():
        y0, y1 = _inv_apply(*m0, det0, -q00, -q01)
        x10, x11 = _inv_apply(*s, dets, -q10 - h01 * y0, -q11 - h01 * y1)
        u0, u1 = _inv_apply(*m0, det0, x10, x11)
        out[:, :, 0, b] = y1 - h10 * u1  # X_10 = x_0[1]
        out[:, :, 1, b] = -x10  # -X_01 = -x_1[0]
    return out[0] if scalar else out


def pair_response(modes: ModeArrays, z=0.0, dressed: bool = True, rho0=None) -> tuple[np.ndarray, np.ndarray]:
    """The diagonal (chi_+, chi_-) of :func:`pair_response_matrix`: chi_+(z)_k = ∂<c_-k1 c_k2>/∂Δ+
    and chi_-(z)_k = ∂(-rho_03)/∂Δ- at Δ = 0.

    For the K+-only patterns (undriven hole modes) the particle-hole block splits into two 2x2
    systems, (A_pp + c_j) x_j = -q_j, c_j = i h_jj - Γ_j + iz (j = 2 for Δ+, 3 for Δ-),
    q_2 = -i (-rho0_01, rho0_22 - rho0_11), q_3 = -i (rho0_00 - rho0_33, rho0_10),
    chi_+ = x_2[1], chi_- = -x_3[0]: the Rabi dressing of the driven modes is included;
    ``dressed=False`` drops the drive from the propagator (keeps it in rho0), the structure of
    the paper's Eq. (9).  Returns (chi_plus, chi_minus), each (M,) complex for a scalar z, or
    (n_z, M) for a 1-d array of frequencies.
    """
    chi = pair_response_matrix(modes, z, dressed, rho0)
    return chi[..., 0, 0], chi[..., 1, 1]


@nb.njit(cache=True, nogil=True)
def _pair_response_matrix_sums(cf, driven, w, zs, out):
    """Numba kernel of :func:`pair_response_matrix_sum`: the block elimination of
    :func:`pair_response_matrix` per (sample, z), the decoupled closed form where the hole block
    is undriven (``driven[k]`` False).  ``cf`` (M, 15): the z-independent coefficients of
    :func:`_kernel_coefficients`."""
    nk = cf.shape[0]
    for iz in range(zs.shape[0]):
        iz_ = 1j * zs[iz]
        spp = 0j
        smp = 0j
        spm = 0j
        smm = 0j
        for k in range(nk):
            a00, a11, a01, a10, hd0, hd1, h01, h10, q0, q1, p0, p1, r23i, r32i, a01a10 = cf[k]
            c0 = hd0 + iz_
            c1 = hd1 + iz_
            m00, m11 = a00 + c0, a11 + c0
            det0 = m00 * m11 - a01a10
            n00, n11 = a00 + c1, a11 + c1
            # Δ+, column 0: y = -M_0^{-1} q
            y1 = -(m00 * q1 - a10 * q0) / det0
            if not driven[k]:
                spp += w[k] * y1
                smm += w[k] * ((n11 * p0 - a01 * p1) / (n00 * n11 - a01a10))
                continue
            y0 = -(m11 * q0 - a01 * q1) / det0
            hh = h01 * h10 / det0
            s00, s01, s10, s11 = n00 - hh * m11, a01 + hh * a01, a10 + hh * a10, n11 - hh * m00
            dets = s00 * s11 - s01 * s10
            # Δ+, column 1: q = (0, -i r23)
            v0, v1 = -h01 * y0, r23i - h01 * y1
            x0 = (s11 * v0 - s01 * v1) / dets
            x1 = (s00 * v1 - s10 * v0) / dets
            u1 = (m00 * x1 - a10 * x0) / det0
            spp += w[k] * (y1 - h10 * u1)
            smp += w[k] * (-x0)
            # Δ-, column 0: q = (i r32, 0); column 1: q = (p0, p1)
            y0 = -(m11 * r32i) / det0
            y1 = (a10 * r32i) / det0
            v0, v1 = -p0 - h01 * y0, -p1 - h01 * y1
            x0 = (s11 * v0 - s01 * v1) / dets
            x1 = (s00 * v1 - s10 * v0) / dets
            u1 = (m00 * x1 - a10 * x0) / det0
            spm += w[k] * (y1 - h10 * u1)
            smm += w[k] * (-x0)
        out[iz, 0, 0] = spp
        out[iz, 1, 0] = smp
        out[iz, 0, 1] = spm
        out[iz, 1, 1] = smm


def _kernel_coefficients(modes: ModeArrays, dressed: bool, rho0) -> tuple[np.ndarray, np.ndarray]:
    """z-independent coefficients of the kernel, (M, 15) complex: A_pp entries a00, a11, a01, a10;
    H_00, H_11 (without iz), H_01, H_10; the right-hand sides q = (i rho0_01, -i(rho0_22 - rho0_11)),
    p = (-i(rho0_00 - rho0_33), -i rho0_10), i rho0_23, i rho0_32; and a01 a10.  And per sample
    whether the hole block is driven (Ω_-k or the hole coherence nonzero)."""
    xi, g, r = modes.xi, modes.gamma, rho0
    zero = np.zeros(len(modes), complex)
    om = modes.rabi if dressed else zero
    omm = modes.rabi_minus if dressed else zero
    a01, a10 = -1j * np.conj(om), -1j * om
    cf = np.stack([
        -1j * xi[:, 0] - g[:, 0], -1j * xi[:, 1] - g[:, 1], a01, a10,
        -1j * xi[:, 2] - g[:, 2], -1j * xi[:, 3] - g[:, 3], -1j * omm, -1j * np.conj(omm),
        1j * r[:, 0, 1], -1j * (r[:, 2, 2] - r[:, 1, 1]), -1j * (r[:, 0, 0] - r[:, 3, 3]), -1j * r[:, 1, 0],
        1j * r[:, 2, 3], 1j * r[:, 3, 2], a01 * a10], axis=-1)
    driven = (omm != 0) | (r[:, 2, 3] != 0) | (r[:, 3, 2] != 0)
    return np.ascontiguousarray(cf), np.ascontiguousarray(driven)


def _sum_arguments(modes: ModeArrays, z_values, dressed: bool, rho0):
    if rho0 is None:
        rho0 = normal_state(modes)
    rho0 = np.asarray(rho0)
    if rho0.shape != (len(modes), 4, 4):
        raise ValueError(f"rho0: must have shape ({len(modes)}, 4, 4), got {rho0.shape}")
    zs = np.asarray(z_values, dtype=complex)
    if zs.ndim > 1:
        raise ValueError(f"z_values: must be a scalar or 1-d, got shape {zs.shape}")
    return rho0, np.ascontiguousarray(np.atleast_1d(zs))


def pair_response_matrix_sum(modes: ModeArrays, z_values, dressed: bool = True, rho0=None) -> np.ndarray:
    """Σ_k weight_k chi_ab,k(z) for every z (numba), shape (n_z, 2, 2) = (z, a, b).

    The closed form of :func:`pair_response_matrix` without (n_z, M) temporaries: the hot path
    of frequency scans (numpy twin :func:`pair_response_matrix_sum_numpy`, tested equal).  For
    many calls on the same samples use :class:`PairResponseSums` (coefficients computed once)."""
    return PairResponseSums(modes, dressed, rho0)(z_values)


class PairResponseSums:
    """:func:`pair_response_matrix_sum` with its z-independent coefficients (the normal state
    and the kernel's 15 per-sample coefficients) computed once: calling it with frequencies
    costs only the kernel (hot path of frequency scans one z at a time)."""

    def __init__(self, modes: ModeArrays, dressed: bool = True, rho0=None):
        rho0, _ = _sum_arguments(modes, 0.0, dressed, rho0)
        self.rho0 = rho0
        self._cf, self._driven = _kernel_coefficients(modes, dressed, rho0)
        self._w = np.ascontiguousarray(modes.weight, dtype=float)

    def __call__(self, z_values) -> np.ndarray:
        zs = np.asarray(z_values, dtype=complex)
        if zs.ndim > 1:
            raise ValueError(f"z_values: must be a scalar or 1-d, got shape {zs.shape}")
        zs = np.ascontiguousarray(np.atleast_1d(zs))
        out = np.empty((zs.size, 2, 2), complex)
        _pair_response_matrix_sums(self._cf, self._driven, self._w, zs, out)
        return out


def pair_response_matrix_sum_numpy(modes: ModeArrays, z_values, dressed: bool = True, rho0=None) -> np.ndarray:
    """The numpy twin of :func:`pair_response_matrix_sum`: Σ_k weight_k of
    :func:`pair_response_matrix`, (n_z, 2, 2)."""
    rho0, zs = _sum_arguments(modes, z_values, dressed, rho0)
    return np.einsum("k,zkab->zab", modes.weight, pair_response_matrix(modes, zs, dressed, rho0))


def pair_response_sum(modes: ModeArrays, z_values, dressed: bool = True, rho0=None) -> np.ndarray:
    """Σ_k weight_k (chi_+, chi_-)_k(z) for every z (numba), shape (n_z, 2): the diagonal of
    :func:`pair_response_matrix_sum`."""
    out = pair_response_matrix_sum(modes, z_values, dressed, rho0)
    return np.ascontiguousarray(out[:, [0, 1], [0, 1]])


def pair_response_matrix_sylvester(modes: ModeArrays, z=0.0, dressed: bool = True) -> np.ndarray:
    """:func:`pair_response_matrix` (scalar z) from the full 16x16 Sylvester equation
    (A + iz/2) X + X (A† + iz/2) - i [δh, rho0] = 0 with rho0 the 16x16 Lyapunov steady state
    (slow twin), (M, 2, 2)."""
    h = modes.hamiltonian()
    rho0 = normal_state_lyapunov(modes)
    hp = h.copy()
    if not dressed:
        hp[..., 0, 1] = hp[..., 1, 0] = hp[..., 2, 3] = hp[..., 3, 2] = 0.0
    A = -1j * hp - modes.gamma[..., :, None] * np.eye(4)
    shift = 0.5j * np.asarray(z, dtype=complex) * np.eye(4)
    Ad = np.conj(np.swapaxes(A, -1, -2))
    out = np.empty((len(modes), 2, 2), complex)
    for b, ((i, j), sign) in enumerate(PAIR_ELEMENTS):  # δh = E_12 for Δ+, -E_03 for Δ- (h[0,3] = -Δ-)
        dh = np.zeros((4, 4))
        dh[i, j] = sign
        Q = -1j * (dh @ rho0 - rho0 @ dh)
        X = solve_sylvester(A + shift, Ad + shift, Q)
        for a, ((ia, ja), sa) in enumerate(PAIR_ELEMENTS):
            out[:, a, b] = sa * X[..., ia, ja]
    return out


def pair_response_sylvester(modes: ModeArrays, z=0.0, dressed: bool = True):
    """The diagonal of :func:`pair_response_matrix_sylvester`, (chi_plus, chi_minus) (slow twin
    of :func:`pair_response`)."""
    chi = pair_response_matrix_sylvester(modes, z, dressed)
    return chi[:, 0, 0], chi[:, 1, 1]


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
