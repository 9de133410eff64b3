"""The benchmark harness (no timing assertions: targets live in benchmarks/results.json)."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # benchmarks/ is not an installed package

from benchmarks.__main__ import table  # noqa: E402
from benchmarks.bench_kmesh import smallest  # noqa: E402
from benchmarks.common import Record  # noqa: E402
from benchmarks.scan_driver import N_FULL, omega_ratios  # noqa: E402


def test_record_ratio_and_met():
    r = Record("x", value=2.0, baseline=100.0, unit="s", target=30.0)
    assert r.ratio == 50.0 and r.met is True
    r = Record("x", value=500.0, baseline=1e8, unit="points", target=400.0, target_of="value",
               comparison="<=")
    assert r.met is False
    r = Record("x", value=1.0, baseline=None, unit="s", target=1000.0)
    assert r.ratio is None and r.met is None
    d = r.as_dict()
    assert {"name", "value", "baseline", "ratio", "target", "unit", "met"} <= d.keys()
    assert "x" in table([r])


def test_smallest_requires_settled_convergence():
    errs = {1: 1.0, 2: 1e-5, 3: 1e-3, 4: 1e-5, 5: 1e-6, 6: 1e-7}
    p, seen = smallest(lambda p: p, range(1, 7), errs.get, tol=1e-4, settle=2)
    assert p == 4 and 6 not in seen


def test_reduced_scan_samples_the_fig3a_values():
    full = omega_ratios(N_FULL)
    assert full.size == 40 and full[0] == pytest.approx(0.1) and full[-1] == pytest.approx(100.0)
    sub = omega_ratios(8)
    assert sub.size == 8 and np.all(np.isin(sub, full)) and sub[-1] == full[-1]


@pytest.mark.slow
def test_quick_benchmark_run_writes_results(tmp_path):
    out = tmp_path / "results.json"
    subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--only", "b,f", "--out", str(out)],
                   cwd=ROOT, check=True, capture_output=True, timeout=600)
    data = json.loads(out.read_text())
    assert data["schema"] == "keldysh-benchmarks/1" and data["quick"] is True
    records = data["records"]
    assert {r["name"][:2] for r in records} == {"b.", "f."}  # both ran, neither FAILED
    for r in records:
        # b and f need no optional dependency: every record is measured against its target,
        # and "met" is the stored value (or ratio) compared with the stored target
        x = r["ratio"] if r["target_of"] == "ratio" else r["value"]
        assert x is not None and np.isfinite(x) and x > 0, r
        assert r["target"] is not None and r["comparison"] in (">=", "<="), r
        expected = x >= r["target"] if r["comparison"] == ">=" else x <= r["target"]
        assert r["met"] is expected, r
