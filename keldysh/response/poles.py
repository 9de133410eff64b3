"""The pole sum (numba): 2x2 eigendecompositions, z-independent set-up, chi_ab(z); equations: keldysh.response."""
from __future__ import annotations

import math

import numba as nb
import numpy as np

from .special import _NB, _NB_INLINE, _phi, _phi_dd_same


# ----------------------------------------------------------------------------
# set-up: closed-form 2x2 eigendecompositions and the z-independent pieces
# ----------------------------------------------------------------------------
@nb.njit(**_NB)
def _eig2(A, B, C, D, lam, A_out):
    """[[A, B], [C, D]] = R diag(λ) L in closed form; A_out[i, j, c] = R_ij L_jc.

    t = (A - D)/2, δ = ±sqrt(t² + BC) with Re(conj(t) δ) ≥ 0, w = t + δ (no cancellation):
    λ = s ± δ, eigenvectors (w, C) and (B, -w), det R = -2δw.  Returns cond_1(R) (1 for a
    scalar block), inf for a defective one."""
    t = 0.5 * (A - D)
    s = 0.5 * (A + D)
    d = np.sqrt(t * t + B * C)
    if (t.real * d.real + t.imag * d.imag) < 0.0:
        d = -d
    w = t + d
    lam[0] = s + d
    lam[1] = s - d
    if w == 0:
        if B == 0 and C == 0:
            for i in range(2):
                for j in range(2):
                    for c in range(2):
                        A_out[i, j, c] = 1.0 if (i == j and j == c) else 0.0
            return 1.0
        return np.inf
    det = -(w * w + B * C)
    if det == 0:
        return np.inf
    r00, r01, r10, r11 = w, B, C, -w
    l00, l01, l10, l11 = -w / det, -B / det, -C / det, w / det
    A_out[0, 0, 0] = r00 * l00
    A_out[0, 0, 1] = r00 * l01
    A_out[0, 1, 0] = r01 * l10
    A_out[0, 1, 1] = r01 * l11
    A_out[1, 0, 0] = r10 * l00
    A_out[1, 0, 1] = r10 * l01
    A_out[1, 1, 0] = r11 * l10
    A_out[1, 1, 1] = r11 * l11
    nr = max(abs(r00) + abs(r10), abs(r01) + abs(r11))
    nl = max(abs(l00) + abs(l10), abs(l01) + abs(l11))
    return nr * nl


@nb.njit(**_NB)
def _setup(h, gamma, m, T, fz, lam, AP, AH, phib1, dbc1, imb1, phic2, dbc2, imc2, cond):
    """Eigen-data and the z-independent pieces of every sample.

    lam[k] = (λ_P0, λ_P1, λ_H0, λ_H1); AP, AH the projector components of the particle and
    hole blocks.  Term 1 (hole baths l, hole eigen-indices q, r): phib1[k,q,l] = Φ_l(λ_q),
    dbc1[k,q,r,l] = Φ_l[λ_q, λ̄_r], imb1[k,q,l] = 1/(m_l - λ_q).  Term 2 (particle baths
    and eigen-indices): phic2[k,r,l] = Φ_l(λ̄_r), dbc2[k,q,r,l] = Φ_l[λ_q, λ̄_r],
    imc2[k,r,l] = 1/(m_l - λ̄_r)."""
    nk = h.shape[0]
    lp = np.empty(2, np.complex128)
    lh = np.empty(2, np.complex128)
    for k in range(nk):
        cp = _eig2(complex(h[k, 0, 0].real, -gamma[k, 0]), h[k, 0, 1], h[k, 1, 0],
                   complex(h[k, 1, 1].real, -gamma[k, 1]), lp, AP[k])
        ch = _eig2(complex(h[k, 2, 2].real, -gamma[k, 2]), h[k, 2, 3], h[k, 3, 2],
                   complex(h[k, 3, 3].real, -gamma[k, 3]), lh, AH[k])
        cond[k] = max(cp, ch)
        lam[k, 0] = lp[0]
        lam[k, 1] = lp[1]
        lam[k, 2] = lh[0]
        lam[k, 3] = lh[1]
        for l in range(2):
            # Φ(λ̄) = conj(Φ(λ)) + κ in the upper half plane (κ = -iπ at T > 0, else 0)
            # term 1: hole baths (Ψ index 2 + l), hole poles
            mh, Th, fh = m[k, 2 + l], T[k, 2 + l], fz[k, 2 + l]
            kap = -1j * math.pi if (fh < 0.0 and Th > 0.0) else 0j
            pb0 = _phi(lh[0], mh, Th, fh, False)
            pb1 = _phi(lh[1], mh, Th, fh, False)
            pc0 = np.conj(pb0) + kap
            pc1 = np.conj(pb1) + kap
            phib1[k, 0, l] = pb0
            phib1[k, 1, l] = pb1
            imb1[k, 0, l] = 1.0 / (mh - lh[0])
            imb1[k, 1, l] = 1.0 / (mh - lh[1])
            dbc1[k, 0, 0, l] = (pb0 - pc0) / (lh[0] - np.conj(lh[0]))
            dbc1[k, 0, 1, l] = (pb0 - pc1) / (lh[0] - np.conj(lh[1]))
            dbc1[k, 1, 0, l] = (pb1 - pc0) / (lh[1] - np.conj(lh[0]))
            dbc1[k, 1, 1, l] = (pb1 - pc1) / (lh[1] - np.conj(lh[1]))
            # term 2: particle baths (Ψ index l), particle poles
            mp, Tp, fp = m[k, l], T[k, l], fz[k, l]
            kap = -1j * math.pi if (fp < 0.0 and Tp > 0.0) else 0j
            pb0 = _phi(lp[0], mp, Tp, fp, False)
            pb1 = _phi(lp[1], mp, Tp, fp, False)
            pc0 = np.conj(pb0) + kap
            pc1 = np.conj(pb1) + kap
            phic2[k, 0, l] = pc0
            phic2[k, 1, l] = pc1
            imc2[k, 0, l] = 1.0 / (mp - np.conj(lp[0]))
            imc2[k, 1, l] = 1.0 / (mp - np.conj(lp[1]))
            dbc2[k, 0, 0, l] = (pb0 - pc0) / (lp[0] - np.conj(lp[0]))
            dbc2[k, 0, 1, l] = (pb0 - pc1) / (lp[0] - np.conj(lp[1]))
            dbc2[k, 1, 0, l] = (pb1 - pc0) / (lp[1] - np.conj(lp[0]))
            dbc2[k, 1, 1, l] = (pb1 - pc1) / (lp[1] - np.conj(lp[1]))


