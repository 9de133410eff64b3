"""Numba kernels of the Green's-function integrals (spec §3, §7); called by :mod:`keldysh.greens`.

Per k block: h (4x4), amplitude rates Γ (4,), Nambu occupations n_i(ω) = n_F(ω - m_i) at T_i
(or frozen constants: ``frozen`` >= 0).  Batches run over k (axis 0) and a per-k frequency
grid (axis 1).  Every kernel has a slow numpy twin that the tests compare against: the
public functions of :mod:`keldysh.greens` and their ``*_numpy`` versions, and
:func:`keldysh.baths.fermi` for :func:`_nf`.
"""
from __future__ import annotations

import numba as nb
import numpy as np

_NB = dict(cache=True, nogil=True)
#: fastmath (reassociation, no NaN/inf checks) for the closed-form chain kernels only;
#: their accuracy against the pole sum and the numpy twins is what the tests check.
_NB_FAST = dict(cache=True, nogil=True, fastmath=True)


@nb.njit(**_NB)
def _nf(x, T):
    """n_F(x) at temperature T (the numba form of :func:`keldysh.baths.fermi`; exp-free tails)."""
    if T > 0.0:
        u = x / T
        if u > 40.0:  # n_F < 4e-18: zero to rounding, and no exp
            return 0.0
        if u < -40.0:
            return 1.0
        return 1.0 / (1.0 + np.exp(u))
    if x < 0.0:
        return 1.0
    if x > 0.0:
        return 0.0
    return 0.5


@nb.njit(**_NB)
def _occupation(frozen, m, T, x):
    """n_i(x) of one Nambu mode: the frozen value if >= 0, else n_F(x - m_i) at T_i."""
    return frozen if frozen >= 0.0 else _nf(x - m, T)


@nb.njit(**_NB)
def _scratch():
    """Work arrays of one block: (a, work, g) for :func:`_resolvent`."""
    return (np.empty((4, 4), np.complex128), np.empty((4, 8), np.complex128),
            np.empty((4, 4), np.complex128))


@nb.njit(**_NB)
def _invert4(a, out, work):
    """out = a^{-1} for a complex 4x4 matrix (Gauss-Jordan, partial pivoting).

    ``work`` is a (4, 8) complex scratch array; nothing is allocated."""
    for i in range(4):
        for j in range(4):
            work[i, j] = a[i, j]
            work[i, 4 + j] = 1.0 if i == j else 0.0
    for col in range(4):
        piv = col
        best = abs(work[col, col])
        for r in range(col + 1, 4):
            v = abs(work[r, col])
            if v > best:
                best = v
                piv = r
        if piv != col:
            for j in range(8):
                tmp = work[col, j]
                work[col, j] = work[piv, j]
                work[piv, j] = tmp
        inv_p = 1.0 / work[col, col]
        for j in range(8):
            work[col, j] *= inv_p
        for r in range(4):
            if r != col:
                f = work[r, col]
                if f != 0:
                    for j in range(8):
                        work[r, j] -= f * work[col, j]
    for i in range(4):
        for j in range(4):
            out[i, j] = work[i, 4 + j]


#: Nambu order (3, 0, 1, 2) makes every h_k of spec §3 tridiagonal: the chain
#: c†_-k2 -(Δ-)- c_k1 -(Ω)- c_k2 -(Δ+)- c†_-k1.
_CHAIN = np.array([3, 0, 1, 2])


