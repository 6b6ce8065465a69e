import numpy as np
import pytest

from edge_landmarks.schemes import SCHEMES, convert, convertible, get_scheme


@pytest.mark.parametrize("name", sorted(SCHEMES))
def test_flip_twice_is_identity(name):
    s = get_scheme(name)
    pts = np.random.default_rng(0).uniform(0, 100, (s.num_points, 2))
    assert np.allclose(s.flip(s.flip(pts, 100), 100), pts)
    assert len(s.names) == s.num_points == len(set(s.names))


def test_ibug68_flip_swaps_eyes_and_keeps_centre_points():
    s = get_scheme("ibug68")
    assert s.flip_perm[36] == 45 and s.flip_perm[39] == 42 and s.flip_perm[48] == 54
    for centre in (8, 27, 28, 29, 30, 33, 51, 57, 62, 66):
        assert s.flip_perm[centre] == centre


def test_normalisation_pairs():
    s = get_scheme("ibug68")
    pts = np.zeros((68, 2))
    pts[36] = (10, 50)
    pts[45] = (90, 50)
    assert s.interocular(pts) == pytest.approx(80)
    assert get_scheme("wflw98").outer_eye_corners == (60, 72)
    assert get_scheme("wflw98").pupils == ((96,), (97,))


def test_conversions():
    pts68 = np.arange(136, dtype=float).reshape(68, 2)
    k15 = convert(pts68, "ibug68", "kaggle15")
    assert k15.shape == (15, 2)
    assert np.allclose(k15[0], pts68[42:48].mean(axis=0))  # left eye centre = subject's left eye (42-47)
    assert np.allclose(k15[10], pts68[30])  # nose tip
    eyes = convert(pts68, "ibug68", "eyes12")
    assert np.allclose(eyes, pts68[36:48])
    pts98 = np.arange(196, dtype=float).reshape(98, 2)
    p68 = convert(pts98, "wflw98", "ibug68")
    assert p68.shape == (68, 2) and np.allclose(p68[0], pts98[0]) and np.allclose(p68[16], pts98[32])
    assert np.allclose(p68[36], pts98[60]) and np.allclose(p68[45], pts98[72])
    assert convert(pts98, "wflw98", "kaggle15").shape == (15, 2)  # composed through ibug68
    with pytest.raises(ValueError, match="no conversion"):
        convert(np.zeros((15, 2)), "kaggle15", "ibug68")
    with pytest.raises(ValueError, match="did you mean"):
        get_scheme("ibug86")


# WFLW's own mirror table (the 98 indices a horizontal flip sends each point to, as in the benchmark's Mirror98.txt
# used by its reference training code), written out in full rather than built from pairs.
WFLW_MIRROR98 = (
    [32 - i for i in range(33)]
    + [46, 45, 44, 43, 42, 50, 49, 48, 47, 37, 36, 35, 34, 33, 41, 40, 39, 38]
    + [51, 52, 53, 54, 59, 58, 57, 56, 55]
    + [72, 71, 70, 69, 68, 75, 74, 73, 64, 63, 62, 61, 60, 67, 66, 65]
    + [82, 81, 80, 79, 78, 77, 76, 87, 86, 85, 84, 83, 92, 91, 90, 89, 88, 95, 94, 93, 97, 96]
)


def test_wflw98_flip_is_wflw_mirror_table():
    assert len(WFLW_MIRROR98) == 98
    assert list(get_scheme("wflw98").flip_perm) == WFLW_MIRROR98


@pytest.mark.parametrize("source", ["wflw98", "ibug68"])
def test_flip_commutes_with_conversion(source):
    """Flipping then converting equals converting then flipping, for every conversion (centroids included)."""
    s = get_scheme(source)
    pts = np.random.default_rng(1).uniform(0, 100, (s.num_points, 2))
    for target in sorted(SCHEMES):
        if target == source or not convertible(source, target):
            continue
        t = get_scheme(target)
        assert np.allclose(convert(s.flip(pts, 100), source, target), t.flip(convert(pts, source, target), 100)), target


def test_kaggle15_flip_swaps_left_and_right_by_name():
    s = get_scheme("kaggle15")
    swap = {"left": "right", "right": "left"}
    for i, name in enumerate(s.names):
        mirrored = "_".join(swap.get(part, part) for part in name.split("_"))
        assert s.names[s.flip_perm[i]] == mirrored, name


