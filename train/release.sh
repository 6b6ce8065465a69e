#!/usr/bin/env bash
# Rebuild the landmark models shipped in edge_landmarks/runtime/models/landmarks/:
# - demo68_mobilenetv2_56_int8.* (the fast default: LandmarkPredictor() with no path, `edge-lmk demo`): the demo
#   recipe (edge_landmarks/recipes/demo.yaml, seed 0) on demo68 (builder version 5) on the CPU;
# - demo68_mobilenetv2_112_int8.* (the accurate one: `edge-lmk predict` with no --model, and `edge-lmk demo
#   --accurate`, with --flip): three fine-tunes of that checkpoint at 112 px (`demo --model-arg input_size=112
#   --epochs 40`, then the demo_112 recipe, then demo_112_ema: a lower rate and a moving average of the weights);
# each then INT8 ONNX and TFLite with min-max ranges, validated against PyTorch FP32 on demo68's validation people;
# then the test and test_wild NME of each file (the 112 px one also with --flip and through the detector).
#   bash train/release.sh [RUN_DIR]        (about an hour on a 2-core CPU, most of it the 112 px fine-tunes)
#   CHECKPOINT=tests/assets/demo68_mobilenetv2_56.pt CHECKPOINT_112=tests/assets/demo68_mobilenetv2_112.pt \
#     bash train/release.sh RUN_DIR
#       the shipped files again from the shipped checkpoints (after a change in the exporters): run from the
#       repository root, it makes them byte for byte on a machine of the release machine's instruction set (RELEASE_ISA
#       in tests/test_default_model.py, per size), which checks the SHA-256 of a rebuild, or the points where the
#       instruction set differs.
#       The sidecars name the checkpoint as given here, so give it relative to the repository: no machine path.
#   SIZES="56" ...   only these input sizes (default "56 112").
#   DEST=folder ...  writes the files there instead of into the package.
set -euo pipefail
run=${1:-runs/release}
lmk=${EDGE_LMK:-edge-lmk}
dest=${DEST:-edge_landmarks/runtime/models/landmarks}
sizes=${SIZES:-56 112}
$lmk data demo
mkdir -p "$dest"
ckpt56=${CHECKPOINT:-}
checkpoint_56() {  # the 56 px checkpoint: given, or trained once (both sizes start from it)
  if [ -z "$ckpt56" ]; then
    $lmk train demo --data demo68 --device cpu --workers 0 --threads 2 --out "$run/train"
    ckpt56="$run/train/best.pt"
  fi
}
for size in $sizes; do
  if [ "$size" = 56 ]; then
    checkpoint_56
    ckpt=$ckpt56
  else
    ckpt=${CHECKPOINT_112:-}
    if [ -z "$ckpt" ]; then
      checkpoint_56
      $lmk train demo --data demo68 --model-arg input_size=112 --init "$ckpt56" --epochs 40 --device cpu \
        --workers 0 --threads 2 --out "$run/train_112a"
      $lmk train demo_112 --data demo68 --init "$run/train_112a/best.pt" --device cpu --workers 0 --threads 2 \
        --out "$run/train_112"
      $lmk train demo_112_ema --data demo68 --init "$run/train_112/best.pt" --device cpu --workers 0 --threads 2 \
        --out "$run/train_112_ema"
      ckpt="$run/train_112_ema/best.pt"
    fi
  fi
  for fmt in onnx tflite; do
    $lmk quantize "$ckpt" --int8 --format $fmt --calib-data demo68 --out "$run/export_$size" --force
    cp "$run/export_$size/mobilenetv2_${size}_int8.$fmt" "$dest/demo68_mobilenetv2_${size}_int8.$fmt"
    cp "$run/export_$size/mobilenetv2_${size}_int8.$fmt.json" "$dest/demo68_mobilenetv2_${size}_int8.$fmt.json"
    for split in test test_wild; do
      printf '%s %s px %s: ' "$fmt" "$size" "$split"
      $lmk eval "$dest/demo68_mobilenetv2_${size}_int8.$fmt" --data demo68 --split $split --json \
        --out "$run/eval_${size}_$fmt" | python3 -c "import json, sys; d = json.load(sys.stdin); print(f\"NME {d['nme']:.4f}\")"
    done
    if [ "$size" = 112 ]; then
      printf '%s %s px test_wild through the detector, --flip: ' "$fmt" "$size"
      $lmk eval "$dest/demo68_mobilenetv2_${size}_int8.$fmt" --data demo68 --split test_wild --boxes detector --flip \
        --json --out "$run/eval_${size}_${fmt}_flip" | python3 -c "import json, sys; d = json.load(sys.stdin)
print(f\"NME {d['nme']:.4f}, large pose {d['splits']['test_wild/large pose']['nme']:.4f}\")"
    fi
  done
done
sha256sum "$dest"/demo68_mobilenetv2_*_int8.*
