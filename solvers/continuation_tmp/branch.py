"""The superconducting state under coherent drive: branches of the gap equation by continuation,
their stability and their bifurcation type (spec §6; §9 for the whole-zone drive).

**Branches.**  The unknowns of the nonlinear steady state are Δ+, Δ- (complex, the global U(1)
phase fixed by making a reference component real and positive) and the condensate frequency ν;
the equations (Eqs. 8, 12)::

    F(Δ, ν; V) = Δ - M(V, V') S(Δ, ν) = 0,   M = [[V, V'], [V'*, V]],

with S = (S+, S-) the pair sums of :func:`solvers.gap.pair_sums` in the frame rotating at ν
(route "born_markov": the Lyapunov steady state; "keldysh": the exact pole sum).  A branch
starts at a bifurcation point of the full criterion (:func:`locate_bifurcation`: a root
(V_c, ν_c) of D = det[1 - M chi(ν_c)] = 0, the emerging state rotates at ν_c), seeded along the
null vector n of 1 - M chi(ν_c) at a small amplitude a0 (first point: the amplitude fixed,
(Δ-, ν, V) solved), and is followed by pseudo-arclength continuation in (a, Δ_other, ν, p),
p the continuation parameter (V; or Ω, ω0 at fixed V), with step control
(:func:`continue_branch`).  Near onset a supercritical branch enters the unstable side of
the normal state with |Δ|² ∝ |V - V_c|; a subcritical one enters the stable side and turns
back at a fold (then both sides of the fold are on the branch, and the normal state and the
state beyond the fold coexist: hysteresis) (:func:`classify`).

**Stability** (Born-Markov, :class:`Linearisation`).  Around a steady state (Δ*, ν), in the
frame rotating at ν, every block obeys d rho/dt = A rho + rho A† + 2Γn - i[δh, rho] with
A = -ih(Δ*, ν) - Γ; linearised, δrho' = D δrho + U c, D X = A X + X A†,
U c = -i[δh(c), rho*], where c = (δΔ+, δΔ-, δΔ+*, δΔ-*) (the conjugates are independent
unknowns of the complexified problem, whose spectrum is that of the real one) and
c = M_4 R δrho, M_4 = diag(M, M*), R reading (S+, S-, S+*, S-*) = Σ w (rho_12, -rho_03,
rho_21, -rho_30).  Eigenvalues λ outside the spectrum of D (Re ≤ -2 min Γ: every a_i + a_j*,
a_i the eigenvalues of A) solve the Evans function

    E(λ) = det[1 - K(λ)],   K(λ) = M_4 Σ_k w_k R_k (λ - D_k)^{-1} U_k,   (4 x 4).

With A_k = Q diag(a) Q^{-1}, (λ - D_k)^{-1} is diagonal in the basis Q E_il Q†, so K is a sum of
simple poles d = a_i + a_l* with 4x4 residues (:meth:`Linearisation.evans_matrix`); its direct
form by 16x16 Sylvester solves is :meth:`Linearisation.evans_matrix_direct` (the twin) and the
full 16M x 16M matrix :meth:`Linearisation.dense_matrix` (the oracle for small meshes).  The
number of eigenvalues with Re λ > -σ is the winding number of E along Re λ = -σ
(σ < 2 min Γ), on a line sampled finely enough that no winding is missed: a segment is
accepted only when the bound Σ_p |res_p| h / dist_p² on the change of K along it is below
half the smallest singular value of 1 - K at its start (then the phase of E changes by less
than 2π/3 along it).  The eigenvalues are located by Newton's method on E with deflation
(:func:`stability_spectrum`).  The Goldstone mode of the global phase (λ = 0 exactly, null vector
c ∝ (iΔ+, iΔ-, -iΔ+*, -iΔ-*) = the phase rotation δrho = i[Q, rho*], Q = diag(1, 1, -1, -1))
is identified by that property — the overlap of its null vector with the phase rotation —
and excluded from the growth rate; never by its position in a list.

The Keldysh route has no Born-Markov linearisation: its branches carry no stability
(status "not available", NaN); the Born-Markov mean-field time integration
(:func:`solvers.dynamics.integrate`) from a finite seed is the independent check of a stable
Born-Markov branch (:func:`integration_check`).

MPI: every k sum (pair sums, chi, K and its bounds) is a sum of block sums over fixed blocks
of the global mesh order (:class:`BlockSum`, the blocks of
:class:`solvers.stability.ChiEvaluator`), each rank computing its own whole blocks, gathered
and added in block order: the same bits on every rank and for every number of ranks, so the
continuation takes the same steps serially and under MPI.  The time integration is run by
every rank on the whole mesh (no communication, the same numbers).
"""
from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field

import numpy as np

from keldysh.lyapunov import lyapunov_steady_state, solve_sylvester
from keldysh.nambu import DrivenSystem, nambu_occupations
from solvers.dynamics import coupling_matrix, integrate
from solvers.gap import GAP_ROUTES, pair_sums
from solvers.parallel import rank_of, size_of

__all__ = [
    "GENERATORS", "BlockSum", "block_pair_sums", "Linearisation", "Spectrum", "StabilityOptions", "stability_spectrum",
    "Bifurcation", "locate_bifurcation", "ContinuationOptions", "BranchPoint", "Branch",
    "continue_branch", "classify", "IntegrationCheck", "integration_check", "GapMap",
    "GapMapOptions", "gap_map", "branch_from_tree", "gap_map_from_tree",
]

log = logging.getLogger(__name__)

#: the perturbation δh of the complexified linearisation: (row, column) and sign of the entry of
#: h that carries c_j, c = (δΔ+, δΔ-, δΔ+*, δΔ-*) (spec §3: h[1,2] = Δ+, h[0,3] = -Δ-, and the
#: Hermitian partners); the same entries of rho read (S+, S-, S+*, S-*)
GENERATORS = (((1, 2), 1.0), ((0, 3), -1.0), ((2, 1), 1.0), ((3, 0), -1.0))
_Q = np.diag([1.0, 1.0, -1.0, -1.0])
_EYE4 = np.eye(4)


def _coupling4(V: float, Vprime: complex) -> np.ndarray:
    """M_4 = diag(M, M*) acting on (S+, S-, S+*, S-*)."""
    M = coupling_matrix(V, Vprime)
    out = np.zeros((4, 4), complex)
    out[:2, :2] = M
    out[2:, 2:] = np.conj(M)
    return out


def _sources(rho: np.ndarray) -> np.ndarray:
    """U_k[:, :, j] = -i [G_j, rho_k] for the generators of :data:`GENERATORS`, (M, 4, 4, 4)."""
    out = np.zeros(rho.shape + (4,), complex)
    for j, ((p, q), s) in enumerate(GENERATORS):
        G = np.zeros((4, 4))
        G[p, q] = s
        out[..., j] = -1j * (G @ rho - rho @ G)
    return out


