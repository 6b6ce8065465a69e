"""Faults at the OS boundary, for real: a file-size limit (RLIMIT_FSIZE, what a full disk looks like to the
process: writes fail with EFBIG) on the commands that write videos. They must fail with one clear line and leave
nothing that looks like a finished file."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest


def _limited(limit: int):
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def _run(args, cwd, limit=300_000):
    return subprocess.run([sys.executable, "-m", "edge_landmarks", *args], cwd=cwd, capture_output=True, text=True,
                          preexec_fn=_limited(limit), timeout=300)


@pytest.mark.parametrize("command", ["data video", "demo --save"])
def test_a_video_that_does_not_fit_is_an_error_not_a_broken_file(command, tmp_path):
    if command == "data video":
        res = _run(["data", "video", "--out", "v.mp4"], tmp_path)
        target = tmp_path / "v.mp4"
    else:
        from edge_landmarks.data.video import make_test_video

        make_test_video(tmp_path / "in.mp4", frames=100)
        res = _run(["demo", "--video", "in.mp4", "--headless", "--save", "out.mp4"], tmp_path)
        target = tmp_path / "out.mp4"
    assert res.returncode == 1, res.stdout + res.stderr
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {target.name}: the video did not write correctly") and "disk full" in last
    assert "Traceback" not in res.stderr
    assert not target.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(f".{target.name}")]  # no temporary left


# --- artefacts and the predictor's arguments: one table of bad inputs, each one clear error ------------------------

def _shipped(tmp_path, fmt: str):
    """A copy of the shipped INT8 file of ``fmt`` (OpenVINO: the ONNX file converted by OpenVINO itself) and its
    sidecar, to damage."""
    import json
    import shutil

    from edge_landmarks.runtime.predictor import DEFAULT_MODEL_DIR

    src = DEFAULT_MODEL_DIR / f"demo68_mobilenetv2_56_int8.{'onnx' if fmt == 'xml' else fmt}"
    dst = tmp_path / f"m.{fmt}"
    if fmt == "xml":
        import openvino as ov

        ov.save_model(ov.convert_model(str(src)), str(dst))
    else:
        shutil.copyfile(src, dst)
    meta = json.loads(Path(str(src) + ".json").read_text())
    Path(str(dst) + ".json").write_text(json.dumps(meta))
    return dst, meta


def _damage(path, meta, how: str):
    import json

    side = Path(str(path) + ".json")
    if how == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        path.write_bytes(b"\0\1not a model" * 100)
    elif how == "bin truncated":
        b = path.with_suffix(".bin")
        b.write_bytes(b.read_bytes()[:1000])
    elif how == "sidecar says 98 points":
        cfg = dict(meta["model_config"], scheme="wflw98", num_points=98)
        side.write_text(json.dumps(dict(meta, model_config=cfg, scheme="wflw98")))
    elif how == "sidecar says 112 px":
        cfg = dict(meta["model_config"], input_size=112)
        side.write_text(json.dumps(dict(meta, model_config=cfg, input_size=112)))
    elif how == "sidecar not JSON":
        side.write_text("{not json")
    elif how == "validation NaN":  # what the export of a checkpoint of NaN weights wrote (#27)
        nan = float("nan")
        side.write_text(json.dumps(dict(meta, validation=dict(meta["validation"], nme=nan, delta_nme=nan))))


ARTEFACT_FAULTS = [
    ("onnx", "truncated", "cannot load"), ("onnx", "garbage", "cannot load"),
    ("onnx", "sidecar says 98 points", "98 points"), ("onnx", "sidecar says 112 px", "1x3x112x112"),
    ("onnx", "sidecar not JSON", "not valid JSON"), ("onnx", "validation NaN", "not finite (nme: nan"),
    ("tflite", "validation NaN", "not finite (nme: nan"),
    ("tflite", "truncated", "cannot load"), ("tflite", "garbage", "cannot load"),
    ("tflite", "sidecar says 98 points", "98 points"), ("tflite", "sidecar says 112 px", "1x3x112x112"),
    ("xml", "garbage", "cannot load"), ("xml", "bin truncated", "cannot load"),
    ("xml", "sidecar says 98 points", "98 points"),
]


@pytest.mark.parametrize("fmt,how,message", ARTEFACT_FAULTS)
def test_a_damaged_artefact_is_one_clear_error(fmt, how, message, tmp_path):
    from click.testing import CliRunner

    from edge_landmarks import LandmarkPredictor
    from edge_landmarks.cli import main
    from edge_landmarks.errors import EdgeLandmarksError

    path, meta = _shipped(tmp_path, fmt)
    _damage(path, meta, how)
    with pytest.raises(EdgeLandmarksError, match=re.escape(message)):
        LandmarkPredictor(path)
    image = tmp_path / "face.png"
    import cv2

    cv2.imwrite(str(image), np.full((64, 64, 3), 128, np.uint8))
    res = CliRunner().invoke(main, ["predict", str(path), str(image)])
    assert res.exit_code == 1 and message in res.output and "Traceback" not in res.output, res.output


BAD_CALLS = [
    ({"box": "face"}, "four finite numbers"), ({"box": (10, 10, 5, 50)}, "x1 > x0"),
    ({"box": (np.nan, 0, 10, 10)}, "four finite numbers"), ({"box": (0, 0, 1e-9, 1e-9)}, "not a face"),
    ({"box": (0, 0, 1e12, 1e12)}, "not a face"), ({"box": (10000, 10000, 10100, 10100)}, "outside the 64x48"),
    ({"box": (1, 2, 3)}, "four finite numbers"),
]


@pytest.mark.parametrize("kwargs,message", BAD_CALLS)
def test_bad_boxes_are_errors_not_points(kwargs, message):
    from edge_landmarks import LandmarkPredictor
    from edge_landmarks.errors import EdgeLandmarksError

    pred = _PREDICTOR.get("p") or _PREDICTOR.setdefault("p", LandmarkPredictor())
    with pytest.raises(EdgeLandmarksError, match=re.escape(message)):
        pred.predict(np.zeros((48, 64, 3), np.uint8), **kwargs)


_PREDICTOR: dict = {}


def test_bad_predictor_arguments():
    from edge_landmarks import LandmarkPredictor
    from edge_landmarks.errors import EdgeLandmarksError
    from edge_landmarks.runtime import load_backend

    for kwargs, message in (({"threads": "two"}, "threads must be"), ({"threads": 0}, "threads must be"),
                            ({"path": 3}, "file path")):
        with pytest.raises(EdgeLandmarksError, match=message):
            LandmarkPredictor(**kwargs)
    with pytest.raises(EdgeLandmarksError, match="str or Path"):
        load_backend(None)
    with pytest.raises(EdgeLandmarksError, match="max_faces"):
        LandmarkPredictor().faces(np.zeros((48, 64, 3), np.uint8), max_faces=-1)


RECIPE_FAULTS = [
    ("lr: fast\n", [], "lr must be a number"), ("epochs: ten\n", [], "epochs must be a whole number"),
    ("lr: 1e-3\n", [], "YAML reads 1e-3 as text"), ("model_args: [56]\n", [], "model_args must be a mapping"),
    ("threads: -1\n", [], "threads must be a whole number"),  # (--threads -1: click's range, a usage error)
    ("", ["--model-arg", "input_size=abc"], "input_size must be a whole number"),
    ("", ["--model-arg", "colour=blue"], "unknown setting(s) for mobilenetv2: colour"),
    # augment values were only used, and failed, in the first batch after the epoch-0 checkpoint was written
    ("augment: {scale: [1.1]}\n", [], "augment scale must be two numbers [low, high]"),
    ("augment: {scale: [1.2, 0.8]}\n", [], "with low <= high"),
    ("augment: {flip_p: 2}\n", [], "augment flip_p is a probability from 0 to 1"),
    ("augment: {rotate: fast}\n", [], "augment rotate must be a number >= 0"),
]


@pytest.mark.parametrize("extra,args,message", RECIPE_FAULTS)
def test_bad_recipe_values_are_one_error_and_nothing_written(extra, args, message, tmp_path):
    """Checked when the recipe loads, before any run folder exists (a wrong type was a traceback)."""
    from click.testing import CliRunner

    from edge_landmarks.cli import main

    recipe = tmp_path / "r.yaml"
    recipe.write_text("model: mobilenetv2\nmodel_args: {input_size: 56}\n" if "model_args" not in extra
                      else "model: mobilenetv2\n")
    recipe.write_text(recipe.read_text() + extra)
    epochs = [] if "epochs" in extra else ["--epochs", "1"]  # the option would override the recipe's bad value
    res = CliRunner().invoke(main, ["train", str(recipe), *epochs, "--out", str(tmp_path / "run"), *args])
    assert res.exit_code == 1 and message in res.output and "Traceback" not in res.output, res.output
    assert not (tmp_path / "run").exists()


def test_an_unknown_model_leaves_no_run_folder(tmp_path):
    from click.testing import CliRunner

    from edge_landmarks.cli import main

    (tmp_path / "r.yaml").write_text("model: mobilenetv9\n")
    res = CliRunner().invoke(main, ["train", str(tmp_path / "r.yaml"), "--out", str(tmp_path / "run")])
    assert res.exit_code == 1 and "unknown model 'mobilenetv9'. Did you mean: mobilenetv2" in res.output
    assert not (tmp_path / "run").exists()


# --- what the file system refuses: one line naming the path, exit 1, no traceback ----------------------------------

def _face(demo68) -> str:
    return str(next((demo68 / "test_wild").rglob("*.png")))  # a 1280 px colour photo: its overlay is > 20 kB


@pytest.mark.parametrize("command", ["predict", "data show", "export"])
def test_a_file_where_a_folder_must_be(command, demo68, tmp_path):
    (tmp_path / "f").write_text("a file, not a folder")
    ckpt = Path(__file__).parent / "assets" / "demo68_mobilenetv2_56.pt"
    args = {"predict": ["predict", _face(demo68), "--out", "f/x"],
            "data show": ["data", "show", str(demo68), "--out", "f/grid.png"],
            "export": ["export", str(ckpt), "--format", "onnx", "--out", "f/e"]}[command]
    res = _run(args, tmp_path)
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("error: f") and ("Not a directory" in last or "where a folder must be" in last), last
    assert (tmp_path / "f").read_text() == "a file, not a folder"


@pytest.mark.parametrize("command", ["predict", "data show"])
def test_an_image_that_does_not_fit_is_an_error(command, demo68, tmp_path):
    args = {"predict": ["predict", _face(demo68), "--out", "o"],
            "data show": ["data", "show", str(demo68), "--out", "o/grid.png"]}[command]
    res = _run(args, tmp_path, limit=20_000)
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("error: o/") and "could not be written (is the disk full?)" in last, last
    assert not [p for p in (tmp_path / "o").iterdir()]  # nothing half-written, no temporary left


# --- a read-only folder and a full disk, for real: a private mount namespace (root), else chmod / a size limit ----

def _commands(demo68, tmp_path, folder: str) -> dict:
    from edge_landmarks.data.video import make_test_video

    if not (tmp_path / "in.mp4").exists():
        make_test_video(tmp_path / "in.mp4", frames=30)
    ckpt = Path(__file__).parent / "assets" / "demo68_mobilenetv2_56.pt"
    return {"predict": ["predict", _face(demo68), "--out", folder],
            "data show": ["data", "show", str(demo68), "--out", f"{folder}/grid.png"],
            "data video": ["data", "video", "--out", f"{folder}/v.mp4", "--frames", "30"],
            "demo --save": ["demo", "--video", "in.mp4", "--headless", "--save", f"{folder}/out.mp4"],
            "export": ["export", str(ckpt), "--format", "onnx", "--out", folder, "--data", str(demo68)]}


def _in_mounted(mount: str, folder: Path, args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess, str]:
    """Run edge-lmk in its own mount namespace (``unshare -m``) where ``folder`` is mounted as ``mount`` says; what
    the command left in the folder is listed before the namespace (and its mount) goes away."""
    script = (f'{mount} && "$0" -m edge_landmarks "$@"; rc=$?; echo "LEFT:$(ls -A {folder} | tr "\\n" " ")" >&2; '
              'exit $rc')
    res = subprocess.run(["unshare", "-m", "sh", "-c", script, sys.executable, *args], cwd=cwd, capture_output=True,
                         text=True, timeout=300)
    left = res.stderr.strip().splitlines()[-1]
    assert left.startswith("LEFT:"), res.stderr[-2000:]
    return res, left[5:].strip()


def _can_mount() -> bool:
    """Root with the right to make a private mount namespace (a VM or a privileged container)."""
    if os.geteuid() != 0:
        return False
    try:
        return subprocess.run(["unshare", "-m", "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


# Where no namespace may be made as root (chmod does not stop root): EROFS injected at the OS boundary, os.open,
# through which every writer of edge-lmk passes first (each creates its temporary with mkstemp / mkdtemp).
_READ_ONLY_AT_OS_OPEN = """
import errno, os, runpy, sys
folder = os.path.abspath(sys.argv.pop(1)) + os.sep
_open, _mkdir = os.open, os.mkdir
def _refuse(path):
    if os.path.abspath(path).startswith(folder):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), path)
