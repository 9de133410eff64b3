"""Exact linear pair response of normal-state blocks by pole sums (spec §3, §6, §7, §9).

One normal-state (Δ = 0) Nambu block per sample: h (4x4, Hermitian) is block diagonal
with a particle block on Ψ indices {0, 1} (c_k1, c_k2) and a hole block on {2, 3}
(c†_-k1, c†_-k2).  Today the hole block is undriven (h[2,3] = 0); the "circular" drive of
spec §9 makes h[2,3] = -Ω_{-k}, h[3,2] = -conj(Ω_{-k}), which is supported.  With amplitude
rates Γ (4,), G^R(ω) = [ω - h + iΓ]^{-1} and occupations n_i(ω) = n_F(ω - m_i) at T_i (or
frozen constants, ``frozen`` ≥ 0, as in :mod:`keldysh.greens`), the response of the
equal-time matrix to δh e^{-izt} (Im z ≥ 0) is the Langreth rule

    X[δh] = ∫ dω/2π [G^R(ω + z) δh P(ω) + P(ω) δh G^A(ω - z)],   P = G^R 2Γn G^A.

Pair fields S_+ = rho_12, S_- = -rho_03 (spec §3); the gaps enter as δh = E_12 (Δ_+) and
δh = -E_03 (Δ_-), E_ab the matrix unit.  The response matrix (spec §9)

    chi[a, b] = ∂S_a/∂Δ_b,  a, b ∈ (+, -):
    chi[0,0] = X_12[E_12],  chi[0,1] = -X_12[E_03],  chi[1,0] = -X_03[E_12],  chi[1,1] = X_03[E_03].

Axis order: per-sample results are (n_k, 2, 2) = (sample, a, b); frequency scans
(:meth:`PoleResponse.weighted_sum`) are (n_z, 2, 2).

**Pole sum.**  Each 2x2 block of h - iΓ is diagonalised in closed form,
h - iΓ = R diag(λ) L (L = R^{-1}), so G^R(ω) = Σ_j R_{:j} L_{j:} /(ω - λ_j), and with the
spectral projector components A_{i j c} = R_ij L_jc of each block (i, c Ψ indices of
the block, j its eigen-index), I = (1, 0) and J = (2, 3) the Ψ indices of (S_+, S_-),
s = (1, -1):

    chi[a,b] = s_a s_b Σ_p A^P_{I_a p I_b} Σ_{q,r,l ∈ H} 2Γ_l A^H_{J_b q l} conj(A^H_{J_a r l}) K_l(λ_p - z, λ_q, λ̄_r)
             + s_a s_b Σ_{p ∈ H} conj(A^H_{J_a p J_b}) Σ_{q,r,l ∈ P} 2Γ_l A^P_{I_a q l} conj(A^P_{I_b r l}) K_l(λ_q, λ̄_r, λ̄_p + z),

    K_l(a, b, c) = ∫ dω/2π n_l(ω) / ((ω - a)(ω - b)(ω - c)) = Φ_l[a, b, c] / 2π,

the second divided difference of Φ_l(p) = "∫ dω n_l(ω)/(ω - p)" (defined up to a constant
per half plane, the one below is consistent with :func:`keldysh.greens.pair_integral`):

* T = 0:   Φ(p) = Log(m - p) - iπ (Im p < 0),   Log(m - p) + iπ (Im p > 0);
* T > 0:   Φ(p) = ψ(1/2 + i(p - m)/(2πT)) - iπ (Im p < 0),   ψ(1/2 - i(p - m)/(2πT)) (Im p > 0);
* frozen:  Φ(p) = -iπ n (Im p < 0),   +iπ n (Im p > 0).

In the first term a, b lie below the real axis and c above; in the second b below,
c and d = λ̄_p + z above (and Φ(λ̄) = conj Φ(λ) + κ, κ = -iπ at T > 0, else 0, halves the
set-up).  Φ[a,b,c] = (Φ[a,b] - Φ[b,c])/(a - c): the opposite-half-plane differences are
never confluent (|a - c| ≥ Γ_i + Γ_j); the same-half-plane first difference is (nearly)
confluent at the pair resonance z = λ_p - λ_q (e.g. ν = -2μ with equal rates; because the
pair dispersion is flat, every sample of the resonance shell is near it) and is evaluated
stably: at T = 0 as the plain quotient for |u| > 1e-2, u = (a - b)/(m - b) (rounding
≲ eps |Log|/|u| ≤ 1e-13), else as -g(-u)/(m - b) with g(v) = log1p(v)/v by its series; at
T > 0 with x = 1/2 ± i(p - m)/(2πT) as the plain quotient for |x_a - x_b| > 1e-2 |x_b|, else
as ψ[x_a, x_b] dx/dp from the recurrence ψ(x) = ψ(x + 1) - 1/x (whose terms have the exact
divided differences 1/((x_a + k)(x_b + k))) up to |x| ≥ 12 and the asymptotic series, each
term's divided difference in closed form (log via log1p; y^{-n} via r_a r_b h_{n-1}(r_a, r_b)).

Accuracy: relative ~1e-13 against converged quadrature where the response is not small.
Terms 1 and 2 are each O(1/Γ) and cancel where the pair is Pauli blocked (e.g. both modes
full), so the absolute error is ~1e-16/Γ there.  The eigenvector matrices are unitary for
equal rates within a block; with unequal rates the error grows like cond(R)·eps near the
exceptional point (zero detuning, |Ω| = |Γ_0 - Γ_1|/2), and a block with cond(R) > 1e8 is
rejected.

Routes (tested against each other and against independent oracles in tests/test_response.py):

* :class:`PoleResponse` / :func:`pair_response_poles` — numba, the fast path;
* :func:`pair_response_poles_numpy` — its slow twin (np.linalg.eig, scipy's ψ, plain
  difference quotients: not for (nearly) confluent poles);
* :func:`pair_response_matrix_quadrature` — all four entries by quadrature on the grids
  of :func:`keldysh.greens.response_grids` (any Hermitian h, also Δ ≠ 0), the oracle.
"""
from __future__ import annotations

from .numpy_twin import pair_response_poles_numpy
from .pole_response import PoleResponse, pair_response_poles
from .quadrature import pair_response_matrix_quadrature

__all__ = [
    "PoleResponse",
    "pair_response_poles",
    "pair_response_poles_numpy",
    "pair_response_matrix_quadrature",
]
