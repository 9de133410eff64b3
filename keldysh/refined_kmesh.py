"""Momentum meshes of the driven half of the Brillouin zone, and the exact-DOS energy mesh.

A mesh is a set of samples with weights such that

    Σ_j weight_j f(sample_j) = (1/N) Σ_{k ∈ K+} f(k)

for the N-cell system (spec §3: a mesh of the whole zone has weight 1/N per point,
and the sums of the gap equation run over the K+ half only).

* :class:`KMesh` — uniform Monkhorst-Pack mesh, restricted to one k of each ±k
  pair (the one with η > 0).
* :class:`EnergyMesh` — for the "valley" drive pattern every K+ quantity depends
  on k only through e_k, so the k-sum is an energy integral with the exact
  single-valley DOS (spec §7); the quadrature is Gauss-Legendre on panels, with a
  tangent map concentrating points at the resonance e = ω0/2.
* :class:`RefinedKMesh` — a 2D quadrature of the K+ half (polar around K+) refined
  at the resonance surface 2 e_k = ω0: the ``KMesh`` interface with N → ∞ weights,
  for the "dichroic" pattern (which needs 2D) at a fraction of the uniform cost.

All split into contiguous shards (:meth:`shard`) for MPI.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .frequency import gauss_legendre as _legendre
from .lattice import RECIPROCAL, HoneycombModel

__all__ = ["KMesh", "EnergyMesh", "RefinedKMesh", "shard_bounds"]


def shard_bounds(n_items: int, n_shards: int) -> np.ndarray:
    """Boundaries (n_shards + 1,) of contiguous shards, sizes differing by at most one."""
    if n_shards < 1:
        raise ValueError(f"n_shards: must be >= 1, got {n_shards}")
    base, extra = divmod(n_items, n_shards)
    sizes = np.full(n_shards, base)
    sizes[:extra] += 1
    return np.concatenate([[0], np.cumsum(sizes)])


class _Sharded:
    def shard(self, rank: int, size: int):
        """The contiguous shard ``rank`` of ``size`` (a mesh of the same type)."""
        if not 0 <= rank < size:
            raise ValueError(f"rank: must be in [0, {size}), got {rank}")
        b = shard_bounds(len(self), size)
        return self._subset(slice(int(b[rank]), int(b[rank + 1])))

    def split(self, size: int) -> list:
        return [self.shard(r, size) for r in range(size)]


@dataclass(frozen=True)
class KMesh(_Sharded):
    """Monkhorst-Pack mesh of the K+ half of the Brillouin zone.

    ``points`` (M, 2) Cartesian momenta, ``weights`` (M,) = 1/N, ``n_cells`` = N
    (points of the full mesh), ``index`` (M,) position in the full mesh.
    """

    points: np.ndarray
    weights: np.ndarray
    n_cells: int
    index: np.ndarray
    kind: str = "monkhorst-pack"

    def __len__(self):
        return len(self.weights)

    def _subset(self, sl):
        return KMesh(self.points[sl], self.weights[sl], self.n_cells, self.index[sl], self.kind)

    @staticmethod
    def full_zone(n: int) -> np.ndarray:
        """All n² Monkhorst-Pack points u_r = (2r - n - 1)/(2n), r = 1..n, Cartesian."""
        u = (2 * np.arange(1, n + 1) - n - 1) / (2 * n)
        u1, u2 = np.meshgrid(u, u, indexing="ij")
        return (u1.ravel()[:, None] * RECIPROCAL[0] + u2.ravel()[:, None] * RECIPROCAL[1])

    @classmethod
    def driven_half(cls, model: HoneycombModel, n: int) -> "KMesh":
        """Uniform n x n mesh restricted to the driven half (one of each ±k pair, η > 0).

        ``n`` must be even: then no mesh point is its own partner (-k ≠ k mod G)
        and the K+ half has exactly n²/2 points.
        """
        if not isinstance(n, (int, np.integer)) or n < 2 or n % 2:
            raise ValueError(f"nk: must be an even integer >= 2, got {n!r}")
        k = cls.full_zone(n)
        eta = model.eta(k)
        i1, i2 = np.divmod(np.arange(n * n), n)
        partner = (n - 1 - i1) * n + (n - 1 - i2)  # index of -k
        ep = eta[partner]
        # keep k if η(k) > η(-k) = -η(k); exact ties (η = 0) by the smaller index
        tie = np.abs(eta - ep) <= 1e-12
        keep = np.where(tie, np.arange(n * n) < partner, eta > ep)
        idx = np.nonzero(keep)[0]
        return cls(k[idx], np.full(idx.size, 1.0 / (n * n)), n * n, idx)


def _gauss_tangent(a, b, centre, width, n):
    """n Gauss-Legendre points on [a, b] in θ for the map x = centre + width tan θ."""
    xg, wg = _legendre(n)
    ta, tb = np.arctan((a - centre) / width), np.arctan((b - centre) / width)
    th = 0.5 * (tb - ta) * xg + 0.5 * (tb + ta)
    x = centre + width * np.tan(th)
    w = 0.5 * (tb - ta) * wg * width / np.cos(th) ** 2
    return x, w


def _tanh_sinh(a, b, n):
    """n-point tanh-sinh (double-exponential) rule on [a, b]: exponentially accurate
    also for the integrable endpoint singularities of the DOS (van Hove log, band edges)."""
    t = np.linspace(-3.2, 3.2, n)
    step = t[1] - t[0]
    u = 0.5 * np.pi * np.sinh(t)
    w = step * 0.5 * np.pi * np.cosh(t) / np.cosh(u) ** 2
    pts = np.where(u < 0, a + (b - a) / (1 + np.exp(-2 * u)), b - (b - a) / (1 + np.exp(2 * u)))
    keep = (pts > a) & (pts < b)  # nodes rounded onto an endpoint carry weight < 1e-30
    return pts[keep], 0.5 * (b - a) * w[keep]


@dataclass(frozen=True)
class EnergyMesh(_Sharded):
    """Quadrature of (1/N) Σ_{k∈K+} f(e_k) = ∫ dE rho(E) f(E) with the exact DOS.

    ``energies`` (M,) band-2 energies e, ``weights`` (M,) = rho(e) x quadrature weight.
    """

    energies: np.ndarray
    weights: np.ndarray
    kind: str = "exact-dos"

    def __len__(self):
        return len(self.weights)

    def _subset(self, sl):
        return EnergyMesh(self.energies[sl], self.weights[sl], self.kind)

    @classmethod
    def shell(cls, model: HoneycombModel, omega0: float, resolution: float, half_window: float,
              order: int = 4, n_band: int = 120, breaks=()) -> "EnergyMesh":
        """Uniformly resolved resonance shell: composite Gauss-Legendre panels of length
        ``resolution`` (``order`` points each) over e ∈ ω0/2 ± ``half_window`` (clipped to
        the band), tanh-sinh panels (``n_band`` points) on the rest of the band.

        Use it where every sample's own Lorentzian (width ~Γ in the pair frequency) must
        blend into a continuum, i.e. for chi(ν) at real ν away from the pair energy:
        ``resolution`` ≲ Γ/2 and ``half_window`` the range of detunings that the ν window
        probes.  ``breaks``: energies that must be panel edges (zero-temperature Fermi
        steps of the band occupations, e.g. e = μ2 in the fast-intraband limit)."""
        if resolution <= 0 or half_window <= 0:
            raise ValueError(f"resolution, half_window: must be > 0, got {resolution}, {half_window}")
        lo, top = model.band_edges()
        vh = np.sqrt(model.delta**2 / 4 + model.t**2)
        a, b = max(lo, omega0 / 2 - half_window), min(top, omega0 / 2 + half_window)
        xs, ws = [], []
        if b > a:
            n_pan = int(np.ceil((b - a) / resolution))
            edges = np.linspace(a, b, n_pan + 1)
            # keep the van Hove energy (integrable log singularity) and the Fermi steps
            # on panel edges
            extra = [x for x in (vh, *breaks) if a < x < b]
            edges = np.unique(np.concatenate([edges, extra]))
            xg, wg = _legendre(order)
            L, R = edges[:-1, None], edges[1:, None]
            xs.append((0.5 * (R - L) * xg + 0.5 * (R + L)).ravel())
            ws.append((0.5 * (R - L) * wg).ravel())
        cuts = sorted({lo, top, *[x for x in (vh, a, b, *breaks) if lo < x < top]})
        for c0, c1 in zip(cuts[:-1], cuts[1:]):
            if b > a and c0 >= a and c1 <= b:
                continue
            x, w = _tanh_sinh(c0, c1, n_band)
            xs.append(x)
            ws.append(w)
        e = np.concatenate(xs)
        order_ = np.argsort(e)
        e = e[order_]
        wt = np.concatenate(ws)[order_] * model.dos(e)
        return cls(e, wt, "exact-dos-shell")

    @classmethod
    def resonant(cls, model: HoneycombModel, omega0: float, width: float,
                 n_resonance: int = 200, n_band: int = 120) -> "EnergyMesh":
        """Panels [δ/2, E_vH], [E_vH, E_top] (E_vH the van Hove energy) with the
        tanh-sinh rule (``n_band`` points each; exact for the endpoint singularities
        of the DOS), and a resonance panel ω0/2 ± 40 w (w = ``width``/2 in e, i.e.
        ``width`` is the Lorentzian half-width in 2e - ω0) with ``n_resonance``
        Gauss-Legendre points in θ of the map e = ω0/2 + w tan θ."""
        if width <= 0:
            raise ValueError(f"width: must be > 0, got {width}")
        lo, top = model.band_edges()
        vh = np.sqrt(model.delta**2 / 4 + model.t**2)
        c, w = omega0 / 2, width / 2
        cuts = [lo, vh, top]
        ra, rb = c - 40 * w, c + 40 * w
        cuts += [x for x in (ra, rb) if lo < x < top]
        cuts = np.unique(np.array(cuts))
        xs, ws = [], []
        for a, b in zip(cuts[:-1], cuts[1:]):
            inside = ra <= a and b <= rb
            n = n_resonance if inside else n_band
            if inside:
                x, wt = _gauss_tangent(a, b, c, w, n)
            else:
                x, wt = _tanh_sinh(a, b, n)
            xs.append(x)
            ws.append(wt)
        e = np.concatenate(xs)
        wt = np.concatenate(ws) * model.dos(e)
        return cls(e, wt)


# ----------------------------------------------------------------------------
# resonance-refined momentum mesh of the K+ half
# ----------------------------------------------------------------------------
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


def _sinh_panel(centre, width, a, b, n):
    """n Gauss-Legendre nodes in s for q = centre + width·sinh(s) on [a, b].

    Returns (q, dq) with dq the weights of ∫ dq over [a, b]; the nodes are dense
    within ``width`` of ``centre`` and thin out geometrically away from it."""
    xg, wg = _legendre(n)
    sa, sb = np.arcsinh((a - centre) / width), np.arcsinh((b - centre) / width)
    s = 0.5 * (sb - sa) * xg + 0.5 * (sb + sa)
    return centre + width * np.sinh(s), 0.5 * (sb - sa) * wg * width * np.cosh(s)


@dataclass(frozen=True)
class RefinedKMesh(_Sharded):
    """Quadrature of the K+ half refined around the resonance surface 2 e_k = ω0.

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
      resonance radius q_r(φ) solves |h(K+ + q u)|² = ω0²/4 - δ²/4 (brentq).
      ``width`` is the Lorentzian half-width in 2e - ω0 (as in
      :meth:`EnergyMesh.resonant`), so the radial half-width is
      w_q = (width/2) / |∂e/∂q| at q_r.  Panels [0, q_r] and [q_r, ρ] carry
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

    def __len__(self):
        return len(self.weights)

    def _subset(self, sl):
        return RefinedKMesh(self.points[sl], self.weights[sl], self.n_cells, self.index[sl],
                            self.kind, self.normalisation_error)

    @staticmethod
    def valley_triangle(model: HoneycombModel) -> tuple[np.ndarray, np.ndarray]:
        """(K+, vertices (3, 2)) of the triangle that represents the K+ half."""
        return _valley_triangle(model)

    @classmethod
    def resonant(cls, model: HoneycombModel, omega0: float, width: float,
                 n_angle: int = 4, n_radial: int = 8, n_angle_outer: int = 16,
                 n_outer: int = 8) -> "RefinedKMesh":
        """Polar mesh around K+ refined at the resonance 2 e_k = ω0 (see the class docstring).

        Parameters
        ----------
        model : HoneycombModel
        omega0 : float
            Drive frequency ω0 (resonance surface e_k = ω0/2).
        width : float
            Lorentzian half-width of the shell in 2e - ω0, e.g. W = sqrt(Γ² + Ω²/(γ1γ2))
            for the populations of Eq. (10) (Γ = Γ1 + Γ2).
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
        from scipy.optimize import brentq

        if not (np.isfinite(width) and width > 0):
            raise ValueError(f"width: must be finite and > 0, got {width!r}")
        if not (np.isfinite(omega0) and omega0 > 0):
            raise ValueError(f"omega0: must be finite and > 0, got {omega0!r}")
        for name, n in (("n_angle", n_angle), ("n_radial", n_radial),
                        ("n_angle_outer", n_angle_outer), ("n_outer", n_outer)):
            if not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"{name}: must be an integer >= 1, got {n!r}")
        K, V = _valley_triangle(model)
        d = float(np.linalg.norm(V[0] - K)) / 2  # inradius = half the centroid-vertex distance
        e1, e2 = V[1] - V[0], V[2] - V[0]
        tri_area = 0.5 * abs(e1[0] * e2[1] - e1[1] * e2[0])
        e_res, w_e = 0.5 * omega0, 0.5 * width

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
                return q0 + 0.5 * (q1 - q0) * (xg + 1.0), 0.5 * (q1 - q0) * wg
            k = K + qr * u
            dedq = float(np.real(np.conj(model.h(k)) * (model.grad_h(k) @ u))) / e_res
            wq = min(w_e / max(abs(dedq), 1e-300), q1 - q0)
            cuts = [q0, qr, q1] if q0 < qr < q1 else [q0, q1]
            parts = [_sinh_panel(qr, wq, a, b, n) for a, b in zip(cuts[:-1], cuts[1:])]
            return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

        worst = 0.0
        pts, wts = [], []
        # core: equispaced rays (periodic trapezoid), radial weights normalised per ray
        n_rays = 6 * n_angle
        phi_v = np.sort(np.arctan2(V[:, 1] - K[1], V[:, 0] - K[0]))  # 120° apart
        phis = phi_v[0] + 2 * np.pi * (np.arange(n_rays) + 0.5) / n_rays
        dirs = np.stack([np.cos(phis), np.sin(phis)], axis=-1)
        qrs = [crossing(u, 0.0, d) for u in dirs]
        found = [q for q in qrs if q is not None]
        rho = min(d, 2.0 * max(found)) if found else d
        for u, qr in zip(dirs, qrs):
            q, dq = ray(u, 0.0, rho, qr, n_radial, 2 * n_radial)
            w = dq * q
            ca = 0.5 * rho * rho / w.sum()
            worst = max(worst, abs(ca - 1.0))
            pts.append(K + q[:, None] * u)
            wts.append(ca * w * (2 * np.pi / n_rays) / _BZ_AREA)
        # outer: three 120° sectors between vertex directions
        xa, wa = _legendre(n_angle_outer)
        opts, owts = [], []
        for i in range(3):
            lo = phi_v[i]
            hi = phi_v[i + 1] if i < 2 else phi_v[0] + 2 * np.pi
            phin = 0.5 * (lo + hi)  # normal of the edge V_i V_i+1 (K+ is the centroid)
            for x, wx in zip(xa, wa):
                t = 0.5 * (hi - lo) * x
                u = np.array([np.cos(phin + t), np.sin(phin + t)])
                R = d / np.cos(t)
                if R <= rho:
                    continue
                q, dq = ray(u, rho, R, crossing(u, 0.0, R), n_outer, n_outer)
                opts.append(K + q[:, None] * u)
                owts.append(0.5 * (hi - lo) * wx * dq * q)
        ow = np.concatenate(owts)
        c = (tri_area - np.pi * rho * rho) / ow.sum()
        worst = max(worst, abs(c - 1.0))
        p = np.concatenate(pts + opts)
        w = np.concatenate(wts + [c * ow / _BZ_AREA])
        return cls(p, w, 0, np.arange(w.size), "refined-polar", float(worst))
