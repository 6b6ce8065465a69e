#!/usr/bin/env bash
# Rebuild the default model shipped in edge_landmarks/runtime/models/landmarks/ (what LandmarkPredictor() with no
# path, `edge-lmk predict photo.jpg` and `edge-lmk demo --camera 0` use): the demo recipe (edge_landmarks/recipes/demo.yaml, seed 0)
# on demo68 (builder version 5) on the CPU, then INT8 ONNX and TFLite with min-max ranges, each validated against
# PyTorch FP32 on demo68's validation people; then the test and test_wild NME of each file.
#   bash train/release.sh [RUN_DIR]        (about 8 minutes on a 2-core CPU)
#   CHECKPOINT=tests/assets/demo68_mobilenetv2_56.pt bash train/release.sh RUN_DIR
#       the shipped files again from the shipped checkpoint (after a change in the exporters): run from the
#       repository root, it makes them byte for byte on a machine of the release machine's instruction set (x86 AVX2;
#       tests/test_default_model.py checks the SHA-256 of a rebuild, or the points where the instruction set differs).
#       The sidecars name the checkpoint as given here, so give it relative to the repository: no machine path.
#   DEST=folder ...  writes the files there instead of into the package.
set -euo pipefail
run=${1:-runs/release}
lmk=${EDGE_LMK:-edge-lmk}
dest=${DEST:-edge_landmarks/runtime/models/landmarks}
$lmk data demo
ckpt=${CHECKPOINT:-}
if [ -z "$ckpt" ]; then
  $lmk train demo --data demo68 --device cpu --workers 0 --threads 2 --out "$run/train"
  ckpt="$run/train/best.pt"
fi
mkdir -p "$dest"
for fmt in onnx tflite; do
  $lmk quantize "$ckpt" --int8 --format $fmt --calib-data demo68 --out "$run/export" --force
  cp "$run/export/mobilenetv2_56_int8.$fmt" "$dest/demo68_mobilenetv2_56_int8.$fmt"
  cp "$run/export/mobilenetv2_56_int8.$fmt.json" "$dest/demo68_mobilenetv2_56_int8.$fmt.json"
  for split in test test_wild; do
    printf '%s %s: ' "$fmt" "$split"
    $lmk eval "$dest/demo68_mobilenetv2_56_int8.$fmt" --data demo68 --split $split --json --out "$run/eval_$fmt" \
      | python3 -c "import json, sys; d = json.load(sys.stdin); print(f\"NME {d['nme']:.4f}\")"
  done
done
sha256sum "$dest"/demo68_mobilenetv2_56_int8.*
