"""cProfile of the Fig. 3a-like scan driver (one rank): ``python -m benchmarks.profile_scan``.

Profiles :func:`benchmarks.scan_driver.main` for ``--n-omega`` values (default 2: the two
ends of the scan, Ω/Γ = 0.1 and 100), writes the raw profile to ``--out``
(default /tmp/scan.prof) and prints the functions by cumulative and by own time.
"""
from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import cProfile  # noqa: E402
import pstats  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-omega", type=int, default=2)
    p.add_argument("--mesh", choices=("shell", "resonant"), default="shell")
    p.add_argument("--out", default="/tmp/scan.prof")
    p.add_argument("--top", type=int, default=30)
    args = p.parse_args(argv)
    from benchmarks import scan_driver

    prof = cProfile.Profile()
    prof.enable()
    scan_driver.main(["--n-omega", str(args.n_omega), "--mesh", args.mesh])
    prof.disable()
    prof.dump_stats(args.out)
    st = pstats.Stats(args.out)
    st.sort_stats("cumulative").print_stats(args.top)
    st.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
