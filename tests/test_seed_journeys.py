"""The five seeds' journeys, end to end on their own dataset layouts (``replicas.py``), through the CLI as the docs
print it: train (one epoch), eval in the seed's protocol, export / quantize, bench on the seed's split.

One test per seed system. Each trains for one epoch only: what is checked is that every step runs on the layout as
published and reports the seed's way, not the accuracy (the replicas are tiny)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import replicas
from click.testing import CliRunner

from edge_landmarks.cli import main
from edge_landmarks.data.holdout import HOLDOUT_FRACTION
from edge_landmarks.training import load_checkpoint

pytestmark = pytest.mark.slow


def cli(*args: str, code: int = 0) -> str:
    res = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert res.exit_code == code, res.output
    return res.output


def _eval(ckpt: Path, data: Path, out: Path, *more: str) -> dict:
    return json.loads(cli("eval", ckpt, "--data", data, "--out", out, "--json", *more).strip().splitlines()[-1])


def _protocol_splits(ev: dict) -> list[str]:
    """The splits of the seed's protocol (eval lists each split's large-pose faces after them)."""
    return [n for n in ev["splits"] if not n.endswith("/large pose")]


def _held_out(run: Path, data_faces: int) -> list[str]:
    """The run's validation faces: listed, a seeded part of the training faces, recorded in the checkpoint."""
    listed = (run / "val_faces.txt").read_text().splitlines()
    _, ckpt = load_checkpoint(run / "best.pt")
    assert ckpt["validation"]["faces"] == listed and "held out" in ckpt["validation"]["rule"]
    assert 1 <= len(listed) <= max(1, round(2 * HOLDOUT_FRACTION * data_faces))
    return listed


def _bench_row(artefact: Path, data: Path, tmp: Path) -> dict:
    rows = tmp / f"{artefact.stem}.json"
    cli("bench", artefact, "--data", data, "--runs", 5, "--warmup", 1, "--no-dlib", "--no-mediapipe", "--clips", 0,
        "--json", rows)
    row = next(r for r in json.loads(rows.read_text()) if r["file"].endswith(artefact.name))
    assert row["status"] == "ok" and row["faces"] > 0 and math.isfinite(row["nme"]), row
    return row


def test_300w_table_seed_003(demo68, tmp_path, monkeypatch):
    """300-W as published (subset folders, .pts, the private test set, the XML list) and Menpo 2D's mixed
    trainset, with the 300W table's 56 px recipe and its 39-point configuration."""
    monkeypatch.chdir(tmp_path)
    root = replicas.build_300w(demo68, tmp_path / "300W")
    out = cli("train", "mobilenetv2_300w_56", "--data", root, "--epochs", 1, "--out", "runs/m56")
    assert "held out (seed 0, stratified by subset, whole photos)" in out
    held = _held_out(Path("runs/m56"), 18)
    assert all("/helen/testset/" not in f and "/ibug/" not in f for f in held)  # never a test face
    ev = _eval(Path("runs/m56/best.pt"), root, tmp_path / "ev", "--vs-seed")
    assert ev["protocol"] == "300w" and _protocol_splits(ev) == ["common", "challenge", "full", "test300w"]
    assert [ev["splits"][n]["faces"] for n in _protocol_splits(ev)] == [8, 5, 13, 6]
    assert ev["seed_reference"]["published_nme_percent"]["full"] == 5.27
    table = cli("eval", "runs/m56/best.pt", "--data", root, "--out", tmp_path / "ev2", "--vs-seed")
    assert "NME %" in table and "FR@0.08 %" in table and "seed (mobilenetv2_300w_56)" in table
    cli("quantize", "runs/m56/best.pt", "--int8", "--format", "onnx", "--max-nme-increase", "off")
    row = _bench_row(Path("runs/m56/export/mobilenetv2_56_int8.onnx"), root, tmp_path)
    assert row["faces"] == 13  # 300-W's full set, the seed's headline split
    # the dlib XML form of the same training faces trains too (its ignore box left out)
    out = cli("train", "mobilenetv2_300w_56", "--data", root / "labels_ibug_300W_train.xml", "--epochs", 1,
              "--out", "runs/xml")
    assert "of 18 faces validate" in out
    # Menpo 2D: 39-point profiles and 68-point faces in one trainset/; the 39-point model takes its own
    menpo = replicas.build_menpo(demo68, tmp_path / "menpo")
    out = cli("train", "mobilenetv2_menpo39_56", "--data", menpo, "--epochs", 1, "--out", "runs/m39")
    assert "16 of 22 faces are menpo39" in out
    ev = _eval(Path("runs/m39/best.pt"), menpo, tmp_path / "ev39")
    assert ev["protocol"] == "menpo" and _protocol_splits(ev) == ["val (held out)"]
    assert ev["splits"]["val (held out)"]["nme_norm"] == "diagonal"


