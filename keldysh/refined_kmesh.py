"""Resonance-refined momentum mesh of the K+ half (:class:`RefinedKMesh`, spec §7).

A 2D quadrature of the K+ half, polar around K+, refined at the resonance surface
2 e_k = 2 e_c (a :class:`keldysh.kmesh.Resonance`): the :class:`keldysh.kmesh.KMesh`
interface with N → ∞ weights, for the "dichroic" and "circular" patterns (which need 2D) at a
fraction of the uniform cost.  Every sample k stands for the pair (k, -k): since e_{-k} = e_k
the shell refined around K+ is also the K- resonance ring of the -k partners, so the whole-zone
patterns of spec §9 need no second mesh.  Measured at the Fig. 3a parameters (δ = 5t,
ω0 = 5.1t, Γ1 = Γ2 = 5e-4, μ = -Γ/2) with the K+ width W(Ω) of Eq. (10): the Born-Markov
chi_ab(0) of the "circular" drive (whose K- ring has |Ω_{-k}| ≈ 0.17 Ω, a narrower Lorentzian)
changes by ≤ 6e-5 (relative) from level s = 8 to 16 and ≤ 2e-7 from 16 to 32, for Ω = Γ
and 100Γ (tests/test_circular.py).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from .frequency import gauss_legendre as _legendre
from .kmesh import Resonance, _MomentumMesh
from .lattice import RECIPROCAL, HoneycombModel

__all__ = ["RefinedKMesh"]

#: area of the first Brillouin zone, A_BZ = (2π)²/A_c
_BZ_AREA = float(abs(np.linalg.det(RECIPROCAL)))


def _valley_triangle(model: HoneycombModel) -> tuple[np.ndarray, np.ndarray]:
    """K+ centre and the three reciprocal-lattice points nearest to it (rows).

    The triangle they span (area A_BZ/2, centroid K+) is the Voronoi cell of K+
    among all valley centres (K+ and K- images): it is the driven half
    {η(k) > 0} modulo reciprocal-lattice vectors (its edges are the Γ-M lines,
    where η changes sign; checked in the tests)."""
    K = model.valley_centres()["K+"]
    n = np.arange(-2, 3)
    G = (n[:, None, None] * RECIPROCAL[0] + n[None, :, None] * RECIPROCAL[1]).reshape(-1, 2)
    d = np.linalg.norm(G - K, axis=1)
    return K, G[np.argsort(d, kind="stable")[:3]]


@functools.lru_cache(maxsize=None)
def _embedded_legendre(n: int, parity: str) -> np.ndarray:
    """Weights on the n Gauss-Legendre nodes x_j (weights w_j) of [-1, 1] of an embedded
    lower-order rule, w_j (1 - P_l(x_j) / P_l(x_0)) with l the one of n - 1, n - 2 of the
    given ``parity``:

    * ``"even"``: the symmetric rule that vanishes at the middle node (n odd, l = n - 1, exact
      to degree n - 2) or at the two middle nodes (n even, l = n - 2, exact to degree n - 3);
    * ``"odd"``: the rule that vanishes at the node x_0 just above the middle (l = n - 1 for n
      even, exact to degree n - 2; l = n - 2 for n odd, exact to degree n - 3).

    Each is the interpolatory rule on the remaining nodes: Σ_j w_j P_l(x_j) p(x_j) = 0 for
    deg p < l (orthogonality; Gauss-Legendre is exact to degree 2n - 1), so the difference to
    Gauss-Legendre, Σ_j w_j P_l(x_j) f_j / P_l(x_0), measures the Legendre coefficient l of
    f: the "even" rule is not blind to integrands symmetric about the panel centre, the "odd"
    one not to antisymmetric ones.  Zero weights where there is no lower rule (n = 1; n = 2,
    "even").  Cached, read-only."""
    x, w = _legendre(n)
    l = n - 1 if (n - 1) % 2 == (parity == "odd") else n - 2
    out = np.zeros(n)
    if l >= 1:
        unit = np.zeros(l + 1)
        unit[l] = 1.0
        P = np.polynomial.legendre.legval(x, unit)  # P_l(x_j) by Clenshaw: stable for large l
        j0 = n // 2 + (n % 2 if l % 2 else 0)  # the middle node, or the one just above it
        out = w * (1.0 - P / P[j0])
    out.flags.writeable = False
    return out


def _sinh_panel(centre, width, a, b, n):
    """n Gauss-Legendre nodes in s for q = centre + width·sinh(s) on [a, b].

    Returns (q, dq, dq_embedded) with dq the weights of ∫ dq over [a, b] and dq_embedded those
    of the embedded rule on the same nodes (:func:`_embedded_legendre`, "odd"); the nodes are
    dense within ``width`` of ``centre`` and thin out geometrically away from it."""
    xg, wg = _legendre(n)
    sa, sb = np.arcsinh((a - centre) / width), np.arcsinh((b - centre) / width)
    s = 0.5 * (sb - sa) * xg + 0.5 * (sb + sa)
    ch = np.cosh(s)
    return (centre + width * np.sinh(s), 0.5 * (sb - sa) * wg * width * ch,
            0.5 * (sb - sa) * _embedded_legendre(n, "odd") * width * ch)


@dataclass(frozen=True)
class RefinedKMesh(_MomentumMesh):
    """Quadrature of the K+ half refined around the resonance shell e_k = e_c (:class:`Resonance`).

    Same interface as :class:`KMesh`: ``points`` (M, 2) Cartesian momenta,
    ``weights`` (M,) with Σ_j weights_j f(k_j) ≈ (1/N) Σ_{k∈K+} f(k) in the limit
    N → ∞, summing to 1/2 (to rounding), ``index`` (M,) position in this mesh,
    ``n_cells`` = 0 (no finite system: the weights are those of the continuum
    integral (1/A_BZ) ∫_{K+} d²k, A_BZ = (2π)²/A_c), ``kind``.

    Geometry
    --------
    The K+ half is, modulo reciprocal vectors, the triangle T whose vertices are
    the three Γ points nearest to K+ (centroid K+, area A_BZ/2, edges on the Γ-M
    lines where η changes sign; :meth:`valley_triangle`).  In polar coordinates
    around K+, k = K+ + q u(φ), u = (cos φ, sin φ), d²k = q dq dφ, T is split into

    * the *core* disk q < ρ, which holds the resonant shell: ρ = min(d, 2 q_max)
      with d the inradius of T and q_max the largest resonance radius found on
      the core rays (ρ = d if no core ray crosses the shell);
    * the *outer* region q ∈ [ρ, R(φ)], with three 120° sectors between the vertex
      directions where the boundary R(φ) = d / cos(φ - φ_n) (φ_n the edge normal)
      is analytic.

    Weights
    -------
    * Core: N = 6·``n_angle`` equispaced angles φ_a (periodic trapezoid, weight
      2π/N: spectrally accurate and exact for constants).  On each ray the
      resonance radius q_r(φ) solves e(K+ + q u) = e_c (brentq).  The resonance
      ``width`` is the Lorentzian half-width in the pair frequency 2e (as in
      :meth:`EnergyMesh.resonant`), so the radial half-width is
      w_q = (width/2) / |∂e/∂q| at q_r (:meth:`HoneycombModel.band_velocity`).  Panels [0, q_r] and [q_r, ρ] carry
      ``n_radial`` Gauss-Legendre nodes s_b (weights v_b) each in s for
      q = q_r ∓ w_q sinh s: a Lorentzian in q becomes 1/cosh s, and away from the
      shell the nodes thin out geometrically.  A ray that does not cross the shell
      gets 2·``n_radial`` Gauss-Legendre nodes in q on [0, ρ].  Node weight

          c_a · (2π/N) · v_b · (dq/ds)_b · q_b / A_BZ,

      with the per-ray factor c_a = (ρ²/2) / Σ_b v_b (dq/ds)_b q_b that makes the
      ray integrate q dq over [0, ρ] exactly (c_a - 1 is the sinh rule's own error
      for a constant).
    * Outer: ``n_angle_outer`` Gauss-Legendre angles per sector (weights W_a) and
      ``n_outer`` Gauss-Legendre nodes in q on [ρ, R(φ)] (two sinh panels of
      ``n_outer`` nodes if the shell crosses the segment, i.e. near or above the
      van Hove energy; otherwise one sinh panel graded from the shell radius of
      that direction, so the Lorentzian tails stay resolved).  Node weight
      c · W_a · v_b · (dq/ds)_b · q_b / A_BZ ((dq/ds) = 1 for plain GL nodes) with
      one factor c = (area(T) - π ρ²) / Σ_ab W_a v_b (dq/ds)_b q_b (GL in φ
      integrates the sec² of the boundary only to exponential accuracy).

    Hence Σ weights = (π ρ² + area(T) - π ρ²)/A_BZ = 1/2 exactly (to rounding).
    The largest of |c_a - 1|, |c - 1| is stored in ``normalisation_error``.

    Error estimate
    --------------
    ``embedded_weights`` (3, M) are three lower-order rules on the same nodes (no extra
    samples), each normalised like the full rule (Σ = 1/2):

    0. angle, even: the core trapezoid without the Fourier mode k = 3 max(n_angle - 1, 1) of
       the ray integrals g(φ) (weights × (1 + 2 cos k(φ_a - φ_v)), φ_v a vertex direction: it
       integrates every mode below k and above it up to N - k, not mode k), and in the outer
       sectors the symmetric interpolatory rule without the middle angle node(s)
       (:func:`_embedded_legendre`, "even");
    1. angle, odd: the same with sin k(φ_a - φ_v), and the outer rule without the node next
       to the middle ("odd");
    2. radius: on every ray and panel the interpolatory rule without the node next to the
       middle ("odd", degree n - 2 instead of 2n - 1).

    :meth:`error_estimate` returns Σ_r |Q - Q_r| (+ rounding).  The trapezoid's error is the
    aliased coefficient of mode N = 6 n_angle and Gauss-Legendre's ~ the Legendre coefficient
    2n of the integrand, while Q - Q_r measures mode k < N/2 or the coefficient n - 1 or
    n - 2: for integrands whose coefficients decay (analytic, as the engine's: the sinh map
    makes the resonance Lorentzian smooth in s) the estimate exceeds the error, typically by
    the square root of the error's inverse (a conservative bound, not an extrapolation:
    measured in ``benchmarks/`` and tests/test_refined_mesh.py against a mesh with 4x the
    points).  k is a multiple of 3 because every integrand of the engine is C3 symmetric
    (its ray integrals have modes 3m only, and modes that are not multiples of 3 integrate
    to zero exactly on this mesh); the sine row covers integrands without the mirror
    symmetry.  The nodes of a trapezoid offset by half a step are zeros of cos(N φ/2), so
    no rule on them sees that mode: the estimate uses the largest visible one below it.

    M = 12·n_angle·n_radial + 3·n_angle_outer·n_outer points (more if the shell
    leaves the core).  Away from the shell the engine's integrands are smooth
    functions of k, so the rule converges exponentially, whereas the uniform
    Monkhorst-Pack mesh must resolve the shell width everywhere (``benchmarks/``).
    """

    points: np.ndarray
    weights: np.ndarray
    n_cells: int
    index: np.ndarray
    kind: str = "refined-polar"
    normalisation_error: float = 0.0
    embedded_weights: np.ndarray | None = None

    def __len__(self):
        return len(self.weights)

    def _subset(self, sl):
        emb = None if self.embedded_weights is None else self.embedded_weights[:, sl]
        return RefinedKMesh(self.points[sl], self.weights[sl], self.n_cells, self.index[sl],
                            self.kind, self.normalisation_error, emb)

    def error_estimate(self, values) -> np.ndarray:
        """Error estimate of the sum Q = Σ_j weights_j f_j (class docstring, "Error estimate"):

            E = Σ_r |Q - Q_r| + M ε Σ_j |weights_j f_j|,   Q_r = Σ_j embedded_weights_rj f_j,

        ε the double-precision rounding unit (the second term bounds the rounding of Q).
        ``values`` f (M, ...) real or complex; returns the shape ``values.shape[1:]``.  For a
        sum over shards (MPI) reduce Q, Q_r and Σ|w f| first and use :meth:`combine_error`."""
        if self.embedded_weights is None:
            raise ValueError("error_estimate: this mesh has no embedded rules")
        f = np.asarray(values)
        if f.shape[:1] != (len(self),):
            raise ValueError(f"values: must have {len(self)} rows, got shape {f.shape}")
        flat = f.reshape(len(self), -1)
        rounding = len(self) * np.finfo(float).eps * (np.abs(self.weights) @ np.abs(flat))
        return self.combine_error(self.weights @ flat, self.embedded_weights @ flat, rounding).reshape(f.shape[1:])

    @staticmethod
    def combine_error(full, embedded, rounding=0.0) -> np.ndarray:
        """Σ_r |full - embedded_r| + ``rounding`` from the reduced sums ``full`` (...) and
        ``embedded`` (n_rules, ...)."""
        return np.sum(np.abs(np.asarray(embedded) - np.asarray(full)[None]), axis=0) + rounding

    @staticmethod
    def valley_triangle(model: HoneycombModel) -> tuple[np.ndarray, np.ndarray]:
        """(K+, vertices (3, 2)) of the triangle that represents the K+ half."""
        return _valley_triangle(model)

    @classmethod
    def resonant(cls, model: HoneycombModel, resonance: Resonance,
                 n_angle: int = 4, n_radial: int = 8, n_angle_outer: int = 16,
                 n_outer: int = 8) -> "RefinedKMesh":
        """Polar mesh around K+ refined at the shell e_k = e_c (see the class docstring).

        Parameters
        ----------
        model : HoneycombModel
        resonance : Resonance
            The shell: band-2 energy e_c > 0 (ω0/2 for a drive) and the Lorentzian
            half-width in 2e, e.g. W = sqrt(Γ² + Ω²/(γ1γ2)) for the populations of
            Eq. (10) (Γ = Γ1 + Γ2; :meth:`Resonance.drive`).
        n_angle : int
            Core rays per 60° (6·n_angle equispaced rays).
        n_radial : int
            Gauss-Legendre nodes per radial panel of a core ray (two panels per ray).
        n_angle_outer, n_outer : int
            Gauss-Legendre angles per 120° outer sector and radial nodes per outer ray.

        The defaults (768 points) are the level s = 4 of the family (n_angle, n_radial,
        n_angle_outer, n_outer) = (s, 2s, 4s, 2s) used in ``benchmarks/``: for the
        valley-pattern kernel F_+ with a near-circular shell (|h| ≲ 0.6 t at the
        resonance) s = 3 (432 points) gives ~1e-4, s = 4 ~1e-6, s = 5 ~1e-7 relative
        error.  Near the van Hove energy the shell is strongly warped and n_angle
        must grow (|h| = 0.92 t: ~1e-2 at n_angle = 4, 2e-4 at n_angle = 16).
        """
        if not isinstance(resonance, Resonance):
            raise TypeError(f"resonance: must be a keldysh.kmesh.Resonance, got {resonance!r}")
        if not resonance.energy > 0:
            raise ValueError(f"resonance.energy: must be > 0 (a band-2 energy), got {resonance.energy!r}")
        for name, n in (("n_angle", n_angle), ("n_radial", n_radial),
                        ("n_angle_outer", n_angle_outer), ("n_outer", n_outer)):
            if not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"{name}: must be an integer >= 1, got {n!r}")
        K, V = _valley_triangle(model)
        d = float(np.linalg.norm(V[0] - K)) / 2  # inradius = half the centroid-vertex distance
        e1, e2 = V[1] - V[0], V[2] - V[0]
        tri_area = 0.5 * abs(e1[0] * e2[1] - e1[1] * e2[0])
        e_res, w_e = resonance.energy, 0.5 * resonance.width

        def crossing(u, q0, q1):
            """Resonance radius on [q0, q1] along u, or None."""
            def excess(q):
                return float(model.energy(K + q * u)) - e_res

            if excess(q0) < 0.0 < excess(q1):
                return brentq(excess, q0, q1, xtol=1e-14 * q1, rtol=1e-15)
            return None

        def ray(u, q0, q1, qr, n, n_plain):
            """Radial nodes and ∫ dq weights on [q0, q1] along u.  With the shell at qr inside
            the segment: two sinh panels of n nodes, split at qr; outside it: one sinh panel
            of n nodes graded from the shell; no shell (qr None): n_plain Gauss-Legendre nodes."""
            if qr is None:
                xg, wg = _legendre(n_plain)
                return (q0 + 0.5 * (q1 - q0) * (xg + 1.0), 0.5 * (q1 - q0) * wg,
                        0.5 * (q1 - q0) * _embedded_legendre(n_plain, "odd"))
            dedq = float(model.band_velocity(K + qr * u, u))
            wq = min(w_e / max(abs(dedq), 1e-300), q1 - q0)
            cuts = [q0, qr, q1] if q0 < qr < q1 else [q0, q1]
            parts = [_sinh_panel(qr, wq, a, b, n) for a, b in zip(cuts[:-1], cuts[1:])]
            return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))

        worst = 0.0
        pts, wts, ewts = [], [], []
        # core: equispaced rays (periodic trapezoid), radial weights normalised per ray
        n_rays = 6 * n_angle
        phi_v = np.sort(np.arctan2(V[:, 1] - K[1], V[:, 0] - K[0]))  # 120° apart
        phis = phi_v[0] + 2 * np.pi * (np.arange(n_rays) + 0.5) / n_rays
        dirs = np.stack([np.cos(phis), np.sin(phis)], axis=-1)
        qrs = [crossing(u, 0.0, d) for u in dirs]
        found = [q for q in qrs if q is not None]
        rho = min(d, 2.0 * max(found)) if found else d
        # embedded angular rules of the core: the trapezoid without the Fourier mode k (cos, sin
        # relative to the vertex direction), k the largest multiple of 3 below n_rays/2
        k_mode = 3 * max(n_angle - 1, 1)
        theta = k_mode * (phis - phi_v[0])
        for a, (u, qr) in enumerate(zip(dirs, qrs)):
            q, dq, dqe = ray(u, 0.0, rho, qr, n_radial, 2 * n_radial)
            w, we = dq * q, dqe * q
            ca = 0.5 * rho * rho / w.sum()
            worst = max(worst, abs(ca - 1.0))
            pts.append(K + q[:, None] * u)
            wts.append(ca * w * (2 * np.pi / n_rays) / _BZ_AREA)
            ewts.append(np.stack([wts[-1] * (1.0 + 2.0 * np.cos(theta[a])), wts[-1] * (1.0 + 2.0 * np.sin(theta[a])),
                                  0.5 * rho * rho / we.sum() * we * (2 * np.pi / n_rays) / _BZ_AREA]))
        # outer: three 120° sectors between vertex directions
        xa, wa = _legendre(n_angle_outer)
        wa_even, wa_odd = _embedded_legendre(n_angle_outer, "even"), _embedded_legendre(n_angle_outer, "odd")
        opts, owts, oewts = [], [], []
        for i in range(3):
            lo = phi_v[i]
            hi = phi_v[i + 1] if i < 2 else phi_v[0] + 2 * np.pi
            phin = 0.5 * (lo + hi)  # normal of the edge V_i V_i+1 (K+ is the centroid)
            for x, wx, wxe, wxo in zip(xa, wa, wa_even, wa_odd):
                t = 0.5 * (hi - lo) * x
                u = np.array([np.cos(phin + t), np.sin(phin + t)])
                R = d / np.cos(t)
                if R <= rho:
                    continue
                q, dq, dqe = ray(u, rho, R, crossing(u, 0.0, R), n_outer, n_outer)
                opts.append(K + q[:, None] * u)
                owts.append(0.5 * (hi - lo) * wx * dq * q)
                oewts.append(0.5 * (hi - lo) * np.stack([wxe * dq * q, wxo * dq * q, wx * dqe * q]))
        ow = np.concatenate(owts)
        c = (tri_area - np.pi * rho * rho) / ow.sum()
        worst = max(worst, abs(c - 1.0))
        p = np.concatenate(pts + opts)
        w = np.concatenate(wts + [c * ow / _BZ_AREA])
        # the embedded rules of the outer region, each normalised to its area like the full one
        oe = np.concatenate(oewts, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            oe *= np.nan_to_num((tri_area - np.pi * rho * rho) / oe.sum(axis=1))[:, None] / _BZ_AREA
        emb = np.concatenate(ewts + [oe], axis=1)
        return cls(p, w, 0, np.arange(w.size), "refined-polar", float(worst), emb)