def guarded_open(path, flags, *a, **k):
    if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
        _refuse(path)
    return _open(path, flags, *a, **k)
def guarded_mkdir(path, *a, **k):
    _refuse(path)
    return _mkdir(path, *a, **k)
os.open, os.mkdir = guarded_open, guarded_mkdir
sys.argv[0] = "edge-lmk"
runpy.run_module("edge_landmarks", run_name="__main__")
"""


def _last_error(res: subprocess.CompletedProcess) -> str:
    lines = [ln for ln in res.stderr.strip().splitlines() if not ln.startswith("LEFT:")]
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stdout + res.stderr
    return lines[-1]


@pytest.mark.parametrize("command", ["predict", "data show", "data video", "demo --save", "export"])
def test_a_read_only_folder_is_one_clear_error(command, demo68, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    args = _commands(demo68, tmp_path, "ro")[command]
    if _can_mount():  # root writes anywhere chmod forbids: a read-only bind mount, as a read-only disk
        res, left = _in_mounted(f"mount --bind {ro} {ro} && mount -o remount,bind,ro {ro}", ro, args, tmp_path)
        reason = "Read-only file system"
    elif os.geteuid() == 0:
        res = subprocess.run([sys.executable, "-c", _READ_ONLY_AT_OS_OPEN, str(ro), *args], cwd=tmp_path,
                             capture_output=True, text=True, timeout=300)
        left, reason = " ".join(p.name for p in ro.iterdir()), "Read-only file system"
    else:
        ro.chmod(0o555)
        try:
            res = subprocess.run([sys.executable, "-m", "edge_landmarks", *args], cwd=tmp_path, capture_output=True,
                                 text=True, timeout=300)
        finally:
            ro.chmod(0o755)
        left, reason = " ".join(p.name for p in ro.iterdir()), "Permission denied"
    last = _last_error(res)
    assert last.startswith("error: ro/") and reason in last, last
    assert re.match(r"error: ro/[^.]", last), last  # the user's file is named, not our temporary (.<name>.<pid>...)
    assert left == ""


@pytest.mark.parametrize("command,size", [("predict", "16k"), ("data show", "16k"), ("data video", "64k"),
                                          ("demo --save", "64k"), ("export", "1m")])
def test_a_full_disk_is_one_clear_error_and_leaves_nothing(command, size, demo68, tmp_path):
    full = tmp_path / "full"
    full.mkdir()
    args = _commands(demo68, tmp_path, "full")[command]
    if _can_mount():  # a real full disk: a tmpfs of a few kB
        res, left = _in_mounted(f"mount -t tmpfs -o size={size} tmpfs {full}", full, args, tmp_path)
    else:  # what a full disk looks like to a process that may not mount: a file-size limit (EFBIG)
        res = _run(args, tmp_path, limit=16_000)
        left = " ".join(p.name for p in full.iterdir())
    last = _last_error(res)
    assert last.startswith("error: full"), last
    assert any(w in last for w in ("disk full", "No space left", "File too large")), last
    assert left == "", left  # no half-written file, no temporary


def _dead_temporaries(path) -> tuple[Path, Path]:
    """A real temporary file and folder of ``path`` (``files.temporary``) made by a process that has ended: what a
    writer killed before its rename leaves."""
    code = ("import sys; from edge_landmarks.files import temporary; "
            "print(temporary(sys.argv[1])); print(temporary(sys.argv[1], folder=True))")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    file, folder = map(Path, out.stdout.split())
    return file, folder


def test_temporaries_of_dead_writers_are_removed_running_ones_kept(tmp_path):
    """What a writer killed before its rename leaves (``.<name>.<pid>.<random><suffix>``, file or folder) is
    removed by the next write of that file; a running writer's (this process) and other files are kept."""
    from edge_landmarks.files import atomic_write_text, temporary

    target = tmp_path / "model.onnx"
    running = Path(temporary(target))
    dead_file, dead_dir = _dead_temporaries(target)
    (dead_dir / "inner").mkdir()
    other = tmp_path / f".other.onnx.{dead_file.name.split('.')[3]}.abcdefgh.onnx"
    other.write_text("not this file's")
    assert dead_file.is_file() and dead_dir.is_dir() and dead_file.name.endswith(".onnx")
    atomic_write_text(target, "done")
    assert target.read_text() == "done"
    assert not dead_file.exists() and not dead_dir.exists()
    assert running.exists() and other.exists() and running.name.startswith(f".model.onnx.{os.getpid()}.")


