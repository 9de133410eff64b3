"""Exact single-k Floquet check of the rotating-wave approximation (spec §2, §9).

The engine treats circularly polarised light in the rotating-wave approximation (RWA): in the
rotating frame of spec §2 a driven k is the 2x2 problem (spec §9 convention
h[1,0] = Omega_k, h[0,1] = conj(Omega_k))::

    [[E_k1 + omega0/2, conj(Omega_k)],
     [Omega_k,         E_k2 - omega0/2]],        splitting  sqrt(eps_k^2 + 4 |Omega_k|^2),

with eps_k = 2 e_k - omega0 and, for sigma+ light on the whole zone ("circular" pattern),
Omega_k = Omega P_+(k) / |P_+(K+)|.  This module solves the same k without that approximation.

**Lab-frame problem.**  Peierls substitution (units e = hbar = a = 1) in the Bloch Hamiltonian
of spec §1: H(t) = H(k + A(t)) with the circularly polarised vector potential::

    A(t) = A0 (cos(omega0 t + phi), s sin(omega0 t + phi)),      s = +1.

To first order, A(t).grad H = (A0/2) [(dH/dkx + i dH/dky) e^{-i(omega0 t + phi)}
+ (dH/dkx - i dH/dky) e^{+i(omega0 t + phi)}], whose interband element <u_2k| . |u_1k> is
(A0/2) [P_+(k) e^{-i(omega0 t + phi)} + P_-(k) e^{+i(omega0 t + phi)}]  (the paper's Eq. 2 for
P_pm).  With s = +1 the resonant (e^{-i omega0 t}, spec §2) coupling is therefore P_+: the
light is sigma+ in the engine's sense, it couples the bands at K+ (|P_+| = |P_+(K+)|, P_- = 0)
and not at K- (P_+ = 0) to first order.  Comparing with the lab-frame drive
Omega_k e^{-i omega0 t} c+_k2 c_k1 of spec §2 gives, at phi = 0 and in the Bloch gauge of
:meth:`keldysh.lattice.HoneycombModel.bloch_vectors`::

    Omega_k = (A0/2) P_+(k),   hence   Omega = (A0/2) |P_+(K+)|   (|P_+(K+)| = 3t),

i.e. A0 = 2 Omega / |P_+(K+)| (:func:`a1_for_rabi`, inverse :func:`rabi_for_a1`).  The second
term, (A0/2) P_-(k), is the counter-rotating coupling the RWA drops; the second-order Peierls
term (A0^2/4) (d^2/dkx^2 + d^2/dky^2) H = -(A0^2/4) [[0, h], [h*, 0]] renormalises the hopping.

**Floquet-Sambe matrix.**  H(t) = sum_m H^(m) e^{-i m omega0 t}; the Fourier components are
computed exactly (to rounding: the true harmonics fall off as Bessel functions J_m(A0), so for
A0 <~ 1 the aliases of harmonic 2N + 1 and beyond are far below 1e-16) by FFT of H(k + A(t))
over ``n_samples`` points of one period.  A
Floquet state e^{-i q t} sum_n phi_n e^{-i n omega0 t} solves::

    q phi_m = sum_n [H^(m-n) - n omega0 delta_mn] phi_n,       m, n = -N..N,

a Hermitian matrix of size 2(2N+1) (index (n + N) * 2 + orbital, orbitals = the sublattices of
spec §1).  Sector (n, band a) has the bare quasi-energy E_ka - n omega0: the RWA pair
(band 1, n = 0) and (band 2, n = +1) sits at -e_k and e_k - omega0, i.e. at the RWA levels
shifted by -omega0/2 (a common shift; the splitting is unchanged).  The two quasi-energies
that continue the RWA levels are the two Sambe eigenvectors with the largest weight
|<u_1k, 0|v>|^2 + |<u_2k, +1|v>|^2 (chosen by overlap, never by sorted index).

**Resonance shift.**  Beyond the RWA the pair sees an effective detuning eps_k + delta_k and
coupling |Omega_k| (1 + O(Omega^2/omega0^2)).  To second order in A0 (perturbation theory in
the counter-rotating coupling c = (A0/2) P_-(k), whose partners lie 2 e_k + omega0 away, and
first order in the hopping renormalisation; the intraband terms A.grad E_ka shift nothing at
this order, their +-omega0 sidebands cancel)::

    delta_k = 2 |c|^2 / (2 e_k + omega0)  -  (A0^2/2) |h(k)|^2 / e_k
            = Bloch-Siegert shift         +  Peierls (diamagnetic) shift.

:func:`second_order_shift` is this formula; :func:`resonance_fit` extracts eps_k + delta_k and
the effective Rabi amplitude from the exact quasi-energies (a parabola in omega0 of the squared
splitting).  At the resonance itself the splitting is sqrt(delta_k^2 + 4|Omega_k|^2): its
deviation from 2|Omega_k| is second order in delta_k, i.e. O(Omega^3/omega0^2).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from .lattice import HoneycombModel

__all__ = [
    "POLARISATION_SIGN",
    "a1_for_rabi",
    "rabi_for_a1",
    "vector_potential",
    "hamiltonian_harmonics",
    "sambe_matrix",
    "floquet_quasienergies",
    "FloquetPair",
    "floquet_pair",
    "floquet_splitting",
    "rwa_rabi",
    "rwa_splitting",
    "second_order_shift",
    "ResonanceFit",
    "resonance_fit",
    "ring_point",
]

#: s in A(t) = A0 (cos w0 t, s sin w0 t): +1 makes the light sigma+ (resonant coupling ∝ P_+).
POLARISATION_SIGN = +1


def _k(k) -> np.ndarray:
    k = np.asarray(k, dtype=float)
    if k.shape != (2,):
        raise ValueError(f"k: must be one momentum of shape (2,), got shape {k.shape}")
    if not np.all(np.isfinite(k)):
        raise ValueError(f"k: must be finite, got {k.tolist()}")
    return k


def _positive(name, value, *, strict=True) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a real number, got {value!r}") from None
    if not np.isfinite(v) or v < 0 or (strict and v == 0):
        raise ValueError(f"{name}: must be finite and {'> 0' if strict else '>= 0'}, got {value!r}")
    return v


def _p_plus_centre(model: HoneycombModel) -> float:
    """|P_+(K+)| (= 3t for the vectors of spec §1)."""
    pp, _ = model.velocity_elements(model.valley_centres()["K+"])
    return float(np.abs(pp))


def a1_for_rabi(model: HoneycombModel, Omega: float) -> float:
    """Vector-potential amplitude A0 whose one-photon Rabi amplitude at K+ is Omega.

    First order in A0 (module docstring): Omega = (A0/2) |P_+(K+)|, so A0 = 2 Omega / |P_+(K+)|
    (= 2 Omega / (3t) for spec §1).  Units e = hbar = a = 1.
    """
    return 2.0 * _positive("Omega", Omega, strict=False) / _p_plus_centre(model)


def rabi_for_a1(model: HoneycombModel, A0: float) -> float:
    """Inverse of :func:`a1_for_rabi`: Omega = (A0/2) |P_+(K+)|."""
    return 0.5 * _positive("A0", A0, strict=False) * _p_plus_centre(model)


def vector_potential(A0: float, omega0: float, t, phase: float = 0.0) -> np.ndarray:
    """A(t) = A0 (cos(omega0 t + phase), s sin(omega0 t + phase)), s = POLARISATION_SIGN.

    Shape (..., 2) for t of shape (...).  ``phase`` shifts the time origin.
    """
    tau = omega0 * np.asarray(t, dtype=float) + phase
    return A0 * np.stack([np.cos(tau), POLARISATION_SIGN * np.sin(tau)], axis=-1)


def _n_samples(n_harmonics: int, n_samples: int | None) -> int:
    need = 4 * n_harmonics + 1  # harmonics -2N..2N enter the Sambe matrix
    if n_samples is None:
        return int(2 ** np.ceil(np.log2(max(64, 2 * need))))
    n_samples = int(n_samples)
    if n_samples < need:
        raise ValueError(f"n_samples: must be >= 4 n_harmonics + 1 = {need}, got {n_samples}")
    return n_samples


def hamiltonian_harmonics(model: HoneycombModel, k, A0: float, omega0: float, n_harmonics: int,
                          *, phase: float = 0.0, n_samples: int | None = None) -> np.ndarray:
    """Fourier components H^(m)(k), m = -2N..2N, of H(k + A(t)) = sum_m H^(m) e^{-i m omega0 t}.

    H^(m) = (1/S) sum_j H(k + A(t_j)) e^{+i m omega0 t_j}, t_j = 2 pi j / (S omega0), by FFT
    over S = ``n_samples`` points of one period (default: a power of two >= max(64, 8N + 2)).
    Returns an array of shape (4N + 1, 2, 2), index m + 2N.
    """
    k = _k(k)
    A0 = _positive("A0", A0, strict=False)
    omega0 = _positive("omega0", omega0)
    n_harmonics = int(n_harmonics)
    if n_harmonics < 0:
        raise ValueError(f"n_harmonics: must be >= 0, got {n_harmonics}")
    S = _n_samples(n_harmonics, n_samples)
    t = 2 * np.pi * np.arange(S) / (S * omega0)
    H_t = model.hamiltonian(k + vector_potential(A0, omega0, t, phase))  # (S, 2, 2)
    coeff = np.fft.ifft(H_t, axis=0)  # (1/S) sum_j H_j e^{+2 pi i j m / S}
    m = np.arange(-2 * n_harmonics, 2 * n_harmonics + 1)
    return coeff[m % S]


def sambe_matrix(harmonics: np.ndarray, omega0: float) -> np.ndarray:
    """Floquet-Sambe matrix [H_mn] = H^(m-n) - n omega0 delta_mn, m, n = -N..N.

    ``harmonics``: H^(m) for m = -2N..2N (shape (4N + 1, 2, 2), as from
    :func:`hamiltonian_harmonics`).  Returns shape (2(2N+1), 2(2N+1)), index (n + N) * 2 + orbital.
    """
    harmonics = np.asarray(harmonics)
    n_h = harmonics.shape[0]
    if harmonics.shape[1:] != (2, 2) or n_h % 4 != 1:
        raise ValueError(f"harmonics: must have shape (4N + 1, 2, 2), got {harmonics.shape}")
    N = (n_h - 1) // 4
    D = 2 * N + 1
    n = np.arange(-N, N + 1)
    blocks = harmonics[(n[:, None] - n[None, :]) + 2 * N]  # (D, D, 2, 2), block (m, n) = H^(m-n)
    F = blocks.transpose(0, 2, 1, 3).reshape(2 * D, 2 * D).astype(complex)
    F -= np.diag(np.repeat(n * omega0, 2))
    return F


def floquet_quasienergies(model: HoneycombModel, k, A0: float, omega0: float, n_harmonics: int,
                          *, phase: float = 0.0, n_samples: int | None = None
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Quasi-energies q and Sambe eigenvectors of H(k + A(t)) truncated to harmonics -N..N.

    Returns (q, V): q of shape (2(2N+1),) in ascending order, V[:, j] the eigenvector of q[j]
    in the Sambe index (n + N) * 2 + orbital.  Only the quasi-energies well inside the
    truncation window (|n| << N) are converged.  At A0 = 0 they are exactly
    {E_ka - n omega0 : a = 1, 2; n = -N..N}.
    """
    F = sambe_matrix(hamiltonian_harmonics(model, k, A0, omega0, n_harmonics,
                                           phase=phase, n_samples=n_samples), omega0)
    return np.linalg.eigh(F)


