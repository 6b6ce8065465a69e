#!/usr/bin/env bash
# Trains every recipe on demo68 for a CPU-sized number of epochs and evaluates it on the test split.
# Usage: bash benchmarks/train_table.sh OUTDIR   (writes OUTDIR/<recipe>/ and OUTDIR/table.tsv)
#        ONLY="kaggle_cnn1 xception_ffhq" bash benchmarks/train_table.sh OUTDIR   (just those rows)
# kaggle_resnet50 runs with --pretrained none here: its recipe's ImageNet start needs torchvision's cached file,
# which a machine without network does not have. mobilenetv2_menpo39_56 needs 39-point faces, which demo68 lacks.
set -u
out=${1:-runs/table}
mkdir -p "$out"
lmk=${LMK:-.venv/bin/edge-lmk}
printf "recipe\tepochs\tseconds\ttest_nme\ttest_fr08\ttest_auc08\n" > "$out/table.tsv"
while read -r recipe epochs extra; do
  [ -z "$recipe" ] && continue
  if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $recipe "* ]]; then continue; fi
  start=$(date +%s)
  # shellcheck disable=SC2086
  if $lmk train "$recipe" --data demo68 --epochs "$epochs" --out "$out/$recipe" --threads 2 $extra > "$out/$recipe.log" 2>&1; then
    secs=$(( $(date +%s) - start ))
    $lmk eval "$out/$recipe/best.pt" --data demo68 --split test --json --out "$out/$recipe/eval" > "$out/$recipe/eval.json" \
      && python3 -c "import json,sys; d=json.load(open('$out/$recipe/eval.json'))['splits']['test']; print('$recipe\t$epochs\t$secs\t%.4f\t%.3f\t%.3f' % (d['nme'], d['fr_08'], d['auc_08']))" >> "$out/table.tsv"
  else
    printf "%s\t%s\tfailed\t-\t-\t-\n" "$recipe" "$epochs" >> "$out/table.tsv"
  fi
done <<'LIST'
demo 100
kaggle_cnn1 40
kaggle_cnn2 20
mobilenetv2_300w_56 30
mobilenetv2_se_300w_56 30
resnet18_300w_56 15
mobilenetv2_300w_224 2
mobilenetv2_se_300w_224 2
resnet18_300w_224 2
resnet18_gray_300w 2
resnet18_gray_eyes_300w 2
kaggle_resnet50 2 --pretrained none
mobilenetv3_wflw 1 --model-arg scheme=ibug68
resnet18_256_wflw 1 --model-arg scheme=ibug68
xception_ffhq 1
LIST
