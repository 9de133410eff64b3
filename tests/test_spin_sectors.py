"""Spin-orbit sectors in the engine (spec §9): a spinful system is the sum of its time-reversal
sectors σ = τs = ±1 in every route, criterion and the gap solver.

Oracles: (1) λ = 0 and one sector is the spinless engine (bitwise here, 1e-12 required);
(2) a sector whose spin-orbit term is flat, σλ on the whole zone, is exactly the spinless
model with gap δ - σλ and every band shifted by σλ/2, i.e. the spinless engine with μ and the
bath chemical potentials lowered by σλ/2; (3) the Kane-Mele sector tends to that as the
resonance approaches K+ (g -> 1); (4) sum rules chi = Σ_σ chi^(σ), S = Σ_σ S^(σ);
(5) MPI equals serial (3 ranks, block counts not divisible by the ranks).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy.optimize import brentq

from keldysh.baths import BathSet
from keldysh.kmesh import EnergyMesh, KMesh, Resonance
from keldysh.lattice import HoneycombModel
from keldysh.materials import SpinSectorModel, preset, so_function
from keldysh.nambu import DrivenSystem, SpinfulSystem
from keldysh.refined_kmesh import RefinedKMesh
from solvers.gap import pair_sums
from solvers.stability import ChiEvaluator, StabilityOptions, paper_couplings, phase_point
from solvers.stability.grids import default_nu_grid, pair_energies, pair_energy, polar_shell_mesh

DELTA, LAM = 1.3, 0.06
G1 = G2 = 5e-4
MU = -(G1 + G2) / 2
Z = np.array([0.0, 1e-3, -2e-3 + 5e-4j, 0.06 + 1e-3j])


def _baths(shift: float = 0.0) -> BathSet:
    return BathSet.paper(G1, G2, MU - shift)


class FlatSector(SpinSectorModel):
    """Test double: the spin-orbit term σλ on the whole zone (g ≡ 1), so H_σ = spinless model
    with δ - σλ plus σλ/2 on both bands, exactly."""

    def so_term(self, k):
        return self.sigma * self.lambda_so * np.ones(np.shape(k)[:-1])

    def so_term_gradient(self, k):
        return np.zeros(np.shape(k))

    def partner(self):
        # the Kane-Mele g is odd, so the partner (-k, -σ) sees -σλg(-k) = σλg(k); a flat term
        # that keeps this property is σλ for both members of the pair
        return self


def _relative(a, b) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


# -- (1) lambda = 0, one sector ---------------------------------------------------------
@pytest.mark.parametrize("pattern", ["valley", "dichroic", "circular"])
@pytest.mark.parametrize("route", ["paper", "born_markov", "keldysh"])
def test_one_sector_without_spin_orbit_is_the_spinless_engine(pattern, route):
    spinless = DrivenSystem(HoneycombModel(DELTA), DELTA + 0.02, 4e-3, _baths(), MU, pattern)
    sector = DrivenSystem(SpinSectorModel(DELTA, 1.0, 0.0, 1), DELTA + 0.02, 4e-3, _baths(), MU, pattern)
    mesh = KMesh.driven_half(spinless.model, 14)
    ref = ChiEvaluator(route, spinless, mesh)
    ours = ChiEvaluator(route, SpinfulSystem((sector,)), (mesh,))
    assert _relative(ours(Z), ref(Z)) <= 1e-12
    assert _relative(ours.static(), ref.static()) <= 1e-12
    S_ref = pair_sums(spinless, mesh, 1e-4, 2e-5j, 1e-3)
    S = pair_sums(SpinfulSystem((sector,)), (mesh,), 1e-4, 2e-5j, 1e-3)
    assert _relative(S, S_ref) <= 1e-12


def test_one_sector_without_spin_orbit_gives_todays_phase_point():
    spinless = DrivenSystem(HoneycombModel(DELTA), DELTA + 0.02, 2e-2, _baths(), MU, "circular")
    sector = DrivenSystem(SpinSectorModel(DELTA, 1.0, 0.0, 1), DELTA + 0.02, 2e-2, _baths(), MU, "circular")
    options = StabilityOptions(routes=("born_markov",), certify=False, V_max=3.0, closed_forms=False)
    ref = phase_point(spinless, lambda level: polar_shell_mesh(spinless, n_angle=4), [1.0], options=options)
    ours = phase_point(SpinfulSystem((sector,)), lambda level: (polar_shell_mesh(sector, n_angle=4),), [1.0],
                       options=options)
    for crit in ("paper", "full"):
        a, b = ours.get(crit, "born_markov", 1.0), ref.get(crit, "born_markov", 1.0)
        assert a.counts == b.counts and len(a.boundaries) == len(b.boundaries)
        np.testing.assert_allclose(a.V_c, b.V_c, rtol=1e-12, atol=1e-12)
    assert ours.parameters["Omega_A"] == 2e-2 and ours.parameters["lambda_so"] == 0.0


# -- (2) flat spin-orbit term: shifted gap and offset ----------------------------------------
@pytest.mark.parametrize("sigma", [1, -1])
@pytest.mark.parametrize("pattern", ["valley", "circular"])
@pytest.mark.parametrize("route", ["paper", "born_markov", "keldysh"])
def test_a_flat_sector_is_the_spinless_engine_with_shifted_gap_and_offset(sigma, pattern, route):
    omega0, Omega = DELTA - sigma * LAM + 0.02, 4e-3
    shift = sigma * LAM / 2  # E_a = σλ/2 ∓ e: the spinless bands lifted by σλ/2 = μ lowered by it
    sector = DrivenSystem(FlatSector(DELTA, 1.0, LAM, sigma), omega0, Omega, _baths(), MU, pattern)
    spinless = DrivenSystem(HoneycombModel(DELTA - sigma * LAM), omega0, Omega, _baths(shift), MU - shift, pattern)
    mesh = KMesh.driven_half(spinless.model, 14)
    ref = ChiEvaluator(route, spinless, mesh)
    ours = ChiEvaluator(route, sector, mesh)
    assert _relative(ours(Z + 2 * shift), ref(Z + 2 * shift)) <= 1e-11
    assert _relative(ours.static(), ref.static()) <= 1e-11 or route != "paper"
    # the pair energy moves by 2 × offset: the paper route's static kernel is Eq. (13) at ν = 0
    modes = sector.modes(mesh)
    np.testing.assert_allclose(modes.xi[:, 0] + modes.xi[:, 1], 2 * shift - 2 * MU, rtol=0, atol=1e-14)
    S_ref = pair_sums(spinless, mesh, 1e-4, 2e-5j, 1e-3 + 2 * shift)
    assert _relative(pair_sums(sector, mesh, 1e-4, 2e-5j, 1e-3 + 2 * shift), S_ref) <= 1e-11


# -- (3) the Kane-Mele sector near the band edge ---------------------------------------------
def test_kane_mele_sector_tends_to_the_shifted_spinless_model_at_the_band_edge():
    """Valley drive, paper route (Eq. 9/13 structure), sector σ = +1 against the spinless model
    with gap δ - λ and offset λ/2 (exact-DOS mesh) as the resonance approaches K+.

    Near K+ g = 1 - (3/4) q² + O(q³), so the sector has (a) the pair energy λg - 2μ, lower than
    λ - 2μ by (3/4) λ q² on the shell (q² ∝ detuning): chi at ν = λ - 2μ converges ∝ detuning/Γ;
    and (b) the mass m = (δ - λg)/2, which renormalises the Dirac velocity,
    e² = m0² + (9/4 + (3/4) m0 λ) q² (m0 = (δ - λ)/2): the density of states, hence chi(0) far
    from the pair energy, tends to 9/4 / (9/4 + (3/4) m0 λ) of the spinless one (a lattice effect
    of O(λ δ/t²) that Xiao's Dirac model, with a constant spin-orbit term, does not have)."""
    Gamma = 2e-4
    m0 = (DELTA - LAM) / 2
    dos_ratio = 2.25 / (2.25 + 0.75 * m0 * LAM)
    at_pair, static = [], []
    for detuning in (0.01, 0.0025, 0.000625):
        omega0 = DELTA - LAM + detuning
        shift = LAM / 2
        sector = DrivenSystem(SpinSectorModel(DELTA, 1.0, LAM, 1), omega0, Gamma / 5,
                              BathSet.paper(Gamma / 2, Gamma / 2, MU), MU)
        spinless = DrivenSystem(HoneycombModel(DELTA - LAM), omega0, Gamma / 5,
                                BathSet.paper(Gamma / 2, Gamma / 2, MU - shift), MU - shift)
        res = Resonance.drive(omega0, Gamma)
        ours = ChiEvaluator("paper", sector, RefinedKMesh.resonant(sector.model, res, 8, 16, 16, 8))
        ref = ChiEvaluator("paper", spinless, EnergyMesh.resonant(spinless.model, res, 400, 120))
        nu = LAM - 2 * MU  # the pair energy at K+
        at_pair.append(abs(ours(nu)[0, 0, 0] - ref(nu)[0, 0, 0]) / abs(ref(nu)[0, 0, 0]))
        static.append(ours.static()[0, 0].real / ref.static()[0, 0].real)
    assert at_pair[1] < at_pair[0] / 2.5 and at_pair[2] < at_pair[1] / 2.5 and at_pair[2] < 0.08, at_pair
    assert abs(static[2] - dos_ratio) < 2e-3 and abs(static[2] - dos_ratio) < abs(static[0] - dos_ratio), static


def test_pair_energies_of_a_sector_follow_g_on_the_shell():
    m = preset("MoS2")
    omega0 = (m.gap_A_eV + 0.010) / m.t_eV
    sector = DrivenSystem(m.model(+1), omega0, 1e-3, _baths(), MU, "circular")
    E = pair_energies(sector)
    lam = m.lambda_over_t
    kp = sector.model.valley_centres()["K+"]
    assert E[-1] == pytest.approx(lam - 2 * MU, abs=1e-15)        # σλ g(K+) - 2μ, g(K+) = 1
    assert 0 < E[-1] - E[0] < 1e-2 * lam                           # g < 1 on the shell, by O(q²)
    direction = -kp / np.linalg.norm(kp)                            # the cut from K+ towards Γ
    qr = brentq(lambda x: float(sector.model.energy(kp + x * direction)) - omega0 / 2, 0.0, 1.0, xtol=1e-15)
    assert E[0] == pytest.approx(lam * so_function(kp + qr * direction) - 2 * MU, abs=1e-14)
    assert pair_energy(DrivenSystem(HoneycombModel(1.0), 1.1, 1e-3, _baths(), MU)) == -2 * MU
    # the B sector is not resonant at the A transition: one pair energy, -λ - 2μ
    b = DrivenSystem(m.model(-1), omega0, 1e-3, _baths(), MU, "circular")
    assert pair_energies(b) == pytest.approx([-lam - 2 * MU], abs=1e-15)
    grid = default_nu_grid(SpinfulSystem((sector, b)))
    for e in (*E, -lam - 2 * MU):
        assert np.min(np.abs(grid - e)) < 1e-4                     # both sectors' features resolved


# -- (4) sum rules -------------------------------------------------------------------------------
def _mos2_spinful(Omega_A: float = 3e-3, pattern: str = "circular") -> SpinfulSystem:
    m = preset("MoS2")
    omega0 = (m.gap_A_eV + 0.010) / m.t_eV
    # the same field in both sectors: Ω_σ ∝ 1/(gap of the sector) (keldysh.units)
    gaps = [m.model(s).gap("K+") for s in (1, -1)]
    return SpinfulSystem(tuple(DrivenSystem(m.model(s), omega0, Omega_A * gaps[0] / g, _baths(), MU, pattern)
                               for s, g in zip((1, -1), gaps)))


@pytest.mark.parametrize("route", ["paper", "born_markov", "keldysh"])
def test_sum_rule_chi_total_is_the_sum_of_the_sector_chis(route):
    system = _mos2_spinful()
    meshes = tuple(KMesh.driven_half(s.model, 16) for s in system.sectors)
    total = ChiEvaluator(route, system, meshes)
    parts = [ChiEvaluator(route, s, m) for s, m in zip(system.sectors, meshes)]
    z = np.array([0.0, 0.06, -0.06 + 1e-3j])
    np.testing.assert_allclose(total(z), parts[0](z) + parts[1](z), rtol=1e-12, atol=0)
    np.testing.assert_allclose(total.static(), parts[0].static() + parts[1].static(), rtol=1e-12, atol=0)
    assert np.max(np.abs(parts[1](z))) > 0  # the B sector contributes (off resonance)
    S = pair_sums(system, meshes, 2e-4, 1e-4j, 0.06)
    S_parts = [pair_sums(s, m, 2e-4, 1e-4j, 0.06) for s, m in zip(system.sectors, meshes)]
    np.testing.assert_allclose(S, S_parts[0] + S_parts[1], rtol=1e-12, atol=0)


def test_spinful_phase_point_uses_the_summed_chi():
    system = _mos2_spinful(5e-3)
    meshes = tuple(KMesh.driven_half(s.model, 16) for s in system.sectors)
    options = StabilityOptions(routes=("paper",), criteria=("paper",), certify=False, closed_forms=False)
    point = phase_point(system, lambda level: meshes, [0.5], options=options)
    chi0 = ChiEvaluator("paper", system, meshes).static()
    ref = paper_couplings(chi0, 0.5, "paper")
    np.testing.assert_allclose(point.get("paper", "paper", 0.5).V_c, ref.V_c, rtol=1e-12)
    assert point.parameters["gap_A"] < point.parameters["gap_B"]
    assert point.parameters["Omega_A"] > point.parameters["Omega_B"]
    with pytest.raises(ValueError, match="one mesh per sector"):
        ChiEvaluator("paper", system, meshes[0])


def test_spinful_system_validation_and_labels():
    system = _mos2_spinful()
    assert system.labels == ("A", "B") and len(system) == 2
    with pytest.raises(ValueError, match="non-empty tuple of DrivenSystem"):
        SpinfulSystem(())
    with pytest.raises(ValueError, match="exact DOS"):
        system.sectors[0].modes(EnergyMesh.resonant(HoneycombModel(1.3), Resonance(0.7, 1e-3)))


def test_sector_band_velocity_and_partner_drive():
    s = SpinSectorModel(DELTA, 1.0, 0.3, -1)
    k = np.random.default_rng(3).uniform(-3, 3, (50, 2))
    u = np.array([np.cos(0.7), np.sin(0.7)])
    h = 1e-6
    fd = (s.energy(k + h * u) - s.energy(k - h * u)) / (2 * h)
    np.testing.assert_allclose(s.band_velocity(k, u), fd, rtol=0, atol=1e-8)
    np.testing.assert_allclose(s.energy(k), 0.5 * np.diff(s.bands(k), axis=-1)[..., 0], rtol=0, atol=1e-14)
    np.testing.assert_allclose(s.band_offset(k), 0.5 * s.bands(k).sum(axis=-1), rtol=0, atol=1e-14)
    # Ω_{-k} of the whole-zone drive is the partner's (spin -σ at -k): -conj P_-^(σ)(k) / |P_+(K+)|
    mesh = KMesh.driven_half(s.base, 8)
    _, rabi, _ = mesh.samples(s, 1.0, "circular")
    _, pm = s.velocity_elements(mesh.points)
    pc, _ = s.velocity_elements(s.valley_centres()["K+"])
    np.testing.assert_allclose(rabi[:, 1], -np.conj(pm) / abs(pc), rtol=0, atol=1e-12)


# -- (5) MPI ----------------------------------------------------------------------------------------
_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    from mpi4py import MPI
    sys.path.insert(0, {tests!r})
    from test_spin_sectors import _mos2_spinful
    from keldysh.kmesh import KMesh
    from solvers.gap import pair_sums
    from solvers.stability import ChiEvaluator
    comm = MPI.COMM_WORLD
    system = _mos2_spinful()
    meshes = tuple(KMesh.driven_half(s.model, 44) for s in system.sectors)
    ev = ChiEvaluator("born_markov", system, meshes, comm)
    chi = ev(np.array([0.0, 0.06, -0.06 + 1e-3j]))
    S = pair_sums(system, meshes, 2e-4, 1e-4j, 0.06, comm=comm)
    if comm.Get_rank() == 0:
        print(json.dumps({{"chi": [[c.real, c.imag] for c in chi.ravel()],
                          "S": [[c.real, c.imag] for c in S], "blocks": ev.sectors[0].n_blocks}}))
""")


@pytest.mark.mpi
def test_spinful_chi_and_pair_sums_under_mpi_equal_serial(mpiexec, tmp_path):
    from keldysh.kmesh import KMesh

    script = tmp_path / "spinful.py"
    script.write_text(_SCRIPT.format(tests=os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    run = subprocess.run([mpiexec, "-n", "3", sys.executable, str(script)], capture_output=True, text=True,
                         timeout=300, env=env)
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout.strip().splitlines()[-1])
    system = _mos2_spinful()
    meshes = tuple(KMesh.driven_half(s.model, 44) for s in system.sectors)
    ev = ChiEvaluator("born_markov", system, meshes)
    chi = ev(np.array([0.0, 0.06, -0.06 + 1e-3j]))
    S = pair_sums(system, meshes, 2e-4, 1e-4j, 0.06)
    assert got["blocks"] % 3 != 0
    mpi_chi = np.array([complex(*c) for c in got["chi"]]).reshape(chi.shape)
    np.testing.assert_allclose(mpi_chi, chi, rtol=1e-12, atol=0)
    mpi_S = np.array([complex(*c) for c in got["S"]])
    np.testing.assert_allclose(mpi_S, S, rtol=1e-12, atol=1e-300)
