"""Metrics against values worked out by hand."""

import numpy as np
import pytest

from edge_landmarks.metrics import auc, ced, failure_rate, nme, rmse, simpson, summarize


def _face(iod: float = 10.0) -> np.ndarray:
    gt = np.zeros((68, 2))
    gt[36:42] = (0.0, 0.0)
    gt[42:48] = (iod, 0.0)
    gt[36] = (0.0, 0.0)
    gt[45] = (iod, 0.0)
    return gt


def test_nme_interocular_by_hand():
    gt = _face(10.0)
    pred = gt.copy()
    pred[0] += (3.0, 4.0)  # one point off by 5 px: mean error 5/68, normalised by 10
    assert nme(pred[None], gt[None], "ibug68")[0] == pytest.approx(5 / 68 / 10)
    assert nme(gt[None] + (0.3, 0.4), gt[None], "ibug68")[0] == pytest.approx(0.05)


def test_nme_interpupil_and_box_by_hand():
    gt = np.zeros((98, 2))
    gt[96], gt[97] = (0, 0), (20, 0)
    gt[0], gt[1] = (0, -10), (40, 30)  # box 40 x 40 -> sqrt(w h) = 40
    pred = gt + (0.0, 2.0)
    assert nme(pred[None], gt[None], "wflw98", "interpupil")[0] == pytest.approx(0.1)
    assert nme(pred[None], gt[None], "wflw98", "box")[0] == pytest.approx(0.05)
    with pytest.raises(ValueError, match="normalisation"):
        nme(pred[None], gt[None], "wflw98", "eyes")


def test_nme_ignores_masked_points():
    gt = np.array([[[0.0, 0.0], [10.0, 0.0], [5.0, 5.0]] + [[np.nan, np.nan]] * 12])
    gt[0, 3], gt[0, 5] = (0.0, 0.0), (10.0, 0.0)  # kaggle15 outer corners 3 and 5
    pred = np.nan_to_num(gt) + 1.0
    vis = np.isfinite(gt).all(-1)
    assert vis.sum() == 5
    assert nme(pred, gt, "kaggle15")[0] == pytest.approx(np.sqrt(2) / 10)
    assert rmse(pred, gt) == pytest.approx(1.0)


def test_failure_rate_and_auc_by_hand():
    nmes = np.array([0.01, 0.03, 0.07, 0.2])
    assert failure_rate(nmes, 0.05) == 0.5 and failure_rate(nmes, 0.1) == 0.25
    x, y = ced(nmes, 0.1)
    assert len(x) == 1001 and y[0] == 0 and y[-1] == 0.75 and y[100] == 0.25  # x = 0.01 counts 0.01 (<=)
    # CED is a step function: area = sum over faces below t of (t - nme_i) / (N t)
    expected = ((0.1 - 0.01) + (0.1 - 0.03) + (0.1 - 0.07)) / 4 / 0.1
    # Simpson on a sampled step function: each of the 3 jumps may shift it by at most (4/3) step / (N t)
    assert auc(nmes, 0.1) == pytest.approx(expected, abs=3 * (4 / 3) * 1e-4 / (4 * 0.1))
    assert auc(np.zeros(5), 0.08) == pytest.approx(1.0)
    assert auc(np.full(5, 0.5), 0.08) == 0.0


def test_simpson_is_exact_for_cubics():
    x = np.linspace(0, 2, 11)
    assert simpson(x ** 3, 0.2) == pytest.approx(4.0)
    assert simpson(x[:10] ** 2, 0.2) == pytest.approx((1.8 ** 3) / 3, rel=1e-3)


def test_summarize_keys():
    gt = _face()[None].repeat(3, 0)
    out = summarize(gt + 0.1, gt, "ibug68")
    assert {"nme", "nme_interpupil", "nme_box", "rmse_px", "fr_05", "fr_08", "fr_10", "auc_08", "faces"} <= set(out)
