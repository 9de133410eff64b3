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
from benchmarks.bench_kmesh import smallest, smallest_even  # noqa: E402
from benchmarks.bench_scaling import fit_model, predict  # noqa: E402
from benchmarks.bench_scan import boundaries_agree, communication  # noqa: E402
from benchmarks.common import Record  # noqa: E402
from benchmarks.scan_driver import N_FULL, omega_indices, omega_ratios  # noqa: E402


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


def test_omega_indices_select_the_ratios():
    assert np.array_equal(omega_ratios(8), np.geomspace(0.1, 100.0, 40)[omega_indices(8)])
    assert omega_indices(40).tolist() == list(range(40)) and omega_indices(8)[0] == 0


def test_smallest_even_finds_the_first_settled_pass():
    """err(n) = 1/n² crosses 1e-4 at n = 100: the geometric search brackets it and the
    bisection returns the smallest even n that passes (100)."""
    n, errs = smallest_even(lambda n: 1.0 / n**2, start=10)
    assert n == 100 and errs[100] <= 1e-4 and errs[98] > 1e-4
    assert smallest_even(lambda n: 1.0, n_max=100)[0] is None


def _component(p, s, W, lat, calls=100):
    """A measured run of the scaling driver as bench_scaling.components returns it."""
    return {"ranks": p, "cpu_max_s": s + W / p + (0.01 if p > 1 else 0.0), "reduce_cpu_max_s": 0.01 if p > 1 else 0.0,
            "reduce_latency_median_s": lat, "reduce_latency_min_s": lat, "calls": calls, "static_calls": 0,
            "z": 3 * calls, "setup_cpu_per_sample_s": 1e-6, "t_add_per_block_z_s": 1e-7,
            "t_sum_per_block_z_s": 1e-8}


def test_scaling_model_recovers_amdahl_and_latency():
    """Synthetic runs with s = 0.5 s, W = 40 s and a latency 20 µs + 30 µs log2 p (n_b divisible
    by every p): the fit returns them, and the predicted efficiencies lie in (0, 1], higher
    with the sharded mesh and the vectorised block sum."""
    s, W = 0.5, 40.0
    comps = [_component(p, s, W, 20e-6 + 30e-6 * np.log2(p)) for p in (1, 2, 4)]
    model = fit_model(comps, n_blocks=64)
    assert model["s"] == pytest.approx(s, abs=1e-9) and model["W"] == pytest.approx(W, rel=1e-12)
    assert model["latency_alpha_s"] == pytest.approx(30e-6, rel=1e-9)
    assert model["latency_software_s"] == pytest.approx(20e-6, rel=1e-9)
    assert model["serial_fraction"] == pytest.approx(s / (s + W))
    pred = predict(model, comps, n_k=100_000, mesh_cpu_s=0.1, mesh_target_s=100.0)
    for name, sc in pred["scenarios"].items():
        for p, e in sc.items():
            assert 0 < e["efficiency"] <= 1, (name, p)
    best, worst = pred["scenarios"]["sharded_mesh_vectorised_sum_cached"], pred["scenarios"]["as_is_network"]
    assert all(best[p]["efficiency"] > worst[p]["efficiency"] for p in best)


def test_communication_counts_per_point():
    run = {"points": [{}, {}], "route_stats_per_rank": [{"keldysh": {
        "calls": 10, "static_calls": 2, "collectives": 24, "bytes_gathered": 4096, "z": 30, "reduce_s": 0.2}}]}
    c = communication(run)
    assert c["per_route"]["keldysh"]["evaluator_calls_per_point"] == 6
    assert c["total"]["collectives_per_point"] == 12 and c["total"]["bytes_gathered_per_point"] == 2048


def test_boundaries_agree_compares_matching_routes():
    keld = {"points": [{"index": 3, "results": {"full/keldysh/1": {"V_c": [0.5, 2.0]}}}]}
    quad = {"points": [{"index": 3, "results": {"full/quadrature/1": {"V_c": [0.5, 2.0 + 1e-6]},
                                                "full/born_markov/1": {"V_c": [9.0]}}}]}
    assert boundaries_agree(keld, quad) == pytest.approx(1e-6)
    quad["points"][0]["results"]["full/quadrature/1"]["V_c"] = [0.5]
    assert boundaries_agree(keld, quad) == np.inf


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
