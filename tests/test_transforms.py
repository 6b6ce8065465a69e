"""Geometry moves the pixels and the points together; the crop frame inverts exactly."""

from __future__ import annotations

import numpy as np
import pytest

from edge_landmarks.data import load_dataset
from edge_landmarks.data import transforms as T
from edge_landmarks.data.dataset import LandmarkCrops, make_crop
from edge_landmarks.models import get_model_config
from edge_landmarks.schemes import get_scheme


def _dots(size: int, points) -> np.ndarray:
    img = np.zeros((size, size), np.uint8)
    for x, y in points:
        img[int(y) - 1:int(y) + 2, int(x) - 1:int(x) + 2] = 255
    return img


def _centroid(img: np.ndarray, near, r: int = 6) -> np.ndarray:
    x, y = (int(round(v)) for v in near)
    patch = img[y - r:y + r + 1, x - r:x + r + 1].astype(float)
    ys, xs = np.mgrid[y - r:y + r + 1, x - r:x + r + 1]
    return np.array([(patch * xs).sum(), (patch * ys).sum()]) / patch.sum()


@pytest.mark.parametrize("angle,scale,tx,ty", [(30, 1.0, 0, 0), (-25, 1.1, 4, -3), (90, 0.9, 0, 0), (0, 1.0, 7, 5)])
def test_similarity_moves_pixels_like_points(angle, scale, tx, ty):
    size = 96
    points = np.array([[30.0, 40.0], [60.0, 35.0], [48.0, 70.0]])
    m = T.similarity_about_centre(size, angle, scale, tx, ty)
    warped = T.warp(_dots(size, points), m, size)
    for p, q in zip(points, T.apply(m, points), strict=True):
        assert np.allclose(_centroid(warped, q), q, atol=0.35), (p, q)


def test_rotation_direction_by_hand():
    # +90 degrees turns the picture counter-clockwise on screen: a point right of centre moves above it.
    m = T.similarity_about_centre(101, 90.0)
    assert np.allclose(T.apply(m, [[80.0, 50.0]]), [[50.0, 20.0]])


def test_flip_by_hand_and_twice_is_identity():
    size = 64
    f = T.flip_matrix(size)
    assert np.allclose(T.apply(f, [[0.0, 5.0], [63.0, 9.0]]), [[63.0, 5.0], [0.0, 9.0]])
    img = np.random.default_rng(0).integers(0, 255, (size, size), dtype=np.uint8)
    assert np.array_equal(T.warp(T.warp(img, f, size), f, size), img)
    assert np.array_equal(T.warp(img, f, size), img[:, ::-1])
    s = get_scheme("ibug68")
    pts = np.random.default_rng(1).uniform(0, 63, (68, 2))
    once = T.flip_points_order(T.apply(f, pts), "ibug68")
    assert np.allclose(once, s.flip(pts, size))
    assert np.allclose(T.flip_points_order(T.apply(f, once), "ibug68"), pts)


def test_crop_frame_round_trip():
    box = (37.2, 51.9, 141.0, 170.3)
    for size in (56, 96, 224):
        m = T.crop_matrix(box, size, margin=0.25)
        pts = np.random.default_rng(size).uniform(30, 170, (68, 2))
        u = T.to_normalized(T.apply(m, pts), size)
        assert np.allclose(T.to_image(u, m, size), pts, atol=1e-9)
    # boxes are in the landmarks' pixel-index coordinates: the box centre maps to 0.5, its edges to 0 and 1
    m = T.crop_matrix((0, 0, 100, 100), 50, margin=0.0)
    assert np.allclose(T.to_normalized(T.apply(m, [[50.0, 50.0]]), 50), [[0.5, 0.5]])
    assert np.allclose(T.to_normalized(T.apply(m, [[0.0, 0.0], [100.0, 100.0]]), 50), [[0, 0], [1, 1]])


def test_crop_pixels_follow_points(face_image_paths):
    import cv2

    img = cv2.imread(str(face_image_paths[0]), cv2.IMREAD_GRAYSCALE) * 0
    pts = np.array([[30.0, 40.0], [60.0, 45.0], [45.0, 80.0]])
    img = np.maximum(img, _dots(112, pts)[:, :92])
    m = T.compose(T.crop_matrix((20, 30, 70, 90), 96, 0.25), T.similarity_about_centre(96, 20, 1.05, 2, -1))
    crop = T.warp(img, m, 96)
    for q in T.apply(m, pts):
        assert np.allclose(_centroid(crop, q), q, atol=0.6)


def test_dataset_items_and_exact_inverse(demo68):
    data = load_dataset(demo68, split="train")
    for name, size in (("mobilenetv2", 56), ("resnet18_gray", 224), ("kaggle_cnn1", 96), ("resnet18_gray_eyes",
                                                                                           224)):
        cfg = get_model_config(name, input_size=size)
        ds = LandmarkCrops(data[:4], cfg, augment=None)
        x, y, mask = ds[0]
        assert x.shape == (cfg.in_chans, size, size) and y.shape == (2 * cfg.num_points,)
        assert mask.shape == (cfg.num_points,) and bool(mask.all())
        u = y.numpy().reshape(-1, 2) / cfg.output_scale
        assert ((u > 0) & (u < 1)).all()
        crop = ds.crop(0, augment=False)
        from edge_landmarks.schemes import convert

        expected = convert(data[0].landmarks, "ibug68", cfg.scheme)
        assert np.allclose(T.to_image(u, crop["matrix"], size), expected, atol=1e-4)


def test_augmentation_is_reproducible_and_keeps_points_on_the_face(demo68):
    data = load_dataset(demo68, split="train")
    cfg = get_model_config("mobilenetv2", input_size=56)
    ds = LandmarkCrops(data[:8], cfg, augment=T.Augment(flip_p=1.0, rotate_p=1.0), seed=3)
    a, b = ds[1], ds[1]
    assert all(np.array_equal(p.numpy(), q.numpy()) for p, q in zip(a, b, strict=True))
    ds.set_epoch(1)
    assert not np.array_equal(ds[1][0].numpy(), a[0].numpy())
    c = ds.crop(1)
    assert c["flipped"]
    # after a flip and reordering, the subject's right eye (36-41) is still left of the left eye (42-47)
    assert c["points"][36:42, 0].mean() < c["points"][42:48, 0].mean()


def test_make_crop_whole_image_for_kaggle_style_samples():
    from edge_landmarks.data.samples import Sample

    pts = np.full((15, 2), np.nan)
    pts[0] = (66.0, 39.0)
    s = Sample(pts, "kaggle15", image=np.zeros((96, 96), np.uint8), attributes={"whole_image": True})
    c = make_crop(s, s.image, 96, 0.25, "kaggle15")
    assert np.allclose(c["points"][0], (66.0, 39.0)) and c["mask"].sum() == 1