def _sector_vector(model: HoneycombModel, k, n_harmonics: int, band: int, n: int) -> np.ndarray:
    u1, u2 = model.bloch_vectors(k)
    vec = np.zeros(2 * (2 * n_harmonics + 1), dtype=complex)
    i = (n + n_harmonics) * 2
    vec[i:i + 2] = u1 if band == 1 else u2
    return vec


@dataclass(frozen=True)
class FloquetPair:
    """The two quasi-energies that continue the RWA levels of one k.

    ``quasienergies``: the pair (ascending); ``weights``: their weight on the RWA sectors
    (band 1, n = 0) + (band 2, n = +1) (each 1 at A0 -> 0; the two add to <= 2);
    ``runner_up``: the largest such weight among the other Sambe states (must stay << 1);
    ``A0``, ``n_harmonics``: what was solved.
    """

    quasienergies: tuple[float, float]
    weights: tuple[float, float]
    runner_up: float
    A0: float
    n_harmonics: int

    @property
    def splitting(self) -> float:
        return self.quasienergies[1] - self.quasienergies[0]


def floquet_pair(model: HoneycombModel, k, A0: float, omega0: float, n_harmonics: int = 8,
                 *, phase: float = 0.0, n_samples: int | None = None) -> FloquetPair:
    """Solve the Sambe problem and pick the RWA pair by overlap with the Bloch states.

    Weight of Sambe eigenvector v: |<u_1k, n=0|v>|^2 + |<u_2k, n=+1|v>|^2.  The two largest
    are taken; raises RuntimeError unless both exceed 1/2 and every other is below 1/2 (then
    the choice cannot depend on eigensolver order or rounding).
    """
    k = _k(k)
    if int(n_harmonics) < 2:
        raise ValueError(f"n_harmonics: must be >= 2 (the pair uses n = 0, +1), got {n_harmonics}")
    q, V = floquet_quasienergies(model, k, A0, omega0, n_harmonics, phase=phase, n_samples=n_samples)
    s1 = _sector_vector(model, k, n_harmonics, 1, 0)
    s2 = _sector_vector(model, k, n_harmonics, 2, +1)
    w = np.abs(s1.conj() @ V) ** 2 + np.abs(s2.conj() @ V) ** 2
    chosen = np.flatnonzero(w > 0.5)
    if chosen.size != 2:
        raise RuntimeError(
            f"no clean RWA pair at k={k.tolist()}, A0={A0}: {chosen.size} Sambe states have weight "
            f"> 1/2 on the (band 1, n=0) + (band 2, n=+1) sectors (largest {np.sort(w)[-3:].tolist()})")
    others = np.delete(w, chosen)
    pair = sorted(zip(q[chosen].tolist(), w[chosen].tolist()))
    return FloquetPair(quasienergies=(pair[0][0], pair[1][0]), weights=(pair[0][1], pair[1][1]),
                       runner_up=float(others.max()), A0=float(A0), n_harmonics=int(n_harmonics))


