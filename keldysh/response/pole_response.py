"""The public pole-sum route: :class:`PoleResponse`, :func:`pair_response_poles` and the input checks."""
from __future__ import annotations

import numba as nb
import numpy as np

from ..greens import _prep, _prep_occ
from .poles import _samples_kernel, _setup, _weighted_kernel
from .special import _COND_MAX, _NB


# ----------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------
@nb.njit(**_NB)
def _block_defects(h):
    """(kind, sample, value) of the first defect of h (n_k, 4, 4): kind 0 none, 1 not finite,
    2 particle-hole entry, 3 not Hermitian (value: |h_ij - conj h_ji| / max(max|h|, 1))."""
    for k in range(h.shape[0]):
        scale = 1.0
        for i in range(4):
            for j in range(4):
                x = h[k, i, j]
                if not (np.isfinite(x.real) and np.isfinite(x.imag)):
                    return 1, k, 0.0
                scale = max(scale, abs(x.real), abs(x.imag))
                if (i < 2) != (j < 2) and x != 0:
                    return 2, k, 0.0
        for i in range(4):
            for j in range(i, 4):
                d = h[k, i, j] - np.conj(h[k, j, i])
                v = max(abs(d.real), abs(d.imag)) / scale
                if v > 1e-12:
                    return 3, k, v
    return 0, 0, 0.0


def _check_normal_blocks(h):
    """h (n_k, 4, 4): finite, Hermitian and block diagonal in {0, 1} ⊕ {2, 3} (Δ = 0)."""
    kind, k, v = _block_defects(h)
    if kind == 1:
        raise ValueError(f"h: must be finite (sample {k})")
    if kind == 2:
        raise ValueError(f"h: must be block diagonal in (0, 1) + (2, 3) (normal state, Delta = 0); "
                         f"sample {k} has a nonzero particle-hole entry")
    if kind == 3:
        raise ValueError(f"h: must be Hermitian (G^A = (G^R)^dagger); sample {k} has "
                         f"|h_ij - conj(h_ji)| = {v:.3g} max|h|")


def _check_z(name, z) -> np.ndarray:
    zs = np.asarray(z)
    if zs.dtype.kind not in "biufc":
        raise ValueError(f"{name}: must be a number or an array of numbers, got {z!r}")
    zs = zs.astype(complex)
    if not np.all(np.isfinite(zs)):
        raise ValueError(f"{name}: must be finite, got {z!r}")
    if np.any(zs.imag < 0):
        raise ValueError(f"{name}: the retarded response needs Im z >= 0, got {z!r}")
    return zs


