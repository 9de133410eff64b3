"""The certified spectrum of the linearised dynamics: winding count on Re λ = -σ, roots by Newton.

Part of :mod:`solvers.continuation` (the package docstring has the method)."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from .linear import _EYE4, Linearisation

log = logging.getLogger("solvers.continuation")

# ------------------------------------------------------------------------------------------
# the spectrum: certified count of the eigenvalues with Re λ > -σ, located by Newton
@dataclass(frozen=True)
class StabilityOptions:
    """Options of :func:`stability_spectrum`.

    ``sigma``: the counting line Re λ = -σ with σ = ``sigma`` x 2 min Γ (0 < sigma < 1: to the
    right of the spectrum of D, Re ≤ -2 min Γ); ``goldstone_overlap``: the least overlap
    |<c_G, n>| / (|c_G| |n|) of a root's null vector n with the phase rotation c_G for it to be the
    Goldstone mode; ``growth_tol``: Re λ above this (in units of min Γ) counts as growing;
    ``max_points``: the budget of λ samples on the counting line; ``newton_tol``: |δλ| (units
    of min Γ) that ends Newton; ``max_newton``: iterations per start."""

    sigma: float = 0.25
    goldstone_overlap: float = 0.999
    growth_tol: float = 1e-6
    max_points: int = 400_000
    newton_tol: float = 1e-10
    max_newton: int = 60

    def __post_init__(self):
        if not 0 < self.sigma < 1:
            raise ValueError(f"sigma: must be in (0, 1), got {self.sigma!r}")


@dataclass(frozen=True)
class Spectrum:
    """Eigenvalues of the linearised dynamics around one steady state (module docstring).

    ``eigenvalues``: the roots of E(λ) found, the Goldstone mode excluded, ordered by
    (-Re λ, Im λ) (a stated rule; ties do not matter for what is reported);
    ``goldstone``: the root identified as the phase rotation (NaN if none) and its
    ``goldstone_overlap``; ``max_re``: the largest Re λ of the non-Goldstone eigenvalues found
    (NaN if none was found; then every one has Re λ < -σ when ``certified``); ``n_growing``:
    those with Re λ > growth_tol min Γ; ``n_enclosed``: the winding number of E on Re λ = -σ
    (Goldstone included); ``certified``: the count is rigorous (the sampling bound held
    everywhere) and every enclosed root was found; ``status``: "ok" or what failed."""

    eigenvalues: np.ndarray
    goldstone: complex
    goldstone_overlap: float
    max_re: float
    n_growing: int
    n_enclosed: int
    sigma: float
    certified: bool
    status: str
    n_points: int
    seconds: float = 0.0

    @property
    def stable(self) -> bool:
        return self.n_growing == 0


def _smin(K: np.ndarray) -> np.ndarray:
    """Smallest singular value of 1 - K for a stack (n, 4, 4)."""
    return np.linalg.svd(_EYE4 - K, compute_uv=False).min(axis=-1)


def _count(lin: Linearisation, sigma: float, max_points: int):
    """Winding count of E(λ) = det[1 - K(λ)] around {Re λ > -σ} (see the module docstring).

    Returns (count, certified, ys, E on the line)."""
    Y = lin.pole_im_max + 2 * float(np.max(lin.system.baths.gamma)) + 2 * lin.residue_norm_sum + 1e-3
    scale = max(lin.gamma_min, 1e-12)
    inner = np.linspace(-50 * scale, 50 * scale, 201)
    outer = np.geomspace(50 * scale, Y, 200)
    ys = np.unique(np.concatenate([-outer, inner, outer]))
    x = -sigma
    # points are appended (never re-sorted while refining: a bisection deep near a pole costs
    # O(segments split) per pass, not O(all points)); segment j = [ys[left[j]], ys[right[j]]]
    n0 = ys.size
    Ys = np.empty(4 * n0, float)
    Ys[:n0] = ys
    Ks = np.empty((Ys.size, 4, 4), complex)
    Ks[:n0] = lin.evans_matrix(x + 1j * ys)
    passes = 0
    n = n0
    todo_l, todo_r = np.arange(n0 - 1), np.arange(1, n0)  # the unchecked segments
    certified = True
    while todo_l.size:
        sm = _smin(Ks[todo_l])
        bad = lin.residue_bound(x + 1j * Ys[todo_l], x + 1j * Ys[todo_r]) > 0.5 * sm
        if not bad.any():
            break
        bl, br = todo_l[bad], todo_r[bad]
        if n + bl.size > max_points:
            certified = False
            break
        if n + bl.size > Ys.size:  # grow geometrically
            size = min(max(2 * Ys.size, n + bl.size), max_points)
            Ys = np.concatenate([Ys, np.empty(size - Ys.size)])
            Ks = np.concatenate([Ks, np.empty((size - Ks.shape[0], 4, 4), complex)])
        passes += 1
        mids = np.arange(n, n + bl.size)
        Ys[mids] = 0.5 * (Ys[bl] + Ys[br])
        Ks[mids] = lin.evans_matrix(x + 1j * Ys[mids])
        n += bl.size
        # a split segment becomes two unchecked ones; the others are checked
        todo_l, todo_r = np.concatenate([bl, mids]), np.concatenate([mids, br])
    log.debug("spectrum count: %d points on Re λ = %.3g after %d bisection passes", n, x, passes)
    order = np.argsort(Ys[:n], kind="stable")
    ys, Ks = Ys[:n][order], Ks[:n][order]
    E = np.linalg.det(_EYE4 - Ks)
    steps = np.angle(E[1:] / E[:-1])
    arc = np.angle(E[0]) - np.angle(E[-1])  # top -> bottom through Re λ -> +inf (|K| <= 1/2 there)
    total = float(np.sum(steps) + arc)
    count = -total / (2 * np.pi)  # the line upwards has the region on its right: clockwise
    n = int(round(count))
    if abs(count - n) > 1e-6:
        certified = False
    return n, certified, ys, E


def _newton(lin: Linearisation, lam: complex, known, opts: StabilityOptions, scale: float):
    """Newton's method on E(λ) deflated by the known roots [(r, multiplicity)]; (λ, converged)."""
    for _ in range(opts.max_newton):
        K, dK = lin.evans_matrix(lam, derivative=True)
        B = _EYE4 - K[0]
        try:
            g = np.trace(np.linalg.solve(B, dK[0]))
        except np.linalg.LinAlgError:
            return lam, True
        # E'/E = -tr[(1 - K)^-1 K'], deflated: d/dλ log[E / Π (λ - r)^m]
        logd = -g - sum(m / (lam - r) for r, m in known)
        if not np.isfinite(logd) or logd == 0:
            return lam, False
        step = -1.0 / logd
        if abs(step) > 50 * scale + abs(lam):
            step *= (50 * scale + abs(lam)) / abs(step)
        lam = lam + step
        if abs(step) < opts.newton_tol * scale:
            return lam, True
    return lam, False


