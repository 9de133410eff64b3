"""Slow numpy twin of the pole sum, :func:`pair_response_poles_numpy` (equations: keldysh.response)."""
from __future__ import annotations

import numpy as np
from scipy.special import psi

from ..greens import _prep, _prep_occ
from .pole_response import _check_normal_blocks, _check_z
from .special import _I, _J, _S


# ----------------------------------------------------------------------------
# numpy twin
# ----------------------------------------------------------------------------
def _phi_numpy(p, m, T, fz, upper: bool):
    """Φ(p) (module docstring) with numpy's log and scipy's ψ; all arguments broadcast."""
    Ts = np.where(T > 0, T, 1.0)
    s = (p - m) / (2 * np.pi * Ts)
    if upper:
        hot = psi(0.5 - 1j * s)
        cold = np.log(m - p) + 1j * np.pi
        froz = 1j * np.pi * fz
    else:
        hot = psi(0.5 + 1j * s) - 1j * np.pi
        cold = np.log(m - p) - 1j * np.pi
        froz = -1j * np.pi * fz
    return np.where(fz >= 0, froz, np.where(T > 0, hot, cold))


def pair_response_poles_numpy(h, gamma, z, m=None, T=0.0, frozen=None) -> np.ndarray:
    """Slow twin of :func:`pair_response_poles` (np.linalg.eig per block, scipy's ψ, plain
    difference quotients Φ[a, b] = (Φ(a) - Φ(b))/(a - b)); shape (n_k, 2, 2).

    Not for (nearly) confluent poles (the pair resonance z ≈ λ_p - λ_q), where the plain
    quotient loses its digits; the numba route is checked there against the quadrature."""
    h, gamma = _prep(h, gamma)
    _check_normal_blocks(h)
    m, T, fz = _prep_occ(h.shape[0], m, T, frozen)
    zs = _check_z("z", z)
    if zs.ndim != 0:
        raise ValueError(f"z: must be a scalar, got shape {zs.shape}")
    z = complex(zs)
    lam, A, g2, mm, TT, ff = [], [], [], [], [], []
    for idx in ((0, 1), (2, 3)):
        blk = h[:, idx][:, :, idx] - 1j * gamma[:, idx][:, :, None] * np.eye(2)
        w, R = np.linalg.eig(blk)
        L = np.linalg.inv(R)
        lam.append(w)
        A.append(R[:, :, :, None] * L[:, None, :, :])  # A[k, i, j, c] = R_ij L_jc
        g2.append(2 * gamma[:, idx])
        mm.append(m[:, idx])
        TT.append(T[:, idx])
        ff.append(fz[:, idx])
    lp, lh = lam
    AP, AH = A

    def dd(fa, fb, a, b):
        return (fa - fb) / (a - b)

    # term 1: axes [k, p, q, r, l], p particle, q, r, l hole
    a = (lp - z)[:, :, None, None, None]
    b = lh[:, None, :, None, None]
    c = np.conj(lh)[:, None, None, :, None]
    mh, Th, fh = (x[:, None, None, None, :] for x in (mm[1], TT[1], ff[1]))
    fa, fb, fc = (_phi_numpy(x, mh, Th, fh, up) for x, up in ((a, False), (b, False), (c, True)))
    dab = np.where(fh >= 0, 0.0, dd(fa, fb, a, b))
    K1 = (dab - dd(fb, fc, b, c)) / (a - c) / (2 * np.pi)
    # term 2: axes [k, q, r, p, l], q, r, l particle, p hole
    b = lp[:, :, None, None, None]
    c = np.conj(lp)[:, None, :, None, None]
    d = (np.conj(lh) + z)[:, None, None, :, None]
    mp, Tp, fp = (x[:, None, None, None, :] for x in (mm[0], TT[0], ff[0]))
    fb, fc, fd = (_phi_numpy(x, mp, Tp, fp, up) for x, up in ((b, False), (c, True), (d, True)))
    dcd = np.where(fp >= 0, 0.0, dd(fc, fd, c, d))
    K2 = (dd(fb, fc, b, c) - dcd) / (b - d) / (2 * np.pi)
    I = np.array(_I)
    Jl = np.array(_J) - 2  # local hole indices
    sgn = np.outer(_S, _S)
    AP_I = AP[:, I][:, :, :, :]       # [k, a, p, c]
    # chi1[a,b] = Σ_p AP[I_a,p,I_b] Σ_{qrl} 2Γ_l AH[J_b,q,l] conj(AH[J_a,r,l]) K1[p,q,r,l]
    t1 = np.einsum("kapb,kbql,kl,karl,kpqrl->kab", AP_I[:, :, :, I], AH[:, Jl], g2[1],
                   np.conj(AH[:, Jl]), K1)
    # chi2[a,b] = Σ_p conj(AH[J_a,p,J_b]) Σ_{qrl} 2Γ_l AP[I_a,q,l] conj(AP[I_b,r,l]) K2[q,r,p,l]
    t2 = np.einsum("kapb,kaql,kl,kbrl,kqrpl->kab", np.conj(AH[:, Jl][:, :, :, Jl]), AP_I, g2[0],
                   np.conj(AP_I), K2)
    return sgn * (t1 + t2)
