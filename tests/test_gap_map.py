"""The superconducting state under coherent drive (solvers.continuation, task gap-map).

Oracles: the dense eigenvalues of the full linearised generator (the Evans function's roots and
the Goldstone mode, identified by its eigenvector), dynamics.linear_spectrum at Δ = 0, the
full criterion's boundaries, solve_gap and the mean-field time integration of the
fast-intraband system of test_stability, the normal form of a supercritical bifurcation
(|Δ|² ∝ V - V_c, amplitude mode at -2 x the normal state's growth rate), and serial runs for
MPI.  Eigenvalues are compared as multisets (never by LAPACK's order)."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from keldysh import io
from keldysh.baths import BathSet
from keldysh.kmesh import EnergyMesh, Resonance
from keldysh.lattice import HoneycombModel
from keldysh.nambu import DrivenSystem
from solvers.born_markov import resonance_width
from solvers.continuation import (BranchPoint, ContinuationOptions, Linearisation, StabilityOptions,
                                  continue_branch, gap_map_from_tree, integration_check, locate_bifurcation,
                                  stability_spectrum)
from solvers.dynamics import linear_spectrum
from solvers.fast_intraband import quasi_thermal_system
from solvers.gap import solve_gap
from solvers.stability import StabilityOptions as CriterionOptions
from solvers.stability import phase_point

G1 = G2 = 5e-4
MU = -(G1 + G2) / 2
V_PRIME = 1.0


def strong_drive(n_resonance=8, n_band=4):
    """Fig. 3a parameters at Ω = 100 Γ on a tiny exact-DOS mesh (2 (n_resonance + n_band) samples)."""
    system = DrivenSystem(HoneycombModel(5.0), 5.1, 0.1, BathSet.paper(G1, G2, MU), MU, "valley")
    mesh = EnergyMesh.resonant(system.model, Resonance.drive(5.1, resonance_width(0.1, G1, G2)), n_resonance, n_band)
    return system, mesh


def criterion(system, mesh):
    point = phase_point(system, lambda level: mesh, [V_PRIME],
                        options=CriterionOptions(routes=("born_markov",), criteria=("full",), certify=False))
    return point.get("full", "born_markov", V_PRIME)


def boundary(crit, jump):
    (b,) = [b for b in crit.boundaries if b.jump == jump and b.V > 0]
    return b


def assert_multiset(actual, expected, tol):
    """Equal as multisets within ``tol`` (optimal one-to-one pairing; then the worst pair)."""
    actual, expected = np.asarray(actual, complex), np.asarray(expected, complex)
    assert actual.shape == expected.shape, (actual, expected)
    d = np.abs(actual[:, None] - expected[None, :])
    rows, cols = linear_sum_assignment(d)
    assert d[rows, cols].max() <= tol, (actual[rows], expected[cols])


def dense(lin):
    """Eigenvalues of the full generator and the index of the Goldstone mode, found by its
    eigenvector's overlap with the phase rotation i[Q, rho*] (a property, not a position)."""
    lam, vec = np.linalg.eig(lin.dense_matrix())
    g = lin.phase_rotation()
    overlap = np.abs(np.conj(vec.T) @ g) / (np.linalg.norm(vec, axis=0) * np.linalg.norm(g))
    return lam, overlap


@pytest.fixture(scope="module")
def tiny():
    system, mesh = strong_drive()
    return system, mesh, criterion(system, mesh)


def test_criterion_on_the_tiny_mesh_has_the_strong_drive_window(tiny):
    """The window 0.70 < V < 2.68 opens and closes with one mode at ν = E = -2μ
    (runs/gap_map.toml; a mesh this coarse adds spurious crossings elsewhere on the ν axis)."""
    _, _, crit = tiny
    lo, hi = boundary(crit, 1), boundary(crit, -1)
    assert lo.V == pytest.approx(0.70, abs=0.01) and hi.V == pytest.approx(2.68, abs=0.01)
    assert lo.nu == pytest.approx((-2 * MU,), abs=1e-9) and hi.nu == pytest.approx((-2 * MU,), abs=1e-9)


