"""Hostile input, counted: a table of bad inputs and faults across every command and the Python API, each run for
real (the CLI in its own process), classified as a clear error (exit 1 or 2 with one ``error:`` / ``Error:`` line, or
the project's own exception), a traceback (or a foreign exception), or accepted (exit 0 on bad input).

Usage: python benchmarks/hostile_inputs.py [--out results.json]   (needs the demo set: edge-lmk data demo)

The classes are those of issue #13: damaged artefacts and sidecars that disagree with their file, bad images,
recipes of the wrong types and ranges, bad options, damaged checkpoints and datasets, bad API arguments; and those
of issue #27, files the user keeps beside an output (look-alikes of the tool's temporaries, their own best.pt or
eval.json): ``kept``, or ``data loss`` when the command removed or changed one; sidecars with values out of range,
recipes that would exhaust memory (billion laughs, deep nesting), absurd options and API arguments. A run prints
one line per case and the counts; it exits 1 if any case gave a traceback, was accepted or lost data.

``--quick`` runs the classes without the slow commands (no training, export or bench): the slow test lane runs
that form (tests/test_hostile.py); the whole table is for a release.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CKPT = ROOT / "tests" / "assets" / "demo68_mobilenetv2_56.pt"


def make_files(d: Path) -> dict[str, str]:
    """Damaged copies of real files, made here: artefacts, sidecars, images, checkpoints, recipes, datasets."""
    import cv2

    from edge_landmarks.runtime.predictor import DEFAULT_MODEL_DIR

    f = {}
    for fmt in ("onnx", "tflite"):
        src = DEFAULT_MODEL_DIR / f"demo68_mobilenetv2_56_int8.{fmt}"
        side = json.loads(Path(f"{src}.json").read_text())
        data = src.read_bytes()
        variants = {
            "corrupt": (np.random.default_rng(0).integers(0, 256, len(data), dtype=np.uint8).tobytes(), side),
            "truncated": (data[: len(data) // 2], side),
            "empty": (b"", side),
            "wrong_points": (data, {**side, "scheme": "wflw98",
                                    "model_config": {**side["model_config"], "num_points": 98, "scheme": "wflw98"}}),
            "wrong_size": (data, {**side, "model_config": {**side["model_config"], "input_size": 112}}),
            "unvalidated": (data, {**side, "validation": None}),
            "nan_validation": (data, {**side, "validation": {**side["validation"], "nme": float("nan")}}),
            "no_model_config": (data, {k: v for k, v in side.items() if k != "model_config"}),
            "std_zero": (data, {**side, "model_config": {**side["model_config"], "std": [0.0, 0.0, 0.0]}}),
            "crop_margin_nan": (data, {**side, "model_config": {**side["model_config"], "crop_margin": float("nan")}}),
            "output_scale_zero": (data, {**side, "model_config": {**side["model_config"], "output_scale": 0}}),
            "mean_two_values": (data, {**side, "model_config": {**side["model_config"], "mean": [0.5, 0.5]}}),
            "in_chans_1": (data, {**side, "channels": 1, "model_config": {**side["model_config"], "in_chans": 1}}),
            "scheme_path": (data, {**side, "scheme": "../../evil", "model_config": {**side["model_config"],
                                                                                   "scheme": "../../evil"}}),
            "list_at_top": (data, [side]),
        }
        for name, (blob, meta) in variants.items():
            p = d / f"{name}.{fmt}"
            p.write_bytes(blob)
            Path(f"{p}.json").write_text(json.dumps(meta))
            f[f"{fmt}_{name}"] = str(p)
        p = d / f"corrupt_with_source.{fmt}"  # the bench adds (and runs) the checkpoint it names: a reference row
        p.write_bytes(variants["corrupt"][0])
        Path(f"{p}.json").write_text(json.dumps({**side, "source_checkpoint": str(CKPT)}))
        f[f"{fmt}_corrupt_with_source"] = str(p)
        p = d / f"no_sidecar.{fmt}"
        p.write_bytes(data)
        f[f"{fmt}_no_sidecar"] = str(p)
        p = d / f"bad_json.{fmt}"
        p.write_bytes(data)
        Path(f"{p}.json").write_text("{not json")
        f[f"{fmt}_bad_json"] = str(p)
    photo = np.full((120, 120, 3), 128, np.uint8)
    cv2.imwrite(str(d / "ok.png"), photo)
    f["image"] = str(d / "ok.png")
    (d / "model.caffemodel").write_bytes(b"\0" * 64)
    (d / "text.jpg").write_text("not an image")
    f["image_text"] = str(d / "text.jpg")
    full = (d / "ok.png").read_bytes()
    (d / "truncated.png").write_bytes(full[: len(full) // 3])
    f["image_truncated"] = str(d / "truncated.png")
    (d / "empty.png").write_bytes(b"")
    f["image_empty"] = str(d / "empty.png")
    ck = CKPT.read_bytes()
    (d / "truncated.pt").write_bytes(ck[: len(ck) // 2])
    f["ckpt_truncated"] = str(d / "truncated.pt")
    (d / "text.pt").write_text("not a checkpoint")
    f["ckpt_text"] = str(d / "text.pt")
    from edge_landmarks.training import read_checkpoint, save_checkpoint

    nan = read_checkpoint(CKPT)
    for v in nan["state_dict"].values():
        if v.is_floating_point():
            v.fill_(float("nan"))
    save_checkpoint(d / "nan.pt", nan)
    f["ckpt_nan"] = str(d / "nan.pt")
    recipes = {"lr_word": "model: mobilenetv2\nlr: fast\n", "epochs_word": "model: mobilenetv2\nepochs: ten\n",
               "model_unknown": "model: mobilenetv9\n",
               "augment_scale": "model: mobilenetv2\naugment: {scale: [1.1]}\n",
               "unknown_key": "model: mobilenetv2\nlearning_rate: 1\n", "yaml_broken": "model: [mobilenetv2\n",
               "not_mapping": "- model\n", "batch_negative": "model: mobilenetv2\nbatch_size: -4\n",
               "lr_nan": "model: mobilenetv2\nlr: .nan\n", "epochs_bool": "model: mobilenetv2\nepochs: true\n",
               "no_model": "lr: 0.1\n",
               "billion_laughs": "model: mobilenetv2\nseed_reference:\n" + "".join(
                   f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9 if i else ["lol"] * 9) + "]\n"
                   for i in range(9)),
               "deep_nesting": "model: mobilenetv2\nmodel_args: " + "[" * 5000 + "]" * 5000 + "\n"}
    for name, text in recipes.items():
        (d / f"{name}.yaml").write_text(text)
        f[f"recipe_{name}"] = str(d / f"{name}.yaml")
    ds = d / "pts_set"
    ds.mkdir()
    cv2.imwrite(str(ds / "a.png"), photo)
    (ds / "a.pts").write_text("version: 1\nn_points: 68\n{\n1 2\n}\n")  # 1 point where 68 were promised
    f["dataset_bad_pts"] = str(ds)
    xml = d / "xml_set"
    xml.mkdir()
    cv2.imwrite(str(xml / "a.png"), photo)
    (xml / "labels.xml").write_text("<dataset><images><image file='a.png'><box top='1' left='1' width='50'>"
                                    "</box></image></images></dataset>")  # box without its height
    f["dataset_bad_xml"] = str(xml / "labels.xml")
    run = d / "run_truncated"
    run.mkdir()
    (run / "last.pt").write_bytes(ck[: len(ck) // 3])
    f["run_truncated"] = str(run)
    return f


def cli_cases(f: dict, d: Path) -> list[tuple[str, list[str]]]:
    cases = []
    for fmt in ("onnx", "tflite"):
        for bad in ("corrupt", "truncated", "empty", "wrong_points", "wrong_size", "unvalidated", "nan_validation",
                    "no_model_config", "no_sidecar", "bad_json", "std_zero", "crop_margin_nan", "output_scale_zero",
                    "mean_two_values", "in_chans_1", "scheme_path", "list_at_top"):
            art = f[f"{fmt}_{bad}"]
            cases.append((f"predict {fmt} {bad}", ["predict", art, f["image"], "--crop"]))
            cases.append((f"eval {fmt} {bad}", ["eval", art, "--split", "test"]))
        cases.append((f"bench {fmt} corrupt", ["bench", f[f"{fmt}_corrupt"], "--runs", "5", "--no-dlib"]))
        cases.append((f"bench {fmt} corrupt, its checkpoint a reference row", ["bench", f[f"{fmt}_corrupt_with_source"],
                                                                              "--runs", "5", "--no-dlib"]))
    for bad in ("image_text", "image_truncated", "image_empty"):
        cases.append((f"predict {bad}", ["predict", f["image"].replace("ok.png", Path(f[bad]).name)]))
    cases += [
        ("predict missing image", ["predict", str(d / "nope.jpg")]),
        ("predict a folder as image", ["predict", str(d)]),
        ("predict threads 0", ["predict", f["image"], "--threads", "0"]),
        ("predict threads -1", ["predict", f["image"], "--threads", "-1"]),
        ("predict unknown model suffix", ["predict", str(d / "model.caffemodel"), f["image"]]),
        ("export truncated checkpoint", ["export", f["ckpt_truncated"], "--format", "onnx", "--out", str(d / "e1")]),
        ("export text checkpoint", ["export", f["ckpt_text"], "--format", "onnx", "--out", str(d / "e2")]),
        ("export missing checkpoint", ["export", str(d / "nope.pt"), "--out", str(d / "e3")]),
        ("export unknown format", ["export", str(CKPT), "--format", "caffe"]),
        ("export NaN weights", ["export", f["ckpt_nan"], "--format", "onnx", "--out", str(d / "e4")]),
        ("quantize without --int8", ["quantize", str(CKPT), "--out", str(d / "q1")]),
        ("quantize calib-size 0", ["quantize", str(CKPT), "--int8", "--calib-size", "0", "--out", str(d / "q2")]),
        ("quantize budget word", ["quantize", str(CKPT), "--int8", "--max-nme-increase", "lots"]),
        ("quantize missing calib data", ["quantize", str(CKPT), "--int8", "--calib-data", str(d / "nope"),
                                         "--out", str(d / "q3")]),
        ("eval truncated checkpoint", ["eval", f["ckpt_truncated"]]),
        ("eval unknown split", ["eval", str(CKPT), "--split", "nosuchsplit"]),
        ("eval missing data", ["eval", str(CKPT), "--data", str(d / "nope")]),
        ("train threads -1", ["train", "demo", "--threads", "-1", "--out", str(d / "t0")]),
        ("train epochs -1", ["train", "demo", "--epochs", "-1", "--out", str(d / "t1")]),
        ("train model-arg unknown", ["train", "demo", "--model-arg", "colour=yes", "--out", str(d / "t2")]),
        ("train model-arg bad value", ["train", "demo", "--model-arg", "input_size=abc", "--out", str(d / "t3")]),
        ("train model-arg no '='", ["train", "demo", "--model-arg", "input_size", "--out", str(d / "t4")]),
        ("train unknown recipe", ["train", "nosuchrecipe", "--out", str(d / "t5")]),
        ("train missing data", ["train", "demo", "--data", str(d / "nope"), "--out", str(d / "t6")]),
        ("train resume without run", ["train", "demo", "--resume", "--out", str(d / "t7")]),
        ("train resume truncated last.pt", ["train", "demo", "--resume", "--out", f["run_truncated"]]),
        ("train device cuda (none here)", ["train", "demo", "--device", "cuda", "--out", str(d / "t8")]),
        ("train amp fp16 on cpu", ["train", "demo", "--amp", "fp16", "--device", "cpu", "--out", str(d / "t9")]),
        ("train init truncated", ["train", "demo", "--init", f["ckpt_truncated"], "--out", str(d / "t10")]),
        ("data show -n 0", ["data", "show", "demo68", "-n", "0", "--out", str(d / "g0.png")]),
        ("data show -n -5", ["data", "show", "demo68", "-n", "-5", "--out", str(d / "g1.png")]),
        ("data show unknown suffix", ["data", "show", "demo68", "--out", str(d / "g.xyz")]),
        ("data check missing", ["data", "check", str(d / "nope")]),
        ("data check bad pts", ["data", "check", f["dataset_bad_pts"]]),
        ("data check bad xml", ["data", "check", f["dataset_bad_xml"]]),
        ("data demo --out a user folder --force", ["data", "demo", "--out", str(d), "--force"]),
        ("data label --out inside its source", ["data", "label", str(d), "--out", str(d / "labelled")]),
        ("data video frames 1", ["data", "video", "--frames", "1", "--out", str(d / "v.mp4")]),
        ("data video unknown suffix", ["data", "video", "--out", str(d / "v.xyz")]),
        ("demo missing video", ["demo", "--video", str(d / "nope.mp4"), "--headless"]),
        ("demo text file as video", ["demo", "--video", f["image_text"], "--headless"]),
        ("demo corrupt model", ["demo", "--model", f["onnx_corrupt"], "--headless", "--frames", "5"]),
        ("bench threads word", ["bench", f["onnx_unvalidated"], "--threads", "two", "--no-dlib"]),
        ("bench unknown suite", ["bench", "--suite", "nosuchsuite"]),
        ("bench nothing to run", ["bench", "--run", str(d), "--no-dlib"]),
        ("models pattern matching nothing", ["models", "--pattern", "[unclosed"]),
        ("quickstart epochs -1", ["quickstart", "--epochs", "-1", "--out", str(d / "qs1")]),
        ("quickstart unknown format", ["quickstart", "--format", "caffe", "--out", str(d / "qs2")]),
        ("predict unknown detector", ["predict", f["image"], "--detector", "yolo"]),
        ("predict threads 100000", ["predict", f["image"], "--threads", "100000"]),
        ("quantize budget nan", ["quantize", str(CKPT), "--int8", "--max-nme-increase", "nan", "--out",
                                 str(d / "q4")]),
        ("data label dedup nan", ["data", "label", f["image"], "--out", str(d / "lab"), "--dedup", "nan"]),
        ("train model-arg unclosed list", ["train", "demo", "--model-arg", "input_size=[56,", "--out",
                                           str(d / "t11")]),
        ("train model-arg python tag", ["train", "demo", "--model-arg", "input_size=!!python/object/apply:os.getpid "
                                        "[]", "--out", str(d / "t12")]),
        ("train model-arg input_size 100000", ["train", "demo", "--model-arg", "input_size=100000", "--out",
                                               str(d / "t13")]),
        ("train model-arg num_points -68", ["train", "demo", "--model-arg", "num_points=-68", "--out",
                                            str(d / "t14")]),
    ]
    for name in ("lr_word", "epochs_word", "model_unknown", "augment_scale", "unknown_key", "yaml_broken",
                 "not_mapping", "batch_negative", "lr_nan", "epochs_bool", "no_model", "billion_laughs",
                 "deep_nesting"):
        cases.append((f"train recipe {name}", ["train", f[f"recipe_{name}"], "--out", str(d / f"r_{name}")]))
    return cases


def run_cli(args: list[str], cwd: Path) -> tuple[str, str]:
    res = subprocess.run([sys.executable, "-m", "edge_landmarks", *args], cwd=cwd, capture_output=True, text=True,
                         timeout=600)
    text = (res.stdout + res.stderr).strip()
    last = res.stderr.strip().splitlines()[-1] if res.stderr.strip() else text.splitlines()[-1] if text else ""
    if "Traceback" in text:
        return "traceback", last
    if res.returncode == 0:
        return "accepted", last
    if res.returncode in (1, 2) and (last.startswith("error:") or last.startswith("Error:")):
        return "clear error", last
    return f"exit {res.returncode}", last


def loss_cases(d: Path) -> list[tuple[str, list[str], list[str] | None, list[Path]]]:
    """(name, argv, a setup command run first or None, the files beside the output that must stay as they are)."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid that no process holds
    cases = []
    for name, out, argv, looks in [
        ("data show beside look-alikes", d / "l1" / "grid.png", ["data", "show", "demo68", "-n", "4"],
         [".grid.png.{pid}.bak", ".grid.png.{pid}.d/notes.txt", ".grid.png.{pid}.abcdefgh/notes.txt"]),
        ("data demo (failing) beside the user's backups", d / "l2" / "demo68", ["data", "demo"],
         [".demo68.backup-2023/notes.txt", ".demo68.my-old-copy/notes.txt", ".demo68.{pid}.abcdefgh/notes.txt"]),
    ]:
        kept = []
        for look in looks:
            f = out.parent / look.format(pid=gone.pid)
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text("the user's")
            os.utime(f.parent, (0, 0))  # old: "over an hour" protected nothing
            kept.append(f)
        cases.append((name, [*argv, "--out", str(out)], None, kept))
    for name, folder, argv, looks in [
        ("train --out a folder with the user's best.pt", d / "l4", ["train", "demo", "--epochs", "1",
                                                                  "--max-batches", "1"], ["best.pt", "metrics.csv"]),
        ("eval --out a folder with the user's eval.json", d / "l5", ["eval", str(CKPT), "--split", "test"],
         ["eval.json", "ced.png"]),
    ]:
        kept = []
        for look in looks:
            (folder / look).parent.mkdir(parents=True, exist_ok=True)
            (folder / look).write_text("the user's")
            kept.append(folder / look)
        cases.append((name, [*argv, "--out", str(folder)], None, kept))
    export = ["export", str(CKPT), "--format", "onnx", "--out", str(d / "l3")]
    cases.append(("export --force, --data misspelt, over a validated file", [*export, "--force", "--data",
                                                                             str(d / "demo86")], export,
                  [d / "l3" / "mobilenetv2_56_fp32.onnx", d / "l3" / "mobilenetv2_56_fp32.onnx.json"]))
    return cases


