"""Lattice model, valley labels, meshes and the exact DOS (spec §1, §7)."""
import numpy as np
import pytest
from scipy.integrate import quad

from keldysh.lattice import BRAVAIS, CELL_AREA, RECIPROCAL, HoneycombModel, gapless_valley_dos
from keldysh.kmesh import EnergyMesh, KMesh, Resonance, shard_bounds


@pytest.fixture(params=[0.25, 1.0, 5.0])
def model(request):
    return HoneycombModel(delta=request.param)


def test_reciprocal_vectors():
    assert np.allclose(BRAVAIS @ RECIPROCAL.T, 2 * np.pi * np.eye(2), atol=1e-14)
    assert np.isclose(abs(np.linalg.det(BRAVAIS)), CELL_AREA)


def test_valley_centres_have_eta_pm1_and_h_zero(model):
    c = model.valley_centres()
    assert model.eta(c["K+"]) == pytest.approx(1.0, abs=1e-12)
    assert model.eta(c["K-"]) == pytest.approx(-1.0, abs=1e-12)
    assert abs(model.h(c["K+"])) < 1e-12 and abs(model.h(c["K-"])) < 1e-12
    assert np.allclose(c["K+"], -c["K-"])
    # for the spec's vectors K+ is at -(4π/(3√3), 0) (reported, not assumed elsewhere)
    assert c["K+"][0] < 0


def test_bands_bloch_vectors_and_symmetries(model):
    rng = np.random.default_rng(0)
    k = rng.uniform(-4, 4, size=(200, 2))
    H = model.hamiltonian(k)
    ev = np.linalg.eigvalsh(H)
    assert np.allclose(ev, model.bands(k), atol=1e-12)
    u1, u2 = model.bloch_vectors(k)
    e = model.energy(k)
    assert np.allclose(np.einsum("kij,kj->ki", H, u2), e[:, None] * u2, atol=1e-12)
    assert np.allclose(np.einsum("kij,kj->ki", H, u1), -e[:, None] * u1, atol=1e-12)
    assert np.allclose(model.energy(-k), e)
    assert np.allclose(model.eta(-k), -model.eta(k), atol=1e-12)
    # periodicity of everything physical under reciprocal lattice vectors
    for b in RECIPROCAL:
        assert np.allclose(model.energy(k + b), e)
        assert np.allclose(model.eta(k + b), model.eta(k), atol=1e-10)
    assert np.all(np.abs(model.eta(k)) <= 1 + 1e-12)


def test_velocity_elements_match_finite_differences(model):
    k = np.array([0.3, -1.1])
    u1, u2 = model.bloch_vectors(k)
    hstep = 1e-6
    dH = [(model.hamiltonian(k + hstep * e) - model.hamiltonian(k - hstep * e)) / (2 * hstep)
          for e in np.eye(2)]
    for sign, P in zip((1, -1), model.velocity_elements(k)):
        D = dH[0] + sign * 1j * dH[1]
        assert np.isclose(np.conj(u2) @ D @ u1, P, rtol=1e-7)


def test_drive_patterns(model):
    k = KMesh.full_zone(12)
    eta = model.eta(k)
    val = model.drive_amplitude(k, 0.01, "valley")
    assert np.all(val[eta > 0] == 0.01) and np.all(val[eta <= 0] == 0.0)
    dic = model.drive_amplitude(k, 0.01, "dichroic")
    assert np.all(dic[eta <= 0] == 0.0)
    assert model.drive_amplitude(model.valley_centres()["K+"], 0.01, "dichroic") == pytest.approx(0.01)
    with pytest.raises(ValueError, match="pattern"):
        model.drive_amplitude(k, 0.01, "linear")


@pytest.mark.parametrize("n", [2, 6, 10, 24])
def test_driven_half_is_exactly_half(model, n):
    mesh = KMesh.driven_half(model, n)
    assert len(mesh) == n * n // 2
    assert mesh.weights.sum() == pytest.approx(0.5)
    full = KMesh.full_zone(n)
    kept = set(mesh.index.tolist())
    # one of each ±k pair: the partner of every kept point is not kept
    i1, i2 = np.divmod(mesh.index, n)
    partners = (n - 1 - i1) * n + (n - 1 - i2)
    assert kept.isdisjoint(partners.tolist())
    assert np.allclose(full[mesh.index], mesh.points)
    assert np.all(model.eta(mesh.points) >= -1e-12)


