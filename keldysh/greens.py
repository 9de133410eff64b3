"""Nambu-Keldysh Green's functions of the driven system (spec §3, §7).

For one k block with single-particle matrix h (4x4), amplitude rates Γ (4,) and
Nambu occupations n_i(ω) = n_F(ω - m_i) at temperature T_i::

    G^R(ω) = [ω - h + iΓ]^{-1},        G^A = (G^R)†,
    G^K = G^R Σ^K G^A,  Σ^K = -2iΓ (1 - 2n(ω)),
    G^< = G^R Σ^< G^A,  Σ^< = 2iΓ n(ω),        A = i (G^R - G^A),
    rho_ij = <Ψ†_j Ψ_i> = ∫ dω/2π [G^R 2Γ n(ω) G^A]_ij.

Array axis order: Green's functions on a grid are (n_k, n_ω, 4, 4) — momentum
first, frequency second, Nambu row, Nambu column.  Equal-time matrices are
(n_k, 4, 4).

Three evaluations of rho exist and are tested against each other:

* :func:`rho_quadrature` — numba kernel, quadrature on per-k frequency grids;
* :func:`rho_quadrature_numpy` — its plain numpy twin (``np.linalg.inv`` + ``einsum``);
* :func:`rho_pole_sum` — the exact reference: G^R = R diag(1/(ω - z_j)) R^{-1}
  from the eigendecomposition of h - iΓ, and closed-form frequency integrals
  (logarithms at T = 0, digamma functions at T > 0, see :func:`pair_integral`).

Frozen (ω-independent) occupations, the Born-Markov limit, are selected with
``frozen`` (values in [0, 1]); a negative entry means "use n_F(ω - m_i)".  The numba kernels
are in :mod:`keldysh.kernels`; the functions here prepare their arguments.
"""
from __future__ import annotations

import numpy as np
from scipy.special import psi

from .baths import fermi
# _nf and _resolvent are imported from here by keldysh.response as well
from .kernels import (_is_chain, _nf, _pair_response_batch, _pair_response_normal,  # noqa: F401
                      _resolvent, _retarded_batch, _rho_batch, _rho_batch_chain, _sandwich_batch)

__all__ = [
    "retarded_gf",
    "advanced_gf",
    "lesser_gf",
    "keldysh_gf",
    "spectral_function",
    "rho_quadrature",
    "rho_quadrature_numpy",
    "rho_pole_sum",
    "pair_integral",
    "occupation",
    "adapted_grids",
    "pair_response_quadrature",
    "response_grids",
]


def occupation(w, m, T, frozen=None) -> np.ndarray:
    """n_i(ω) = n_F(ω - m_i) at T_i on a grid (frozen values where ``frozen`` >= 0): shape
    (n_ω, 4) for ``m``, ``T`` (4,) (numpy; :func:`keldysh.baths.fermi`)."""
    w = np.asarray(w, dtype=float)[:, None]
    n = fermi(w - np.asarray(m)[None, :], np.broadcast_to(np.asarray(T, dtype=float), (4,)))
    if frozen is not None:
        fz = np.asarray(frozen, dtype=float)
        n = np.where(fz >= 0, fz, n)
    return n


def _prep(h, gamma, w=None):
    h = np.ascontiguousarray(h, dtype=np.complex128)
    if h.ndim == 2:
        h = h[None]
    nk = h.shape[0]
    if h.shape[1:] != (4, 4):
        raise ValueError(f"h: must have shape (n_k, 4, 4), got {h.shape}")
    gamma = np.ascontiguousarray(np.broadcast_to(np.asarray(gamma, dtype=float), (nk, 4)))
    if np.any(gamma <= 0) or not np.all(np.isfinite(gamma)):
        raise ValueError("gamma: rates must be finite and > 0")
    if w is None:
        return h, gamma
    w = np.asarray(w, dtype=float)
    w = np.ascontiguousarray(np.broadcast_to(w, (nk, w.shape[-1])))
    return h, gamma, w


def _prep_occ(nk, m, T, frozen):
    m = np.ascontiguousarray(np.broadcast_to(np.asarray(m if m is not None else 0.0, dtype=float), (nk, 4)))
    T = np.ascontiguousarray(np.broadcast_to(np.asarray(T, dtype=float), (nk, 4)))
    if np.any(T < 0):
        raise ValueError("temperature: must be >= 0")
    fz = -1.0 if frozen is None else frozen
    fz = np.ascontiguousarray(np.broadcast_to(np.asarray(fz, dtype=float), (nk, 4)))
    return m, T, fz


def retarded_gf(h, gamma, w) -> np.ndarray:
    """G^R(ω) = [ω - h + iΓ]^{-1} for a batch: h (n_k, 4, 4), ω (n_ω,) or (n_k, n_ω).

    Returns (n_k, n_ω, 4, 4)."""
    h, gamma, w = _prep(h, gamma, w)
    out = np.empty(w.shape + (4, 4), np.complex128)
    _retarded_batch(h, gamma, w, out)
    return out


