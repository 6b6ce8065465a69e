"""edge-lmk data label: the real dlib teacher on real photos and a real video, parallel, resumable, refusing
folders it did not make."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from edge_landmarks.cli import main
from edge_landmarks.data import load_dataset
from edge_landmarks.data.formats.pts import read_pts
from edge_landmarks.data.teacher import teacher


@pytest.fixture()
def photos(tmp_path, face_image_paths):
    """ORL photos of three people, one sub-folder each (a group per person), plus an unreadable file."""
    src = tmp_path / "photos"
    for p in face_image_paths:
        dest = src / f"person_{p.parent.name}"
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(p, dest / f"{p.stem}.pgm")
    (src / "person_s1" / "broken.png").write_bytes(b"not an image")
    return src


def test_label_writes_the_ibug_layout_split_by_person_and_resumes(photos, tmp_path):
    import cv2

    out = tmp_path / "labelled"
    res = CliRunner().invoke(main, ["data", "label", str(photos), "--out", str(out), "--workers", "2",
                                    "--licence", "AT&T/ORL (research)", "--min-face", "20"])
    assert res.exit_code == 0, res.output
    m = json.loads((out / "manifest.json").read_text())
    assert m["sources"] == 7 and m["unreadable"] == [str(photos / "person_s1" / "broken.png")]
    assert m["faces"] >= 5 and m["licence"] == "AT&T/ORL (research)" and "non-commercial" in m["licence_of_labels"]
    assert m["groups"] == ["person_s1", "person_s2", "person_s3"]
    data = load_dataset(out)
    splits = {s.split for s in data}
    assert splits <= {"train", "val", "test"} and len(data) == m["faces"]
    by_person = {}
    for s in data:  # every face of one person lands in one split
        by_person.setdefault(s.image_path.split("/")[-2], set()).add(s.split)
    assert all(len(v) == 1 for v in by_person.values())
    # labels are the teacher's own answer for the face the detector found
    s = data[0]
    grey = cv2.cvtColor(cv2.imread(s.image_path), cv2.COLOR_BGR2GRAY)
    boxes = teacher().detect(grey, 1) or teacher().detect(grey, 2)
    assert any(abs(teacher().landmarks(grey, b) - read_pts(s.source)).max() < 1e-6 for b in boxes)
    # a rerun relabels nothing: the records of finished sources are kept as they were
    stamps = {p: p.stat().st_mtime_ns for p in (out / ".label").iterdir()}
    res = CliRunner().invoke(main, ["data", "label", str(photos), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert {p: p.stat().st_mtime_ns for p in (out / ".label").iterdir()} == stamps
    # a folder this command did not make is refused, not overwritten
    other = tmp_path / "precious"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    res = CliRunner().invoke(main, ["data", "label", str(photos), "--out", str(other)])
    assert res.exit_code != 0 and "did not write" in res.output and (other / "notes.txt").read_text() == "mine"


def test_label_samples_a_video_and_drops_near_duplicates(tmp_path):
    from edge_landmarks.data.label import label_sources
    from edge_landmarks.data.video import make_test_video

    video = make_test_video(tmp_path / "faces.mp4", frames=40)
    m = label_sources(video, tmp_path / "v", stride=5, dedup=0.0)
    kept_all = m["per_source"][0]["frames_kept"]
    assert kept_all == 8 and m["faces"] >= 6  # every 5th of 40 frames, a face in (almost) every one
    m2 = label_sources(video, tmp_path / "v2", stride=5, dedup=30.0)
    assert 1 <= m2["per_source"][0]["frames_kept"] < kept_all  # drifting copies of one photo are near-duplicates
    assert m["groups"] == ["faces"] and m["counts"]["train"] == m["faces"]  # one group: all train


def test_label_bad_input_is_one_clear_line(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    res = CliRunner().invoke(main, ["data", "label", str(empty), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1 and "no images or videos found" in res.output
    res = CliRunner().invoke(main, ["data", "label", str(empty), "--out", str(tmp_path / "o"), "--stride", "0"])
    assert res.exit_code == 2 and "--stride" in res.output


def test_an_out_inside_the_source_is_refused(photos):
    """#27: ``data label src --out src/labelled`` run twice labelled its own output. One clear line, nothing
    written."""
    import subprocess
    import sys

    before = sorted(p.relative_to(photos) for p in photos.rglob("*"))
    for out in (photos / "labelled", photos, photos / "person_s1" / "x"):
        res = subprocess.run([sys.executable, "-m", "edge_landmarks", "data", "label", str(photos), "--out", str(out)],
                             capture_output=True, text=True, timeout=300)
        assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
        assert res.stderr.strip().splitlines()[-1] == (f"error: {out} is inside the source folder {photos}: a rerun "
                                                       "would label its own output; choose an --out outside it")
        assert sorted(p.relative_to(photos) for p in photos.rglob("*")) == before