def test_grey_resnet_300w_seed_001(demo68, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = replicas.build_300w(demo68, tmp_path / "300W", private=False, xml=False)
    cli("train", "resnet18_gray_300w", "--data", root, "--epochs", 1, "--out", "runs/gray")
    _held_out(Path("runs/gray"), 18)
    ev = _eval(Path("runs/gray/best.pt"), root, tmp_path / "ev")
    assert ev["protocol"] == "300w" and _protocol_splits(ev) == ["common", "challenge", "full"]
    cli("train", "resnet18_gray_eyes_300w", "--data", root, "--epochs", 1, "--out", "runs/eyes")
    ev = _eval(Path("runs/eyes/best.pt"), root, tmp_path / "ev_eyes")
    assert ev["splits"]["full"]["faces"] == 13 and math.isfinite(ev["nme"])
    cli("export", "runs/gray/best.pt", "--format", "onnx")
    _bench_row(Path("runs/gray/export/resnet18_gray_224_fp32.onnx"), root, tmp_path)


def test_wflw_seed_002(demo68, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train_list = replicas.build_wflw(demo68, tmp_path / "WFLW")
    test_list = train_list.with_name("list_98pt_rect_attr_test.txt")
    out = cli("train", "resnet18_256_wflw", "--data", train_list, "--epochs", 1, "--out", "runs/wflw")
    assert "held out" in out
    held = _held_out(Path("runs/wflw"), 20)
    assert all(":" in f and "list_98pt_rect_attr_train.txt" in f for f in held)  # list lines, never the test list
    # faces of one photo stay on one side
    lines = train_list.read_text().splitlines()
    photos = {lines[int(f.rsplit(":", 1)[1]) - 1].split()[-1] for f in held}
    assert sum(line.split()[-1] in photos for line in lines) == len(held)
    ev = _eval(Path("runs/wflw/best.pt"), test_list, tmp_path / "ev", "--vs-seed")
    assert ev["protocol"] == "wflw"
    assert _protocol_splits(ev) == ["test", "test/pose", "test/expression", "test/illumination", "test/makeup",
                                    "test/occlusion", "test/blur"]
    assert ev["seed_reference"]["baseline"]["nme_percent"] == 10.67
    assert all(m["faces"] >= 1 and "fr_10" in m and "auc_10" in m for m in ev["splits"].values())
    cli("quantize", "runs/wflw/best.pt", "--int8", "--format", "onnx", "--max-nme-increase", "off",
        "--calib-size", 8)
    _bench_row(next(Path("runs/wflw/export").glob("*_int8.onnx")), test_list, tmp_path)


def test_kaggle_seed_004(demo68, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    training = replicas.build_kaggle(demo68, tmp_path / "kaggle")
    out = cli("train", "kaggle_cnn1", "--data", training, "--epochs", 1, "--out", "runs/k1")
    assert "best validation RMSE px" in out  # the seed's score: two rows in three have no eye corners
    held = _held_out(Path("runs/k1"), 30)
    ev = _eval(Path("runs/k1/best.pt"), training, tmp_path / "ev", "--vs-seed")
    assert ev["protocol"] == "kaggle" and _protocol_splits(ev) == ["val (held out)"]
    assert ev["splits"]["val (held out)"]["faces"] == len(held) and 0 < ev["splits"]["val (held out)"]["rmse_px"]
    assert ev["seed_reference"]["validation_rmse"] == pytest.approx(3.05729)
    # Kaggle's unlabelled test.csv becomes a submission in Kaggle's format, row for row of IdLookupTable.csv
    sub = _eval(Path("runs/k1/best.pt"), training.with_name("test.csv"), tmp_path / "sub")
    lookup = training.with_name("IdLookupTable.csv").read_text().splitlines()
    rows = Path(sub["submission"]).read_text().splitlines()
    assert rows[0] == "RowId,Location" and len(rows) == len(lookup)
    assert all(0.0 <= float(r.split(",")[1]) <= 96.0 for r in rows[1:])
    cli("quantize", "runs/k1/best.pt", "--int8", "--format", "tflite", "--max-nme-increase", "off")
    _bench_row(next(Path("runs/k1/export").glob("*_int8.tflite")), training, tmp_path)


def test_ffhq_xception_seed_000(demo68, tmp_path, monkeypatch):
    """The FFHQ project's journey: its images, labelled by the dlib teacher, train the Xception recipe."""
    monkeypatch.chdir(tmp_path)
    images = replicas.build_ffhq(demo68, tmp_path / "ffhq")
    cli("data", "label", images, "--out", "ffhq68")
    cli("train", "xception_ffhq", "--data", "ffhq68", "--epochs", 1, "--out", "runs/x")
    ev = _eval(Path("runs/x/best.pt"), Path("ffhq68"), tmp_path / "ev")
    assert ev["protocol"] == "default" and ev["splits"] and math.isfinite(ev["nme"])


# --- every training command of the docs, on the matching replica --------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
DOCS = (ROOT / "README.md", ROOT / "train" / "README.md")


def _documented_training_commands() -> list[tuple[str, list[str]]]:
    """(doc:line, argv after the launcher) of every ``edge-lmk train`` / ``torchrun ... train`` line in the docs'
    bash blocks (one-process-per-node cluster lines are the two-node test's: tests/test_distributed.py)."""
    import re
    import shlex

    found, seen = [], set()
    for doc in DOCS:
        text = doc.read_text()
        for block in re.finditer(r"```bash\n(.*?)```", text, re.S):
            start = text[:block.start()].count("\n") + 2
            for k, line in enumerate(block.group(1).replace("\\\n", " \n").splitlines()):
                for part in line.split("&&"):
                    words = shlex.split(part.split(" #")[0], comments=False)
                    edge_lmk = len(words) > 1 and words[0].endswith("edge-lmk") and words[1] == "train"
                    torchrun = words[:1] == ["torchrun"] and "--nnodes" not in words and "edge_landmarks" in words
                    if (edge_lmk or torchrun) and " ".join(words[1:]) not in seen:  # once per command text
                        seen.add(" ".join(words[1:]))
                        found.append((f"{doc.relative_to(ROOT)}:{start + k}", words))
    return found


COMMANDS = _documented_training_commands()


def _skip_reason(words: list[str]) -> str:
    if any(w.startswith("cuda") for w in words):
        return "needs a CUDA device (benchmarks/gpu_check.sh runs the recipes on a lent GPU)"
    if "--resume" in words:
        return "resume is tests/test_training.py's (test_resume_matches_an_uninterrupted_run)"
    if "~/ffhq68" in words:
        return "the labelled FFHQ folder is test_ffhq_xception_seed_000's journey"
    return ""


TRAINED_HERE = {w[w.index("train") + 1] for _, w in COMMANDS if not _skip_reason(w)} | {
    "mobilenetv2_300w_56", "mobilenetv2_menpo39_56", "resnet18_gray_300w", "resnet18_gray_eyes_300w",
    "resnet18_256_wflw", "kaggle_cnn1", "xception_ffhq"}
"""The recipes this file trains (the journeys' and the docs' lines); test_training.py trains the others."""


def _replica_for(value: str, replicas_at: dict) -> tuple[str, str, str] | None:
    """(training data, eval data, the protocol eval must pick) standing in for a documented --data value."""
    if value.endswith("300W"):
        return replicas_at["300w"], replicas_at["300w"], "300w"
    if value.endswith("training.csv"):
        return replicas_at["kaggle"], replicas_at["kaggle"], "kaggle"
    if value.endswith("list_98pt_rect_attr_train.txt"):
        return replicas_at["wflw"], replicas_at["wflw"].replace("_train.txt", "_test.txt"), "wflw"
    if value in ("demo68", "~/faces68"):
        return "demo68", "demo68", "default"
    return None


@pytest.fixture(scope="module")
def replicas_at(demo68, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("replicas")
    return {"300w": str(replicas.build_300w(demo68, root / "300W")),
            "wflw": str(replicas.build_wflw(demo68, root / "WFLW")),
            "kaggle": str(replicas.build_kaggle(demo68, root / "kaggle"))}


def test_the_docs_print_training_commands():
    assert len(COMMANDS) >= 12 and any(w[0] == "torchrun" for _, w in COMMANDS)


@pytest.mark.parametrize("where,words", COMMANDS, ids=[w for w, _ in COMMANDS])
def test_every_documented_training_command_runs_on_its_replica(where, words, replicas_at, cache_env, tmp_path,
                                                               monkeypatch):
    """The line as printed, with its data pointed at the matching replica, one epoch of one batch and a run folder
    here; then eval on the matching data in the seed's protocol."""
    import subprocess
    import sys

    if _skip_reason(words):
        pytest.skip(_skip_reason(words))
    monkeypatch.chdir(tmp_path)
    argv = words[words.index("train"):]
    launcher = words[:words.index("train")]
    if "--data" in argv:
        mapped = _replica_for(argv[argv.index("--data") + 1], replicas_at)
        assert mapped, f"{where}: no replica for --data {argv[argv.index('--data') + 1]}"
        argv[argv.index("--data") + 1], eval_data, protocol = mapped
    else:
        eval_data, protocol = "demo68", "default"
    if "--epochs" in argv:
        argv[argv.index("--epochs") + 1] = "1"
    else:
        argv += ["--epochs", "1"]
    argv += ["--max-batches", "1"]
    if argv[1].endswith(".yaml"):  # "your own recipe": one written as a user would
        Path(argv[1]).write_text("model: mobilenetv2\nmodel_args: {input_size: 56}\ndata: demo68\nbatch_size: 8\n")
    if "--init" in argv and not Path(argv[argv.index("--init") + 1]).exists():  # the run it warm-starts from
        cli("train", "demo", "--data", "demo68", "--epochs", 1, "--max-batches", 1, "--out",
            Path(argv[argv.index("--init") + 1]).parent)
    if "imagenet" in argv:  # torchvision's cache file, as with no network the user puts it there
        from test_training import _fake_imagenet_file
        from torchvision.models import ResNet50_Weights, resnet50

        _fake_imagenet_file(ResNet50_Weights.IMAGENET1K_V1, resnet50, monkeypatch, tmp_path)
    if launcher[0] == "torchrun":
        res = subprocess.run([sys.executable, "-m", "torch.distributed.run", *launcher[1:], *argv],
                             capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, res.stderr[-3000:]
    else:
        cli(*argv)
    out = Path(argv[argv.index("--out") + 1]) if "--out" in argv else Path("runs") / Path(argv[1]).stem
    ev = _eval(out / "best.pt", Path(eval_data), tmp_path / "ev")
    metric = "rmse_px" if ev["protocol"] == "kaggle" else "nme"
    assert all(math.isfinite(m[metric]) for m in ev["splits"].values()), ev
    assert ev["protocol"] == protocol
