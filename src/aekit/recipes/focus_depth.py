"""``aekit train focus-depth``: depth from a focal stack with a DDFFNet-style network (Hazirbas et al. 2018)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from aekit.config import option, override
from aekit.data import DataModule, open_data
from aekit.recipes.base import TrainRecipe, register_recipe
from aekit.tasks import FocusDepthTask

DATA, MODEL = "data", "model"


@register_recipe
@dataclass(kw_only=True)
class FocusDepth(TrainRecipe):
    """Depth from focus: focal stacks (real sweeps with focus.csv, or RGB-D scenes rendered with a thin lens)
    -> depth, each slice through one shared encoder-decoder whose skips concatenate; ``aekit train focus-depth``."""

    name: ClassVar[str] = "focus-depth"
    help: ClassVar[str] = "depth from a focal stack (DDFFNet-style; real sweeps or rendered RGB-D scenes)"

    batch_size: int = override(8)
    data: str = option(help="focalstack:ROOT[,ROOT...] (scene folders: slices + focus.csv, or image + depth; "
                       "skimage:motorcycle)", group=DATA)  # fmt: skip
    slices: int = option(8, help="rendered stacks: focus positions (real sweeps must have this many)", group=DATA)
    max_blur: float = option(12.0, help="rendered stacks: blur diameter (px) across the scene's depth range",
                             group=DATA)  # fmt: skip
    noise: float = option(0.01, help="rendered stacks: Gaussian noise std per slice (seeded)", group=DATA)
    render_seed: int = option(0, help="rendered stacks: noise seed", group=DATA)
    stack_scale: float = option(0.5, help="resize every scene by this factor (0.5: half size)", group=DATA)
    crop_size: int = option(64, help="square training crop (0: whole scenes)", group=DATA)
    crops_per_scene: int = option(16, help="random training crops per scene and epoch", group=DATA)
    depth_scale: float = option(1.0, help="depth.png of real sweeps = value / depth-scale", group=DATA)
    model: str = option("ddff", help="ddff (shared per-slice encoder-decoder)", group=MODEL)
    widths: list[int] = option([16, 32, 64], help="channels per encoder stage", group=MODEL)
    blocks: int = option(1, help="conv blocks per stage", group=MODEL)
    skip_mode: str = option("concat", help="how skips join the decoder", choices=["concat", "add", "none"],
                            group=MODEL)  # fmt: skip
    skip_levels: str = option("all", help="encoder levels with a skip: all or e.g. 0,1", group=MODEL)
    head: str = option("softargmax", help="softargmax (focus score per slice, expected position) or conv "
                       "(DDFFNet's scoring conv over the concatenated slices)", choices=["softargmax", "conv"],
                       group=MODEL)  # fmt: skip
    upsample: str = option("bilinear", help="decoder upsampling mode", group=MODEL)
    norm: str = option("batch", help="batch, group, instance or none", group=MODEL)
    loss: str = option("l1", help="loss on the normalised focus position", choices=["l1", "l2"], group=MODEL)

    def build(self) -> tuple[FocusDepthTask, DataModule]:
        splits = open_data(self.data, slices=self.slices, max_blur=self.max_blur, noise=self.noise,
                           render_seed=self.render_seed, stack_scale=self.stack_scale, crop_size=self.crop_size,
                           crops_per_scene=self.crops_per_scene, depth_scale=self.depth_scale,
                           **self.split_options())  # fmt: skip
        slices = int(splits.info["slices"])
        task = FocusDepthTask(
            model=self.model,
            model_kwargs={"slices": slices, "slice_channels": 3, "widths": list(self.widths),
                          "blocks_per_stage": self.blocks, "skip_mode": self.skip_mode,
                          "skip_levels": self.skip_levels, "head": self.head, "upsample": self.upsample,
                          "norm": self.norm},  # fmt: skip
            loss=self.loss,
            metadata={"data": splits.info.get("source", self.data), "channels": 3 * slices, "slices": slices,
                      "render": splits.info["render"], "depth_scale": self.depth_scale, "seed": self.seed},  # fmt: skip
            **self.optim(1e-3),
        )
        if splits.val is not None:
            self.monitor("val/loss", "min")
        return task, self.datamodule(splits)
