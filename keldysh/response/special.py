"""Shared constants (numba flags, pair indices) and the scalar Φ, ψ of keldysh.response's docstring (numba)."""
from __future__ import annotations

import math

import numba as nb
import numpy as np

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
