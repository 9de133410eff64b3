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

Both split into contiguous shards (:meth:`shard`) for MPI.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .lattice import RECIPROCAL, HoneycombModel

__all__ = ["KMesh", "EnergyMesh", "shard_bounds"]


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
    xg, wg = np.polynomial.legendre.leggauss(n)
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
