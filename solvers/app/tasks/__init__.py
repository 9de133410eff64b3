"""The tasks of ``keldysh-run``: a validated :class:`~solvers.app.config.Config` -> physics -> data.

Every task is a function ``run_<task>(cfg, comm=None, progress=None, hooks=None) -> dict``
returning the sections of a results file as nested dicts of numpy arrays and scalars::

    {"results": {...}, "mesh": {...}, "grids": {...}, "history": {...}}

ready for :func:`keldysh.io.write_results`; scans add a ``"checkpoint"`` section (the state
needed to resume).  ``comm`` is an MPI communicator or None (serial); every rank calls the
task and gets the same reduced numbers, only the caller decides who writes.  ``progress``
reports work units (:class:`Progress`); ``hooks`` (:class:`ScanHooks`) lets a scan resume
from, and checkpoint to, a file and stop early (:class:`~.driver.ScanDriver`, the resumable
scan loop apart from the physics).  Tasks never print and never write files.  One module
per task; the physics objects come from the config (``cfg.system``, ``cfg.mesh``).

=================  ==========================================================================
task               what it computes
=================  ==========================================================================
``eta-map``        circular dichroism η(k) (Eq. 2) on a uniform grid over the first Brillouin
                   zone, for model.delta or every δ of a ``delta`` scan; which centre is K+
``susceptibility`` chi_±(ν) (spec §6) of every route at ν = 0 and on the ν grid
``phase-diagram``  certified critical couplings V_c under the paper and the full criterion
                   for every route (:func:`solvers.stability.phase_point`) along a scan of
                   Ω/Γ, Ω, ω0, ω0 - δ or μ2; the K+ polarisation P(μ2) for μ2 scans
``gap``            nonzero steady state (Δ+, Δ-, ν) of the gap equation (:func:`solvers.gap.solve_gap`)
``gap-map``        branches of the gap equation in a window of V from the full criterion's
                   bifurcation points, by continuation, with their stability, bifurcation type
                   and time-integration checks (:func:`solvers.continuation.gap_map`)
``spectral``       A(k, ω) and the occupied weight -iG^<(k, ω) (spec §3) on the cut through K+
                   along kx, the distribution -iG^</A, and the populations n22_k, 1 - n11_k
``threshold``      a TMD monolayer in laboratory units (spin-orbit sectors, spec §9): the laser
                   intensity at which the full and the paper criterion first find an
                   instability, certified (:func:`solvers.threshold.find_threshold`)
=================  ==========================================================================

Array axes: scans first (n_scan, ...), then |V'| values (n_v), then boundaries (phase-diagram:
layout in :mod:`solvers.stability.results`).  Spectral data: (n_cut, n_omega, 4) with the
Nambu modes (c_k1, c_k2, c+_-k1, c+_-k2) last.

Route names mean the same everywhere (:data:`solvers.stability.ROUTES`): "keldysh" is the
exact Keldysh answer (the closed-form pole-sum linear response in the susceptibility and
phase-diagram tasks, the exact pole sum of the correlators in the gap task and the spectral
populations), "quadrature" its frequency-quadrature oracle, "poles" finite-Δ differences of
the pole sum, "born_markov" the Lyapunov (Lindblad) limit, "paper" the paper's Eq. (9)/(13).
"""
from __future__ import annotations

from collections.abc import Callable

from .driver import Interrupted, Progress, ScanDriver, ScanHooks, scan_resume_state
from .eta_map import run_eta_map
from .gap import run_gap
from .gap_map import run_gap_map
from .phase_diagram import run_phase_diagram
from .spectral import run_spectral
from .threshold import run_threshold
from .susceptibility import run_susceptibility

__all__ = [
    "TASKS",
    "CHECKPOINTING_TASKS",
    "Progress",
    "ScanHooks",
    "ScanDriver",
    "Interrupted",
    "scan_resume_state",
    "run_eta_map",
    "run_susceptibility",
    "run_phase_diagram",
    "run_gap",
    "run_gap_map",
    "run_spectral",
    "run_threshold",
]

#: tasks that checkpoint after every scan point and can be resumed
CHECKPOINTING_TASKS = ("phase-diagram", "threshold")

#: task name -> function
TASKS: dict[str, Callable[..., dict]] = {
    "eta-map": run_eta_map,
    "susceptibility": run_susceptibility,
    "phase-diagram": run_phase_diagram,
    "gap": run_gap,
    "gap-map": run_gap_map,
    "spectral": run_spectral,
    "threshold": run_threshold,
}
