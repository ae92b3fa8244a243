"""aekit: convolutional autoencoders and encoder-decoder networks on PyTorch and Lightning."""

from typing import Any

import aekit.models  # noqa: F401  (registers the built-in models; the registry itself imports no model)
from aekit.io import load, save_model
from aekit.registry import create_model, list_models, register_model

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "create_model",
    "evaluate",
    "export",
    "list_models",
    "load",
    "predict",
    "recipes",
    "register_model",
    "save_model",
    "suggest_labels",
    "train",
]


def __getattr__(name: str) -> Any:
    """``aekit.train`` / ``evaluate`` / ``predict`` / ``export`` / ``suggest_labels`` and ``aekit.recipes`` load
    Lightning and the data readers, so only when first used: ``import aekit`` stays light."""
    import importlib

    if name == "train":
        return importlib.import_module("aekit.api").train
    if name == "recipes":
        return importlib.import_module("aekit.recipes")
    if name == "export":
        return importlib.import_module("aekit.exporters").export_run
    if name == "suggest_labels":
        return importlib.import_module("aekit.experiments.suggest_labels").suggest_labels
    if name in ("evaluate", "predict"):
        return getattr(importlib.import_module("aekit.inference"), name)
    raise AttributeError(f"module 'aekit' has no attribute {name!r}")