def floquet_splitting(model: HoneycombModel, k, Omega: float, omega0: float,
                      n_harmonics: int | None = None, *, phase: float = 0.0,
                      tol: float = 1e-11, max_harmonics: int = 64) -> float:
    """Exact splitting of the two quasi-energies continuing the RWA levels, at Rabi amplitude Omega.

    A0 = :func:`a1_for_rabi` (model, Omega); the pair is chosen by :func:`floquet_pair`.  With
    ``n_harmonics=None`` N runs 4, 8, 12, ... until two successive splittings agree to ``tol``
    (RuntimeError if not by ``max_harmonics``).  The RWA counterpart is :func:`rwa_splitting`.
    """
    A0 = a1_for_rabi(model, Omega)
    if n_harmonics is not None:
        return floquet_pair(model, k, A0, omega0, n_harmonics, phase=phase).splitting
    previous = floquet_pair(model, k, A0, omega0, 4, phase=phase).splitting
    for N in range(8, max_harmonics + 1, 4):
        current = floquet_pair(model, k, A0, omega0, N, phase=phase).splitting
        if abs(current - previous) <= tol:
            return current
        previous = current
    raise RuntimeError(f"floquet_splitting: not converged to {tol} by N = {max_harmonics}")


def rwa_rabi(model: HoneycombModel, k, Omega: float, pattern: str = "circular") -> complex:
    """Omega_k of the RWA drive patterns (spec §2, §9).

    ``"circular"``: Omega_k = Omega P_+(k) / |P_+(K+)| on the whole zone (spec §9, complex, in the
    Bloch gauge of ``bloch_vectors``); ``"valley"``: Omega on K+ (η(k) > 0), 0 on K-.
    """
    k = _k(k)
    Omega = _positive("Omega", Omega, strict=False)
    if pattern == "circular":
        pp, _ = model.velocity_elements(k)
        return complex(Omega * pp / _p_plus_centre(model))
    if pattern == "valley":
        return complex(Omega if model.eta(k) > 0 else 0.0)
    raise ValueError(f"pattern: must be 'circular' or 'valley', got {pattern!r}")


