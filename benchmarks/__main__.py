"""Run the benchmarks: ``python -m benchmarks [--only a,c] [--quick] [--out FILE] [--merge]``.

Prints a table and writes ``benchmarks/results.json``::

    {"schema": "keldysh-benchmarks/1", "date": ISO-8601, "machine": {...},
     "command": [...], "seconds": total, "records": [Record, ...]}

with each record {"name", "value", "baseline", "ratio", "target", "target_of",
"comparison", "unit", "met", "notes"} (see :class:`benchmarks.common.Record`).
BLAS and numba are pinned to one thread (one core per measurement; the MPI benchmark sets
its own environment).
"""
from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import datetime  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

from benchmarks.common import ROOT, Record, machine_info  # noqa: E402

BENCHMARKS = {
    "a": "benchmarks.bench_kernels",
    "b": "benchmarks.bench_frequency",
    "c": "benchmarks.bench_kmesh",
    "d": "benchmarks.bench_lyapunov",
    "e": "benchmarks.bench_scan",
    "f": "benchmarks.bench_memory",
    "g": "benchmarks.bench_response",
    "h": "benchmarks.bench_circular",
    "i": "benchmarks.bench_scaling",
}


def _fmt(x, unit=""):
    if x is None:
        return "-"
    if isinstance(x, bool):
        return str(x)
    ax = abs(x)
    s = f"{x:.3g}" if (ax == 0 or 1e-3 <= ax < 1e5) else f"{x:.2e}"
    return s + (f" {unit}" if unit else "")


def table(records) -> str:
    lines = [f"{'benchmark':<84} {'value':>16} {'baseline':>16} {'ratio':>9} {'target':>11} {'met':>5}"]
    for r in records:
        tgt = "-" if r.target is None else f"{r.target_of[0]}{r.comparison}{_fmt(r.target)}"
        lines.append(f"{r.name[:84]:<84} {_fmt(r.value, r.unit):>16} {_fmt(r.baseline, r.unit):>16} "
                     f"{_fmt(r.ratio):>9} {tgt:>11} {str(r.met):>5}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    p.add_argument("--only", default=",".join(BENCHMARKS), help=f"comma list of {', '.join(BENCHMARKS)}")
    p.add_argument("--quick", action="store_true", help="smaller problem sizes (smoke run)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results.json"))
    p.add_argument("--merge", action="store_true",
                   help="replace only the records of the benchmarks run in an existing --out file")
    args = p.parse_args(argv)
    keys = [k.strip() for k in args.only.split(",") if k.strip()]
    unknown = [k for k in keys if k not in BENCHMARKS]
    if unknown:
        p.error(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}")
    t_start = time.perf_counter()
    info = machine_info()
    records: list[Record] = []
    failed = []
    for k in keys:
        t0 = time.perf_counter()
        print(f"[{k}] {BENCHMARKS[k]} ...", flush=True)
        try:
            recs = importlib.import_module(BENCHMARKS[k]).run(quick=args.quick)
        except Exception as exc:  # a failing benchmark is reported, the others still run
            traceback.print_exc()
            failed.append(k)
            recs = [Record(name=f"{k}. {BENCHMARKS[k]} FAILED", value=None, baseline=None,
                           unit="", target=None, notes={"error": repr(exc)})]
        for r in recs:
            r.notes.setdefault("benchmark_seconds", time.perf_counter() - t0)
            r.notes.setdefault("loadavg_1min_after", os.getloadavg()[0])
        records.extend(recs)
        print(table(recs).split("\n", 1)[1], flush=True)
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    for r in records:
        r.notes.setdefault("run_date", date)
    out = {"schema": "keldysh-benchmarks/1", "date": date,
           "machine": info, "command": sys.argv, "quick": args.quick,
           "seconds": time.perf_counter() - t_start,
           "records": [r.as_dict() for r in records]}
    if args.merge and os.path.exists(args.out):
        # keep the other benchmarks' records (in their order), replace those of this run
        with open(args.out) as fh:
            old = json.load(fh)
        mine = {k + "." for k in keys}
        new = {k: [r for r in out["records"] if r["name"][:2] == k + "."] for k in keys}
        merged, placed = [], set()
        for r in old.get("records", []):
            k = r["name"][:2]
            if k in mine:
                if k not in placed:
                    merged.extend(new[k[0]])
                    placed.add(k)
                continue
            merged.append(r)
        merged.extend(r for k in keys if k + "." not in placed for r in new[k])
        runs = old.get("runs", [{"date": old.get("date"), "command": old.get("command"),
                                 "seconds": old.get("seconds"), "machine": old.get("machine")}])
        runs.append({"date": date, "command": sys.argv, "seconds": out["seconds"], "machine": info})
        out = {**out, "records": merged, "runs": runs, "quick": bool(old.get("quick")) or args.quick}
    with open(args.out + ".tmp", "w") as fh:
        json.dump(out, fh, indent=1, default=float)
    os.replace(args.out + ".tmp", args.out)
    print()
    print(table(records))
    print(f"\n{len(records)} records in {out['seconds']:.0f} s -> {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
