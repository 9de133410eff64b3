"""The complexified linearisation of the Born-Markov mean-field dynamics around a steady state,
and the block-ordered k sums (MPI equals serial bit for bit).

Part of :mod:`solvers.continuation` (the package docstring has the method)."""
from __future__ import annotations

import logging

import numpy as np

from keldysh.lyapunov import lyapunov_steady_state, solve_sylvester
from keldysh.nambu import DrivenSystem, nambu_occupations
from solvers.dynamics import coupling_matrix
from solvers.gap import pair_sums
from solvers.parallel import rank_of, size_of

log = logging.getLogger("solvers.continuation")

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
