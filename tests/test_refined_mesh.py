"""RefinedKMesh: the resonance-refined 2D quadrature of the K+ half (keldysh.kmesh)."""
import numpy as np
import pytest

from keldysh.baths import BathSet
from keldysh.kmesh import EnergyMesh, KMesh, Resonance
from keldysh.lattice import CELL_AREA, RECIPROCAL, HoneycombModel
from keldysh.nambu import DrivenSystem
from keldysh.refined_kmesh import RefinedKMesh
from solvers.born_markov import pair_response_matrix, paper_kernel_samples, paper_kernels, resonance_width


def level(s):
    """The one-parameter family of the benchmarks: (n_angle, n_radial, n_angle_outer, n_outer)."""
    return dict(n_angle=s, n_radial=2 * s, n_angle_outer=4 * s, n_outer=2 * s)


def valley_case(G, delta=1.0, omega0=1.2, pattern="valley"):
    """Γ1 = Γ2 = G, Ω = G, μ = -Γ/2; returns (system, W) with W the Eq. (10) Lorentzian width."""
    model = HoneycombModel(delta)
    system = DrivenSystem(model, omega0, G, BathSet.paper(G, G, -G), -G, pattern)
    Gt = 2 * G
    return system, np.sqrt(Gt**2 + G**2 * Gt**2 / (G * G))


def exact_dos_F_plus(system, W):
    """F_+ of Eq. (13) on the exact-DOS energy mesh (converged to ~2e-7 relative here)."""
    mesh = EnergyMesh.resonant(system.model, Resonance.drive(system.omega0, W), 1600, 400)
    return paper_kernels(system.modes(mesh))[0]


@pytest.mark.parametrize("delta, omega0, width", [(1.0, 1.2, 0.05), (5.0, 5.1, 1e-3),
                                                  (0.25, 0.3, 1e-3), (1.0, 0.5, 0.01),
                                                  (1.0, 2.6, 0.01)])
def test_weights_sum_to_half_and_points_lie_in_the_driven_half(delta, omega0, width):
    """Σ w = 1/2 to rounding, w > 0, every point has η > 0 (including resonances below the
    band (ω0 < δ) and above the van Hove energy (the shell leaves the core disk))."""
    model = HoneycombModel(delta)
    for s in (2, 4):
        mesh = RefinedKMesh.resonant(model, Resonance.drive(omega0, width), **level(s))
        assert abs(mesh.weights.sum() - 0.5) < 1e-12
        assert np.all(mesh.weights > 0)
        assert np.all(model.eta(mesh.points) > 0)
        assert mesh.points.shape == (len(mesh), 2) and mesh.n_cells == 0
        assert np.array_equal(mesh.index, np.arange(len(mesh)))
        assert mesh.normalisation_error < 1e-2


def test_valley_triangle_is_the_driven_half():
    """Vertices at Γ points, centroid K+, area A_BZ/2; every point of the Monkhorst-Pack K+
    half lies in an image of the triangle, and η < 0 on its mirror image."""
    model = HoneycombModel(1.0)
    K, V = RefinedKMesh.valley_triangle(model)
    assert np.allclose(V.mean(axis=0), K)
    (ax, ay), (bx, by) = V[1] - V[0], V[2] - V[0]
    area = 0.5 * abs(ax * by - ay * bx)
    assert area == pytest.approx(0.5 * (2 * np.pi) ** 2 / CELL_AREA, rel=1e-14)
    # barycentric coordinates of MP points (shifted by all small G) in the triangle
    T = np.array([V[1] - V[0], V[2] - V[0]]).T
    mp = KMesh.driven_half(model, 24)
    n = np.arange(-2, 3)
    G = (n[:, None, None] * RECIPROCAL[0] + n[None, :, None] * RECIPROCAL[1]).reshape(-1, 2)
    inside = np.zeros(len(mp), bool)
    for g in G:
        lam = np.linalg.solve(T, (mp.points - g - V[0]).T).T
        inside |= np.all(lam >= -1e-12, axis=1) & (lam.sum(axis=1) <= 1 + 1e-12)
    assert inside.all()
    rng = np.random.default_rng(1)
    k = rng.dirichlet([1, 1, 1], 2000) @ V
    assert np.all(model.eta(k) > 0) and np.all(model.eta(-k) < 0)


