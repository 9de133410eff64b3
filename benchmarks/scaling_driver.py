"""A 2D frequency scan of chi_ab(z) over >= 1e5 k points under MPI (benchmark (i)).

    NUMBA_NUM_THREADS=1 mpiexec -n 2 python -m mpi4py -m benchmarks.scaling_driver --json

The whole-zone σ+ drive ("circular", spec §9) at the Fig. 3a parameters (δ = 5 t,
ω0 = 5.1 t, Γ1 = Γ2 = 5e-4 t, μ = -Γ/2, Ω = ``--ratio`` Γ) on the resonance-refined mesh
``RefinedKMesh.resonant`` at level ``--level`` s (48 s² points: s = 46 gives 101 568; every
sample drives its hole block, so chi is the full 2x2 matrix); the route ``--route``
(default "keldysh": the exact pole sum on the hole-driven blocks; "born_markov": the closed
form) through :class:`solvers.stability.ChiEvaluator`, and the full criterion's real-axis
scan :func:`solvers.stability.scan_real_axis` for every |V'| in ``--v`` (as the phase-diagram
task runs it: locus trace, Brent refinement of crossings, Nyquist counts at probe couplings).

Timed per rank (wall and CPU): the mesh construction (every rank builds the whole mesh: a
replicated serial part), the evaluator set-up (per-block modes and pole-sum state: parallel),
the block sums (parallel), the reductions (``--barrier``: the wait for the slowest rank timed
apart from the communication), and the rest of the scan (the Nyquist logic, replicated on
every rank: serial).  Also the Python loop that adds the gathered block sums (``t_add`` per
block and z), a per-call cost that grows with the number of blocks.  Rank 0 prints JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

G1 = G2 = 5e-4


def build(level: int, ratio: float, pattern: str = "circular"):
    from keldysh.baths import BathSet
    from keldysh.kmesh import Resonance
    from keldysh.lattice import HoneycombModel
    from keldysh.nambu import DrivenSystem
    from keldysh.refined_kmesh import RefinedKMesh
    from solvers.born_markov import resonance_width

    G = G1 + G2
    mu = -G / 2
    system = DrivenSystem(HoneycombModel(5.0), 5.1, ratio * G, BathSet.paper(G1, G2, mu), mu, pattern)
    W = resonance_width(system.Omega, G1, G2)
    mesh = RefinedKMesh.resonant(system.model, Resonance.drive(system.omega0, W), level, 2 * level,
                                 4 * level, 2 * level)
    return system, mesh


def block_add_seconds(n_blocks: int, n_z: int, repeat: int = 5, vectorised: bool = False) -> float:
    """Seconds per (block, z) of the ordered Python sum of gathered block sums (the loop at
    the end of ``ChiEvaluator._reduce``), or with ``vectorised`` of ``allb.sum(axis=0)`` (a
    fixed pairwise order: as deterministic and rank-count independent)."""
    allb = np.ones((n_blocks, n_z, 2, 2), complex)
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        if vectorised:
            allb.sum(axis=0)
        else:
            out = np.zeros(allb.shape[1:], complex)
            for blk in allb:
                out += blk
        best = min(best, time.perf_counter() - t0)
    return best / (n_blocks * n_z)


def reduce_latency(ev, n_z: int, comm, repeat: int = 200) -> dict:
    """Wall seconds of ``ev._reduce`` on a (local blocks, n_z, 2, 2) array, a barrier before
    each call: min, median and mean over ``repeat`` calls (the same on every rank)."""
    local = np.ones((len(ev._slices), n_z, 2, 2), complex)
    times = []
    for _ in range(repeat):
        comm.Barrier()
        t0 = time.perf_counter()
        ev._reduce(local)
        times.append(time.perf_counter() - t0)
    t = np.array(times)
    return {"min": float(t.min()), "median": float(np.median(t)), "mean": float(t.mean()), "n": repeat}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--level", type=int, default=46)
    p.add_argument("--ratio", type=float, default=10.0, help="Ω/Γ")
    p.add_argument("--route", default="keldysh")
    p.add_argument("--pattern", default="circular")
    p.add_argument("--v", default="0.5,1.0", help="|V'| values of the full-criterion scans")
    p.add_argument("--barrier", action="store_true")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    from mpi4py import MPI

    from benchmarks.scan_driver import Instrument
    from solvers.stability import ChiEvaluator, default_nu_grid, pair_susceptibility, scan_real_axis
    from solvers.stability.grids import pair_energy

    comm = MPI.COMM_WORLD
    t0 = time.perf_counter()
    system, small = build(2, args.ratio, args.pattern)  # compile / load the numba caches
    pair_susceptibility(system, small, route=args.route, z=np.array([1e-4, 1e-4 + 1e-4j]))
    warm = time.perf_counter() - t0
    inst = Instrument(barrier=args.barrier)
    inst.install()
    v_values = [float(x) for x in args.v.split(",") if x.strip()]
    comm.Barrier()
    w0, c0 = time.perf_counter(), time.process_time()
    system, mesh = build(args.level, args.ratio, args.pattern)
    w1, c1 = time.perf_counter(), time.process_time()
    ev = ChiEvaluator(args.route, system, mesh, comm)
    w2, c2 = time.perf_counter(), time.process_time()
    nu0 = default_nu_grid(system, 8, 8.0)
    results = []
    for v in v_values:
        sc = scan_real_axis(ev, v, 10.0 * max(v, system.model.t), nu0, pair_energy(system))
        results.append({"v": v, "V_c": sc.V_c.tolist(), "counts": sc.counts.tolist(), "status": sc.status,
                        "n_evaluations": sc.n_evaluations, "n_nu": int(sc.nu.size)})
    w3, c3 = time.perf_counter(), time.process_time()
    comm.Barrier()
    w4 = time.perf_counter()
    st = inst.stats[ev.route.name]
    mine = {"mesh_s": w1 - w0, "mesh_cpu_s": c1 - c0, "setup_s": w2 - w1, "setup_cpu_s": c2 - c1,
            "scan_s": w3 - w2, "scan_cpu_s": c3 - c2, "total_s": w4 - w0, "cpu_s": time.process_time() - c0,
            "chi_s": st["seconds"], "chi_cpu_s": st["cpu_s"], "reduce_s": st["reduce_s"],
            "reduce_cpu_s": st["reduce_cpu_s"], "wait_s": st["wait_s"], "calls": st["calls"],
            "static_calls": st["static_calls"], "z": st["z"], "work_local": st["work_local"],
            "collectives": st["collectives"], "bytes_sent": st["bytes_sent"],
            "bytes_gathered": st["bytes_gathered"], "local_samples": len(ev.shard)}
    # the reduction alone, with a barrier before each (no load imbalance): its latency for a
    # typical call (the mean number of z per call), and the block-sum loop inside it
    nz = max(1, round(st["z"] / max(st["calls"], 1)))
    mine["mean_z_per_call"] = nz
    mine["reduce_latency_s"] = reduce_latency(ev, nz, comm)
    mine["t_add_per_block_z_s"] = block_add_seconds(ev.n_blocks, nz)
    mine["t_sum_per_block_z_s"] = block_add_seconds(ev.n_blocks, nz, vectorised=True)
    ranks = comm.gather(mine, root=0)
    if comm.Get_rank() == 0:
        out = {"ranks": comm.Get_size(), "route": args.route, "pattern": args.pattern, "level": args.level,
               "n_k": len(mesh), "n_blocks": ev.n_blocks, "block": ev.block, "cached": ev.cached,
               "ratio": args.ratio, "v_values": v_values, "barrier": args.barrier, "warmup_s": warm,
               "total_s": w4 - w0, "per_rank": ranks, "results": results,
               "loadavg": list(os.getloadavg())}
        print(json.dumps(out) if args.json else json.dumps(out, indent=1))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