def rwa_splitting(model: HoneycombModel, k, Omega: float, omega0: float, pattern: str = "circular") -> float:
    """RWA splitting sqrt(eps_k^2 + 4 |Omega_k|^2), eps_k = 2 e_k - omega0 (spec §2, §9)."""
    k = _k(k)
    eps = 2 * float(model.energy(k)) - _positive("omega0", omega0)
    return float(np.hypot(eps, 2 * abs(rwa_rabi(model, k, Omega, pattern))))


def second_order_shift(model: HoneycombModel, k, Omega: float, omega0: float) -> tuple[float, float]:
    """Second-order (in A0) shift of the effective detuning: (Bloch-Siegert, Peierls) parts.

    delta_BS = 2 |c|^2 / (2 e_k + omega0), c = (A0/2) P_-(k) (counter-rotating coupling);
    delta_P = -(A0^2/2) |h(k)|^2 / e_k (hopping renormalisation h -> h (1 - A0^2/4));
    A0 = :func:`a1_for_rabi` (model, Omega).  The effective detuning is eps_k + delta_BS + delta_P.
    """
    k = _k(k)
    A0 = a1_for_rabi(model, Omega)
    e = float(model.energy(k))
    _, pm = model.velocity_elements(k)
    bs = 2 * abs(0.5 * A0 * pm) ** 2 / (2 * e + _positive("omega0", omega0))
    peierls = -0.5 * A0**2 * abs(model.h(k)) ** 2 / e
    return float(bs), float(peierls)


