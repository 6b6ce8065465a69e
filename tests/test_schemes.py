import numpy as np
import pytest

from edge_landmarks.schemes import SCHEMES, convert, get_scheme


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
