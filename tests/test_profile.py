"""Face profiling and the perspective warp move the pixels and the points together."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_transforms import _centroid, _dots

from edge_landmarks.data import load_dataset
from edge_landmarks.data import profile as P
from edge_landmarks.data import transforms as T
from edge_landmarks.data.dataset import make_crop


def _frontal(size: int = 224, scale: float = 60.0) -> np.ndarray:
    """The mean face seen from the front, centred in a ``size`` picture (on whole pixels, where ``_dots`` draws)."""
    return np.round(P.MEAN_SHAPE_68[:, :2] * scale + (size - 1) / 2.0)


def _rot_y(deg: float) -> np.ndarray:
    a = math.radians(deg)
    return np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])


def test_fit_pose_recovers_scale_and_rotation():
    model = P.MEAN_SHAPE_68 - P.MEAN_SHAPE_68.mean(axis=0)
    rot = _rot_y(20.0) @ np.array([[0.96, -0.28, 0], [0.28, 0.96, 0], [0, 0, 1.0]])  # yaw 20 after roll ~16
    rot, _ = np.linalg.qr(rot)
    rot *= np.sign(np.diag(rot))  # a proper rotation close to the one above
    points = (model @ rot.T)[:, :2] * 55.0 + (100.0, 80.0)
    scale, fitted, centre = P.fit_pose(points)
    assert scale == pytest.approx(55.0, rel=1e-6)
    assert np.allclose(fitted, rot, atol=1e-6)
    assert np.allclose(centre, (100.0, 80.0) + (model @ rot.T)[:, :2].mean(axis=0) * 55.0)


def test_turning_the_mean_face_is_rotating_it_in_depth():
    # for the model's own points, a turn is exactly the 3D rotation about the axis at _HEAD_CENTRE_Z
    yaw = 25.0
    frontal = _frontal()
    _, moved, _ = P.turn_points(frontal, yaw)
    pivot = np.array([0.0, 0.0, P._HEAD_CENTRE_Z])
    expected = ((P.MEAN_SHAPE_68 - pivot) @ _rot_y(yaw).T + pivot)[:, :2]
    expected = (expected - P.MEAN_SHAPE_68[:, :2].mean(axis=0)) * 60.0 + frontal.mean(axis=0)
    assert np.allclose(moved[:68], expected, atol=0.6)  # the frontal points sit on whole pixels
    # the nose tip (nearest the viewer) moves most, the way the face turns; the ears' depth barely moves
    dx = moved[:68, 0] - frontal[:, 0]
    assert dx[30] == dx.max() and dx[30] > 0.3 * 60.0
    assert abs(dx[0]) < 0.1 * 60.0 and abs(dx[16]) < 0.1 * 60.0


def test_no_turn_leaves_image_and_points_as_they_are(demo68):
    d = load_dataset(demo68, split="val")
    img, pts = d[0].load_image(), d[0].landmarks
    out, moved = P.profile(img, pts, 0.0)
    assert np.allclose(moved, pts, atol=1e-9)
    assert np.abs(out.astype(int) - img.astype(int)).max() <= 1


@pytest.mark.parametrize("yaw", [-20.0, 15.0])
def test_profiled_pixels_follow_the_points(yaw):
    size = 224
    pts = _frontal(size)
    keep = [8, 27, 30, 33, 36, 39, 42, 45, 48, 51, 54, 57]  # chin, nose, eye and mouth corners
    out, moved = P.profile(_dots(size, pts[keep]), pts, yaw)
    assert not np.allclose(moved, pts)
    for k in keep:
        assert np.allclose(_centroid(out, moved[k], r=3), moved[k], atol=1.0), (k, moved[k])  # moves: 3-20 px


def test_profile_hides_the_far_cheek():
    # turned 30 degrees, the nose moves towards the far cheek, which is squeezed; the near cheek widens
    pts = _frontal()
    img = np.zeros((224, 224), np.uint8)
    img[:, 112:] = 200  # the face's left half (image right) bright
    out, moved = P.profile(img, pts, 30.0)
    far = moved[16, 0] - moved[30, 0]
    near = moved[30, 0] - moved[0, 0]
    assert near > 3 * far and far > 0
    # the bright half shrank: at eye height it now starts right of where it did
    row = out[int(moved[36, 1])]
    assert np.argmax(row > 100) > 112 + 5


def test_perspective_warp_moves_pixels_like_points():
    size = 96
    points = np.array([[20.0, 20.0], [75.0, 22.0], [48.0, 48.0], [25.0, 74.0], [70.0, 70.0]])
    aug = T.Augment(perspective=0.3)
    h = T.perspective_matrix(np.random.default_rng(3), aug, size)
    import cv2

    warped = cv2.warpPerspective(_dots(size, points), h, (size, size), flags=cv2.INTER_LINEAR)
    moved = T.apply_homography(h, points)
    assert np.abs(moved - points).max() > 1.0
    assert np.allclose(moved[2], points[2] + (0.5, 0.5) - 0.5, atol=0.3)  # the centre stays where it was
    for q in moved:
        assert np.allclose(_centroid(warped, q, r=3), q, atol=0.35), q


@pytest.mark.parametrize("which", ["profile", "perspective"])
def test_make_crop_with_profiling_or_perspective(which, demo68):
    d = load_dataset(demo68, split="val")
    s = d[0]
    size = 112
    img = np.zeros_like(s.load_image())
    keep = [30, 36, 45, 48, 54]
    for x, y in s.landmarks[keep]:
        img[int(round(y)) - 1:int(round(y)) + 2, int(round(x)) - 1:int(round(x)) + 2] = 255
    aug = T.Augment(scale=(1.0, 1.0), shift=0.0, rotate_p=0.0, flip_p=0.0, color_p=0.0, noise_p=0.0, blur_p=0.0,
                    gray_p=0.0, profile_p=float(which == "profile"), profile_yaw=20.0,
                    perspective_p=float(which == "perspective"), perspective=0.3)
    plain = make_crop(s, img, size, 0.25, "ibug68")
    c = make_crop(s, img, size, 0.25, "ibug68", np.random.default_rng(0), aug)
    assert np.abs(c["points"] - plain["points"]).max() > 1.0
    for k in keep:
        assert np.allclose(_centroid(c["image"], c["points"][k], r=3), c["points"][k], atol=0.6), k


def test_data_show_draws_a_recipe_augmentation(tmp_path, demo68):
    import cv2
    from click.testing import CliRunner

    from edge_landmarks.cli import main

    recipe = tmp_path / "turned.yaml"
    recipe.write_text("model: mobilenetv2\nmodel_args: {input_size: 56}\nseed: 0\n"
                      "augment: {profile_p: 1.0, perspective_p: 1.0, color_p: 0, noise_p: 0, blur_p: 0, gray_p: 0}\n")
    paths = {}
    for name, extra in (("plain", []), ("augmented", ["--augment", str(recipe)])):
        paths[name] = tmp_path / f"{name}.png"
        res = CliRunner().invoke(main, ["data", "show", str(demo68), "--split", "test_wild", "-n", "4",
                                        "--out", str(paths[name]), *extra])
        assert res.exit_code == 0, res.output
    plain, augmented = (cv2.imread(str(paths[k])) for k in ("plain", "augmented"))
    assert plain.shape == augmented.shape == (2 * 192, 2 * 192, 3)
    assert np.abs(plain.astype(int) - augmented.astype(int)).mean() > 10
    # colour stays colour in BGR order: the augmented faces are as warm (red over blue) as the plain ones
    assert (augmented[..., 2].mean() > augmented[..., 0].mean()) == (plain[..., 2].mean() > plain[..., 0].mean())


@pytest.mark.parametrize("yaw", [-45.0, -20.0, 0.0, 30.0, 60.0])
def test_head_pose_reads_back_a_turn_and_a_tilt(yaw):
    """The pose fit that eval's per-yaw report uses: a face turned by face profiling reads back its turn, and the
    same face turned in the image plane its roll."""
    front = P.MEAN_SHAPE_68[:, :2] * 120 + 300
    _, turned, _ = P.turn_points(front, yaw)
    y, _, r = P.head_pose(turned[:68])
    assert y == pytest.approx(yaw, abs=0.5) and abs(r) < 0.5
    a = math.radians(25.0)
    tilted = (turned[:68] - 300) @ np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]).T + 300
    y2, _, r2 = P.head_pose(tilted)
    assert y2 == pytest.approx(yaw, abs=0.5) and r2 == pytest.approx(25.0, abs=0.5)
