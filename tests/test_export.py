"""Conversion with the real converters and runtimes: every format, FP32 and INT8, validated and recorded."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from edge_landmarks.cli import main
from edge_landmarks.data import load_dataset
from edge_landmarks.data.transforms import face_box
from edge_landmarks.errors import EdgeLandmarksError
from edge_landmarks.export import ExportJob, export_artefact
from edge_landmarks.files import plain_mode
from edge_landmarks.formats import FORMATS, export_formats, format_for_path
from edge_landmarks.runtime import load_backend
from edge_landmarks.training import load_recipe, train

ROOT = Path(__file__).resolve().parents[1]


def test_documented_examples_run_on_the_shipped_models(demo68):
    from edge_landmarks.runtime.predictor import DEFAULT_MODEL_DIR

    for path, runtime in (("demo68_mobilenetv2_56_int8.onnx", "onnxruntime"),
                          ("demo68_mobilenetv2_56_int8.tflite", "ai-edge-litert")):
        _runs_the_documented_example(DEFAULT_MODEL_DIR / path, runtime, demo68)


@pytest.fixture(scope="module")
def checkpoint(demo68, tmp_path_factory):
    """A real (briefly trained) demo checkpoint: mobilenetv2 at 56 px."""
    data = load_dataset(demo68)
    out = tmp_path_factory.mktemp("run")
    cfg = load_recipe("demo", epochs=2, threads=2, data=str(demo68))
    train(cfg, out=out, progress=False, samples=list(data.split("train"))[:48],
          val_samples=list(data.split("val")))
    return out / "best.pt"


@pytest.fixture(scope="module")
def job(checkpoint, demo68):
    """One export job for the module's checkpoint, as a caller that writes several of its files keeps one: its FP32
    conversions and QAT fine-tune are made once for the tests (each sets ``job.out`` to its own folder)."""
    return ExportJob(checkpoint, data=str(demo68))


def test_format_table():
    assert list(FORMATS) == ["pytorch", "onnx", "openvino", "tflite"]  # PyTorch first: the bench's row order
    assert export_formats() == ["onnx", "openvino", "tflite"] and all(FORMATS[f].int8 for f in export_formats())
    assert format_for_path("a/b.xml").name == "openvino" and format_for_path("x.pt").name == "pytorch"
    assert format_for_path("x.bin") is None and FORMATS["openvino"].suffixes == (".xml", ".bin")


def test_one_rule_for_the_data_a_command_uses_by_default(tmp_path):
    """eval, export and quantize without --data: the data named, else what the model was trained on (a checkpoint's
    recipe, an exported file's sidecar), else demo68."""
    from edge_landmarks.training.checkpoint import data_for

    art = tmp_path / "m_int8.onnx"
    art.write_bytes(b"onnx")
    assert data_for(art) == "demo68"  # no sidecar
    Path(f"{art}.json").write_text(json.dumps({"format": "onnx", "training_data": "~/300W"}))
    assert data_for(art) == "~/300W" and data_for(art, "wflw") == "wflw"
    Path(f"{art}.json").write_text("[1, 2]")  # not ours
    assert data_for(art) == "demo68"
    assert data_for(tmp_path / "best.pt", None, {"data": "faces.csv"}) == "faces.csv"
    assert data_for(tmp_path / "best.pt", None, {}) == "demo68"


@pytest.mark.slow
@pytest.mark.parametrize("fmt", sorted(export_formats()))
@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_export_validates_and_records(checkpoint, job, demo68, tmp_path, fmt, precision):
    out = job.out = tmp_path / "export"
    with pytest.warns(UserWarning, match="only 30 calibration faces") if precision == "int8" else _nothing():
        entry = job.write(fmt, precision, calib_size=30)
    path = out / f"mobilenetv2_56_{precision}{FORMATS[fmt].suffix}"
    assert entry["path"] == str(path) and path.is_file()
    meta = json.loads((out / (path.name + ".json")).read_text())
    assert meta["model"] == "mobilenetv2" and meta["input_size"] == 56 and meta["precision"] == precision
    assert len(meta["source_sha256"]) == 64 and meta["mean"] == [0.485, 0.456, 0.406]
    assert meta["training_data"] == str(demo68)  # eval's default data for this file
    v = meta["validation"]
    assert v["faces"] == len(load_dataset(demo68).split("val"))  # the held-out people of demo68
    if precision == "fp32":
        assert v["max_px_error_vs_fp32"] < 0.01  # exact conversion, whatever the runtime
    else:
        assert v["nme"] < 1.5 * v["nme_fp32"]  # INT8 is checked and recorded, not hidden
        assert entry["bytes"] < 0.5 * 9.5e6  # int8 weights: under half the fp32 file
    manifest = json.loads((out / "manifest.json").read_text())
    assert [a["path"] for a in manifest["artefacts"]] == [str(path)]
    # every file written has a plain file's permissions under the umask (the atomic writes' mkstemp makes 0600)
    modes = {f.name: oct(stat.S_IMODE(f.stat().st_mode)) for f in out.iterdir()}
    assert set(modes.values()) == {oct(plain_mode())}, modes
    assert meta["contract"]["inputs"][0]["name"] and meta["contract"]["preprocess"]["channel_order"] == "RGB"
    assert (meta["contract"]["inputs"][0]["quantization"] is not None) == (fmt == "tflite" and precision == "int8")
    _runs_the_documented_example(path, FORMATS[fmt].runtime, demo68)
    run, cfg, _ = load_backend(path, threads=1)
    x = np.zeros((2, 3, 56, 56), np.float32)
    assert run(x).shape == (2, 136) and cfg.name == "mobilenetv2"
    res = CliRunner().invoke(main, ["eval", str(path), "--data", str(demo68), "--split", "test", "--json",
                                    "--out", str(tmp_path / "ev")])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["splits"]["test"]["faces"] == 40
    with pytest.raises(EdgeLandmarksError, match="--force"):
        export_artefact(checkpoint, fmt, precision, out=out, data=str(demo68))


@pytest.mark.slow
def test_only_validated_artefacts_count(checkpoint, demo68, tmp_path):
    """An export that fails after writing its file leaves nothing; one killed before its check (its sidecar says
    "ours, not validated") is refused by every loader and made again by the next export, with no --force."""
    from edge_landmarks import LandmarkPredictor

    out = tmp_path / "export"
    path = out / "mobilenetv2_56_fp32.onnx"
    with pytest.raises(EdgeLandmarksError, match="no_such_data"):
        export_artefact(checkpoint, "onnx", "fp32", out=out, data=str(tmp_path / "no_such_data"))
    assert not path.exists() and not Path(str(path) + ".json").exists()  # the file written before the failure
    entry = export_artefact(checkpoint, "onnx", "fp32", out=out, data=str(demo68), check_faces=4)  # no --force
    side = Path(str(path) + ".json")
    meta = json.loads(side.read_text())
    assert meta["validation"]["faces"] == 4 and entry["validation"] == meta["validation"]
    meta["validation"] = None  # the state a kill -9 between writing and checking leaves
    side.write_text(json.dumps(meta))
    for load in (lambda: load_backend(path), lambda: LandmarkPredictor(path)):
        with pytest.raises(EdgeLandmarksError, match="not validated"):
            load()
    image = next(iter(load_dataset(demo68).split("test"))).image_path
    res = CliRunner().invoke(main, ["predict", str(path), image])
    assert res.exit_code == 1 and "not validated" in res.output
    from edge_landmarks.bench import collect_targets

    (t,) = collect_targets([path], references=False)
    assert t.status == "unvalidated"
    again = export_artefact(checkpoint, "onnx", "fp32", out=out, data=str(demo68), check_faces=4)  # no --force
    assert again["validation"]["faces"] == 4 and load_backend(path)[2]["validation"]["faces"] == 4
    # a file of the same name with no sidecar is not taken for ours: --force is needed
    side.unlink()
    with pytest.raises(EdgeLandmarksError, match="--force"):
        export_artefact(checkpoint, "onnx", "fp32", out=out, data=str(demo68), check_faces=4)


def doc_example(runtime: str) -> str:
    """The shared crop block and ``runtime``'s block of docs/use-without-edge-lmk.md, as one program."""
    text = (ROOT / "docs" / "use-without-edge-lmk.md").read_text()
    blocks = {b.split("\n", 1)[0].lstrip("# ").split(":")[0]: b for b in re.findall(r"```python\n(.*?)```", text, re.S)}
    return blocks["crop"] + "\n" + blocks[runtime]


def _runs_the_documented_example(path: Path, runtime: str, demo68) -> None:
    """The docs' example for the file's runtime (its own API, no edge-lmk code) gives edge-lmk's points."""
    from edge_landmarks import LandmarkPredictor

    block = {"onnxruntime": "onnxruntime", "openvino": "openvino", "ai-edge-litert": "litert"}[runtime]
    pred = LandmarkPredictor(path)
    for sample in list(load_dataset(demo68).split("test"))[::13][:3]:
        image = sample.load_image()
        box = face_box(sample.landmarks)
        scope = {"MODEL": str(path), "image": image, "box": box}
        exec(compile(doc_example(block), f"use-without-edge-lmk.md ({block})", "exec"), scope)
        assert np.abs(scope["points"] - pred.predict(image, box=box)).max() < 0.01


@pytest.mark.slow
@pytest.mark.parametrize("fmt", sorted(export_formats()))
def test_int8_outputs_never_clip_past_the_crop(checkpoint, demo68, tmp_path, fmt):
    """Points near and past the crop's edges (the head's bias moved so outputs span -0.5 .. 1.5 of the crop, as a
    face at the frame's edge or a lagging track gives): the INT8 file follows FP32 there, it does not saturate at a
    calibrated range (before this check, INT8 ONNX and TFLite outputs stopped at 0.95 of the crop)."""
    import torch

    from edge_landmarks.export import held_out_faces
    from edge_landmarks.training import load_checkpoint, read_checkpoint, save_checkpoint

    ckpt = read_checkpoint(checkpoint)
    bias = ckpt["state_dict"]["head.1.bias"]
    bias += torch.linspace(-1.0, 1.0, len(bias))  # each output moved, from -1.0 to +1.0 of the crop
    wide = tmp_path / "wide.pt"
    save_checkpoint(wide, ckpt)
    with pytest.warns(UserWarning, match="only 30 calibration faces"):
        entry = export_artefact(wide, fmt, "int8", out=tmp_path / "export", data=str(demo68), calib_size=30)
    model, _ = load_checkpoint(wide)
    faces = held_out_faces(load_dataset(demo68))[:8]
    from edge_landmarks.data.dataset import make_inputs

    x, _ = make_inputs(faces, model.config)
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    run, _, meta = load_backend(entry["path"], threads=1)
    got = run(x)
    assert ref.min() < -0.3 and ref.max() > 1.3  # the points do lie well outside the crop
    err_px = np.abs(got - ref) * 56
    assert err_px.max() < 1.5, (fmt, err_px.max(), got.max(), ref.max())
    assert meta["contract"]["outputs"][0]["dtype"] == "float32"  # the head stays in float in every format
    assert not _quantisers_after_last_weighted_op(Path(entry["path"])), fmt
    if meta["quantizer"]["input_range"] is None:  # OpenVINO: no quantiser on the image at all (its first conv
        assert fmt == "openvino" and len(meta["quantizer"]["float_layers"]) > 1  # stays float, #30: less flicker)
    else:
        lo, hi = meta["quantizer"]["input_range"]
        assert lo <= -2.1179 and hi >= 2.64 - 1e-6  # the input quantiser covers the normalisation's true bounds


def _quantisers_after_last_weighted_op(path: Path) -> list[str]:
    """The (de)quantising ops between the model's last weighted op and its output, read from the file itself."""
    if path.suffix == ".onnx":
        import onnx

        nodes = list(onnx.load(str(path)).graph.node)
        last = max(i for i, n in enumerate(nodes) if n.op_type in ("Conv", "Gemm", "MatMul"))
        return [n.op_type for n in nodes[last:] if n.op_type in ("QuantizeLinear", "DequantizeLinear")]
    if path.suffix == ".xml":
        import openvino as ov

        ops = list(ov.Core().read_model(str(path)).get_ordered_ops())
        last = max(i for i, op in enumerate(ops) if op.get_type_name() in ("Convolution", "MatMul"))
        return [op.get_type_name() for op in ops[last:] if op.get_type_name() == "FakeQuantize"]
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path))
    ops = interp._get_ops_details()
    last = max(i for i, op in enumerate(ops) if op["op_name"] in ("CONV_2D", "FULLY_CONNECTED"))
    return [op["op_name"] for op in ops[last:] if op["op_name"] in ("QUANTIZE", "DEQUANTIZE")]


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_bad_inputs(checkpoint, demo68, tmp_path):
    with pytest.raises(EdgeLandmarksError, match="unknown format"):
        export_artefact(checkpoint, "coreml", out=tmp_path)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00" * 10)
    with pytest.raises(EdgeLandmarksError, match="not a readable checkpoint"):
        export_artefact(bad, "onnx", out=tmp_path)
    res = CliRunner().invoke(main, ["quantize", str(checkpoint), "--int8", "--format", "onnx", "--calib-data",
                                    str(tmp_path / "nowhere"), "--out", str(tmp_path / "q")])
    assert res.exit_code == 1 and "no such file" in res.output
    res = CliRunner().invoke(main, ["quantize", str(checkpoint), "--int8", "--max-nme-increase", "lots"])
    assert res.exit_code == 2 and "percentage" in res.output
    res = CliRunner().invoke(main, ["quantize", str(checkpoint)])
    assert res.exit_code == 2 and "--int8" in res.output


