"""2D resonance-shell mesh of the K+ half: uniform resolution in the band energy (spec §7).

The exact-DOS :meth:`keldysh.kmesh.EnergyMesh.shell` resolves the resonance shell uniformly in
e (panels of ~Γ/2 over the detunings that a real-frequency scan of chi(ν) probes), which the
full criterion needs: chi(ν) at real ν is a sum of per-sample Lorentzians of width ~Γ, and a
mesh coarser than Γ in e turns it into a comb with spurious real-axis crossings.  It serves
only the valley pattern (everything a function of e).  :class:`PolarShellKMesh` is the same
rule in 2D, for the patterns whose Rabi amplitude depends on the direction of k ("dichroic",
"circular", "circular-abs"):

* polar coordinates around K+, k = K+ + q u(φ); the K+ half is the triangle T of
  :func:`keldysh.refined_kmesh.valley_triangle` (centroid K+, edges on the Γ-M lines), split
  into three 120° sectors with the boundary R(φ) = d / cos(φ - φ_n) (d the inradius);
* ``n_angle`` Gauss-Legendre angles per sector (the integrand is smooth in φ inside a sector);
* on every ray the energy window e ∈ e_c ± ``half_window`` (clipped to the ray) is cut into
  panels that span at most ``resolution`` *in e* (edges from inverting e(q) along the ray,
  monotonic up to the window's top: checked) and at most R/64 in q (near the saddle at M,
  where de/dq -> 0), with
  ``order`` Gauss-Legendre nodes in q each; the rest of the ray, [0, q(e_lo)] and
  [q(e_hi), R], ``n_outer`` Gauss-Legendre nodes in q each.

Node weight W_φ · w · q / A_BZ (w the ∫ dq weight), so that Σ_j weight_j f(k_j) ≈
(1/N) Σ_{k∈K+} f(k) and the weights sum to 1/2 (area of T over A_BZ; the angular rule integrates
the boundary's sec² to exponential accuracy, ``normalisation_error``).  For the valley pattern
it reproduces the exact-DOS shell integral (tested).  Every sample stands for the pair (k, -k):
e_{-k} = e_k, so the K- resonance ring of the whole-zone patterns is resolved too.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .frequency import gauss_legendre as _legendre
from .kmesh import _MomentumMesh
from .lattice import RECIPROCAL, HoneycombModel

__all__ = ["PolarShellKMesh"]

_BZ_AREA = float(abs(np.linalg.det(RECIPROCAL)))


def _triangle(model: HoneycombModel):
    from .refined_kmesh import RefinedKMesh

    return RefinedKMesh.valley_triangle(model)


def _energy_on_ray(model, K, u, q):
    k = K + np.asarray(q)[..., None] * u
    return model.energy(k)


def _q_of_e(model, K, u, e_target, q_hi):
    """Invert e(q) along the ray by vectorised bisection on [0, q_hi] (e monotonic)."""
    lo = np.zeros_like(e_target)
    hi = np.full_like(e_target, q_hi)
    for _ in range(64):
        mid = 0.5 * (lo + hi)
        above = _energy_on_ray(model, K, u, mid) > e_target
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class PolarShellKMesh(_MomentumMesh):
    """Polar K+ mesh with the resonance shell resolved uniformly in e (module docstring).

    ``points`` (M, 2), ``weights`` (M,), ``n_cells`` = 0 (continuum weights), ``index`` (M,),
    ``kind``, ``normalisation_error`` = |Σ weights - 1/2| / (1/2)."""

    points: np.ndarray
    weights: np.ndarray
    n_cells: int
    index: np.ndarray
    kind: str = "polar-shell"
    normalisation_error: float = 0.0

    def __len__(self):
        return len(self.weights)

    def _subset(self, sl):
        return PolarShellKMesh(self.points[sl], self.weights[sl], self.n_cells, self.index[sl],
                               self.kind, self.normalisation_error)

    @classmethod
    def build(cls, model: HoneycombModel, centre: float, resolution: float, half_window: float, *,
              order: int = 4, n_angle: int = 12, n_outer: int = 12) -> "PolarShellKMesh":
        """The mesh for the shell e ∈ ``centre`` ± ``half_window`` (band-2 energy e_c, e.g.
        ω0/2), panels of ``resolution`` in e with ``order`` Gauss nodes, ``n_angle`` angles
        per 120° sector, ``n_outer`` nodes on each part of a ray outside the window."""
        for name, value in (("resolution", resolution), ("half_window", half_window)):
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"{name}: must be finite and > 0, got {value!r}")
        for name, value in (("order", order), ("n_angle", n_angle), ("n_outer", n_outer)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name}: must be an integer >= 1, got {value!r}")
        K, V = _triangle(model)
        d = float(np.linalg.norm(V[0] - K)) / 2  # inradius
        phi_v = np.sort(np.arctan2(V[:, 1] - K[1], V[:, 0] - K[0]))
        xa, wa = _legendre(n_angle)
        xo, wo = _legendre(n_outer)
        xg, wg = _legendre(order)
        pts, wts = [], []
        for i in range(3):
            lo_phi = phi_v[i]
            hi_phi = phi_v[i + 1] if i < 2 else phi_v[0] + 2 * np.pi
            phin = 0.5 * (lo_phi + hi_phi)
            for x, wx in zip(xa, wa):
                t = 0.5 * (hi_phi - lo_phi) * x
                u = np.array([np.cos(phin + t), np.sin(phin + t)])
                R = d / np.cos(t)
                W = 0.5 * (hi_phi - lo_phi) * wx
                e0, eR = float(_energy_on_ray(model, K, u, 0.0)), float(_energy_on_ray(model, K, u, R))
                probe = _energy_on_ray(model, K, u, np.linspace(0.0, R, 257))
                a, b = max(e0, centre - half_window), min(eR, centre + half_window)
                # the window is inverted by bisection: e(q) must rise monotonically up to the top
                # of the window and stay above it (a spin-orbit sector's e(q) may dip slightly
                # near Γ, far above any resonance: g is linear there, spec §9)
                top = int(np.argmax(probe > b)) if np.any(probe > b) else probe.size
                if np.any(np.diff(probe[: top + 1]) < -1e-12 * max(1.0, eR)) or np.any(probe[top:] < b):
                    raise RuntimeError(f"e(q) is not monotonic along the ray at angle {phin + t:.6g}")
                q_nodes, q_weights = [], []
                if b > a:
                    # panel edges uniform in e inside the window (at most ``resolution`` each),
                    # split further where a panel is long in q (near the saddle at M, where
                    # de/dq -> 0); Gauss-Legendre in q inside every panel
                    n_pan = int(np.ceil((b - a) / resolution))
                    q_edges = _q_of_e(model, K, u, np.linspace(a, b, n_pan + 1), R)
                    q_edges[0] = 0.0 if a <= e0 else q_edges[0]
                    q_edges[-1] = R if b >= eR else q_edges[-1]
                    cap = R / 64
                    pieces = np.maximum(1, np.ceil(np.diff(q_edges) / cap)).astype(int)
                    sub = np.concatenate([np.linspace(q_edges[j], q_edges[j + 1], pieces[j] + 1)[:-1]
                                          for j in range(n_pan)] + [q_edges[-1:]])
                    L, Rr = sub[:-1, None], sub[1:, None]
                    q_nodes.append((0.5 * (Rr - L) * xg + 0.5 * (Rr + L)).ravel())
                    q_weights.append((0.5 * (Rr - L) * wg).ravel())
                    outer = [(0.0, q_edges[0]), (q_edges[-1], R)]
                else:
                    outer = [(0.0, R)]
                for c0, c1 in outer:
                    if c1 - c0 <= 0:
                        continue
                    q_nodes.append(c0 + 0.5 * (c1 - c0) * (xo + 1.0))
                    q_weights.append(0.5 * (c1 - c0) * wo)
                q = np.concatenate(q_nodes)
                w = np.concatenate(q_weights) * q * W / _BZ_AREA
                pts.append(K + q[:, None] * u)
                wts.append(w)
        p = np.concatenate(pts)
        w = np.concatenate(wts)
        err = abs(w.sum() - 0.5) / 0.5
        return cls(p, w, 0, np.arange(w.size), "polar-shell", float(err))
