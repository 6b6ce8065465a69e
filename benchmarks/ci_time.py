"""What CI costs, measured: `.ci/run` on a fresh clone of this commit, timed per phase.

    python benchmarks/ci_time.py --out benchmarks/results/ci_time.json   # as long as CI: README.md's block

The clone is made from HEAD into a temporary folder (uncommitted changes are not in it, as on CI), and `.ci/run`
runs there as CI runs it: a new virtual environment, the dev install from scratch, ruff, then the README's test
command. The phases are read off the lines `.ci/run` prints before each (``== install``, ``== ruff``,
``== tests``); the test counts off pytest's last line. The whole log is kept beside the result (``.log``).

README.md's sentence on the suite's time is written from the result (``python benchmarks/docs_numbers.py``).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SUMMARY = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed|warnings?)")


def run_ci(log_path: Path) -> dict:
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="edge-lmk-ci-") as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
        phases, last_line = {}, ""
        t0 = time.perf_counter()
        with open(log_path, "w") as log:
            proc = subprocess.Popen(["bash", ".ci/run"], cwd=clone, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
            for line in proc.stdout:
                log.write(line)
                log.flush()
                if line.startswith("== "):
                    phases[line[3:].strip()] = time.perf_counter() - t0
                if line.strip():
                    last_line = line.strip()
            rc = proc.wait()
        total = time.perf_counter() - t0
    marks = sorted(phases.items(), key=lambda kv: kv[1]) + [("end", total)]
    seconds = {name: round(marks[i + 1][1] - at, 1) for i, (name, at) in enumerate(marks[:-1])}
    counts = {kind.rstrip("s") if kind.startswith(("error", "warning")) else kind: int(n)
              for n, kind in SUMMARY.findall(last_line)}
    return {"commit": commit, "returncode": rc, "seconds": {**seconds, "total": round(total, 1)},
            "tests": counts, "pytest_summary": last_line}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "ci_time.json"))
    args = ap.parse_args()
    from edge_landmarks.bench.environment import environment
    from edge_landmarks.files import atomic_write_json

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    machine = environment()
    result = {"command": "python benchmarks/ci_time.py", "machine": machine, **run_ci(out.with_suffix(".log"))}
    atomic_write_json(out, result)
    print(result["seconds"], result["pytest_summary"])
    sys.exit(result["returncode"])


if __name__ == "__main__":
    main()