def test_held_out_faces_fall_back(demo68, tmp_path):
    from edge_landmarks.export import held_out_faces

    data = load_dataset(demo68)
    assert len(held_out_faces(data)) == len(data.split("val")) > 30
    assert {s.split for s in held_out_faces(data)} == {"val"}
    assert {s.split for s in held_out_faces(data, "test")} == {"test"}
    train_only = data.split("train")  # e.g. a WFLW train list: no val or test split, so every face is used
    assert len(held_out_faces(train_only)) == len(train_only) == data.splits()["train"] > 400


@pytest.mark.slow
def test_budget_met_by_the_first_step(checkpoint, demo68, tmp_path):
    from edge_landmarks.export import REMEDIES, quantize_within_budget

    with pytest.warns(UserWarning, match="calibration faces"):
        entry = quantize_within_budget(checkpoint, "onnx", 0.25, out=tmp_path, data=str(demo68), calib_size=40)
    assert entry["budget"]["within_budget"] and entry["budget"]["remedy"] == REMEDIES[0]
    assert len(entry["budget"]["attempts"]) == 1
    assert json.loads((tmp_path / "mobilenetv2_56_int8.onnx.json").read_text())["budget"]["within_budget"]


def small_copy(demo68: Path, dst: Path, train_faces: int) -> Path:
    """demo68 with its held-out splits whole and the first person folders of train that hold ``train_faces``."""
    import shutil

    shutil.copytree(demo68, dst, ignore=shutil.ignore_patterns("train"))
    kept = 0
    for person in sorted((demo68 / "train").iterdir()):
        if kept >= train_faces:
            break
        shutil.copytree(person, dst / "train" / person.name)
        kept += len(list(person.glob("*.pts")))
    return dst