def test_bifurcation_point_is_the_criterion_boundary_on_the_same_mesh(tiny):
    system, mesh, crit = tiny
    for jump in (1, -1):
        b = boundary(crit, jump)
        bif = locate_bifurcation(system, mesh, V_PRIME, b.V + 1e-3, b.nu[0] + 1e-6, jump)
        assert bif.status == "ok" and bif.residual < 1e-10
        assert bif.V_c == pytest.approx(b.V, abs=1e-7)
        assert bif.nu_c == pytest.approx(b.nu[0], abs=1e-9)
        assert bif.side == np.sign(jump)
        assert np.linalg.norm(bif.null_vector) == pytest.approx(1.0)


def test_evans_function_pole_form_equals_sylvester_twin_and_dense_spectrum(tiny):
    system, mesh, _ = tiny
    sol = solve_gap(system, mesh, 1.5, V_PRIME)
    assert sol.converged
    lin = Linearisation(system, mesh, 1.5, V_PRIME, sol.delta_plus, sol.delta_minus, sol.nu)
    for lam in (1e-3 + 2e-3j, -2e-4 + 0.1j, 0.05 - 0.3j):
        K, direct = lin.evans_matrix(lam)[0], lin.evans_matrix_direct(lam)
        assert np.abs(K - direct).max() <= 1e-10 * np.abs(direct).max()
    lam, overlap = dense(lin)
    g = int(np.argmax(overlap))
    assert overlap[g] > 1 - 1e-8 and abs(lam[g]) < 1e-10  # the Goldstone mode: λ = 0, phase rotation
    spec = stability_spectrum(lin, StabilityOptions(sigma=0.5))
    assert spec.certified and spec.status == "ok"
    assert abs(spec.goldstone) < 1e-10 and spec.goldstone_overlap > 0.999
    right = lam[lam.real > -spec.sigma]
    assert spec.n_enclosed == right.size
    assert_multiset(np.append(spec.eigenvalues[spec.eigenvalues.real > -spec.sigma], spec.goldstone), right, 1e-9)
    rest = np.delete(lam, g)
    assert spec.max_re == pytest.approx(rest.real.max(), abs=1e-10)
    assert spec.n_growing == 0 and rest.real.max() < 0  # a stable state


def test_normal_state_linearisation_reproduces_linear_spectrum(tiny):
    """At Δ = 0 the pair sector of the complexified generator is dynamics.linear_spectrum, the
    conjugate sector its complex conjugate, and the rest the same-block coherences a_i + a_j*."""
    system, mesh, _ = tiny
    V = 1.5
    lin = Linearisation(system, mesh, V, V_PRIME, 0.0, 0.0, 0.0)
    lam, _ = dense(lin)
    ls = linear_spectrum(system.modes(mesh), V, V_PRIME)
    same_block = []
    for A in lin.A:
        for block in (slice(0, 2), slice(2, 4)):
            a = np.linalg.eigvals(A[block, block])
            same_block += list((a[:, None] + np.conj(a[None, :])).ravel())
    assert_multiset(lam, np.concatenate([ls, np.conj(ls), same_block]), 1e-7)
    # and the growing mode of the normal state is a root of the Evans function
    top = ls[np.argmax(ls.real)]
    assert top.real > 0
    assert np.linalg.svd(np.eye(4) - lin.evans_matrix(top)[0], compute_uv=False).min() < 1e-8


@pytest.fixture(scope="module")
def subcritical(tiny):
    system, mesh, crit = tiny
    b = boundary(crit, -1)
    bif = locate_bifurcation(system, mesh, V_PRIME, b.V, b.nu[0], -1)
    return continue_branch(system, mesh, V_PRIME, bif, options=ContinuationOptions(p_min=0.0, p_max=3.0,
                                                                                   max_points=2, ds=0.3))


