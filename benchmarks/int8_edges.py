"""INT8 files near and past the crop's edges: do the landmark outputs clip? And the NME change on held-out faces.

Usage: python benchmarks/int8_edges.py CHECKPOINT [--data demo68] [--calib-size 300] [--out DIR]

Exports the checkpoint to INT8 ONNX, OpenVINO and TFLite (with the code of the checkout it runs from), then feeds
each file and PyTorch FP32 the same crops of the held-out faces, made with the crop box shifted by 0.3 of its side
left / right / up / down, so that points lie from about -0.2 to 1.2 of the crop (a face at the frame's edge, or a
tracker's box that lags). It reports, per format: the error against FP32 in crop pixels over those points, the error
over the points that FP32 puts past 0.95 of the crop, the output and input quantisation of the file, and the NME
change on the held-out faces (the export's own check).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from edge_landmarks.data import load_dataset
from edge_landmarks.data import transforms as T
from edge_landmarks.export import ExportJob, held_out_faces
from edge_landmarks.runtime.backends import describe_io, load_backend
from edge_landmarks.training import load_checkpoint


def shifted_inputs(samples, cfg, shift: float = 0.3) -> np.ndarray:
    xs = []
    for s in samples:
        img = T.to_channels(s.load_image(), cfg.in_chans)
        x0, y0, x1, y1 = T.face_box(s.landmarks)
        side = max(x1 - x0, y1 - y0) * (1 + cfg.crop_margin)
        for dx, dy in ((shift, 0), (-shift, 0), (0, shift), (0, -shift)):
            box = (x0 + dx * side, y0 + dy * side, x1 + dx * side, y1 + dy * side)
            m = T.crop_matrix(box, cfg.input_size, cfg.crop_margin)
            xs.append(T.to_input(T.warp(img, m, cfg.input_size), cfg.mean, cfg.std))
    return np.stack(xs).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--data", default="demo68")
    ap.add_argument("--calib-size", type=int, default=300)
    ap.add_argument("--out", default="runs/int8_edges")
    args = ap.parse_args()
    import torch

    model, _ = load_checkpoint(args.checkpoint)
    cfg = model.config
    faces = held_out_faces(load_dataset(args.data), None, cfg.scheme)
    x = shifted_inputs(faces, cfg)
    with torch.no_grad():
        ref = model.eval()(torch.from_numpy(x)).numpy() / cfg.output_scale
    past = ref > 0.95
    print(f"{len(x)} shifted crops of {len(faces)} held-out faces; FP32 outputs from {ref.min():.3f} to "
          f"{ref.max():.3f} of the crop, {past.mean() * 100:.1f} % of coordinates past 0.95")
    rows = []
    job = ExportJob(args.checkpoint, data=args.data, out=args.out)
    for fmt in ("onnx", "openvino", "tflite"):
        entry = job.write(fmt, "int8", calib_size=args.calib_size, force=True)
        run, _, meta = load_backend(entry["path"], threads=1)
        got = run(x) / cfg.output_scale
        err = np.abs(got - ref) * cfg.input_size
        io = describe_io(entry["path"])
        rows.append({
            "format": fmt, "max_px": round(float(err.max()), 3), "mean_px": round(float(err.mean()), 3),
            "max_px_past_0.95": round(float(err[past].max()), 3) if past.any() else None,
            "output_max": round(float(got.max()), 3), "output_dtype": io["outputs"][0]["dtype"],
            "output_quantization": io["outputs"][0]["quantization"], "input_dtype": io["inputs"][0]["dtype"],
            "input_quantization": io["inputs"][0]["quantization"],
            "input_range": meta["quantizer"].get("input_range"),
            "delta_nme_rel": round(meta["validation"]["delta_nme_rel"], 5), "nme": round(meta["validation"]["nme"], 5),
            "nme_fp32": round(meta["validation"]["nme_fp32"], 5),
        })
        print(json.dumps(rows[-1]))
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "int8_edges.json").write_text(json.dumps({"checkpoint": args.checkpoint, "rows": rows},
                                                                indent=1) + "\n")
    print("| format | max error (px) | max past 0.95 (px) | mean (px) | output | NME change |")
    print("|---|---:|---:|---:|---|---:|")
    for r in rows:
        print(f"| {r['format']} | {r['max_px']} | {r['max_px_past_0.95']} | {r['mean_px']} | {r['output_dtype']} | "
              f"{100 * r['delta_nme_rel']:+.2f} % |")


if __name__ == "__main__":
    main()