@pytest.mark.slow
def test_budget_tries_every_remedy_then_fails_with_the_numbers(checkpoint, demo68, tmp_path):
    """A budget no remedy can meet (the NME must fall by half) walks the whole ladder, QAT included, and raises
    with the numbers; the last attempt's file stays, marked as over the budget. (On demo68 with a smaller train
    split: "more calibration data" and QAT take the whole split, 414 faces in demo68 itself.)"""
    from edge_landmarks.export import REMEDIES, BudgetError, quantize_within_budget

    data = small_copy(demo68, tmp_path / "small", 60)
    n_train = len(load_dataset(data).split("train"))
    assert 60 <= n_train < 100
    seen = []
    with pytest.raises(BudgetError) as err, pytest.warns(UserWarning, match="calibration faces"):
        quantize_within_budget(checkpoint, "onnx", -0.5, out=tmp_path, data=str(data), calib_size=40,
                               qat={"epochs": 1, "lr": 1e-4}, on_attempt=lambda fmt, a: seen.append(a["remedy"]))
    assert seen == list(REMEDIES)
    for step in REMEDIES:
        assert step in str(err.value)
    meta = json.loads((tmp_path / "mobilenetv2_56_int8.onnx.json").read_text())
    attempts = meta["budget"]["attempts"]
    assert [a["calibration_faces"] for a in attempts] == [40, n_train, n_train, n_train]
    assert meta["budget"]["within_budget"] is False and meta["budget"]["remedy"] is None
    assert meta["quantizer"]["qat"]["epochs"] == 1  # the file kept is the last attempt's, the QAT one