def run_loss(argv: list[str], setup: list[str] | None, kept: list[Path], cwd: Path) -> tuple[str, str]:
    env = {**os.environ}
    if argv[:2] == ["data", "demo"]:
        env["EDGE_LMK_CACHE"] = str(cwd / "text.jpg")  # a file: the build fails after its clean-up
    if setup:
        subprocess.run([sys.executable, "-m", "edge_landmarks", *setup], cwd=cwd, capture_output=True, timeout=600)
    before = {f: f.read_bytes() if f.is_file() else None for f in kept}
    res = subprocess.run([sys.executable, "-m", "edge_landmarks", *argv], cwd=cwd, capture_output=True, text=True,
                         timeout=600, env=env)
    lost = [str(f.relative_to(cwd)) for f in kept if before[f] is None or not f.is_file()
            or f.read_bytes() != before[f]]
    return ("data loss", f"{', '.join(lost)} gone or changed") if lost else ("kept", f"exit {res.returncode}")


def api_cases(f: dict) -> list[tuple[str, object]]:
    from edge_landmarks import LandmarkPredictor
    from edge_landmarks.data import load_dataset
    from edge_landmarks.runtime import load_backend

    img = np.full((200, 200, 3), 128, np.uint8)

    def pred():
        return LandmarkPredictor()

    cases = [
        ("LandmarkPredictor(threads='two')", lambda: LandmarkPredictor(threads="two")),
        ("LandmarkPredictor(threads=0)", lambda: LandmarkPredictor(threads=0)),
        ("LandmarkPredictor(None path object)", lambda: LandmarkPredictor(path=12)),
        ("LandmarkPredictor(color='hsv')", lambda: LandmarkPredictor(color="hsv")),
        ("predict(box='face')", lambda: pred().predict(img, box="face")),
        ("predict(box outside the frame)", lambda: pred().predict(img, box=(10000, 10000, 10100, 10100))),
        ("predict(box of 1e-9 px)", lambda: pred().predict(img, box=(10, 10, 10 + 1e-9, 10 + 1e-9))),
        ("predict(box of 1e12 px)", lambda: pred().predict(img, box=(0, 0, 1e12, 1e12))),
        ("predict(box with NaN)", lambda: pred().predict(img, box=(0, 0, float("nan"), 50))),
        ("predict(box inverted)", lambda: pred().predict(img, box=(50, 50, 10, 10))),
        ("predict(float image)", lambda: pred().predict(img.astype(np.float32), box=(50, 50, 150, 150))),
        ("predict(list as image)", lambda: pred().predict([[1, 2]], box=(0, 0, 1, 1))),
        ("predict(2-channel image)", lambda: pred().predict(np.zeros((50, 50, 2), np.uint8))),
        ("faces(max_faces=-1)", lambda: pred().faces(img, max_faces=-1)),
        ("load_backend(None)", lambda: load_backend(None)),
        ("load_backend(threads=-3)", lambda: load_backend(f["onnx_no_sidecar"].replace("no_sidecar", "corrupt"),
                                                          threads=-3)),
        ("predict_many(img, None)", lambda: pred().predict_many(img, None)),
        ("faces(refine=nan)", lambda: pred().faces(img, refine=float("nan"))),
        ("load_dataset(42)", lambda: load_dataset(42)),
    ]
    for key in ("onnx_corrupt", "tflite_truncated", "onnx_wrong_points", "tflite_wrong_size", "onnx_unvalidated"):
        cases.append((f"LandmarkPredictor({key})", lambda k=key: LandmarkPredictor(f[k])))
    return cases


