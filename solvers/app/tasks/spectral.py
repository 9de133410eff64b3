"""Task ``spectral``: A(k, ω), the occupied weight and the distribution on a cut through K+,
and the populations of the driven valley (spec §3)."""
from __future__ import annotations

import numpy as np

from keldysh.greens import lesser_gf, rho_pole_sum, spectral_function
from keldysh.kmesh import shard_bounds
from keldysh.lattice import cut_towards_gamma, resonance_on_cut, WHOLE_ZONE_PATTERNS
from keldysh.nambu import nambu_chemical_potentials
from solvers import born_markov
from solvers.parallel import allreduce_sum, rank_of, size_of

from .driver import Progress

__all__ = ["run_spectral", "VALLEY_MAP_POINTS"]

#: points per side of the population map of the spectral task
VALLEY_MAP_POINTS = 121


def _populations(rho) -> dict[str, np.ndarray]:
    """n22_k, 1 - n11_k (the two bands of the driven k) and n11_-k, n22_-k of each block."""
    pops = born_markov.populations(rho)
    return {"n22_k": pops["n22_k"], "one_minus_n11_k": 1 - pops["n11_k"],
            "n11_mk": pops["n11_mk"], "n22_mk": pops["n22_mk"]}


def _valley_map(system, kp, q_res) -> dict[str, np.ndarray]:
    """Born-Markov populations n22_k, 1 - n11_k on a square of side 2.5 q_res around K+
    (closed form, cheap: every rank computes it, no reduction needed)."""
    model = system.model
    side = np.linspace(-1.25 * q_res, 1.25 * q_res, VALLEY_MAP_POINTS)
    kx, ky = np.meshgrid(kp[0] + side, kp[1] + side, indexing="xy")
    kmap = np.stack([kx.ravel(), ky.ravel()], axis=-1)
    modes = system.modes_from_energies(model.energy(kmap), model.drive_amplitude(kmap, system.Omega, system.pattern),
                                       np.ones(kmap.shape[0]))
    rho = born_markov.normal_state(modes)
    return {"kx": side + kp[0], "ky": side + kp[1], "n22_k": rho[:, 1, 1].real.reshape(kx.shape),
            "one_minus_n11_k": (1 - rho[:, 0, 0].real).reshape(kx.shape)}


def run_spectral(cfg, comm=None, progress: Progress | None = None, hooks=None) -> dict:
    """Spectral function and distribution on the cut k = K+ + q·(towards Γ) (spec §3).

    q runs over q_res ± numerics.cut_halfwidth (q_res: e_k = ω0/2, the resonance), ω over a
    uniform grid of numerics.n_omega points in ±numerics.omega_halfwidth (rotating frame).
    Per k and Nambu mode i: A_ii(k, ω) = i(G^R - G^A)_ii, the occupied weight -iG^<_ii and
    the distribution f_i = -iG^<_ii / A_ii (NaN where A_ii < 1e-12 max A); populations from
    the Born-Markov steady state (n22_k, 1 - n11_k, ...) and from the exact Keldysh pole sum.
    The cut is split over the ranks and gathered."""
    progress = progress or Progress()
    num = cfg.numerics
    system = cfg.system()
    model = system.model
    kp, direction, _ = cut_towards_gamma(model)
    q_res, v_res = resonance_on_cut(model, system.omega0 / 2)
    q = np.linspace(q_res - num.cut_halfwidth, q_res + num.cut_halfwidth, num.n_cut)
    k = kp + q[:, None] * direction
    w = np.linspace(-num.omega_halfwidth, num.omega_halfwidth, num.n_omega)
    e = model.energy(k)
    rabi = model.drive_amplitude(k, system.Omega, system.pattern)
    # Ω_{-k}: nonzero for the whole-zone patterns (spec §9), 0 for the K+-only ones
    rabi_minus = model.drive_amplitude(-k, system.Omega, system.pattern) if system.pattern in WHOLE_ZONE_PATTERNS else 0j
    modes_all = system.modes_from_energies(e, rabi, np.ones(num.n_cut), rabi_minus)

    rank, size = rank_of(comm), size_of(comm)
    bounds = shard_bounds(num.n_cut, size)
    mine = slice(int(bounds[rank]), int(bounds[rank + 1]))
    A = np.zeros((num.n_cut, num.n_omega, 4))
    occ = np.zeros_like(A)
    rho_bm = np.zeros((num.n_cut, 4, 4), complex)
    rho_k = np.zeros_like(rho_bm)
    progress.start(1, 0, "cut")
    if mine.stop > mine.start:
        modes = modes_all.take(mine)
        h = modes.hamiltonian()
        m = nambu_chemical_potentials(modes.bath_mu)
        A[mine] = np.real(np.diagonal(spectral_function(h, modes.gamma, w), axis1=-2, axis2=-1))
        lesser = lesser_gf(h, modes.gamma, w, m, modes.temperature)
        occ[mine] = np.real(np.diagonal(lesser, axis1=-2, axis2=-1) / 1j)
        rho_bm[mine] = born_markov.steady_state(modes)
        rho_k[mine] = rho_pole_sum(h, modes.gamma, m, modes.temperature)
    A = allreduce_sum(A, comm)
    occ = allreduce_sum(occ, comm)
    rho_bm = allreduce_sum(rho_bm, comm)
    rho_k = allreduce_sum(rho_k, comm)
    progress.advance()
    with np.errstate(invalid="ignore", divide="ignore"):
        dist = np.where(A > 1e-12 * np.max(A), occ / A, np.nan)
    results = {
        "A": A,
        "occupied": occ,
        "distribution": dist,
        "energy": e,
        "detuning": 2 * e - system.omega0,
        "rabi": rabi,
        "xi": modes_all.xi,
        "born_markov": _populations(rho_bm),
        "keldysh": _populations(rho_k),
        "q_resonance": float(q_res),
        "band_velocity": float(v_res),
        "valley_map": _valley_map(system, kp, q_res),
    }
    return {"results": results,
            "mesh": {"kind": "cut", "n_cut": num.n_cut, "K_plus": kp, "direction": direction},
            "grids": {"q": q, "k": k, "omega": w,
                      "modes": np.array(["c_k1", "c_k2", "c+_-k1", "c+_-k2"])},
            "history": {}}
