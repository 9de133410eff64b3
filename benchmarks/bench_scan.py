"""(e) The Fig. 3a phase-diagram scan on 2 MPI ranks: pole sum vs quadrature, certified vs not.

Runs ``benchmarks/scan_driver.py`` (the library's :func:`solvers.stability.phase_point`, no CLI,
no file output) under ``mpiexec -n 2`` with NUMBA/BLAS pinned to one thread per rank: δ = 5 t,
ω0 = 5.1 t, Γ1 = Γ2 = 5e-4 t, μ = -5e-4 t, 40 log-spaced Ω/Γ ∈ [0.1, 100], |V'| ∈ {0, 0.5, 1},
criteria paper + full, routes paper, born_markov and keldysh (each route its own chi and its
own Nyquist trace), the fig3a "exact-dos-shell" mesh (resolution 0.5 Γ, 4 Gauss points per
panel; halved per certification level).

1. **keldysh (pole sum) vs quadrature.**  The whole 40-point scan is measured with the
   routes (paper, born_markov, keldysh) and certify = false.  The same scan with "quadrature"
   in place of "keldysh" (the Keldysh response by adapted frequency quadrature, 32 points per
   panel as in fig3a.toml) would take ~1 h here, so it is measured on a subset of the Ω points
   (indices ``QUAD_SUBSET`` of the 40; each point is the complete phase point: the same
   per-point work, i.e. the same ν traces and sample counts as the keldysh scan, which the
   notes check) and scaled: its cost per sample-z of the chi evaluations, measured on the
   subset, replaces the keldysh route's in the 40-point scan,

       T_quad(40) = T_keld(40) + (c_quad - c_keld) Σ_j W_j,

   W_j the sample-z work of the keldysh route at point j, c the seconds per sample-z of
   the route's evaluator (wall; the same in CPU time in the notes).  The direct ratio on the
   subset is in the notes too.  Target: T_quad(40) / T_keld(40) >= 8.
2. **Certified vs uncertified.**  The same 40-point scan with certify = true (tolerance 1e-4,
   levels 0..3: refined until two successive levels agree).  Target: cost ratio <= 3.

On a shared machine the wall times depend on what else runs: the notes carry the load
average and the CPU seconds of every rank; the communication counts (collective calls and
bytes per phase point) come from the instrumented evaluator (``scan_driver.Instrument``).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from benchmarks.common import ROOT, Record

#: Ω indices (of the 40) on which the quadrature scan is measured: Ω/Γ = 0.1 and 1.  Its cost
#: per sample-z does not depend on Ω (measured on 2026-12-02, 2 ranks, CPU time per local
#: sample-z: 588, 574 and 600 µs at Ω/Γ = 0.1, 1 and 10; the point at Ω/Γ = 10 alone took
#: 16 min of wall time on the shared machine, so it is not repeated in every run)
QUAD_SUBSET = (0, 13)
QUAD_SUBSET_QUICK = (0,)


def mpiexec_path() -> str | None:
    cand = Path(sys.executable).parent / "mpiexec"
    if cand.is_file() and os.access(cand, os.X_OK):
        return str(cand)
    return shutil.which("mpiexec")


def run_driver(n_ranks: int, args=()) -> dict:
    mpiexec = mpiexec_path()
    if mpiexec is None:
        raise RuntimeError("no mpiexec next to the interpreter nor on PATH")
    env = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cmd = [mpiexec, "-n", str(n_ranks), sys.executable, "-m", "mpi4py",
           str(ROOT / "benchmarks" / "scan_driver.py"), "--json", *args]
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=7200)
    if res.returncode != 0:
        raise RuntimeError(f"scan driver failed (n={n_ranks}, {args}):\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _route(row, name):
    return row["routes"].get(name, {})


def communication(run: dict) -> dict:
    """Collective calls and bytes per phase point (rank 0's counters, every route)."""
    n = max(len(run["points"]), 1)
    per_route = {}
    for name, s in run["route_stats_per_rank"][0].items():
        per_route[name] = {"evaluator_calls_per_point": (s["calls"] + s["static_calls"]) / n,
                           "collectives_per_point": s["collectives"] / n,
                           "bytes_gathered_per_point": s["bytes_gathered"] / n,
                           "z_per_point": s["z"] / n,
                           "reduce_s_per_point": s["reduce_s"] / n}
    tot = {k: sum(r[k] for r in per_route.values()) for k in
           ("evaluator_calls_per_point", "collectives_per_point", "bytes_gathered_per_point")}
    out = {"per_route": per_route, "total": tot}
    # CPU time of rank 0 outside the evaluators' block sums and reductions (Nyquist logic,
    # meshes, closed forms: replicated on every rank, i.e. serial) over its total CPU time
    stats = run["route_stats_per_rank"][0]
    if "cpu_s_per_rank" in run and all("cpu_s" in s for s in stats.values()):
        inside = sum(s["cpu_s"] for s in stats.values())
        reduce_cpu = sum(s.get("reduce_cpu_s", 0.0) for s in stats.values())
        total = run["cpu_s_per_rank"][0]
        out["serial_cpu_fraction"] = (total - inside) / total
        out["reduce_cpu_fraction"] = reduce_cpu / total
    return out


def boundaries_agree(keld: dict, quad: dict) -> float:
    """Largest |V_c(keldysh) - V_c(quadrature)| over the subset (full and paper criteria)."""
    worst = 0.0
    rows = {r["index"]: r for r in keld["points"]}
    for q in quad["points"]:
        k = rows[q["index"]]
        for key, res in q["results"].items():
            crit, route, v = key.split("/")
            if route != "quadrature":
                continue
            a = np.array(k["results"][f"{crit}/keldysh/{v}"]["V_c"])
            b = np.array(res["V_c"])
            worst = max(worst, float(np.max(np.abs(a - b))) if a.shape == b.shape and a.size else
                        (0.0 if a.shape == b.shape else np.inf))
    return worst


def run(quick: bool = False) -> list[Record]:
    base = ["--routes", "paper,born_markov,keldysh"]
    sel = ["--n-omega", "8"] if quick else ["--n-omega", "40"]
    subset = QUAD_SUBSET_QUICK if quick else QUAD_SUBSET
    keld = run_driver(2, base + sel)
    quad = run_driver(2, ["--routes", "paper,born_markov,quadrature", "--omega-index",
                          ",".join(str(i) for i in subset)])
    cert = run_driver(2, base + sel + ["--certify"])
    # --- 1. keldysh vs quadrature ------------------------------------------------------
    kpts = {r["index"]: r for r in keld["points"]}
    if not all(i in kpts for i in subset):  # quick: the subset must be among the measured points
        extra = run_driver(2, base + ["--omega-index", ",".join(str(i) for i in subset)])
        kpts.update({r["index"]: r for r in extra["points"]})

    def cost(rows, route, key):
        return sum(_route(r, route).get(key, 0.0) for r in rows)

    sub_k = [kpts[i] for i in subset]
    sub_q = quad["points"]
    c_keld = {"wall": cost(keld["points"], "keldysh", "seconds") / cost(keld["points"], "keldysh", "work_global"),
              "cpu": cost(keld["points"], "keldysh", "cpu_s") / cost(keld["points"], "keldysh", "work_global")}
    c_quad = {"wall": cost(sub_q, "quadrature", "seconds") / cost(sub_q, "quadrature", "work_global"),
              "cpu": cost(sub_q, "quadrature", "cpu_s") / cost(sub_q, "quadrature", "work_global")}
    W_all = cost(keld["points"], "keldysh", "work_global")
    T_keld = {"wall": keld["scan_s"], "cpu": max(keld["cpu_s_per_rank"])}
    T_quad = {k: T_keld[k] + (c_quad[k] - c_keld[k]) * W_all for k in T_keld}
    same_work = {str(q["index"]): {"z_keldysh": _route(kpts[q["index"]], "keldysh").get("z"),
                                   "z_quadrature": _route(q, "quadrature").get("z"),
                                   "n_samples": q["n_samples"]} for q in sub_q}
    direct = {"wall": sum(r["total_s"] for r in sub_q) / sum(r["total_s"] for r in sub_k),
              "cpu": sum(r["cpu_s"] for r in sub_q) / sum(r["cpu_s"] for r in sub_k)}
    n_omega = len(keld["points"])
    notes1 = {"n_omega": n_omega, "ranks": 2, "quadrature_subset_indices": list(subset),
              "quadrature_subset_Omega_over_Gamma": [r["Omega_over_Gamma"] for r in sub_q],
              "scaling": "T_quad = T_keld + (c_quad - c_keld) * W_keldysh (module docstring)",
              "seconds_per_sample_z": {"keldysh": c_keld, "quadrature": c_quad},
              "cost_ratio_per_sample_z": {k: c_quad[k] / c_keld[k] for k in c_keld},
              "keldysh_work_sample_z": W_all, "T_keldysh_s": T_keld, "T_quadrature_estimated_s": T_quad,
              "ratio_cpu": T_quad["cpu"] / T_keld["cpu"], "direct_ratio_on_subset": direct,
              "per_point_work_on_subset": same_work,
              "max_abs_V_c_difference_keldysh_vs_quadrature_on_subset": boundaries_agree(keld, quad),
              "cpu_s_per_rank": keld["cpu_s_per_rank"], "loadavg_after": keld["loadavg"],
              "per_point_s": [round(r["total_s"], 3) for r in keld["points"]],
              "communication": communication(keld), "n_per_panel": quad["n_per_panel"]}
    records = [Record(name=f"e. Fig. 3a scan ({n_omega} Omega x 3 V', both criteria, 3 routes), 2 ranks: "
                           "keldysh pole sum vs quadrature route",
                      value=T_keld["wall"], baseline=T_quad["wall"], unit="s", target=8.0, notes=notes1)]
    # --- 2. certified vs uncertified ---------------------------------------------------------
    levels = {}
    uncertified = 0
    for r in cert["points"]:
        for key, res in r["results"].items():
            if key.split("/")[1] in ("eq14", "eq17"):
                continue
            levels[str(res["level"])] = levels.get(str(res["level"]), 0) + 1
            uncertified += not res["certified"]
    ratio = {"wall": cert["scan_s"] / keld["scan_s"], "cpu": max(cert["cpu_s_per_rank"]) / max(keld["cpu_s_per_rank"])}
    notes2 = {"n_omega": n_omega, "certified_s": cert["scan_s"], "uncertified_s": keld["scan_s"],
              "ratio_wall": ratio["wall"], "ratio_cpu": ratio["cpu"],
              "cpu_s_per_rank": {"certified": cert["cpu_s_per_rank"], "uncertified": keld["cpu_s_per_rank"]},
              "results_by_final_level": levels, "results_not_certified": uncertified,
              "tolerance": 1e-4, "max_level": cert["max_level"],
              "per_point_s": [round(r["total_s"], 3) for r in cert["points"]],
              "communication": communication(cert), "loadavg_after": cert["loadavg"]}
    records.append(Record(name=f"e. certified Fig. 3a scan ({n_omega} Omega) / uncertified, 2 ranks (cost ratio)",
                          value=ratio["wall"], baseline=None, unit="x", target=3.0, target_of="value",
                          comparison="<=", notes=notes2))
    return records