def _multiplicity(lin: Linearisation, lam: complex, radius: float, n: int = 48) -> int:
    """Winding number of E on the circle |λ' - λ| = radius."""
    z = lam + radius * np.exp(2j * np.pi * np.arange(n + 1) / n)
    E = lin.evans(z)
    steps = np.angle(E[1:] / E[:-1])
    if np.max(np.abs(steps)) > np.pi / 2:
        return _multiplicity(lin, lam, radius, 4 * n) if n < 1536 else int(round(np.sum(steps) / (2 * np.pi)))
    return int(round(np.sum(steps) / (2 * np.pi)))


def stability_spectrum(lin: Linearisation, options: StabilityOptions = StabilityOptions(),
                       previous=()) -> Spectrum:
    """The eigenvalues of the linearised Born-Markov dynamics around ``lin``'s steady state with
    Re λ > -σ, certified by the winding count of E (module docstring); ``previous``: roots of a
    neighbouring state to start Newton from (continuation)."""
    t0 = time.perf_counter()
    scale = lin.gamma_min
    sigma = options.sigma * 2 * scale
    n_enc, certified, ys, E = _count(lin, sigma, options.max_points)
    # starts: previous roots, λ = 0 (the Goldstone mode) and the local minima of |E| on the line
    absE = np.abs(E)
    interior = np.nonzero((absE[1:-1] <= absE[:-2]) & (absE[1:-1] <= absE[2:]))[0] + 1
    interior = interior[np.argsort(absE[interior], kind="stable")][:12]
    starts = [complex(p) for p in previous] + [0j]
    for i in interior:
        starts += [complex(-sigma, ys[i]), complex(0.0, ys[i])]
    known: list = []

    def enough():
        return sum(m for r, m in known if r.real > -sigma) >= n_enc

    def add_root(start, depth=0):
        lam, ok = _newton(lin, start, known, options, scale)
        if not ok or not np.isfinite(lam) or lam.real <= lin.pole_re_max:
            return  # not converged, or inside the spectrum of D (not a collective mode)
        if _smin(lin.evans_matrix(lam))[0] > 1e-6 or any(abs(lam - r) < 1e-6 * scale for r, _ in known):
            return
        radius = 0.25 * min([abs(lam - r) for r, _ in known] + [lam.real - lin.pole_re_max, scale])
        m = max(_multiplicity(lin, lam, radius), 1)
        known.append((lam, 1))
        if m > 1 and depth < 3:
            # another root within the circle: look for it with the found one deflated
            for phase in np.exp(2j * np.pi * np.arange(4) / 4):
                before = len(known)
                add_root(lam + 0.5 * radius * phase, depth + 1)
                if sum(1 for r, _ in known if abs(r - lam) < radius) >= m:
                    break
                if len(known) > before and len(known) - before >= m - 1:
                    break
            inside = sum(1 for r, _ in known if abs(r - lam) < radius)
            if inside < m:  # a genuinely multiple root (or not resolved): keep its multiplicity
                known[known.index((lam, 1))] = (lam, m - inside + 1)

    for s in starts:
        if enough():
            break
        add_root(s)
    if not enough():  # more starts: off the line, at the minima of |E| on it
        for x in (-0.5 * sigma, 0.0, sigma, 4 * sigma):
            for i in interior[:12]:
                if enough():
                    break
                add_root(complex(x, ys[i]))
    found = sum(m for r, m in known if r.real > -sigma)
    # the Goldstone mode: the root whose null vector is the phase rotation
    cg = lin.goldstone_vector
    gold, overlap = complex("nan"), 0.0
    rest = []
    for r, m in known:
        _, _, vh = np.linalg.svd(_EYE4 - lin.evans_matrix(r)[0])
        nvec = np.conj(vh[-1])  # right singular vector of the smallest singular value
        ov = float(abs(np.vdot(cg, nvec)) / (np.linalg.norm(cg) * np.linalg.norm(nvec)))
        if ov >= options.goldstone_overlap and abs(r) < 1e-6 * scale and np.isnan(gold.real):
            gold, overlap = r, ov
            rest += [r] * (m - 1)
        else:
            rest += [r] * m
    rest = np.array(sorted(rest, key=lambda z: (-z.real, z.imag)), dtype=complex)
    growing = int(np.sum(rest.real > options.growth_tol * scale))
    max_re = float(rest.real.max()) if rest.size else float("nan")
    status = "ok"
    if found != n_enc:
        status = f"found {found} of the {n_enc} eigenvalues with Re > -sigma"
        certified = False
    elif not certified:
        status = "count not certified (sampling budget max_points exhausted or non-integer winding)"
    if np.isnan(gold.real):
        status = ("no Goldstone mode identified; " + status) if status != "ok" else "no Goldstone mode identified"
        certified = False
    return Spectrum(rest, gold, overlap, max_re, growing, n_enc, sigma, certified, status, int(ys.size),
                    time.perf_counter() - t0)
