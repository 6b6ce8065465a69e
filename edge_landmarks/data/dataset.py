"""The crop dataset: (normalised image tensor, landmark target, point mask) per face, for one model config."""

from __future__ import annotations

import numpy as np

from ..schemes import convert, get_scheme
from . import transforms as T
from .samples import Sample

__all__ = ["LandmarkCrops", "make_crop", "make_inputs", "decode", "targets"]


def make_crop(sample: Sample, image: np.ndarray, size: int, margin: float, scheme: str,
              rng: np.random.Generator | None = None, augment: T.Augment | None = None) -> dict:
    """Crop one face (with optional augmentation): uint8 crop, points in crop pixels, mask, and the matrix.

    ``matrix`` is the affine map from the image to the crop; with face profiling or a perspective warp drawn, the
    crop is not an affine image of the input and ``matrix`` is only that of the crop box (augmented crops are for
    training, where nothing maps back)."""
    pts = convert(sample.landmarks, sample.scheme, scheme) if sample.scheme != scheme else sample.landmarks
    mask = np.isfinite(pts).all(axis=1)
    aug = augment if rng is not None else None
    if sample.attributes.get("whole_image"):
        h, w = image.shape[:2]
        # the whole picture, edge to edge (boxes are in pixel-index coordinates): identity for a 96 px Kaggle face
        m = T.crop_matrix((-0.5, -0.5, w - 0.5, h - 0.5), size, margin=0.0)
    else:
        box = T.face_box(pts, sample.box, mask)
        if aug is not None and aug.profile_p and len(pts) == 68 and mask.all() and rng.random() < aug.profile_p:
            image, pts, box = _profiled(image, pts, box, size, rng.uniform(-aug.profile_yaw, aug.profile_yaw))
        m = T.crop_matrix(box, size, margin)
    flip = False
    geometry = m  # the crop's affine matrix, or with a perspective warp drawn the full homography
    if aug is not None:
        a, flip = T.augment_matrix(rng, aug, size)
        geometry = m = T.compose(m, a)
        if aug.perspective_p and rng.random() < aug.perspective_p:
            geometry = T.perspective_matrix(rng, aug, size) @ np.vstack([m, [0.0, 0.0, 1.0]])
    crop = T.warp(image, geometry, size)
    pts_crop = T.apply(geometry, pts)
    if flip:
        pts_crop = T.flip_points_order(pts_crop, scheme)
        mask = mask[list(get_scheme(scheme).flip_perm)]
    if aug is not None:
        crop = T.photometric(rng, aug, crop)
    return {"image": crop, "points": pts_crop, "mask": mask, "matrix": m, "flipped": flip}


def _profiled(image, pts, box, size, yaw):
    """Turn the face by ``yaw`` degrees in a work frame twice the crop's resolution (the face's box half its
    side); returns the work image, the moved points and their box, which the crop then takes as a detector would."""
    from .profile import profile

    w = 2 * size
    m0 = T.crop_matrix(box, w, margin=1.0)
    work, moved = profile(T.warp(image, m0, w), T.apply(m0, pts), yaw)
    return work, moved, T.face_box(moved)


def make_inputs(samples, config, images=None) -> tuple[np.ndarray, np.ndarray]:
    """Held-out faces as the model sees them: float32 inputs (N, C, S, S) and each crop's matrix (N, 2, 3), image ->
    crop. Each image is read (or taken from ``images``, one per sample) and warped once; no augmentation."""
    xs, mats = [], []
    for k, s in enumerate(samples):
        img = T.to_channels(s.load_image() if images is None else images[k], config.in_chans)
        c = make_crop(s, img, config.input_size, config.crop_margin, config.scheme)
        xs.append(T.to_input(c["image"], config.mean, config.std))
        mats.append(c["matrix"])
    shape = (0, config.in_chans, config.input_size, config.input_size)
    return (np.stack(xs) if xs else np.zeros(shape, np.float32)), np.array(mats).reshape(-1, 2, 3)


def decode(outputs, matrices: np.ndarray, config) -> np.ndarray:
    """Model outputs (N, 2K) in its output frame -> points (N, K, 2) in image pixels, through each crop's matrix."""
    u = np.asarray(outputs, dtype=np.float64).reshape(len(matrices), -1, 2) / config.output_scale
    return np.stack([T.to_image(u[k], matrices[k], config.input_size) for k in range(len(matrices))]) \
        if len(matrices) else np.zeros((0, config.num_points, 2))


def targets(samples, scheme: str) -> np.ndarray:
    """The labelled points (N, K, 2) in ``scheme`` (a model's, or dlib's ibug68), image pixels; NaN where a dataset
    leaves one out."""
    return np.stack([convert(s.landmarks, s.scheme, scheme) for s in samples])


class LandmarkCrops:
    """The trainer's dataset (a ``torch.utils.data.Dataset`` in all but name: torch is imported only in
    ``__getitem__``) over samples for a :class:`ModelConfig`.

    Items are ``(x, y, mask)``: x (C, S, S) float32 normalised with the config's mean/std, y (2K,) float32 targets in
    the model's output frame (normalised crop coordinates times ``output_scale``; missing points are 0), mask (K,).
    """

    def __init__(self, samples, config, augment: T.Augment | None = None, seed: int = 0, cache: bool = True):
        self.samples = list(samples)
        self.config = config
        self.augment = augment
        self.seed = seed
        self.epoch = 0
        self._cache: dict[int, np.ndarray] | None = {} if cache else None

    def __len__(self) -> int:
        return len(self.samples)

    def set_epoch(self, epoch: int) -> None:
        """Augmentation depends on (seed, epoch, index) only, so runs are reproducible and resumable."""
        self.epoch = epoch

    def image(self, i: int) -> np.ndarray:
        if self._cache is not None and i in self._cache:
            return self._cache[i]
        img = T.to_channels(self.samples[i].load_image(), self.config.in_chans)
        if self._cache is not None:
            self._cache[i] = img
        return img

    def crop(self, i: int, augment: bool = True, epoch: int | None = None) -> dict:
        cfg = self.config
        epoch = self.epoch if epoch is None else epoch
        rng = np.random.default_rng([self.seed, epoch, i]) if (augment and self.augment) else None
        return make_crop(self.samples[i], self.image(i), cfg.input_size, cfg.crop_margin, cfg.scheme, rng,
                         self.augment if augment else None)

    def __getitem__(self, key):
        """``ds[i]`` (the epoch set by :meth:`set_epoch`) or ``ds[(epoch, i)]``: the trainer's DataLoader asks for
        the latter, so workers that outlive an epoch still augment each face as that epoch's seed says."""
        import torch

        epoch, i = key if isinstance(key, tuple) else (None, key)
        c = self.crop(i, epoch=epoch)
        cfg = self.config
        x = T.to_input(c["image"], cfg.mean, cfg.std)
        u = T.to_normalized(c["points"], cfg.input_size)
        u[~c["mask"]] = 0.0
        y = (u * cfg.output_scale).astype(np.float32).reshape(-1)
        return torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(c["mask"].astype(np.float32))