class PoleResponse:
    """Exact pair response matrix chi_ab(z) of normal-state blocks by the pole sum.

    The eigendecomposition of h - iΓ and every z-independent Φ value are computed once on
    construction; :meth:`samples` and :meth:`weighted_sum` then cost O(1) per (sample, z).

    Parameters
    ----------
    h : (n_k, 4, 4) complex
        Normal-state Nambu blocks (spec §3, §9): Hermitian, particle block {0, 1}, hole
        block {2, 3}, no particle-hole entries.
    gamma : (4,) or (n_k, 4)
        Amplitude rates Γ > 0.
    m : (4,) or (n_k, 4), optional
        Nambu chemical potentials (:func:`keldysh.nambu.nambu_chemical_potentials`), 0 if None.
    T : float, (4,) or (n_k, 4)
        Bath temperatures ≥ 0.
    frozen : (4,) or (n_k, 4), optional
        Frozen Nambu occupations; an entry ≥ 0 replaces n_F(ω - m_i) (as in
        :mod:`keldysh.greens`).
    """

    def __init__(self, h, gamma, m=None, T=0.0, frozen=None):
        h, gamma = _prep(h, gamma)
        _check_normal_blocks(h)
        m, T, fz = _prep_occ(h.shape[0], m, T, frozen)
        if not (np.all(np.isfinite(m)) and np.all(np.isfinite(T)) and np.all(np.isfinite(fz))):
            raise ValueError("m, T, frozen: must be finite")
        nk = h.shape[0]
        self.gamma, self.m, self.T, self.frozen = gamma, m, T, fz
        self.lam = np.empty((nk, 4), np.complex128)
        self.AP = np.empty((nk, 2, 2, 2), np.complex128)
        self.AH = np.empty((nk, 2, 2, 2), np.complex128)
        self._phib1 = np.empty((nk, 2, 2), np.complex128)
        self._dbc1 = np.empty((nk, 2, 2, 2), np.complex128)
        self._phic2 = np.empty((nk, 2, 2), np.complex128)
        self._dbc2 = np.empty((nk, 2, 2, 2), np.complex128)
        self._imb1 = np.empty((nk, 2, 2), np.complex128)
        self._imc2 = np.empty((nk, 2, 2), np.complex128)
        cond = np.empty(nk)
        _setup(h, gamma, m, T, fz, self.lam, self.AP, self.AH, self._phib1, self._dbc1, self._imb1,
               self._phic2, self._dbc2, self._imc2, cond)
        bad = np.nonzero(~(cond <= _COND_MAX))[0]
        if bad.size:
            raise ValueError(f"h: h - i*gamma is (nearly) defective at sample {int(bad[0])} "
                             f"(exceptional point, cond(R) = {cond[bad[0]]:.3g}); "
                             "use pair_response_matrix_quadrature there")
        self.cond = cond

    def __len__(self) -> int:
        return self.lam.shape[0]

    @property
    def quasi_energies(self) -> np.ndarray:
        """λ (n_k, 4): eigenvalues of the particle block (columns 0, 1) and hole block (2, 3)."""
        return self.lam

    def _args(self):
        return (self.gamma, self.m, self.T, self.frozen, self.lam, self.AP, self.AH,
                self._phib1, self._dbc1, self._imb1, self._phic2, self._dbc2, self._imc2)

    def samples(self, z) -> np.ndarray:
        """chi_ab(z) per sample, shape (n_k, 2, 2) = (sample, a, b), a, b ∈ (+, -); Im z ≥ 0."""
        zs = _check_z("z", z)
        if zs.ndim != 0:
            raise ValueError(f"z: must be a scalar, got shape {zs.shape} (use weighted_sum for scans)")
        out = np.empty((len(self), 2, 2), np.complex128)
        _samples_kernel(complex(zs), *self._args(), out)
        return out

    def weighted_sum(self, z_values, weights) -> np.ndarray:
        """Σ_k weights_k chi_ab,k(z) for every z, shape (n_z, 2, 2) (no (n_z, n_k) temporaries).

        ``z_values``: (n_z,) complex with Im z ≥ 0 (a scalar is treated as (1,));
        ``weights``: (n_k,) real, e.g. :attr:`keldysh.nambu.ModeArrays.weight`."""
        zs = _check_z("z_values", z_values)
        if zs.ndim > 1:
            raise ValueError(f"z_values: must be a scalar or 1-d, got shape {zs.shape}")
        zs = np.ascontiguousarray(np.atleast_1d(zs))
        wts = np.asarray(weights)
        if wts.dtype.kind not in "biuf":
            raise ValueError(f"weights: must be real numbers, got dtype {wts.dtype}")
        wts = np.ascontiguousarray(wts, dtype=float)
        if wts.shape != (len(self),):
            raise ValueError(f"weights: must have shape ({len(self)},) (one per sample), got {wts.shape}")
        if not np.all(np.isfinite(wts)):
            raise ValueError("weights: must be finite")
        out = np.empty((zs.shape[0], 2, 2), np.complex128)
        _weighted_kernel(zs, wts, *self._args(), out)
        return out


def pair_response_poles(h, gamma, z, m=None, T=0.0, frozen=None) -> np.ndarray:
    """chi_ab(z) per sample by the exact pole sum (numba), shape (n_k, 2, 2); see
    :class:`PoleResponse` for the arguments (one z, Im z ≥ 0)."""
    return PoleResponse(h, gamma, m, T, frozen).samples(z)
