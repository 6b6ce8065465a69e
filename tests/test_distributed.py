"""torch.distributed on the CPU (gloo), as CI can run it: DDP runs of the real trainer, started by torchrun."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from edge_landmarks.cli import main
from edge_landmarks.models import create_model
from edge_landmarks.training import load_checkpoint
from edge_landmarks.training.launch import torchrun_command

STEP = Path(__file__).with_name("ddp_step.py")


def _torchrun(args: list[str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", *args]
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, res.stderr[-3000:]
    return res


def _max_diff(a: dict, b: dict, keys) -> float:
    return max((a[k].double() - b[k].double()).abs().max().item() for k in keys)


@pytest.mark.slow
def test_one_sync_bn_step_on_two_processes_equals_one_step_on_the_whole_batch(demo68, tmp_path):
    subprocess.run([sys.executable, str(STEP), str(tmp_path / "one.pt"), str(demo68)], check=True, timeout=120)
    _torchrun([str(STEP), str(tmp_path / "sync.pt"), str(demo68), "--sync-bn"], tmp_path)
    _torchrun([str(STEP), str(tmp_path / "plain.pt"), str(demo68)], tmp_path)
    one, sync, plain = (torch.load(tmp_path / f"{n}.pt", weights_only=True) for n in ("one", "sync", "plain"))
    model = create_model("mobilenetv2", input_size=56)
    params = [k for k, _ in model.named_parameters()]
    stats = [k for k in one if k.endswith(("running_mean", "running_var"))]
    torch.manual_seed(0)
    start = create_model("mobilenetv2", input_size=56).state_dict()
    assert _max_diff(one, start, params) > 5e-5  # the step moved the weights
    assert _max_diff(one, sync, params) < 1e-5
    assert all(torch.allclose(one[k], sync[k], rtol=1e-4, atol=1e-6) for k in stats)
    # without --sync-bn each process normalises its half of the batch: the check above can tell the difference
    assert _max_diff(one, plain, params) > 1e-5
    assert not all(torch.allclose(one[k], plain[k], rtol=1e-4, atol=1e-6) for k in stats)


@pytest.mark.slow
def test_ddp_run_of_the_demo_recipe_writes_one_run_that_evaluates_and_resumes(cache_env, tmp_path):
    out = tmp_path / "ddp"
    # four batches an epoch (each process's share of them): the processes, their one writer and the resume are under
    # test here, not what the recipe learns
    res = CliRunner().invoke(main, ["train", "demo", "--epochs", "2", "--out", str(out), "--nproc", "2",
                                    "--sync-bn", "--threads", "1", "--max-batches", "4"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == ["best.pt", "last.pt", "metrics.csv"]
    assert len((out / "metrics.csv").read_text().splitlines()) == 3  # one writer: a header and two epochs
    model, ckpt = load_checkpoint(out / "best.pt")
    assert ckpt["trained_on"]["world_size"] == 2 and all(v.device.type == "cpu" for v in ckpt["state_dict"].values())
    assert 0 < ckpt["metrics"]["val"]["nme"] < 1
    ev = CliRunner().invoke(main, ["eval", str(out / "best.pt"), "--data", "demo68", "--split", "test", "--json",
                                   "--out", str(tmp_path / "ev")])
    assert ev.exit_code == 0, ev.output
    # --resume with another world size: one process continues the two-process run
    res = CliRunner().invoke(main, ["train", "demo", "--epochs", "3", "--out", str(out), "--resume", "--threads", "2",
                                    "--max-batches", "4"])
    assert res.exit_code == 0, res.output
    assert [r.split(",")[0] for r in (out / "metrics.csv").read_text().splitlines()[1:]] == ["1", "2", "3"]


def test_nproc_hands_the_same_command_to_torchrun():
    cmd = torchrun_command(4, ["train", "demo", "--epochs", "2"])
    assert cmd[1:6] == ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node=4", "-m"]
    assert cmd[6:] == ["edge_landmarks", "train", "demo", "--epochs", "2"]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_nodes_of_one_process_each_end_in_the_checkpoint_of_one_node(cache_env, tmp_path):
    """A cluster as torchrun runs one: an agent per node (here two on this host, one process each), c10d rendezvous
    on 127.0.0.1; the run ends in the same checkpoint files as one node with two processes."""
    job = ["-m", "edge_landmarks", "train", "demo", "--epochs", "1", "--threads", "1", "--max-batches", "6"]
    _torchrun([*job, "--out", str(tmp_path / "one")], tmp_path)
    port = _free_port()
    agents = [subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", "--nnodes=2", "--nproc-per-node=1", "--rdzv-backend=c10d",
         f"--rdzv-endpoint=127.0.0.1:{port}", "--rdzv-id=two-nodes", f"--rdzv-conf=is_host={int(node == 0)}",
         "--max-restarts=0", *job, "--out", str(tmp_path / "two")],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for node in (0, 1)]
    outputs = [a.communicate(timeout=300) for a in agents]
    assert [a.returncode for a in agents] == [0, 0], "\n".join(err[-2000:] for _, err in outputs)
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["best.pt", "last.pt", "metrics.csv"]
    for name in ("best.pt", "last.pt"):
        (_, one), (_, two) = load_checkpoint(tmp_path / "one" / name), load_checkpoint(tmp_path / "two" / name)
        assert two["trained_on"]["world_size"] == 2 and one["epoch"] == two["epoch"] == 1
        assert _max_diff(one["state_dict"], two["state_dict"], one["state_dict"]) < 1e-6
        assert one["best_nme"] == pytest.approx(two["best_nme"], rel=1e-6)

    def metrics(run: str) -> list[dict]:  # every column but the wall time
        import csv

        with open(tmp_path / run / "metrics.csv") as f:
            return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]

    assert metrics("one") == metrics("two")