def run_api(fn) -> tuple[str, str]:
    from edge_landmarks.errors import EdgeLandmarksError

    try:
        fn()
    except EdgeLandmarksError as exc:
        return "clear error", str(exc)
    except Exception as exc:  # noqa: BLE001 - what is being counted
        return "foreign exception", f"{type(exc).__name__}: {exc}"
    return "accepted", ""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="write every case and its outcome as JSON")
    ap.add_argument("--quick", action="store_true", help="each class once: ONNX files only (TFLite's cases are the "
                                                          "same classes), no bench rows")
    args = ap.parse_args()

    def wanted(name: str, argv: list[str]) -> bool:
        return not args.quick or ("tflite" not in name and argv[0] != "bench")

    d = Path(tempfile.mkdtemp(prefix="edge-lmk-hostile-"))
    try:
        files = make_files(d)
        results = []
        for name, argv in (c for c in cli_cases(files, d) if wanted(*c)):
            outcome, last = run_cli(argv, d)
            results.append({"case": name, "kind": "cli", "outcome": outcome, "message": last[:200]})
            print(f"{outcome:18s} {name}: {last[:110]}", flush=True)
        for name, argv, setup, kept in loss_cases(d):
            outcome, last = run_loss(argv, setup, kept, d)
            results.append({"case": name, "kind": "cli", "outcome": outcome, "message": last[:200]})
            print(f"{outcome:18s} {name}: {last[:110]}", flush=True)
        for name, fn in api_cases(files):
            outcome, last = run_api(fn)
            results.append({"case": name, "kind": "api", "outcome": outcome, "message": last[:200]})
            print(f"{outcome:18s} {name}: {last[:110]}", flush=True)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    counts = {}
    for r in results:
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    print(f"\n{len(results)} cases: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    if args.out:
        Path(args.out).write_text(json.dumps({"counts": counts, "cases": results}, indent=1) + "\n")
    return 0 if set(counts) <= {"clear error", "kept"} else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
