"""Real-frequency grids with quadrature weights (spec §7).

Lorentzian widths ~Γ ~ 1e-3 t on a band of width ~6 t make uniform grids
hopeless.  :meth:`FrequencyGrid.adapted` builds Gauss-Legendre panels in the
variable θ of the tangent map ω = c + g tan θ, one panel per feature, where the
features are the four complex quasi-energies z_j of h_k - iΓ (centre Re z_j,
width |Im z_j|) and the Fermi steps (a panel boundary exactly at each step at
T = 0; a feature of width πT at T > 0).  The outermost panels extend to ±∞
(θ → ±π/2), so integrands decaying like 1/ω² are integrated exactly in the
limit of many points; the accuracy against the exact pole sum is tested.

A grid is ``points`` (n,) strictly increasing and ``weights`` (n,) ≥ 0 such that
Σ_i weights_i f(points_i) ≈ ∫ dω f(ω).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numba as nb
import numpy as np

__all__ = ["FrequencyGrid", "stack_grids", "adapted_batch", "gauss_legendre"]


@dataclass(frozen=True)
class FrequencyGrid:
    """Quadrature grid on the real frequency axis (rotating frame, measured from μ)."""

    points: np.ndarray
    weights: np.ndarray
    kind: str = "custom"

    def __post_init__(self):
        p = np.ascontiguousarray(self.points, dtype=float)
        w = np.ascontiguousarray(self.weights, dtype=float)
        object.__setattr__(self, "points", p)
        object.__setattr__(self, "weights", w)
        self.validate()

    def validate(self):
        p, w = self.points, self.weights
        if p.ndim != 1 or p.shape != w.shape or p.size < 2:
            raise ValueError(f"frequency grid: points and weights must be 1-d of equal length >= 2, "
                             f"got {p.shape} and {w.shape}")
        if not (np.all(np.isfinite(p)) and np.all(np.isfinite(w))):
            raise ValueError("frequency grid: points and weights must be finite")
        if np.any(np.diff(p) <= 0):
            raise ValueError("frequency grid: points must be strictly increasing")
        if np.any(w < 0):
            raise ValueError("frequency grid: weights must be >= 0")

    def __len__(self):
        return self.points.size

    def integrate(self, values, axis: int = 0):
        """∫ dω f(ω) ≈ Σ_i weights_i values_i along ``axis``."""
        return np.tensordot(self.weights, values, axes=([0], [axis]))

    def resolves(self, width: float) -> bool:
        """True if the largest point spacing is at most ``width``: the grid can then
        resolve a Lorentzian of half-width ``width`` anywhere in its range (used to
        reject uniform grids too coarse for the smallest Γ)."""
        return float(np.max(np.diff(self.points))) <= width

    # -- constructors --------------------------------------------------------
    @classmethod
    def uniform(cls, wmin: float, wmax: float, n: int) -> "FrequencyGrid":
        """Trapezoidal rule on [wmin, wmax] with n points (the baseline grid)."""
        if not (np.isfinite(wmin) and np.isfinite(wmax) and wmax > wmin):
            raise ValueError(f"frequency grid: need finite wmin < wmax, got {wmin}, {wmax}")
        if n < 2:
            raise ValueError(f"n_omega: must be >= 2, got {n}")
        p = np.linspace(wmin, wmax, n)
        w = np.full(n, (wmax - wmin) / (n - 1))
        w[[0, -1]] *= 0.5
        return cls(p, w, "uniform")

    @classmethod
    def adapted(cls, quasi_energies, steps=(), temperature: float = 0.0,
                n_per_panel: int = 20) -> "FrequencyGrid":
        """Gauss-Legendre panels in sinh-mapped variables, adapted to poles and Fermi steps.

        Features are the quasi-energies z_j (centre Re z_j, width |Im z_j|) and, at
        T > 0, the Fermi steps (centre m_i, width πT: the nearest Matsubara pole).
        The real axis is cut at every feature centre, at the midpoints between
        consecutive features and (T = 0) exactly at every Fermi step.  Each segment
        [a, b] is mapped from its nearest feature (c, g) by ω = c ± g sinh(s): linear
        within g of the feature, logarithmic far from it, so a Lorentzian becomes
        1/(g cosh s) (analytic in a strip of half-width π/2) and the tails of the
        neighbours stay resolved relative to their distance.  Beyond the outermost
        cut ± L (L the spread of the features) a tangent map ω = p ± L tan θ covers
        the 1/ω² tails out to ±∞.

        Parameters
        ----------
        quasi_energies : complex array
            Eigenvalues z_j of h_k - iΓ (Im z_j < 0).
        steps : float array
            Chemical potentials m_i of the Nambu occupations n_F(ω - m_i).
        temperature : float
            T ≥ 0 of the Fermi functions (a common value; use the smallest).
        n_per_panel : int
            Gauss-Legendre points per segment.
        """
        z = np.atleast_1d(np.asarray(quasi_energies, dtype=complex))
        steps = np.unique(np.atleast_1d(np.asarray(steps, dtype=float)))
        if z.size == 0 or np.any(z.imag >= 0) or not np.all(np.isfinite(z)):
            raise ValueError("quasi_energies: must be finite and lie in the lower half plane (Γ > 0)")
        if not np.all(np.isfinite(steps)):
            raise ValueError("steps: Fermi-step positions must be finite")
        if not np.isfinite(temperature) or temperature < 0:
            raise ValueError(f"temperature: must be finite and >= 0, got {temperature!r}")
        if n_per_panel < 2:
            raise ValueError(f"n_per_panel: must be >= 2, got {n_per_panel}")
        c, g = _features(z, steps, temperature)
        P, W = _adapted_buffers(c.size, steps.size, n_per_panel)
        xg, wg = gauss_legendre(n_per_panel)
        count = _adapted_core(c, g, steps, xg, wg, P, W)
        return cls(P[:count].copy(), W[:count].copy(), "adapted")


def _features(z, steps, temperature):
    """Feature centres and widths: quasi-energies, and Fermi steps of width πT at T > 0."""
    if temperature > 0:
        return (np.concatenate([z.real, steps]),
                np.concatenate([-z.imag, np.full(steps.size, np.pi * temperature)]))
    return np.ascontiguousarray(z.real), np.ascontiguousarray(-z.imag)


def _adapted_buffers(n_features, n_steps, n_per_panel, batch=()):
    n_max = n_per_panel * (2 * n_features + n_steps + 3)
    return np.zeros(batch + (n_max,)), np.zeros(batch + (n_max,))


@nb.njit(cache=True)
def _adapted_core(c, g, steps, xg, wg, P, W):
    """Write the adapted grid of :meth:`FrequencyGrid.adapted` into P, W; return its length.

    Cuts: feature centres, midpoints between consecutive features, Fermi steps and
    lo - L, hi + L.  Each segment [a, b] is mapped from its nearest feature (ties: the
    narrowest) by ω = c ± g sinh(s); the tails by ω = p ± L tan θ.  Points come out
    sorted (segments in order, decreasing maps written backwards)."""
    order = np.argsort(c)
    cs = c[order]
    gs = g[order]
    F = cs.size
    cuts = np.empty(2 * F + steps.size + 1)
    k = 0
    for i in range(F):
        cuts[k] = cs[i]
        k += 1
    for i in range(F - 1):
        cuts[k] = 0.5 * (cs[i] + cs[i + 1])
        k += 1
    for i in range(steps.size):
        cuts[k] = steps[i]
        k += 1
    lo = cuts[:k].min()
    hi = cuts[:k].max()
    L = max(hi - lo, 50.0 * gs.max())
    cuts[k] = lo - L
    cuts[k + 1] = hi + L
    cuts = np.sort(cuts[: k + 2])
    tol = 1e-14 * max(1.0, max(abs(cuts[0]), abs(cuts[-1])))
    uniq = np.empty_like(cuts)
    nu = 1
    uniq[0] = cuts[0]
    for i in range(1, cuts.size):
        if cuts[i] - uniq[nu - 1] > tol:
            uniq[nu] = cuts[i]
            nu += 1
    n = xg.size
    pos = 0
    q = 0.25 * np.pi
    for i in range(n):  # left tail, written backwards so that ω increases
        th = q * (xg[n - 1 - i] + 1.0)
        P[pos] = uniq[0] - L * np.tan(th)
        W[pos] = q * wg[n - 1 - i] * L / np.cos(th) ** 2
        pos += 1
    for iseg in range(nu - 1):
        a = uniq[iseg]
        b = uniq[iseg + 1]
        best = 0
        bd = np.inf
        bg = np.inf
        for j in range(F):
            d = max(max(a - cs[j], cs[j] - b), 0.0)
            if d < bd or (d == bd and gs[j] < bg):
                best = j
                bd = d
                bg = gs[j]
        cj = cs[best]
        gj = gs[best]
        if cj <= 0.5 * (a + b):
            sa = np.arcsinh((a - cj) / gj)
            sb = np.arcsinh((b - cj) / gj)
            for i in range(n):
                sv = 0.5 * (sb - sa) * xg[i] + 0.5 * (sb + sa)
                P[pos] = cj + gj * np.sinh(sv)
                W[pos] = 0.5 * (sb - sa) * wg[i] * gj * np.cosh(sv)
                pos += 1
        else:
            sa = np.arcsinh((cj - b) / gj)
            sb = np.arcsinh((cj - a) / gj)
            for i in range(n):
                ii = n - 1 - i
                sv = 0.5 * (sb - sa) * xg[ii] + 0.5 * (sb + sa)
                P[pos] = cj - gj * np.sinh(sv)
                W[pos] = 0.5 * (sb - sa) * wg[ii] * gj * np.cosh(sv)
                pos += 1
    for i in range(n):  # right tail
        th = q * (xg[i] + 1.0)
        P[pos] = uniq[nu - 1] + L * np.tan(th)
        W[pos] = q * wg[i] * L / np.cos(th) ** 2
        pos += 1
    return pos


@nb.njit(cache=True)
def _adapted_batch(C, G, S, xg, wg, P, W):
    """Per-row :func:`_adapted_core`; rows padded with their last point and weight 0."""
    for k in range(C.shape[0]):
        cnt = _adapted_core(C[k], G[k], S[k], xg, wg, P[k], W[k])
        for i in range(cnt, P.shape[1]):
            P[k, i] = P[k, cnt - 1]
            W[k, i] = 0.0


def adapted_batch(quasi_energies, steps, temperature, n_per_panel: int = 20):
    """Adapted grids for a batch: ``quasi_energies`` (n_k, F), ``steps`` (n_k, S), one
    ``temperature`` per row (features of width πT at the steps where T > 0).

    Returns padded (n_k, n_max) points and weights (padding has weight 0), each row the
    grid :meth:`FrequencyGrid.adapted` builds for that row."""
    z = np.asarray(quasi_energies, dtype=complex)
    steps = np.asarray(steps, dtype=float)
    nk = z.shape[0]
    T = np.broadcast_to(np.asarray(temperature, dtype=float), (nk,))
    if np.any(z.imag >= 0) or not np.all(np.isfinite(z)):
        raise ValueError("quasi_energies: must be finite and lie in the lower half plane (Γ > 0)")
    hot = T > 0
    C = np.concatenate([z.real, np.where(hot[:, None], steps, np.nan)], axis=1)
    G = np.concatenate([-z.imag, np.where(hot[:, None], np.pi * T[:, None], np.nan) * np.ones_like(steps)], axis=1)
    xg, wg = gauss_legendre(n_per_panel)
    P, W = _adapted_buffers(C.shape[1], steps.shape[1], n_per_panel, (nk,))
    if np.all(hot) or not np.any(hot):
        if not np.any(hot):
            C, G = np.ascontiguousarray(z.real), np.ascontiguousarray(-z.imag)
        _adapted_batch(C, G, np.ascontiguousarray(steps), xg, wg, P, W)
        return _trim(P, W)
    for k in range(nk):  # mixed temperatures: rows one by one
        ck, gk = _features(z[k], steps[k], T[k])
        cnt = _adapted_core(ck, gk, steps[k].copy(), xg, wg, P[k], W[k])
        P[k, cnt:] = P[k, cnt - 1]
    return _trim(P, W)


def _trim(P, W):
    used = int(np.max(np.sum(W > 0, axis=1)))
    return np.ascontiguousarray(P[:, :used]), np.ascontiguousarray(W[:, :used])


@lru_cache(maxsize=64)
def gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [-1, 1], cached (leggauss costs an eigensolve).

    The arrays are shared between callers: do not modify them."""
    x, w = np.polynomial.legendre.leggauss(n)
    x.flags.writeable = False
    w.flags.writeable = False
    return x, w


def stack_grids(grids) -> tuple[np.ndarray, np.ndarray]:
    """Pad grids of different lengths into (M, n_max) arrays; padding has weight 0."""
    n = max(len(gr) for gr in grids)
    P = np.zeros((len(grids), n))
    W = np.zeros((len(grids), n))
    for i, gr in enumerate(grids):
        P[i, : len(gr)] = gr.points
        P[i, len(gr):] = gr.points[-1]
        W[i, : len(gr)] = gr.weights
    return P, W
