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
  tangent map concentrating points at a :class:`Resonance` (e = ω0/2 for a drive).
* :class:`keldysh.refined_kmesh.RefinedKMesh` — a 2D quadrature of the K+ half (polar
  around K+) refined at a :class:`Resonance`.

Every mesh gives its samples through one method, ``mesh.samples(model, Omega, pattern)``
-> (e_k, Ω, weight), Ω (M, 2) = (Ω_k, Ω_{-k}) (used by :meth:`keldysh.nambu.DrivenSystem.modes`;
the K+ half resolves the K- ring too, e_{-k} = e_k), describes them for
a results file with ``mesh.as_record()``, and splits into contiguous shards
(:meth:`shard`) for MPI.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .frequency import gauss_legendre as _legendre
from .lattice import RECIPROCAL, WHOLE_ZONE_PATTERNS, HoneycombModel

__all__ = ["Resonance", "KMesh", "EnergyMesh", "shard_bounds"]


def shard_bounds(n_items: int, n_shards: int) -> np.ndarray:
    """Boundaries (n_shards + 1,) of contiguous shards, sizes differing by at most one."""
    if n_shards < 1:
        raise ValueError(f"n_shards: must be >= 1, got {n_shards}")
    base, extra = divmod(n_items, n_shards)
    sizes = np.full(n_shards, base)
    sizes[:extra] += 1
    return np.concatenate([[0], np.cumsum(sizes)])


@dataclass(frozen=True)
class Resonance:
    """Where a mesh concentrates its samples: the shell |2 e_k - 2 e_c| ≲ ``width``.

    ``energy`` e_c is a band-2 energy; ``width`` > 0 the Lorentzian half-width of the
    shell in the pair frequency 2e.  A drive at ω0 is resonant at e_c = ω0/2
    (:meth:`drive`; the width of n22 in the detuning 2e - ω0, Eq. 10); the fast-intraband
    limit has its Fermi step at e_c = μ2 (lab frame).
    """

    energy: float
    width: float

    def __post_init__(self):
        if not np.isfinite(self.energy):
            raise ValueError(f"resonance energy: must be finite, got {self.energy!r}")
        if not (np.isfinite(self.width) and self.width > 0):
            raise ValueError(f"resonance width: must be finite and > 0, got {self.width!r}")

    @classmethod
    def drive(cls, omega0: float, width: float) -> "Resonance":
        """The shell of a drive at ω0: e_c = ω0/2."""
        return cls(omega0 / 2, width)