def test_kmesh_rejects_odd_n(model):
    with pytest.raises(ValueError, match="nk"):
        KMesh.driven_half(model, 7)


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_shards_are_contiguous_and_cover(model, size):
    mesh = KMesh.driven_half(model, 10)  # 50 points, not divisible by 3
    parts = mesh.split(size)
    assert sum(len(p) for p in parts) == len(mesh)
    assert np.array_equal(np.concatenate([p.index for p in parts]), mesh.index)
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 1
    assert np.array_equal(shard_bounds(50, 3), [0, 17, 34, 50])


def test_gapless_dos_normalisation_and_edge():
    total = quad(gapless_valley_dos, 0, 1, limit=400)[0] + quad(gapless_valley_dos, 1, 3, limit=400)[0]
    assert total == pytest.approx(0.5, rel=1e-9)
    # massive Dirac edge: rho(E) ≈ 2 A_c E / (9 π t²)
    assert gapless_valley_dos(1e-5) / 1e-5 == pytest.approx(2 * CELL_AREA / (9 * np.pi), rel=1e-6)


def test_dos_normalised_and_edge_slope(model):
    lo, hi = model.band_edges()
    vh = np.sqrt(model.delta**2 / 4 + 1)
    total = quad(model.dos, lo, vh, limit=400)[0] + quad(model.dos, vh, hi, limit=400)[0]
    assert total == pytest.approx(0.5, rel=1e-8)
    E = lo * (1 + 1e-7)
    assert model.dos(E) == pytest.approx(2 * CELL_AREA * E / (9 * np.pi), rel=1e-5)
    assert model.dos(lo * 0.99) == 0.0 and model.dos(hi * 1.01) == 0.0


def test_dos_matches_fine_mesh_histogram(model):
    n = 600
    mesh = KMesh.driven_half(model, n)
    e = model.energy(mesh.points)
    lo, hi = model.band_edges()
    edges = np.linspace(lo, hi, 25)
    hist, _ = np.histogram(e, bins=edges, weights=mesh.weights)
    exact = np.array([quad(model.dos, a, b, limit=200)[0] for a, b in zip(edges[:-1], edges[1:])])
    # histogram of the K+ half: (1/N) Σ_{k∈K+} 1[e_k in bin] = ∫_bin rho
    assert np.allclose(hist, exact, atol=2e-4 * exact.max() * 10, rtol=5e-3)


def test_energy_mesh_integrates_dos(model):
    em = EnergyMesh.resonant(model, Resonance.drive(model.delta + 0.1, 1e-3))
    assert em.weights.sum() == pytest.approx(0.5, rel=1e-5)
    # a narrow Lorentzian at the resonance is integrated against the DOS exactly
    c, w = (model.delta + 0.1) / 2, 1e-3
    lor = (w / np.pi) / ((em.energies - c) ** 2 + w**2)
    lo, hi = model.band_edges()
    vh = np.sqrt(model.delta**2 / 4 + 1)
    f = lambda E: model.dos(E) * (w / np.pi) / ((E - c) ** 2 + w**2)
    cuts = sorted([lo, c - 50 * w, c, c + 50 * w, vh, hi])
    ref = sum(quad(f, a, b, limit=500, epsabs=0, epsrel=1e-12)[0] for a, b in zip(cuts[:-1], cuts[1:]))
    assert np.sum(em.weights * lor) == pytest.approx(ref, rel=1e-8)


def test_model_validation():
    with pytest.raises(ValueError, match="delta"):
        HoneycombModel(delta=0.0)
    with pytest.raises(ValueError, match="delta"):
        HoneycombModel(delta=float("nan"))
    with pytest.raises(ValueError, match="t"):
        HoneycombModel(delta=1.0, t=-1.0)
