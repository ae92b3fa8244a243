"""Typed recipe configs, one per problem, registered by CLI name (timm style).

```python
import aekit
cfg = aekit.recipes.SegNet(data="camvid:../shared/data/camvid", class_weights="median-frequency")
run = aekit.train(cfg, out="runs/segnet", epochs=30)     # == aekit train segnet --data ... --epochs 30
cfg2 = aekit.recipes.load("runs/segnet/config.yaml")       # the run's config, typed again
aekit.recipes.list_recipes()                               # ['ae', 'depth', 'fcn', ...]
```

The fields of a recipe are its Python keywords, the ``args`` of the run's config.yaml and the flags of
``aekit train NAME`` (``help(aekit.recipes.SegNet)`` lists them).
"""

from aekit.recipes.base import (
    RECIPES,
    Recipe,
    SplitFields,
    TrainFields,
    TrainRecipe,
    get_recipe,
    list_recipes,
    load,
    register_recipe,
)
from aekit.recipes.focus_depth import FocusDepth
from aekit.recipes.image_regression import Depth, SuperResolution
from aekit.recipes.label_efficiency import Finetune, LabelEfficiency
from aekit.recipes.reconstruction import Autoencoder
from aekit.recipes.segmentation import FCN, Segmentation, SegNet, UNet, UpsamplingStudy
from aekit.recipes.stereo import StereoDepth

__all__ = [
    "FCN",
    "RECIPES",
    "Autoencoder",
    "Depth",
    "Finetune",
    "FocusDepth",
    "LabelEfficiency",
    "Recipe",
    "SegNet",
    "Segmentation",
    "SplitFields",
    "StereoDepth",
    "SuperResolution",
    "TrainFields",
    "TrainRecipe",
    "UNet",
    "UpsamplingStudy",
    "get_recipe",
    "list_recipes",
    "load",
    "register_recipe",
]