class _Sharded:
    def shard(self, rank: int, size: int, block: int = 1):
        """The contiguous shard ``rank`` of ``size`` (a mesh of the same type); with ``block``
        > 1 the shards are whole blocks of ``block`` samples (the last block may be short),
        so that block boundaries do not depend on the number of shards."""
        if not 0 <= rank < size:
            raise ValueError(f"rank: must be in [0, {size}), got {rank}")
        n = len(self)
        b = np.minimum(block * shard_bounds(-(-n // block), size), n) if block > 1 else shard_bounds(n, size)
        return self._subset(slice(int(b[rank]), int(b[rank + 1])))

    def split(self, size: int) -> list:
        return [self.shard(r, size) for r in range(size)]


def _geometry(model):
    """The spinless model whose η fixes the K+ half (a spin-orbit sector model's ``base``,
    :class:`keldysh.materials.SpinSectorModel`; the model itself otherwise)."""
    return getattr(model, "base", model)


def _partner(model):
    """The model of the -k member of each sample's Nambu pair, evaluated at -k: the model
    itself for the spinless lattice, the spin -σ model for a sector (``model.partner()``)."""
    return model.partner() if hasattr(model, "partner") else model


def _has_offset(model) -> bool:
    """True for a model whose bands are c_k ∓ e_k with c_k ≠ 0 (a sector with λ > 0)."""
    return bool(getattr(model, "lambda_so", 0.0))


class _MomentumMesh(_Sharded):
    """Samples at momenta ``points`` (M, 2) with ``weights`` (M,)."""

    def _ties(self, model, pattern: str):
        """Points on the boundary η = 0 of the K+ half (split by :meth:`samples`), or None."""
        if pattern in WHOLE_ZONE_PATTERNS:
            return None
        tie = np.abs(_geometry(model).eta(self.points)) <= 1e-12
        return tie if np.any(tie) else None

    def band_offsets(self, model, pattern: str) -> np.ndarray:
        """c_k = (E_k1 + E_k2)/2 per sample, in the order of :meth:`samples` (boundary points
        split there appear twice): ``model.band_offset`` of a spin-orbit sector, zeros for the
        spinless model (E_k1 = -e_k, E_k2 = e_k)."""
        k = self.points
        c = model.band_offset(k) if hasattr(model, "band_offset") else np.zeros(len(k))
        tie = self._ties(model, pattern)
        return c if tie is None else np.concatenate([c, c[tie]])

    def samples(self, model: HoneycombModel, Omega: float, pattern: str):
        """(e_k, Ω, weight) of the samples for the drive pattern (spec §2, §9); Ω (M, 2)
        complex holds (Ω_k, Ω_{-k}) per sample (Ω_{-k} = 0 for "valley" and "dichroic").

        For the K+-only patterns a point on the boundary η = 0 of K+ stands for a cell that
        lies half in K+ (driven) and half outside: it becomes a driven and an undriven sample
        of half weight each (otherwise a uniform mesh, which puts O(n) points on these lines,
        converges only as 1/n); the split halves follow the other samples.  The whole-zone
        patterns drive every k and -k, so nothing is split.

        For a spin-orbit sector (:class:`keldysh.materials.SpinSectorModel`) e_k is half the
        band splitting (the bands are c_k ∓ e_k, :meth:`band_offsets`), the K+ half is the
        geometric one and Ω_{-k} is the drive of the partner (-k, spin -σ) (``model.partner()``)."""
        k = self.points
        e = model.energy(k)
        weight = np.asarray(self.weights, dtype=float)
        if pattern in WHOLE_ZONE_PATTERNS:
            rabi = np.stack([model.drive_amplitude(k, Omega, pattern),
                             _partner(model).drive_amplitude(-k, Omega, pattern)], axis=-1).astype(complex)
            return e, rabi, weight
        rabi = model.drive_amplitude(k, Omega, pattern)
        tie = self._ties(model, pattern)
        if tie is not None:
            edge = model.drive_amplitude(k[tie], Omega, pattern, include_boundary=True)
            weight = weight.copy()
            weight[tie] *= 0.5
            e = np.concatenate([e, e[tie]])
            rabi = np.concatenate([rabi, edge])
            weight = np.concatenate([weight, weight[tie]])
        return e, np.stack([rabi, np.zeros_like(rabi)], axis=-1).astype(complex), weight

    def as_record(self) -> dict:
        """The samples as arrays for a results file: ``points``, ``weights``."""
        return {"points": np.asarray(self.points), "weights": np.asarray(self.weights)}


@dataclass(frozen=True)
class KMesh(_MomentumMesh):
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

    def as_record(self) -> dict:
        """``n_cells``, ``points``, ``weights`` for a results file."""
        return {"n_cells": int(self.n_cells), **super().as_record()}

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
        eta = _geometry(model).eta(k)
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

    def band_offsets(self, model, pattern: str) -> np.ndarray:
        """Zeros: the exact-DOS quadrature serves only models with E_k1 = -e_k, E_k2 = e_k."""
        self._check_model(model)
        return np.zeros(len(self))

    @staticmethod
    def _check_model(model):
        if _has_offset(model):
            raise ValueError("mesh: an energy mesh (exact DOS) needs every quantity to be a function of e_k; "
                             "a spin-orbit sector (lambda_so > 0) is not: use a momentum mesh "
                             "(KMesh, RefinedKMesh, PolarShellKMesh)")

    def samples(self, model: HoneycombModel, Omega: float, pattern: str):
        """(e, Ω, weight): every sample of K+ is driven with Ω ("valley" pattern only), so
        Ω (M, 2) = (Ω, 0) per sample (Ω_k, Ω_{-k})."""
        self._check_model(model)
        if pattern != "valley":
            raise ValueError(f"pattern: an energy mesh (exact DOS) only serves the 'valley' pattern, "
                             f"got {pattern!r}; use a momentum mesh (KMesh, RefinedKMesh)")
        rabi = np.zeros((len(self), 2), complex)
        rabi[:, 0] = Omega
        return self.energies, rabi, self.weights

    def as_record(self) -> dict:
        """``energies``, ``weights`` for a results file."""
        return {"energies": np.asarray(self.energies), "weights": np.asarray(self.weights)}

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
    def resonant(cls, model: HoneycombModel, resonance: Resonance,
                 n_resonance: int = 200, n_band: int = 120) -> "EnergyMesh":
        """Panels [δ/2, E_vH], [E_vH, E_top] (E_vH the van Hove energy) with the
        tanh-sinh rule (``n_band`` points each; exact for the endpoint singularities
        of the DOS), and a resonance panel e_c ± 40 w (e_c = ``resonance.energy``,
        w = ``resonance.width``/2 in e) with ``n_resonance`` Gauss-Legendre points in θ
        of the map e = e_c + w tan θ."""
        if not isinstance(resonance, Resonance):
            raise TypeError(f"resonance: must be a keldysh.kmesh.Resonance, got {resonance!r}")
        lo, top = model.band_edges()
        vh = np.sqrt(model.delta**2 / 4 + model.t**2)
        c, w = resonance.energy, resonance.width / 2
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