# ----------------------------------------------------------------------------
# the pole sum at one z
# ----------------------------------------------------------------------------
@nb.njit(**_NB_INLINE)
def _recip(x):
    """1/x, and 0 for x = 0 (a confluent difference whose reciprocal is not used)."""
    if x == 0:
        return 0j
    return 1.0 / x


@nb.njit(**_NB)
def _chi_sample(k, z, gamma, m, T, fz, lam, AP, AH, phib1, dbc1, imb1, phic2, dbc2, imc2,
                K1, K2, X1, X2, out):
    """out[a, b] = chi_ab(z) of sample k (see the module docstring); K1, K2, X1, X2 are
    (2, 2, 2, 2) scratch arrays."""
    inv2pi = 1.0 / (2.0 * math.pi)
    # term 1: K1[p,q,r,l] = 2Γ_l Φ_l[λ_p - z, λ_q, λ̄_r]/2π; p particle, q, r, l hole
    for p in range(2):
        a = lam[k, p] - z
        ic0 = inv2pi / (a - np.conj(lam[k, 2]))
        ic1 = inv2pi / (a - np.conj(lam[k, 3]))
        d0 = a - lam[k, 2]
        d1 = a - lam[k, 3]
        id0 = _recip(d0)
        id1 = _recip(d1)
        for l in range(2):
            mh, Th, fh = m[k, 2 + l], T[k, 2 + l], fz[k, 2 + l]
            g0 = 2.0 * gamma[k, 2 + l] * ic0
            g1 = 2.0 * gamma[k, 2 + l] * ic1
            pa = _phi(a, mh, Th, fh, False)
            dab = _phi_dd_same(a, lam[k, 2], d0, id0, pa, phib1[k, 0, l], imb1[k, 0, l], mh, Th, fh, False)
            K1[p, 0, 0, l] = (dab - dbc1[k, 0, 0, l]) * g0
            K1[p, 0, 1, l] = (dab - dbc1[k, 0, 1, l]) * g1
            dab = _phi_dd_same(a, lam[k, 3], d1, id1, pa, phib1[k, 1, l], imb1[k, 1, l], mh, Th, fh, False)
            K1[p, 1, 0, l] = (dab - dbc1[k, 1, 0, l]) * g0
            K1[p, 1, 1, l] = (dab - dbc1[k, 1, 1, l]) * g1
    # term 2: K2[q,r,p,l] = 2Γ_l Φ_l[λ_q, λ̄_r, λ̄_p + z]/2π; q, r, l particle, p hole
    for p in range(2):
        d = np.conj(lam[k, 2 + p]) + z
        ib0 = inv2pi / (lam[k, 0] - d)
        ib1 = inv2pi / (lam[k, 1] - d)
        c0 = d - np.conj(lam[k, 0])
        c1 = d - np.conj(lam[k, 1])
        ic0 = _recip(c0)
        ic1 = _recip(c1)
        for l in range(2):
            mp, Tp, fp = m[k, l], T[k, l], fz[k, l]
            g0 = 2.0 * gamma[k, l] * ib0
            g1 = 2.0 * gamma[k, l] * ib1
            pd = _phi(d, mp, Tp, fp, True)
            dcd = _phi_dd_same(d, np.conj(lam[k, 0]), c0, ic0, pd, phic2[k, 0, l], imc2[k, 0, l], mp, Tp, fp, True)
            K2[0, 0, p, l] = (dbc2[k, 0, 0, l] - dcd) * g0
            K2[1, 0, p, l] = (dbc2[k, 1, 0, l] - dcd) * g1
            dcd = _phi_dd_same(d, np.conj(lam[k, 1]), c1, ic1, pd, phic2[k, 1, l], imc2[k, 1, l], mp, Tp, fp, True)
            K2[0, 1, p, l] = (dbc2[k, 0, 1, l] - dcd) * g0
            K2[1, 1, p, l] = (dbc2[k, 1, 1, l] - dcd) * g1
    # term 1: Σ_p A^P[I_a, p, I_b] Σ_{q,l} A^H[J_b, q, l] Σ_r conj(A^H[J_a, r, l]) K1[p,q,r,l]
    # term 2: Σ_p conj(A^H[J_a, p, J_b]) Σ_{q,l} A^P[I_a, q, l] Σ_r conj(A^P[I_b, r, l]) K2[q,r,p,l]
    # (2Γ_l is in K; local hole index of J_a is a, local particle index of I_a is 1 - a)
    for a in range(2):
        for p in range(2):
            for q in range(2):
                for l in range(2):
                    X1[a, p, q, l] = (np.conj(AH[k, a, 0, l]) * K1[p, q, 0, l]
                                      + np.conj(AH[k, a, 1, l]) * K1[p, q, 1, l])
                    X2[a, q, p, l] = (np.conj(AP[k, 1 - a, 0, l]) * K2[q, 0, p, l]
                                      + np.conj(AP[k, 1 - a, 1, l]) * K2[q, 1, p, l])
    for a in range(2):
        ia = 1 - a
        for b in range(2):
            ib = 1 - b
            t = 0j
            for p in range(2):
                y1 = 0j
                y2 = 0j
                for q in range(2):
                    for l in range(2):
                        y1 += AH[k, b, q, l] * X1[a, p, q, l]
                        y2 += AP[k, ia, q, l] * X2[b, q, p, l]
                t += AP[k, ia, p, ib] * y1 + np.conj(AH[k, a, p, b]) * y2
            out[a, b] = t if a == b else -t


