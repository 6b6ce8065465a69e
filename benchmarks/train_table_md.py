"""Turn runs/table/table.tsv (from train_table.sh) into the Markdown table of train/README.md.

Usage: python benchmarks/train_table_md.py runs/table/table.tsv
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def seed_column(recipe: str) -> str:
    ref = yaml.safe_load((ROOT / "train" / f"{recipe}.yaml").read_text()).get("seed_reference") or {}
    pub = ref.get("published_nme_percent")
    if pub:
        return "300W NME % common {common} / challenge {challenge} / full {full}".format(**pub)
    return f"{ref.get('dataset', '-')}: no NME published" if ref else "-"


def main(path: str) -> None:
    rows = list(csv.DictReader(open(path), delimiter="\t"))
    print("| recipe | model | epochs | train time (s) | test NME (io) | FR@0.08 | AUC@0.08 | seed's published result |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        model = yaml.safe_load((ROOT / "train" / f"{r['recipe']}.yaml").read_text())["model"]
        print(f"| {r['recipe']} | {model} | {r['epochs']} | {r['seconds']} | {r['test_nme']} | {r['test_fr08']} | "
              f"{r['test_auc08']} | {seed_column(r['recipe'])} |")


if __name__ == "__main__":
    main(sys.argv[1])