# The checkpoint the shipped default model was made from (train/release.sh: mobilenetv2, 56 px, 92 epochs on
# demo68; val NME 0.0477). A trained model is what INT8 has to keep: a barely trained one hides range errors.
SHIPPED_CHECKPOINT = ROOT / "tests" / "assets" / "demo68_mobilenetv2_56.pt"
BUDGET = 0.02  # edge-lmk quantize's default --max-nme-increase (2 %), the accuracy INT8 promises


def test_the_shipped_files_were_made_from_the_checkpoint_in_tests():
    from edge_landmarks.runtime.predictor import default_model
    from edge_landmarks.training.checkpoint import file_sha256

    sha = file_sha256(SHIPPED_CHECKPOINT)
    for fmt in ("onnx", "tflite"):
        path = default_model(fmt)
        assert json.loads(path.with_name(path.name + ".json").read_text())["source_sha256"] == sha


@pytest.fixture(scope="module")
def trained(demo68):
    """The shipped checkpoint's export job: its model, calibration crops and FP32 conversions shared by the tests."""
    return ExportJob(SHIPPED_CHECKPOINT, data=str(demo68))


@pytest.mark.slow
@pytest.mark.parametrize("fmt", sorted(export_formats()))
def test_int8_of_a_trained_model_keeps_the_promised_budget(trained, demo68, tmp_path, fmt):
    """Measured: +0.3 to +0.4 % NME and 0.10 to 0.13 px from FP32 in every format (100 calibration faces)."""
    trained.out = tmp_path
    entry = trained.write(fmt, "int8", calib_size=100)
    v = entry["validation"]
    assert v["faces"] == len(trained.held_out()) and v["delta_nme_rel"] <= BUDGET / 2, v
    assert v["mean_px_error_vs_fp32"] < 0.2, v
    if fmt != "onnx":  # onnxruntime's own default is min-max already
        assert entry["settings"]["ranges"] == "min-max"
    if fmt == "tflite":  # the GDConv (a depthwise conv with a 1x1 output) and the head stay in float: XNNPACK's
        from ai_edge_litert.interpreter import Interpreter  # int8 kernel for it is twice as slow

        interp = Interpreter(model_path=entry["path"])
        tensors = {t["index"]: t for t in interp.get_tensor_details()}
        ops = [(op["op_name"], tensors[op["inputs"][0]]["dtype"], list(tensors[op["outputs"][0]]["shape"]))
               for op in interp._get_ops_details() if op["op_name"] in ("CONV_2D", "DEPTHWISE_CONV_2D")]
        float_ops = [(name, shape) for name, dtype, shape in ops if dtype == np.float32]
        assert float_ops[-2:] == [("DEPTHWISE_CONV_2D", [1, 1, 1, 1280]), ("CONV_2D", [1, 1, 1, 136])], float_ops
        # and the first two inverted-residual blocks, which read the stem's 28x28 map (#30: their rounding made the
        # points flicker): depthwise and projection, expansion and depthwise
        assert float_ops[:-2] == [(name, shape) for name, _, shape in ops[1:5]], float_ops
        assert [name for name, _, _ in ops[1:5]] == ["DEPTHWISE_CONV_2D", "CONV_2D", "CONV_2D", "DEPTHWISE_CONV_2D"]
        assert all(dtype == np.int8 for _, dtype, _ in [ops[0], *ops[5:-2]])
        assert entry["settings"]["float_layers"][:2] == ["Sequential_gdconv/BatchNorm2d_1",
                                                         "Sequential_head/BatchNorm2d_1"]


