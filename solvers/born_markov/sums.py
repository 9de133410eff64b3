"""k-weighted sums of the Born-Markov pair susceptibility: the numba kernel, PairResponseSums, the numpy twin."""
from __future__ import annotations

import numba as nb
import numpy as np

from keldysh.nambu import ModeArrays

from .exact import normal_state, pair_response_matrix


@nb.njit(cache=True, nogil=True)
def _pair_response_matrix_sums(cf, driven, w, zs, out):
    """Numba kernel of :func:`pair_response_matrix_sum`: the block elimination of
    :func:`pair_response_matrix` per (sample, z), the decoupled closed form where the hole block
    is undriven (``driven[k]`` False).  ``cf`` (M, 15): the z-independent coefficients of
    :func:`_kernel_coefficients`."""
    nk = cf.shape[0]
    for iz in range(zs.shape[0]):
        iz_ = 1j * zs[iz]
        spp = 0j
        smp = 0j
        spm = 0j
        smm = 0j
        for k in range(nk):
            a00, a11, a01, a10, hd0, hd1, h01, h10, q0, q1, p0, p1, r23i, r32i, a01a10 = cf[k]
            c0 = hd0 + iz_
            c1 = hd1 + iz_
            m00, m11 = a00 + c0, a11 + c0
            det0 = m00 * m11 - a01a10
            n00, n11 = a00 + c1, a11 + c1
            # Δ+, column 0: y = -M_0^{-1} q
            y1 = -(m00 * q1 - a10 * q0) / det0
            if not driven[k]:
                spp += w[k] * y1
                smm += w[k] * ((n11 * p0 - a01 * p1) / (n00 * n11 - a01a10))
                continue
            y0 = -(m11 * q0 - a01 * q1) / det0
            hh = h01 * h10 / det0
            s00, s01, s10, s11 = n00 - hh * m11, a01 + hh * a01, a10 + hh * a10, n11 - hh * m00
            dets = s00 * s11 - s01 * s10
            # Δ+, column 1: q = (0, -i r23)
            v0, v1 = -h01 * y0, r23i - h01 * y1
            x0 = (s11 * v0 - s01 * v1) / dets
            x1 = (s00 * v1 - s10 * v0) / dets
            u1 = (m00 * x1 - a10 * x0) / det0
            spp += w[k] * (y1 - h10 * u1)
            smp += w[k] * (-x0)
            # Δ-, column 0: q = (i r32, 0); column 1: q = (p0, p1)
            y0 = -(m11 * r32i) / det0
            y1 = (a10 * r32i) / det0
            v0, v1 = -p0 - h01 * y0, -p1 - h01 * y1
            x0 = (s11 * v0 - s01 * v1) / dets
            x1 = (s00 * v1 - s10 * v0) / dets
            u1 = (m00 * x1 - a10 * x0) / det0
            spm += w[k] * (y1 - h10 * u1)
            smm += w[k] * (-x0)
        out[iz, 0, 0] = spp
        out[iz, 1, 0] = smp
        out[iz, 0, 1] = spm
        out[iz, 1, 1] = smm


def _kernel_coefficients(modes: ModeArrays, dressed: bool, rho0) -> tuple[np.ndarray, np.ndarray]:
    """z-independent coefficients of the kernel, (M, 15) complex: A_pp entries a00, a11, a01, a10;
    H_00, H_11 (without iz), H_01, H_10; the right-hand sides q = (i rho0_01, -i(rho0_22 - rho0_11)),
    p = (-i(rho0_00 - rho0_33), -i rho0_10), i rho0_23, i rho0_32; and a01 a10.  And per sample
    whether the hole block is driven (Ω_-k or the hole coherence nonzero)."""
    xi, g, r = modes.xi, modes.gamma, rho0
    zero = np.zeros(len(modes), complex)
    om = modes.rabi if dressed else zero
    omm = modes.rabi_minus if dressed else zero
    a01, a10 = -1j * np.conj(om), -1j * om
    cf = np.stack([
        -1j * xi[:, 0] - g[:, 0], -1j * xi[:, 1] - g[:, 1], a01, a10,
        -1j * xi[:, 2] - g[:, 2], -1j * xi[:, 3] - g[:, 3], -1j * omm, -1j * np.conj(omm),
        1j * r[:, 0, 1], -1j * (r[:, 2, 2] - r[:, 1, 1]), -1j * (r[:, 0, 0] - r[:, 3, 3]), -1j * r[:, 1, 0],
        1j * r[:, 2, 3], 1j * r[:, 3, 2], a01 * a10], axis=-1)
    driven = (omm != 0) | (r[:, 2, 3] != 0) | (r[:, 3, 2] != 0)
    return np.ascontiguousarray(cf), np.ascontiguousarray(driven)


