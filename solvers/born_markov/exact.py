"""Exact Born-Markov steady state, normal state and pair susceptibility matrix per sample, with the 16x16 slow twins."""
from __future__ import annotations

import numpy as np

from keldysh.lyapunov import lyapunov_steady_state, solve_sylvester
from keldysh.nambu import PAIR_ELEMENTS, ModeArrays, nambu_occupations, pair_amplitudes

from .closed_forms import _driven_block


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