def test_the_clean_up_of_temporaries_leaves_look_alikes_alone(demo68, tmp_path):
    """#27: ``data show --out grid.png`` deleted a user's ``.grid.png.99999.bak`` and folder ``.grid.png.99998.d/``
    (no such process). Only the exact form the tool writes, of the kind it writes (a plain file with the path's
    suffix; a folder holding our marker with the same pid), of a writer that has ended, is removed."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a real process that has ended: its pid is free
    pid = gone.pid
    files = [f".grid.png.{pid}.bak", f".grid.png.{pid}.abcdefgh.bak", f".grid.png.{pid}.abcdefgh",
             f".grid.png.{pid}.abcdefg.png", f".grid.png.{pid}.ABCDEFGH.png", f".grid.png.x{pid}.abcdefgh.png"]
    folders = [f".grid.png.{pid}.d", f".grid.png.{pid}.abcdefgh.png", f".grid.png.{pid}.nomarker",
               f".grid.png.{pid}.marker_x"]
    for name in files:
        (tmp_path / name).write_text("the user's")
    for name in folders:
        (tmp_path / name).mkdir()
        (tmp_path / name / "notes.txt").write_text("the user's")
    (tmp_path / f".grid.png.{pid}.marker_x" / ".edge-lmk-temporary").write_text(str(pid + 1))  # another pid's
    os.symlink(tmp_path / f".grid.png.{pid}.d", tmp_path / f".grid.png.{pid}.zzzzzzzz")  # a link: never ours
    theirs = sorted(p.name for p in tmp_path.iterdir())
    dead = _dead_temporaries(tmp_path / "grid.png")  # a real dead writer's file and folder: all there is to remove
    res = _run(["data", "show", str(demo68), "--out", "grid.png", "-n", "4"], tmp_path)
    assert res.returncode == 0, res.stderr[-1500:]
    assert not any(p.exists() for p in dead)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "grid.png") == theirs
    assert all((tmp_path / n).read_text() == "the user's" for n in files)
    assert all((tmp_path / n / "notes.txt").read_text() == "the user's" for n in folders)


def test_nan_weights_are_never_validated_nor_served(demo68, tmp_path):
    """#27: the export of a checkpoint of NaN weights exited 0 with ``validation: {nme: NaN}``; ``predict --crop
    --json`` then printed NaN (not JSON) with exit 0, and without --crop ended in a traceback. The export now
    fails with one line and leaves nothing; a file that gives NaN points (under a sidecar that says otherwise) is
    one clear error in the predictor and the CLI, never a NaN printed."""
    import json

    import torch

    from edge_landmarks import LandmarkPredictor
    from edge_landmarks.errors import EdgeLandmarksError
    from edge_landmarks.export.onnx import export_fp32
    from edge_landmarks.runtime.predictor import DEFAULT_MODEL_DIR
    from edge_landmarks.training import load_checkpoint, read_checkpoint, save_checkpoint

    ckpt = read_checkpoint(Path(__file__).parent / "assets" / "demo68_mobilenetv2_56.pt")
    for v in ckpt["state_dict"].values():
        if v.is_floating_point():
            v.fill_(float("nan"))
    save_checkpoint(tmp_path / "nan.pt", ckpt)

    def cli(*args):
        res = subprocess.run([sys.executable, "-m", "edge_landmarks", *args], cwd=tmp_path, capture_output=True,
                             text=True, timeout=600)
        assert "Traceback" not in res.stderr, res.stderr[-2000:]
        return res

    res = cli("export", "nan.pt", "--format", "onnx", "--out", "e", "--data", str(demo68))
    last = _last_error(res)
    assert res.returncode == 1 and last.startswith("error: nan.pt: ") and "not finite (nme_fp32: nan" in last, last
    assert not (tmp_path / "e").exists()  # nothing left: no file, no sidecar, no manifest, no folder
    # a file of NaN weights under a sidecar with finite numbers (one written by hand, or by an older edge-lmk)
    model, _ = load_checkpoint(tmp_path / "nan.pt")
    assert torch.isnan(model(torch.zeros(1, 3, 56, 56))).all()
    path = tmp_path / "nan.onnx"
    export_fp32(model, path)
    meta = json.loads((DEFAULT_MODEL_DIR / "demo68_mobilenetv2_56_int8.onnx.json").read_text())
    Path(str(path) + ".json").write_text(json.dumps(dict(meta, precision="fp32")))
    face = _face(demo68)
    with pytest.raises(EdgeLandmarksError, match="nan.onnx: the model gave 68 of 68 points that are not finite"):
        LandmarkPredictor(path).predict(np.full((64, 64, 3), 128, np.uint8))
    for args in (["--crop", "--json"], ["--json"], []):
        res = cli("predict", str(path), face, *args)
        assert res.returncode == 1 and "not finite" in _last_error(res) and "NaN" not in res.stdout, res.stdout


def test_train_and_eval_never_write_over_a_users_files(cache_env, tmp_path):
    """A folder that holds a user's best.pt / metrics.csv (train) or eval.json / ced.png (eval) is refused, byte for
    byte untouched; eval replaces its own results in a folder it wrote."""
    from click.testing import CliRunner

    from edge_landmarks.cli import main
    from edge_landmarks.runtime.predictor import default_model

    mine = tmp_path / "mine"
    mine.mkdir()
    for name in ("best.pt", "metrics.csv"):
        (mine / name).write_text(f"my own {name}\n")
        res = CliRunner().invoke(main, ["train", "demo", "--epochs", "1", "--max-batches", "1", "--out", str(mine)])
        assert res.exit_code == 1 and f"{mine / name} exists" in res.output, res.output
        assert (mine / name).read_text() == f"my own {name}\n"
        (mine / name).unlink()
    for name in ("eval.json", "ced.png"):
        (mine / name).write_text("my notes\n")
        args = ["eval", str(default_model("onnx")), "--data", "demo68", "--split", "test", "--out", str(mine)]
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 1 and f"{mine / name} exists and is not from edge-lmk eval" in res.output
        assert (mine / name).read_text() == "my notes\n"
        (mine / name).unlink()
    ours = tmp_path / "ours"
    for _ in range(2):  # the second run replaces the first's files
        res = CliRunner().invoke(main, ["eval", str(default_model("onnx")), "--data", "demo68", "--split", "test",
                                        "--out", str(ours)])
        assert res.exit_code == 0, res.output
