"""INT8 settings against landmark accuracy: the vendors' default activation ranges, min-max ranges, and the first
and last layers kept in float, for OpenVINO (NNCF) and TFLite (ai-edge-quantizer). The table in quantize/README.md.

Usage: python benchmarks/int8_ranges.py CHECKPOINT [--data demo68] [--calib-size 300] [--out DIR]

Every variant is calibrated on the same crops (the training split, made as in training) and checked the way
``edge-lmk quantize`` checks its files: landmarks against PyTorch FP32 on the held-out faces (val split).
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from edge_landmarks.data import load_dataset
from edge_landmarks.export import calibration_crops, held_out_faces, openvino_ir, tflite, validate
from edge_landmarks.training import load_checkpoint


def openvino_variants(model, calib: np.ndarray, out: Path):
    import nncf
    import openvino as ov
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters
    from nncf.quantization.range_estimator import RangeEstimatorParametersSet

    minmax = AdvancedQuantizationParameters(activations_range_estimator_params=RangeEstimatorParametersSet.MINMAX)
    variants = {
        "NNCF defaults": {},
        "NNCF, mixed preset (asymmetric activations)": {"preset": nncf.QuantizationPreset.MIXED},
        "NNCF, first conv + last two layers in float": {"ends": True},
        "NNCF, no fast bias correction": {"fast_bias_correction": False},
        "NNCF, min-max ranges (edge-lmk)": {"advanced_parameters": minmax},
        "NNCF, min-max ranges + first/last layers in float": {"advanced_parameters": minmax, "ends": True},
    }
    dataset = nncf.Dataset([calib[i:i + 1] for i in range(len(calib))])
    for i, (name, kw) in enumerate(variants.items()):
        ov_model = openvino_ir.convert(model)
        if kw.pop("ends", False):
            ops = openvino_ir.weighted_ops(ov_model)
            kw["ignored_scope"] = nncf.IgnoredScope(names=ops[:1] + ops[-2:])
        quantized = nncf.quantize(ov_model, dataset, subset_size=len(calib), **kw)
        path = out / f"openvino_{i}.xml"
        ov.save_model(quantized, str(path), compress_to_fp16=False)
        yield "OpenVINO", name, path


def tflite_variants(model, calib: np.ndarray, out: Path):
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_quantizer import algorithm_manager, calibrator, qtyping, quantizer, recipe_manager
    from ai_edge_quantizer.utils import qsv_utils

    fp32 = tflite.convert(model)
    interp = Interpreter(model_content=fp32)
    key = next(iter(interp.get_signature_list()))
    input_name = interp.get_signature_list()[key]["inputs"][0]
    scopes = tflite._weighted_scopes(interp)
    data = {key: [{input_name: calib[i:i + 1]} for i in range(len(calib))]}

    def recipe(ends: bool):
        rm = recipe_manager.RecipeManager()
        rm.add_static_config(".*", qtyping.TFLOperationName.ALL_SUPPORTED, 8, 8)
        for scope in (scopes[:1] + scopes[-2:]) if ends else []:
            rm.add_quantization_config("^" + re.escape(scope), qtyping.TFLOperationName.ALL_SUPPORTED,
                                       algorithm_key=algorithm_manager.AlgorithmName.NO_QUANTIZE)
        return rm.get_quantization_recipe()

    variants = {
        "ai-edge-quantizer default (moving average)": (False, False),
        "default + first conv and last two layers in float": (False, True),
        "running min/max (edge-lmk)": (True, False),
        "running min/max + first/last layers in float": (True, True),
    }
    for i, (name, (minmax, ends)) in enumerate(variants.items()):
        qt = quantizer.Quantizer(fp32, recipe(ends))
        if minmax:
            cal = calibrator.Calibrator(fp32, num_threads=2, qsv_update_func=qsv_utils.min_max_update)
            cal.calibrate(data, qt._recipe_manager)
            qsvs = cal.get_model_qsvs()
        else:
            qsvs = qt.calibrate(data)
        path = out / f"tflite_{i}.tflite"
        path.write_bytes(bytes(qt.quantize(qsvs).quantized_model))
        yield "TFLite", name, path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--data", default="demo68")
    ap.add_argument("--calib-size", type=int, default=300)
    ap.add_argument("--out", default=None, help="Keep the files here (default: a temporary folder).")
    args = ap.parse_args()
    model, _ = load_checkpoint(args.checkpoint)
    cfg = model.config
    calib = calibration_crops(cfg, args.data, "train", args.calib_size).astype(np.float32)
    faces = held_out_faces(load_dataset(args.data))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out or tmp)
        out.mkdir(parents=True, exist_ok=True)
        print("| format | setting | NME | vs FP32 | mean px error vs FP32 | seconds |")
        print("|---|---|---:|---:|---:|---:|")
        for variants in (openvino_variants, tflite_variants):
            t0 = time.perf_counter()
            for fmt, name, path in variants(model, calib, out):
                Path(f"{path}.json").write_text(json.dumps({"model_config": cfg.to_dict()}))
                v = validate(model, path, cfg, faces)
                print(f"| {fmt} | {name} | {v['nme']:.4f} | {100 * v['delta_nme_rel']:+.2f} % | "
                      f"{v['mean_px_error_vs_fp32']:.2f} | {time.perf_counter() - t0:.0f} |", flush=True)
                t0 = time.perf_counter()


if __name__ == "__main__":
    main()
