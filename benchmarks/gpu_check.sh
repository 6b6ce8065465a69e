#!/usr/bin/env bash
# The one prepared GPU check (issue 12): run from the repository root on a GPU machine that may have no package
# registry and its own torch / torchvision. It uses the working tree through PYTHONPATH and a demo68 set built
# beforehand (copy ~/.cache/edge-landmarks/demo68 along and point EDGE_LMK_CACHE at its parent).
#   EDGE_LMK_CACHE=shared/cache bash benchmarks/gpu_check.sh OUT_DIR
# Writes into OUT_DIR: the CUDA tests' output, the demo recipe trained on CUDA with bf16 and its test NME, and the
# training-throughput table (off / bf16 / fp16, 0 / 4 / 8 workers), and every seed recipe for an epoch on its replica.
set -uo pipefail
out=${1:-gpu_check}
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
py=${PYTHON:-python3}
nvidia-smi > "$out/nvidia-smi.txt" 2>&1
$py -c "import torch, torchvision; print(torch.__version__, torchvision.__version__, torch.cuda.get_device_name(0))" \
  | tee "$out/versions.txt"
timeout 120 $py -m pytest -q -p no:cacheprovider -m cuda tests/test_training.py 2>&1 | tail -5 | tee "$out/cuda_tests.txt"
start=$(date +%s)
timeout 240 $py -m edge_landmarks train demo --data demo68 --device cuda --amp bf16 --workers 4 \
  --out "$out/demo_cuda_bf16" 2>&1 | tail -2 | tee "$out/demo_train.txt"
echo "wall seconds: $(( $(date +%s) - start ))" | tee -a "$out/demo_train.txt"
$py -m edge_landmarks eval "$out/demo_cuda_bf16/best.pt" --data demo68 --split test --json \
  --out "$out/demo_eval" > "$out/demo_eval.json" 2>&1
timeout 180 $py benchmarks/train_throughput.py --device cuda --amp off,bf16,fp16 --workers 0,4,8 --batches 30 \
  --json "$out/train_throughput_cuda.json" 2>&1 | tail -14 | tee "$out/train_throughput.md"
# Each seed's recipe for one epoch on its layout replica (tests/replicas.py), bf16, with images/s:
timeout 240 $py benchmarks/seed_recipes.py --device cuda --amp bf16 --json "$out/seed_recipes_cuda.json" 2>&1 \
  | tail -12 | tee "$out/seed_recipes.txt"
