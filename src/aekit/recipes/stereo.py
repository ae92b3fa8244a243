"""``stereo-depth``: monocular disparity/depth learned from rectified stereo pairs without depth labels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from aekit.config import option, override
from aekit.data import DataModule, open_data
from aekit.data.base import DataError
from aekit.data.images import parse_size
from aekit.losses import STEREO_LOSS_PRESETS
from aekit.recipes.base import TrainRecipe, register_recipe
from aekit.tasks.stereo_depth import StereoDepthTask

DATA, MODEL = "data", "model and loss"


@register_recipe
@dataclass(kw_only=True)
class StereoDepth(TrainRecipe):
    """Monocular disparity/depth learned from rectified stereo pairs, no depth labels (Garg et al. 2016);
    ``aekit train stereo-depth``."""

    name: ClassVar[str] = "stereo-depth"
    help: ClassVar[str] = (
        "monocular disparity/depth learned from rectified stereo pairs, no depth labels (Garg et al. 2016)"
    )

    epochs: int = override(50)  # few, large pairs: small batches and many epochs
    batch_size: int = override(8)
    val_fraction: float | None = override(0.1)
    data: str = option("synthetic-stereo:256", help="stereo:FOLDER (left/right, im0/im1 or KITTI "
                       "image_02/image_03 pairs) or synthetic-stereo:N", group=DATA)  # fmt: skip
    image_size: str | None = option(None, help="resize every pair to H,W (disparities rescaled)", group=DATA)
    crop: str | None = option(None, help="random training crop H,W (same place in both views)", group=DATA)
    exclude: str | None = option(None, help="comma-separated scene names to leave out (e.g. Teddy)", group=DATA)
    flip: bool = option(True, help="paired horizontal flip (swap + mirror)", negate="--no-flip", group=DATA)
    jitter: float = option(0.1, help="colour jitter strength, identical on both views", group=DATA)
    focal: float | None = option(None, help="focal length in pixels (overrides calib.txt)", group=DATA)
    baseline: float | None = option(None, help="stereo baseline (depth comes out in its unit)", group=DATA)
    doffs: float | None = option(None, help="principal-point x offset between views (pixels)", group=DATA)
    widths: list[int] = option([32, 64, 128, 256, 256], help="encoder channels per stage", group=MODEL)
    blocks: int = option(2, help="conv blocks per stage", group=MODEL)
    upsample: str = option("bilinear", help="nearest, bilinear, bicubic, fixed_unpool, transposed, ...", group=MODEL)
    downsample: str = option("stride", help="stride, maxpool or avgpool", group=MODEL)
    norm: str = option("batch", help="batch, group, instance or none", group=MODEL)
    act: str = option("elu", help="relu, elu, ...", group=MODEL)
    max_disp: float = option(0.3, help="largest disparity, as a fraction of the width", group=MODEL)
    scales: int | None = option(None, help="output scales used by the loss (preset default)", group=MODEL)
    loss: str = option("ssim_l1", help="loss preset", choices=sorted(STEREO_LOSS_PRESETS), group=MODEL)
    photometric: str | None = option(None, help="override the preset's photometric term",
                                     choices=["l1", "l2", "ssim_l1"], group=MODEL)  # fmt: skip
    smoothness: float | None = option(None, help="smoothness weight (override the preset)", group=MODEL)
    lr_consistency: float | None = option(None, help="left-right consistency weight", group=MODEL)

    def build(self) -> tuple[StereoDepthTask, DataModule]:
        splits = open_data(self.data, image_size=self.image_size, crop=self.crop, exclude=self.exclude,
                           flip=self.flip, jitter=self.jitter, focal=self.focal, baseline=self.baseline,
                           doffs=self.doffs, **self.split_options())  # fmt: skip
        if splits.train is None or len(splits.train) == 0:
            raise DataError(f"--data {self.data} has no training pairs")
        size = [int(s) for s in splits.info["image_size"]]
        scales = self.scales if self.scales is not None else STEREO_LOSS_PRESETS[self.loss].scales
        task = StereoDepthTask(
            model="disparity_unet",
            model_kwargs={"widths": list(self.widths), "blocks_per_stage": self.blocks, "upsample": self.upsample,
                          "downsample": self.downsample, "norm": self.norm, "act": self.act,
                          "max_disparity": self.max_disp,
                          "num_scales": max(1, min(scales, len(self.widths) - 1))},  # fmt: skip
            loss=self.loss,
            photometric=self.photometric,
            smoothness=self.smoothness,
            lr_consistency=self.lr_consistency,
            scales=self.scales,
            metadata={
                "data": splits.info.get("source", self.data),
                "data_kind": self.data.partition(":")[0],
                "image_size": size,
                "infer_width": size[1],
                "width_scale": (parse_size(self.crop)[1] / size[1]) if self.crop else 1.0,
                "seed": self.seed,
                "disparity_unit": "fraction_of_width",
                "calibration": splits.info.get("calibration"),
                "pairs": splits.info.get("pairs"),
            },
            **self.optim(1e-3),
        )
        return task, self.datamodule(splits)
