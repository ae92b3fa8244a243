"""Metrics against values computed by hand: segmentation with an ignore index and an absent class, macro-F1 and
AUC, and SR/depth metrics accumulated over several batches (a mean over images, not over batches)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from aekit.metrics import DepthMetrics, SRMetrics, sr_scores
from aekit.tasks.classification import classification_scores
from aekit.tasks.segmentation import evaluate_dataset, segmentation_metrics

# 4 classes (3 never occurs, in targets or predictions), ignore index 4; two images of 6 pixels
TARGETS = [torch.tensor([[0, 0, 1, 1, 4, 2]]), torch.tensor([[2, 2, 0, 4, 1, 1]])]
PREDS = [torch.tensor([[0, 1, 1, 1, 0, 2]]), torch.tensor([[2, 0, 0, 2, 1, 2]])]
# by hand over the 10 non-ignored pixels: 7 correct; class 0: TP 2 FP 1 FN 1, class 1: TP 3 FP 1 FN 1,
# class 2: TP 2 FP 1 FN 1; recall 2/3, 3/4, 2/3; IoU 2/4, 3/5, 2/4; class 3 left out of the averages
GLOBAL, CLASS_ACC, MIOU = 7 / 10, (2 / 3 + 3 / 4 + 2 / 3) / 3, (0.5 + 0.6 + 0.5) / 3


def test_segmentation_metrics_with_ignore_index_and_an_absent_class_across_batches() -> None:
    metrics = segmentation_metrics(4, 4)
    for pred, target in zip(PREDS, TARGETS):  # one image per batch: the state must accumulate
        metrics.update(pred, target)
    got = {k: float(v) for k, v in metrics.compute().items()}
    assert got == pytest.approx({"global_acc": GLOBAL, "class_acc": CLASS_ACC, "miou": MIOU}, abs=1e-6)


def test_evaluate_dataset_reports_the_hand_computed_values_and_no_iou_for_an_absent_class() -> None:
    dataset = [{"image": torch.tensor([float(i)]), "mask": t[0]} for i, t in enumerate(TARGETS)]
    task = SimpleNamespace(
        hparams=SimpleNamespace(num_classes=4, ignore_index=4),
        metadata={"class_names": ["a", "b", "c", "d"]},
        eval=lambda: None,
        predict_labels=lambda x: torch.stack([PREDS[int(i)][0] for i in x[:, 0]]),
    )
    r = evaluate_dataset(task, dataset, batch_size=1)
    assert r["global_acc"] == pytest.approx(GLOBAL) and r["class_acc"] == pytest.approx(CLASS_ACC)
    assert r["miou"] == pytest.approx(MIOU)
    assert r["per_class_iou"] == pytest.approx({"a": 0.5, "b": 0.6, "c": 0.5, "d": None})
    assert r["images"] == 2


def test_macro_f1_and_accuracy_by_hand() -> None:
    labels = [0, 0, 1, 1, 2, 2]
    predicted = [0, 1, 1, 1, 2, 0]
    probs = torch.nn.functional.one_hot(torch.tensor(predicted), 3).float() * 0.8 + 0.2 / 3
    s = classification_scores(probs.numpy(), labels, 3)
    # F1 per class: 2*1/(2+1+1) = 0.5, 2*2/(4+1) = 0.8, 2*1/(2+1) = 2/3
    assert s["accuracy"] == pytest.approx(4 / 6)
    assert s["macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3, abs=1e-6)
    assert "auc" not in s


def test_binary_auc_by_hand() -> None:
    p1 = torch.tensor([0.1, 0.4, 0.35, 0.8])
    s = classification_scores(torch.stack([1 - p1, p1], 1).numpy(), [0, 0, 1, 1], 2)
    # positive/negative pairs ranked right: (0.35 > 0.1), (0.8 > 0.1), (0.8 > 0.4); wrong: (0.35 < 0.4)
    assert s["auc"] == pytest.approx(3 / 4)
    assert s["accuracy"] == pytest.approx(3 / 4)  # threshold 0.5: 0.35 is the one miss


def test_depth_metrics_are_a_mean_over_images_across_batches() -> None:
    a_gt, a_pred = torch.full((1, 1, 4, 4), 2.0), torch.full((1, 1, 4, 4), 2.2)  # abs_rel 0.1, rmse 0.2
    b_gt, b_pred = torch.full((1, 1, 4, 4), 4.0), torch.full((1, 1, 4, 4), 3.0)  # abs_rel 0.25, rmse 1.0
    c_gt = torch.ones(1, 1, 4, 4)
    c_gt[..., :2] = 0.0  # half the pixels without ground truth: not counted
    c_pred = torch.full((1, 1, 4, 4), 1.5)
    c_pred[..., :2] = 100.0  # (would dominate if invalid pixels counted)
    m = DepthMetrics()
    m.update(a_pred, a_gt)
    m.update(torch.cat([b_pred, c_pred]), torch.cat([b_gt, c_gt]))
    got = {k: float(v) for k, v in m.compute().items()}
    assert got["abs_rel"] == pytest.approx((0.1 + 0.25 + 0.5) / 3, abs=1e-6)  # not (0.1 + 0.375) / 2 per batch
    assert got["rmse"] == pytest.approx((0.2 + 1.0 + 0.5) / 3, abs=1e-6)
    assert got["delta1"] == pytest.approx(1 / 3, abs=1e-6)  # ratios 1.1 / 1.33 / 1.5 against 1.25


def test_sr_metrics_are_a_mean_over_images_across_batches() -> None:
    g = torch.Generator().manual_seed(0)
    hr = torch.rand(3, 3, 20, 20, generator=g)
    sr = (hr + torch.tensor([0.01, 0.05, 0.2]).view(3, 1, 1, 1) * torch.randn(3, 3, 20, 20, generator=g)).clamp(0, 1)
    m = SRMetrics(scale=2)
    m.update(sr[:1], hr[:1])
    m.update(sr[1:], hr[1:])
    got = m.compute()
    per_image = sr_scores(sr, hr, 2)  # per-image PSNR/SSIM (hand-checked in test_image_to_image)
    assert float(got["psnr_y"]) == pytest.approx(sum(per_image["psnr"]) / 3, abs=1e-4)
    assert float(got["ssim_y"]) == pytest.approx(sum(per_image["ssim"]) / 3, abs=1e-5)
    first, rest = sr_scores(sr[:1], hr[:1], 2)["psnr"][0], sum(per_image["psnr"][1:]) / 2
    assert abs(float(got["psnr_y"]) - (first + rest) / 2) > 0.1  # a mean of batch means would differ
