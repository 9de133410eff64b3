"""Fig. 3a phase-diagram scan against the library (benchmarks (e), (h) and the profile).

    NUMBA_NUM_THREADS=1 mpiexec -n 2 python -m mpi4py benchmarks/scan_driver.py --n-omega 8

Mirrors ``runs/fig3a.toml`` without the CLI: δ = 5 t, ω0 = 5.1 t, Γ1 = Γ2 = 5e-4 t,
μ = -5e-4 t, Ω/Γ log-spaced over 0.1..100 (40 values; ``--n-omega`` m < 40 takes m of them
evenly spread over the 40, so the strong-drive points that dominate are sampled in
proportion; ``--omega-index`` picks indices of the 40 explicitly), |V'| ∈ {0, 0.5, 1}; for
each Ω one :func:`solvers.stability.phase_point` with ``--routes`` (default paper,
born_markov, keldysh; "quadrature" is the Keldysh response by frequency quadrature),
criteria paper + full, the k sum sharded over ``MPI.COMM_WORLD``.  Mesh: the fig3a
"exact-dos-shell" (:func:`solvers.stability.shell_mesh`, shell resolution 0.5 Γ, 4 Gauss
points per panel, halved per certification level as the phase-diagram task does) or
``--mesh resonant`` (``EnergyMesh.resonant`` with the Eq. (10) width, doubled per level).
``--certify`` refines until two levels agree (tolerance 1e-4, up to ``--max-level``),
otherwise level 0 only (numerics ``certify = false``).

The evaluator of the pair susceptibility (:class:`solvers.stability.ChiEvaluator`) is
instrumented here, not in the library (class attributes wrapped before the scan): per route
the calls, the z values, the sample-z work of this rank, the seconds in the block sums and in
the reduction (the collective operations of ``ChiEvaluator._reduce``: an ``allgather`` of the
block count and one ``Allgatherv`` of the (n_blocks, n_z, 2, 2) complex block sums per call),
and the bytes gathered.  ``--barrier`` puts a barrier before each reduction so that the wait
for the slowest rank (load imbalance, descheduling) is timed apart from the communication.

No file output: rank 0 prints one JSON object with the timings (``--json``) or a table.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

GAMMA1 = GAMMA2 = 5e-4
MU = -5e-4
DELTA = 5.0
OMEGA0 = 5.1
V_VALUES = (0.0, 0.5, 1.0)
N_FULL = 40
#: the fig3a numerics
SHELL_RESOLUTION, SHELL_ORDER, NU_SPAN, NU_PER_PANEL, N_PER_PANEL = 0.5, 4, 8.0, 8, 32


def omega_ratios(n_omega: int) -> np.ndarray:
    """``n_omega`` of the 40 log-spaced Ω/Γ values of fig3a, evenly spread over the list."""
    return np.geomspace(0.1, 100.0, N_FULL)[omega_indices(n_omega)]


def omega_indices(n_omega: int) -> np.ndarray:
    """Indices into the 40 fig3a Ω/Γ values of :func:`omega_ratios` (``n_omega`` of them)."""
    if n_omega >= N_FULL:
        return np.arange(N_FULL)
    return np.unique(np.round(np.linspace(0, N_FULL - 1, n_omega)).astype(int))


def build_system(ratio: float):
    from keldysh.baths import BathSet
    from keldysh.lattice import HoneycombModel
    from keldysh.nambu import DrivenSystem

    G = GAMMA1 + GAMMA2
    return DrivenSystem(HoneycombModel(DELTA), OMEGA0, ratio * G, BathSet.paper(GAMMA1, GAMMA2, MU), MU)


def mesh_factory(system, mesh_kind: str, n_resonance: int = 400, n_band: int = 120):
    """``mesh_at(level)`` as the phase-diagram task builds it (cached per level)."""
    from keldysh.kmesh import EnergyMesh, Resonance
    from solvers.stability import shell_mesh

    G = GAMMA1 + GAMMA2
    meshes: dict = {}

    def mesh_at(level: int):
        if level not in meshes:
            if mesh_kind == "shell":
                meshes[level] = shell_mesh(system, NU_SPAN, SHELL_RESOLUTION / 2**level, SHELL_ORDER)
            else:
                width = float(np.sqrt(G**2 + system.Omega**2 * G**2 / (GAMMA1 * GAMMA2)))
                meshes[level] = EnergyMesh.resonant(system.model, Resonance.drive(OMEGA0, width),
                                                    n_resonance * 2**level, n_band * 2**level)
        return meshes[level]

    return mesh_at, meshes


class Instrument:
    """Counters of :class:`solvers.stability.ChiEvaluator` per route (this rank), installed by
    wrapping the class's ``__call__``, ``static`` and ``_reduce`` (benchmark-only)."""

    def __init__(self, barrier: bool = False):
        self.barrier = barrier
        self.stats: dict = {}
        self._route = None

    def _s(self, route):
        return self.stats.setdefault(route, {"calls": 0, "static_calls": 0, "z": 0, "work_local": 0,
                                             "work_global": 0, "seconds": 0.0, "reduce_s": 0.0,
                                             "wait_s": 0.0, "cpu_s": 0.0, "reduce_cpu_s": 0.0, "collectives": 0, "bytes_sent": 0,
                                             "bytes_gathered": 0, "evaluators": 0, "setup_s": 0.0})

    def install(self):
        from solvers.stability import routes

        cls = routes.ChiEvaluator
        inst = self
        init, call, static, reduce_ = cls.__init__, cls.__call__, cls.static, cls._reduce

        def w_init(ev, route, system, mesh, comm=None, options=None):
            t0 = time.perf_counter()
            init(ev, route, system, mesh, comm, options)
            s = inst._s(ev.route.name)
            s["evaluators"] += 1
            s["setup_s"] += time.perf_counter() - t0

        def w_call(ev, z):
            s = inst._s(ev.route.name)
            nz = np.atleast_1d(np.asarray(z)).size
            t0, c0 = time.perf_counter(), time.process_time()
            out = call(ev, z)
            s["seconds"] += time.perf_counter() - t0
            s["cpu_s"] += time.process_time() - c0
            s["calls"] += 1
            s["z"] += nz
            s["work_local"] += nz * len(ev.shard)
            s["work_global"] += nz * len(ev.mesh)
            return out

        def w_static(ev):
            s = inst._s(ev.route.name)
            t0 = time.perf_counter()
            out = static(ev)
            s["seconds"] += time.perf_counter() - t0
            s["static_calls"] += 1
            return out

        def w_reduce(ev, local):
            s = inst._s(ev.route.name)
            comm = ev.comm
            if inst.barrier and comm is not None and comm.Get_size() > 1:
                t0 = time.perf_counter()
                comm.Barrier()
                s["wait_s"] += time.perf_counter() - t0
            t0, c0 = time.perf_counter(), time.process_time()
            out = reduce_(ev, local)
            s["reduce_s"] += time.perf_counter() - t0
            s["reduce_cpu_s"] += time.process_time() - c0
            if comm is not None and comm.Get_size() > 1:
                s["collectives"] += 2  # allgather of the block count + Allgatherv of the block sums
                s["bytes_sent"] += local.nbytes
                s["bytes_gathered"] += ev.n_blocks * int(np.prod(local.shape[1:])) * 16
            return out

        cls.__init__, cls.__call__, cls.static, cls._reduce = w_init, w_call, w_static, w_reduce