@dataclass(frozen=True)
class ResonanceFit:
    """Effective two-level parameters of the exact Floquet pair at one k.

    The squared splitting S^2(w) at the three drive frequencies w = omega0 - d, omega0,
    omega0 + d (fixed Omega) is fitted by a w^2 + b w + c; then ``detuning`` = eps_k + delta_k
    (the effective detuning at omega0, the position of the minimum measured from omega0),
    ``shift`` = delta_k, ``rabi`` = |Omega_k|_eff = sqrt(min S^2) / 2, ``curvature`` = a
    (1 for a two-level pair whose parameters do not vary with w; checks the reading).
    """

    detuning: float
    shift: float
    rabi: float
    curvature: float
    splitting: float


def resonance_fit(model: HoneycombModel, k, Omega: float, omega0: float, n_harmonics: int = 12,
                  d_omega: float | None = None) -> ResonanceFit:
    """Effective detuning and Rabi amplitude of the exact Floquet pair (see :class:`ResonanceFit`).

    ``d_omega`` defaults to max(Omega, 1e-3 omega0).  The parameters drift with w by
    O(delta_k d_omega / omega0), which bounds the fit's error.
    """
    k = _k(k)
    omega0 = _positive("omega0", omega0)
    d = max(float(Omega), 1e-3 * omega0) if d_omega is None else _positive("d_omega", d_omega)
    A0 = a1_for_rabi(model, Omega)
    S = np.array([floquet_pair(model, k, A0, omega0 + x, n_harmonics).splitting for x in (-d, 0.0, d)])
    s2 = S**2
    a = (s2[2] + s2[0] - 2 * s2[1]) / (2 * d**2)
    b = (s2[2] - s2[0]) / (2 * d)  # derivative at omega0
    # S^2 = a (x - x*)^2 + S_min^2 with x = w - omega0:  x* = -b/(2a) = eps_k + delta_k
    x_star = -b / (2 * a)
    s2_min = s2[1] - a * x_star**2
    eps = 2 * float(model.energy(k)) - omega0
    return ResonanceFit(detuning=float(x_star), shift=float(x_star - eps),
                        rabi=float(0.5 * np.sqrt(max(s2_min, 0.0))), curvature=float(a),
                        splitting=float(S[1]))


def ring_point(model: HoneycombModel, valley: str, omega0: float, theta: float = 0.0) -> np.ndarray:
    """The point of the resonance ring e_k = omega0/2 around valley ``"K+"`` or ``"K-"`` in direction theta.

    k = K + q (cos theta, sin theta), q found by bracketing (needs delta < omega0 and the ring
    inside the valley: q < 1 is searched).
    """
    if valley not in ("K+", "K-"):
        raise ValueError(f"valley: must be 'K+' or 'K-', got {valley!r}")
    omega0 = _positive("omega0", omega0)
    centre = model.valley_centres()[valley]
    direction = np.array([np.cos(theta), np.sin(theta)])

    def f(q):
        return float(model.energy(centre + q * direction)) - omega0 / 2

    q_max = 1.0  # inside the valley in every direction (|K - M| = 2 pi / (3 sqrt 3) ≈ 1.21)
    if not (f(0.0) < 0 < f(q_max)):
        raise ValueError(f"no resonance ring within q < {q_max} of {valley} for omega0={omega0}, "
                         f"delta={model.delta}")
    q = brentq(f, 0.0, q_max, xtol=1e-15, rtol=1e-15)
    return centre + q * direction
