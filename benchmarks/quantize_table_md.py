"""Markdown table of INT8 NME changes from quantize runs: one folder per recipe, each with a manifest.json.

Usage: python benchmarks/quantize_table_md.py DIR   (DIR/<recipe>/manifest.json, as written by edge-lmk quantize)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(root: str) -> None:
    print("| recipe | model @ input | FP32 NME | ONNX INT8 | OpenVINO INT8 | TFLite INT8 |")
    print("|---|---|---:|---:|---:|---:|")
    for manifest in sorted(Path(root).glob("*/manifest.json")):
        arts = {a["format"]: a for a in json.loads(manifest.read_text())["artefacts"] if a["precision"] == "int8"}
        if not arts:
            continue
        any_art = next(iter(arts.values()))
        meta = json.loads(Path(any_art["path"] + ".json").read_text())
        cells = []
        for fmt in ("onnx", "openvino", "tflite"):
            v = arts.get(fmt, {}).get("validation")
            cells.append(f"{100 * v['delta_nme_rel']:+.2f}% ({v['mean_px_error_vs_fp32']:.2f} px)" if v else "-")
        print(f"| {manifest.parent.name} | {meta['model']} @{meta['input_size']} | "
              f"{any_art['validation']['nme_fp32']:.4f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1])
