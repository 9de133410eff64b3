"""Fig. 3a-like phase-diagram scan against the library (benchmark (e) and the profile).

    NUMBA_NUM_THREADS=1 mpiexec -n 2 python -m mpi4py benchmarks/scan_driver.py --n-omega 8

Mirrors ``runs/fig3a.toml`` without the CLI: δ = 5 t, ω0 = 5.1 t, Γ1 = Γ2 = 5e-4 t,
μ = -5e-4 t, Ω/Γ log-spaced over 0.1..100 (40 values; ``--n-omega`` m < 40 takes m of them
evenly spread over the 40, so the strong-drive points that dominate are sampled in
proportion), |V'| ∈ {0, 0.5, 1}; for each Ω one :func:`solvers.scan.phase_point` with
routes ("born_markov", "keldysh"), criteria ("paper", "full"), the k sum sharded over
``MPI.COMM_WORLD``.  Mesh: ``--mesh shell`` (default: :func:`solvers.scan.shell_mesh`, what
fig3a.toml uses) or ``--mesh resonant`` (``EnergyMesh.resonant`` with the Eq. (10) width).
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


def omega_ratios(n_omega: int) -> np.ndarray:
    """``n_omega`` of the 40 log-spaced Ω/Γ values of fig3a, evenly spread over the list."""
    full = np.geomspace(0.1, 100.0, N_FULL)
    if n_omega >= N_FULL:
        return full
    idx = np.unique(np.round(np.linspace(0, N_FULL - 1, n_omega)).astype(int))
    return full[idx]


def build(ratio: float, mesh_kind: str, n_resonance: int = 400, n_band: int = 120):
    from keldysh.baths import BathSet
    from keldysh.kmesh import EnergyMesh, Resonance
    from keldysh.lattice import HoneycombModel
    from keldysh.nambu import DrivenSystem
    from solvers.scan import default_nu_grid, shell_mesh

    G = GAMMA1 + GAMMA2
    system = DrivenSystem(HoneycombModel(DELTA), OMEGA0, ratio * G,
                          BathSet.paper(GAMMA1, GAMMA2, MU), MU)
    if mesh_kind == "shell":
        mesh = shell_mesh(system, 8.0, 0.5, 4)
    else:
        width = float(np.sqrt(G**2 + system.Omega**2 * G**2 / (GAMMA1 * GAMMA2)))
        mesh = EnergyMesh.resonant(system.model, Resonance.drive(OMEGA0, width), n_resonance, n_band)
    return system, mesh, default_nu_grid(system, 8, 8.0)


def run_scan(comm, n_omega: int, mesh_kind: str, routes, criteria, n_per_panel: int = 32):
    """Per-point timings (seconds, measured on every rank, reported for rank 0)."""
    from solvers.scan import phase_point

    rows = []
    for ratio in omega_ratios(n_omega):
        comm.Barrier()
        t0 = time.perf_counter()
        system, mesh, nu_grid = build(ratio, mesh_kind)
        t1 = time.perf_counter()
        point = phase_point(system, mesh, V_VALUES, routes=routes, criteria=criteria, comm=comm,
                            nu_grid=nu_grid, n_per_panel=n_per_panel)
        comm.Barrier()
        t2 = time.perf_counter()
        rows.append({"Omega_over_Gamma": float(ratio), "n_samples": len(mesh),
                     "setup_s": t1 - t0, "point_s": t2 - t1, "total_s": t2 - t0,
                     "paper_born_markov_V_c_v1": np.asarray(point.get("paper_born_markov",
                                                                      [[np.nan]]))[-1].tolist()})
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-omega", type=int, default=8, help="Ω values (of the 40 of fig3a)")
    p.add_argument("--mesh", choices=("shell", "resonant"), default="shell")
    p.add_argument("--routes", default="born_markov,keldysh")
    p.add_argument("--criteria", default="paper,full")
    p.add_argument("--n-per-panel", type=int, default=32)
    p.add_argument("--json", action="store_true", help="print one JSON object (rank 0)")
    args = p.parse_args(argv)
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    routes = tuple(r for r in args.routes.split(",") if r)
    criteria = tuple(c for c in args.criteria.split(",") if c)
    # compile / load the numba caches outside the timed region, on every rank
    t0 = time.perf_counter()
    system, mesh, _ = build(1.0, args.mesh)
    from solvers.susceptibility import pair_susceptibility

    for r in routes:
        pair_susceptibility(system, mesh.shard(0, 50), route=r, z=1e-4, n_per_panel=4)
    warm = time.perf_counter() - t0
    comm.Barrier()
    t0, c0 = time.perf_counter(), time.process_time()
    rows = run_scan(comm, args.n_omega, args.mesh, routes, criteria, args.n_per_panel)
    total = time.perf_counter() - t0
    # CPU seconds of every rank: equal CPU and wall ≈ CPU means a balanced, uncontended
    # run; wall ≫ CPU on a rank means it waited (imbalance) or was descheduled (a shared machine)
    cpu = comm.allgather(time.process_time() - c0)
    if comm.Get_rank() == 0:
        out = {"ranks": comm.Get_size(), "numba_threads": os.environ.get("NUMBA_NUM_THREADS"),
               "n_omega": len(rows), "mesh": args.mesh, "routes": routes, "criteria": criteria,
               "v_values": V_VALUES, "warmup_s": warm, "scan_s": total, "cpu_s_per_rank": cpu,
               "loadavg": list(os.getloadavg()), "points": rows}
        if args.json:
            print(json.dumps(out))
        else:
            print(f"ranks={out['ranks']}  warm-up {warm:.1f} s  scan {total:.1f} s  "
                  f"CPU per rank {[round(c, 1) for c in cpu]} s")
            for r in rows:
                print(f"  Ω/Γ = {r['Omega_over_Gamma']:8.3f}  samples {r['n_samples']:6d}  "
                      f"{r['total_s']:7.2f} s")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