def test_subcritical_branch_is_unstable_with_one_growing_mode(tiny, subcritical):
    """From V_c ≈ 2.68 (unstable side below) the branch enters V > V_c, the stable side of the
    normal state: subcritical, and the state has one growing mode besides the Goldstone mode
    (the dense spectrum agrees)."""
    system, mesh, _ = tiny
    br = subcritical
    assert br.kind == "subcritical" and br.exponent == pytest.approx(1.0, abs=2e-3)
    p = br.points[1]
    assert p.V > br.bifurcation.V_c and p.spectrum.n_growing == 1 and p.spectrum.certified
    lin = Linearisation(system, mesh, p.V, V_PRIME, p.delta_plus, p.delta_minus, p.nu)
    lam, overlap = dense(lin)
    rest = np.delete(lam, int(np.argmax(overlap)))
    assert np.sum(rest.real > 1e-12) == 1
    grow = rest[np.argmax(rest.real)]
    assert abs(grow.imag) < 1e-9 and grow.real == pytest.approx(p.spectrum.max_re, rel=1e-8)


def test_fold_and_return_to_the_other_bifurcation_point(tiny):
    """Followed far enough, the branch born at 0.70 turns back (fold) and ends on the normal
    state at the bifurcation point near 2.68: the subcritical branch there is its other side."""
    system, mesh, crit = tiny
    b = boundary(crit, 1)
    bif = locate_bifurcation(system, mesh, V_PRIME, b.V, b.nu[0], 1)
    opts = ContinuationOptions(p_min=0.0, p_max=30.0, ds_max=3.0, max_points=300, stability=False)
    br = continue_branch(system, mesh, V_PRIME, bif, options=opts)
    assert br.termination.startswith("returned to the normal state")
    assert len(br.folds) == 1 and 5.0 < br.folds[0] < 12.0
    assert br.points[-1].V == pytest.approx(boundary(crit, -1).V, abs=0.02)
    assert max(p.V for p in br.points) == pytest.approx(br.folds[0], abs=0.05)


def fast_intraband():
    """The fast-intraband system of test_stability (no drive, quasi-thermal K+)."""
    model = HoneycombModel(1.0)
    system = quasi_thermal_system(model, 1e-3, MU, 0.56)
    mesh = EnergyMesh.resonant(model, Resonance.drive(1.02, 0.01), 40, 20)
    return system, mesh


@pytest.fixture(scope="module")
def intraband():
    system, mesh = fast_intraband()
    crit = criterion(system, mesh)
    (b,) = [b for b in crit.boundaries if b.jump > 0]
    bif = locate_bifurcation(system, mesh, V_PRIME, b.V, b.nu[0], b.jump)
    return system, mesh, crit, bif


def test_supercritical_onset_amplitude_law_and_amplitude_mode(intraband):
    """Normal form of a supercritical bifurcation: |Δ|² ∝ V - V_c on the unstable side, ν -> ν_c,
    and the amplitude mode at λ_A = -2 g(V), g the growth rate of the normal state at V
    (dynamics.linear_spectrum)."""
    system, mesh, crit, bif = intraband
    assert bif.V_c < 0 and bif.side == 1
    opts = ContinuationOptions(p_min=bif.V_c - 1, p_max=0.0, max_points=2, ds=0.05)
    br = continue_branch(system, mesh, V_PRIME, bif, options=opts)
    assert br.kind == "supercritical" and br.status == "ok"
    # onset amplitudes 1e-5 .. 8e-5: the next order of the normal form moves the fit by ~3e-3
    # (measured 0.9973; the strong-drive branch, whose nonlinearity sets in later, gives 1.0001)
    assert br.exponent == pytest.approx(1.0, abs=1e-2) and br.exponent_error < 5e-3
    for p in br.onset:
        assert p.V > bif.V_c and p.residual < 1e-10
        assert p.nu == pytest.approx(bif.nu_c, abs=1e-9)
    modes = system.modes(mesh)
    for p, rel in ((br.onset[0], 0.01), (br.onset[3], 0.01), (br.points[0], 0.05)):
        g = linear_spectrum(modes, p.V, V_PRIME).real.max()
        assert 0 < g < 0.05 * 1e-3  # slow next to the pair decoherence rate Γ12
        lin = Linearisation(system, mesh, p.V, V_PRIME, p.delta_plus, p.delta_minus, p.nu)
        spec = stability_spectrum(lin)
        assert spec.certified and spec.n_growing == 0
        nearest = spec.eigenvalues[np.argmin(np.abs(spec.eigenvalues))]
        assert nearest.real == pytest.approx(-2 * g, rel=rel) and abs(nearest.imag) < 1e-6 * g