@pytest.fixture(scope="module")
def mean_face(demo68):
    """The mean of demo68's frontal faces (dlib's labels): eyes level, centred between them, unit eye distance."""
    from edge_landmarks.data import load_dataset

    shapes = []
    for sample in load_dataset(demo68).split("train"):
        p = sample.landmarks
        eye_l, eye_r = p[36:42].mean(axis=0), p[42:48].mean(axis=0)
        d = eye_r - eye_l
        ang = np.arctan2(d[1], d[0])
        rot = np.array([[np.cos(-ang), -np.sin(-ang)], [np.sin(-ang), np.cos(-ang)]])
        q = (p - (eye_l + eye_r) / 2) @ rot.T / np.linalg.norm(d)
        if abs(q[30, 0]) < 0.1:  # frontal: the nose tip near the middle
            shapes.append(q)
    assert len(shapes) > 100
    return np.mean(shapes, axis=0)


def test_ibug68_flip_maps_the_mean_real_face_onto_itself(mean_face):
    """Mirror the mean of demo68's frontal faces (a nearly symmetric face): every point must land on its partner.

    Measured from the labels (dlib's), not the scheme's tables. A wrong pair sends a point to another part of the
    face (the nearest, two neighbouring eye points, lie 0.13 inter-ocular distances apart), where the right pairs
    stay within 0.08."""
    mean = mean_face
    for name in ("ibug68", "eyes12", "kaggle15"):
        s = get_scheme(name)
        m = convert(mean, "ibug68", name) if name != "ibug68" else mean
        mirrored = m.copy()
        mirrored[:, 0] = -mirrored[:, 0]
        err = np.linalg.norm(mirrored[list(s.flip_perm)] - m, axis=1)
        assert err.max() < 0.08, (name, int(err.argmax()), float(err.max()))
        # and the test has teeth: any single wrong swap of two paired points moves them far
        wrong = list(s.flip_perm)
        a = next(i for i in range(len(wrong)) if wrong[i] != i)
        b = next(i for i in range(len(wrong)) if wrong[i] not in (i, a) and i not in (a, wrong[a]))
        wrong[a], wrong[b] = wrong[b], wrong[a]
        assert np.linalg.norm(mirrored[wrong] - m, axis=1).max() > 0.1, name


def test_kaggle15_conversion_puts_each_point_where_its_name_says(mean_face):
    """ibug68 -> kaggle15 on the mean real face, checked by what the names mean (the subject's left is the image's
    right), not by the conversion table."""
    k = dict(zip(get_scheme("kaggle15").names, convert(mean_face, "ibug68", "kaggle15"), strict=True))
    for part in ("eye_center", "eye_inner_corner", "eye_outer_corner", "eyebrow_inner_end", "eyebrow_outer_end"):
        assert k[f"left_{part}"][0] > 0 > k[f"right_{part}"][0], part  # the subject's left is the image's right
    assert k["mouth_left_corner"][0] > 0 > k["mouth_right_corner"][0]
    for side in ("left", "right"):
        assert abs(k[f"{side}_eye_inner_corner"][0]) < abs(k[f"{side}_eye_center"][0]) < abs(
            k[f"{side}_eye_outer_corner"][0])
        assert abs(k[f"{side}_eyebrow_inner_end"][0]) < abs(k[f"{side}_eyebrow_outer_end"][0])
        assert k[f"{side}_eyebrow_inner_end"][1] < k[f"{side}_eye_center"][1]  # y grows downwards
    assert abs(k["nose_tip"][0]) < 0.1 and abs(k["mouth_center_top_lip"][0]) < 0.1
    assert 0 < k["nose_tip"][1] < k["mouth_center_top_lip"][1] < k["mouth_center_bottom_lip"][1]


# The published WFLW -> 68-point correspondence (WFLW's 98 points were annotated so that these 68 are the 300-W
# points): contour every other point, the upper brows, nose, six points per eye, the mouth.
WFLW_TO_68 = ([0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 33, 34, 35, 36, 37, 42, 43, 44, 45, 46]
              + list(range(51, 60)) + [60, 61, 63, 64, 65, 67, 68, 69, 71, 72, 73, 75] + list(range(76, 96)))


def test_wflw98_to_ibug68_is_the_published_correspondence():
    pts98 = np.random.default_rng(2).uniform(0, 100, (98, 2))
    assert len(WFLW_TO_68) == 68
    assert np.array_equal(convert(pts98, "wflw98", "ibug68"), pts98[WFLW_TO_68])
