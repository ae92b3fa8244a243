"""Image-to-image regression recipes: ``sr`` (single-image super-resolution) and ``depth`` (supervised depth)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from aekit.config import option, override
from aekit.data import DataModule, open_data
from aekit.data.options import CROP_HELP
from aekit.recipes.base import TrainRecipe, register_recipe
from aekit.tasks import DepthTask, SuperResolutionTask

DATA, MODEL = "data", "model"


@register_recipe
@dataclass(kw_only=True)
class SuperResolution(TrainRecipe):
    """Single-image super-resolution from a folder of HR images; ``aekit train sr``."""

    name: ClassVar[str] = "sr"
    help: ClassVar[str] = "single-image super-resolution from a folder of HR images"

    val_fraction: float | None = override(0.1)
    data: str = option(help="hr:FOLDER of high-resolution images (e.g. hr:../shared/data/sr/T91)", group=DATA)
    scale: int = option(3, help="upscaling factor: 2, 3 or 4", group=DATA)
    patch_size: int = option(96, help="HR training patch side (rounded to the scale)", group=DATA)
    patches_per_image: int = option(16, help="random patches per image and epoch", group=DATA)
    channels: int = option(3, help="3 (RGB) or 1 (grayscale)", group=DATA)
    model: str = option("unet_sr", help="network", choices=["unet_sr", "srcnn"], group=MODEL)
    widths: list[int] | None = option(None, help="unet_sr: channels per stage (default 32,64,128)", group=MODEL)
    blocks: int | None = option(None, help="unet_sr: conv blocks per stage (default 2)", group=MODEL)
    upsample: str | None = option(None, help="unet_sr LR->HR mode: transposed (default), bicubic, bilinear, "
                                  "nearest, ...", group=MODEL)  # fmt: skip
    decoder_upsample: str | None = option(None, help="unet_sr decoder mode (max_unpool allowed)", group=MODEL)
    norm: str | None = option(None, help="unet_sr: none (default), batch, group, instance", group=MODEL)
    loss: str = option("l1", help="training loss", choices=["l1", "l2"], group=MODEL)

    def model_kwargs(self, channels: int) -> dict[str, Any]:
        kw: dict[str, Any] = {"in_channels": channels, "scale": self.scale}
        extra = {"widths": self.widths, "blocks_per_stage": self.blocks, "upsample": self.upsample,
                 "decoder_upsample": self.decoder_upsample, "norm": self.norm}  # fmt: skip
        if self.model == "unet_sr":
            kw.update({k: v for k, v in extra.items() if v is not None})
        elif any(v is not None for v in extra.values()):
            raise ValueError("--widths/--blocks/--upsample/--decoder-upsample/--norm apply to --model unet_sr only")
        return kw

    def build(self) -> tuple[SuperResolutionTask, DataModule]:
        splits = open_data(self.data, scale=self.scale, patch_size=self.patch_size,
                           patches_per_image=self.patches_per_image, channels=self.channels,
                           **self.split_options())  # fmt: skip
        channels = int(splits.info["channels"])
        task = SuperResolutionTask(
            model=self.model,
            model_kwargs=self.model_kwargs(channels),
            loss=self.loss,
            metadata={"data": splits.info.get("source", self.data), "channels": channels, "scale": self.scale,
                      "downscale": splits.info["downscale"], "seed": self.seed},  # fmt: skip
            **self.optim(1e-3),
        )
        return task, self.datamodule(splits)


@register_recipe
@dataclass(kw_only=True)
class Depth(TrainRecipe):
    """Supervised depth maps from image/depth folders; ``aekit train depth``."""

    name: ClassVar[str] = "depth"
    help: ClassVar[str] = "supervised depth maps from image/depth folders"

    data: str = option(help="depth:IMAGES,DEPTHS (two folders, files matched by name)", group=DATA)
    image_size: str | None = option(None, help="resize pairs to N or H,W (default: native sizes)", group=DATA)
    crop_size: str | None = option(None, help=CROP_HELP, group=DATA)
    depth_scale: float = option(1.0, help="PNG depth = value / depth-scale (1000: mm->m)", group=DATA)
    channels: int = option(3, help="image channels (1 or 3)", group=DATA)
    model: str = option("unet_depth", help="unet_depth (U-Net with a softplus output)", group=MODEL)
    widths: list[int] = option([32, 64, 128, 256], help="channels per encoder stage", group=MODEL)
    blocks: int = option(2, help="conv blocks per stage", group=MODEL)
    upsample: str = option("bilinear", help="decoder mode (max_unpool, transposed, ...)", group=MODEL)
    norm: str = option("batch", help="batch, group, instance or none", group=MODEL)
    loss: str = option("silog", help="silog: Eigen et al. 2014", choices=["silog", "l1"], group=MODEL)
    median_scaling: bool = option(False, help="validation metrics after median scaling", group=MODEL)

    def build(self) -> tuple[DepthTask, DataModule]:
        splits = open_data(self.data, image_size=self.image_size, channels=self.channels,
                           depth_scale=self.depth_scale, crop_size=self.crop_size, **self.split_options())  # fmt: skip
        channels = int(splits.info["channels"])
        task = DepthTask(
            model=self.model,
            model_kwargs={"in_channels": channels, "widths": list(self.widths), "blocks_per_stage": self.blocks,
                          "upsample": self.upsample, "norm": self.norm},  # fmt: skip
            loss=self.loss,
            median_scaling=self.median_scaling,
            metadata={"data": splits.info.get("source", self.data), "channels": channels,
                      "image_size": splits.info["image_size"] if self.image_size else None,
                      "depth_scale": self.depth_scale, "seed": self.seed},  # fmt: skip
            **self.optim(1e-3),
        )
        return task, self.datamodule(splits)
