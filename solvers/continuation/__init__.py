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

from .bifurcation import Bifurcation, locate_bifurcation
from .branch import Branch, BranchPoint, ContinuationOptions, classify, continue_branch
from .gapmap import GapMap, GapMapOptions, IntegrationCheck, gap_map, integration_check
from .linear import GENERATORS, BlockSum, Linearisation, block_pair_sums
from .spectrum import Spectrum, StabilityOptions, stability_spectrum
from .tree import branch_from_tree, gap_map_from_tree, gap_map_tree

__all__ = [
    "GENERATORS", "BlockSum", "block_pair_sums", "Linearisation", "Spectrum", "StabilityOptions", "stability_spectrum",
    "Bifurcation", "locate_bifurcation", "ContinuationOptions", "BranchPoint", "Branch",
    "continue_branch", "classify", "IntegrationCheck", "integration_check", "GapMap",
    "GapMapOptions", "gap_map", "branch_from_tree", "gap_map_from_tree", "gap_map_tree",
]
