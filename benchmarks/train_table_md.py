"""Turn runs/table/table.tsv (from train_table.sh) into the Markdown table of train/README.md.

Usage: python benchmarks/train_table_md.py runs/table/table.tsv
"""

from __future__ import annotations

import csv
import sys

from edge_landmarks.training import load_recipe


def seed_column(ref: dict) -> str:
    """The seed's published result, from a recipe's ``seed_reference``, in one short cell."""
    if not ref:
        return "-"
    pub = ref.get("published_nme_percent")
    if pub:
        extra = " (its ExternalData row)" if "ExternalData" in ref.get("row", "") else ""
        return f"{ref.get('dataset', '')} ION NME % {pub['common']} / {pub['challenge']} / {pub['full']}{extra}"
    if "baseline" in ref:
        b = ref["baseline"]
        return f"WFLW NME {b['nme_percent']} %, FR {b['fr_percent']} %, AUC {b['auc']}"
    if "kaggle_test_rmse" in ref:
        return f"Kaggle RMSE px: validation {ref['validation_rmse']}, test {ref['kaggle_test_rmse']}"
    return f"{ref.get('dataset', '-')}: no number published"


def main(path: str) -> None:
    rows = list(csv.DictReader(open(path), delimiter="\t"))
    print("| recipe | model | epochs | train time (s) | test NME (io) | FR@0.08 | AUC@0.08 | seed's published result |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        cfg = load_recipe(r["recipe"])
        print(f"| {r['recipe']} | {cfg.model} | {r['epochs']} | {r['seconds']} | {r['test_nme']} | {r['test_fr08']} | "
              f"{r['test_auc08']} | {seed_column(cfg.seed_reference)} |")


if __name__ == "__main__":
    main(sys.argv[1])