def test_fast_intraband_branch_lands_on_solve_gap_and_the_time_integration(intraband):
    """Continued from the full criterion's lower boundary to V = 0, the branch ends on the state
    of solve_gap (which test_stability checks against the time integration), the state is
    stable, and a time integration from a finite seed (half the gap, rotated) lands on it."""
    system, mesh, crit, bif = intraband
    opts = ContinuationOptions(p_min=bif.V_c - 1.0, p_max=0.0, ds=0.5, max_points=60, stability=False)
    br = continue_branch(system, mesh, V_PRIME, bif, options=opts)
    end = br.points[-1]
    assert br.kind == "supercritical" and end.V == 0.0
    ref = solve_gap(system, mesh, 0.0, V_PRIME)
    assert ref.converged
    assert abs(end.delta_plus) == pytest.approx(abs(ref.delta_plus), rel=1e-8)
    assert abs(end.delta_minus) == pytest.approx(abs(ref.delta_minus), rel=1e-8)
    assert end.nu == pytest.approx(ref.nu, abs=1e-10)
    lin = Linearisation(system, mesh, 0.0, V_PRIME, end.delta_plus, end.delta_minus, end.nu)
    spec = stability_spectrum(lin)
    assert spec.certified and spec.n_growing == 0
    check = integration_check(system, mesh, V_PRIME, BranchPoint(**{**end.__dict__, "spectrum": spec}))
    assert check.lands, check
    assert check.rel_diff_plus < 1e-5 and check.nu_diff < 1e-8


# ------------------------------------------------------------------------------------------
# the task
TASK = """\
    task = "gap-map"
    [model]
    delta = 1.0
    [baths]
    kind = "quasi_thermal"
    Gamma12 = 1e-3
    mu2 = 0.56
    [interaction]
    Vprime = 1.0
    [numerics]
    mesh = "exact-dos"
    n_resonance = 20
    n_band = 9
    V_window = [-1.5, 1.5]
    criterion_on_shell = false
    certify = false
    n_checks = 1
    max_points = 12
    ds = 2.0
    ds_max = 20.0
"""


def test_task_writes_the_branches_and_reads_them_back(tmp_path):
    from solvers.app import plot
    from solvers.app.config import Config, load_config
    from solvers.app.tasks import TASKS

    path = tmp_path / "tiny.toml"
    path.write_text(textwrap.dedent(TASK))
    cfg = load_config(path)
    assert Config.from_dict(cfg.resolved()) == cfg
    out = TASKS["gap-map"](cfg)
    res = out["results"]
    # the two bifurcation points ±V_c are joined by one branch (the second starts none)
    assert sorted(res["bifurcations"]["jump"].tolist()) == [-1, 1]
    assert res["n_branches"] == 1
    gm = gap_map_from_tree(res)
    (br,) = gm.branches
    assert br.kind == "supercritical" and br.termination.startswith("returned to the normal state")
    assert br.points[-1].V == pytest.approx(-br.bifurcation.V_c, abs=0.01)  # symmetric in V
    assert all(p.residual < 1e-10 and p.spectrum.stable for p in br.points)
    assert len(br.checks) == 1 and br.checks[0].lands
    h5 = tmp_path / "tiny.h5"
    io.write_results(h5, task=cfg.task, config=cfg.resolved(), results=res, mesh=out["mesh"], grids=out["grids"],
                     history=out["history"])
    back = io.load(h5)
    again = gap_map_from_tree(back.results)
    for a, b in zip(gm.branches, again.branches):
        assert [p.delta_plus for p in a.points] == [p.delta_plus for p in b.points]
        # NaN (no eigenvalue right of the counting line) reads back as NaN: compared as equal
        np.testing.assert_array_equal([p.spectrum.max_re for p in a.points], [p.spectrum.max_re for p in b.points])
    (png,) = plot.plot_file(h5, tmp_path / "figs")
    assert png.name == "tiny_gap-map.png" and png.stat().st_size > 10_000