def advanced_gf(h, gamma, w) -> np.ndarray:
    """G^A = (G^R)†, shape (n_k, n_ω, 4, 4)."""
    return np.conj(np.swapaxes(retarded_gf(h, gamma, w), -1, -2))


def _sandwich(h, gamma, w, m, T, frozen, kind) -> np.ndarray:
    h, gamma, w = _prep(h, gamma, w)
    m, T, fz = _prep_occ(h.shape[0], m, T, frozen)
    out = np.empty(w.shape + (4, 4), np.complex128)
    _sandwich_batch(h, gamma, m, T, fz, w, kind, out)
    return out


def lesser_gf(h, gamma, w, m=None, T=0.0, frozen=None) -> np.ndarray:
    """G^<(ω) = G^R (2iΓ n(ω)) G^A, shape (n_k, n_ω, 4, 4)."""
    return _sandwich(h, gamma, w, m, T, frozen, 0)


def keldysh_gf(h, gamma, w, m=None, T=0.0, frozen=None) -> np.ndarray:
    """G^K(ω) = G^R (-2iΓ (1 - 2n(ω))) G^A, shape (n_k, n_ω, 4, 4)."""
    return _sandwich(h, gamma, w, m, T, frozen, 1)


def spectral_function(h, gamma, w) -> np.ndarray:
    """A(ω) = i (G^R - G^A) (Hermitian, positive), shape (n_k, n_ω, 4, 4)."""
    gr = retarded_gf(h, gamma, w)
    return 1j * (gr - np.conj(np.swapaxes(gr, -1, -2)))


def rho_quadrature(h, gamma, w, wt, m=None, T=0.0, frozen=None) -> np.ndarray:
    """rho = Σ_ω wt/2π G^R 2Γn G^A on per-k grids (numba), shape (n_k, 4, 4).

    ``w``, ``wt``: (n_ω,) shared grid or (n_k, n_ω) per-k grids (padding with weight 0
    allowed, see :func:`keldysh.frequency.stack_grids`)."""
    h, gamma, w = _prep(h, gamma, w)
    wt = np.ascontiguousarray(np.broadcast_to(np.asarray(wt, dtype=float), w.shape))
    m, T, fz = _prep_occ(h.shape[0], m, T, frozen)
    out = np.empty((h.shape[0], 4, 4), np.complex128)
    if _is_chain(h):
        _rho_batch_chain(h, gamma, m, T, fz, w, wt, out)
    else:
        _rho_batch(h, gamma, m, T, fz, w, wt, out)
    return out


# ----------------------------------------------------------------------------
# numpy twins (slow, obviously correct; used by the tests and as the benchmark baseline)
# ----------------------------------------------------------------------------
def retarded_gf_numpy(h, gamma, w) -> np.ndarray:
    h, gamma, w = _prep(h, gamma, w)
    a = (w[..., None, None] * np.eye(4) - h[:, None] + 1j * gamma[:, None, :, None] * np.eye(4))
    return np.linalg.inv(a)


def rho_quadrature_numpy(h, gamma, w, wt, m=None, T=0.0, frozen=None) -> np.ndarray:
    h, gamma, w = _prep(h, gamma, w)
    wt = np.broadcast_to(np.asarray(wt, dtype=float), w.shape)
    m, T, fz = _prep_occ(h.shape[0], m, T, frozen)
    gr = retarded_gf_numpy(h, gamma, w)
    n = np.empty(w.shape + (4,))
    for ik in range(h.shape[0]):
        n[ik] = occupation(w[ik], m[ik], T[ik], fz[ik])
    s = 2 * gamma[:, None, :] * n * wt[..., None] / (2 * np.pi)
    return np.einsum("kwil,kwl,kwjl->kij", gr, s, np.conj(gr))


# ----------------------------------------------------------------------------
# exact pole sum
# ----------------------------------------------------------------------------
def pair_integral(z, zp, m, T, frozen=None) -> np.ndarray:
    """I(z, z') = ∫ dω/2π n(ω) / ((ω - z)(ω - conj(z'))) in closed form, Im z, Im z' < 0.

    With J = ∫ dω n(ω) [1/(ω - z) - 1/(ω - z̄')], I = J / (2π (z - z̄')) and, for
    n(ω) = n_F(ω - m):

    * T = 0:  J = Log(m - z) - Log(m - z̄') - 2πi    (principal logarithms);
    * T > 0:  J = -iπ + ψ(1/2 + i(z - m)/(2πT)) - ψ(1/2 - i(z̄' - m)/(2πT)),
      from the Matsubara expansion n_F(x) = 1/2 - T Σ_n 1/(x - iω_n);
    * frozen n:  J = -2πi n.

    All arguments broadcast.
    """
    z = np.asarray(z, dtype=complex)
    zpc = np.conj(np.asarray(zp, dtype=complex))
    m = np.asarray(m, dtype=float)
    T = np.asarray(T, dtype=float)
    Tsafe = np.where(T > 0, T, 1.0)
    j_cold = np.log(m - z) - np.log(m - zpc) - 2j * np.pi
    j_hot = (-1j * np.pi + psi(0.5 + 1j * (z - m) / (2 * np.pi * Tsafe))
             - psi(0.5 - 1j * (zpc - m) / (2 * np.pi * Tsafe)))
    J = np.where(T > 0, j_hot, j_cold)
    if frozen is not None:
        fz = np.asarray(frozen, dtype=float)
        J = np.where(fz >= 0, -2j * np.pi * fz, J)
    return J / (2 * np.pi * (z - zpc))