def point_summary(point) -> dict:
    """Boundaries, certification and evaluation counts of one PhasePoint (JSON-able)."""
    out = {}
    for c in point.couplings:
        key = f"{c.criterion}/{c.route}/{c.v:g}"
        out[key] = {"V_c": c.V_c.tolist(), "certified": bool(c.certified), "status": c.status,
                    "error": [None if not np.isfinite(e) else float(e) for e in c.errors],
                    "level": c.statistics.get("level"), "n_evaluations": c.statistics.get("n_evaluations")}
    return out


def run_scan(comm, indices, mesh_kind: str, options, inst: Instrument):
    """Per-point timings (seconds, measured on every rank, reported for rank 0)."""
    from solvers.stability import phase_point

    rows = []
    ratios = np.geomspace(0.1, 100.0, N_FULL)
    for i in indices:
        ratio = float(ratios[i])
        before = json.loads(json.dumps(inst.stats))
        comm.Barrier()
        t0, c0 = time.perf_counter(), time.process_time()
        system = build_system(ratio)
        mesh_at, meshes = mesh_factory(system, mesh_kind)
        point = phase_point(system, mesh_at, V_VALUES, options=options, comm=comm)
        t1, c1 = time.perf_counter(), time.process_time()
        comm.Barrier()
        t2 = time.perf_counter()
        delta = {r: {k: v - before.get(r, {}).get(k, 0) for k, v in s.items()} for r, s in inst.stats.items()}
        rows.append({"index": int(i), "Omega_over_Gamma": ratio,
                     "n_samples": {str(k): len(m) for k, m in sorted(meshes.items())},
                     "point_s": t1 - t0, "total_s": t2 - t0, "cpu_s": c1 - c0,
                     "routes": delta, "results": point_summary(point)})
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-omega", type=int, default=8, help="Ω values (of the 40 of fig3a)")
    p.add_argument("--omega-index", default="", help="comma list of indices into the 40 Ω values")
    p.add_argument("--mesh", choices=("shell", "resonant"), default="shell")
    p.add_argument("--routes", default="paper,born_markov,keldysh")
    p.add_argument("--criteria", default="paper,full")
    p.add_argument("--n-per-panel", type=int, default=N_PER_PANEL)
    p.add_argument("--certify", action="store_true", help="certify by refinement (else level 0 only)")
    p.add_argument("--max-level", type=int, default=3)
    p.add_argument("--tolerance", type=float, default=1e-4)
    p.add_argument("--barrier", action="store_true", help="time the wait before each reduction apart")
    p.add_argument("--json", action="store_true", help="print one JSON object (rank 0)")
    args = p.parse_args(argv)
    from mpi4py import MPI

    from solvers.stability import StabilityOptions, pair_susceptibility

    comm = MPI.COMM_WORLD
    routes = tuple(r for r in args.routes.split(",") if r)
    criteria = tuple(c for c in args.criteria.split(",") if c)
    indices = ([int(x) for x in args.omega_index.split(",") if x.strip()] if args.omega_index
               else omega_indices(args.n_omega).tolist())
    options = StabilityOptions(routes=routes, criteria=criteria, certify=args.certify,
                               tolerance=args.tolerance, max_level=args.max_level,
                               n_per_panel=args.n_per_panel, nu_per_panel=NU_PER_PANEL, nu_span=NU_SPAN)
    # compile / load the numba caches outside the timed region, on every rank
    t0 = time.perf_counter()
    system = build_system(1.0)
    mesh = mesh_factory(system, args.mesh)[0](0)
    for r in routes:
        pair_susceptibility(system, mesh.shard(0, 50), route=r, z=np.array([1e-4, 1e-4 + 1e-4j]), n_per_panel=4)
    warm = time.perf_counter() - t0
    inst = Instrument(barrier=args.barrier)
    inst.install()
    comm.Barrier()
    t0, c0 = time.perf_counter(), time.process_time()
    rows = run_scan(comm, indices, args.mesh, options, inst)
    total = time.perf_counter() - t0
    # CPU seconds of every rank: equal CPU and wall ≈ CPU means a balanced, uncontended
    # run; wall ≫ CPU on a rank means it waited (imbalance) or was descheduled (a shared machine)
    cpu = comm.allgather(time.process_time() - c0)
    stats = comm.allgather(inst.stats)
    if comm.Get_rank() == 0:
        out = {"ranks": comm.Get_size(), "numba_threads": os.environ.get("NUMBA_NUM_THREADS"),
               "indices": indices, "n_omega": len(rows), "mesh": args.mesh, "routes": routes,
               "criteria": criteria, "certify": args.certify, "max_level": args.max_level,
               "n_per_panel": args.n_per_panel, "v_values": V_VALUES, "warmup_s": warm,
               "scan_s": total, "cpu_s_per_rank": cpu, "route_stats_per_rank": stats,
               "loadavg": list(os.getloadavg()), "points": rows}
        if args.json:
            print(json.dumps(out))
        else:
            print(f"ranks={out['ranks']}  warm-up {warm:.1f} s  scan {total:.1f} s  "
                  f"CPU per rank {[round(c, 1) for c in cpu]} s")
            for r in rows:
                ev = {k: (v['calls'], v['z']) for k, v in r['routes'].items()}
                print(f"  Ω/Γ = {r['Omega_over_Gamma']:8.3f}  samples {r['n_samples']}  "
                      f"{r['total_s']:7.2f} s  (calls, z) per route {ev}")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