# ------------------------------------------------------------------------------------------
# deterministic k sums
class BlockSum:
    """Fixed blocks of the global mesh order (:func:`solvers.stability.routes.block_size`), whole
    blocks per rank: ``meshes`` this rank's block meshes, ``slices`` their samples within the
    rank's shard, :meth:`reduce` the sum over all blocks in block order (the same bits on every
    rank and for every number of ranks)."""

    def __init__(self, mesh, comm=None):
        from solvers.stability.routes import block_size

        self.comm = comm
        self.block = block = block_size(len(mesh))
        self.shard = mesh.shard(rank_of(comm), size_of(comm), block=block)
        m = len(self.shard)
        self.slices = [slice(i, min(m, i + block)) for i in range(0, m, block)]
        self.meshes = [self.shard._subset(sl) for sl in self.slices]

    def reduce(self, local) -> np.ndarray:
        """``local`` (n_local_blocks, ...) -> the ordered sum over every rank's blocks."""
        local = np.asarray(local)
        cplx = np.iscomplexobj(local)
        local = np.ascontiguousarray(local, dtype=complex)
        comm = self.comm
        if comm is None or comm.Get_size() == 1:
            allb = local
        else:
            from mpi4py import MPI

            counts = np.array(comm.allgather(local.shape[0]))
            per = int(np.prod(local.shape[1:]))
            allb = np.empty((int(counts.sum()),) + local.shape[1:], complex)
            displs = np.concatenate([[0], np.cumsum(counts * per)[:-1]])
            comm.Allgatherv(local, [allb, counts * per, displs, MPI.C_DOUBLE_COMPLEX])
        out = np.zeros(local.shape[1:], complex)
        for blk in allb:
            out += blk
        return out if cplx else out.real

    def max(self, x: float) -> float:
        if self.comm is None or self.comm.Get_size() == 1:
            return float(x)
        return float(np.max(self.comm.allgather(float(x))))


def block_pair_sums(blocks: BlockSum, system: DrivenSystem, delta_plus, delta_minus, nu,
                    route: str = "born_markov") -> np.ndarray:
    """(S+, S-) of :func:`solvers.gap.pair_sums` summed block by block in the global block
    order (:class:`BlockSum`)."""
    local = np.zeros((len(blocks.meshes), 2), complex)
    for i, m in enumerate(blocks.meshes):
        if len(m):
            local[i] = pair_sums(system, m, delta_plus, delta_minus, nu, route, None)
    return blocks.reduce(local)


# ------------------------------------------------------------------------------------------
# the linearisation around a steady state
class Linearisation:
    """The Born-Markov dynamics linearised around the steady state (Δ+, Δ-) in the frame
    rotating at ν, for this rank's shard of ``mesh`` (module docstring).

    ``evans_matrix(λ)``: K(λ) (n, 4, 4) by its pole-residue form, reduced over ``comm``;
    ``evans(λ)``: det[1 - K(λ)]; ``goldstone_vector``: the phase rotation in c-space."""

    def __init__(self, system: DrivenSystem, mesh, V: float, Vprime: complex, delta_plus, delta_minus,
                 nu: float, comm=None):
        self.system, self.comm = system, comm
        self.V, self.Vprime = float(V), complex(Vprime)
        self.delta_plus, self.delta_minus, self.nu = complex(delta_plus), complex(delta_minus), float(nu)
        self.blocks = blocks = BlockSum(mesh, comm)
        self.modes = modes = system.modes(blocks.shard)
        self.M4 = _coupling4(V, Vprime)
        self.gamma_min = float(np.min(system.baths.gamma))
        n = len(modes)
        if n:
            h = modes.hamiltonian(delta_plus, delta_minus, nu)
            self.rho = lyapunov_steady_state(h, modes.gamma, nambu_occupations(modes.occupation))
            self.A = -1j * h - modes.gamma[:, :, None] * _EYE4
            self.U = _sources(self.rho)
            a, Qv = np.linalg.eig(self.A)
            Qi = np.linalg.inv(Qv)
            # U~ = Q^-1 U Q^-†, column by column; readout of X = Q X~ Q†: X[p, q] = Q[p, i] X~_il Q*[q, l]
            Ut = np.einsum("kia,kabj,klb->kilj", Qi, self.U, np.conj(Qi))
            Cr = np.stack([s * np.einsum("ki,kl->kil", Qv[:, p, :], np.conj(Qv[:, q, :]))
                           for (p, q), s in GENERATORS], axis=1)  # (M, 4, i, l)
            res = np.einsum("k,kril,kilj->kilrj", modes.weight, Cr, Ut).reshape(n * 16, 4, 4)
            poles = (a[:, :, None] + np.conj(a[:, None, :])).reshape(n * 16)
            residues = np.einsum("rs,psj->prj", self.M4, res).reshape(n * 16, 16)
            self.cond = blocks.max(float(np.max(np.linalg.cond(Qv))))
        else:
            self.rho = np.zeros((0, 4, 4), complex)
            self.A = np.zeros((0, 4, 4), complex)
            self.U = np.zeros((0, 4, 4, 4), complex)
            poles = np.zeros(0, complex)
            residues = np.zeros((0, 16), complex)
            self.cond = blocks.max(1.0)
        norms = np.linalg.norm(residues.reshape(-1, 4, 4), ord=2, axis=(1, 2)) if n else np.zeros(0)
        #: per block of this rank: (poles, residues (P, 16), ||residue||_2)
        self._pole_blocks = [(poles[16 * sl.start:16 * sl.stop], residues[16 * sl.start:16 * sl.stop],
                              norms[16 * sl.start:16 * sl.stop]) for sl in blocks.slices]
        self.poles = poles
        self.residue_norm_sum = float(blocks.reduce(np.array([[b[2].sum()] for b in self._pole_blocks]
                                                            ).reshape(-1, 1))[0])
        self.pole_im_max = blocks.max(np.abs(poles.imag).max() if n else 0.0)
        self.pole_re_max = blocks.max(poles.real.max() if n else -np.inf)
        self.n_samples = int(round(blocks.reduce(np.array([[float(sl.stop - sl.start)] for sl in blocks.slices]
                                                         ).reshape(-1, 1))[0]))

    # -- K(λ) ---------------------------------------------------------------------------------
    def evans_matrix(self, lam, derivative: bool = False, chunk: int = 256):
        """K(λ) (n, 4, 4) for an array of λ (pole-residue form), and dK/dλ if ``derivative``."""
        lam = np.atleast_1d(np.asarray(lam, dtype=complex))
        nb = len(self._pole_blocks)
        K = np.zeros((nb, lam.size, 16), complex)
        dK = np.zeros((nb, lam.size, 16), complex) if derivative else None
        for b, (poles, residues, _) in enumerate(self._pole_blocks):
            for i in range(0, lam.size, chunk):
                r = 1.0 / (lam[i:i + chunk, None] - poles[None, :])
                K[b, i:i + chunk] = r @ residues
                if derivative:
                    dK[b, i:i + chunk] = -(r * r) @ residues
        K = self.blocks.reduce(K.reshape(nb, -1)).reshape(-1, 4, 4)
        if derivative:
            return K, self.blocks.reduce(dK.reshape(nb, -1)).reshape(-1, 4, 4)
        return K

    def evans_matrix_direct(self, lam: complex) -> np.ndarray:
        """K(λ) (4, 4) from 16x16 Sylvester solves (λ - D_k) X = U_k (the twin of
        :meth:`evans_matrix`): (A - λ/2) X + X (A† - λ/2) + U = 0."""
        lam = complex(lam)
        local = np.zeros((len(self.blocks.slices), 4, 4), complex)
        for b, sl in enumerate(self.blocks.slices):
            A = self.A[sl]
            Ah = A - 0.5 * lam * _EYE4
            Bh = np.conj(np.swapaxes(A, -1, -2)) - 0.5 * lam * _EYE4
            w = self.modes.weight[sl]
            for j in range(4):
                X = solve_sylvester(Ah, Bh, self.U[sl, ..., j])
                for r, ((p, q), s) in enumerate(GENERATORS):
                    local[b, r, j] = s * (w @ X[:, p, q])
        return self.M4 @ self.blocks.reduce(local)

    def evans(self, lam) -> np.ndarray:
        """E(λ) = det[1 - K(λ)] for an array of λ."""
        return np.linalg.det(_EYE4 - self.evans_matrix(lam))

    @property
    def goldstone_vector(self) -> np.ndarray:
        """c of the global phase rotation Δ -> e^{iθ}Δ: (iΔ+, iΔ-, -iΔ+*, -iΔ-*)."""
        dp, dm = self.delta_plus, self.delta_minus
        return np.array([1j * dp, 1j * dm, -1j * np.conj(dp), -1j * np.conj(dm)])

    def residue_bound(self, lam0, lam1, chunk: int = 64) -> np.ndarray:
        """Upper bound of ||K(λ) - K(λ0)||_2 for λ on each segment [λ0, λ1] (arrays):
        Σ_p ||res_p|| |λ1 - λ0| / dist(d_p, segment)², reduced over ``comm``."""
        lam0 = np.atleast_1d(np.asarray(lam0, dtype=complex))
        lam1 = np.atleast_1d(np.asarray(lam1, dtype=complex))
        local = np.zeros((len(self._pole_blocks), lam0.size))
        for bi, (poles, _, norms) in enumerate(self._pole_blocks):
            for i in range(0, lam0.size, chunk):
                a, b = lam0[i:i + chunk, None], lam1[i:i + chunk, None]
                d = _segment_distance(poles[None, :], a, b)
                local[bi, i:i + chunk] = (norms[None, :] / np.maximum(d, 1e-300) ** 2).sum(axis=1) * np.abs(b - a)[:, 0]
        return self.blocks.reduce(local)

    def dense_matrix(self) -> np.ndarray:
        """The complexified linearised generator L (16M x 16M) on this rank's samples (serial
        meshes only; the oracle for small meshes): L = blockdiag(D_k) + U M_4 R, with
        vec row-major, D_k = A ⊗ 1 + 1 ⊗ A*."""
        if self.comm is not None and self.comm.Get_size() > 1:
            raise ValueError("dense_matrix: serial only (comm of size 1 or None)")
        m = len(self.modes)
        L = np.zeros((16 * m, 16 * m), complex)
        for k in range(m):
            L[16 * k:16 * k + 16, 16 * k:16 * k + 16] = np.kron(self.A[k], _EYE4) + np.kron(_EYE4, np.conj(self.A[k]))
        Ucol = self.U.reshape(m * 16, 4)  # (k, p, q) row-major, column j
        Rrow = np.zeros((4, 16 * m), complex)
        for r, ((p, q), s) in enumerate(GENERATORS):
            Rrow[r, 4 * p + q::16] = s * self.modes.weight
        return L + Ucol @ self.M4 @ Rrow

    def phase_rotation(self) -> np.ndarray:
        """vec(i[Q, rho*]) (16M,): the Goldstone eigenvector of :meth:`dense_matrix`."""
        return (1j * (_Q @ self.rho - self.rho @ _Q)).reshape(-1)