@nb.njit(**_NB_FAST)
def _rho_batch_chain(h, gamma, m, T, frozen, w, wt, out):
    """:func:`_rho_batch` in closed form for chain-structured h (see ``_CHAIN``).

    In chain order (3, 0, 1, 2) T = ω - h + iΓ is tridiagonal with diagonal A_i, upper
    b_i, lower c_i.  Usmani's formulas: θ_1 = A_1, θ_i = A_i θ_{i-1} - b_{i-1}c_{i-1}θ_{i-2};
    φ_4 = A_4, φ_i = A_i φ_{i+1} - b_i c_i φ_{i+2};  T^{-1}_ij = (-1)^{i+j} b_i..b_{j-1}
    θ_{i-1} φ_{j+1} / θ_4 (i ≤ j) and the mirror with c for i > j.  With G_il = N_il/θ_4,
    rho_ij = Σ_ω wt/2π Σ_l 2Γ_l n_l(ω) N_il conj(N_jl) / |θ_4|²: no complex division, no
    pivoting (T is never singular for Γ > 0).  Written out for the 16 entries."""
    nk, nw = w.shape
    inv2pi = 1.0 / (2.0 * np.pi)
    for ik in range(nk):
        hk = h[ik]
        g0, g1, g2, g3 = gamma[ik, 0], gamma[ik, 1], gamma[ik, 2], gamma[ik, 3]
        d3, d0, d1, d2 = hk[3, 3].real, hk[0, 0].real, hk[1, 1].real, hk[2, 2].real
        b1 = -hk[3, 0]; c1 = -hk[0, 3]; b2 = -hk[0, 1]; c2 = -hk[1, 0]; b3 = -hk[1, 2]; c3 = -hk[2, 1]
        p1 = b1 * c1; p2 = b2 * c2; p3 = b3 * c3
        b12 = b1 * b2; b123 = b12 * b3; b23 = b2 * b3
        c12 = c1 * c2; c123 = c12 * c3; c23 = c2 * c3
        fz0, fz1, fz2, fz3 = frozen[ik, 0], frozen[ik, 1], frozen[ik, 2], frozen[ik, 3]
        m0, m1, m2, m3 = m[ik, 0], m[ik, 1], m[ik, 2], m[ik, 3]
        T0, T1, T2, T3 = T[ik, 0], T[ik, 1], T[ik, 2], T[ik, 3]
        a00 = 0j; a01 = 0j; a02 = 0j; a03 = 0j; a11 = 0j; a12 = 0j; a13 = 0j; a22 = 0j; a23 = 0j; a33 = 0j
        for iw in range(nw):
            f = wt[ik, iw]
            x = w[ik, iw]
            A1 = complex(x - d3, g3); A2 = complex(x - d0, g0); A3 = complex(x - d1, g1); A4 = complex(x - d2, g2)
            t1 = A1; t2 = A2 * t1 - p1; t3 = A3 * t2 - p2 * t1; t4 = A4 * t3 - p3 * t2
            f4 = A4; f3 = A3 * f4 - p3; f2 = A2 * f3 - p2 * f4
            q = f / (t4.real * t4.real + t4.imag * t4.imag)
            n0 = _occupation(fz0, m0, T0, x)
            n1 = _occupation(fz1, m1, T1, x)
            n2 = _occupation(fz2, m2, T2, x)
            n3 = _occupation(fz3, m3, T3, x)
            q0 = 2 * g0 * n0 * q; q1 = 2 * g1 * n1 * q; q2 = 2 * g2 * n2 * q; q3 = 2 * g3 * n3 * q
            N00 = t1 * f3; N10 = -c2 * t1 * f4; N20 = c23 * t1; N30 = -b1 * f3
            N01 = -b2 * t1 * f4; N11 = t2 * f4; N21 = -c3 * t2; N31 = b12 * f4
            N02 = b23 * t1; N12 = -b3 * t2; N22 = t3; N32 = -b123
            N03 = -c1 * f3; N13 = c12 * f4; N23 = -c123; N33 = f2
            M00 = q0 * N00; M10 = q0 * N10; M20 = q0 * N20; M30 = q0 * N30
            M01 = q1 * N01; M11 = q1 * N11; M21 = q1 * N21; M31 = q1 * N31
            M02 = q2 * N02; M12 = q2 * N12; M22 = q2 * N22; M32 = q2 * N32
            M03 = q3 * N03; M13 = q3 * N13; M23 = q3 * N23; M33 = q3 * N33
            a00 += M00 * np.conj(N00) + M01 * np.conj(N01) + M02 * np.conj(N02) + M03 * np.conj(N03)
            a11 += M10 * np.conj(N10) + M11 * np.conj(N11) + M12 * np.conj(N12) + M13 * np.conj(N13)
            a22 += M20 * np.conj(N20) + M21 * np.conj(N21) + M22 * np.conj(N22) + M23 * np.conj(N23)
            a33 += M30 * np.conj(N30) + M31 * np.conj(N31) + M32 * np.conj(N32) + M33 * np.conj(N33)
            a01 += M00 * np.conj(N10) + M01 * np.conj(N11) + M02 * np.conj(N12) + M03 * np.conj(N13)
            a02 += M00 * np.conj(N20) + M01 * np.conj(N21) + M02 * np.conj(N22) + M03 * np.conj(N23)
            a03 += M00 * np.conj(N30) + M01 * np.conj(N31) + M02 * np.conj(N32) + M03 * np.conj(N33)
            a12 += M10 * np.conj(N20) + M11 * np.conj(N21) + M12 * np.conj(N22) + M13 * np.conj(N23)
            a13 += M10 * np.conj(N30) + M11 * np.conj(N31) + M12 * np.conj(N32) + M13 * np.conj(N33)
            a23 += M20 * np.conj(N30) + M21 * np.conj(N31) + M22 * np.conj(N32) + M23 * np.conj(N33)
        out[ik, 0, 0] = a00.real * inv2pi; out[ik, 1, 1] = a11.real * inv2pi; out[ik, 2, 2] = a22.real * inv2pi; out[ik, 3, 3] = a33.real * inv2pi
        out[ik, 0, 1] = a01 * inv2pi; out[ik, 0, 2] = a02 * inv2pi; out[ik, 0, 3] = a03 * inv2pi
        out[ik, 1, 2] = a12 * inv2pi; out[ik, 1, 3] = a13 * inv2pi; out[ik, 2, 3] = a23 * inv2pi
        out[ik, 1, 0] = np.conj(out[ik, 0, 1]); out[ik, 2, 0] = np.conj(out[ik, 0, 2]); out[ik, 3, 0] = np.conj(out[ik, 0, 3])
        out[ik, 2, 1] = np.conj(out[ik, 1, 2]); out[ik, 3, 1] = np.conj(out[ik, 1, 3]); out[ik, 3, 2] = np.conj(out[ik, 2, 3])