def test_shard_and_split_reassemble_the_mesh():
    mesh = RefinedKMesh.resonant(HoneycombModel(1.0), Resonance.drive(1.2, 0.05), **level(2))
    parts = mesh.split(5)  # 192 points: not divisible by 5
    assert [type(p) for p in parts] == [RefinedKMesh] * 5
    assert sum(len(p) for p in parts) == len(mesh)
    assert np.array_equal(np.concatenate([p.points for p in parts]), mesh.points)
    assert np.array_equal(np.concatenate([p.weights for p in parts]), mesh.weights)
    assert np.array_equal(np.concatenate([p.index for p in parts]), mesh.index)
    assert mesh.shard(2, 5).normalisation_error == mesh.normalisation_error


@pytest.mark.parametrize("delta, omega0, width", [(1.0, 1.2, 0.057), (5.0, 5.1, 1.4e-3)])
def test_integrates_functions_of_the_energy_like_the_exact_dos(delta, omega0, width):
    """Σ_k w f(e_k) = ∫ dE rho(E) f(E) for smooth f and for the resonance Lorentzian (the
    width the mesh was built for); a Lorentzian 10x wider is resolved less well (the radial
    map is tuned to ``width``) but still to 1e-3."""
    model = HoneycombModel(delta)
    mesh = RefinedKMesh.resonant(model, Resonance.drive(omega0, width), **level(5))
    em = EnergyMesh.resonant(model, Resonance.drive(omega0, width), 1600, 400)
    e2d = model.energy(mesh.points)
    c = omega0 / 2
    funcs = {
        "1": lambda e: np.ones_like(e),
        "e": lambda e: e,
        "e^3": lambda e: e**3,
        "exp": lambda e: np.exp(-2 * e / delta),
        "lorentzian": lambda e: width / ((2 * e - omega0) ** 2 + width**2),
    }
    for name, f in funcs.items():
        a, b = mesh.weights @ f(e2d), em.weights @ f(em.energies)
        assert a == pytest.approx(b, rel=2e-6), name
    wide = lambda e: 1.0 / ((e - c) ** 2 + (5 * width) ** 2)  # noqa: E731
    assert mesh.weights @ wide(e2d) == pytest.approx(em.weights @ wide(em.energies), rel=1e-3)


def test_valley_kernel_converges_to_the_exact_dos_value():
    """F_+ (Eq. 13) on the refined mesh -> the exact-DOS value; 1e-4 at level 3 (432 points)."""
    system, W = valley_case(0.02)
    ref = exact_dos_F_plus(system, W)
    errs = []
    for s in (2, 3, 4, 5):
        F = paper_kernels(system.modes(RefinedKMesh.resonant(system.model, Resonance.drive(1.2, W), **level(s))))[0]
        errs.append(abs(F - ref) / ref)
    assert errs[1] < 1e-4 and errs[2] < 3e-6 and errs[3] < 1e-6
    assert errs[0] > errs[1] > errs[2]