def _segment_distance(points, a, b) -> np.ndarray:
    """Distance of ``points`` to the segments [a, b] of the complex plane (broadcasting)."""
    ab = b - a
    L2 = np.maximum(np.abs(ab) ** 2, 1e-300)
    t = np.clip(((points - a) * np.conj(ab)).real / L2, 0.0, 1.0)
    return np.abs(points - (a + t * ab))


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


# ------------------------------------------------------------------------------------------
# bifurcation points
@dataclass(frozen=True)
class Bifurcation:
    """A bifurcation point of the normal state on the continuation's own mesh.

    (V_c, ν_c) solves D = det[1 - M(V_c, V') chi(ν_c)] = 0 for the route's chi (Newton from the
    full criterion's boundary ``V_criterion``, ``nu_criterion``); ``null_vector`` n (unit norm,
    its larger component real positive) spans the kernel of 1 - M chi(ν_c): the gap of the
    emerging state is Δ ∝ n e^{-iν_c t}.  ``jump``: the change of the number of growing modes
    of the normal state going up in V (full criterion); ``side`` = sign(jump): the unstable
    side (+1: V > V_c).  ``residual``: |D| at the root."""

    V_c: float
    nu_c: float
    null_vector: tuple
    jump: int
    side: int
    V_criterion: float
    nu_criterion: float
    residual: float
    route: str
    status: str = "ok"


def _chi_at(ev, nu: float) -> np.ndarray:
    return ev(np.array([nu], dtype=complex))[0]


def locate_bifurcation(system: DrivenSystem, mesh, Vprime: complex, V0: float, nu0: float, jump: int,
                       route: str = "born_markov", comm=None, tol: float = 1e-12,
                       max_iter: int = 40) -> Bifurcation:
    """(V_c, ν_c) with det[1 - M chi(ν_c)] = 0 near (V0, ν0) on ``mesh`` (see
    :class:`Bifurcation`): Newton's method in the two real unknowns, ∂D/∂V from the quadratic
    form of :func:`solvers.stability.determinant.quadratic_coefficients`, ∂D/∂ν by a centred
    difference of chi (step 1e-3 min Γ)."""
    from solvers.stability import ChiEvaluator
    from solvers.stability.determinant import determinant, quadratic_coefficients

    ev = ChiEvaluator(route, system, mesh, comm)
    h = 1e-3 * float(np.min(system.baths.gamma))
    V, nu = float(V0), float(nu0)
    status = "ok"
    D = np.inf
    for _ in range(max_iter):
        chi = ev(np.array([nu, nu + h, nu - h], dtype=complex))
        D = complex(determinant(V, Vprime, chi[0]))
        a, b, _c = quadratic_coefficients(chi[0], Vprime)
        dV = complex(2 * a * V + b)
        dnu = complex((determinant(V, Vprime, chi[1]) - determinant(V, Vprime, chi[2])) / (2 * h))
        J = np.array([[dV.real, dnu.real], [dV.imag, dnu.imag]])
        step = np.linalg.solve(J, -np.array([D.real, D.imag]))
        V, nu = V + step[0], nu + step[1]
        if abs(step[0]) < tol * max(1.0, abs(V)) and abs(step[1]) < 1e-6 * h:
            break
    else:
        status = f"Newton did not converge in {max_iter} iterations"
    chi = _chi_at(ev, nu)
    D = complex(determinant(V, Vprime, chi))
    A = _EYE4[:2, :2] - coupling_matrix(V, Vprime) @ chi
    cands = [np.array([A[0, 1], -A[0, 0]]), np.array([A[1, 1], -A[1, 0]])]
    n = cands[0] if np.linalg.norm(cands[0]) >= np.linalg.norm(cands[1]) else cands[1]
    n = n / np.linalg.norm(n)
    ref = 0 if abs(n[0]) >= abs(n[1]) else 1
    n = n * np.exp(-1j * np.angle(n[ref]))
    if abs(D) > 1e-8:
        status = f"|D| = {abs(D):.2e} at the root" if status == "ok" else status
    return Bifurcation(float(V), float(nu), (complex(n[0]), complex(n[1])), int(jump), int(np.sign(jump)),
                       float(V0), float(nu0), float(abs(D)), route, status)


