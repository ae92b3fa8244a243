"""Depth from focus: a focal stack in, a depth map out (Hazirbas et al., "Deep Depth From Focus", ACCV 2018).

Batches hold ``image`` (N, S*C, H, W, the slices stacked), ``target`` (N, 1, H, W depth), ``valid`` and
``focus`` (N, S, the focus positions). The model predicts the normalised focus position (0 = first slice,
1 = last); the loss compares it with the ground truth's position in the same units (so scenes of any depth
range weigh the same), the metrics compare depth (positions mapped through the stack's focus values).
:func:`score_scene` scores the network beside the classical focus-measure argmax and a constant, with the
same post-processing, for the evaluator and the benchmark.
"""

from __future__ import annotations

from typing import Any

import torch

from aekit.data.focalstack import depth_to_position, position_to_depth
from aekit.losses import masked_l1, masked_l2
from aekit.metrics import FOCUS_METRICS, focus_depth_scores
from aekit.models.focus import focus_measure_position, median_filter
from aekit.tasks.base import Task, register_task

FOCUS_LOSSES = ("l1", "l2")


@register_task
class FocusDepthTask(Task):
    """Focal stack -> depth, trained on the focus-position error over pixels with ground truth."""

    task_name = "focus_depth"

    def __init__(
        self,
        model: str = "ddff",
        model_kwargs: dict[str, Any] | None = None,
        loss: str = "l1",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        optimizer: str = "adamw",
        scheduler: str = "onecycle",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(model, model_kwargs, lr, weight_decay, optimizer, scheduler, metadata)
        self.save_hyperparameters()
        if loss not in FOCUS_LOSSES:
            raise ValueError(f"unknown focus-depth loss {loss!r}; choose one of {', '.join(FOCUS_LOSSES)}")
        self.loss_fn = masked_l1 if loss == "l1" else masked_l2

    def step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        x, depth, valid, focus = batch["image"], batch["target"], batch["valid"] > 0, batch["focus"]
        pos = self.model(x).float()
        loss = self.loss_fn(pos, depth_to_position(depth.float(), focus.float()), valid)
        self.log_loss(stage, loss, x.shape[0])
        if stage != "train":
            err = (position_to_depth(pos, focus.float()) - depth.float())[valid]
            self.log(f"{stage}/rmse", err.pow(2).mean().sqrt() if err.numel() else torch.tensor(0.0),
                     on_epoch=True, batch_size=x.shape[0], sync_dist=True)  # fmt: skip
        return loss


def predict_positions(
    model: torch.nn.Module, item: dict[str, torch.Tensor], window: int = 9
) -> dict[str, torch.Tensor]:
    """Normalised focus positions (1, H, W) of one whole scene: ``network``, ``focus_measure`` (the classical
    argmax over the stack) and ``constant`` (the middle of the sweep: what knowing only the sweep gives)."""
    x = item["image"][None]
    slices = int(item["focus"].shape[-1])
    with torch.no_grad():
        net = model(x).float()[0]
    fm = focus_measure_position(x, slices, window)[0]
    return {"network": net, "focus_measure": fm, "constant": torch.full_like(fm, 0.5)}


def score_scene(
    model: torch.nn.Module, item: dict[str, torch.Tensor], postprocess: int = 0, window: int = 9
) -> tuple[dict[str, dict[str, float]], dict[str, torch.Tensor]]:
    """Every method's DDFF metrics on one scene (depth units of its ground truth) and its depth map (H, W).

    ``postprocess``: the same median filter (size, 0 = none) for the network and the focus measure. Bumpiness
    takes the error in units of the sweep's range (last focus - first), so its 0.05 clip means one twentieth of
    the range on every scene."""
    focus = item["focus"][None].float()
    unit = float(focus[0, -1] - focus[0, 0])
    scores, maps = {}, {}
    for name, pos in predict_positions(model, item, window).items():
        if name != "constant":
            pos = median_filter(pos[None], postprocess)[0]
        depth = position_to_depth(pos[None], focus)[0, 0]
        maps[name] = depth
        scores[name] = focus_depth_scores(depth, item["target"][0], item["valid"][0] > 0, unit)
    return scores, maps


__all__ = ["FOCUS_METRICS", "FocusDepthTask", "predict_positions", "score_scene"]
