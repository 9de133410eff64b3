"""Instability criteria of the normal state: the paper's real-part criterion and the full one.

Gap equations (spec §3, Eqs. 8, 12): Δ+ = V S+ + V' S-, Δ- = V'* S+ + V S-, with
S± = chi±(z) Δ± for a gap oscillating as e^{-izt}.  A non-trivial solution needs

    D(z) = det[1 - M chi(z)] = 1 - V (chi+ + chi-) + (V² - v²) chi+ chi- = 0,   v = |V'|

(the phase φ of V' drops out).

* **Paper criterion** (spec §6): z = 0 and chi -> F = Re chi; D = 0 is a quadratic in V
  with two real branches (Eq. 16 for γ1 = γ2: 1 = (V² - v²) F_+², V_c = ±sqrt(v² + 1/F_+²)).
* **Full criterion**: the normal state is unstable when D(z) has a root with Im z > 0
  (growth rate λ = Im z).  chi^R is analytic in the upper half plane and vanishes at
  |z| -> ∞, so the number of such roots is the winding number of D(ν) along the real axis
  (:func:`unstable_mode_count`, the Nyquist criterion); :func:`full_instability` scans V
  with it and locates every change of the count.  On such a boundary a root sits on the
  real axis, z = ν: D(ν) = 0 is a quadratic in V with complex coefficients whose real root
  gives V_c (:func:`full_critical_couplings` refines it as a zero of Im V_branch(ν)).  The
  onset frequency ν is the condensate frequency of the emerging state.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq

__all__ = ["CriticalCouplings", "paper_critical_couplings", "coupling_roots",
           "full_critical_couplings", "determinant", "unstable_mode_count"]


@dataclass(frozen=True)
class CriticalCouplings:
    """Critical intravalley couplings V_c at fixed v = |V'|, with the onset frequencies.

    ``criterion``: "paper" or "full"; ``route``: where chi came from ("paper" closed
    forms, "born_markov", "keldysh", ...); ``approximations``: human-readable list of
    what was assumed.  ``V_c`` sorted ascending (empty if none); ``nu_c`` the onset
    frequency of each (0 for the paper criterion)."""

    criterion: str
    route: str
    v: float
    V_c: np.ndarray
    nu_c: np.ndarray
    approximations: tuple = ()
    details: dict = field(default_factory=dict)


def determinant(V, v, chi_plus, chi_minus):
    """D = 1 - V (chi+ + chi-) + (V² - v²) chi+ chi- (broadcasts)."""
    return 1 - V * (chi_plus + chi_minus) + (V**2 - v**2) * chi_plus * chi_minus


def coupling_roots(chi_plus, chi_minus, v) -> np.ndarray:
    """Both roots V of D = 0 for given chi (complex allowed), sorted by real part, shape (..., 2).

    a V² + b V + c = 0 with a = chi+ chi-, b = -(chi+ + chi-), c = 1 - v² chi+ chi-.
    Where a = 0 the single root 1/(chi+ + chi-) is returned with NaN as partner."""
    cp = np.asarray(chi_plus, dtype=complex)
    cm = np.asarray(chi_minus, dtype=complex)
    a = cp * cm
    b = -(cp + cm)
    c = 1 - v**2 * a
    disc = np.sqrt(b * b - 4 * a * c + 0j)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = -0.5 * (b + np.where(np.real(np.conj(b) * disc) >= 0, disc, -disc))
        r1 = q / a
        r2 = c / q
        lin = np.where(b != 0, -c / b, np.nan)
    small = np.abs(a) <= 1e-300
    r1 = np.where(small, lin, r1)
    r2 = np.where(small, np.nan + 0j, r2)
    roots = np.stack([r1, r2], axis=-1)
    key = np.where(np.isnan(roots.real), np.inf, roots.real)
    order = np.argsort(key, axis=-1)
    return np.take_along_axis(roots, order, axis=-1)


def paper_critical_couplings(F_plus: float, F_minus: float, v: float, route: str = "paper",
                             approximations=()) -> CriticalCouplings:
    """Paper criterion: real roots of 1 - V(F+ + F-) + (V² - v²) F+ F- = 0 (Eqs. 12, 16).

    The discriminant (F+ - F-)² + 4 v² F+² F-² is never negative: two real branches
    whenever F+ F- ≠ 0."""
    roots = coupling_roots(F_plus, F_minus, v).real
    roots = roots[np.isfinite(roots)]
    approx = ("nu = 0", "real part of chi only (paper Eq. 9)") + tuple(approximations)
    return CriticalCouplings("paper", route, float(v), np.sort(roots), np.zeros(roots.size), approx,
                             {"F_plus": float(F_plus), "F_minus": float(F_minus)})


def full_critical_couplings(chi_of_nu, v: float, nu_grid=None, route: str = "", approximations=(),
                            xtol: float = 1e-14, brackets=None) -> CriticalCouplings:
    """Full criterion: real couplings V at which a root of D(z) crosses the real axis.

    ``chi_of_nu(nu_array) -> (chi_plus, chi_minus)`` arrays at real frequencies.  Either a
    ``nu_grid`` covering the frequencies where chi varies (a few (Γ + Ω) around the pair
    energy): for each branch V_j(ν) of D(ν) = 0 (roots sorted by real part), the zeros of
    Im V_j(ν) are bracketed on the grid and refined with Brent's method; or ``brackets``,
    a list of (ν_lo, ν_hi, j) known to enclose one crossing of branch j (e.g. from a cheaper
    route), each widened fourfold up to six times until Im V_j changes sign.
    V_c = Re V_j at the crossing, ν_c the crossing frequency."""
    Vc, nuc, br = [], [], []

    def roots_at(nu):
        a, b = chi_of_nu(np.array([nu]))
        return coupling_roots(a, b, v)[0]

    def accept(nu0, j):
        V = roots_at(nu0)[j]
        # a sign change of Im V across a pole of V (|V| -> ∞) is not a crossing
        if np.isfinite(V) and abs(V.imag) <= 1e-6 * max(1.0, abs(V.real)):
            Vc.append(V.real)
            nuc.append(nu0)
            br.append(j)

    def refine(lo, hi, flo, fhi, j):
        if flo == 0.0:
            return lo
        if fhi == 0.0:
            return hi
        return brentq(lambda nu: roots_at(nu)[j].imag, lo, hi, xtol=xtol, rtol=4 * np.finfo(float).eps)

    if brackets is None:
        nu_grid = np.asarray(nu_grid, dtype=float)
        cp, cm = chi_of_nu(nu_grid)
        roots = coupling_roots(cp, cm, v)
        for j in range(2):
            im = roots[:, j].imag
            ok = np.isfinite(im)
            for i in np.nonzero(ok[:-1] & ok[1:] & (np.sign(im[:-1]) != np.sign(im[1:])))[0]:
                accept(refine(nu_grid[i], nu_grid[i + 1], im[i], im[i + 1], j), j)
    else:
        for lo, hi, j in brackets:
            centre, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
            for _ in range(7):
                a, b = centre - half, centre + half
                fa, fb = roots_at(a)[j].imag, roots_at(b)[j].imag
                if np.isfinite(fa) and np.isfinite(fb) and np.sign(fa) != np.sign(fb):
                    accept(refine(a, b, fa, fb, j), j)
                    break
                half *= 4
    order = np.argsort(Vc)
    approx = ("linear stability of the normal state",) + tuple(approximations)
    return CriticalCouplings("full", route, float(v), np.asarray(Vc)[order], np.asarray(nuc)[order],
                             approx, {"nu_grid": nu_grid, "branch": np.asarray(br, dtype=int)[order]})


def unstable_mode_count(chi_plus, chi_minus, V: float, v: float) -> int:
    """Number of roots of D(z) with Im z > 0 (growing modes), by the argument principle.

    ``chi_plus``, ``chi_minus`` sampled along a real-frequency grid fine enough to follow
    the phase of D and wide enough that D ≈ 1 at both ends (chi^R -> 0 for |ν| -> ∞, and
    chi^R is analytic in the upper half plane, so the winding of D(ν) around 0 counts its
    zeros there: the Nyquist criterion)."""
    D = determinant(V, v, np.asarray(chi_plus), np.asarray(chi_minus))
    phase = np.unwrap(np.angle(D))
    return int(round((phase[-1] - phase[0]) / (2 * np.pi)))


def full_instability(chi_of_nu, v: float, nu_grid, V_max: float, route: str = "", n_V: int = 201,
                     approximations=()) -> CriticalCouplings:
    """Full criterion, robust form: the couplings V where the number of growing modes changes.

    The growing modes at coupling V are counted with :func:`unstable_mode_count` (Nyquist,
    chi sampled once on ``nu_grid``) on a grid of V in [-V_max, V_max] (dense near 0 and
    geometric outwards); every change of the count is bracketed by bisection, then refined
    to a real-axis root of D: at the bisected V the frequency ν0 of min |D(ν)| on the grid
    is located, the root branch V_j(ν) closest to it is followed, and Im V_j(ν) = 0 is
    solved by Brent's method nearby.  ``details["counts"]`` holds the number of growing
    modes in each interval between boundaries (len = boundaries + 1)."""
    nu_grid = np.asarray(nu_grid, dtype=float)
    cp, cm = chi_of_nu(nu_grid)
    count = lambda V: unstable_mode_count(cp, cm, V, v)  # noqa: E731
    pos = V_max * np.geomspace(1e-3, 1.0, n_V // 2)
    Vs = np.concatenate([-pos[::-1], [0.0], pos])
    counts = np.array([count(V) for V in Vs])
    Vb, nub, seg_counts = [], [], [int(counts[0])]
    for i in np.nonzero(np.diff(counts))[0]:
        lo, hi, clo = Vs[i], Vs[i + 1], counts[i]
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if count(mid) == clo:
                lo = mid
            else:
                hi = mid
            if hi - lo <= 1e-13 * max(1.0, abs(mid)):
                break
        Vc = 0.5 * (lo + hi)
        D = np.abs(determinant(Vc, v, cp, cm))
        k = int(np.argmin(D))
        nu_c = nu_grid[k]
        # refine: follow the root branch nearest to Vc through its real-axis crossing
        a, b = nu_grid[max(k - 2, 0)], nu_grid[min(k + 2, nu_grid.size - 1)]
        r0 = coupling_roots(cp[k], cm[k], v)
        j = int(np.nanargmin(np.abs(r0 - Vc)))
        f = lambda nu: coupling_roots(*chi_of_nu(np.array([nu])), v)[0, j].imag  # noqa: E731
        try:
            fa, fb = f(a), f(b)
            if np.isfinite(fa) and np.isfinite(fb) and np.sign(fa) != np.sign(fb):
                nu_r = brentq(f, a, b, xtol=1e-14, rtol=4 * np.finfo(float).eps)
                Vr = coupling_roots(*chi_of_nu(np.array([nu_r])), v)[0, j]
                if abs(Vr.real - Vc) <= 0.02 * max(1.0, abs(Vc)) and abs(Vr.imag) <= 1e-6 * max(1.0, abs(Vr.real)):
                    Vc, nu_c = float(Vr.real), float(nu_r)
        except ValueError:
            pass
        Vb.append(Vc)
        nub.append(nu_c)
        seg_counts.append(int(counts[i + 1]))
    approx = ("linear stability of the normal state", f"|V| <= {V_max:g}") + tuple(approximations)
    return CriticalCouplings("full", route, float(v), np.asarray(Vb), np.asarray(nub), approx,
                             {"counts": np.asarray(seg_counts), "nu_grid": nu_grid})