# ------------------------------------------------------------------------------------------
# continuation
@dataclass(frozen=True)
class ContinuationOptions:
    """Options of :func:`continue_branch`.

    ``parameter``: "V" (at fixed V'), "Omega" or "omega0" (at fixed V, V'); the branch is
    followed while the parameter stays in [``p_min``, ``p_max``].  Unknowns are scaled by
    ``amplitude_scale`` (Δ; default Γ1 + Γ2), min Γ (ν) and ``parameter_scale`` (default t for
    V and ω0, Γ1 + Γ2 for Ω).  ``a0``: the first amplitude (units of amplitude_scale);
    ``ds``, ``ds_min``, ``ds_max``: arclength steps (scaled units); ``max_points``;
    ``tol``: the relative residual |Δ - M S| / |Δ| accepted; ``max_newton``: corrector
    iterations; ``onset_amplitudes``: amplitudes (units of amplitude_scale) of the extra
    fixed-amplitude points near onset for the fit of |Δ|² against |p - p_c|;
    ``stability``: compute the spectrum of every point (Born-Markov route only)."""

    parameter: str = "V"
    p_min: float = -np.inf
    p_max: float = np.inf
    amplitude_scale: float | None = None
    parameter_scale: float | None = None
    a0: float = 0.05
    ds: float = 0.1
    ds_min: float = 1e-4
    ds_max: float = 1.0
    max_points: int = 200
    tol: float = 1e-10
    max_newton: int = 12
    onset_amplitudes: tuple = (0.01, 0.014, 0.02, 0.028, 0.04, 0.056, 0.08)
    stability: bool = True
    stability_options: StabilityOptions = StabilityOptions()

    def __post_init__(self):
        if self.parameter not in ("V", "Omega", "omega0"):
            raise ValueError(f"parameter: must be 'V', 'Omega' or 'omega0', got {self.parameter!r}")


@dataclass(frozen=True)
class BranchPoint:
    """One solution on a branch: the parameter ``p`` (and V), Δ±, ν, the relative residual,
    the corrector iterations, and its stability (NaN / -1 where not computed)."""

    p: float
    V: float
    delta_plus: complex
    delta_minus: complex
    nu: float
    residual: float
    iterations: int
    tangent_p: float = float("nan")
    spectrum: Spectrum | None = None

    @property
    def amplitude(self) -> float:
        return float(np.hypot(abs(self.delta_plus), abs(self.delta_minus)))


@dataclass
class Branch:
    """A branch of nonzero solutions (see :func:`continue_branch`, :func:`classify`).

    ``points`` in continuation order; ``onset``: the fixed-amplitude points near the
    bifurcation used for the fit; ``folds``: parameter values where the branch turns back
    (p extremal along the arclength); ``kind``: "supercritical" (enters the unstable side of the
    normal state), "subcritical" (enters the stable side), or "" when unknown; ``exponent``:
    β of |Δ|² ∝ |p - p_c|^β fitted on the onset points, with ``exponent_error`` (the change
    when the three largest onset amplitudes are left out); ``termination``: why the
    continuation stopped; ``checks``: the time-integration checks."""

    branch_id: int
    route: str
    parameter: str
    bifurcation: Bifurcation | None
    points: list = field(default_factory=list)
    onset: list = field(default_factory=list)
    folds: list = field(default_factory=list)
    kind: str = ""
    exponent: float = float("nan")
    exponent_error: float = float("nan")
    termination: str = ""
    status: str = "ok"
    checks: list = field(default_factory=list)
    approximations: tuple = ()
    seconds: float = 0.0
    history: dict = field(default_factory=dict)


class _GapProblem:
    """F(x) of the gap equation in scaled unknowns x = (a, Re b, Im b, ν/s_ν, p/s_p): the
    reference component Δ_ref = a s_Δ (real), the other Δ_other = b s_Δ."""

    def __init__(self, system, mesh, V, Vprime, route, comm, opts: ContinuationOptions, ref: int):
        self.system, self.mesh, self.V, self.Vprime = system, mesh, float(V), complex(Vprime)
        self.route, self.comm, self.opts, self.ref = route, comm, opts, ref
        self.blocks = BlockSum(mesh, comm)
        G = float(np.sum(system.baths.gamma[0]))
        self.s_d = opts.amplitude_scale or G
        self.s_nu = float(np.min(system.baths.gamma))
        default_p = {"V": system.model.t, "omega0": system.model.t, "Omega": G}[opts.parameter]
        self.s_p = opts.parameter_scale or default_p
        self.n_eval = 0

    def system_at(self, p):
        if self.opts.parameter == "Omega":
            return dataclasses.replace(self.system, Omega=float(p))
        if self.opts.parameter == "omega0":
            return dataclasses.replace(self.system, omega0=float(p))
        return self.system

    def unpack(self, x):
        ref = complex(x[0] * self.s_d)
        other = complex(x[1] * self.s_d, x[2] * self.s_d)
        dp, dm = (ref, other) if self.ref == 0 else (other, ref)
        p = x[4] * self.s_p
        V = p if self.opts.parameter == "V" else self.V
        return dp, dm, x[3] * self.s_nu, p, V

    def pack(self, dp, dm, nu, p):
        ref, other = (dp, dm) if self.ref == 0 else (dm, dp)
        phase = np.exp(-1j * np.angle(ref)) if ref != 0 else 1.0
        ref, other = abs(ref), other * phase
        return np.array([ref / self.s_d, other.real / self.s_d, other.imag / self.s_d, nu / self.s_nu, p / self.s_p])

    def F(self, x) -> np.ndarray:
        dp, dm, nu, p, V = self.unpack(x)
        S = block_pair_sums(self.blocks, self.system_at(p), dp, dm, nu, self.route)
        r = (np.array([dp, dm]) - coupling_matrix(V, self.Vprime) @ S) / self.s_d
        self.n_eval += 1
        return np.array([r[0].real, r[0].imag, r[1].real, r[1].imag])

    def jacobian(self, x, f0=None) -> np.ndarray:
        f0 = self.F(x) if f0 is None else f0
        J = np.empty((4, 5))
        for i in range(5):
            h = 1e-7 * max(1.0, abs(x[i]))
            xp = x.copy()
            xp[i] += h
            J[:, i] = (self.F(xp) - f0) / h
        return J

    def relative_residual(self, x) -> float:
        dp, dm, *_ = self.unpack(x)
        size = np.hypot(abs(dp), abs(dm)) / self.s_d
        return float(np.linalg.norm(self.F(x)) / max(size, 1e-300))