@pytest.mark.slow
def test_openvino_int8_is_the_onnx_graph_and_follows_a_moving_face(trained, demo68, tmp_path):
    """OpenVINO's INT8 file is the ONNX writer's QDQ graph, with MobileNet's first blocks also in float, read by
    ``openvino.convert_model`` (quantize/README.md, "OpenVINO INT8: the ONNX graph"): its points are onnxruntime's on
    that graph within rounding, and through the demo's tracker and smoothing it follows the two test_wild faces that
    NNCF's file trailed by 3.6 and 2.1 frames (benchmarks/openvino_int8.py) as the FP32 file does, within about a
    frame."""
    from edge_landmarks.data.dataset import make_inputs
    from edge_landmarks.export import onnx as onnx_writer
    from edge_landmarks.runtime.predictor import LandmarkPredictor
    from edge_landmarks.stability import clip_faces, make_clips, run_clip, score_clip

    trained.out = tmp_path
    entries = {fmt: trained.write(fmt, "int8", calib_size=100) for fmt in ("onnx", "openvino")}
    ov_settings, onnx_settings = entries["openvino"]["settings"], entries["onnx"]["settings"]
    assert ov_settings["quantizer"].endswith("read by openvino.convert_model")
    early = onnx_writer.early_nodes(_fp32_onnx(trained, tmp_path), trained.config.input_size)
    assert len(early) == 4 and ov_settings["float_layers"] == list(dict.fromkeys(
        onnx_settings["float_layers"][:1] + early + onnx_settings["float_layers"]))
    graph = tmp_path / "early.onnx"
    onnx_writer.export_int8(trained.model, graph, trained.calibration(100), float_early=True)
    x, _ = make_inputs(trained.held_out(), trained.config)
    ov = load_backend(entries["openvino"]["path"], threads=1)[0](x)
    diff = np.abs(ov - onnx_writer.run_onnx(graph, x)) * trained.config.input_size / trained.config.output_scale
    assert diff.mean() < 0.06 and diff.max() < 0.5, (diff.mean(), diff.max())  # px; INT8 against FP32: 0.14 / 0.7
    predictor = LandmarkPredictor(entries["openvino"]["path"])
    wild = load_dataset(demo68).split("test_wild")
    lags = [score_clip(run_clip(clip, "demo", predictor=predictor), clip)["lag"]
            for clip in (make_clips(face, seed=0, speeds=(1.0,))[1] for face in clip_faces(wild, 6)[:2])]
    assert max(lags) <= 1.3, lags