def _is_chain(h) -> bool:
    """True if every block has the chain structure of spec §3 (zeros off the chain)."""
    off = h[:, [0, 2, 1, 3, 2, 3], [2, 0, 3, 1, 3, 2]]
    return bool(np.all(off == 0))


@nb.njit(**_NB)
def _resolvent(hk, gk, x, a, g, work):
    """g = [x - h + iΓ]^{-1} for one block (x may be complex); a, work are scratch."""
    for i in range(4):
        for j in range(4):
            a[i, j] = -hk[i, j]
        a[i, i] += x + 1j * gk[i]
    _invert4(a, g, work)


@nb.njit(**_NB)
def _retarded_batch(h, gamma, w, out):
    nk, nw = w.shape
    a, work, g = _scratch()
    for ik in range(nk):
        for iw in range(nw):
            _resolvent(h[ik], gamma[ik], w[ik, iw], a, g, work)
            for i in range(4):
                for j in range(4):
                    out[ik, iw, i, j] = g[i, j]


@nb.njit(**_NB)
def _sandwich_batch(h, gamma, m, T, frozen, w, kind, out):
    """out[k, ω] = i G^R S G^A: G^< for kind 0 (S = 2Γn) and G^K for kind 1
    (S = -2Γ(1 - 2n))."""
    nk, nw = w.shape
    a, work, g = _scratch()
    s = np.empty(4, np.float64)
    for ik in range(nk):
        for iw in range(nw):
            _resolvent(h[ik], gamma[ik], w[ik, iw], a, g, work)
            for i in range(4):
                n = _occupation(frozen[ik, i], m[ik, i], T[ik, i], w[ik, iw])
                s[i] = 2.0 * gamma[ik, i] * (n if kind == 0 else -(1.0 - 2.0 * n))
            for i in range(4):
                for j in range(4):
                    acc = 0j
                    for l in range(4):
                        acc += g[i, l] * s[l] * np.conj(g[j, l])
                    out[ik, iw, i, j] = 1j * acc


@nb.njit(**_NB)
def _rho_batch(h, gamma, m, T, frozen, w, wt, out):
    nk, nw = w.shape
    a, work, g = _scratch()
    s = np.empty(4, np.float64)
    inv2pi = 1.0 / (2.0 * np.pi)
    for ik in range(nk):
        for i in range(4):
            for j in range(4):
                out[ik, i, j] = 0.0
        for iw in range(nw):
            if wt[ik, iw] == 0.0:
                continue
            _resolvent(h[ik], gamma[ik], w[ik, iw], a, g, work)
            for i in range(4):
                n = _occupation(frozen[ik, i], m[ik, i], T[ik, i], w[ik, iw])
                s[i] = 2.0 * gamma[ik, i] * n * wt[ik, iw] * inv2pi
            for i in range(4):
                for j in range(i, 4):
                    acc = 0j
                    for l in range(4):
                        acc += g[i, l] * s[l] * np.conj(g[j, l])
                    out[ik, i, j] += acc
        for i in range(4):
            for j in range(i + 1, 4):
                out[ik, j, i] = np.conj(out[ik, i, j])
            out[ik, i, i] = out[ik, i, i].real



