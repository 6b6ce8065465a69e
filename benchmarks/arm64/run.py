"""The Raspberry Pi path, run on ARM under emulation: the core install and the landmark models in aarch64 code.

No Pi is reachable from here, so this builds (once, cached) an arm64 Debian root with its own Python (Debian 12
"bookworm", the base of Raspberry Pi OS 12, Python 3.11), runs it on this x86 machine with qemu's user-mode
emulator, and inside it:

1. installs the project's **core** install from its wheel with the emulated pip (aarch64 wheels of numpy, OpenCV,
   onnxruntime, ai-edge-litert; no torch), as a Pi user's ``pip install edge_landmarks-*.whl`` would, and times it;
2. runs ``edge-lmk predict --crop --json`` with each artefact (default: the shipped INT8 ONNX and TFLite model;
   more with ``--artefact``) on fixed face crops: demo68's test and test_wild faces cropped as the model was trained;
3. runs the headless demo on a short video (``edge-lmk demo --video ... --headless --frames 50 --json``).

The same commands run on this machine's x86 install, and the points are compared per file (max and mean distance in
pixels of the crop) with the NME of both against the demo set's labels on the same faces. Emulated timings mean
nothing (qemu translates every instruction) and are not reported as speed.

The emulator: Debian 12's qemu 7.2 crashes (SIGSEGV) when onnxruntime >= 1.2x is imported, on every CPU model it
offers; Debian 13's qemu 10 runs it, so the script takes ``qemu-user`` from Debian 13 (one .deb, a static binary,
unpacked into the cache; nothing is installed on the host). ``--cpu cortex-a72`` is the Raspberry Pi 4's core (no
dot-product instructions), ``cortex-a76`` the Pi 5's (with them: other INT8 kernels).

Needs: debootstrap and apt-get (Debian's packages; ``apt-get install debootstrap``), the project's dev install in
``.venv`` for the x86 side and the demo set (``edge-lmk data demo``). Run from the repository root::

    .venv/bin/python benchmarks/arm64/run.py                       # Pi 4 and Pi 5 cores, shipped model
    .venv/bin/python benchmarks/arm64/run.py --cpu cortex-a72 --artefact runs/demo/export/mobilenetv2_56_fp32.onnx

Results: ``benchmarks/arm64/results/arm64.json`` and ``arm64.md`` (``--out`` to write elsewhere). Exit status 1 when
a file fails on ARM or differs by more than ``--tolerance`` pixels.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("EDGE_LMK_ARM64_CACHE", Path.home() / ".cache" / "edge-landmarks" / "arm64"))
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
QEMU_SUITE = "trixie"
CROP_SIZE = 112


def log(msg: str) -> None:
    print(f"[arm64 {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def sh(cmd: list, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


def need(tool: str, hint: str) -> None:
    if shutil.which(tool) is None:
        sys.exit(f"error: {tool} not found; {hint}")


def fetch_qemu() -> Path:
    """qemu-aarch64 10.x from Debian 13's ``qemu-user`` (a static binary), unpacked into the cache."""
    exe = CACHE / "qemu" / "usr" / "bin" / "qemu-aarch64"
    if exe.is_file():
        return exe
    need("apt-get", "the emulator is taken from Debian's packages")
    state = CACHE / "qemu-apt"
    (state / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (state / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    (state / "sources.list").write_text(f"deb [trusted=yes] {MIRROR} {QEMU_SUITE} main\n")
    opts = ["-o", f"Dir::Etc::SourceList={state / 'sources.list'}", "-o", "Dir::Etc::SourceParts=/dev/null",
            "-o", f"Dir::State::Lists={state / 'lists'}", "-o", f"Dir::Cache={state / 'cache'}",
            "-o", "APT::Sandbox::User=root", "-qq"]
    log(f"fetching qemu-user from Debian {QEMU_SUITE}")
    sh(["apt-get", *opts, "update"])
    sh(["apt-get", *opts, "download", "qemu-user"], cwd=state)
    deb = next(state.glob("qemu-user_*.deb"))
    sh(["dpkg-deb", "-x", deb, CACHE / "qemu"])
    deb.unlink()
    return exe


def build_root() -> Path:
    """An arm64 Debian root with python3 and venv: debootstrap's first stage, then every fetched .deb unpacked (the
    second stage would need binfmt_misc, which these machines do not mount)."""
    root = CACHE / f"root-{SUITE}"
    if (root / ".complete").is_file():
        return root
    need("debootstrap", "apt-get install debootstrap")
    tmp = CACHE / f"root-{SUITE}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    log(f"debootstrap arm64 {SUITE} (first stage, about 30 s)")
    sh(["debootstrap", "--arch=arm64", "--foreign", "--variant=minbase", "--include=python3,python3-venv", SUITE,
        tmp, MIRROR], stdout=subprocess.DEVNULL)
    for deb in sorted((tmp / "var" / "cache" / "apt" / "archives").glob("*.deb")):
        sh(["dpkg-deb", "-x", deb, tmp])
        deb.unlink()
    (tmp / ".complete").write_text(SUITE)
    shutil.rmtree(root, ignore_errors=True)
    tmp.rename(root)
    return root


class Arm:
    """Commands in the arm64 root through qemu (no binfmt_misc: the interpreter is named, never exec'd)."""

    def __init__(self, qemu: Path, root: Path, cpu: str):
        self.qemu, self.root, self.cpu = qemu, root, cpu
        self.venv = root / "opt" / "edge-lmk"

    def python(self, *args, venv: bool = True, **kw) -> subprocess.CompletedProcess:
        exe = self.venv / "bin" / "python3.11" if venv else self.root / "usr" / "bin" / "python3.11"
        return sh([self.qemu, "-cpu", self.cpu, "-L", self.root, exe, *args], **kw)

    def install(self, wheel: Path) -> float:
        """A fresh venv with the wheel's core install, by the emulated pip; returns the wall time."""
        shutil.rmtree(self.venv, ignore_errors=True)
        start = time.perf_counter()
        self.python("-m", "venv", "--without-pip", self.venv, venv=False)
        pip = next((self.root / "usr" / "share" / "python-wheels").glob("pip-*.whl")) / "pip"
        self.python(pip, "install", "-q", "--disable-pip-version-check", "--only-binary=:all:", wheel,
                    stderr=subprocess.DEVNULL)
        return time.perf_counter() - start

    def versions(self) -> dict:
        # AT_HWCAP (16) bit 20: the dot-product instructions (asimddp) the INT8 kernels use where present
        code = ("import json, platform, struct, numpy, cv2, onnxruntime, importlib.metadata as m; "
                "a = open('/proc/self/auxv', 'rb').read(); "
                "hw = dict(struct.iter_unpack('<QQ', a)).get(16, 0); "
                "print(json.dumps({'machine': platform.machine(), 'dotprod': bool(hw >> 20 & 1), "
                "'python': platform.python_version(), "
                "'numpy': numpy.__version__, 'opencv': cv2.__version__, 'onnxruntime': onnxruntime.__version__, "
                "'ai-edge-litert': m.version('ai-edge-litert')}))")
        return json.loads(self.python("-c", code, capture_output=True, text=True).stdout)

    def edge_lmk(self, *args) -> subprocess.CompletedProcess:
        return self.python("-m", "edge_landmarks", *args, capture_output=True, text=True)


def host_edge_lmk(*args) -> subprocess.CompletedProcess:
    return sh([sys.executable, "-m", "edge_landmarks", *args], capture_output=True, text=True)


def make_crops(out: Path, data: str) -> tuple[list[Path], np.ndarray, str]:
    """demo68's test and test_wild faces cropped as the shipped model was trained (its margin, around the labelled
    points), CROP_SIZE px; returns the files, the labels in crop pixels and the scheme."""
    import cv2

    from edge_landmarks.data import load_dataset
    from edge_landmarks.data.dataset import make_crop
    from edge_landmarks.runtime import LandmarkPredictor
    from edge_landmarks.runtime.predictor import default_model

    config = LandmarkPredictor(default_model()).config
    dataset = load_dataset(data)
    out.mkdir(parents=True, exist_ok=True)
    files, labels = [], []
    for split in ("test", "test_wild"):
        for k, sample in enumerate(dataset.split(split)):
            crop = make_crop(sample, sample.load_image(), CROP_SIZE, config.crop_margin, config.scheme)
            path = out / f"{split}_{k:03d}.png"
            cv2.imwrite(str(path), crop["image"])
            files.append(path)
            labels.append(crop["points"])
    return files, np.stack(labels), config.scheme


def points(result: dict) -> np.ndarray:
    return np.array([entry["faces"][0]["points"] for entry in result["images"]], dtype=np.float64)


def predict_args(artefact: Path, crops: list[Path]) -> list:
    return ["predict", artefact, *crops, "--crop", "--json"]


def demo_args(video: Path, artefact: Path) -> list:
    return ["demo", "--model", artefact, "--video", video, "--headless", "--frames", "50", "--json", "--no-smooth"]


DEMO_KEYS = ("frames", "faces", "detections", "checks", "reanchors")


def compare(artefact: Path, x86: np.ndarray, crops: list[Path], labels: np.ndarray, scheme: str, arm: Arm) -> dict:
    """The emulated run's points against the x86 run's (``x86``: the same command on this machine)."""
    from edge_landmarks.metrics import nme

    start = time.perf_counter()
    done = arm.edge_lmk(*predict_args(artefact, crops))
    wall = time.perf_counter() - start
    a64 = points(json.loads(done.stdout))
    dist = np.linalg.norm(a64 - x86, axis=-1)
    return {"file": artefact.name, "faces": len(crops), "max_px": float(dist.max()), "mean_px": float(dist.mean()),
            "nme_x86": float(np.nanmean(nme(x86, labels, scheme))),
            "nme_arm64": float(np.nanmean(nme(a64, labels, scheme))), "emulated_wall_s": round(wall, 1)}


def demo(x86: dict, video: Path, arm: Arm, artefact: Path) -> dict:
    a64 = json.loads(arm.edge_lmk(*demo_args(video, artefact)).stdout)
    return {"file": artefact.name, "x86": {k: x86.get(k) for k in DEMO_KEYS},
            "arm64": {k: a64.get(k) for k in DEMO_KEYS}}


def write_markdown(path: Path, result: dict) -> None:
    lines = [f"# aarch64 under emulation ({result['date']})", "",
             f"Host: {result['host']}; emulator: {result['qemu']}; Debian {SUITE} arm64 root.", "",
             "Points of the same crops on x86 and on aarch64 (pixels of the 112 px crop), and the NME of both "
             "against the demo set's labels:", "",
             "| CPU | file | faces | max px | mean px | NME x86 | NME aarch64 |", "|---|---|---|---|---|---|---|"]
    for run in result["runs"]:
        for r in run["predict"]:
            lines.append(f"| {run['cpu']} | {r['file']} | {r['faces']} | {r['max_px']:.4f} | {r['mean_px']:.4f} | "
                         f"{r['nme_x86']:.4f} | {r['nme_arm64']:.4f} |")
    lines += ["", "The core install by the emulated pip, and the headless demo (50 frames of `edge-lmk data video`, "
              "the shipped INT8 ONNX model, no smoothing): frames with a face / detector calls on whole frames / "
              "checks of the tracked region:", "",
              "| CPU | dot product | emulated core install (s) | versions on aarch64 | demo x86 | demo aarch64 |",
              "|---|---|---|---|---|---|"]
    for run in result["runs"]:
        v = run["versions"]
        vers = ", ".join(f"{k} {v[k]}" for k in ("python", "numpy", "opencv", "onnxruntime", "ai-edge-litert"))
        d = {k: "{faces}/{frames} / {detections} / {checks}".format(**run["demo"][k]) for k in ("x86", "arm64")}
        lines.append(f"| {run['cpu']} | {'yes' if v['dotprod'] else 'no'} | {run['install_s']:.0f} | {vers} | "
                     f"{d['x86']} | {d['arm64']} |")
    lines += ["", "Command: `" + result["command"] + "`", ""]
    path.write_text("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu", action="append", help="qemu CPU model (repeatable; default cortex-a72 and "
                        "cortex-a76: the Raspberry Pi 4's and 5's cores)")
    parser.add_argument("--artefact", action="append", type=Path, default=[], help="more .onnx / .tflite files")
    parser.add_argument("--data", default="demo68", help="landmark set whose test faces make the crops")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "arm64" / "results")
    parser.add_argument("--tolerance", type=float, default=0.5, help="max point difference in crop pixels")
    parser.add_argument("--faces", type=int, default=0, help="use only the first N crops (0: all)")
    args = parser.parse_args()
    os.environ["PATH"] = os.environ.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin"  # debootstrap's home
    if platform.machine() != "x86_64":
        sys.exit("error: run this on an x86_64 machine (it compares x86 with emulated aarch64)")
    from edge_landmarks.runtime.predictor import default_model

    shipped = Path(default_model())
    artefacts = [shipped, shipped.with_suffix(".tflite"), *[a.resolve() for a in args.artefact]]
    CACHE.mkdir(parents=True, exist_ok=True)
    work = CACHE / "work"
    shutil.rmtree(work, ignore_errors=True)
    qemu = fetch_qemu()
    root = build_root()
    log("building the project's wheel")
    sh([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", work / "dist", REPO],
       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wheel = next((work / "dist").glob("edge_landmarks-*.whl"))
    crops, labels, scheme = make_crops(work / "crops", args.data)
    if args.faces:
        crops, labels = crops[:args.faces], labels[:args.faces]
    video = work / "faces.mp4"
    host_edge_lmk("data", "video", "--out", video, "--frames", "60")

    qemu_version = subprocess.run([qemu, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    result = {"date": time.strftime("%Y-%m-%d"), "host": f"{platform.machine()} {platform.processor() or ''}".strip(),
              "qemu": qemu_version, "command": " ".join([Path(sys.executable).name, *sys.argv]), "runs": []}
    log("x86: predict with each file, and the headless demo")  # once: the same for every emulated core
    x86_points = {a: points(json.loads(host_edge_lmk(*predict_args(a, crops)).stdout)) for a in artefacts}
    x86_demo = json.loads(host_edge_lmk(*demo_args(video, shipped)).stdout)
    failures = []
    for cpu in args.cpu or ["cortex-a72", "cortex-a76"]:
        arm = Arm(qemu, root, cpu)
        log(f"{cpu}: emulated pip install of {wheel.name} (about a minute)")
        install_s = arm.install(wheel)
        run = {"cpu": cpu, "install_s": round(install_s, 1), "versions": arm.versions(), "predict": []}
        for artefact in artefacts:
            log(f"{cpu}: predict with {artefact.name} on {len(crops)} crops")
            r = compare(artefact, x86_points[artefact], crops, labels, scheme, arm)
            run["predict"].append(r)
            log(f"  max {r['max_px']:.4f} px, mean {r['mean_px']:.4f} px; NME x86 {r['nme_x86']:.4f}, "
                f"aarch64 {r['nme_arm64']:.4f}")
            if r["max_px"] > args.tolerance:
                failures.append(f"{cpu} {artefact.name}: max difference {r['max_px']:.3f} px")
        log(f"{cpu}: headless demo, 50 frames")
        run["demo"] = demo(x86_demo, video, arm, shipped)
        # frames and faces must agree; detector calls may not: the tracker feeds each frame's points into the next
        # frame's crop, so the few-hundredths-of-a-pixel kernel differences can move a drift check by a frame
        if any(run["demo"]["x86"][k] != run["demo"]["arm64"][k] for k in ("frames", "faces")):
            failures.append(f"{cpu} demo: {run['demo']}")
        result["runs"].append(run)
    result["failures"] = failures
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "arm64.json").write_text(json.dumps(result, indent=2) + "\n")
    write_markdown(args.out / "arm64.md", result)
    log(f"wrote {args.out / 'arm64.json'} and arm64.md")
    for f in failures:
        log(f"FAIL {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