def _fp32_onnx(job, folder: Path) -> Path:
    """The job's FP32 ONNX conversion as a file."""
    path = folder / "fp32.onnx"
    path.write_bytes(job.fp32("onnx")[0])
    return path


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["openvino", "tflite"])
def test_vendor_default_ranges_would_break_the_budget(trained, tmp_path, fmt):
    """Why min-max: the quantisers' own range estimators (NNCF's averaged extremes, ai-edge-quantizer's moving
    average) clip the extremes a coordinate regressor needs. Measured on this model: OpenVINO +2.5 % NME and
    0.25 px, TFLite +5.6 % and 0.41 px, against +0.4 % and 0.12 px with min-max; were they the default, the
    TFLite budget test above would fail. Since OpenVINO's first conv stays in float (#30), its vendor ranges give
    +1.8 % (inside the budget, by a hair) but points 3 times as far from FP32 (0.40 px against 0.13)."""
    from edge_landmarks.export import openvino_ir, tflite, validate

    model, calib, faces = trained.model, trained.calibration(100), trained.held_out()
    module = {"openvino": openvino_ir, "tflite": tflite}[fmt]
    result = {}
    for ranges in ("min-max", "vendor default"):
        path = tmp_path / f"{ranges.replace(' ', '_')}{FORMATS[fmt].suffix}"
        assert module.export_int8(model, path, calib, ranges=ranges, fp32=trained.fp32(fmt))["ranges"] == ranges
        Path(f"{path}.json").write_text(json.dumps({"model_config": model.config.to_dict()}))
        result[ranges] = validate(model, path, model.config, faces)
    assert result["min-max"]["delta_nme_rel"] <= BUDGET, result
    assert result["vendor default"]["delta_nme_rel"] > (BUDGET if fmt == "tflite" else
                                                        2 * result["min-max"]["delta_nme_rel"]), result
    assert result["vendor default"]["mean_px_error_vs_fp32"] > 1.5 * result["min-max"]["mean_px_error_vs_fp32"]
    with pytest.raises(ValueError, match="ranges must be one of"):
        module.export_int8(model, tmp_path / f"x{FORMATS[fmt].suffix}", calib, ranges="percentile")


