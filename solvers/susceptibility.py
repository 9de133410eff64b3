"""Complex pair susceptibilities chi_±(z) (spec §4, §6), summed over a k (or energy) mesh.

    chi_+(z) = (1/N) Σ_{k∈K+} ∂<c_-k1 c_k2>/∂Δ+,   chi_-(z) = (1/N) Σ_{k∈K+} ∂(-rho_03)/∂Δ-,

at Δ = 0 for a gap oscillating as Δ e^{-izt} (z = ν real: a steady state rotating at the
condensate frequency ν; Im z > 0: the analytic continuation that decides stability).

Routes (all return the same object, :class:`Susceptibility`):

* ``"paper"``  — the real kernels F_± of Eq. (13) with the populations of Eqs. (10)-(11)
  (z must be 0): what the paper's criterion uses.
* ``"born_markov"`` — the exact linearised Lyapunov equation (frozen occupations), with
  the Rabi dressing of the pair propagator (``dressed=False`` drops it: Eq. 9 structure).
* ``"keldysh"`` — δrho = ∫dω/2π [G^R(ω+z) δh P(ω) + P(ω) δh G^A(ω-z)] on adapted
  real-frequency grids, true bath Fermi functions (:func:`keldysh.greens.pair_response_quadrature`).
* ``"poles"`` — Richardson-extrapolated finite-Δ differences of the exact pole sum in the
  frame rotating at ν (real z only); an independent check of ``"keldysh"``.

MPI: the mesh is sharded over ``comm``, each rank sums its shard with the weights, and
:func:`solvers.parallel.allreduce_sum` combines them.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from keldysh.greens import pair_response_quadrature, response_grids, rho_pole_sum
from keldysh.nambu import DrivenSystem, ModeArrays, nambu_chemical_potentials, nambu_hamiltonian
from solvers import born_markov
from solvers.parallel import allreduce_sum, rank_of, shard_of, size_of

__all__ = ["ROUTES", "Susceptibility", "pair_susceptibility", "samples_response"]

ROUTES = ("paper", "born_markov", "keldysh", "poles")


@dataclass(frozen=True)
class Susceptibility:
    """chi_± at frequency z from one route; ``per_sample`` only when requested (local shard)."""

    chi_plus: complex
    chi_minus: complex
    z: complex
    route: str
    dressed: bool
    n_samples: int
    seconds: float
    options: dict = field(default_factory=dict)

    @property
    def F_plus(self) -> float:
        """Re chi_+ (the paper's F_+ when the route is 'paper')."""
        return float(np.real(self.chi_plus))

    @property
    def F_minus(self) -> float:
        return float(np.real(self.chi_minus))


def samples_response(modes: ModeArrays, route: str, z=0.0, *, dressed: bool = True,
                     n_per_panel: int = 20, rho0=None) -> np.ndarray:
    """Per-sample (chi_+, chi_-) of one shard, shape (M, 2) complex (no weights).

    ``rho0``: the Born-Markov normal state of ``modes`` if already known (reused across z)."""
    z = complex(z)
    if route == "paper":
        if z != 0:
            raise ValueError("z: the paper route (Eq. 13) is defined at z = 0 only")
        return born_markov.paper_kernel_samples(modes).astype(complex)
    if route == "born_markov":
        cp, cm = born_markov.pair_response(modes, z, dressed=dressed, rho0=rho0)
        return np.stack([cp, cm], axis=-1)
    if not dressed:
        raise ValueError("dressed: only the born_markov route can drop the Rabi dressing")
    m = nambu_chemical_potentials(modes.bath_mu)
    T = modes.temperature
    if route == "keldysh":
        if z.imag < 0:
            raise ValueError("z: the Keldysh route needs Im z >= 0 (retarded continuation)")
        h = modes.hamiltonian()
        w, wt = response_grids(h, modes.gamma, m, T, z, n_per_panel)
        return pair_response_quadrature(h, modes.gamma, z, w, wt, m, T)
    if route == "poles":
        if z.imag != 0:
            raise ValueError("z: the poles route needs a real frequency")
        nu = z.real
        mn = nambu_chemical_potentials(modes.bath_mu, nu)
        d = 1e-3 * float(np.min(modes.gamma))
        out = np.empty((len(modes), 2), complex)
        for col, (dp, dm) in enumerate(((1.0, 0.0), (0.0, 1.0))):
            f = []
            for step in (d, 2 * d):
                h = nambu_hamiltonian(modes.xi, modes.rabi, dp * step, dm * step, nu)
                rho = rho_pole_sum(h, modes.gamma, mn, T)
                f.append((rho[:, 1, 2] if col == 0 else -rho[:, 0, 3]) / step)
            out[:, col] = (4 * f[0] - f[1]) / 3  # f(d) = chi + c d² + O(d⁴)
        return out
    raise ValueError(f"route: must be one of {ROUTES}, got {route!r}")


#: samples per chunk of a shard: bounds the memory of a k sum (≈ 100 MB per chunk)
CHUNK = 1 << 16
_CACHE: list = []  # [(system, mesh, rank, size, chunk, modes, rho0)], most recent first


def _chunks(system, mesh, comm, need_rho0: bool):
    """Yield this rank's (ModeArrays, BM normal state) chunk by chunk, memoised by identity
    of (system, mesh) so that scans over z do not rebuild them (small meshes only)."""
    rank, size = rank_of(comm), size_of(comm)
    shard = shard_of(mesh, comm)
    n = len(shard)
    for ic, start in enumerate(range(0, max(n, 1), CHUNK)):
        hit = None
        for entry in _CACHE:
            if entry[0] is system and entry[1] is mesh and entry[2:5] == [rank, size, ic]:
                hit = entry
                break
        if hit is None:
            part = shard if n <= CHUNK else shard._subset(slice(start, start + CHUNK))
            hit = [system, mesh, rank, size, ic, system.modes(part), None]
            if n <= CHUNK:  # cache only meshes that fit in one chunk
                _CACHE.insert(0, hit)
                del _CACHE[4:]
        if need_rho0 and hit[6] is None and len(hit[5]):
            hit[6] = born_markov.normal_state(hit[5])
        yield hit[5], hit[6]


def pair_susceptibility(system: DrivenSystem, mesh, *, route: str = "born_markov", z=0.0,
                        comm=None, dressed: bool = True, n_per_panel: int = 20) -> Susceptibility:
    """chi_±(z) = (1/N) Σ_{k∈K+} (per-sample responses), reduced over the ranks of ``comm``.

    ``mesh``: a :class:`keldysh.kmesh.KMesh` or :class:`keldysh.kmesh.EnergyMesh`
    (the latter for the valley pattern: exact-DOS energy integral)."""
    if route not in ROUTES:
        raise ValueError(f"route: must be one of {ROUTES}, got {route!r}")
    t0 = time.perf_counter()
    local = np.zeros(2, complex)
    for modes, rho0 in _chunks(system, mesh, comm, route == "born_markov"):
        if not len(modes):
            continue
        resp = samples_response(modes, route, z, dressed=dressed, n_per_panel=n_per_panel, rho0=rho0)
        if not np.all(np.isfinite(resp)):
            bad = int(np.nonzero(~np.all(np.isfinite(resp), axis=1))[0][0])
            raise FloatingPointError(
                f"non-finite pair response ({route}) at sample e_k = {float(modes.energy[bad])!r}, "
                f"Omega_k = {float(modes.rabi[bad])!r}, gamma = {modes.gamma[bad].tolist()}, "
                f"z = {complex(z)!r}, route {route!r}")
        local += modes.weight @ resp
    total = allreduce_sum(local, comm)
    return Susceptibility(complex(total[0]), complex(total[1]), complex(z), route, dressed,
                          len(mesh), time.perf_counter() - t0,
                          {"n_per_panel": n_per_panel})
