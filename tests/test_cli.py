"""The CLI: every command registered with a teaching --help; missing inputs fail with usage; models lists the zoo."""

import pytest
from click.testing import CliRunner

from edge_landmarks.cli import main

COMMANDS = ["models", "data", "train", "eval", "export", "quantize", "bench", "predict", "demo"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_teaches_with_an_example(command):
    res = CliRunner().invoke(main, [command, "--help"])
    assert res.exit_code == 0
    if command != "data":
        assert "Example" in res.output and f"edge-lmk {command}" in res.output
    else:
        assert all(sub in res.output for sub in ("demo", "check", "show", "video"))


@pytest.mark.parametrize("command, args, needle", [
    ("bench", [], "name artefacts"),
    ("predict", [], "Missing argument '[MODEL] IMAGES...'"),
    ("predict", ["m.onnx"], "give one or more images after the model"),
])
def test_commands_without_their_inputs_say_what_is_missing(command, args, needle):
    res = CliRunner().invoke(main, [command, *args])
    assert res.exit_code == 2 and needle in res.output


def test_models_lists_every_model_with_params():
    res = CliRunner().invoke(main, ["models", "--no-macs"])
    assert res.exit_code == 0, res.output
    for needle in ("xception", "8,580,776", "mobilenetv2 @56", "resnet18_gray_eyes", "kaggle_resnet50",
                   "mobilenetv3_large", "resnet18_256", "11,246,280", "3,740,000"):
        assert needle in res.output
    lines = {line.split()[0]: line for line in res.output.splitlines() if line.strip() and "@" not in line}
    assert "11,372,062   11,372,062  exact" in lines["kaggle_cnn1"] and "exact" in lines["kaggle_cnn2"]
    assert "= with unused head (513,000)" in lines["resnet18"]
    assert "Also as menpo39 (--model-arg scheme=menpo39): mobilenetv2, mobilenetv2_se, resnet18" in res.output


def test_errors_are_one_clear_line(tmp_path):
    res = CliRunner().invoke(main, ["eval", str(tmp_path / "missing.pt")])
    assert res.exit_code == 1 and res.output.startswith("error: ") and "not found" in res.output
    res = CliRunner().invoke(main, ["train", "no_such_recipe"])
    assert res.exit_code == 1 and "shipped recipes: demo" in res.output
    res = CliRunner().invoke(main, ["train", "demo", "--model-arg", "oops"])
    assert res.exit_code == 2 and "KEY=VALUE" in res.output


def test_data_show_rejects_a_count_below_one(tmp_path):
    for n in ("0", "-5"):
        res = CliRunner().invoke(main, ["data", "show", "demo68", "--out", str(tmp_path / "g.png"), "-n", n])
        assert res.exit_code == 2 and "-n" in res.output and "range" in res.output, res.output
        assert not (tmp_path / "g.png").exists()


def test_models_pattern_wide_and_macs():
    res = CliRunner().invoke(main, ["models", "--pattern", "resnet18*", "--wide"])
    assert res.exit_code == 0, res.output
    rows = [line.split()[0] for line in res.output.splitlines()[2:] if line and not line.startswith(("Seed", " "))]
    assert {"resnet18", "resnet18_256", "resnet18_gray", "resnet18_gray_eyes"} <= set(rows)
    assert "xception" not in res.output and "mobilenetv2" not in res.output
    assert "source" in res.output.splitlines()[0] and "iBUG 300-W grey ResNet-18 project" in res.output
    row = next(line for line in res.output.splitlines() if line.startswith("resnet18 "))
    assert "1,814 M" in row  # MACs, counted without --no-macs: ResNet-18 at 224 px (1.8 G as torchvision's)


def test_version():
    res = CliRunner().invoke(main, ["--version"])
    assert res.exit_code == 0 and "0.1.0" in res.output
