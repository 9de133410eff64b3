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

import numpy as np

__all__ = ["FrequencyGrid", "stack_grids"]


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
        c = np.concatenate([z.real, steps if temperature > 0 else []])
        g = np.concatenate([-z.imag, np.full(steps.size if temperature > 0 else 0, np.pi * temperature)])
        order = np.lexsort((g, c))
        c, g = c[order], g[order]
        cuts = np.concatenate([c, 0.5 * (c[1:] + c[:-1]), steps])
        lo, hi = cuts.min(), cuts.max()
        L = max(hi - lo, 50 * g.max())
        cuts = np.unique(np.concatenate([cuts, [lo - L, hi + L]]))
        tol = 1e-14 * max(1.0, float(np.abs(cuts).max()))
        cuts = cuts[np.concatenate([[True], np.diff(cuts) > tol])]
        xg, wg = np.polynomial.legendre.leggauss(n_per_panel)
        pts, wts = [], []
        for a, b in zip(cuts[:-1], cuts[1:]):
            # nearest feature to the segment; ties -> the narrowest
            dist = np.maximum(np.maximum(a - c, c - b), 0.0)
            j = np.lexsort((g, dist))[0]
            cj, gj = c[j], g[j]
            if cj <= 0.5 * (a + b):
                sa, sb, sign = np.arcsinh((a - cj) / gj), np.arcsinh((b - cj) / gj), 1.0
            else:
                sa, sb, sign = np.arcsinh((cj - b) / gj), np.arcsinh((cj - a) / gj), -1.0
            s = 0.5 * (sb - sa) * xg + 0.5 * (sb + sa)
            pts.append(cj + sign * gj * np.sinh(s))
            wts.append(0.5 * (sb - sa) * wg * gj * np.cosh(s))
        # tails: ω = p ± L tan θ, θ ∈ (0, π/2)
        th = 0.25 * np.pi * (xg + 1.0)
        tw = 0.25 * np.pi * wg * L / np.cos(th) ** 2
        pts += [cuts[0] - L * np.tan(th), cuts[-1] + L * np.tan(th)]
        wts += [tw, tw]
        p = np.concatenate(pts)
        w = np.concatenate(wts)
        order = np.argsort(p, kind="stable")
        return cls(p[order], w[order], "adapted")


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
