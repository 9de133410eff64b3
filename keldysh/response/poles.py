"""Exact linear pair response of normal-state blocks by pole sums (spec §3, §6, §7, §9).

One normal-state (Δ = 0) Nambu block per sample: h (4x4, Hermitian) is block diagonal
with a particle block on Ψ indices {0, 1} (c_k1, c_k2) and a hole block on {2, 3}
(c†_-k1, c†_-k2).  Today the hole block is undriven (h[2,3] = 0); the "circular" drive of
spec §9 makes h[2,3] = -Ω_{-k}, h[3,2] = -conj(Ω_{-k}), which is supported.  With amplitude
rates Γ (4,), G^R(ω) = [ω - h + iΓ]^{-1} and occupations n_i(ω) = n_F(ω - m_i) at T_i (or
frozen constants, ``frozen`` ≥ 0, as in :mod:`keldysh.greens`), the response of the
equal-time matrix to δh e^{-izt} (Im z ≥ 0) is the Langreth rule

    X[δh] = ∫ dω/2π [G^R(ω + z) δh P(ω) + P(ω) δh G^A(ω - z)],   P = G^R 2Γn G^A.

Pair fields S_+ = rho_12, S_- = -rho_03 (spec §3); the gaps enter as δh = E_12 (Δ_+) and
δh = -E_03 (Δ_-), E_ab the matrix unit.  The response matrix (spec §9)

    chi[a, b] = ∂S_a/∂Δ_b,  a, b ∈ (+, -):
    chi[0,0] = X_12[E_12],  chi[0,1] = -X_12[E_03],  chi[1,0] = -X_03[E_12],  chi[1,1] = X_03[E_03].

Axis order: per-sample results are (n_k, 2, 2) = (sample, a, b); frequency scans
(:meth:`PoleResponse.weighted_sum`) are (n_z, 2, 2).

**Pole sum.**  Each 2x2 block of h - iΓ is diagonalised in closed form,
h - iΓ = R diag(λ) L (L = R^{-1}), so G^R(ω) = Σ_j R_{:j} L_{j:} /(ω - λ_j), and with the
spectral projector components A_{i j c} = R_ij L_jc of each block (i, c Ψ indices of
the block, j its eigen-index), I = (1, 0) and J = (2, 3) the Ψ indices of (S_+, S_-),
s = (1, -1):

    chi[a,b] = s_a s_b Σ_p A^P_{I_a p I_b} Σ_{q,r,l ∈ H} 2Γ_l A^H_{J_b q l} conj(A^H_{J_a r l}) K_l(λ_p - z, λ_q, λ̄_r)
             + s_a s_b Σ_{p ∈ H} conj(A^H_{J_a p J_b}) Σ_{q,r,l ∈ P} 2Γ_l A^P_{I_a q l} conj(A^P_{I_b r l}) K_l(λ_q, λ̄_r, λ̄_p + z),

    K_l(a, b, c) = ∫ dω/2π n_l(ω) / ((ω - a)(ω - b)(ω - c)) = Φ_l[a, b, c] / 2π,

the second divided difference of Φ_l(p) = "∫ dω n_l(ω)/(ω - p)" (defined up to a constant
per half plane, the one below is consistent with :func:`keldysh.greens.pair_integral`):

* T = 0:   Φ(p) = Log(m - p) - iπ (Im p < 0),   Log(m - p) + iπ (Im p > 0);
* T > 0:   Φ(p) = ψ(1/2 + i(p - m)/(2πT)) - iπ (Im p < 0),   ψ(1/2 - i(p - m)/(2πT)) (Im p > 0);
* frozen:  Φ(p) = -iπ n (Im p < 0),   +iπ n (Im p > 0).

In the first term a, b lie below the real axis and c above; in the second b below,
c and d = λ̄_p + z above (and Φ(λ̄) = conj Φ(λ) + κ, κ = -iπ at T > 0, else 0, halves the
set-up).  Φ[a,b,c] = (Φ[a,b] - Φ[b,c])/(a - c): the opposite-half-plane differences are
never confluent (|a - c| ≥ Γ_i + Γ_j); the same-half-plane first difference is (nearly)
confluent at the pair resonance z = λ_p - λ_q (e.g. ν = -2μ with equal rates; because the
pair dispersion is flat, every sample of the resonance shell is near it) and is evaluated
stably: at T = 0 as the plain quotient for |u| > 1e-2, u = (a - b)/(m - b) (rounding
≲ eps |Log|/|u| ≤ 1e-13), else as -g(-u)/(m - b) with g(v) = log1p(v)/v by its series; at
T > 0 with x = 1/2 ± i(p - m)/(2πT) as the plain quotient for |x_a - x_b| > 1e-2 |x_b|, else
as ψ[x_a, x_b] dx/dp from the recurrence ψ(x) = ψ(x + 1) - 1/x (whose terms have the exact
divided differences 1/((x_a + k)(x_b + k))) up to |x| ≥ 12 and the asymptotic series, each
term's divided difference in closed form (log via log1p; y^{-n} via r_a r_b h_{n-1}(r_a, r_b)).

Accuracy: relative ~1e-13 against converged quadrature where the response is not small.
Terms 1 and 2 are each O(1/Γ) and cancel where the pair is Pauli blocked (e.g. both modes
full), so the absolute error is ~1e-16/Γ there.  The eigenvector matrices are unitary for
equal rates within a block; with unequal rates the error grows like cond(R)·eps near the
exceptional point (zero detuning, |Ω| = |Γ_0 - Γ_1|/2), and a block with cond(R) > 1e8 is
rejected.

Routes (tested against each other and against independent oracles in tests/test_response.py):

* :class:`PoleResponse` / :func:`pair_response_poles` — numba, the fast path;
* :func:`pair_response_poles_numpy` — its slow twin (np.linalg.eig, scipy's ψ, plain
  difference quotients: not for (nearly) confluent poles);
* :func:`pair_response_matrix_quadrature` — all four entries by quadrature on the grids
  of :func:`keldysh.greens.response_grids` (any Hermitian h, also Δ ≠ 0), the oracle.
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np
from scipy.special import psi

from ..greens import _nf, _prep, _prep_occ, _resolvent

__all__ = [
    "PoleResponse",
    "pair_response_poles",
    "pair_response_poles_numpy",
    "pair_response_matrix_quadrature",
]

_NB = dict(cache=True, nogil=True)
#: the complex log and the guarded reciprocal are inlined at the numba level (a few % of the
#: kernel; inlining the larger helpers too costs twice the compile time for < 5 %)
_NB_INLINE = dict(cache=True, nogil=True, inline="always")

#: Ψ indices of the pair fields: S_+ = rho[I[0], J[0]] = rho_12, S_- = -rho[I[1], J[1]] = -rho_03
_I = (1, 0)
_J = (2, 3)
_S = (1.0, -1.0)

#: |x| from which the asymptotic series of ψ is used (relative truncation error < 1e-16)
_PSI_R2 = 144.0
#: B_2n / (2n), n = 1..7: ψ(y) = log y - 1/(2y) - Σ_n c_n y^{-2n}
_C1, _C2, _C3, _C4, _C5, _C6, _C7 = (1.0 / 12, -1.0 / 120, 1.0 / 252, -1.0 / 240, 1.0 / 132,
                                      -691.0 / 32760, 1.0 / 12)
_ASYM = np.array([_C1, _C2, _C3, _C4, _C5, _C6, _C7])
#: max condition number of a block's eigenvector matrix
_COND_MAX = 1e8


# ----------------------------------------------------------------------------
# scalar special functions (numba)
# ----------------------------------------------------------------------------
@nb.njit(**_NB_INLINE)
def _clog(v):
    """Principal complex logarithm (math.log + math.atan2; |v| within 1e-150..1e150)."""
    x, y = v.real, v.imag
    return complex(0.5 * math.log(x * x + y * y), math.atan2(y, x))


@nb.njit(**_NB)
def _log1p_over(v):
    """log(1 + v) / v for complex v (principal branch), 1 at v = 0, accurate for small |v|."""
    x, y = v.real, v.imag
    if x * x + y * y < 1e-4:
        # Σ_n (-v)^n/(n + 1), truncation |v|^9/10 < 1e-19
        s = 1.0 / 9.0
        for n in range(7, -1, -1):
            s = 1.0 / (n + 1) - v * s
        return s
    re = 0.5 * math.log1p(x * (2.0 + x) + y * y)
    im = math.atan2(y, 1.0 + x)
    return complex(re, im) / v


@nb.njit(**_NB)
def _digamma(x):
    """ψ(x) for complex x with Re x > 0: recurrence up to |x| ≥ 12, then the asymptotic series."""
    acc = 0j
    y = x
    while y.real * y.real + y.imag * y.imag < _PSI_R2:
        acc -= 1.0 / y
        y += 1.0
    r = 1.0 / y
    r2 = r * r
    ser = r2 * (_C1 + r2 * (_C2 + r2 * (_C3 + r2 * (_C4 + r2 * (_C5 + r2 * (_C6 + r2 * _C7))))))
    return acc + _clog(y) - 0.5 * r - ser


@nb.njit(**_NB)
def _digamma_dd(xa, xb):
    """ψ[x_a, x_b] = (ψ(x_a) - ψ(x_b))/(x_a - x_b), stable (and exact in the limit) for x_a → x_b.

    Recurrence terms -1/(x + k) have divided differences 1/((x_a + k)(x_b + k)); of the
    asymptotic series, log y gives log1p(v)/(v y_b) (v = (y_a - y_b)/y_b), -1/(2y) gives
    r_a r_b/2 and -c_n y^{-2n} gives c_n r_a r_b h_{2n-1}(r_a, r_b) with r = 1/y and
    h_j(r_a, r_b) = Σ_{i=0}^{j} r_a^{j-i} r_b^i."""
    acc = 0j
    ya = xa
    yb = xb
    while (ya.real * ya.real + ya.imag * ya.imag < _PSI_R2
           or yb.real * yb.real + yb.imag * yb.imag < _PSI_R2):
        acc += 1.0 / (ya * yb)
        ya += 1.0
        yb += 1.0
    ra = 1.0 / ya
    rb = 1.0 / yb
    acc += _log1p_over((ya - yb) * rb) * rb
    rab = ra * rb
    # h_j = r_a h_{j-1} + r_b^j; the odd j = 2n - 1 carry c_n; stop once max|r|^(2n) < 1e-17
    # (the terms fall like |r|^(2n) relative to the leading 1/y)
    big = max(ra.real * ra.real + ra.imag * ra.imag, rb.real * rb.real + rb.imag * rb.imag)
    rpow = 1.0
    h = 1.0 + 0j
    rbj = 1.0 + 0j
    s = 0j
    for j in range(1, 14):
        rbj *= rb
        h = ra * h + rbj
        if j % 2 == 1:
            s += _ASYM[j // 2] * h
            rpow *= big
            if rpow < 1e-17:
                break
    return acc + rab * (0.5 + s)


@nb.njit(**_NB)
def _phi(p, m, T, fz, upper):
    """Φ(p) of the module docstring for one occupation (m, T, frozen fz)."""
    if fz >= 0.0:
        return complex(0.0, math.pi * fz) if upper else complex(0.0, -math.pi * fz)
    if T > 0.0:
        s = (p - m) * (1.0 / (2.0 * math.pi * T))
        if upper:
            return _digamma(complex(0.5 + s.imag, -s.real))
        return _digamma(complex(0.5 - s.imag, s.real)) - 1j * math.pi
    q = _clog(m - p)
    return q + 1j * math.pi if upper else q - 1j * math.pi


@nb.njit(**_NB)
def _phi_dd_same(a, b, diff, inv_diff, phia, phib, inv_mb, m, T, fz, upper):
    """Φ[a, b] for a, b in the same half plane, stable at a → b.

    diff = a - b, inv_diff = 1/diff (any value when diff = 0), phia, phib = Φ(a), Φ(b),
    inv_mb = 1/(m - b)."""
    if fz >= 0.0:
        return 0j
    if T > 0.0:
        c = 1.0 / (2.0 * math.pi * T)
        sa = (a - m) * c
        sb = (b - m) * c
        if upper:
            xa = complex(0.5 + sa.imag, -sa.real)
            xb = complex(0.5 + sb.imag, -sb.real)
        else:
            xa = complex(0.5 - sa.imag, sa.real)
            xb = complex(0.5 - sb.imag, sb.real)
        dx = xa - xb
        if dx.real * dx.real + dx.imag * dx.imag > 1e-4 * (xb.real * xb.real + xb.imag * xb.imag):
            # |ψ(x_a) - ψ(x_b)| ≳ |dx/x_b|: relative rounding error ≲ eps |ψ| |x_b/dx| ≤ 1e-13
            return (phia - phib) * inv_diff
        # dx/dp = -ic (upper), +ic (lower)
        return _digamma_dd(xa, xb) * complex(0.0, -c if upper else c)
    u = diff * inv_mb
    if u.real * u.real + u.imag * u.imag > 1e-4:
        # relative rounding error ≲ eps |Log(m - b)| / |u| ≤ 1e-13
        return (phia - phib) * inv_diff
    # Log(m - a) - Log(m - b) = log1p(-u), by its series (|u| ≤ 1e-2)
    return -_log1p_over(-u) * inv_mb


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


# ----------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------
@nb.njit(**_NB)
def _block_defects(h):
    """(kind, sample, value) of the first defect of h (n_k, 4, 4): kind 0 none, 1 not finite,
    2 particle-hole entry, 3 not Hermitian (value: |h_ij - conj h_ji| / max(max|h|, 1))."""
    for k in range(h.shape[0]):
        scale = 1.0
        for i in range(4):
            for j in range(4):
                x = h[k, i, j]
                if not (np.isfinite(x.real) and np.isfinite(x.imag)):
                    return 1, k, 0.0
                scale = max(scale, abs(x.real), abs(x.imag))
                if (i < 2) != (j < 2) and x != 0:
                    return 2, k, 0.0
        for i in range(4):
            for j in range(i, 4):
                d = h[k, i, j] - np.conj(h[k, j, i])
                v = max(abs(d.real), abs(d.imag)) / scale
                if v > 1e-12:
                    return 3, k, v
    return 0, 0, 0.0


def _check_normal_blocks(h):
    """h (n_k, 4, 4): finite, Hermitian and block diagonal in {0, 1} ⊕ {2, 3} (Δ = 0)."""
    kind, k, v = _block_defects(h)
    if kind == 1:
        raise ValueError(f"h: must be finite (sample {k})")
    if kind == 2:
        raise ValueError(f"h: must be block diagonal in (0, 1) + (2, 3) (normal state, Delta = 0); "
                         f"sample {k} has a nonzero particle-hole entry")
    if kind == 3:
        raise ValueError(f"h: must be Hermitian (G^A = (G^R)^dagger); sample {k} has "
                         f"|h_ij - conj(h_ji)| = {v:.3g} max|h|")


def _check_z(name, z) -> np.ndarray:
    zs = np.asarray(z)
    if zs.dtype.kind not in "biufc":
        raise ValueError(f"{name}: must be a number or an array of numbers, got {z!r}")
    zs = zs.astype(complex)
    if not np.all(np.isfinite(zs)):
        raise ValueError(f"{name}: must be finite, got {z!r}")
    if np.any(zs.imag < 0):
        raise ValueError(f"{name}: the retarded response needs Im z >= 0, got {z!r}")
    return zs


class PoleResponse:
    """Exact pair response matrix chi_ab(z) of normal-state blocks by the pole sum.

    The eigendecomposition of h - iΓ and every z-independent Φ value are computed once on
    construction; :meth:`samples` and :meth:`weighted_sum` then cost O(1) per (sample, z).

    Parameters
    ----------
    h : (n_k, 4, 4) complex
        Normal-state Nambu blocks (spec §3, §9): Hermitian, particle block {0, 1}, hole
        block {2, 3}, no particle-hole entries.
    gamma : (4,) or (n_k, 4)
        Amplitude rates Γ > 0.
    m : (4,) or (n_k, 4), optional
        Nambu chemical potentials (:func:`keldysh.nambu.nambu_chemical_potentials`), 0 if None.
    T : float, (4,) or (n_k, 4)
        Bath temperatures ≥ 0.
    frozen : (4,) or (n_k, 4), optional
        Frozen Nambu occupations; an entry ≥ 0 replaces n_F(ω - m_i) (as in
        :mod:`keldysh.greens`).
    """

    def __init__(self, h, gamma, m=None, T=0.0, frozen=None):
        h, gamma = _prep(h, gamma)
        _check_normal_blocks(h)
        m, T, fz = _prep_occ(h.shape[0], m, T, frozen)
        if not (np.all(np.isfinite(m)) and np.all(np.isfinite(T)) and np.all(np.isfinite(fz))):
            raise ValueError("m, T, frozen: must be finite")
        nk = h.shape[0]
        self.gamma, self.m, self.T, self.frozen = gamma, m, T, fz
        self.lam = np.empty((nk, 4), np.complex128)
        self.AP = np.empty((nk, 2, 2, 2), np.complex128)
        self.AH = np.empty((nk, 2, 2, 2), np.complex128)
        self._phib1 = np.empty((nk, 2, 2), np.complex128)
        self._dbc1 = np.empty((nk, 2, 2, 2), np.complex128)
        self._phic2 = np.empty((nk, 2, 2), np.complex128)
        self._dbc2 = np.empty((nk, 2, 2, 2), np.complex128)
        self._imb1 = np.empty((nk, 2, 2), np.complex128)
        self._imc2 = np.empty((nk, 2, 2), np.complex128)
        cond = np.empty(nk)
        _setup(h, gamma, m, T, fz, self.lam, self.AP, self.AH, self._phib1, self._dbc1, self._imb1,
               self._phic2, self._dbc2, self._imc2, cond)
        bad = np.nonzero(~(cond <= _COND_MAX))[0]
        if bad.size:
            raise ValueError(f"h: h - i*gamma is (nearly) defective at sample {int(bad[0])} "
                             f"(exceptional point, cond(R) = {cond[bad[0]]:.3g}); "
                             "use pair_response_matrix_quadrature there")
        self.cond = cond

    def __len__(self) -> int:
        return self.lam.shape[0]

    @property
    def quasi_energies(self) -> np.ndarray:
        """λ (n_k, 4): eigenvalues of the particle block (columns 0, 1) and hole block (2, 3)."""
        return self.lam

    def _args(self):
        return (self.gamma, self.m, self.T, self.frozen, self.lam, self.AP, self.AH,
                self._phib1, self._dbc1, self._imb1, self._phic2, self._dbc2, self._imc2)

    def samples(self, z) -> np.ndarray:
        """chi_ab(z) per sample, shape (n_k, 2, 2) = (sample, a, b), a, b ∈ (+, -); Im z ≥ 0."""
        zs = _check_z("z", z)
        if zs.ndim != 0:
            raise ValueError(f"z: must be a scalar, got shape {zs.shape} (use weighted_sum for scans)")
        out = np.empty((len(self), 2, 2), np.complex128)
        _samples_kernel(complex(zs), *self._args(), out)
        return out

    def weighted_sum(self, z_values, weights) -> np.ndarray:
        """Σ_k weights_k chi_ab,k(z) for every z, shape (n_z, 2, 2) (no (n_z, n_k) temporaries).

        ``z_values``: (n_z,) complex with Im z ≥ 0 (a scalar is treated as (1,));
        ``weights``: (n_k,) real, e.g. :attr:`keldysh.nambu.ModeArrays.weight`."""
        zs = _check_z("z_values", z_values)
        if zs.ndim > 1:
            raise ValueError(f"z_values: must be a scalar or 1-d, got shape {zs.shape}")
        zs = np.ascontiguousarray(np.atleast_1d(zs))
        wts = np.asarray(weights)
        if wts.dtype.kind not in "biuf":
            raise ValueError(f"weights: must be real numbers, got dtype {wts.dtype}")
        wts = np.ascontiguousarray(wts, dtype=float)
        if wts.shape != (len(self),):
            raise ValueError(f"weights: must have shape ({len(self)},) (one per sample), got {wts.shape}")
        if not np.all(np.isfinite(wts)):
            raise ValueError("weights: must be finite")
        out = np.empty((zs.shape[0], 2, 2), np.complex128)
        _weighted_kernel(zs, wts, *self._args(), out)
        return out


def pair_response_poles(h, gamma, z, m=None, T=0.0, frozen=None) -> np.ndarray:
    """chi_ab(z) per sample by the exact pole sum (numba), shape (n_k, 2, 2); see
    :class:`PoleResponse` for the arguments (one z, Im z ≥ 0)."""
    return PoleResponse(h, gamma, m, T, frozen).samples(z)


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