# ----------------------------------------------------------------------------
# linear pair response (Keldysh route of the susceptibilities)
# ----------------------------------------------------------------------------
@nb.njit(**_NB)
def _pair_response_batch(h, gamma, m, T, frozen, z, w, wt, out):
    """out[k] = (X_12 for δh = E_12, X_03 for δh = E_03) at frequency z, with

        X = ∫ dω/2π [G^R(ω + z) δh P(ω) + P(ω) δh G^A(ω - z)],  P = G^R 2Γn G^A.
    """
    nk, nw = w.shape
    a, work, g = _scratch()
    gz = np.empty((4, 4), np.complex128)
    ga = np.empty((4, 4), np.complex128)
    p = np.empty((4, 4), np.complex128)
    s = np.empty(4, np.float64)
    inv2pi = 1.0 / (2.0 * np.pi)
    for ik in range(nk):
        acc_p = 0j
        acc_m = 0j
        for iw in range(nw):
            if wt[ik, iw] == 0.0:
                continue
            x = w[ik, iw]
            _resolvent(h[ik], gamma[ik], x, a, g, work)
            _resolvent(h[ik], gamma[ik], x + z, a, gz, work)
            # G^A(ω - z) = [G^R(ω - conj z)]^†
            _resolvent(h[ik], gamma[ik], x - np.conj(z), a, ga, work)
            for i in range(4):
                n = _occupation(frozen[ik, i], m[ik, i], T[ik, i], x)
                s[i] = 2.0 * gamma[ik, i] * n
            for i in range(4):
                acc = 0j
                for l in range(4):
                    acc += g[i, l] * s[l] * np.conj(g[i, l])
                p[i, i] = acc
            f = wt[ik, iw] * inv2pi
            # δh = E_12: X_12 = GRz_11 P_22 + P_11 GA_22 ; GA_22 = conj(ga_22)
            acc_p += f * (gz[1, 1] * p[2, 2] + p[1, 1] * np.conj(ga[2, 2]))
            # δh = E_03: X_03 = GRz_00 P_33 + P_00 GA_33   ([A E_ab B]_ij = A_ia B_bj)
            acc_m += f * (gz[0, 0] * p[3, 3] + p[0, 0] * np.conj(ga[3, 3]))
        out[ik, 0] = acc_p
        out[ik, 1] = acc_m


@nb.njit(**_NB_FAST)
def _pair_response_normal(h, gamma, m, T, frozen, z, w, wt, out):
    """:func:`_pair_response_batch` for normal-state blocks (Δ = 0) in closed form.

    The driven block (k1, k2) is 2x2 and the hole modes are scalars:
    with a_i(x) = x - h_ii + iΓ_i and d = a_0 a_1 - Ω²,
    G_00 = a_1/d, G_11 = a_0/d, G_01 = G_10 = Ω/d, G_22 = 1/a_2, G_33 = 1/a_3."""
    nk, nw = w.shape
    inv2pi = 1.0 / (2.0 * np.pi)
    zc = np.conj(z)
    for ik in range(nk):
        h00 = h[ik, 0, 0].real
        h11 = h[ik, 1, 1].real
        h22 = h[ik, 2, 2].real
        h33 = h[ik, 3, 3].real
        om = h[ik, 0, 1]
        om2 = om * om
        g0, g1, g2, g3 = gamma[ik, 0], gamma[ik, 1], gamma[ik, 2], gamma[ik, 3]
        acc_p = 0j
        acc_m = 0j
        for iw in range(nw):
            f = wt[ik, iw]
            if f == 0.0:
                continue
            x = w[ik, iw]
            n0 = _occupation(frozen[ik, 0], m[ik, 0], T[ik, 0], x)
            n1 = _occupation(frozen[ik, 1], m[ik, 1], T[ik, 1], x)
            n2 = _occupation(frozen[ik, 2], m[ik, 2], T[ik, 2], x)
            n3 = _occupation(frozen[ik, 3], m[ik, 3], T[ik, 3], x)
            a0 = x - h00 + 1j * g0
            a1 = x - h11 + 1j * g1
            a2 = x - h22 + 1j * g2
            a3 = x - h33 + 1j * g3
            rd = 1.0 / (a0 * a1 - om2)
            G00, G11, G01 = a1 * rd, a0 * rd, om * rd
            P00 = 2 * g0 * n0 * abs(G00) ** 2 + 2 * g1 * n1 * abs(G01) ** 2
            P11 = 2 * g0 * n0 * abs(G01) ** 2 + 2 * g1 * n1 * abs(G11) ** 2
            P22 = 2 * g2 * n2 / abs(a2) ** 2
            P33 = 2 * g3 * n3 / abs(a3) ** 2
            # G^R(ω + z)
            b0 = a0 + z
            b1 = a1 + z
            rz = 1.0 / (b0 * b1 - om2)
            # G^A(ω - z) = conj transpose of G^R(ω - conj z): scalars for the hole modes
            ga22 = np.conj(1.0 / (a2 - zc))
            ga33 = np.conj(1.0 / (a3 - zc))
            acc_p += f * (b0 * rz * P22 + P11 * ga22)
            acc_m += f * (b1 * rz * P33 + P00 * ga33)
        out[ik, 0] = acc_p * inv2pi
        out[ik, 1] = acc_m * inv2pi