@pytest.mark.slow
@pytest.mark.parametrize("fmt", sorted(export_formats()))
def test_qat_export(job, tmp_path, fmt):
    """QAT (NNCF, 1 epoch) then each format: the file runs in its runtime and its NME stays near FP32 (QAT also
    trains, so on this barely trained checkpoint the points move by a few pixels). The job fine-tunes once for the
    three formats, as ``quantize --qat --format all`` does."""
    job.out = tmp_path
    with pytest.warns(UserWarning, match="calibration faces"):
        entry = job.write(fmt, "int8", calib_size=40, qat={"epochs": 1, "lr": 1e-4})
    v = entry["validation"]
    assert entry["settings"]["qat"]["history"][0]["train_loss"] > 0
    assert v["nme"] < 1.5 * v["nme_fp32"] and np.isfinite(v["mean_px_error_vs_fp32"])


@pytest.mark.slow
def test_export_and_quantize_on_the_cli(demo68, tmp_path):
    """The commands as the README runs them, on the trained checkpoint: export (and --force), quantize within the
    budget by the first step, and quantize --qat with the budget off."""
    from edge_landmarks.export import REMEDIES

    runner = CliRunner()
    export = ["export", str(SHIPPED_CHECKPOINT), "--format", "onnx", "--out", str(tmp_path / "e"), "--data",
              str(demo68)]
    res = runner.invoke(main, export)
    assert res.exit_code == 0, res.output
    assert "mobilenetv2_56_fp32.onnx" in res.output and "NME on held-out faces" in res.output
    manifest = json.loads((tmp_path / "e" / "manifest.json").read_text())
    assert [Path(a["path"]).name for a in manifest["artefacts"]] == ["mobilenetv2_56_fp32.onnx"]
    assert runner.invoke(main, export).exit_code == 1
    assert runner.invoke(main, [*export, "--force"]).exit_code == 0

    q = tmp_path / "q"
    res = runner.invoke(main, ["quantize", str(SHIPPED_CHECKPOINT), "--int8", "--format", "tflite", "--calib-data",
                               str(demo68), "--calib-size", "100", "--out", str(q)])
    assert res.exit_code == 0, res.output
    meta = json.loads((q / "mobilenetv2_56_int8.tflite.json").read_text())
    assert meta["budget"]["within_budget"] and meta["budget"]["remedy"] == REMEDIES[0]
    assert meta["budget"]["max_nme_increase"] == 0.02 and meta["validation"]["delta_nme_rel"] <= 0.02
    assert "mobilenetv2_56_int8.tflite" in res.output

    small = small_copy(demo68, tmp_path / "small", 100)  # QAT's epoch runs over the whole train split
    res = runner.invoke(main, ["quantize", str(SHIPPED_CHECKPOINT), "--int8", "--format", "onnx", "--qat",
                               "--qat-epochs", "1", "--qat-lr", "0.00005", "--max-nme-increase", "off",
                               "--calib-data", str(small), "--calib-size", "100", "--out", str(q)])
    assert res.exit_code == 0, res.output
    meta = json.loads((q / "mobilenetv2_56_int8.onnx.json").read_text())
    assert meta["quantizer"]["qat"]["epochs"] == 1 and meta["quantizer"]["qat"]["lr"] == 0.00005
    # QAT trains on (augmented) faces, so its NME moves from the checkpoint's either way
    assert "budget" not in meta and abs(meta["validation"]["delta_nme_rel"]) < 0.1