@pytest.mark.mpi
def test_task_under_mpi_equals_serial(mpiexec, tmp_path):
    """2 ranks (58 samples in blocks of 16: uneven) give the same numbers as one, bit for bit."""
    path = tmp_path / "tiny.toml"
    path.write_text(textwrap.dedent(TASK))
    files = {}
    for n in (1, 2):
        files[n] = tmp_path / f"run{n}.h5"
        done = subprocess.run([mpiexec, "-n", str(n), sys.executable, "-m", "mpi4py", "-m", "solvers", str(path),
                               "--output", str(files[n])], capture_output=True, text=True, timeout=600,
                              env={**__import__("os").environ, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
        assert done.returncode == 0, done.stderr[-2000:]
    a, b = io.load(files[1]), io.load(files[2])
    assert int(a.attrs["n_ranks"]) == 1 and int(b.attrs["n_ranks"]) == 2

    def leaves(tree, prefix=""):
        for k, v in tree.items():
            if isinstance(v, dict):
                yield from leaves(v, f"{prefix}/{k}")
            else:
                yield f"{prefix}/{k}", v

    left = dict(leaves(a.results))
    right = dict(leaves(b.results))
    assert left.keys() == right.keys()
    timings = [key for key in left if key.endswith("seconds")]  # wall-clock times: not results
    assert "/branches/0/seconds" in timings
    for key, x in left.items():
        if key in timings:
            continue
        y = right[key]
        if isinstance(x, np.ndarray) and x.dtype.kind in "fc":
            np.testing.assert_array_equal(x, y, err_msg=key)  # block-ordered sums: the same bits
        elif isinstance(x, np.ndarray):
            assert x.tolist() == y.tolist(), key
        elif isinstance(x, float) and np.isnan(x):
            assert isinstance(y, float) and np.isnan(y), key  # NaN: "none" (e.g. no exponent), on both
        else:
            assert x == y, key
    assert int(a.results["n_branches"]) == 1  # as in the serial task test: ±V_c joined by one branch


@pytest.mark.slow
def test_circular_drive_branch_from_the_repulsive_bifurcation():
    """The whole-zone σ+ drive (spec §9) on a coarse polar shell (4152 samples, ~1 min): the
    bifurcation point is located on the full criterion's boundary, the branch solves the gap
    equation, and its stability agrees with its type (exchange of stability at a simple
    bifurcation: a subcritical branch, on the side where the normal state is stable, carries
    the normal state's growing mode; a supercritical one is stable near onset)."""
    from solvers.stability.grids import polar_shell_mesh

    g = G1 + G2
    system = DrivenSystem(HoneycombModel(5.0), 5.1, 100 * g, BathSet.paper(G1, G2, MU), MU, "circular")
    mesh = polar_shell_mesh(system, resolution_over_gamma=4.0, n_angle=2)
    point = phase_point(system, lambda level: mesh, [0.5],
                        options=CriterionOptions(routes=("born_markov",), criteria=("full",), certify=False))
    crit = point.get("full", "born_markov", 0.5)
    (b,) = [b for b in crit.boundaries if b.V > 0 and b.jump == 1]
    bif = locate_bifurcation(system, mesh, 0.5, b.V, b.nu[0], b.jump, "born_markov", None)
    assert bif.V_c == pytest.approx(b.V, abs=1e-6) and bif.nu_c == pytest.approx(-2 * MU, abs=1e-9)
    br = continue_branch(system, mesh, 0.5, bif, options=ContinuationOptions(parameter="V", p_min=0.0, p_max=5.0,
                                                                           max_points=3, ds=0.02))
    assert len(br.points) == 3 and all(p.residual < 1e-12 for p in br.points)
    assert br.kind in ("subcritical", "supercritical")
    assert all(p.spectrum.certified for p in br.points)
    expected = 1 if br.kind == "subcritical" else 0
    assert [p.spectrum.n_growing for p in br.points] == [expected] * 3
    # the phase of V' drops out and Δ+ and Δ- have equal magnitude (χ_+- sums to zero, C3)
    assert all(abs(abs(p.delta_plus) - abs(p.delta_minus)) < 1e-10 * abs(p.delta_plus) for p in br.points)
