"""Rotating-frame Nambu single-particle problem, one 4x4 block per k ∈ K+ (spec §2-§3, §9).

Basis Ψ_k = (c_k1, c_k2, c†_{-k1}, c†_{-k2}) for k ∈ K+ (so -k ∈ K-).  With
rotating-frame particle energies xi = (xi'_k1, xi'_k2, xi'_{-k1}, xi'_{-k2})
measured from μ, Rabi amplitudes Ω_k (between c_k1 and c_k2) and Ω_{-k} (between
c_-k1 and c_-k2, nonzero only for the whole-zone patterns of spec §9) and gaps Δ±, the
single-particle matrix is::

    h_k = [[ xi0,     Ω_k*,    0,         -Δ-     ],
           [ Ω_k,     xi1,     Δ+,         0      ],
           [ 0,       Δ+*,    -xi2,       -Ω_{-k} ],
           [ -Δ-*,    0,      -Ω_{-k}*,   -xi3    ]]

(spec §3, §9: h[1,0] = Ω_k from Ω_k c†_k2 c_k1, and h[2,3] = -Ω_{-k} from
Ω_{-k} c†_{-k2} c_{-k1} = -Ψ†_2 Ψ_3).  A condensate frequency ν (Δ(t) = Δ e^{-iνt}) is
absorbed by shifting every particle energy and every bath chemical potential by -ν/2
(spec §2).

Occupation of Nambu mode i at rotating-frame frequency ω: particle modes
n_F(ω - μ'_i), hole modes n_F(ω + μ'_i); both are n_F(ω - m_i) with the *Nambu
chemical potential* m_i = ±μ'_i returned by :func:`nambu_chemical_potentials`.

Pair amplitudes (spec §3, the sign convention of the gap equations, Eqs. 8, 12):
S_+ sums <c_-k1 c_k2> = rho_12 and S_- sums <c_k1 c_-k2> = -rho_03 (:data:`PAIR_ELEMENTS`,
:func:`pair_amplitudes`, :func:`pair_sums`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .baths import BathSet, fermi
from .lattice import HoneycombModel

__all__ = [
    "nambu_hamiltonian",
    "nambu_chemical_potentials",
    "nambu_occupations",
    "DrivenSystem",
    "SpinfulSystem",
    "ModeArrays",
    "PAIR_ELEMENTS",
    "pair_amplitudes",
    "pair_sums",
]

#: (row, column) of rho and sign of the pair amplitudes (S_+, S_-) = (rho_12, -rho_03)
#: (spec §3); Δ_+ sits at h[1, 2] and -Δ_- at h[0, 3] (:func:`nambu_hamiltonian`)
PAIR_ELEMENTS = (((1, 2), 1.0), ((0, 3), -1.0))


def pair_amplitudes(rho) -> np.ndarray:
    """(<c_-k1 c_k2>, <c_k1 c_-k2>) = (rho_12, -rho_03) per block, shape (..., 2)."""
    rho = np.asarray(rho)
    return np.stack([sign * rho[..., i, j] for (i, j), sign in PAIR_ELEMENTS], axis=-1)


def pair_sums(weight, rho) -> np.ndarray:
    """(S_+, S_-) = Σ_j w_j (rho_12, -rho_03)_j (spec §3): ``rho`` (M, 4, 4) -> (2,), or a
    time series (n_t, M, 4, 4) -> (n_t, 2)."""
    rho = np.asarray(rho)
    if rho.ndim == 3:
        return np.array([sign * (weight @ rho[:, i, j]) for (i, j), sign in PAIR_ELEMENTS])
    return np.stack([sign * (rho[..., i, j] @ weight) for (i, j), sign in PAIR_ELEMENTS], axis=-1)


def nambu_hamiltonian(xi, rabi, delta_plus=0j, delta_minus=0j, nu=0.0, rabi_minus=0j) -> np.ndarray:
    """4x4 matrix h_k of spec §3, §9 (module docstring) for particle energies ``xi`` (..., 4),
    the Rabi amplitudes ``rabi`` = Ω_k (...) and ``rabi_minus`` = Ω_{-k} (...), complex:
    h[1,0] = Ω_k, h[0,1] = conj(Ω_k), h[2,3] = -Ω_{-k}, h[3,2] = -conj(Ω_{-k})."""
    xi = np.asarray(xi, dtype=float) - 0.5 * nu
    rabi = np.asarray(rabi, dtype=complex)
    rabi_minus = np.asarray(rabi_minus, dtype=complex)
    shape = np.broadcast_shapes(xi.shape[:-1], rabi.shape, rabi_minus.shape, np.shape(delta_plus),
                                np.shape(delta_minus))
    h = np.zeros(shape + (4, 4), dtype=complex)
    h[..., 0, 0] = xi[..., 0]
    h[..., 1, 1] = xi[..., 1]
    h[..., 2, 2] = -xi[..., 2]
    h[..., 3, 3] = -xi[..., 3]
    h[..., 1, 0] = rabi
    h[..., 0, 1] = np.conj(rabi)
    h[..., 2, 3] = -rabi_minus
    h[..., 3, 2] = -np.conj(rabi_minus)
    h[..., 1, 2] = delta_plus
    h[..., 2, 1] = np.conj(delta_plus)
    h[..., 0, 3] = -np.asarray(delta_minus)
    h[..., 3, 0] = -np.conj(delta_minus)
    return h


def nambu_chemical_potentials(bath_mu, nu=0.0) -> np.ndarray:
    """m_i with n_i(ω) = n_F(ω - m_i): (μ'0, μ'1, -μ'2, -μ'3) after the shift μ' -> μ' - ν/2."""
    mu = np.asarray(bath_mu, dtype=float) - 0.5 * nu
    return mu * np.array([1.0, 1.0, -1.0, -1.0])


def nambu_occupations(occupation) -> np.ndarray:
    """Frozen Nambu occupations (n0, n1, 1 - n2, 1 - n3) from particle occupations."""
    n = np.asarray(occupation, dtype=float)
    return np.concatenate([n[..., :2], 1.0 - n[..., 2:]], axis=-1)


@dataclass(frozen=True)
class ModeArrays:
    """Everything the kernels need for a set of k points (or energy samples) of K+.

    Arrays: ``xi`` (M, 4) rotating-frame particle energies measured from μ,
    ``rabi`` (M,) complex Ω_k (the drive between c_k1 and c_k2), ``gamma`` (M, 4) amplitude
    rates, ``bath_mu`` (M, 4) rotating-frame bath chemical potentials measured from μ,
    ``temperature`` (M, 4), ``occupation`` (M, 4) frozen Born-Markov particle occupations
    n_F(E_ka - μ_{v,a}) at the bath temperature, ``weight`` (M,) such that
    Σ_j weight_j f_j = (1/N) Σ_{k∈K+} f(k), ``energy`` (M,) the band energy e_k, and
    ``rabi_minus`` (M,) complex Ω_{-k} (the drive between c_-k1 and c_-k2; zero if not
    given, as for the K+-only patterns "valley" and "dichroic").  The Nambu matrix of a
    sample is :meth:`hamiltonian` (spec §3, §9).  The shapes are checked on construction;
    ``rabi`` and ``rabi_minus`` are stored as complex arrays.
    """

    xi: np.ndarray
    rabi: np.ndarray
    gamma: np.ndarray
    bath_mu: np.ndarray
    temperature: np.ndarray
    occupation: np.ndarray
    weight: np.ndarray
    energy: np.ndarray
    rabi_minus: np.ndarray = None

    def __post_init__(self):
        n = np.shape(self.weight)
        if len(n) != 1:
            raise ValueError(f"ModeArrays.weight: must have shape (M,), got {n}")
        if self.rabi_minus is None:
            object.__setattr__(self, "rabi_minus", np.zeros(n, complex))
        for name in ("rabi", "rabi_minus"):
            value = np.asarray(getattr(self, name))
            if value.dtype.kind not in "biufc":
                raise ValueError(f"ModeArrays.{name}: must be numbers, got dtype {value.dtype}")
            object.__setattr__(self, name, value.astype(complex, copy=False))
        for name in self.__dataclass_fields__:
            want = n if name in ("rabi", "rabi_minus", "weight", "energy") else n + (4,)
            if np.shape(getattr(self, name)) != want:
                raise ValueError(f"ModeArrays.{name}: must have shape {want} for M = {n[0]} samples, "
                                 f"got {np.shape(getattr(self, name))}")

    def __len__(self):
        return len(self.weight)

    def take(self, index) -> "ModeArrays":
        """Subset (slice or index array) of the samples."""
        return ModeArrays(**{f: getattr(self, f)[index] for f in self.__dataclass_fields__})

    def hamiltonian(self, delta_plus=0j, delta_minus=0j, nu=0.0) -> np.ndarray:
        """h_k (M, 4, 4) of every sample (:func:`nambu_hamiltonian`, both drive blocks)."""
        return nambu_hamiltonian(self.xi, self.rabi, delta_plus, delta_minus, nu, self.rabi_minus)


@dataclass(frozen=True)
class DrivenSystem:
    """Physical parameters of the driven two-band system (spec §1-§3, §9).

    ``model`` (δ, t), drive frequency ``omega0`` and amplitude ``Omega`` with
    ``pattern`` one of :data:`keldysh.lattice.DRIVE_PATTERNS` ("valley", "dichroic": K+
    only; "circular", "circular-abs": σ+ light on the whole zone, see
    :meth:`keldysh.lattice.HoneycombModel.drive_amplitude`), reference chemical potential
    ``mu`` and the bath parameters ``baths``.  Not validated here (see
    :class:`keldysh.baths.BathSet`); :class:`ModeArrays` checks what the kernels receive.
    """

    model: HoneycombModel
    omega0: float
    Omega: float
    baths: BathSet
    mu: float = 0.0
    pattern: str = "valley"

    def modes_from_energies(self, e, rabi, weight, rabi_minus=0j, offset=None) -> ModeArrays:
        """ModeArrays for band energies e_k (M,), Rabi amplitudes Ω_k (M,) and weights (M,);
        ``rabi_minus``: Ω_{-k} (M,) or a scalar (0: the K- mode of every sample undriven).

        ``offset``: None for the spinless bands E_k1 = -e_k, E_k2 = +e_k (spec §1); else the
        band centres c_k (M,) or a scalar, E_ka = c_k ∓ e_k (a spin-orbit sector, spec §9:
        :meth:`keldysh.materials.SpinSectorModel.band_offset`).  The partner -k of a sample
        has the same bands (E_{-k,a} = E_{k,a}, in the sector by time reversal), so the pair
        energy xi'_k1 + xi'_k2 = 2c_k - 2μ is no longer flat when c_k varies."""
        e = np.asarray(e, dtype=float)
        w0 = self.omega0
        if offset is None:
            # rotating-frame energies (spec §2): xi'_1 = -e - μ + ω0/2, xi'_2 = e - μ - ω0/2
            x1 = -e - self.mu + w0 / 2
            x2 = e - self.mu - w0 / 2
            E_lab = np.stack([-e, e, -e, e], axis=-1)
        else:
            c = np.broadcast_to(np.asarray(offset, dtype=float), e.shape)
            E1, E2 = c - e, c + e
            x1 = E1 - self.mu + w0 / 2
            x2 = E2 - self.mu - w0 / 2
            E_lab = np.stack([E1, E2, E1, E2], axis=-1)
        xi = np.stack([x1, x2, x1, x2], axis=-1)
        g, m, T = self.baths.mode_parameters(w0, self.mu)
        M = e.shape[0]
        lab_mu = np.array([self.baths.mu[0, 0], self.baths.mu[0, 1], self.baths.mu[1, 0], self.baths.mu[1, 1]])
        occ = fermi(E_lab - lab_mu, T)
        return ModeArrays(
            xi=xi,
            rabi=np.broadcast_to(np.asarray(rabi, dtype=complex), (M,)).copy(),
            gamma=np.tile(g, (M, 1)),
            bath_mu=np.tile(m, (M, 1)),
            temperature=np.tile(T, (M, 1)),
            occupation=occ,
            weight=np.asarray(weight, dtype=float).copy(),
            energy=e.copy(),
            rabi_minus=np.broadcast_to(np.asarray(rabi_minus, dtype=complex), (M,)).copy(),
        )

    def modes(self, mesh) -> ModeArrays:
        """ModeArrays on any mesh of :mod:`keldysh.kmesh` (its samples: ``mesh.samples``, whose
        Rabi amplitudes (M, 2) are (Ω_k, Ω_{-k}) per sample; for a spin-orbit sector model with
        λ > 0 also the band centres ``mesh.band_offsets``)."""
        e, rabi, weight = mesh.samples(self.model, self.Omega, self.pattern)
        offset = mesh.band_offsets(self.model, self.pattern) if getattr(self.model, "lambda_so", 0.0) else None
        return self.modes_from_energies(e, rabi[:, 0], weight, rabi[:, 1], offset)


@dataclass(frozen=True)
class SpinfulSystem:
    """A spinful material as its time-reversal sectors (spec §9), each a :class:`DrivenSystem`.

    ``sectors``: (σ = +1, σ = -1) for a TMD monolayer, each with its own
    :class:`keldysh.materials.SpinSectorModel` (gap δ - σλ at K+, band offset, resonance) and
    its own Rabi amplitude Ω (the same field gives ħΩ_σ = e E0 |P_+(K+)| / (2 (δ - σλ))), the
    same baths and μ.  A spin-independent interaction adds the pair sums of the sectors:

        S_a = Σ_σ S_a^(σ),   so   chi_ab = Σ_σ chi_ab^(σ)   and   Δ_a = M_ab Σ_σ S_b^(σ)(Δ, ν)

    with one Δ_± (the same pair field in both sectors) and one condensate frequency ν.
    Everything that sums over k takes one mesh per sector (a tuple in the order of
    ``sectors``) and adds the sectors in that order.  Any number >= 1 of sectors is accepted
    (one sector with λ = 0 is the spinless engine)."""

    sectors: tuple

    def __post_init__(self):
        sectors = tuple(self.sectors) if isinstance(self.sectors, (list, tuple)) else None
        if not sectors or not all(isinstance(s, DrivenSystem) for s in sectors):
            raise ValueError(f"sectors: must be a non-empty tuple of DrivenSystem, got {self.sectors!r}")
        object.__setattr__(self, "sectors", sectors)

    def __len__(self):
        return len(self.sectors)

    @property
    def labels(self) -> tuple[str, ...]:
        """"A" (σ = +1), "B" (σ = -1) per sector (the model's ``sigma``), or "sector<i>"."""
        names = {1: "A", -1: "B"}
        return tuple(names.get(getattr(s.model, "sigma", None), f"sector{i}") for i, s in enumerate(self.sectors))

    def meshes(self, mesh) -> tuple:
        """``mesh`` checked to be one mesh per sector (a tuple or list of that length)."""
        if not isinstance(mesh, (tuple, list)) or len(mesh) != len(self.sectors):
            raise ValueError(f"mesh: a spinful system takes one mesh per sector ({len(self.sectors)}), "
                             f"got {type(mesh).__name__}")
        return tuple(mesh)

    def modes(self, mesh) -> tuple[ModeArrays, ...]:
        """ModeArrays of every sector on its own mesh (``mesh``: one per sector)."""
        return tuple(s.modes(m) for s, m in zip(self.sectors, self.meshes(mesh)))