def test_hundredfold_fewer_points_than_the_uniform_mesh():
    """Narrow shell (Γ1 = Γ2 = Ω = 0.005 t): the refined mesh reaches 1e-4 with 432 points; the
    uniform Monkhorst-Pack mesh with 100x as many points does not, whether its η = 0 tie points
    are undriven (as DrivenSystem.modes does) or driven (the pure trapezoid rule)."""
    system, W = valley_case(0.005)
    model = system.model
    ref = exact_dos_F_plus(system, W)
    refined = RefinedKMesh.resonant(model, Resonance.drive(1.2, W), **level(3))
    F = paper_kernels(system.modes(refined))[0]
    assert abs(F - ref) / ref < 1e-4
    n = int(np.ceil(np.sqrt(2 * 100 * len(refined)) / 2)) * 2
    mp = KMesh.driven_half(model, n)
    assert len(mp) >= 100 * len(refined)
    as_is = paper_kernels(system.modes(mp))[0]
    driven = paper_kernels(system.modes_from_energies(model.energy(mp.points), system.Omega,
                                                      mp.weights))[0]
    assert abs(as_is - ref) / ref > 1e-4
    assert abs(driven - ref) / ref > 1e-4


def test_dichroic_kernel_matches_the_extrapolated_uniform_mesh():
    """Dichroic pattern (needs 2D): refined mesh = Monkhorst-Pack extrapolated in 1/n (the
    drive is discontinuous at η = 0, so the uniform mesh converges like 1/n)."""
    system, W = valley_case(0.02, pattern="dichroic")
    F = paper_kernels(system.modes(RefinedKMesh.resonant(system.model, Resonance.drive(1.2, W), **level(4))))[0]
    n1, n2 = 300, 600
    F1, F2 = (paper_kernels(system.modes(KMesh.driven_half(system.model, n)))[0] for n in (n1, n2))
    extrapolated = (n2 * F2 - n1 * F1) / (n2 - n1)
    assert abs(F2 - F) / F > 5e-6  # the uniform mesh itself is still visibly off
    assert F == pytest.approx(extrapolated, rel=3e-6)


def test_invalid_arguments_are_rejected():
    model = HoneycombModel(1.0)
    with pytest.raises(ValueError, match="width"):
        RefinedKMesh.resonant(model, Resonance.drive(1.2, 0.0))
    with pytest.raises(ValueError, match="energy"):
        RefinedKMesh.resonant(model, Resonance.drive(-1.0, 0.1))
    with pytest.raises(ValueError, match="n_angle"):
        RefinedKMesh.resonant(model, Resonance.drive(1.2, 0.1), n_angle=0)
    with pytest.raises(TypeError, match="Resonance"):  # the former (omega0, width) call is loud
        RefinedKMesh.resonant(model, 1.2, 0.1)


# ----------------------------------------------------------------------------
# error estimate: embedded lower-order rules on the same nodes
# ----------------------------------------------------------------------------
def test_embedded_rules_are_rules_on_the_same_nodes():
    """Three embedded rules, each integrating constants exactly (Σ = 1/2), none equal to the
    full rule; sharding slices them with the nodes; a mesh without them says so."""
    mesh = RefinedKMesh.resonant(HoneycombModel(1.0), Resonance.drive(1.2, 0.05), **level(3))
    E = mesh.embedded_weights
    assert E.shape == (3, len(mesh))
    assert np.allclose(E.sum(axis=1), 0.5, rtol=0, atol=1e-13)
    assert all(np.max(np.abs(e - mesh.weights)) > 1e-6 * np.max(mesh.weights) for e in E)
    parts = mesh.split(4)
    assert np.array_equal(np.concatenate([p.embedded_weights for p in parts], axis=1), E)
    f = np.cos(mesh.points[:, 0]) + 1j * mesh.points[:, 1] ** 2
    # the estimate from reduced sums (as under MPI) equals the serial one
    full = sum(p.weights @ np.cos(p.points[:, 0]) + 1j * p.weights @ p.points[:, 1] ** 2 for p in parts)
    emb = sum(p.embedded_weights @ (np.cos(p.points[:, 0]) + 1j * p.points[:, 1] ** 2) for p in parts)
    rounding = len(mesh) * np.finfo(float).eps * (np.abs(mesh.weights) @ np.abs(f))
    assert RefinedKMesh.combine_error(full, emb, rounding) == pytest.approx(mesh.error_estimate(f), rel=1e-9)
    with pytest.raises(ValueError, match="rows"):
        mesh.error_estimate(f[:-1])
    bare = RefinedKMesh(mesh.points, mesh.weights, 0, mesh.index)
    with pytest.raises(ValueError, match="embedded"):
        bare.error_estimate(f)


