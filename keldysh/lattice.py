"""Gapped honeycomb lattice model (spec §1, the paper's Eqs. 1-2).

Conventions (``shared/spec/physics.md`` §1): nearest-neighbour vectors
``d1,2 = (±√3/2, 1/2)``, ``d3 = (0, -1)``; Bravais vectors ``a1 = d1 - d3``,
``a2 = d2 - d3``; unit-cell area ``A_c = 3√3/2``.  Bloch Hamiltonian::

    h(k) = -t Σ_i exp(i k·d_i),        H(k) = [[δ/2, h], [h*, -δ/2]],

bands ``E_k1 = -e_k``, ``E_k2 = +e_k`` with ``e_k = sqrt(δ²/4 + |h(k)|²)``.

Valley labels are defined by the circular dichroism η(k) (Eq. 2): K+ is the
valley whose centre has η = +1.  :func:`valley_centres` reports which of the two
centres ``±(4π/(3√3), 0)`` that is for these vectors.

All functions are vectorised over an arbitrary leading shape of ``k`` (last axis
= (kx, ky)).  Energies are in units of ``t`` unless ``t`` is given.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.special import ellipkm1

__all__ = [
    "NN_VECTORS",
    "BRAVAIS",
    "RECIPROCAL",
    "CELL_AREA",
    "HoneycombModel",
    "DRIVE_PATTERNS",
    "WHOLE_ZONE_PATTERNS",
    "valley_centres",
    "gapless_valley_dos",
    "brillouin_zone_corners",
    "cut_towards_gamma",
    "resonance_on_cut",
]

SQRT3 = np.sqrt(3.0)
#: nearest-neighbour vectors d1, d2, d3 (rows)
NN_VECTORS = np.array([[SQRT3 / 2, 0.5], [-SQRT3 / 2, 0.5], [0.0, -1.0]])
#: Bravais vectors a1 = d1 - d3, a2 = d2 - d3 (rows)
BRAVAIS = np.array([NN_VECTORS[0] - NN_VECTORS[2], NN_VECTORS[1] - NN_VECTORS[2]])
#: reciprocal vectors b_i with a_i . b_j = 2 π δ_ij (rows)
RECIPROCAL = 2 * np.pi * np.linalg.inv(BRAVAIS).T
#: unit-cell area A_c = 3√3/2 (a = 1)
CELL_AREA = 1.5 * SQRT3
#: the two candidate valley centres ±(4π/(3√3), 0), where h(k) = 0
_CENTRES = np.array([[4 * np.pi / (3 * SQRT3), 0.0], [-4 * np.pi / (3 * SQRT3), 0.0]])
#: drive patterns of spec §2 ("valley", "dichroic": K+ only, real) and §9 ("circular",
#: "circular-abs": σ+ light on the whole zone) (:meth:`HoneycombModel.drive_amplitude`)
DRIVE_PATTERNS = ("valley", "dichroic", "circular", "circular-abs")
#: the patterns that drive K- too (Ω_{-k} ≠ 0): the hole block of the Nambu matrix is driven
WHOLE_ZONE_PATTERNS = ("circular", "circular-abs")


def _as_k(k) -> np.ndarray:
    k = np.asarray(k, dtype=float)
    if k.shape[-1:] != (2,):
        raise ValueError(f"k: last axis must have length 2 (kx, ky), got shape {k.shape}")
    return k


@dataclass(frozen=True)
class HoneycombModel:
    """The gapped honeycomb model of spec §1.

    Parameters
    ----------
    delta : float
        Sublattice gap δ > 0 (the band gap is δ).
    t : float
        Nearest-neighbour hopping, t > 0 (the unit of energy, default 1).
    """

    delta: float
    t: float = 1.0

    def __post_init__(self):
        for name in ("delta", "t"):
            value = getattr(self, name)
            if not np.isfinite(value) or value <= 0:
                raise ValueError(f"{name}: must be finite and > 0, got {value!r}")

    # -- Bloch Hamiltonian ------------------------------------------------
    def h(self, k) -> np.ndarray:
        """Off-diagonal element h(k) = -t Σ_i exp(i k·d_i)."""
        k = _as_k(k)
        return -self.t * np.exp(1j * (k @ NN_VECTORS.T)).sum(axis=-1)

    def grad_h(self, k) -> np.ndarray:
        """(∂h/∂kx, ∂h/∂ky), stacked on the last axis."""
        k = _as_k(k)
        phase = np.exp(1j * (k @ NN_VECTORS.T))  # (..., 3)
        return -self.t * 1j * (phase[..., :, None] * NN_VECTORS).sum(axis=-2)

    def hamiltonian(self, k) -> np.ndarray:
        """H(k) = [[δ/2, h], [h*, -δ/2]], shape (..., 2, 2)."""
        h = self.h(k)
        H = np.empty(h.shape + (2, 2), dtype=complex)
        H[..., 0, 0] = self.delta / 2
        H[..., 1, 1] = -self.delta / 2
        H[..., 0, 1] = h
        H[..., 1, 0] = np.conj(h)
        return H

    def energy(self, k) -> np.ndarray:
        """e_k = sqrt(δ²/4 + |h(k)|²); the bands are E_k1 = -e_k, E_k2 = +e_k."""
        return np.sqrt(self.delta**2 / 4 + np.abs(self.h(k)) ** 2)

    def bands(self, k) -> np.ndarray:
        """(E_k1, E_k2) = (-e_k, +e_k) stacked on the last axis."""
        e = self.energy(k)
        return np.stack([-e, e], axis=-1)

    def band_velocity(self, k, direction) -> np.ndarray:
        """Band-2 group velocity along the unit vector ``direction`` u (band 1: minus it),

            ∂e_k/∂k · u = Re[h*(k) (∇h(k) · u)] / e_k      (from e² = δ²/4 + |h|²)."""
        k = _as_k(k)
        u = np.asarray(direction, dtype=float)
        return np.real(np.conj(self.h(k)) * (self.grad_h(k) @ u)) / self.energy(k)

    def bloch_vectors(self, k) -> tuple[np.ndarray, np.ndarray]:
        """Normalised Bloch vectors (u_1k, u_2k) of the lower and upper band.

        Closed form, regular everywhere because δ > 0:
        u_2 ∝ (e + δ/2, h*),  u_1 ∝ (-h, e + δ/2).
        """
        h = self.h(k)
        e = np.sqrt(self.delta**2 / 4 + np.abs(h) ** 2)
        a = e + self.delta / 2
        norm = np.sqrt(a**2 + np.abs(h) ** 2)
        u2 = np.stack([a + 0j, np.conj(h)], axis=-1) / norm[..., None]
        u1 = np.stack([-h, a + 0j], axis=-1) / norm[..., None]
        return u1, u2

    def velocity_elements(self, k) -> tuple[np.ndarray, np.ndarray]:
        """P_±(k) = <u_2k| ∂H/∂kx ± i ∂H/∂ky |u_1k> (the paper's Eq. 2)."""
        u1, u2 = self.bloch_vectors(k)
        g = self.grad_h(k)  # (..., 2)
        out = []
        for sign in (+1, -1):
            # D = ∂x H + sign i ∂y H:  D01 = ∂x h + s i ∂y h,  D10 = ∂x h* + s i ∂y h*
            d01 = g[..., 0] + sign * 1j * g[..., 1]
            d10 = np.conj(g[..., 0]) + sign * 1j * np.conj(g[..., 1])
            out.append(np.conj(u2[..., 0]) * d01 * u1[..., 1] + np.conj(u2[..., 1]) * d10 * u1[..., 0])
        return out[0], out[1]

    def eta(self, k) -> np.ndarray:
        """Circular dichroism η(k) = (|P+|² - |P-|²) / (|P+|² + |P-|²) (Eq. 2)."""
        pp, pm = self.velocity_elements(k)
        a, b = np.abs(pp) ** 2, np.abs(pm) ** 2
        return (a - b) / (a + b)

    def valley_centres(self) -> dict[str, np.ndarray]:
        """Return {"K+": centre with η = +1, "K-": centre with η = -1}."""
        return valley_centres(self)

    def drive_amplitude(self, k, Omega: float, pattern: str = "valley",
                        include_boundary: bool = False) -> np.ndarray:
        """Rabi amplitude Ω_k of the drive patterns of spec §2 and §9.

        ``"valley"``: Ω_k = Ω for η(k) > 0 (K+), 0 otherwise (the paper's minimal model).
        ``"dichroic"``: Ω_k = Ω |P_+(k)| / |P_+(K+)| for η(k) > 0, 0 otherwise.
        ``include_boundary``: also drive points with η = 0 (|η| ≤ 1e-12), the boundary of K+
        (see :meth:`keldysh.kmesh._MomentumMesh.samples`).  Both are real.

        ``"circular"`` (σ+ light on the whole zone, spec §9): the complex

            Ω_k = Ω P_+(k) / |P_+(K+)|        at every k (K- included),

        P_+(k) = <u_2k| ∂H/∂kx + i ∂H/∂ky |u_1k> in the Bloch gauge of the closed-form
        :meth:`bloch_vectors`, u_2k ∝ (e_k + δ/2, h*(k)), u_1k ∝ (-h(k), e_k + δ/2).  The phase
        is gauge dependent (u_ak -> e^{iθ_a(k)} u_ak turns Ω_k into e^{i(θ_1 - θ_2)(k)} Ω_k);
        it is the physical one in the gauge in which the band-basis interaction V, V' is
        constant, which this pattern takes to be the closed-form one.  That gauge is
        time-reversal symmetric, u_a(-k) = conj(u_a(k)) (h(-k) = h*(k)), so
        P_+(-k) = -conj(P_-(k)).  ``"circular-abs"``: the phase-free |Ω_k| of the same
        light (real).  ``include_boundary`` has no effect on these two patterns.
        """
        k = _as_k(k)
        if pattern in ("circular", "circular-abs"):
            pp, _ = self.velocity_elements(k)
            pp_centre, _ = self.velocity_elements(self.valley_centres()["K+"])
            amplitude = Omega * pp / np.abs(pp_centre)
            return amplitude if pattern == "circular" else np.abs(amplitude)
        if pattern not in DRIVE_PATTERNS:
            raise ValueError(f"pattern: must be one of {DRIVE_PATTERNS}, got {pattern!r}")
        eta = self.eta(k)
        driven = eta > (-1e-12 if include_boundary else 0.0)
        if pattern == "valley":
            return np.where(driven, float(Omega), 0.0)
        pp, _ = self.velocity_elements(k)
        pp_centre, _ = self.velocity_elements(self.valley_centres()["K+"])
        return np.where(driven, Omega * np.abs(pp) / np.abs(pp_centre), 0.0)

    # -- density of states ------------------------------------------------
    def dos(self, E) -> np.ndarray:
        """Exact band-2 density of states of ONE valley, per unit cell and energy.

        rho(E) = (E / Ẽ) rho_0(Ẽ),  Ẽ = sqrt(E² - δ²/4)   (spec §1),
        with rho_0 the gapless single-valley band DOS (:func:`gapless_valley_dos`).
        Normalised so that ∫ rho(E) dE = 1/2 over the band (half a state per cell);
        near the edge rho(E) ≈ 2 A_c E / (9 π t²).  Zero outside the band.
        By particle-hole symmetry band 1 has rho(-E).
        """
        E = np.asarray(E, dtype=float)
        Et2 = E**2 - self.delta**2 / 4
        inside = (E > self.delta / 2) & (Et2 < 9 * self.t**2)
        Et = np.sqrt(np.where(inside, Et2, 1.0))
        val = np.where(inside, E / Et * gapless_valley_dos(Et, self.t), 0.0)
        return val

    def band_edges(self) -> tuple[float, float]:
        """Energy range (δ/2, sqrt(δ²/4 + 9t²)) of band 2."""
        return self.delta / 2, float(np.sqrt(self.delta**2 / 4 + 9 * self.t**2))


def gapless_valley_dos(E, t: float = 1.0) -> np.ndarray:
    """Exact DOS of one band and one valley of the gapless honeycomb lattice.

    rho_0(E) = (|E| / (π² t²)) Z0^{-1/2} K(Z1/Z0)  with x = |E|/t and
    Z0 = (1+x)² - (x²-1)²/4, Z1 = 4x for x < 1;  Z0 = 4x, Z1 = (1+x)² - (x²-1)²/4
    for 1 < x < 3 (Hobson-Nierenberg form; K the complete elliptic integral of
    parameter m).  The complementary parameter 1 - Z1/Z0 is evaluated in the
    factorised form (1-x)² |1 - (1+x)²/4| / Z0, so the van Hove log singularity at
    |E| = t is accurate.  Normalised to ∫_0^{3t} rho_0 = 1/2 per unit cell.
    """
    x = np.abs(np.asarray(E, dtype=float)) / t
    out = np.zeros_like(x)
    lo = (x > 0) & (x < 1)
    hi = (x >= 1) & (x < 3)
    xl, xh = x[lo], x[hi]
    z0 = (1 + xl) ** 2 - (xl**2 - 1) ** 2 / 4
    tiny = np.finfo(float).tiny  # keeps the integrable log singularity finite at |E| = t
    out[lo] = xl / np.sqrt(z0) * ellipkm1(np.maximum((1 - xl) ** 2 * (1 - (1 + xl) ** 2 / 4) / z0, tiny))
    z0 = 4 * xh
    out[hi] = xh / np.sqrt(z0) * ellipkm1(np.maximum((xh - 1) ** 2 * ((xh + 1) ** 2 / 4 - 1) / z0, tiny))
    return out / (np.pi**2 * t)


def valley_centres(model: HoneycombModel) -> dict[str, np.ndarray]:
    """Label the two valley centres by the sign of η there (spec §1).

    Returns {"K+": k with η = +1, "K-": k with η = -1}.
    """
    eta = model.eta(_CENTRES)
    if not (np.isclose(abs(eta[0]), 1.0) and np.isclose(eta[0], -eta[1])):
        raise RuntimeError(f"unexpected dichroism at the valley centres: {eta}")
    plus = 0 if eta[0] > 0 else 1
    return {"K+": _CENTRES[plus].copy(), "K-": _CENTRES[1 - plus].copy()}


def brillouin_zone_corners(model: HoneycombModel) -> np.ndarray:
    """The six corners of the hexagonal first Brillouin zone (the K points), shape (6, 2)."""
    kp = model.valley_centres()["K+"]
    angles = np.pi / 3 * np.arange(6)
    rot = np.stack([np.cos(angles), -np.sin(angles), np.sin(angles), np.cos(angles)], -1).reshape(6, 2, 2)
    return rot @ kp


def cut_towards_gamma(model: HoneycombModel) -> tuple[np.ndarray, np.ndarray, float]:
    """The straight cut from K+ to Γ (along kx): (K+, unit direction, length |K+|);
    k(q) = K+ + q · direction, q ∈ [0, |K+|]."""
    kp = model.valley_centres()["K+"]
    length = float(np.linalg.norm(kp))
    return kp, -kp / length, length


def resonance_on_cut(model: HoneycombModel, energy: float) -> tuple[float, float] | None:
    """Where band 2 reaches ``energy`` on the cut from K+ towards Γ (:func:`cut_towards_gamma`).

    Returns (q, v): the distance q = |k - K+| at which e_k = energy and the band velocity
    v = de/dq there (:meth:`HoneycombModel.band_velocity`), or None when ``energy`` is
    outside (δ/2, e_Γ).  e_k rises monotonically from δ/2 at K+ to sqrt(δ²/4 + 9t²) at Γ
    along this line."""
    kp, direction, length = cut_towards_gamma(model)

    def e(q):
        return float(model.energy(kp + q * direction))

    if not e(0.0) < energy < e(length):
        return None
    q = brentq(lambda x: e(x) - energy, 0.0, length, xtol=1e-14)
    return float(q), float(model.band_velocity(kp + q * direction, direction))
