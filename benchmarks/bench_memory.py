"""(f) Peak memory per rank at 1e7 k points: the chi evaluator on a 2D mesh.

Each measurement runs in a fresh subprocess (one rank, no MPI): the "circular" drive at the
Fig. 3a parameters (Ω = 10 Γ) on ``RefinedKMesh.resonant`` level 457 (10 024 752 points,
with its embedded error-estimate rules), then one call of
:class:`solvers.stability.ChiEvaluator` for 4 frequencies for the routes "born_markov" and
"keldysh" (one subprocess each).  Above its cache budget (``CACHE_BYTES``) the evaluator
keeps no per-block state: it rebuilds the modes (and the route's per-block state) block by
block on every call, so its memory is bounded by one block plus the (n_blocks, n_z, 2, 2)
block sums.

Stages (VmHWM, the high-water mark of this process's own resident set, from
/proc/self/status): after the imports; after the mesh; then the peak is reset
(/proc/self/clear_refs "5") and the evaluator's own peak measured.  Value: the peak of the
whole process (mesh construction included) in GiB; baseline: the RSS after the imports (the
interpreter + numpy/scipy/numba floor), so the ratio is not meaningful: the target (≤ 1 GiB)
is on the value.  ``resource.getrusage(...).ru_maxrss`` is recorded too, but on Linux it
carries the parent's peak across fork + exec; VmHWM does not.
"""
from __future__ import annotations

import json
import subprocess
import sys

from benchmarks.common import ROOT, Record

LEVEL = 457
LEVEL_QUICK = 145

_CHILD = r"""
import json, resource, sys, time
import numpy as np
def status(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 2**20  # kB -> GiB
def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as fh:  # "5": reset the peak RSS (Linux)
            fh.write("5")
        return True
    except OSError:
        return False
from benchmarks.scaling_driver import build
from solvers.stability import ChiEvaluator
from benchmarks.common import cache_limit
route, level = sys.argv[1], int(sys.argv[2])
out = {"imports": status("VmHWM")}
t0, c0 = time.perf_counter(), time.process_time()
system, mesh = build(level, 10.0)
out["mesh_s"], out["mesh_cpu_s"] = time.perf_counter() - t0, time.process_time() - c0
out["n_k"] = len(mesh)
out["mesh_nbytes"] = sum(np.asarray(getattr(mesh, f)).nbytes for f in ("points", "weights", "index", "embedded_weights"))
out["mesh"] = status("VmHWM")
out["rss_holding_mesh"] = status("VmRSS")
out["peak_reset"] = reset_peak()
t0, c0 = time.perf_counter(), time.process_time()
ev = ChiEvaluator(route, system, mesh)
E = -2 * system.mu
chi = ev(np.array([E, E + system.Omega, E + 1e-4j, 0.0]))
out["chi_s"], out["chi_cpu_s"] = time.perf_counter() - t0, time.process_time() - c0
out["cached"], out["n_blocks"], out["cache_samples"] = ev.cached, ev.n_blocks, cache_limit(route)
out["evaluator_own_peak"] = status("VmHWM")
out["peak"] = max(out["mesh"], out["evaluator_own_peak"])
out["chi_00"] = [chi[0, 0, 0].real, chi[0, 0, 0].imag]
out["getrusage_maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
print(json.dumps(out))
"""


def measure(route: str, level: int) -> dict:
    env = {"PYTHONPATH": str(ROOT), "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1"}
    import os

    res = subprocess.run([sys.executable, "-c", _CHILD, route, str(level)], cwd=ROOT,
                         env={**os.environ, **env}, capture_output=True, text=True, timeout=3600)
    if res.returncode != 0:
        raise RuntimeError(f"memory probe ({route}) failed:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> list[Record]:
    level = LEVEL_QUICK if quick else LEVEL
    records = []
    for route in ("born_markov", "keldysh"):
        m = measure(route, level)
        rec = Record(
            name=f"f. peak memory per rank, {m['n_k']:.3g} k points (RefinedKMesh, circular), ChiEvaluator route {route}",
            value=m["peak"], baseline=m["imports"], unit="GiB", target=1.0, target_of="value", comparison="<=",
            notes={"n_k": m["n_k"], "peak_after_imports_GiB": m["imports"], "peak_after_mesh_GiB": m["mesh"],
                   "rss_holding_mesh_GiB": m["rss_holding_mesh"], "mesh_array_GiB": m["mesh_nbytes"] / 2**30,
                   "evaluator_own_peak_GiB": m["evaluator_own_peak"] if m["peak_reset"] else None,
                   "evaluator_increment_over_mesh_GiB": (m["evaluator_own_peak"] - m["rss_holding_mesh"])
                   if m["peak_reset"] else None,
                   "evaluator_cached": m["cached"], "n_blocks": m["n_blocks"], "cache_samples": m["cache_samples"],
                   "getrusage_maxrss_GiB": m["getrusage_maxrss"], "mesh_s": m["mesh_s"],
                   "mesh_cpu_s": m["mesh_cpu_s"], "chi_call_s": m["chi_s"], "chi_call_cpu_s": m["chi_cpu_s"],
                   "z_per_call": 4, "baseline_is": "RSS after the imports (not a competing method)"})
        rec.ratio = None
        records.append(rec)
    return records
