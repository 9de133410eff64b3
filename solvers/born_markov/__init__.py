"""Born-Markov (Lindblad) limit: exact steady state per k and the paper's closed forms.

Spec §4.  Each mode's occupation is frozen at its bare lab-frame value
(n_F(E_ka - μ_{v,a}); holes 1 - n_F), and the equal-time matrix of each k block
solves the Lyapunov equation

    (-i h - Γ) rho + rho (i h - Γ) + 2 Γ n = 0,

the steady state of the paper's Lindblad equation (7) with population rates 2Γ_a.
The exact solution (:func:`steady_state`) is compared with the paper's closed forms:

* Eqs. (10)-(11): populations n^22_k, n^11_k of a driven k at Δ = 0
  (:func:`eq10_n22`, :func:`eq11_n11`);
* Eq. (13): the real pair kernel F_± (:func:`eq13_kernel`);
* Eq. (14): F_+ as an energy integral with the density of states (:func:`eq14_kernel`);
* Eq. (15): F_- = -(γ2/γ1) F_+ (:func:`eq15_kernel_minus`);
* Eq. (17): F_+ in closed form for t ≳ δ ≫ Ω, Γ at μ = -Γ/2 (:func:`eq17_kernel`);
* the width W of the resonance in Eq. (10) (:func:`resonance_width`).

Linear response at Δ = 0 (spec §6, §9): the 2x2 pair susceptibility matrix chi_ab(z),
a, b ∈ {+, -}, in closed form per sample (:func:`pair_response_matrix`), its k-weighted
sum (:func:`pair_response_matrix_sum`, numba; the hot path of frequency scans) and the
16x16 Sylvester twin (:func:`pair_response_matrix_sylvester`).  With the whole-zone drive
of spec §9 ("circular") both diagonal blocks of h are driven and chi is a full matrix; for
the K+-only patterns its off-diagonal entries vanish and its diagonal is
:func:`pair_response` (chi_+, chi_-).

Notation: Γ = Γ1 + Γ2 (sum of amplitude rates), γ_a = Γ_a/Γ,
Ω~² = Ω²/(ε² + Γ²), ε_k = E_k2 - E_k1 - ω0 the detuning, E_k = -2μ the pair energy.
"""
from __future__ import annotations

from .closed_forms import (_driven_block, _eq13_summand, _rabi_factor, eq10_n22, eq11_n11, eq13_kernel,
                           eq14_kernel, eq15_kernel_minus, eq17_kernel, paper_kernel_samples, paper_kernels,
                           resonance_width)
from .exact import (_inv_apply, normal_state, normal_state_lyapunov, pair_response, pair_response_matrix,
                    pair_response_matrix_sylvester, pair_response_sylvester, populations, steady_state)
from .sums import (PairResponseSums, _kernel_coefficients, _pair_response_matrix_sums, _sum_arguments,
                   pair_response_matrix_sum, pair_response_matrix_sum_numpy, pair_response_sum)

__all__ = [
    "steady_state",
    "populations",
    "pair_response",
    "pair_response_sum",
    "pair_response_sylvester",
    "pair_response_matrix",
    "pair_response_matrix_sum",
    "PairResponseSums",
    "pair_response_matrix_sum_numpy",
    "pair_response_matrix_sylvester",
    "normal_state",
    "normal_state_lyapunov",
    "eq10_n22",
    "eq11_n11",
    "eq13_kernel",
    "paper_kernels",
    "paper_kernel_samples",
    "eq14_kernel",
    "eq15_kernel_minus",
    "eq17_kernel",
    "resonance_width",
]
