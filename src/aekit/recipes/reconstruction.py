"""``ae``: a convolutional autoencoder with a bottleneck z, trained to reconstruct its input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from aekit.config import option
from aekit.data import DataModule
from aekit.data.options import ImageFields, MnistTestFields, image_shape, open_images
from aekit.recipes.base import TrainRecipe, register_recipe
from aekit.tasks import ReconstructionTask

DATA, MODEL = "data", "model"


@dataclass(kw_only=True)
class ImageDataFields(ImageFields, MnistTestFields):
    """Unlabeled (or labelled) images for the autoencoder."""

    data: str = option("mnist5k", help="mnist5k (embedded), mnist:FOLDER (IDX), folder:PATH (images), npy:FILE, "
                       "dicom:FOLDER, nifti:PATH, image16:FOLDER", group=DATA)  # fmt: skip


@register_recipe
@dataclass(kw_only=True)
class Autoencoder(ImageDataFields, TrainRecipe):
    """Convolutional autoencoder with a bottleneck z (reconstruction); ``aekit train ae``."""

    name: ClassVar[str] = "ae"
    help: ClassVar[str] = "convolutional autoencoder with a bottleneck z (reconstruction)"

    latent_dim: int = option(32, help="size of the code z", group=MODEL)
    widths: list[int] = option([32, 64, 128], help="channels per encoder stage, e.g. 32,64,128", group=MODEL)
    blocks: int = option(1, help="conv blocks per stage", group=MODEL)
    residual_blocks: int = option(0, help="residual blocks added to every encoder and decoder stage", group=MODEL)
    upsample: str = option("transposed", help="nearest, bilinear, bicubic, fixed_unpool or transposed", group=MODEL)
    downsample: str = option("stride", help="stride, maxpool or avgpool", group=MODEL)
    norm: str = option("batch", help="batch, group, instance or none", group=MODEL)
    act: str = option("relu", help="relu, leaky_relu, elu, gelu, silu", group=MODEL)
    loss: str = option("l2", help="l2, l1 or bce", group=MODEL)
    input_noise: float = option(0.0, help="denoising: Gaussian noise std on inputs", group=MODEL)
    mask_ratio: float = option(0.0, help="masked AE: fraction of input pixels zeroed", group=MODEL)

    def model_kwargs(self, channels: int, size: list[int]) -> dict[str, Any]:
        return {"in_channels": channels, "image_size": size, "latent_dim": self.latent_dim,
                "widths": list(self.widths), "blocks_per_stage": self.blocks, "upsample": self.upsample,
                "downsample": self.downsample, "norm": self.norm, "act": self.act,
                "residual_blocks": self.residual_blocks}  # fmt: skip

    def build(self) -> tuple[ReconstructionTask, DataModule]:
        splits = open_images(self)
        channels, size = image_shape(splits)
        task = ReconstructionTask(
            model="autoencoder",
            model_kwargs=self.model_kwargs(channels, size),
            loss=self.loss,
            input_noise=self.input_noise,
            mask_ratio=self.mask_ratio,
            metadata={"data": splits.info.get("source", self.data), "channels": channels, "image_size": size},
            **self.optim(3e-3),
        )
        return task, self.datamodule(splits)
