"""Routes to the pair susceptibility matrix chi_ab(z), as objects in one registry.

Every route computes its own chi (nothing is borrowed from another route) through the same
interface, so one stability pipeline serves them all and one parametrised test holds each to
the same oracles:

==============  =====================================================================  ========
route           chi_ab(z) per sample                                                   z
==============  =====================================================================  ========
``paper``       the paper's Eq. (9) structure: the Born-Markov response without the    complex
                Rabi dressing of the pair propagator (populations of Eqs. 10-11); at
                z = 0 its real part is the kernel F of Eq. (13), which the paper
                criterion of this route uses exactly
``born_markov`` the exact linearised Lyapunov equation (frozen occupations, spec §4)    complex
``keldysh``     the exact Keldysh linear response (true bath Fermi functions) as a      complex
                closed-form pole sum (:class:`keldysh.response.PoleResponse`)
``quadrature``  the same Keldysh response by adapted frequency quadrature (the oracle   complex
                of ``keldysh``; slow)
``poles``       Richardson-extrapolated finite-Δ differences of the exact pole sum of   real
                rho in the frame rotating at ν (independent of the linear-response
                formula; slow)
==============  =====================================================================  ========

A :class:`ChiEvaluator` binds a route to a system and a mesh: it builds the samples of this
rank once (fixed blocks of :data:`BLOCK` samples in the global mesh order, whole blocks per
rank), and returns chi(z) for arrays of z as the block sums gathered and added in block order
— the same bits on every rank and for every number of ranks, so the adaptive decisions of the
stability pipeline are rank-count independent.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from keldysh.greens import response_grids, rho_pole_sum
from keldysh.nambu import DrivenSystem, ModeArrays, SpinfulSystem, nambu_chemical_potentials
from keldysh.response import PoleResponse, pair_response_matrix_quadrature
from solvers import born_markov
from solvers.parallel import rank_of, size_of

__all__ = ["Route", "ROUTES", "get_route", "ChiEvaluator", "BLOCK", "block_size", "pair_susceptibility", "route_samples"]

#: samples per block of the deterministic k sum: ~n/64, between MIN_BLOCK and BLOCK (a function
#: of the mesh size only, so the block sums do not depend on the number of ranks)
BLOCK = 2048
MIN_BLOCK = 16
#: a rank keeps its blocks (samples and per-block state) between calls while they take at most
#: CACHE_BYTES (estimated with BYTES_PER_SAMPLE of the route), else rebuilds them per call
CACHE_BYTES = 512 << 20
BYTES_PER_SAMPLE = {"paper": 700, "born_markov": 700, "keldysh": 2400, "quadrature": 400, "poles": 400}
#: (set to a number of samples to override the byte budget, e.g. in tests)
CACHE_SAMPLES = None


def _diag(cp, cm) -> np.ndarray:
    out = np.zeros(cp.shape + (2, 2), complex)
    out[..., 0, 0] = cp
    out[..., 1, 1] = cm
    return out


@dataclass(frozen=True)
class Route:
    """One way of computing chi_ab(z).  ``complex_z``: Im z > 0 allowed (else real ν only)."""

    name: str
    description: str
    complex_z: bool
    approximations: tuple = ()

    def prepare(self, modes: ModeArrays, options: dict):
        """Per-block state reused for every z (e.g. the Born-Markov normal state)."""
        if self.name in ("paper", "born_markov"):
            return born_markov.PairResponseSums(modes, dressed=self.name == "born_markov")
        if self.name == "keldysh":
            return PoleResponse(modes.hamiltonian(), modes.gamma,
                                nambu_chemical_potentials(modes.bath_mu), modes.temperature)
        return None

    def block_sum(self, modes: ModeArrays, state, z_values: np.ndarray, options: dict) -> np.ndarray:
        """Σ_k weight_k chi_ab,k(z) over one block, (n_z, 2, 2)."""
        w = modes.weight
        out = np.empty((z_values.size, 2, 2), complex)
        if self.name == "keldysh":
            return state.weighted_sum(z_values, w)
        if self.name in ("paper", "born_markov"):
            return state(z_values)
        for i, z in enumerate(z_values):
            out[i] = np.sum(w[:, None, None] * self.samples(modes, state, complex(z), options), axis=0)
        return out

    def samples(self, modes: ModeArrays, state, z: complex, options: dict) -> np.ndarray:
        """chi_ab,k(z) per sample, (n_k, 2, 2)."""
        if not self.complex_z and z.imag != 0:
            raise ValueError(f"z: the {self.name} route needs a real frequency, got {z!r}")
        if z.imag < 0:
            raise ValueError(f"z: the retarded continuation needs Im z >= 0, got {z!r}")
        if self.name in ("paper", "born_markov"):
            return born_markov.pair_response_matrix(modes, z, dressed=self.name == "born_markov", rho0=state.rho0)
        m = nambu_chemical_potentials(modes.bath_mu)
        if self.name == "keldysh":
            return state.samples(z)
        if self.name == "quadrature":
            h = modes.hamiltonian()
            w, wt = response_grids(h, modes.gamma, m, modes.temperature, z, options.get("n_per_panel", 20))
            return pair_response_matrix_quadrature(h, modes.gamma, z, w, wt, m, modes.temperature)
        if self.name == "poles":
            return _finite_difference_response(modes, z.real)
        raise AssertionError(self.name)

    def static_kernel(self, modes: ModeArrays, state) -> np.ndarray:
        """chi_ab,k(0) per sample for the paper criterion: Eq. (13) itself for ``paper``."""
        if self.name == "paper":
            F = born_markov.paper_kernel_samples(modes)
            return _diag(F[:, 0].astype(complex), F[:, 1].astype(complex))
        return self.samples(modes, state, 0j, {})


def _finite_difference_response(modes: ModeArrays, nu: float) -> np.ndarray:
    """chi_ab(ν) from rho at Δ = ±d, 2d: f(d) = (S(d) - S(0))/d = chi + c d² + O(d⁴) for the
    centred combination; Richardson (4 f(d) - f(2d))/3.  rho by the exact pole sum in the
    frame rotating at ν (spec §2: energies and bath chemical potentials shift by -ν/2)."""
    mn = nambu_chemical_potentials(modes.bath_mu, nu)
    d = 1e-3 * float(np.min(modes.gamma))
    out = np.empty((len(modes), 2, 2), complex)
    for b, (dp, dm) in enumerate(((1.0, 0.0), (0.0, 1.0))):
        f = []
        for step in (d, 2 * d):
            S = []
            for sgn in (1.0, -1.0):
                h = modes.hamiltonian(sgn * dp * step, sgn * dm * step, nu)  # both drive blocks
                rho = rho_pole_sum(h, modes.gamma, mn, modes.temperature)
                S.append(np.stack([rho[:, 1, 2], -rho[:, 0, 3]], axis=-1))
            f.append((S[0] - S[1]) / (2 * step))
        out[:, :, b] = (4 * f[0] - f[1]) / 3
    return out


ROUTES: dict[str, Route] = {r.name: r for r in (
    Route("paper", "Eq. (9) structure: undressed Born-Markov pair response; Eq. (13) at z = 0", True,
          ("frozen occupations (Born-Markov)", "no Rabi dressing of the pair propagator (paper Eq. 9)")),
    Route("born_markov", "exact Born-Markov (linearised Lyapunov equation)", True,
          ("frozen occupations (Born-Markov)",)),
    Route("keldysh", "exact Keldysh linear response, closed-form pole sum", True, ()),
    Route("quadrature", "Keldysh linear response by adapted frequency quadrature", True,
          ("frequency quadrature (n_per_panel points per panel)",)),
    Route("poles", "finite-difference pole-sum response in the rotating frame", False,
          ("finite differences in Delta (Richardson)",)),
)}


def get_route(name: str) -> Route:
    try:
        return ROUTES[name]
    except KeyError:
        raise ValueError(f"route: must be one of {tuple(ROUTES)}, got {name!r}") from None


class ChiEvaluator:
    """chi_ab(z) of one route on one system and mesh, reduced deterministically over ``comm``.

    Call with an array of z: returns (n_z, 2, 2).  ``n_z_evaluated`` counts the z values,
    ``seconds`` the time spent.

    A :class:`keldysh.nambu.SpinfulSystem` takes one mesh per sector (a tuple) and gives the
    sum of the sectors' chi (spec §9: a spin-independent interaction adds the pair sums),
    chi = chi^(1) + chi^(2) + ..., each sector its own evaluator (``sectors``) with its own
    deterministic block sums, added in the order of the sectors: the same bits on every
    rank and for every number of ranks.  ``sectors`` is None for a :class:`DrivenSystem`."""

    def __init__(self, route: str | Route, system: DrivenSystem | SpinfulSystem, mesh, comm=None, options=None):
        self.route = route if isinstance(route, Route) else get_route(route)
        self.system, self.mesh, self.comm = system, mesh, comm
        self.options = dict(options or {})
        self.n_z_evaluated = 0
        self.seconds = 0.0
        self.sectors = None
        if isinstance(system, SpinfulSystem):
            self.sectors = tuple(ChiEvaluator(self.route, s, m, comm, options)
                                 for s, m in zip(system.sectors, system.meshes(mesh)))
            return
        n = len(mesh)
        self.block = block = block_size(n)
        self.n_blocks = max(1, -(-n // block))
        # this rank's whole blocks of the global mesh order (block boundaries do not depend on
        # the number of ranks, so neither do the block sums)
        self.shard = mesh.shard(rank_of(comm), size_of(comm), block=block)
        self.first_block = _first_block(self.n_blocks, rank_of(comm), size_of(comm))
        m = len(self.shard)
        self._slices = [slice(i, min(m, i + block)) for i in range(0, m, block)]
        local = sum(sl.stop - sl.start for sl in self._slices)
        #: blocks (samples and per-block state) are kept between calls when this rank's share
        #: fits the cache budget (CACHE_BYTES), and rebuilt block by block on every call
        #: otherwise (bounded memory for very large meshes)
        limit = CACHE_SAMPLES if CACHE_SAMPLES is not None else CACHE_BYTES // BYTES_PER_SAMPLE[self.route.name]
        self.cached = local <= limit
        self._blocks = [self._build(sl) for sl in self._slices] if self.cached else None
        self.n_z_evaluated = 0
        self.seconds = 0.0

    def _build(self, sl):
        modes = self.system.modes(self.shard._subset(sl))
        return modes, (self.route.prepare(modes, self.options) if len(modes) else None)

    def _each_block(self):
        if self.cached:
            yield from self._blocks
        else:
            for sl in self._slices:
                yield self._build(sl)

    def _reduce(self, local: np.ndarray) -> np.ndarray:
        """local (n_local_blocks, ...) block sums -> the ordered sum over all blocks."""
        comm = self.comm
        if comm is None or comm.Get_size() == 1:
            allb = local
        else:
            counts = np.array(comm.allgather(local.shape[0]))
            shape = local.shape[1:]
            allb = np.empty((int(counts.sum()),) + shape, complex)
            per = int(np.prod(shape))
            comm.Allgatherv(np.ascontiguousarray(local), [allb, counts * per, np.concatenate([[0], np.cumsum(counts * per)[:-1]]), _mpi_complex()])
        out = np.zeros(allb.shape[1:], complex)
        for blk in allb:  # in global block order, the same on every rank
            out += blk
        return out

    def _sector_sum(self, method: str, *args) -> np.ndarray:
        """Σ_σ (sector σ's result), added in the order of the sectors."""
        t0 = time.perf_counter()
        out = getattr(self.sectors[0], method)(*args)
        for ev in self.sectors[1:]:
            out = out + getattr(ev, method)(*args)
        self.n_z_evaluated = self.sectors[0].n_z_evaluated
        self.seconds += time.perf_counter() - t0
        return out

    def __call__(self, z) -> np.ndarray:
        if self.sectors is not None:
            return self._sector_sum("__call__", z)
        t0 = time.perf_counter()
        zs = np.atleast_1d(np.asarray(z, dtype=complex))
        if zs.ndim != 1 or not np.all(np.isfinite(zs)):
            raise ValueError(f"z: must be finite, a scalar or 1-d (got shape {zs.shape})")
        if np.any(zs.imag < 0):
            raise ValueError(f"z: the retarded continuation needs Im z >= 0, got {zs[zs.imag < 0][0]!r}")
        if not self.route.complex_z and np.any(zs.imag != 0):
            raise ValueError(f"z: the {self.route.name} route needs a real frequency, got {zs[zs.imag != 0][0]!r}")
        local = np.zeros((len(self._slices), zs.size, 2, 2), complex)
        for i, (modes, state) in enumerate(self._each_block()):
            if len(modes):
                local[i] = self.route.block_sum(modes, state, zs, self.options)
                if not np.all(np.isfinite(local[i])):
                    raise FloatingPointError(
                        f"non-finite pair response ({self.route.name}) in block {self.first_block + i} "
                        f"at z in [{zs.min()!r}, {zs.max()!r}]")
        out = self._reduce(local)
        self.n_z_evaluated += zs.size
        self.seconds += time.perf_counter() - t0
        return out

    def static(self) -> np.ndarray:
        """chi_ab(0) for the paper criterion (Eq. 13 itself for the paper route), (2, 2)."""
        if self.sectors is not None:
            return self._sector_sum("static")
        local = np.zeros((len(self._slices), 2, 2), complex)
        for i, (modes, state) in enumerate(self._each_block()):
            if len(modes):
                local[i] = np.sum(modes.weight[:, None, None] * self.route.static_kernel(modes, state), axis=0)
        return self._reduce(local)


def block_size(n: int) -> int:
    """Samples per block for a mesh of ``n`` samples (see :data:`BLOCK`)."""
    return int(min(BLOCK, max(MIN_BLOCK, -(-n // 64))))


def _first_block(n_blocks: int, rank: int, size: int) -> int:
    """Index of the first block of ``rank`` (as :func:`keldysh.kmesh.shard_bounds` splits blocks)."""
    from keldysh.kmesh import shard_bounds

    return int(shard_bounds(n_blocks, size)[rank])


def _mpi_complex():
    from mpi4py import MPI

    return MPI.C_DOUBLE_COMPLEX


def route_samples(route: str, modes: ModeArrays, z=0.0, *, n_per_panel: int = 20) -> np.ndarray:
    """chi_ab,k(z) per sample of ``modes`` by one route, (M, 2, 2) (no weights, no MPI)."""
    r = get_route(route)
    options = {"n_per_panel": n_per_panel}
    return r.samples(modes, r.prepare(modes, options), complex(z), options)


def pair_susceptibility(system: DrivenSystem, mesh, route: str = "born_markov", z=0.0, *, comm=None,
                        n_per_panel: int = 20) -> np.ndarray:
    """chi_ab(z) = (1/N) Σ_{k∈K+} chi_ab,k(z) of one route: (2, 2) for a scalar z, (n_z, 2, 2)
    for an array (a, b ∈ (+, -); spec §6, §9); the sum over the sectors for a
    :class:`keldysh.nambu.SpinfulSystem` (``mesh``: one per sector).  For many calls on one mesh build a
    :class:`ChiEvaluator` once instead."""
    ev = ChiEvaluator(route, system, mesh, comm, {"n_per_panel": n_per_panel})
    out = ev(z)
    return out[0] if np.ndim(z) == 0 else out
