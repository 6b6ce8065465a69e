"""``edge-lmk train --nproc N``: start torchrun with N processes running the same command (no home-made launcher)."""

from __future__ import annotations

import os
import subprocess
import sys

__all__ = ["torchrun_command", "run_torchrun"]


def torchrun_command(nproc: int, args: list[str]) -> list[str]:
    """``python -m torch.distributed.run --standalone --nproc-per-node N -m edge_landmarks <args>``."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
            "-m", "edge_landmarks", *args]


def run_torchrun(nproc: int, args: list[str]) -> int:
    """Run torchrun in the foreground and return its exit code; Ctrl-C reaches every rank (same process group),
    each stops at the same step and rank 0's last.pt stays the resume point."""
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    proc = subprocess.Popen(torchrun_command(nproc, args), env=env)
    while True:
        try:
            return proc.wait()
        except KeyboardInterrupt:  # the ranks got the same SIGINT; wait for them to write and stop
            continue
