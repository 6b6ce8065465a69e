#!/usr/bin/env bash
# Rebuild the default model shipped in edge_landmarks/runtime/models/landmarks/ (what LandmarkPredictor() with no
# path, `edge-lmk predict photo.jpg` and `edge-lmk demo --camera 0` use): the demo recipe (edge_landmarks/recipes/demo.yaml, seed 0)
# on demo68 (builder version 5) on the CPU, then INT8 ONNX and TFLite with min-max ranges, each validated against
# PyTorch FP32 on demo68's validation people; then the test and test_wild NME of each file.
#   bash train/release.sh [RUN_DIR]        (about 8 minutes on a 2-core CPU)
#   QUANTIZE_ONLY=1 bash train/release.sh RUN_DIR   (re-export RUN_DIR/train/best.pt after a change in the exporters)
set -euo pipefail
run=${1:-runs/release}
lmk=${EDGE_LMK:-edge-lmk}
dest=edge_landmarks/runtime/models/landmarks
$lmk data demo
if [ -z "${QUANTIZE_ONLY:-}" ]; then
  $lmk train demo --data demo68 --device cpu --workers 0 --threads 2 --out "$run/train"
fi
for fmt in onnx tflite; do
  $lmk quantize "$run/train/best.pt" --int8 --format $fmt --calib-data demo68 --out "$run/export" --force
  cp "$run/export/mobilenetv2_56_int8.$fmt" "$dest/demo68_mobilenetv2_56_int8.$fmt"
  cp "$run/export/mobilenetv2_56_int8.$fmt.json" "$dest/demo68_mobilenetv2_56_int8.$fmt.json"
  for split in test test_wild; do
    printf '%s %s: ' "$fmt" "$split"
    $lmk eval "$dest/demo68_mobilenetv2_56_int8.$fmt" --data demo68 --split $split --json --out "$run/eval_$fmt" \
      | python3 -c "import json, sys; d = json.load(sys.stdin); print(f\"NME {d['nme']:.4f}\")"
  done
done
sha256sum "$dest"/demo68_mobilenetv2_56_int8.*