def _tangent(J: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Unit null vector of the 4 x 5 Jacobian, oriented along ``previous``."""
    A = np.vstack([J, previous])
    t = np.linalg.solve(A, np.array([0.0, 0, 0, 0, 1.0]))
    t /= np.linalg.norm(t)
    return t if t @ previous >= 0 else -t


def _correct(prob: _GapProblem, x0: np.ndarray, row: np.ndarray, target: float, opts: ContinuationOptions):
    """Newton on [F(x); row·x - target] = 0 from x0; (x, iterations, converged)."""
    x = x0.copy()
    for it in range(1, opts.max_newton + 1):
        f = prob.F(x)
        J = prob.jacobian(x, f)
        G = np.concatenate([f, [row @ x - target]])
        try:
            dx = np.linalg.solve(np.vstack([J, row]), -G)
        except np.linalg.LinAlgError:
            return x, it, False
        x = x + dx
        if np.linalg.norm(dx) < 1e-11 * max(1.0, np.linalg.norm(x)):
            break
    res = prob.relative_residual(x)
    return x, it, bool(res < opts.tol and np.all(np.isfinite(x)))


def _point(prob: _GapProblem, x, it, tangent_p=float("nan")) -> BranchPoint:
    dp, dm, nu, p, V = prob.unpack(x)
    return BranchPoint(float(p), float(V), dp, dm, float(nu), prob.relative_residual(x), int(it), float(tangent_p))


def _fixed_amplitude(prob, x_guess, a, opts):
    """The solution with the reference amplitude fixed at ``a`` (scaled), from ``x_guess``."""
    row = np.array([1.0, 0, 0, 0, 0])
    x0 = x_guess.copy()
    x0[0] = a
    return _correct(prob, x0, row, a, opts)


def continue_branch(system: DrivenSystem, mesh, Vprime: complex, start, *, V: float | None = None,
                    route: str = "born_markov", options: ContinuationOptions = ContinuationOptions(),
                    comm=None, branch_id: int = 0) -> Branch:
    """Follow the branch of nonzero solutions of the gap equation from ``start`` (module
    docstring): a :class:`Bifurcation` (parameter "V": the branch emerges at V_c along its null
    vector) or a :class:`BranchPoint` (any parameter; ``V`` fixed for "Omega"/"omega0").

    Pseudo-arclength continuation: predictor x + ds t, corrector Newton on
    [F(x); t·(x - x_pred)] = 0 with a finite-difference Jacobian; ds grows by 1.5 after a
    corrector of <= 3 iterations, halves after a failure.  Stops when the parameter leaves
    [p_min, p_max] (with a last point at the limit), when the amplitude returns to zero (the
    branch ends on the normal state), after ``max_points``, or when ds < ds_min."""
    t0 = time.perf_counter()
    if route not in GAP_ROUTES:
        raise ValueError(f"route: must be one of {GAP_ROUTES}, got {route!r}")
    opts = options
    bif = start if isinstance(start, Bifurcation) else None
    if bif is not None and opts.parameter != "V":
        raise ValueError("a branch from a bifurcation point is continued in V (parameter = 'V')")
    if bif is not None:
        n = np.array(bif.null_vector)
        ref = 0 if abs(n[0]) >= abs(n[1]) else 1
    else:
        ref = 0 if abs(start.delta_plus) >= abs(start.delta_minus) else 1
    Vfix = V if V is not None else (start.V if bif is None else bif.V_c)
    prob = _GapProblem(system, mesh, Vfix, Vprime, route, comm, opts, ref)
    branch = Branch(branch_id, route, opts.parameter, bif,
                    approximations=("frozen occupations (Born-Markov)",) if route == "born_markov" else ())
    sopts = opts.stability_options
    with_stability = opts.stability and route == "born_markov"

    def stability(pt: BranchPoint, previous=()):
        if not with_stability:
            return pt
        lin = Linearisation(prob.system_at(pt.p), mesh, pt.V, Vprime, pt.delta_plus, pt.delta_minus, pt.nu, comm)
        return dataclasses.replace(pt, spectrum=stability_spectrum(lin, sopts, previous))

    def roots_of(pt):
        if pt.spectrum is None:
            return ()
        return tuple(pt.spectrum.eigenvalues) + ((pt.spectrum.goldstone,) if np.isfinite(pt.spectrum.goldstone) else ())

    # the first point
    if bif is not None:
        p_c = bif.V_c
        x_c = np.array([0.0, 0.0, 0.0, bif.nu_c / prob.s_nu, p_c / prob.s_p])
        ratio = n[1 - ref] / n[ref]
        guess = x_c + np.array([0.0, opts.a0 * ratio.real, opts.a0 * ratio.imag, 0, 0])
        x, it, ok = _fixed_amplitude(prob, guess, opts.a0, opts)
        if not ok:
            branch.status = branch.termination = "no solution at the first amplitude a0 (try a smaller a0)"
            branch.seconds = time.perf_counter() - t0
            return branch
        # onset points (fixed amplitudes) for the amplitude law
        xo = x.copy()
        for a in sorted(opts.onset_amplitudes):
            xo_new, it_o, ok_o = _fixed_amplitude(prob, xo, a, opts)
            if ok_o:
                xo = xo_new
                branch.onset.append(_point(prob, xo, it_o))
        previous_t = np.array([1.0, ratio.real, ratio.imag, 0.0, 0.0])
    else:
        x = prob.pack(start.delta_plus, start.delta_minus, start.nu, start.p)
        it = 0
        J = prob.jacobian(x)
        previous_t = _tangent(J, np.array([0, 0, 0, 0, 1.0]))
    J = prob.jacobian(x)
    t = _tangent(J, previous_t)
    pt = stability(_point(prob, x, it, t[4]))
    branch.points.append(pt)
    ds = opts.ds
    lo, hi = opts.p_min / prob.s_p, opts.p_max / prob.s_p
    termination = f"max_points = {opts.max_points} reached"
    while len(branch.points) < opts.max_points:
        x_pred = x + ds * t
        if not lo <= x_pred[4] <= hi:  # last point at the limit of the range
            limit = hi if x_pred[4] > hi else lo
            frac = (limit - x[4]) / (x_pred[4] - x[4]) if x_pred[4] != x[4] else 0.0
            xg = x + frac * ds * t
            xg[4] = limit
            xn, itn, ok = _correct(prob, xg, np.array([0, 0, 0, 0, 1.0]), limit, opts)
            if ok and xn[0] > 0:
                tn = _tangent(prob.jacobian(xn), t)
                branch.points.append(stability(_point(prob, xn, itn, tn[4]), roots_of(branch.points[-1])))
            termination = f"left the range at {opts.parameter} = {limit * prob.s_p:.6g}"
            break
        xn, itn, ok = _correct(prob, x_pred, t, t @ x_pred, opts)
        if not ok:
            ds *= 0.5
            if ds < opts.ds_min:
                termination = f"lost the branch (step below ds_min = {opts.ds_min:g})"
                break
            continue
        if xn[0] <= 0.5 * opts.a0 * (1 if bif is not None else 0) or xn[0] <= 0:
            # the last point at the first amplitude a0, as at the start: its parameter is within
            # O(a0^2) of the bifurcation point the branch returns to, whatever the step was
            p_end = xn[4] * prob.s_p
            if bif is not None and x[0] > opts.a0 and x[0] > xn[0]:
                lam = (x[0] - opts.a0) / (x[0] - xn[0])
                xf, itf, okf = _fixed_amplitude(prob, x + lam * (xn - x), opts.a0, opts)
                if okf and xf[0] > 0:
                    tf = _tangent(prob.jacobian(xf), t)
                    branch.points.append(stability(_point(prob, xf, itf, tf[4]), roots_of(branch.points[-1])))
                    p_end = xf[4] * prob.s_p
            termination = (f"returned to the normal state near {opts.parameter} = {p_end:.6g} "
                           "(a bifurcation point of the normal state)")
            break
        tn = _tangent(prob.jacobian(xn), t)
        x, t = xn, tn
        branch.points.append(stability(_point(prob, x, itn, t[4]), roots_of(branch.points[-1])))
        if itn <= 3:
            ds = min(ds * 1.5, opts.ds_max)
        elif itn > 6:
            ds = max(ds * 0.5, opts.ds_min)
    branch.termination = termination
    branch.history = {"n_evaluations": prob.n_eval}
    classify(branch)
    branch.seconds = time.perf_counter() - t0
    log.info("branch %d (%s): %d points, %s; %s", branch_id, route, len(branch.points), branch.kind or "-",
             termination)
    return branch


def classify(branch: Branch) -> Branch:
    """Folds, bifurcation type and amplitude exponent of ``branch`` (in place; returned).

    Folds: where the parameter is extremal along the branch (the sign of dp/ds changes
    between successive points), located by the vertex of the parabola p(s) through the three
    points around the change.  Type (branches from a bifurcation point only): supercritical
    when the first points lie on the unstable side of the normal state (``side``),
    subcritical otherwise.  Exponent: least squares of log|Δ|² against log|p - p_c| over the
    onset points."""
    pts = branch.points
    tp = np.array([p.tangent_p for p in pts])
    ps = np.array([p.p for p in pts])
    folds = []
    for i in range(1, len(pts)):
        if np.isfinite(tp[i - 1]) and np.isfinite(tp[i]) and tp[i - 1] * tp[i] < 0:
            j = min(max(i, 1), len(pts) - 2) if len(pts) >= 3 else None
            if j is None:
                folds.append(float(ps[i]))
                continue
            y = ps[j - 1:j + 2]
            a = y[0] - 2 * y[1] + y[2]
            # vertex of the parabola through equally weighted neighbours (index as the abscissa)
            off = 0.5 * (y[0] - y[2]) / a if a != 0 else 0.0
            folds.append(float(y[1] - 0.25 * (y[0] - y[2]) * off) if abs(off) <= 1 else float(y[1]))
    branch.folds = folds
    bif = branch.bifurcation
    if bif is None:
        return branch
    onset = branch.onset or pts[:3]
    dV = np.array([p.p - bif.V_c for p in onset])
    side = np.sign(np.median(dV)) if dV.size else 0.0
    branch.kind = "supercritical" if side == bif.side else ("subcritical" if side != 0 else "")
    amp2 = np.array([p.amplitude ** 2 for p in onset])
    good = (np.abs(dV) > 0) & (amp2 > 0)
    if good.sum() >= 3:
        X, Y = np.log(np.abs(dV[good])), np.log(amp2[good])
        beta = float(np.polyfit(X, Y, 1)[0])
        k = max(3, good.sum() - 3)
        beta_small = float(np.polyfit(X[:k], Y[:k], 1)[0])
        branch.exponent, branch.exponent_error = beta, abs(beta - beta_small)
    return branch


# ------------------------------------------------------------------------------------------
# the independent check: Born-Markov mean-field time integration from a finite seed
@dataclass(frozen=True)
class IntegrationCheck:
    """A Born-Markov mean-field time integration (:func:`solvers.dynamics.integrate`, frame
    rotating at ω0) from the steady state of a gap ``seed_fraction`` x Δ* rotated by
    ``seed_phase``, run to ``t_end``: the final |Δ±| (mean over the last 10 % of the run) and
    ν = -d arg Δ+/dt (over the last 20 %), against the branch point's; ``lands``: both
    relative amplitude differences below ``tol`` and |ν - ν*| below tol max(|ν*|, min Γ)."""

    p: float
    V: float
    seed_fraction: float
    seed_phase: float
    t_end: float
    abs_delta_plus: float
    abs_delta_minus: float
    nu: float
    target_abs_delta_plus: float
    target_abs_delta_minus: float
    target_nu: float
    rel_diff_plus: float
    rel_diff_minus: float
    nu_diff: float
    lands: bool
    tol: float
    seconds: float


def integration_check(system: DrivenSystem, mesh, Vprime: complex, point: BranchPoint, *,
                      seed_fraction: float = 0.5, seed_phase: float = 1.0, t_end: float | None = None,
                      relaxations: float = 15.0, t_max: float = 2e5, tol: float = 1e-4,
                      n_out: int = 400, rtol: float = 1e-8, atol: float = 1e-12) -> IntegrationCheck:
    """Integrate the Born-Markov mean-field dynamics from a finite seed and compare its end with
    ``point`` (see :class:`IntegrationCheck`).  ``t_end`` default: ``relaxations`` / |max Re λ|
    of the point's spectrum (the slowest non-Goldstone relaxation), at most ``t_max``.  Every rank
    integrates the whole mesh (the same numbers on every rank, no communication)."""
    t0 = time.perf_counter()
    modes = system.modes(mesh)
    if t_end is None:
        rate = np.nan if point.spectrum is None else -point.spectrum.max_re
        if not np.isfinite(rate) or rate <= 0:
            rate = point.spectrum.sigma if point.spectrum is not None else float(np.min(system.baths.gamma))
        t_end = float(min(relaxations / rate, t_max))
    z = seed_fraction * np.exp(1j * seed_phase)
    h = modes.hamiltonian(z * point.delta_plus, z * point.delta_minus, 0.0)
    rho0 = lyapunov_steady_state(h, modes.gamma, nambu_occupations(modes.occupation))
    tr = integrate(modes, point.V, Vprime, t_end, rho_init=rho0, n_out=n_out, rtol=rtol, atol=atol)
    n = tr.t.size
    last = slice(int(0.9 * n), n)
    ap, am = float(np.mean(np.abs(tr.delta_plus[last]))), float(np.mean(np.abs(tr.delta_minus[last])))
    w = slice(int(0.8 * n), n)
    phase = np.unwrap(np.angle(tr.delta_plus[w]))
    nu = float(-np.polyfit(tr.t[w], phase, 1)[0])
    tp, tm = abs(point.delta_plus), abs(point.delta_minus)
    rp, rm = abs(ap - tp) / max(tp, 1e-300), abs(am - tm) / max(tm, 1e-300)
    dnu = abs(nu - point.nu)
    lands = bool(rp < tol and rm < tol and dnu < tol * max(abs(point.nu), float(np.min(system.baths.gamma))))
    return IntegrationCheck(point.p, point.V, seed_fraction, seed_phase, t_end, ap, am, nu, tp, tm, point.nu,
                            rp, rm, dnu, lands, tol, time.perf_counter() - t0)


# ------------------------------------------------------------------------------------------
# the gap map: every branch from the bifurcation points in a window of V
@dataclass(frozen=True)
class GapMapOptions:
    """Options of :func:`gap_map`: the ``routes`` whose branches are followed (each from its
    own bifurcation points: "born_markov" and/or "keldysh"), the ``continuation`` options (its
    p_min, p_max are replaced by the V window), ``n_checks``: time-integration checks per
    Born-Markov branch (at stable points spread along it; 0: none), and their
    ``check_seed_fraction``, ``check_tol``, ``check_t_max``, ``check_relaxations``."""

    routes: tuple = ("born_markov",)
    continuation: ContinuationOptions = ContinuationOptions()
    n_checks: int = 2
    check_seed_fraction: float = 0.5
    check_tol: float = 1e-4
    check_t_max: float = 2e5
    check_relaxations: float = 15.0


@dataclass
class GapMap:
    """Everything :func:`gap_map` found: the normal-state ``criterion`` (a
    :class:`solvers.stability.CriticalCouplings` of the full criterion), the window, the
    ``bifurcations`` (every route) and the ``branches``; :meth:`to_tree` is the one serializer
    (layout in :func:`gap_map_tree`)."""

    parameters: dict
    v: float
    phi: float
    window: tuple
    criterion: object
    bifurcations: list
    branches: list
    options: dict = field(default_factory=dict)
    seconds: float = 0.0

    def to_tree(self) -> dict:
        return gap_map_tree(self)

    def branch(self, branch_id: int) -> Branch:
        for b in self.branches:
            if b.branch_id == branch_id:
                return b
        raise KeyError(branch_id)


def _matching_bifurcation(bifs, route, V, tol):
    for j, b in enumerate(bifs):
        if b.route == route and abs(b.V_c - V) < tol:
            return j
    return -1


def gap_map(system: DrivenSystem, mesh, Vprime: complex, window, criterion, *,
            options: GapMapOptions = GapMapOptions(), comm=None) -> GapMap:
    """Follow every branch of the gap equation that emerges from a bifurcation point of the
    normal state inside ``window`` = (V_lo, V_hi), for every route of ``options.routes``.

    ``criterion``: the full criterion's :class:`~solvers.stability.CriticalCouplings` at this
    |V'| (route born_markov; e.g. from :func:`solvers.stability.phase_point`): each boundary
    inside the window and each of its crossing frequencies ν_c is a bifurcation point, located
    again on ``mesh`` for each route (:func:`locate_bifurcation`) and continued in V into its
    unstable side (:func:`continue_branch`).  A branch that ends on another bifurcation point
    of the same route connects the two: that point starts no second branch.  Born-Markov
    branches get the spectrum of every point and ``n_checks`` time-integration checks
    (:func:`integration_check`)."""
    t0 = time.perf_counter()
    lo, hi = float(window[0]), float(window[1])
    copts = dataclasses.replace(options.continuation, parameter="V", p_min=lo, p_max=hi)
    bifs: list[Bifurcation] = []
    starts = []
    for route in options.routes:
        for b in criterion.boundaries:
            if not lo < b.V < hi:
                continue
            for nu in b.nu:
                bif = locate_bifurcation(system, mesh, Vprime, b.V, nu, b.jump, route, comm)
                bifs.append(bif)
                starts.append(len(bifs) - 1)
    branches: list[Branch] = []
    covered: dict[int, int] = {}
    tol_V = 1e-3 * max(system.model.t, 1.0)
    for j in starts:
        bif = bifs[j]
        if j in covered:
            continue
        br = continue_branch(system, mesh, Vprime, bif, route=bif.route, options=copts, comm=comm,
                             branch_id=len(branches))
        br.history["bifurcation_index"] = j
        if br.termination.startswith("returned to the normal state") and br.points:
            k = _matching_bifurcation(bifs, bif.route, br.points[-1].p, 10 * tol_V)
            if k >= 0 and k != j:
                covered[k] = br.branch_id
                br.termination += f" (bifurcation point {k} at V = {bifs[k].V_c:.6g})"
        if bif.route == "born_markov" and options.n_checks > 0:
            # the most strongly damped stable points (the shortest integrations; near onset the
            # amplitude mode relaxes at -2 g -> 0 and an integration would take ~1/g)
            stable = [p for p in br.points if p.spectrum is not None and p.spectrum.stable and p.spectrum.certified
                      and np.isfinite(p.spectrum.max_re)]
            stable.sort(key=lambda p: (p.spectrum.max_re, p.p))
            for pt in stable[: options.n_checks]:
                br.checks.append(integration_check(system, mesh, Vprime, pt,
                                                   seed_fraction=options.check_seed_fraction,
                                                   tol=options.check_tol, t_max=options.check_t_max,
                                                   relaxations=options.check_relaxations))
        if bif.route != "born_markov":
            br.approximations += ("stability not available: the Born-Markov linearisation does not "
                                  "apply to the Keldysh route",)
        branches.append(br)
    params = {"Omega": system.Omega, "omega0": system.omega0, "delta": system.model.delta, "t": system.model.t,
              "mu": system.mu, "Gamma1": float(system.baths.gamma[0, 0]), "Gamma2": float(system.baths.gamma[0, 1]),
              "temperature": float(np.max(system.baths.temperature))}
    opts = {"routes": list(options.routes), "n_checks": options.n_checks, "a0": copts.a0, "ds": copts.ds,
            "ds_max": copts.ds_max, "tol": copts.tol, "sigma": copts.stability_options.sigma}
    return GapMap(params, float(abs(Vprime)), float(np.angle(Vprime)), (lo, hi), criterion, bifs, branches,
                  opts, time.perf_counter() - t0)


# ------------------------------------------------------------------------------------------
# the serializer
_POINT_KEYS = ("p", "V", "nu", "residual", "iterations", "tangent_p")


def _points_tree(points, with_spectrum: bool) -> dict:
    out = {k: np.array([getattr(p, k) for p in points], dtype=float) for k in _POINT_KEYS}
    out["iterations"] = out["iterations"].astype(np.int64)
    out["delta_plus"] = np.array([p.delta_plus for p in points], dtype=complex)
    out["delta_minus"] = np.array([p.delta_minus for p in points], dtype=complex)
    out["abs_delta_plus"] = np.abs(out["delta_plus"])
    out["abs_delta_minus"] = np.abs(out["delta_minus"])
    if not with_spectrum:
        return out
    sp = [p.spectrum for p in points]
    n_eig = max([0 if s is None else s.eigenvalues.size for s in sp] + [1])
    eig = np.full((len(points), n_eig), np.nan + 0j)
    for i, s in enumerate(sp):
        if s is not None:
            eig[i, : s.eigenvalues.size] = s.eigenvalues
    nan = float("nan")
    out.update(
        max_re=np.array([nan if s is None else s.max_re for s in sp]),
        n_growing=np.array([-1 if s is None else s.n_growing for s in sp], dtype=np.int64),
        n_enclosed=np.array([-1 if s is None else s.n_enclosed for s in sp], dtype=np.int64),
        stable=np.array([-1 if s is None else int(s.stable) for s in sp], dtype=np.int64),
        goldstone=np.array([complex(nan) if s is None else s.goldstone for s in sp], dtype=complex),
        goldstone_overlap=np.array([nan if s is None else s.goldstone_overlap for s in sp]),
        sigma=np.array([nan if s is None else s.sigma for s in sp]),
        stability_seconds=np.array([nan if s is None else s.seconds for s in sp]),
        stability_certified=np.array([False if s is None else s.certified for s in sp], dtype=bool),
        stability_status=np.array(["not computed" if s is None else s.status for s in sp], dtype=str),
        n_contour_points=np.array([-1 if s is None else s.n_points for s in sp], dtype=np.int64),
        eigenvalues=eig,
    )
    return out


_CHECK_KEYS = [f.name for f in dataclasses.fields(IntegrationCheck)]


def gap_map_tree(gm: GapMap) -> dict:
    """The ``results`` tree of a gap map::

        parameters/<name>                   Omega, omega0, delta, t, mu, Gamma1, Gamma2, temperature
        v, phi, window (2,)                 |V'|, arg V', the V window
        criterion/V_c, nu_c, jump, counts, certified, status, V_max   (full criterion, born_markov)
        bifurcations/route, V_c, nu_c, jump, side, null_vector (n, 2), V_criterion, nu_criterion,
                    residual, status
        n_branches
        branches/<id>/route, parameter, bifurcation (index), kind, exponent, exponent_error,
                     termination, status, approximations, folds (n_f,), seconds
                     points/p, V, delta_plus, delta_minus, abs_delta_plus, abs_delta_minus, nu,
                            residual, iterations, tangent_p, and (Born-Markov) max_re, n_growing,
                            n_enclosed, stable (1/0; -1 not computed), goldstone, goldstone_overlap,
                            sigma, stability_certified, stability_status, n_contour_points,
                            eigenvalues (n, K; NaN-padded; Goldstone excluded)
                     onset/ the same point arrays (the fixed-amplitude points of the fit)
                     checks/<IntegrationCheck fields> (n_checks,)
    """
    c = gm.criterion
    K = max([len(b.nu) for b in c.boundaries] + [1])
    nu_c = np.full((len(c.boundaries), K), np.nan)
    for i, b in enumerate(c.boundaries):
        nu_c[i, : len(b.nu)] = b.nu
    tree: dict = {
        "parameters": {k: float(v) for k, v in gm.parameters.items()},
        "v": gm.v, "phi": gm.phi, "window": np.array(gm.window, dtype=float),
        "criterion": {"V_c": c.V_c, "nu_c": nu_c, "jump": np.array([b.jump for b in c.boundaries], dtype=np.int64),
                      "counts": np.array(c.counts, dtype=np.int64), "certified": bool(c.certified),
                      "status": str(c.status), "V_max": float(c.V_max), "route": str(c.route)},
    }
    bifs = gm.bifurcations
    tree["bifurcations"] = {
        "route": np.array([b.route for b in bifs] or [""], dtype=str)[: len(bifs)],
        "V_c": np.array([b.V_c for b in bifs], dtype=float),
        "nu_c": np.array([b.nu_c for b in bifs], dtype=float),
        "jump": np.array([b.jump for b in bifs], dtype=np.int64),
        "side": np.array([b.side for b in bifs], dtype=np.int64),
        "null_vector": np.array([b.null_vector for b in bifs], dtype=complex).reshape(len(bifs), 2),
        "V_criterion": np.array([b.V_criterion for b in bifs], dtype=float),
        "nu_criterion": np.array([b.nu_criterion for b in bifs], dtype=float),
        "residual": np.array([b.residual for b in bifs], dtype=float),
        "status": np.array([b.status for b in bifs] or [""], dtype=str)[: len(bifs)],
    }
    tree["n_branches"] = len(gm.branches)
    branches = {}
    for br in gm.branches:
        g = {"route": br.route, "parameter": br.parameter,
             "bifurcation": int(br.history.get("bifurcation_index", -1)), "kind": br.kind,
             "exponent": float(br.exponent), "exponent_error": float(br.exponent_error),
             "termination": br.termination, "status": br.status,
             "approximations": "; ".join(br.approximations), "folds": np.array(br.folds, dtype=float),
             "seconds": float(br.seconds), "n_evaluations": int(br.history.get("n_evaluations", 0)),
             "points": _points_tree(br.points, br.route == "born_markov"),
             "onset": _points_tree(br.onset, False)}
        g["checks"] = {k: np.array([getattr(ch, k) for ch in br.checks],
                                   dtype=bool if k == "lands" else float) for k in _CHECK_KEYS}
        branches[str(br.branch_id)] = g
    tree["branches"] = branches
    return tree


def _points_from(tree: dict, with_spectrum: bool) -> list:
    n = np.asarray(tree.get("p", [])).size
    out = []
    for i in range(n):
        spec = None
        if with_spectrum and "max_re" in tree and int(tree["stable"][i]) >= 0:
            eig = np.asarray(tree["eigenvalues"])[i]
            spec = Spectrum(eig[np.isfinite(eig)], complex(tree["goldstone"][i]), float(tree["goldstone_overlap"][i]),
                            float(tree["max_re"][i]), int(tree["n_growing"][i]), int(tree["n_enclosed"][i]),
                            float(tree["sigma"][i]), bool(tree["stability_certified"][i]),
                            str(tree["stability_status"][i]), int(tree["n_contour_points"][i]),
                            float(tree["stability_seconds"][i]))
        out.append(BranchPoint(float(tree["p"][i]), float(tree["V"][i]), complex(tree["delta_plus"][i]),
                               complex(tree["delta_minus"][i]), float(tree["nu"][i]), float(tree["residual"][i]),
                               int(tree["iterations"][i]), float(tree["tangent_p"][i]), spec))
    return out


def branch_from_tree(g: dict, branch_id: int, bifurcations) -> Branch:
    """A :class:`Branch` from its group of :func:`gap_map_tree` (the inverse)."""
    j = int(g["bifurcation"])
    br = Branch(branch_id, str(g["route"]), str(g["parameter"]), bifurcations[j] if 0 <= j < len(bifurcations) else None,
                _points_from(g["points"], str(g["route"]) == "born_markov"), _points_from(g["onset"], False),
                [float(x) for x in np.atleast_1d(g["folds"])], str(g["kind"]), float(g["exponent"]),
                float(g["exponent_error"]), str(g["termination"]), str(g["status"]))
    ch = g.get("checks", {})
    m = np.asarray(ch.get("p", [])).size
    br.checks = [IntegrationCheck(**{k: (bool(ch[k][i]) if k == "lands" else float(ch[k][i])) for k in _CHECK_KEYS})
                 for i in range(m)]
    br.approximations = tuple(a for a in str(g.get("approximations", "")).split("; ") if a)
    br.seconds = float(g.get("seconds", 0.0))
    br.history = {"bifurcation_index": j, "n_evaluations": int(g.get("n_evaluations", 0))}
    return br


def gap_map_from_tree(tree: dict) -> GapMap:
    """The :class:`GapMap` of a ``results`` tree (the inverse of :func:`gap_map_tree`; the
    criterion comes back as a :class:`~solvers.stability.CriticalCouplings`)."""
    from solvers.stability import Boundary, CriticalCouplings

    c = tree["criterion"]
    bounds = tuple(Boundary(float(V), tuple(float(x) for x in np.atleast_1d(nu) if np.isfinite(x)), int(j))
                   for V, nu, j in zip(np.atleast_1d(c["V_c"]), np.atleast_2d(c["nu_c"]), np.atleast_1d(c["jump"]))) \
        if np.size(c["V_c"]) else ()
    crit = CriticalCouplings("full", str(c.get("route", "born_markov")), float(tree["v"]), float(tree["phi"]),
                             float(c["V_max"]), bounds, tuple(int(x) for x in np.atleast_1d(c["counts"])),
                             bool(c["certified"]), str(c["status"]))
    b = tree["bifurcations"]
    n = np.asarray(b["V_c"]).size
    bifs = [Bifurcation(float(b["V_c"][i]), float(b["nu_c"][i]), tuple(complex(x) for x in b["null_vector"][i]),
                        int(b["jump"][i]), int(b["side"][i]), float(b["V_criterion"][i]), float(b["nu_criterion"][i]),
                        float(b["residual"][i]), str(b["route"][i]), str(b["status"][i])) for i in range(n)]
    branches = [branch_from_tree(g, int(k), bifs) for k, g in sorted(tree.get("branches", {}).items(), key=lambda kv: int(kv[0]))]
    return GapMap({k: float(v) for k, v in tree["parameters"].items()}, float(tree["v"]), float(tree["phi"]),
                  tuple(float(x) for x in tree["window"]), crit, bifs, branches)
