"""The tasks of ``keldysh-run``: a validated :class:`~solvers.app.config.Config` -> physics -> data.

Every task is a function ``run_<task>(cfg, comm=None, progress=None, hooks=None) -> dict``
returning the sections of a results file as nested dicts of numpy arrays and scalars::

    {"results": {...}, "mesh": {...}, "grids": {...}, "history": {...}}

ready for :func:`keldysh.io.write_results`; scans add a ``"checkpoint"`` section (the state
needed to resume).  ``comm`` is an MPI communicator or None (serial); every rank calls the
task and gets the same reduced numbers, only the caller decides who writes.  ``progress``
reports work units (:class:`Progress`); ``hooks`` (:class:`ScanHooks`) lets a scan resume
from, and checkpoint to, a file and stop early.  Tasks never print and never write files.

=================  ==========================================================================
task               what it computes
=================  ==========================================================================
``eta-map``        circular dichroism η(k) (Eq. 2) on a uniform grid over the first Brillouin
                   zone, for model.delta or every δ of a ``delta`` scan; which centre is K+
``susceptibility`` chi_±(ν) (spec §6) of every route at ν = 0 and on the ν grid
``phase-diagram``  critical couplings V_c (both branches) under the paper and the full
                   criterion for every route (:func:`solvers.scan.phase_point`) along a scan of
                   Ω/Γ, Ω or μ2; the K+ polarisation P(μ2) for μ2 scans
``gap``            nonzero steady state (Δ+, Δ-, ν) of the gap equation (:func:`solvers.gap.solve_gap`)
``spectral``       A(k, ω) and the occupied weight -iG^<(k, ω) (spec §3) on the cut through K+
                   along kx, the distribution -iG^</A, and the populations n22_k, 1 - n11_k
=================  ==========================================================================

Array axes: scans first (n_scan, ...), then |V'| values (n_v), then the two branches of
V_c (lower, upper; NaN where a branch does not exist).  Spectral data: (n_cut, n_omega, 4)
with the Nambu modes (c_k1, c_k2, c+_-k1, c+_-k2) last.

Test hook: with the environment variable ``KELDYSH_FAIL_RANK=r`` rank r raises a
RuntimeError when it starts its share of a k sum (every task that sums over k): used by the
MPI tests to check that a failure on one rank ends the whole job.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from keldysh.baths import BathSet
from keldysh.greens import lesser_gf, rho_pole_sum, spectral_function
from keldysh.kmesh import EnergyMesh, KMesh, Resonance, shard_bounds
from keldysh.lattice import HoneycombModel, resonance_on_cut
from keldysh.nambu import DrivenSystem, nambu_chemical_potentials
from keldysh.refined_kmesh import RefinedKMesh
from solvers import born_markov
from solvers.born_markov import resonance_width
from solvers.app.config import Config
from solvers.fast_intraband import polarisation, quasi_thermal_system
from solvers.gap import solve_gap
from solvers.parallel import allreduce_sum, rank_of, size_of
from solvers.scan import closed_forms_available, default_nu_grid, phase_point, shell_mesh
from solvers.susceptibility import pair_susceptibility

__all__ = [
    "TASKS",
    "CHECKPOINTING_TASKS",
    "Progress",
    "ScanHooks",
    "Interrupted",
    "build_system",
    "build_mesh",
    "scan_resume_state",
    "run_eta_map",
    "run_susceptibility",
    "run_phase_diagram",
    "run_gap",
    "run_spectral",
]

log = logging.getLogger(__name__)

#: tasks that checkpoint after every scan point and can be resumed
CHECKPOINTING_TASKS = ("phase-diagram",)
#: environment variable of the fault-injection test hook
FAIL_RANK_ENV = "KELDYSH_FAIL_RANK"


class Progress:
    """Progress of a task in work units; this base class reports nothing.

    ``start(total, done)`` is called once, ``advance(n)`` after each finished unit."""

    def start(self, total: int, done: int = 0, desc: str = "") -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class ScanHooks:
    """What a scan needs from its caller (all optional).

    ``resume``: the state of an earlier run (:func:`scan_resume_state`), whose completed
    points are taken over unchanged; ``checkpoint(output)``: called on every rank with the
    partial output after each completed point except the last (the caller writes it from one
    rank); ``should_stop()``: called on every rank after each point, must return the same
    answer on all ranks (e.g. an Allreduce of a signal flag); True raises :class:`Interrupted`
    after a checkpoint."""

    resume: dict | None = None
    checkpoint: Callable[[dict], None] | None = None
    should_stop: Callable[[], bool] | None = None


class Interrupted(Exception):
    """A scan stopped early on request; ``output`` is the checkpointed partial output."""

    def __init__(self, output: dict, n_completed: int, n_total: int):
        super().__init__(f"stopped after {n_completed} of {n_total} scan points")
        self.output = output
        self.n_completed = n_completed
        self.n_total = n_total


# --------------------------------------------------------------------------------------------
# config -> physics objects


def build_system(cfg: Config, value: float | None = None) -> DrivenSystem:
    """The :class:`DrivenSystem` of the config; ``value`` is the scan value, if any.

    Paper baths: Ω = drive.Omega, or value x (Γ1 + Γ2) (Omega_over_Gamma scan), or value
    (Omega scan).  Quasi-thermal baths: :func:`solvers.fast_intraband.quasi_thermal_system`
    at μ2 = baths.mu2 or value (mu2 scan)."""
    model = cfg.physical_model()
    b = cfg.baths
    parameter = cfg.scan.parameter if cfg.scan is not None else None
    if b.kind == "quasi_thermal":
        mu2 = value if parameter == "mu2" else b.mu2
        return quasi_thermal_system(model, b.Gamma12, b.mu, mu2, b.temperature, b.reading)
    Omega = cfg.drive.Omega
    if parameter == "Omega_over_Gamma":
        Omega = value * b.Gamma
    elif parameter == "Omega":
        Omega = value
    baths = BathSet.paper(b.Gamma1, b.Gamma2, b.mu, b.temperature)
    return DrivenSystem(model, cfg.drive.omega0, float(Omega), baths, b.mu, cfg.drive.pattern)


def mesh_resonance(cfg: Config, system: DrivenSystem) -> Resonance:
    """The :class:`Resonance` of the exact-DOS and refined-polar meshes.

    Driven system: e_c = ω0/2 with the width sqrt(Γ² + Ω² Γ²/(Γ1 Γ2)) of n22 in 2e - ω0
    (Eq. 10, :func:`solvers.born_markov.resonance_width`).  Quasi-thermal: the Fermi step
    at e_c = μ2 (lab frame) with width sqrt(Γ12² + (4T)²) in 2e."""
    b = cfg.baths
    if b.kind == "quasi_thermal":
        m2 = float(system.baths.mu[0, 1])  # lab-frame μ2 of K+ band 2 (after the reading)
        return Resonance(m2, max(float(np.hypot(b.Gamma12, 4 * b.temperature)), 1e-12))
    width = max(float(resonance_width(system.Omega, b.Gamma1, b.Gamma2)), 1e-12)
    return Resonance.drive(system.omega0, width)


class _FailingMesh:
    """Test hook (KELDYSH_FAIL_RANK): a mesh whose shard for one rank raises."""

    def __init__(self, mesh, rank: int):
        self._mesh = mesh
        self._rank = rank

    def __len__(self):
        return len(self._mesh)

    def __getattr__(self, name):
        return getattr(self._mesh, name)

    def shard(self, rank, size):
        part = self._mesh.shard(rank, size)
        if rank == self._rank:
            _inject_fault(rank, _first_sample(part))
        return part


def _fail_rank() -> int | None:
    value = os.environ.get(FAIL_RANK_ENV, "").strip()
    return int(value) if value.lstrip("-").isdigit() else None


def _first_sample(part) -> str:
    """The first k point (or energy sample) of a shard, for error messages."""
    if len(part) == 0:
        return "no sample"
    if hasattr(part, "points"):
        return f"k = ({part.points[0][0]:.6g}, {part.points[0][1]:.6g})"
    return f"e_k = {part.energies[0]:.6g}"


def _inject_fault(rank: int, where: str = "") -> None:
    at = f" at {where}" if where else ""
    raise RuntimeError(f"injected failure on rank {rank} in its k loop{at} ({FAIL_RANK_ENV}={rank})")


def build_mesh(cfg: Config, system: DrivenSystem, comm=None):
    """The k-sum mesh of the config: Monkhorst-Pack (numerics.nk), exact-DOS energies with a
    tangent-mapped resonance panel, or the uniformly resolved shell (:func:`solvers.scan.shell_mesh`)."""
    num = cfg.numerics
    if num.mesh == "monkhorst-pack":
        mesh = KMesh.driven_half(system.model, num.nk)
    elif num.mesh == "exact-dos-shell":
        mesh = shell_mesh(system, num.nu_span, num.shell_resolution, num.shell_order)
    elif num.mesh == "refined-polar":
        s = num.refine_level
        mesh = RefinedKMesh.resonant(system.model, mesh_resonance(cfg, system), s, 2 * s, 4 * s, 2 * s)
    else:
        mesh = EnergyMesh.resonant(system.model, mesh_resonance(cfg, system), num.n_resonance, num.n_band)
    fail = _fail_rank()
    if fail is not None and fail == rank_of(comm):
        return _FailingMesh(mesh, fail)
    return mesh


def _mesh_section(cfg: Config, meshes: list, centres=None, widths=None) -> dict:
    """What the results file records about the k-sum meshes (one per scan point, or one)."""
    num = cfg.numerics
    out: dict[str, Any] = {"kind": num.mesh, "n_samples": np.array([len(m) for m in meshes], dtype=np.int64)}
    if num.mesh == "monkhorst-pack":
        mesh = meshes[0]
        out.update(nk=num.nk, n_cells=int(mesh.n_cells), points=np.asarray(mesh.points),
                   weights=np.asarray(mesh.weights))
    elif num.mesh == "exact-dos-shell":
        out.update(shell_resolution=num.shell_resolution, shell_order=num.shell_order)
        if len(meshes) == 1:
            out.update(energies=np.asarray(meshes[0].energies), weights=np.asarray(meshes[0].weights))
    elif num.mesh == "refined-polar":
        out.update(refine_level=num.refine_level, resonance_omega0=np.asarray(centres, dtype=float),
                   resonance_width=np.asarray(widths, dtype=float))
        if len(meshes) == 1:
            out.update(points=np.asarray(meshes[0].points), weights=np.asarray(meshes[0].weights))
    else:
        out.update(n_resonance=num.n_resonance, n_band=num.n_band,
                   resonance_omega0=np.asarray(centres, dtype=float),
                   resonance_width=np.asarray(widths, dtype=float))
        if len(meshes) == 1:
            out.update(energies=np.asarray(meshes[0].energies), weights=np.asarray(meshes[0].weights))
    return out


# --------------------------------------------------------------------------------------------
# eta-map


def brillouin_zone_corners(model: HoneycombModel) -> np.ndarray:
    """The six corners of the hexagonal first Brillouin zone (the K points), (6, 2)."""
    kp = model.valley_centres()["K+"]
    angles = np.pi / 3 * np.arange(6)
    rot = np.stack([np.cos(angles), -np.sin(angles), np.sin(angles), np.cos(angles)], -1).reshape(6, 2, 2)
    return rot @ kp


def run_eta_map(cfg: Config, comm=None, progress: Progress | None = None, hooks=None) -> dict:
    """η(k) = (|P+|² - |P-|²)/(|P+|² + |P-|²) (Eq. 2) on a grid over the first Brillouin zone.

    The grid is uniform, ``numerics.grid_points`` per axis, on the rectangle 1.05 x the
    bounding box of the hexagonal zone.  Every rank computes the (cheap) map itself."""
    progress = progress or Progress()
    deltas = cfg.scan_values() if cfg.scan is not None else np.array([cfg.model.delta])
    n = cfg.numerics.grid_points
    corners = brillouin_zone_corners(cfg.physical_model(float(deltas[0])))
    kx = np.linspace(-1.05, 1.05, n) * np.max(np.abs(corners[:, 0]))
    ky = np.linspace(-1.05, 1.05, n) * np.max(np.abs(corners[:, 1]))
    grid = np.stack(np.meshgrid(kx, ky, indexing="xy"), axis=-1)  # (ny, nx, 2)
    eta = np.empty((deltas.size, ky.size, kx.size))
    energy = np.empty_like(eta)
    k_plus = np.empty((deltas.size, 2))
    k_minus = np.empty((deltas.size, 2))
    eta_plus = np.empty(deltas.size)
    progress.start(deltas.size, 0, "delta")
    t0 = time.perf_counter()
    for i, delta in enumerate(deltas):
        model = cfg.physical_model(float(delta))
        with np.errstate(invalid="ignore", divide="ignore"):
            eta[i] = model.eta(grid)
        energy[i] = model.energy(grid)
        centres = model.valley_centres()
        k_plus[i], k_minus[i] = centres["K+"], centres["K-"]
        eta_plus[i] = float(model.eta(centres["K+"]))
        log.info("eta-map: delta = %g, K+ = (%.6f, %.6f)", delta, *k_plus[i])
        progress.advance()
    return {
        "results": {"eta": eta, "energy": energy, "K_plus": k_plus, "K_minus": k_minus,
                    "eta_at_K_plus": eta_plus,
                    "valley_note": "K+ is the valley centre with eta = +1 (spec §1)"},
        "mesh": {"kind": "uniform", "grid_points": n},
        "grids": {"delta": deltas, "kx": kx, "ky": ky, "bz_corners": corners},
        "history": {"seconds": time.perf_counter() - t0},
    }


# --------------------------------------------------------------------------------------------
# susceptibility


def _closed_forms(system: DrivenSystem) -> dict:
    if not closed_forms_available(system):
        return {}
    G1, G2 = system.baths.gamma[0]
    args = (system.model, system.omega0, system.Omega, G1, G2, system.mu)
    F14 = born_markov.eq14_kernel(*args)
    F17 = born_markov.eq17_kernel(*args)
    return {"F_plus_eq14": F14, "F_minus_eq15": born_markov.eq15_kernel_minus(F14, G1, G2),
            "F_plus_eq17": F17}


def run_susceptibility(cfg: Config, comm=None, progress: Progress | None = None, hooks=None) -> dict:
    """chi_±(z) of every route at z = 0 and at z = ν on the real grid of
    :func:`solvers.scan.default_nu_grid` (panels at -2μ and the Rabi sidebands,
    ``numerics.nu_per_panel`` points each, within -2μ ± nu_span (Γ1 + Γ2 + 2Ω + 2T); not for
    the "paper" route, which is defined at ν = 0 only).  Also the closed forms Eqs. (14), (15), (17) when they
    apply (valley drive, paper baths, T = 0)."""
    progress = progress or Progress()
    num = cfg.numerics
    system = build_system(cfg)
    mesh = build_mesh(cfg, system, comm)
    nu = default_nu_grid(system, num.nu_per_panel, num.nu_span)
    progress.start(sum(1 + (nu.size if r != "paper" else 0) for r in num.routes), 0, "chi")
    results: dict[str, Any] = {}
    history: dict[str, Any] = {}
    for route in num.routes:
        t0 = time.perf_counter()
        chi0 = pair_susceptibility(system, mesh, route=route, z=0.0, comm=comm, n_per_panel=num.n_per_panel)
        progress.advance()
        entry: dict[str, Any] = {"chi_plus_0": chi0.chi_plus, "chi_minus_0": chi0.chi_minus,
                                 "F_plus": chi0.F_plus, "F_minus": chi0.F_minus}
        if route != "paper":
            cp = np.empty(nu.size, complex)
            cm = np.empty(nu.size, complex)
            for j, z in enumerate(nu):
                s = pair_susceptibility(system, mesh, route=route, z=float(z), comm=comm,
                                        n_per_panel=num.n_per_panel)
                cp[j], cm[j] = s.chi_plus, s.chi_minus
                progress.advance()
            entry.update(chi_plus=cp, chi_minus=cm)
        results[route] = entry
        history[route] = {"seconds": time.perf_counter() - t0}
        log.info("susceptibility: route %s: chi+(0) = %.6g%+.6gj (%.1f s)", route,
                 chi0.chi_plus.real, chi0.chi_plus.imag, history[route]["seconds"])
    results.update(_closed_forms(system))
    results["pair_energy"] = float(-2 * system.mu)
    shell = mesh_resonance(cfg, system) if num.mesh in ("exact-dos", "refined-polar") else None
    centre, width = (2 * shell.energy, shell.width) if shell is not None else (None, None)
    return {"results": results, "mesh": _mesh_section(cfg, [mesh], [centre], [width]),
            "grids": {"nu": nu}, "history": history}


# --------------------------------------------------------------------------------------------
# phase-diagram


def _store(results: dict, index: int, n: int, point: dict) -> None:
    for key, value in point.items():
        arr = np.asarray(value)
        if key not in results:
            dtype = complex if np.iscomplexobj(arr) else float
            results[key] = np.full((n,) + arr.shape, np.nan, dtype=dtype)
        results[key][index] = arr


def _order_degenerate_branches(point: dict, rtol: float = 1e-9) -> None:
    """Make the order of full-criterion crossings independent of rounding, in place.

    ``full_<route>`` (n_v, n) lists crossings by ascending V_c (NaN-padded) with their
    frequencies in ``nu_<route>``.  Two crossings at the same V_c (a degenerate pair at ±ν
    around the pair energy, V_c equal to the last bits) would be ordered by rounding, i.e. by
    the number of MPI ranks; such ties (|ΔV_c| <= rtol |V_c|) are ordered by ν instead."""
    for key in [k for k in point if k.startswith("full_")]:
        nu_key = "nu_" + key[len("full_"):]
        if nu_key not in point:
            continue
        vc, nu = np.array(point[key], dtype=float), np.array(point[nu_key], dtype=float)
        if vc.ndim != 2 or nu.shape != vc.shape:
            continue
        for row in range(vc.shape[0]):
            j = 0
            while j < vc.shape[1] - 1:
                k = j + 1
                while (k < vc.shape[1] and np.isfinite(vc[row, k])
                       and abs(vc[row, k] - vc[row, j]) <= rtol * max(abs(vc[row, j]), abs(vc[row, k]))):
                    k += 1
                if k - j > 1:
                    order = j + np.argsort(nu[row, j:k], kind="stable")
                    vc[row, j:k], nu[row, j:k] = vc[row, order], nu[row, order]
                j = k
        point[key], point[nu_key] = vc, nu


def scan_resume_state(loaded, cfg: Config) -> dict:
    """The resumable state of a scan from a loaded results file (:class:`keldysh.io.Results`).

    Checks that it belongs to this scan (same number of points, arrays with the scan as
    leading axis) and returns {"completed": bool (n,), "results": {...}, "history": {...},
    "grids": {...}, "mesh": {...}}.  Raises ValueError with a one-line reason otherwise."""
    n = len(cfg.scan)
    if loaded.finished:
        completed = np.ones(n, bool)
    else:
        ck = loaded.checkpoint or {}
        completed = np.asarray(ck.get("completed", []), dtype=bool)
    if completed.shape != (n,):
        raise ValueError(f"checkpoint has {completed.size} scan points, the config has {n}")
    results = {}
    for key, value in (loaded.results or {}).items():
        arr = np.asarray(value)
        if arr.ndim == 0 or arr.shape[0] != n:
            raise ValueError(f"results/{key} does not have the scan ({n} points) as first axis")
        results[key] = arr.copy()
    history = {k: np.asarray(v).copy() for k, v in (loaded.history or {}).items()
               if isinstance(v, np.ndarray) and v.shape[:1] == (n,)}
    grids = loaded.grids or {}
    mesh = loaded.mesh or {}
    return {"completed": completed, "results": results, "history": history,
            "grids": grids, "mesh": mesh}


def run_phase_diagram(cfg: Config, comm=None, progress: Progress | None = None,
                      hooks: ScanHooks | None = None) -> dict:
    """Critical couplings along the scan (Fig. 3a: Ω/Γ; Fig. 3b: μ2).

    At each scan value: build the system (paper baths with Ω from the scan, or the
    fast-intraband system at μ2) and its mesh, and call :func:`solvers.scan.phase_point`
    with numerics.routes, numerics.criteria, the |V'| values numerics.v_values and the ν
    grid of :func:`solvers.scan.default_nu_grid` (numerics.nu_per_panel, numerics.nu_span;
    stored NaN-padded as ``grids/nu``, (n_scan, max length)).  Its arrays are stacked along a
    new first axis (n_scan):
    ``paper_eq14``, ``paper_eq17``, ``paper_<route>`` have shape (n_scan, n_v, 2) (both
    branches, NaN where none); ``full_<route>``, ``nu_<route>`` (n_scan, n_v, N) the
    crossings of the full criterion (N = :data:`solvers.scan.N_BOUNDARIES`, NaN-padded; ties
    in V_c ordered by ν), ``chi_plus_<route>`` (n_scan,), and whatever else the point
    returns (e.g. ``unstable_modes_<route>``), stacked the same way.
    Also ``Omega`` (n_scan,) and, for μ2 scans, the K+ polarisation ``polarisation`` (n_scan,).

    Completed points of ``hooks.resume`` are kept as they are; after each new point
    ``hooks.checkpoint`` is called (unless it was the last) and ``hooks.should_stop``
    consulted, which may end the scan with :class:`Interrupted`."""
    progress = progress or Progress()
    hooks = hooks or ScanHooks()
    num = cfg.numerics
    values = cfg.scan_values()
    n = values.size
    v_values = np.asarray(num.v_values, dtype=float)
    results: dict[str, np.ndarray] = {}
    completed = np.zeros(n, bool)
    seconds = np.full(n, np.nan)
    n_samples = np.full(n, -1, dtype=np.int64)
    centres = np.full(n, np.nan)
    widths = np.full(n, np.nan)
    # the ν grid of every point (its length depends on Ω: sideband panels), NaN-padded
    point_grids = [default_nu_grid(build_system(cfg, float(v)), num.nu_per_panel, num.nu_span)
                   for v in values]
    nu_grids = np.full((n, max(g.size for g in point_grids)), np.nan)
    for i, g in enumerate(point_grids):
        nu_grids[i, : g.size] = g
    if hooks.resume is not None:
        state = hooks.resume
        completed = state["completed"].copy()
        results = {k: v.copy() for k, v in state["results"].items()}
        old_history = state.get("history", {})
        if "seconds" in old_history:
            seconds = np.asarray(old_history["seconds"], dtype=float).copy()
        old_mesh = state.get("mesh", {})
        for name, arr in (("n_samples", n_samples), ("resonance_omega0", centres),
                          ("resonance_width", widths)):
            if name in old_mesh and np.shape(old_mesh[name]) == (n,):
                arr[:] = old_mesh[name]
        log.info("phase-diagram: resuming with %d of %d scan points done", completed.sum(), n)

    static_mesh = None
    if num.mesh == "monkhorst-pack":
        static_mesh = build_mesh(cfg, build_system(cfg, float(values[0])), comm)
    quasi = cfg.baths.kind == "quasi_thermal"

    def assemble(finished: bool) -> dict:
        res = dict(results)
        mesh_info: dict[str, Any] = {"kind": num.mesh, "n_samples": n_samples.copy()}
        if static_mesh is not None:
            mesh_info.update(nk=num.nk, n_cells=int(static_mesh.n_cells),
                             points=np.asarray(static_mesh.points), weights=np.asarray(static_mesh.weights))
        elif num.mesh == "exact-dos-shell":
            mesh_info.update(shell_resolution=num.shell_resolution, shell_order=num.shell_order)
        elif num.mesh == "refined-polar":
            mesh_info.update(refine_level=num.refine_level, resonance_omega0=centres.copy(),
                             resonance_width=widths.copy())
        else:
            mesh_info.update(n_resonance=num.n_resonance, n_band=num.n_band,
                             resonance_omega0=centres.copy(), resonance_width=widths.copy())
        out = {
            "results": res,
            "mesh": mesh_info,
            "grids": {"scan_parameter": cfg.scan.parameter, "scan_values": values.copy(),
                      "v_values": v_values.copy(), "nu": nu_grids.copy(),
                      "branches": np.array(["lower", "upper"])},
            "history": {"seconds": seconds.copy(), "completed": completed.copy()},
        }
        if not finished:
            out["checkpoint"] = {"completed": completed.copy(), "n_completed": int(completed.sum()),
                                 "n_scan": int(n)}
        return out

    progress.start(n, int(completed.sum()), cfg.scan.parameter)
    todo = [i for i in range(n) if not completed[i]]
    for count, i in enumerate(todo):
        value = float(values[i])
        t0 = time.perf_counter()
        system = build_system(cfg, value)
        mesh = static_mesh if static_mesh is not None else build_mesh(cfg, system, comm)
        if num.mesh in ("exact-dos", "refined-polar"):
            res = mesh_resonance(cfg, system)
            centres[i], widths[i] = 2 * res.energy, res.width
        nu_grid = point_grids[i]
        point = phase_point(system, mesh, v_values, routes=num.routes, criteria=num.criteria,
                            comm=comm, nu_grid=nu_grid, n_per_panel=num.n_per_panel)
        _order_degenerate_branches(point)
        point["Omega"] = system.Omega
        if quasi:
            point["polarisation"] = polarisation(system.model, value, cfg.baths.temperature,
                                                 cfg.baths.reading)
        _store(results, i, n, point)
        n_samples[i] = len(mesh)
        completed[i] = True
        seconds[i] = time.perf_counter() - t0
        progress.advance()
        log.info("phase-diagram: %s = %.6g done (%d/%d, %.1f s)", cfg.scan.parameter, value,
                 completed.sum(), n, seconds[i])
        if count == len(todo) - 1:
            break
        partial = None
        if hooks.checkpoint is not None and cfg.output.checkpoint:
            partial = assemble(finished=False)
            hooks.checkpoint(partial)
        if hooks.should_stop is not None and hooks.should_stop():
            if partial is None:
                partial = assemble(finished=False)
                if hooks.checkpoint is not None:
                    hooks.checkpoint(partial)
            raise Interrupted(partial, int(completed.sum()), n)
    return assemble(finished=True)


# --------------------------------------------------------------------------------------------
# gap


def run_gap(cfg: Config, comm=None, progress: Progress | None = None, hooks=None) -> dict:
    """Nonzero steady state of Δ+ = V S+ + V' S-, Δ- = V'* S+ + V S- (Eqs. 8, 12) with the
    condensate frequency ν, by :func:`solvers.gap.solve_gap` (route numerics.route).

    ``results/converged`` is False when no nonzero solution was verified (the CLI then exits
    with status 3); the attempts are recorded under ``history/attempts``."""
    progress = progress or Progress()
    num = cfg.numerics
    system = build_system(cfg)
    mesh = build_mesh(cfg, system, comm)
    inter = cfg.interaction
    progress.start(1, 0, "gap")
    res = solve_gap(system, mesh, inter.V, inter.Vprime_complex, route=num.route, comm=comm,
                    tol=num.tol, max_nfev=num.max_nfev)
    progress.advance()
    attempts = {key: np.array([a[key] for a in res.attempts]) for key in
                (res.attempts[0].keys() if res.attempts else ())}
    results = {
        "converged": bool(res.converged),
        "reason": str(res.reason),
        "route": str(res.route),
        "delta_plus": complex(res.delta_plus),
        "delta_minus": complex(res.delta_minus),
        "abs_delta_plus": float(abs(res.delta_plus)),
        "abs_delta_minus": float(abs(res.delta_minus)),
        "nu": float(res.nu),
        "residual": float(res.residual),
        "iterations": int(res.iterations),
        "V": float(inter.V),
        "Vprime": complex(inter.Vprime_complex),
    }
    if system.Omega == 0 and cfg.baths.kind == "quasi_thermal":
        results["polarisation"] = polarisation(system.model, cfg.baths.mu2, cfg.baths.temperature,
                                               cfg.baths.reading)
    shell = mesh_resonance(cfg, system) if num.mesh in ("exact-dos", "refined-polar") else None
    centre, width = (2 * shell.energy, shell.width) if shell is not None else (None, None)
    return {"results": results, "mesh": _mesh_section(cfg, [mesh], [centre], [width]), "grids": {},
            "history": {"residual": np.asarray(res.history, dtype=float), "seconds": float(res.seconds),
                        "attempts": attempts}}


# --------------------------------------------------------------------------------------------
# spectral


def run_spectral(cfg: Config, comm=None, progress: Progress | None = None, hooks=None) -> dict:
    """Spectral function and distribution on the cut k = K+ + (q, 0)·(towards Γ) (spec §3).

    q runs over q_res ± numerics.cut_halfwidth (q_res: e_k = ω0/2, the resonance), ω over a
    uniform grid of numerics.n_omega points in ±numerics.omega_halfwidth (rotating frame).
    Per k and Nambu mode i: A_ii(k, ω) = i(G^R - G^A)_ii, the occupied weight -iG^<_ii and
    the distribution f_i = -iG^<_ii / A_ii (NaN where A_ii < 1e-12 max A); populations from
    the Born-Markov steady state (n22_k, 1 - n11_k, ...) and from the exact Keldysh pole sum.
    The cut is split over the ranks and gathered."""
    progress = progress or Progress()
    num = cfg.numerics
    system = build_system(cfg)
    model = system.model
    kp = model.valley_centres()["K+"]
    direction = -kp / np.linalg.norm(kp)
    q_res, v_res = resonance_on_cut(model, system.omega0 / 2)
    q = np.linspace(q_res - num.cut_halfwidth, q_res + num.cut_halfwidth, num.n_cut)
    k = kp + q[:, None] * direction
    w = np.linspace(-num.omega_halfwidth, num.omega_halfwidth, num.n_omega)
    e = model.energy(k)
    rabi = model.drive_amplitude(k, system.Omega, system.pattern)
    modes_all = system.modes_from_energies(e, rabi, np.ones(num.n_cut))

    rank, size = rank_of(comm), size_of(comm)
    bounds = shard_bounds(num.n_cut, size)
    mine = slice(int(bounds[rank]), int(bounds[rank + 1]))
    A = np.zeros((num.n_cut, num.n_omega, 4))
    occ = np.zeros_like(A)
    rho_bm = np.zeros((num.n_cut, 4, 4), complex)
    rho_k = np.zeros_like(rho_bm)
    progress.start(1, 0, "cut")
    if _fail_rank() == rank:
        _inject_fault(rank, f"cut point {int(bounds[rank])}")
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
    pops_bm = born_markov.populations(rho_bm)
    pops_k = born_markov.populations(rho_k)
    # populations over the driven valley: a square of side 2.5 q_res around K+ (Born-Markov,
    # closed form, cheap: every rank computes it, no reduction needed)
    side = np.linspace(-1.25 * q_res, 1.25 * q_res, VALLEY_MAP_POINTS)
    kx, ky = np.meshgrid(kp[0] + side, kp[1] + side, indexing="xy")
    kmap = np.stack([kx.ravel(), ky.ravel()], axis=-1)
    map_modes = system.modes_from_energies(
        model.energy(kmap), model.drive_amplitude(kmap, system.Omega, system.pattern), np.ones(kmap.shape[0]))
    map_rho = born_markov.normal_state(map_modes)
    shape = kx.shape
    valley_map = {"kx": side + kp[0], "ky": side + kp[1],
                  "n22_k": map_rho[:, 1, 1].real.reshape(shape),
                  "one_minus_n11_k": (1 - map_rho[:, 0, 0].real).reshape(shape)}
    results = {
        "A": A,
        "occupied": occ,
        "distribution": dist,
        "energy": e,
        "detuning": 2 * e - system.omega0,
        "rabi": rabi,
        "xi": modes_all.xi,
        "born_markov": {"n22_k": pops_bm["n22_k"], "one_minus_n11_k": 1 - pops_bm["n11_k"],
                        "n11_mk": pops_bm["n11_mk"], "n22_mk": pops_bm["n22_mk"]},
        "keldysh": {"n22_k": pops_k["n22_k"], "one_minus_n11_k": 1 - pops_k["n11_k"],
                    "n11_mk": pops_k["n11_mk"], "n22_mk": pops_k["n22_mk"]},
        "q_resonance": float(q_res),
        "band_velocity": float(v_res),
        "valley_map": valley_map,
    }
    return {"results": results,
            "mesh": {"kind": "cut", "n_cut": num.n_cut, "K_plus": kp, "direction": direction},
            "grids": {"q": q, "k": k, "omega": w,
                      "modes": np.array(["c_k1", "c_k2", "c+_-k1", "c+_-k2"])},
            "history": {}}


#: points per side of the population map of the spectral task
VALLEY_MAP_POINTS = 121

#: task name -> function
TASKS: dict[str, Callable[..., dict]] = {
    "eta-map": run_eta_map,
    "susceptibility": run_susceptibility,
    "phase-diagram": run_phase_diagram,
    "gap": run_gap,
    "spectral": run_spectral,
}