@nb.njit(**_NB)
def _samples_kernel(z, gamma, m, T, fz, lam, AP, AH, phib1, dbc1, imb1, phic2, dbc2, imc2, out):
    K1 = np.empty((2, 2, 2, 2), np.complex128)
    K2 = np.empty((2, 2, 2, 2), np.complex128)
    X1 = np.empty((2, 2, 2, 2), np.complex128)
    X2 = np.empty((2, 2, 2, 2), np.complex128)
    for k in range(lam.shape[0]):
        _chi_sample(k, z, gamma, m, T, fz, lam, AP, AH, phib1, dbc1, imb1, phic2, dbc2, imc2,
                    K1, K2, X1, X2, out[k])


@nb.njit(**_NB)
def _weighted_kernel(zs, wts, gamma, m, T, fz, lam, AP, AH, phib1, dbc1, imb1, phic2, dbc2, imc2, out):
    K1 = np.empty((2, 2, 2, 2), np.complex128)
    K2 = np.empty((2, 2, 2, 2), np.complex128)
    X1 = np.empty((2, 2, 2, 2), np.complex128)
    X2 = np.empty((2, 2, 2, 2), np.complex128)
    c = np.empty((2, 2), np.complex128)
    for iz in range(zs.shape[0]):
        s00 = 0j
        s01 = 0j
        s10 = 0j
        s11 = 0j
        for k in range(lam.shape[0]):
            wk = wts[k]
            if wk == 0.0:
                continue
            _chi_sample(k, zs[iz], gamma, m, T, fz, lam, AP, AH, phib1, dbc1, imb1, phic2, dbc2,
                        imc2, K1, K2, X1, X2, c)
            s00 += wk * c[0, 0]
            s01 += wk * c[0, 1]
            s10 += wk * c[1, 0]
            s11 += wk * c[1, 1]
        out[iz, 0, 0] = s00
        out[iz, 0, 1] = s01
        out[iz, 1, 0] = s10
        out[iz, 1, 1] = s11
