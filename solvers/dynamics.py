"""Born-Markov mean-field dynamics with a self-consistent gap (spec §6).

Each k block evolves by the Lindblad equation of motion of its correlation matrix
(spec §4), with the gap fed back from the pair sums (Eqs. 8, 12)::

    d rho_k/dt = -i [h_k(Δ(t)), rho_k] - (Γ rho_k + rho_k Γ) + 2 Γ n_k,
    Δ+ = V S+ + V' S-,  Δ- = V'* S+ + V S-,  S+ = Σ_k w_k rho_k[1,2],  S- = -Σ_k w_k rho_k[0,3].

Two tools, both independent of the susceptibility routes of :mod:`solvers.stability.routes`:

* :func:`linear_spectrum` — the eigenvalues λ of the linearised dynamics of the
  particle-hole blocks δrho_k[0:2, 2:4] around the normal state (dense, 4M x 4M): the
  growth rate is max Re λ, the condensate frequency ν = -Im λ (δrho ∝ e^{λt} = e^{-iνt + Re λ t}).
* :func:`integrate` — the nonlinear time integration (DOP853), giving Δ±(t).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from scipy.integrate import solve_ivp

from keldysh.lyapunov import lyapunov_steady_state
from keldysh.nambu import PAIR_ELEMENTS, ModeArrays, nambu_occupations, pair_sums

__all__ = ["linear_spectrum", "Trajectory", "integrate", "fit_growth_rate", "coupling_matrix"]


def coupling_matrix(V: float, Vprime: complex) -> np.ndarray:
    """M of Eq. (12) acting on (S+, S-): Δ = M S."""
    return np.array([[V, Vprime], [np.conj(Vprime), V]], dtype=complex)


def linear_spectrum(modes: ModeArrays, V: float, Vprime: complex, dressed: bool = True,
                    form_factors=None) -> np.ndarray:
    """Eigenvalues λ of the linearised Born-Markov mean-field dynamics (sorted by Re λ, descending).

    Unknowns X_k = δrho_k[0:2, 2:4] (4 complex per sample).  With A = -ih - Γ, h the full
    normal-state Nambu matrix (both drive blocks: Ω_k in h_pp and -Ω_{-k} in h_hh, spec §9;
    ``dressed=False``: both drives removed from A, kept in rho0)::

        dX/dt = A_pp X + X (A†)_hh - i (δh_ph rho0_hh - rho0_pp δh_ph),
        δh_ph = [[0, -Δ-], [Δ+, 0]],  (Δ+, Δ-) = M (Σ w X[1,0], -Σ w X[0,1]).

    With the K- drive, (A†)_hh and rho0_hh are not diagonal and the K+ and K- pair
    coherences X[1,0], X[0,1] mix (the 2x2 chi_ab of :func:`solvers.born_markov.pair_response_matrix`).

    ``form_factors``: optional (M, 2) complex f_±(k) of a k-dependent pairing vertex,
    Δ_±(k) = f_±(k) Δ_± in h_k and S_± = Σ w conj(f_±) (X[1,0], -X[0,1]); None means f = 1 (the
    constant V, V' of Eqs. 8, 12).  A gauge change u_ak -> e^{iθ_a(k)} u_ak of the Bloch
    vectors turns a constant vertex into f_+ = e^{-i(θ_2(k) + θ_1(-k))},
    f_- = e^{-i(θ_1(k) + θ_2(-k))} (and Ω_{±k} into e^{i(θ_1 - θ_2)(±k)} Ω_{±k}): the spectrum is
    invariant under that pair of changes (tests/test_circular.py).
    """
    h = modes.hamiltonian()
    g = modes.gamma
    rho0 = lyapunov_steady_state(h, g, nambu_occupations(modes.occupation))
    hd = h.copy()
    if not dressed:
        hd[:, 0, 1] = hd[:, 1, 0] = hd[:, 2, 3] = hd[:, 3, 2] = 0.0
    A = -1j * hd - g[:, :, None] * np.eye(4)
    App = A[:, :2, :2]
    Bhh = np.conj(np.swapaxes(A, -1, -2))[:, 2:, 2:]
    M = len(modes)
    I2 = np.eye(2)
    # vec row-major: X = [[x0, x1], [x2, x3]] = [[X02, X03], [X12, X13]]
    Lk = np.einsum("kij,ab->kiajb", App, I2).reshape(M, 4, 4) + \
        np.einsum("ij,kba->kiajb", I2, Bhh).reshape(M, 4, 4)
    big = np.zeros((4 * M, 4 * M), complex)
    for k in range(M):
        big[4 * k:4 * k + 4, 4 * k:4 * k + 4] = Lk[k]
    # source per unit Δ+ and Δ- (δh_ph = [[0, -Δ-], [Δ+, 0]]: h[i, j] = sign Δ at the pair
    # elements) and S± = Σ w sign X[i, j - 2] (= rho_12, -rho_03)
    src = np.zeros((M, 4, 2), complex)
    C = np.zeros((2, 4 * M), complex)
    for col, ((i, j), sign) in enumerate(PAIR_ELEMENTS):
        d = np.zeros((2, 2))
        d[i, j - 2] = sign
        s = -1j * (d @ rho0[:, 2:, 2:] - rho0[:, :2, :2] @ d)
        src[:, :, col] = s.reshape(M, 4)
        C[col, 2 * i + (j - 2)::4] = sign * modes.weight
    if form_factors is not None:
        f = np.asarray(form_factors, dtype=complex)
        if f.shape != (M, 2):
            raise ValueError(f"form_factors: must have shape ({M}, 2), got {f.shape}")
        src = src * f[:, None, :]
        C = C * np.conj(f.T).repeat(4, axis=1)
    big += src.reshape(4 * M, 2) @ coupling_matrix(V, Vprime) @ C
    lam = np.linalg.eigvals(big)
    return lam[np.argsort(-lam.real)]


@dataclass(frozen=True)
class Trajectory:
    """Time series of a mean-field integration: t, Δ±(t), S±(t), and the final rho_k."""

    t: np.ndarray
    delta_plus: np.ndarray
    delta_minus: np.ndarray
    S_plus: np.ndarray
    S_minus: np.ndarray
    rho_final: np.ndarray
    seconds: float
    options: dict = field(default_factory=dict)


def integrate(modes: ModeArrays, V: float, Vprime: complex, t_end: float, *, seed=1e-8,
              n_out: int = 400, rtol: float = 1e-9, atol: float = 1e-13, rho_init=None) -> Trajectory:
    """Integrate the self-consistent Born-Markov dynamics from the normal steady state plus a
    pair seed (rho_k[1,2] = rho_k[0,3] = ``seed``), or from ``rho_init``.  h_k(Δ(t)) is the
    full Nambu matrix of :meth:`keldysh.nambu.ModeArrays.hamiltonian` (both drive blocks)."""
    t0 = time.perf_counter()
    h0 = modes.hamiltonian()
    g = modes.gamma
    n = nambu_occupations(modes.occupation)
    M = len(modes)
    Mc = coupling_matrix(V, Vprime)
    w = modes.weight
    if rho_init is None:
        rho = lyapunov_steady_state(h0, g, n)
        for (i, j), sign in PAIR_ELEMENTS:  # both pair amplitudes raised by ``seed``
            rho[:, i, j] += sign * seed
            rho[:, j, i] += sign * np.conj(seed)
    else:
        rho = np.array(rho_init, dtype=complex)
    Q = 2 * (g * n)[:, :, None] * np.eye(4)
    G = g[:, :, None] * np.eye(4)

    def rhs(_t, y):
        r = y.view(complex).reshape(M, 4, 4)
        dp, dm = Mc @ pair_sums(w, r)
        hr = modes.hamiltonian(dp, dm) @ r
        d = -1j * (hr - np.conj(np.swapaxes(hr, -1, -2))) - (G @ r + r @ G) + Q
        return d.reshape(-1).view(float)

    t_eval = np.linspace(0, t_end, n_out)
    sol = solve_ivp(rhs, (0, t_end), rho.reshape(-1).view(float).copy(), method="DOP853",
                    t_eval=t_eval, rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"mean-field integration failed: {sol.message}")
    R = sol.y.T.copy().view(complex).reshape(-1, M, 4, 4)
    S = pair_sums(w, R)
    D = S @ Mc.T
    return Trajectory(sol.t, D[:, 0], D[:, 1], S[:, 0], S[:, 1], R[-1], time.perf_counter() - t0,
                      {"V": V, "Vprime": complex(Vprime), "rtol": rtol, "atol": atol, "seed": seed})


def fit_growth_rate(t, amplitude, window=(0.3, 0.8)) -> float:
    """Slope of log|amplitude| by least squares over the fraction ``window`` of the run."""
    t = np.asarray(t)
    a, b = window
    sel = (t >= t[0] + a * (t[-1] - t[0])) & (t <= t[0] + b * (t[-1] - t[0]))
    return float(np.polyfit(t[sel], np.log(np.abs(amplitude[sel])), 1)[0])
