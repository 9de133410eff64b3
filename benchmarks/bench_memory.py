"""(f) Peak memory per rank for N_k = 10^6: Born-Markov and paper-kernel susceptibilities.

Each measurement runs in a fresh subprocess (one rank, no MPI) and reports the peak resident
set size at three stages: after the imports, after
``KMesh.driven_half(model, 1414)`` (999 698 points of the K+ half of a 1414² mesh), and during
``solvers.susceptibility.pair_susceptibility(system, mesh, route=...)`` (the peak is reset
after the mesh is built, via /proc/self/clear_refs, so this stage's own peak is seen) for the routes
"born_markov" and "paper" (the fig3a system, δ = 5 t, Ω = Γ = 1e-3 t).  Value: peak RSS in
GiB; baseline: the RSS after the imports (the interpreter + numpy/scipy/numba floor), so the
ratio is not meaningful: the target (≤ 1 GiB) is on the value.

The peak is read from VmHWM of /proc/self/status (the high-water mark of this process's
own address space).  ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` is recorded too, but on
Linux it carries over the parent's peak across fork + exec, so in a child of a large
process it reports at least the parent's RSS; VmHWM does not.
"""
from __future__ import annotations

import json
import subprocess
import sys

from benchmarks.common import ROOT, Record

N_MESH = 1414

_CHILD = r"""
import json, resource, sys, time
def rss():
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**20  # kB -> GiB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
def current():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 2**20
def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as fh:  # "5": reset the peak RSS (Linux)
            fh.write("5")
        return True
    except OSError:
        return False
def maxrss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
from keldysh.baths import BathSet
from keldysh.kmesh import KMesh
from keldysh.lattice import HoneycombModel
from keldysh.nambu import DrivenSystem
from solvers.susceptibility import pair_susceptibility
out = {"imports": rss()}
route, n = sys.argv[1], int(sys.argv[2])
system = DrivenSystem(HoneycombModel(5.0), 5.1, 1e-3, BathSet.paper(5e-4, 5e-4, -5e-4), -5e-4)
t0 = time.perf_counter()
mesh = KMesh.driven_half(system.model, n)
out["mesh"] = rss(); out["mesh_s"] = time.perf_counter() - t0; out["n_k"] = len(mesh)
out["rss_holding_mesh"] = current()
out["peak_reset"] = reset_peak()
t0 = time.perf_counter()
chi = pair_susceptibility(system, mesh, route=route)
out["susceptibility_own_peak"] = rss()
out["susceptibility"] = max(out["mesh"], out["susceptibility_own_peak"]); out["susceptibility_s"] = time.perf_counter() - t0
out["chi_plus"] = [chi.chi_plus.real, chi.chi_plus.imag]
out["getrusage_maxrss"] = maxrss()
print(json.dumps(out))
"""


def measure(route: str, n: int = N_MESH) -> dict:
    res = subprocess.run([sys.executable, "-c", _CHILD, route, str(n)], cwd=ROOT,
                         capture_output=True, text=True, timeout=900)
    if res.returncode != 0:
        raise RuntimeError(f"memory probe ({route}) failed:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> list[Record]:
    records = []
    for route in ("born_markov", "paper"):
        m = measure(route)
        rec = Record(
            name=f"f. peak memory per rank, N_k = 10^6, route {route}",
            value=m["susceptibility"], baseline=m["imports"], unit="GiB",
            target=1.0, target_of="value", comparison="<=",
            notes={"n_k": m["n_k"], "peak_after_imports_GiB": m["imports"],
                   "peak_after_mesh_GiB": m["mesh"], "rss_holding_mesh_GiB": m["rss_holding_mesh"],
                   "peak_during_susceptibility_GiB": (m["susceptibility_own_peak"]
                                                      if m["peak_reset"] else None),
                   "getrusage_maxrss_GiB": m["getrusage_maxrss"],
                   "mesh_s": m["mesh_s"], "susceptibility_s": m["susceptibility_s"],
                   "baseline_is": "RSS after the imports (not a competing method)"})
        rec.ratio = None
        records.append(rec)
    return records
