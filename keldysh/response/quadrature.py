"""Quadrature oracle of the Langreth rule: :func:`pair_response_matrix_quadrature` (numba)."""
from __future__ import annotations

import numba as nb
import numpy as np

from ..greens import _nf, _prep, _prep_occ, _resolvent
from .pole_response import _check_z
from .special import _I, _J, _NB, _S


# ----------------------------------------------------------------------------
# quadrature oracle (all four entries, any Hermitian h)
# ----------------------------------------------------------------------------
@nb.njit(**_NB)
def _pair_matrix_batch(h, gamma, m, T, frozen, z, w, wt, out):
    """out[k, a, b] = s_a s_b Σ_ω wt/2π [G^R_{I_a I_b}(ω + z) P_{J_b J_a}(ω)
    + P_{I_a I_b}(ω) conj(G^R_{J_a J_b}(ω - z̄))], P = G^R 2Γn G^A (generic 4x4 resolvents)."""
    nk, nw = w.shape
    a4 = np.empty((4, 4), np.complex128)
    work = np.empty((4, 8), np.complex128)
    g = np.empty((4, 4), np.complex128)
    gz = np.empty((4, 4), np.complex128)
    ga = np.empty((4, 4), np.complex128)
    p = np.empty((4, 4), np.complex128)
    s = np.empty(4, np.float64)
    acc = np.empty((2, 2), np.complex128)
    inv2pi = 1.0 / (2.0 * np.pi)
    zc = np.conj(z)
    for ik in range(nk):
        for a in range(2):
            for b in range(2):
                acc[a, b] = 0.0
        for iw in range(nw):
            if wt[ik, iw] == 0.0:
                continue
            x = w[ik, iw]
            _resolvent(h[ik], gamma[ik], x, a4, g, work)
            _resolvent(h[ik], gamma[ik], x + z, a4, gz, work)
            _resolvent(h[ik], gamma[ik], x - zc, a4, ga, work)
            for i in range(4):
                n = frozen[ik, i] if frozen[ik, i] >= 0.0 else _nf(x - m[ik, i], T[ik, i])
                s[i] = 2.0 * gamma[ik, i] * n
            for i in range(4):
                for j in range(4):
                    t = 0j
                    for l in range(4):
                        t += g[i, l] * s[l] * np.conj(g[j, l])
                    p[i, j] = t
            f = wt[ik, iw] * inv2pi
            for a in range(2):
                for b in range(2):
                    ia, ib, ja, jb = _I[a], _I[b], _J[a], _J[b]
                    acc[a, b] += f * _S[a] * _S[b] * (gz[ia, ib] * p[jb, ja] + p[ia, ib] * np.conj(ga[ja, jb]))
        for a in range(2):
            for b in range(2):
                out[ik, a, b] = acc[a, b]


def pair_response_matrix_quadrature(h, gamma, z, w, wt, m=None, T=0.0, frozen=None) -> np.ndarray:
    """chi_ab(z) per sample by quadrature of the Langreth rule, shape (n_k, 2, 2) (the oracle).

    ``w``, ``wt``: (n_ω,) or (n_k, n_ω) grids, e.g. from :func:`keldysh.greens.response_grids`
    (padding with weight 0 allowed).  Any Hermitian h (the Δ = 0 block structure is not
    assumed); generic 4x4 resolvents at ω, ω + z and ω - z̄."""
    h, gamma, w = _prep(h, gamma, w)
    wt = np.ascontiguousarray(np.broadcast_to(np.asarray(wt, dtype=float), w.shape))
    m, T, fz = _prep_occ(h.shape[0], m, T, frozen)
    zs = _check_z("z", z)
    if zs.ndim != 0:
        raise ValueError(f"z: must be a scalar, got shape {zs.shape}")
    out = np.empty((h.shape[0], 2, 2), np.complex128)
    _pair_matrix_batch(h, gamma, m, T, fz, complex(zs), w, wt, out)
    return out
