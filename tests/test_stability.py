"""Jitter and lag (:mod:`edge_landmarks.stability`): clips whose frames move exactly with their truth, the measures
against values worked out by hand, the tracker's lead, and the numbers in ``edge-lmk eval --clips`` and the bench."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from edge_landmarks.cli import main
from edge_landmarks.data import load_dataset
from edge_landmarks.runtime.predictor import LandmarkPredictor, default_model
from edge_landmarks.stability import (
    FACE_SIDE,
    MOVING_FRAMES,
    SETTLE,
    STILL_FRAMES,
    clip_faces,
    lag_frames,
    make_clips,
    motion_px,
    nmf,
    run_clip,
    score_clip,
)


@pytest.fixture(scope="module")
def wild_faces(demo68):
    return list(load_dataset(str(demo68)).split("test_wild"))


def test_clip_frames_move_exactly_with_their_truth(wild_faces):
    face = clip_faces(wild_faces, 1)[0]
    clips = make_clips(face, seed=3)
    assert [c.name for c in clips] == ["still", "moving 1 px/frame", "moving 3 px/frame", "moving 6 px/frame"]
    again = make_clips(face, seed=3)
    assert all(np.array_equal(a, b) for c, d in zip(clips, again, strict=True)
               for a, b in zip(c.frames, d.frames, strict=True))  # seeded: the same frames, byte for byte
    box = clips[0].truth[0].max(axis=0) - clips[0].truth[0].min(axis=0)
    assert np.sqrt(box.prod()) == pytest.approx(FACE_SIDE, rel=0.005)  # (the resized photo has whole pixels)
    for clip in (clips[0], clips[-1]):
        grey = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY).astype(np.float32) for f in clip.frames]
        for i in (5, 17, 40):
            # frame 0 moved by the truth's shift matches frame i better than moved a third of a pixel off it
            shift = clip.truth[i].mean(axis=0) - clip.truth[0].mean(axis=0)
            x0, y0 = clip.truth[i].min(axis=0).astype(int)
            x1, y1 = clip.truth[i].max(axis=0).astype(int)

            def residual(off, grey=grey, i=i, shift=shift, box=(x0, y0, x1, y1)):
                m = np.float32([[1, 0, shift[0] + off[0]], [0, 1, shift[1] + off[1]]])
                moved = cv2.warpAffine(grey[0], m, grey[0].shape[::-1], flags=cv2.INTER_LINEAR)
                return float(np.mean((moved - grey[i])[box[1]:box[3], box[0]:box[2]] ** 2))

            at_truth = residual((0.0, 0.0))
            for off in ((0.33, 0), (-0.33, 0), (0, 0.33), (0, -0.33)):
                assert at_truth < residual(off), (clip.name, i, off)
    # the still clip shakes by a fraction of a pixel; the fast one travels
    step = np.linalg.norm(np.diff(clips[0].truth[:, 0], axis=0), axis=-1)
    assert np.sqrt(np.mean(step ** 2)) == pytest.approx(0.3 * 2, rel=0.25)  # N(0, 0.3) per axis, two frames apart
    assert np.ptp(clips[-1].truth[:, :, 0].mean(axis=1)) > 40


def test_measures_against_values_worked_out_by_hand():
    truth = np.zeros((3, 4, 2))
    truth[:, :, 0] = [0, 10, 0, 10]
    truth[:, :, 1] = [0, 0, 10, 10]  # a 10 x 10 box on every frame: d = 10
    pred = truth.copy()
    pred[1] += (1.0, 0.0)  # the error steps by 1 px and back
    assert nmf(pred, truth) == pytest.approx(100 * np.sqrt(1 / 100))
    assert nmf(truth + 3.0, truth) == 0.0  # a steady error is no flicker
    moving = truth + np.arange(3)[:, None, None] * np.array([3.0, 4.0])
    assert motion_px(moving) == pytest.approx(5.0)
    t = np.arange(60, dtype=np.float64)
    path = np.stack([40 * np.sin(t / 10), 12 * np.sin(t / 7)], axis=1)[:, None, :] + np.zeros((1, 5, 2))
    late = np.concatenate([np.repeat(path[:1], 2, axis=0), path[:-2]])  # the truth two frames late
    assert lag_frames(path, path) == 0.0 and lag_frames(late, path) == 2.0


def test_the_lead_takes_the_trackers_lag_out_on_a_moving_face(wild_faces):
    """The crop made from last frame's points trails a moving face (the model pulls towards the crop's centre);
    moving the box on by half the last step (``lead=0.5``) takes most of that lag out. One clip's lag is a few
    tenths of a frame either way (0 on some faces), so the lags of three faces at 3 and 6 px a frame are summed."""
    predictor = LandmarkPredictor(default_model("onnx"))
    clips = [c for face in clip_faces(wild_faces, 3) for c in make_clips(face, seed=0, speeds=(3.0, 6.0))[1:]]
    lag = {lead: sum(score_clip(run_clip(c, "tracker", predictor=predictor, lead=lead), c)["lag"] for c in clips)
           for lead in (0.0, 0.5)}
    assert lag[0.5] < lag[0.0] and lag[0.0] >= 1.0, lag


def test_eval_clips_reports_jitter_and_lag_per_mode(demo68, tmp_path):
    res = CliRunner().invoke(main, ["eval", str(default_model("onnx")), "--data", str(demo68), "--split",
                                    "test_wild", "--clips", "6", "--json", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    st = json.loads(res.output)["stability"]
    assert st["split"] == "test_wild" and len(st["faces"]) == 6 and set(st["modes"]) == {"model", "tracker", "demo"}
    model, tracker, demo = (st["modes"][m] for m in ("model", "tracker", "demo"))
    for m in (model, tracker, demo):
        assert m["clips"] == 24 and len(m["per_clip"]) == 24
    assert model["frames_without_face"] == 0 and demo["frames_without_face"] <= 3  # of 1,464 (a re-detection)
    assert model["lag_1px"] < 0.3  # the model alone has no memory: no lag beyond the measure's noise
    # the demo's default smoothing (chosen on these clips by benchmarks/smoothing.py) at least halves the still
    # face's trembling of the model alone, within a frame of lag on every moving clip (the mean over six faces; one
    # face alone varies by half a frame)
    assert demo["motion_px"] <= 0.5 * model["motion_px"], (demo["motion_px"], model["motion_px"])
    assert max(demo[f"lag_{v}px"] for v in (1, 3, 6)) <= 1.0, demo
    assert tracker["motion_px"] > model["motion_px"]  # the points fed back into the crop shake more
    assert sorted({r["frames"] for r in demo["per_clip"]}) == [STILL_FRAMES - SETTLE, MOVING_FRAMES - SETTLE]
    table = CliRunner().invoke(main, ["eval", str(default_model("onnx")), "--data", str(demo68), "--split",
                                      "test_wild", "--clips", "1", "--out", str(tmp_path / "again")])
    assert table.exit_code == 0, table.output
    assert "demo (tracker + smoothing)" in table.output and "NMF still %" in table.output


def test_bench_rows_carry_jitter_and_lag_as_eval_measures_them(demo68, tmp_path):
    """Every bench row gets the clips' measures from its own process, the same as ``eval --clips`` finds for the
    same file and faces; dlib's row too (its predictor driven by the same tracker), and it flickers more."""
    from edge_landmarks.bench import collect_targets, run_bench
    from edge_landmarks.evaluation import run_eval

    model = default_model("onnx")
    out = run_bench(collect_targets([model], references=False), data=str(demo68), split="test_wild", runs=3,
                    warmup=0, dlib=True, progress=False, clips=1)
    ours, dlib = out["rows"]
    assert ours["status"] == dlib["status"] == "ok" and out["settings"]["clip_faces"] == 1
    ev = run_eval(str(model), str(demo68), split="test_wild", out=tmp_path, worst=0, clips=1)["stability"]["modes"]
    assert ours["jitter_nmf"] == pytest.approx(ev["model"]["nmf_still"], rel=1e-3)
    assert ours["jitter_px"] == pytest.approx(ev["model"]["motion_px"], rel=1e-3)
    assert ours["demo_jitter_px"] == pytest.approx(ev["demo"]["motion_px"], rel=1e-3)
    assert ours["demo_lag"] == pytest.approx(ev["demo"]["lag_1px"], abs=0.05)
    assert dlib["jitter_nmf"] > ours["jitter_nmf"] > 0 and dlib["demo_jitter_px"] > 0  # dlib through our tracker
