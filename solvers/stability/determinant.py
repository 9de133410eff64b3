"""The instability determinant D = det[1 - M chi] and its roots in the coupling V.

Gap equations (spec §3, Eqs. 8, 12): Δ+ = V S+ + V' S-, Δ- = V'* S+ + V S-, i.e.
Δ = M S with M = [[V, V'], [V'*, V]].  Linearised, S = chi(z) Δ with the 2x2 pair
susceptibility matrix chi_ab(z) (a, b ∈ (+, -); diagonal unless the drive converts K+
pairs into K- pairs, spec §9), so a gap oscillating as e^{-izt} needs

    D(z) = det[1 - M chi(z)] = 1 - tr(M chi) + det(M) det(chi)
         = det(chi) V² - (chi_++ + chi_--) V + 1 - (V' chi_-+ + V'* chi_+-) - v² det(chi),

v = |V'|.  For diagonal chi this is the familiar 1 - V (chi+ + chi-) + (V² - v²) chi+ chi-
(the phase of V' drops out).  At fixed V', D is a quadratic in V: :func:`coupling_roots`.
"""
from __future__ import annotations

import numpy as np

__all__ = ["coupling_matrix", "as_chi_matrix", "determinant", "quadratic_coefficients",
           "coupling_roots", "sort_roots"]


def coupling_matrix(V: float, Vprime: complex) -> np.ndarray:
    """M = [[V, V'], [V'*, V]] (Eq. 12)."""
    return np.array([[V, Vprime], [np.conj(Vprime), V]], dtype=complex)


def as_chi_matrix(chi) -> np.ndarray:
    """chi as (..., 2, 2): a (..., 2, 2) array is returned as is; (chi_+, chi_-) pairs
    (..., 2) become diagonal matrices."""
    chi = np.asarray(chi, dtype=complex)
    if chi.shape[-2:] == (2, 2):
        return chi
    if chi.shape[-1:] != (2,):
        raise ValueError(f"chi: must have shape (..., 2, 2) or (..., 2), got {chi.shape}")
    out = np.zeros(chi.shape[:-1] + (2, 2), complex)
    out[..., 0, 0] = chi[..., 0]
    out[..., 1, 1] = chi[..., 1]
    return out


def quadratic_coefficients(chi, Vprime: complex):
    """(a, b, c) of D = a V² + b V + c for chi (..., 2, 2) at fixed V' (see module docstring)."""
    chi = as_chi_matrix(chi)
    d = chi[..., 0, 0] * chi[..., 1, 1] - chi[..., 0, 1] * chi[..., 1, 0]
    s = chi[..., 0, 0] + chi[..., 1, 1]
    mix = Vprime * chi[..., 1, 0] + np.conj(Vprime) * chi[..., 0, 1]
    return d, -s, 1.0 - mix - abs(Vprime) ** 2 * d


def determinant(V, Vprime: complex, chi) -> np.ndarray:
    """D = det[1 - M chi] for couplings V (broadcast against chi's leading shape)."""
    a, b, c = quadratic_coefficients(chi, Vprime)
    V = np.asarray(V)
    return a * V**2 + b * V + c


def _roots(a, b, c):
    """Both roots of a x² + b x + c = 0 (complex, broadcasting), numerically stable.

    Where a = 0 the finite root -c/b is returned with an infinite partner."""
    a, b, c = np.broadcast_arrays(*(np.asarray(x, dtype=complex) for x in (a, b, c)))
    disc = np.sqrt(b * b - 4 * a * c)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = -0.5 * (b + np.where(np.real(np.conj(b) * disc) >= 0, disc, -disc))
        r1 = np.where(a != 0, q / a, np.inf + 0j)
        r2 = np.where(q != 0, c / q, np.where(a != 0, -b / np.where(a != 0, a, 1), np.inf + 0j))
    return np.stack([r1, r2], axis=-1)


def sort_roots(roots) -> np.ndarray:
    """Order the last axis by (real part, imaginary part) — lexicographic, so that exact ties
    in the real part are broken by a stated rule and never by rounding; non-finite last."""
    roots = np.asarray(roots, dtype=complex)
    finite = np.isfinite(roots)
    re = np.where(finite, roots.real, np.inf)
    im = np.where(finite, roots.imag, np.inf)
    order = np.lexsort((im, re), axis=-1)
    return np.take_along_axis(roots, order, axis=-1)


def coupling_roots(chi, Vprime: complex, sort: bool = True) -> np.ndarray:
    """Both couplings V with D = 0 at fixed V', shape (..., 2) (complex).

    ``sort``: order by (Re V, Im V) (:func:`sort_roots`); otherwise the order of the stable
    quadratic formula, which is what continuation along a frequency path needs."""
    roots = _roots(*quadratic_coefficients(chi, Vprime))
    return sort_roots(roots) if sort else roots
