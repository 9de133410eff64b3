"""Group-VI TMD monolayers: material presets and the spin-orbit sector model (spec §9).

Sources
-------
* D. Xiao, G.-B. Liu, W. Feng, X. Xu, W. Yao, "Coupled spin and valley physics in
  monolayers of MoS2 and other group-VI dichalcogenides", PRL 108, 196802 (2012),
  Table I: the massive Dirac model of each valley,

      H_{τ s}(q) = a t (τ q_x σ_x + q_y σ_y) + (Δ/2) σ_z - λ τ s (σ_z - 1)/2,

  with a the LATTICE CONSTANT (metal-metal distance), t their hopping, Δ the gap
  without spin-orbit coupling and 2λ the spin splitting of the valence band top.
  τ = ±1 is the valley, s = ±1 the spin along z.  Values used (a [Å], t [eV], Δ [eV],
  2λ [eV]): MoS2 3.193, 1.10, 1.66, 0.15; WS2 3.197, 1.37, 1.79, 0.43;
  MoSe2 3.313, 0.94, 1.47, 0.18; WSe2 3.310, 1.19, 1.60, 0.46.
* Cross-check: G.-B. Liu, W.-Y. Shan, Y. Yao, W. Yao, D. Xiao, "Three-band
  tight-binding model for monolayers of group-VIB transition metal dichalcogenides",
  PRB 88, 085433 (2013): GGA lattice constants a = 3.190, 3.191, 3.326, 3.325 Å and
  atomic spin-orbit constants λ = 0.073, 0.211, 0.091, 0.228 eV (valence splitting at
  K = 2λ in their model) for MoS2, WS2, MoSe2, WSe2 (:data:`LIU_2013_GGA`; Table of
  their nearest-neighbour fit, as transcribed in public tight-binding codes such as
  pybinding's ``group6_tmd`` module).  They agree with Xiao's a to 0.5 % and with
  Xiao's 2λ to 3 % (tested).  The Xiao values were not re-read from the printed
  Table I here (no copy was at hand); the Liu cross-check is what backs them.

Mapping onto the honeycomb lattice of spec §1
---------------------------------------------
Near a valley centre the lattice model is a massive Dirac model:
h(K+ + q) = (3/2) t_lat d (±q_x + i q_y) × phase + O(q²), d the nearest-neighbour
distance (the engine's unit of length), so

    ħ v = a t = (3/2) t_lat d,    d = a/√3,    t_lat = 2 ħ v / (3 d) = (2/√3) t,
    δ = Δ,    λ_lat = λ.

:attr:`Material.t_eV` is t_lat (the engine's unit of energy); MoS2 has δ/t = 1.307.
The mapping fixes the gap and the Dirac velocity only: away from the valleys the
honeycomb bands are not the material's (no trigonal warping fit, no particle-hole
asymmetry, no Q/Γ valleys).

Spin-orbit sectors (spec §9)
----------------------------
Spin s_z is conserved.  The spin-s electrons see the lattice model plus a
Kane-Mele-like next-nearest-neighbour term on the valence-orbital sublattice (index 1
of H, the one at -δ/2):

    H_s(k) = H(k) + s λ g(k) P_B,    P_B = diag(0, 1),
    g(k) = (2/(3√3)) Σ_j sin(k·b_j),   b_j = d_{j+1} - d_{j+2} (cyclic),

g odd in k, g(K+) = +1, g(K-) = -1, |g| ≤ 1.  At the centre of valley τ this is
diag(δ/2, -δ/2 + τ s λ): Xiao's H_{τ s} at q = 0 (gap Δ - τ s λ, offset τ s λ/2).

Time reversal maps (k, s) to (-k, -s) and H_{-s}(-k) = conj(H_s(k)) (H(-k) = conj H(k)
for real hoppings, and g is odd), so the two members of a Nambu pair of spec §3,
(k ∈ K+, spin s) and (-k ∈ K-, spin -s), have the same τ s = s and the same spectrum,
that of H_s evaluated at the K+ member k.  The problem therefore splits into two
sectors σ = τ s = ±1, each one copy of the engine's model with the Hamiltonian
H_σ(k) for k in K+ (:class:`SpinSectorModel`): σ = +1 has gap δ - λ (the A
transition), σ = -1 has gap δ + λ (the B transition).  Evaluated in K-, H_σ describes
the spin-σ electrons there, which belong to the other sector (τ s = -σ).  Note that
E_1 + E_2 = σ λ g(k) is no longer constant: the pair dispersion of the sector model
is not flat (spec §2), it varies as O(λ q²) near K+.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from .lattice import DRIVE_PATTERNS, NN_VECTORS, HoneycombModel, _as_k
from .lattice import valley_centres as _valley_centres

__all__ = [
    "NNN_VECTORS",
    "LIU_2013_GGA",
    "Material",
    "PRESETS",
    "preset",
    "so_function",
    "so_function_gradient",
    "SpinSectorModel",
]

SQRT3 = math.sqrt(3.0)

#: next-nearest-neighbour vectors b_j = d_{j+1} - d_{j+2} (rows); Σ_j b_j = 0
NNN_VECTORS = np.array([
    NN_VECTORS[1] - NN_VECTORS[2],
    NN_VECTORS[2] - NN_VECTORS[0],
    NN_VECTORS[0] - NN_VECTORS[1],
])
_G_NORM = 2.0 / (3.0 * SQRT3)

XIAO_2012 = "Xiao, Liu, Feng, Xu, Yao, PRL 108, 196802 (2012), Table I"

#: Liu et al., PRB 88, 085433 (2013), GGA: name -> (lattice constant [Å], λ [eV]);
#: the valence splitting at K of their model is 2λ.  Cross-check only.
LIU_2013_GGA = {
    "MoS2": (3.190, 0.073),
    "WS2": (3.191, 0.211),
    "MoSe2": (3.326, 0.091),
    "WSe2": (3.325, 0.228),
}


def so_function(k) -> np.ndarray:
    """g(k) = (2/(3√3)) Σ_j sin(k·b_j): odd, g(K+) = +1, g(K-) = -1, |g| ≤ 1."""
    k = _as_k(k)
    return _G_NORM * np.sin(k @ NNN_VECTORS.T).sum(axis=-1)


def so_function_gradient(k) -> np.ndarray:
    """(∂g/∂kx, ∂g/∂ky) = (2/(3√3)) Σ_j cos(k·b_j) b_j, stacked on the last axis."""
    k = _as_k(k)
    return _G_NORM * np.cos(k @ NNN_VECTORS.T) @ NNN_VECTORS


@dataclass(frozen=True)
class SpinSectorModel:
    """One spin-orbit sector σ = τ s of a TMD monolayer on the honeycomb lattice (spec §9).

    H_σ(k) = [[δ/2, h(k)], [h*(k), -δ/2 + σ λ g(k)]] with h, δ, t of spec §1 and g of
    :func:`so_function`.  Writing c = σ λ g / 2 and m = (δ - σ λ g)/2,

        E_1 = c - sqrt(m² + |h|²),   E_2 = c + sqrt(m² + |h|²),

    so at the K+ centre (h = 0, g = 1) the gap is δ - σλ and the offset
    (E_1 + E_2)/2 = σλ/2; at K- they are δ + σλ and -σλ/2.  The engine uses H_σ at
    the K+ member of each Nambu pair (see the module docstring).  ``lambda_so = 0``
    is :class:`~keldysh.lattice.HoneycombModel` exactly (same closed forms, same gauge).

    Parameters
    ----------
    delta : float
        Sublattice gap δ > 0.
    t : float
        Nearest-neighbour hopping t > 0 (default 1, the engine's unit).
    lambda_so : float
        Spin-orbit constant λ, 0 ≤ λ < δ (the valence splitting at K is 2λ).
    sigma : int
        Sector σ = τ s = +1 (A transition, gap δ - λ) or -1 (B, gap δ + λ).
    """

    delta: float
    t: float = 1.0
    lambda_so: float = 0.0
    sigma: int = 1

    def __post_init__(self):
        for name in ("delta", "t"):
            value = getattr(self, name)
            if not np.isfinite(value) or value <= 0:
                raise ValueError(f"{name}: must be finite and > 0, got {value!r}")
        if not np.isfinite(self.lambda_so) or not 0 <= self.lambda_so < self.delta:
            raise ValueError(f"lambda_so: must satisfy 0 <= lambda_so < delta = {self.delta}, "
                             f"got {self.lambda_so!r}")
        if self.sigma not in (1, -1) or isinstance(self.sigma, bool):
            raise ValueError(f"sigma: must be +1 or -1, got {self.sigma!r}")

    @property
    def base(self) -> HoneycombModel:
        """The spinless model (same δ, t; λ = 0)."""
        return HoneycombModel(delta=self.delta, t=self.t)

    # -- Bloch Hamiltonian ------------------------------------------------
    def h(self, k) -> np.ndarray:
        """Off-diagonal element h(k) = -t Σ_i exp(i k·d_i) (unchanged by spin-orbit)."""
        return self.base.h(k)

    def grad_h(self, k) -> np.ndarray:
        return self.base.grad_h(k)

    def so_term(self, k) -> np.ndarray:
        """σ λ g(k), added to H[1, 1]."""
        return self.sigma * self.lambda_so * so_function(k)

    def so_term_gradient(self, k) -> np.ndarray:
        """∇(σ λ g(k)), stacked on the last axis."""
        return self.sigma * self.lambda_so * so_function_gradient(k)

    def hamiltonian(self, k) -> np.ndarray:
        """H_σ(k) = [[δ/2, h], [h*, -δ/2 + σλ g(k)]], shape (..., 2, 2)."""
        H = self.base.hamiltonian(k)
        H[..., 1, 1] += self.so_term(k)
        return H

    def _parts(self, k):
        """(c, m, e, h): centre, half sublattice splitting, half band splitting, h(k)."""
        h = self.h(k)
        so = self.so_term(k)
        c = so / 2
        m = self.delta / 2 - so / 2
        e = np.sqrt(m**2 + np.abs(h) ** 2)
        return c, m, e, h

    def bands(self, k) -> np.ndarray:
        """(E_k1, E_k2) = (c - e, c + e) stacked on the last axis (c, e of the class docstring)."""
        c, _, e, _ = self._parts(k)
        return np.stack([c - e, c + e], axis=-1)

    def bloch_vectors(self, k) -> tuple[np.ndarray, np.ndarray]:
        """Normalised (u_1k, u_2k); closed form u_2 ∝ (e + m, h*), u_1 ∝ (-h, e + m).

        Regular everywhere because m ≥ (δ - λ)/2 > 0; the gauge of
        :meth:`HoneycombModel.bloch_vectors`.
        """
        _, m, e, h = self._parts(k)
        a = e + m
        norm = np.sqrt(a**2 + np.abs(h) ** 2)
        u2 = np.stack([a + 0j, np.conj(h)], axis=-1) / norm[..., None]
        u1 = np.stack([-h, a + 0j], axis=-1) / norm[..., None]
        return u1, u2

    def velocity_elements(self, k) -> tuple[np.ndarray, np.ndarray]:
        """P_±(k) = <u_2k| ∂H_σ/∂kx ± i ∂H_σ/∂ky |u_1k> (Eq. 2), including ∂(σλg) in H[1, 1]."""
        u1, u2 = self.bloch_vectors(k)
        g = self.grad_h(k)
        dso = self.so_term_gradient(k)
        out = []
        for sign in (+1, -1):
            d01 = g[..., 0] + sign * 1j * g[..., 1]
            d10 = np.conj(g[..., 0]) + sign * 1j * np.conj(g[..., 1])
            d11 = dso[..., 0] + sign * 1j * dso[..., 1]
            out.append(np.conj(u2[..., 0]) * d01 * u1[..., 1] + np.conj(u2[..., 1]) * d10 * u1[..., 0]
                       + np.conj(u2[..., 1]) * d11 * u1[..., 1])
        return out[0], out[1]

    def eta(self, k) -> np.ndarray:
        """Circular dichroism η(k) = (|P+|² - |P-|²) / (|P+|² + |P-|²) (Eq. 2)."""
        pp, pm = self.velocity_elements(k)
        a, b = np.abs(pp) ** 2, np.abs(pm) ** 2
        return (a - b) / (a + b)

    def valley_centres(self) -> dict[str, np.ndarray]:
        """{"K+": centre with η = +1, "K-": centre with η = -1} (spec §1)."""
        return _valley_centres(self)

    # -- what the meshes and the Nambu assembly read (the HoneycombModel interface) --
    def energy(self, k) -> np.ndarray:
        """Half the band splitting, e_k = (E_2 - E_1)/2 = sqrt(m² + |h|²): the quantity the
        resonance e_k = ω0/2 and the detuning 2e_k - ω0 refer to (as e_k of spec §1)."""
        return self._parts(k)[2]

    def band_offset(self, k) -> np.ndarray:
        """Centre of the two bands, c_k = (E_1 + E_2)/2 = σλg(k)/2, so E_a = c_k ∓ e_k.
        Odd partner symmetry: the Nambu partner (-k, -σ) has the same c (module docstring)."""
        return self.so_term(k) / 2

    def band_velocity(self, k, direction) -> np.ndarray:
        """∂e_k/∂k · u = [Re(h* ∇h·u) - m σλ (∇g·u)/2] / e_k (from e² = m² + |h|²,
        m = (δ - σλg)/2); the radial widths of :class:`keldysh.refined_kmesh.RefinedKMesh`."""
        k = _as_k(k)
        u = np.asarray(direction, dtype=float)
        _, m, e, h = self._parts(k)
        dm = -0.5 * (self.so_term_gradient(k) @ u)
        return (np.real(np.conj(h) * (self.grad_h(k) @ u)) + m * dm) / e

    def partner(self) -> "SpinSectorModel":
        """The model of the other member of each Nambu pair: spin -σ, evaluated at -k
        (H_{-σ}(-k) = conj H_σ(k)); it gives the drive Ω_{-k} of the whole-zone patterns."""
        return dataclasses.replace(self, sigma=-self.sigma)

    def drive_amplitude(self, k, Omega: float, pattern: str = "valley",
                        include_boundary: bool = False) -> np.ndarray:
        """Rabi amplitude Ω_k of the spec's drive patterns (§2, §9) for this sector's electrons.

        As :meth:`HoneycombModel.drive_amplitude` with this sector's P_±, which include the
        ∂(σλg) term: "circular" Ω_k = Ω P_+(k)/|P_+(K+)| (complex, closed-form gauge),
        "circular-abs" its modulus, "dichroic" Ω |P_+(k)|/|P_+(K+)| on the K+ half, "valley" Ω
        on the K+ half.  The K+ half is the geometric one, {η(k) > 0} of the spinless model
        (:attr:`base`; the Γ-M lines), the half the meshes of :mod:`keldysh.kmesh` sample;
        ``include_boundary`` also drives its boundary (|η| ≤ 1e-12).  |P_+(K+)| = 3td in every
        sector (∇g = 0 at K+)."""
        k = _as_k(k)
        if pattern not in DRIVE_PATTERNS:
            raise ValueError(f"pattern: must be one of {DRIVE_PATTERNS}, got {pattern!r}")
        if pattern == "valley":
            driven = self.base.eta(k) > (-1e-12 if include_boundary else 0.0)
            return np.where(driven, float(Omega), 0.0)
        pp, _ = self.velocity_elements(k)
        pp_centre, _ = self.velocity_elements(self.valley_centres()["K+"])
        amplitude = Omega * pp / np.abs(pp_centre)
        if pattern == "circular":
            return amplitude
        if pattern == "circular-abs":
            return np.abs(amplitude)
        driven = self.base.eta(k) > (-1e-12 if include_boundary else 0.0)
        return np.where(driven, Omega * np.abs(pp) / np.abs(pp_centre), 0.0)

    # -- closed forms at the valley centres ---------------------------------
    def _tau(self, valley: str) -> int:
        if valley not in ("K+", "K-"):
            raise ValueError(f"valley: must be 'K+' or 'K-', got {valley!r}")
        return 1 if valley == "K+" else -1

    def gap(self, valley: str = "K+") -> float:
        """E_2 - E_1 at the centre of valley τ: δ - τ σ λ."""
        return self.delta - self._tau(valley) * self.sigma * self.lambda_so

    def offset(self, valley: str = "K+") -> float:
        """(E_1 + E_2)/2 at the centre of valley τ: τ σ λ / 2."""
        return self._tau(valley) * self.sigma * self.lambda_so / 2


@dataclass(frozen=True)
class Material:
    """A TMD monolayer in the massive Dirac parametrisation of Xiao et al. (module docstring).

    Stored (primary) values are the paper's; everything the engine uses is derived.

    Parameters
    ----------
    name : str
    lattice_constant_angstrom : float
        a (metal-metal distance), Å.
    dirac_hopping_eV : float
        Xiao's t (ħ v = a t); not the honeycomb hopping :attr:`t_eV`.
    gap_eV : float
        Δ, the gap without spin-orbit coupling (δ of the lattice model).
    lambda_so_eV : float
        λ (valence-band splitting 2λ); 0 ≤ λ < Δ.
    source : str
        Provenance; :meth:`overrides` appends what was changed.
    """

    name: str
    lattice_constant_angstrom: float
    dirac_hopping_eV: float
    gap_eV: float
    lambda_so_eV: float
    source: str = XIAO_2012

    def __post_init__(self):
        for key in ("lattice_constant_angstrom", "dirac_hopping_eV", "gap_eV"):
            value = getattr(self, key)
            if not isinstance(value, (int, float, np.floating)) or not np.isfinite(value) or value <= 0:
                raise ValueError(f"{self.name}: {key} must be a finite number > 0, got {value!r}")
        lam = self.lambda_so_eV
        if not isinstance(lam, (int, float, np.floating)) or not np.isfinite(lam) \
                or not 0 <= lam < self.gap_eV:
            raise ValueError(f"{self.name}: lambda_so_eV must satisfy 0 <= lambda_so_eV < gap_eV "
                             f"= {self.gap_eV}, got {lam!r}")

    # -- derived quantities -------------------------------------------------
    @property
    def hbar_v_eV_angstrom(self) -> float:
        """ħ v = a t (eV Å)."""
        return self.lattice_constant_angstrom * self.dirac_hopping_eV

    @property
    def nn_distance_angstrom(self) -> float:
        """d = a/√3, the engine's unit of length (Å)."""
        return self.lattice_constant_angstrom / SQRT3

    @property
    def t_eV(self) -> float:
        """Honeycomb hopping t_lat = 2 ħv / (3 d) (eV), the engine's unit of energy."""
        return 2 * self.hbar_v_eV_angstrom / (3 * self.nn_distance_angstrom)

    @property
    def delta_over_t(self) -> float:
        """δ/t_lat = Δ / t_lat."""
        return self.gap_eV / self.t_eV

    @property
    def lambda_over_t(self) -> float:
        """λ/t_lat."""
        return self.lambda_so_eV / self.t_eV

    @property
    def spin_splitting_eV(self) -> float:
        """2λ, the valence-band splitting at K."""
        return 2 * self.lambda_so_eV

    def sector_gap_eV(self, sigma: int) -> float:
        """Gap Δ - σλ of sector σ at its K+ centre (σ = +1: A, σ = -1: B)."""
        if sigma not in (1, -1) or isinstance(sigma, bool):
            raise ValueError(f"sigma: must be +1 or -1, got {sigma!r}")
        return self.gap_eV - sigma * self.lambda_so_eV

    @property
    def gap_A_eV(self) -> float:
        return self.sector_gap_eV(+1)

    @property
    def gap_B_eV(self) -> float:
        return self.sector_gap_eV(-1)

    def model(self, sigma: int | None = None):
        """The engine's model in units of t_lat (t = 1).

        ``sigma=None``: the spinless :class:`HoneycombModel` with δ = Δ (λ ignored);
        ``sigma=±1``: the :class:`SpinSectorModel` of that sector.
        """
        if sigma is None:
            return HoneycombModel(delta=self.delta_over_t)
        return SpinSectorModel(delta=self.delta_over_t, t=1.0, lambda_so=self.lambda_over_t,
                               sigma=sigma)

    def overrides(self, **changes) -> "Material":
        """A copy with some primary values changed (validated as on construction).

        Keys: ``lattice_constant_angstrom``, ``dirac_hopping_eV``, ``gap_eV``,
        ``lambda_so_eV``, ``name``.  The change is recorded in :attr:`source`.
        """
        allowed = ("name", "lattice_constant_angstrom", "dirac_hopping_eV", "gap_eV", "lambda_so_eV")
        unknown = sorted(set(changes) - set(allowed))
        if unknown:
            raise ValueError(f"{self.name}: unknown override(s) {unknown}; allowed: {list(allowed)}")
        if not changes:
            return self
        note = ", ".join(f"{key}={value!r}" for key, value in sorted(changes.items()))
        return dataclasses.replace(self, source=f"{self.source}; overridden: {note}", **changes)


#: the four presets of Xiao et al. (2012), Table I
PRESETS: dict[str, Material] = {
    m.name: m
    for m in (
        Material("MoS2", 3.193, 1.10, 1.66, 0.15 / 2),
        Material("WS2", 3.197, 1.37, 1.79, 0.43 / 2),
        Material("MoSe2", 3.313, 0.94, 1.47, 0.18 / 2),
        Material("WSe2", 3.310, 1.19, 1.60, 0.46 / 2),
    )
}


def preset(name: str) -> Material:
    """The preset ``name`` (case-insensitive): one of MoS2, WS2, MoSe2, WSe2."""
    if isinstance(name, str):
        for key, material in PRESETS.items():
            if key.lower() == name.strip().lower():
                return material
    raise ValueError(f"material: unknown preset {name!r}; available: {', '.join(PRESETS)}")
