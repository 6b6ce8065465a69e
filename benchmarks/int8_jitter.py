"""Where INT8 jitter comes from in a TFLite file: the same checkpoint quantised with a group of its weighted ops kept
in float, for each group asked, and each file's jitter (NMF on the still clips of ``edge_landmarks.stability``, the
model alone on the true box), NME change and mean point error against PyTorch FP32 on the validation people.

    python benchmarks/int8_jitter.py                                   # the shipped checkpoint, the default groups
    python benchmarks/int8_jitter.py --groups 1:5,0:10 --faces 6 --out benchmarks/results/int8_jitter.json

A group ``A:B`` keeps the weighted ops A to B-1 (graph order, 0: the stem) in float on top of what every INT8 file
keeps (the head, the global depthwise conv); ``none`` adds nothing, ``default`` is what ``edge-lmk quantize``
writes (the early blocks of a MobileNet, ``edge_landmarks.export.tflite._early_scopes``). Needs the dev install and
demo68. Latency is left to ``edge-lmk bench``: one file's timing here would be noise on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _relative(path: str) -> str:
    """A path inside the repository as the repository names it (no machine path in a results file)."""
    p = Path(path).resolve()
    return str(p.relative_to(REPO)) if p.is_relative_to(REPO) else path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=str(REPO / "tests" / "assets" / "demo68_mobilenetv2_56.pt"))
    ap.add_argument("--groups", default="none,default,0:1,1:3,3:5,1:5,0:10")
    ap.add_argument("--faces", type=int, default=6, help="test_wild faces that make the clips")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "int8_jitter.json"))
    args = ap.parse_args()

    import edge_landmarks.export.contract as contract
    from edge_landmarks.data import load_dataset
    from edge_landmarks.export import ExportJob
    from edge_landmarks.export.job import validate
    from edge_landmarks.runtime import load_backend
    from edge_landmarks.runtime.backends import describe_io, sidecar_path
    from edge_landmarks.runtime.predictor import LandmarkPredictor
    from edge_landmarks.stability import stability

    warnings.simplefilter("ignore")
    samples = list(load_dataset("demo68").split("test_wild"))

    def jitter(path: Path) -> float:
        opened = load_backend(str(path), 1)
        pred = LandmarkPredictor.on_backend(str(path), opened, threads=1)
        found = stability(samples, args.faces, seed=0, modes=("model",), predict_batch=opened[0], config=pred.config,
                          predictor=pred)
        return found["modes"]["model"]["nmf_still"]

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        job = ExportJob(args.checkpoint, data="demo68", out=tmp)
        job.write("tflite", "fp32")
        fp32 = Path(tmp) / "mobilenetv2_56_fp32.tflite"
        base = jitter(fp32)
        rows.append({"group": "fp32", "jitter_nmf": base})
        print(f"fp32: jitter {base:.4f}", flush=True)
        module, original = job.exporter("tflite"), contract.float_layers
        for group in args.groups.split(","):
            t0 = time.time()
            out = Path(tmp) / group.replace(":", "_") / "mobilenetv2_56_int8.tflite"
            out.parent.mkdir()
            if group not in ("none", "default"):
                lo, hi = (int(v) for v in group.split(":"))
                contract.float_layers = lambda weighted, head, *_, lo=lo, hi=hi: list(
                    dict.fromkeys(weighted[lo:hi] + list(head)))
            try:
                settings = module.export_int8(job.model, out, job.calibration(300), job.metadata("tflite", "int8"),
                                              fp32=job.fp32("tflite"), float_early=group == "default")
            finally:
                contract.float_layers = original
            meta = {**job.metadata("tflite", "int8"), "quantizer": settings,
                    "contract": contract.contract(job.config, describe_io(out)), "validation": None}
            sidecar_path(out).write_text(json.dumps(meta))
            check = validate(job.model, out, job.config, job.held_out(), 1)
            sidecar_path(out).write_text(json.dumps({**meta, "validation": check}))
            row = {"group": group, "float_layers": settings["float_layers"], "jitter_nmf": jitter(out),
                   "delta_nme_rel": check["delta_nme_rel"], "mean_px_error_vs_fp32": check["mean_px_error_vs_fp32"]}
            row["jitter_vs_fp32"] = row["jitter_nmf"] / base - 1
            rows.append(row)
            print(f"{group}: jitter {row['jitter_nmf']:.4f} ({100 * row['jitter_vs_fp32']:+.1f} % against FP32), NME "
                  f"change {100 * row['delta_nme_rel']:+.2f} %, {row['mean_px_error_vs_fp32']:.3f} px from FP32 "
                  f"({time.time() - t0:.0f} s)", flush=True)
    shown = {**vars(args), "checkpoint": _relative(args.checkpoint)}
    result = {"command": "python benchmarks/int8_jitter.py " + " ".join(
        f"--{k} {v}" for k, v in shown.items() if k != "out"), "checkpoint": shown["checkpoint"],
        "faces": args.faces, "rows": rows}
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