@pytest.mark.parametrize("phase", [0.0, 0.7])
def test_error_estimate_bounds_a_c3_integrand_with_slowly_decaying_angular_modes(phase):
    """f = L(e_k) exp(3 cos 3(φ - φ_v - φ0)), L the resonance Lorentzian the mesh is built for
    and φ the angle around K+: a C3 integrand whose angular Fourier modes 3m decay slowly
    (∝ I_m(3)), mirror symmetric for φ0 = 0, not for φ0 = 0.7.  The estimate at level s bounds
    the difference to level 2s (4x the points) at every level."""
    model = HoneycombModel(1.0)
    W = 0.05
    res = Resonance.drive(1.2, W)
    K, V = RefinedKMesh.valley_triangle(model)
    phi_v = np.sort(np.arctan2(V[:, 1] - K[1], V[:, 0] - K[0]))[0]

    def f(k):
        phi = np.arctan2(k[:, 1] - K[1], k[:, 0] - K[0])
        return W / ((2 * model.energy(k) - 1.2) ** 2 + W**2) * np.exp(3 * np.cos(3 * (phi - phi_v - phase)))

    for s in (2, 3, 4, 6):
        mesh, fine = (RefinedKMesh.resonant(model, res, **level(lv)) for lv in (s, 2 * s))
        err = abs(mesh.weights @ f(mesh.points) - fine.weights @ f(fine.points))
        assert err <= mesh.error_estimate(f(mesh.points)), (s, err)
        assert err > 1e-10 * (fine.weights @ f(fine.points))  # a real quadrature error, not rounding


def _true_and_estimated(system, W, s, values):
    """(|Q_s - Q_2s|, estimate at level s): the true error against the mesh with 4x the points."""
    res = Resonance.drive(system.omega0, W)
    out = []
    for lv in (s, 2 * s):
        mesh = RefinedKMesh.resonant(system.model, res, **level(lv))
        f = values(system.modes(mesh))
        out.append((mesh.weights @ f.reshape(len(mesh), -1), mesh.error_estimate(f).reshape(-1)))
    (Q, E), (Q4, _) = out
    return np.abs(Q - Q4), E


@pytest.mark.parametrize("pattern, G", [("valley", 0.005), ("dichroic", 0.005), ("dichroic", 0.02)])
def test_error_estimate_bounds_the_kernel_error(pattern, G):
    """F_+ (Eq. 13): the estimate at level s bounds the difference to level 2s (4x the points)."""
    system, W = valley_case(G, pattern=pattern)
    for s in (2, 3, 4):
        err, est = _true_and_estimated(system, W, s, lambda m: paper_kernel_samples(m)[:, 0])
        assert np.all(err <= est), (s, err, est)


def test_error_estimate_bounds_the_circular_response_matrix():
    """"circular" drive, Fig. 3a parameters: every entry of the Born-Markov chi_ab(z) (including
    the valley-converting ones, zero by C3 symmetry up to rounding) at three frequencies."""
    G1 = G2 = 5e-4
    system = DrivenSystem(HoneycombModel(5.0), 5.1, 1e-2, BathSet.paper(G1, G2, -5e-4), -5e-4, "circular")
    W = resonance_width(system.Omega, G1, G2)
    zs = np.array([0.0, 3e-4, 1e-4 + 2e-4j])
    for s in (4, 8):
        err, est = _true_and_estimated(system, W, s, lambda m: np.moveaxis(pair_response_matrix(m, zs), 1, 0))
        assert np.all(err <= est), (s, err, est)