def test_a_failed_force_export_keeps_the_validated_artefact(demo68, tmp_path):
    """#27: ``export --force`` with a misspelt ``--data`` deleted the validated file and its sidecar and wrote
    nothing. The new file is written and checked in a temporary folder and replaces the old one only once
    validated; and --force replaces only a file edge-lmk made."""
    import subprocess
    import sys

    ckpt = ROOT / "tests" / "assets" / "demo68_mobilenetv2_56.pt"
    out = tmp_path / "export"
    export_artefact(ckpt, "onnx", "fp32", out=out, data=str(demo68), check_faces=4)
    path = out / "mobilenetv2_56_fp32.onnx"
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(before) == {path.name, path.name + ".json", "manifest.json"}
    args = [sys.executable, "-m", "edge_landmarks", "export", str(ckpt), "--format", "onnx", "--out", str(out),
            "--force"]
    res = subprocess.run([*args, "--data", str(tmp_path / "demo86")], capture_output=True, text=True, timeout=600)
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr[-1500:]
    assert res.stderr.strip().splitlines()[-1].startswith(f"error: {tmp_path / 'demo86'}"), res.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the old file, as it was; no temporaries
    assert load_backend(path)[2]["validation"]["faces"] == 4
    # a file of the user's with the artefact's name (no sidecar of ours): --force does not replace it
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / path.name).write_bytes(b"the user's own model")
    res = subprocess.run([*args[:-3], "--out", str(mine), "--force", "--data", str(demo68)], capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 1 and "not an artefact edge-lmk made" in res.stderr.strip().splitlines()[-1], res.stderr
    assert (mine / path.name).read_bytes() == b"the user's own model" and len(list(mine.iterdir())) == 1


@pytest.mark.slow
def test_qat_trains_through_fake_quantisation(demo68):
    """QAT's fine-tune runs the model with NNCF's fake-quantise modules in the loop and trains them: the quantizers
    are there, their ranges move from what calibration set, and the model's output is quantised (it differs from
    the float model with the same weights)."""
    import torch

    from edge_landmarks.export import calibration_crops
    from edge_landmarks.export.qat import finetune, quantize_torch
    from edge_landmarks.training import load_checkpoint

    model, ckpt = load_checkpoint(SHIPPED_CHECKPOINT)
    calib = calibration_crops(model.config, str(demo68), size=32)
    faces = list(load_dataset(demo68).split("train"))[:48]

    def ranges(m) -> dict:  # the parameters of NNCF's quantizer modules (SymmetricQuantizer's scale, ...)
        return {f"{name}.{n}": p.detach().clone() for name, q in m.named_modules()
                if type(q).__name__.endswith("Quantizer") for n, p in q.named_parameters(recurse=False)
                if p.requires_grad}

    before = ranges(quantize_torch(model, calib))
    assert len(before) >= 10, "no fake-quantise parameters in the QAT model"
    qmodel, plain, history = finetune(model, faces, calib, ckpt["train_config"], epochs=1, lr=1e-3)
    after = ranges(qmodel)
    assert after.keys() == before.keys()
    moved = [n for n in before if not torch.equal(before[n], after[n])]
    assert len(moved) >= 0.9 * len(before), f"only {len(moved)} of {len(before)} quantizer ranges were trained"
    x = torch.from_numpy(calib[:8])
    with torch.no_grad():
        assert (qmodel(x) - plain(x)).abs().max() > 1e-3  # the same weights, quantised in the loop
    assert history[0]["train_loss"] > 0