def _sum_arguments(modes: ModeArrays, z_values, dressed: bool, rho0):
    if rho0 is None:
        rho0 = normal_state(modes)
    rho0 = np.asarray(rho0)
    if rho0.shape != (len(modes), 4, 4):
        raise ValueError(f"rho0: must have shape ({len(modes)}, 4, 4), got {rho0.shape}")
    zs = np.asarray(z_values, dtype=complex)
    if zs.ndim > 1:
        raise ValueError(f"z_values: must be a scalar or 1-d, got shape {zs.shape}")
    return rho0, np.ascontiguousarray(np.atleast_1d(zs))


def pair_response_matrix_sum(modes: ModeArrays, z_values, dressed: bool = True, rho0=None) -> np.ndarray:
    """Σ_k weight_k chi_ab,k(z) for every z (numba), shape (n_z, 2, 2) = (z, a, b).

    The closed form of :func:`pair_response_matrix` without (n_z, M) temporaries: the hot path
    of frequency scans (numpy twin :func:`pair_response_matrix_sum_numpy`, tested equal).  For
    many calls on the same samples use :class:`PairResponseSums` (coefficients computed once)."""
    return PairResponseSums(modes, dressed, rho0)(z_values)


class PairResponseSums:
    """:func:`pair_response_matrix_sum` with its z-independent coefficients (the normal state
    and the kernel's 15 per-sample coefficients) computed once: calling it with frequencies
    costs only the kernel (hot path of frequency scans one z at a time)."""

    def __init__(self, modes: ModeArrays, dressed: bool = True, rho0=None):
        rho0, _ = _sum_arguments(modes, 0.0, dressed, rho0)
        self.rho0 = rho0
        self._cf, self._driven = _kernel_coefficients(modes, dressed, rho0)
        self._w = np.ascontiguousarray(modes.weight, dtype=float)

    def __call__(self, z_values) -> np.ndarray:
        zs = np.asarray(z_values, dtype=complex)
        if zs.ndim > 1:
            raise ValueError(f"z_values: must be a scalar or 1-d, got shape {zs.shape}")
        zs = np.ascontiguousarray(np.atleast_1d(zs))
        out = np.empty((zs.size, 2, 2), complex)
        _pair_response_matrix_sums(self._cf, self._driven, self._w, zs, out)
        return out


def pair_response_matrix_sum_numpy(modes: ModeArrays, z_values, dressed: bool = True, rho0=None) -> np.ndarray:
    """The numpy twin of :func:`pair_response_matrix_sum`: Σ_k weight_k of
    :func:`pair_response_matrix`, (n_z, 2, 2)."""
    rho0, zs = _sum_arguments(modes, z_values, dressed, rho0)
    return np.einsum("k,zkab->zab", modes.weight, pair_response_matrix(modes, zs, dressed, rho0))


def pair_response_sum(modes: ModeArrays, z_values, dressed: bool = True, rho0=None) -> np.ndarray:
    """Σ_k weight_k (chi_+, chi_-)_k(z) for every z (numba), shape (n_z, 2): the diagonal of
    :func:`pair_response_matrix_sum`."""
    out = pair_response_matrix_sum(modes, z_values, dressed, rho0)
    return np.ascontiguousarray(out[:, [0, 1], [0, 1]])