def rho_pole_sum(h, gamma, m=None, T=0.0, frozen=None) -> np.ndarray:
    """Exact rho_k = ∫ dω/2π G^R 2Γn G^A by the pole sum (spec §7), shape (n_k, 4, 4).

    G^R_ai(ω) = Σ_j R_aj L_ji / (ω - z_j) with h - iΓ = R diag(z) L, L = R^{-1}, so

        rho_ab = Σ_i 2Γ_i Σ_{j,l} R_aj L_ji conj(R_bl L_li) I_i(z_j, z_l).

    Requires h - iΓ diagonalisable (fails only at exceptional points)."""
    h, gamma = _prep(h, gamma)
    m, T, fz = _prep_occ(h.shape[0], m, T, frozen)
    a = h - 1j * gamma[:, :, None] * np.eye(4)
    z, R = np.linalg.eig(a)
    L = np.linalg.inv(R)
    A = R[:, :, :, None] * L[:, None, :, :]  # A[k, a, j, i] = R_aj L_ji
    # I[k, j, l, i]
    I = pair_integral(z[:, :, None, None], z[:, None, :, None], m[:, None, None, :],
                      T[:, None, None, :], fz[:, None, None, :])
    I = I * (2 * gamma)[:, None, None, :]
    rho = np.einsum("kaji,kbli,kjli->kab", A, np.conj(A), I)
    return 0.5 * (rho + np.conj(np.swapaxes(rho, -1, -2)))


def _row_temperature(T):
    """Per row the smallest positive temperature (0 if none): the width of the Fermi features."""
    hot = np.where(T > 0, T, np.inf).min(axis=1)
    return np.where(np.isfinite(hot), hot, 0.0)


def _grid_features(h, gamma, m, T):
    """The quasi-energies z_j of h - iΓ (the poles of G^R, spec §7) per block, and the
    Nambu chemical potentials and Fermi widths of the occupations, for the adapted grids."""
    h, gamma = _prep(h, gamma)
    nk = h.shape[0]
    m = np.broadcast_to(np.asarray(m, dtype=float), (nk, 4))
    T = np.broadcast_to(np.asarray(T, dtype=float), (nk, 4))
    return np.linalg.eigvals(h - 1j * gamma[:, :, None] * np.eye(4)), m, _row_temperature(T)


def adapted_grids(h, gamma, m, T, n_per_panel: int = 20):
    """Per-k adapted grids (see :meth:`FrequencyGrid.adapted`), padded to (n_k, n_ω)."""
    from .frequency import adapted_batch

    z, m, width = _grid_features(h, gamma, m, T)
    return adapted_batch(z, m, width, n_per_panel)


# ----------------------------------------------------------------------------
# linear pair response (Keldysh route of the susceptibilities)
# ----------------------------------------------------------------------------
def pair_response_quadrature(h, gamma, z, w, wt, m=None, T=0.0, frozen=None) -> np.ndarray:
    """Linear pair response per k at frequency z (Im z ≥ 0) by quadrature, shape (n_k, 2).

    Column 0: χ_+ = ∂<c_-k1 c_k2>/∂Δ+; column 1: χ_- = ∂(-rho_03)/∂Δ- (spec §6), from

        δrho = ∫ dω/2π [G^R(ω + z) δh P(ω) + P(ω) δh G^A(ω - z)],   P = G^R 2Γn G^A,

    the Langreth rule for δh e^{-izt}, written so that it is manifestly analytic in
    the upper half plane (G^R(ω + z), G^A(ω - z)); h is the Δ = 0 block."""
    h, gamma, w = _prep(h, gamma, w)
    wt = np.ascontiguousarray(np.broadcast_to(np.asarray(wt, dtype=float), w.shape))
    m, T, fz = _prep_occ(h.shape[0], m, T, frozen)
    out = np.empty((h.shape[0], 2), np.complex128)
    normal = _is_chain(h) and not np.any(h[:, 1, 2]) and not np.any(h[:, 0, 3])
    if normal:
        _pair_response_normal(h, gamma, m, T, fz, complex(z), w, wt, out)
    else:
        _pair_response_batch(h, gamma, m, T, fz, complex(z), w, wt, out)
    return out


def response_grids(h, gamma, m, T, z, n_per_panel: int = 20):
    """Adapted grids for :func:`pair_response_quadrature`: features at the quasi-energies
    z_j, at z_j - z (poles of G^R(ω + z)) and z_j + conj(z) (of G^A(ω - z)), Fermi steps."""
    from .frequency import adapted_batch

    q, m, width = _grid_features(h, gamma, m, T)
    z = complex(z)
    feats = np.concatenate([q, q - z, q + np.conj(z)], axis=1)
    return adapted_batch(feats, m, width, n_per_panel)
