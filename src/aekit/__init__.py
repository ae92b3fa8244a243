"""aekit: convolutional autoencoders and encoder-decoder networks on PyTorch and Lightning."""

from typing import Any

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
    "register_model",
    "save_model",
]


def __getattr__(name: str) -> Any:
    """``aekit.evaluate`` / ``predict`` / ``export`` load on first use: ``import aekit`` stays light (no data
    readers, no Lightning)."""
    import importlib

    if name == "export":
        return importlib.import_module("aekit.exporters").export_run
    if name in ("evaluate", "predict"):
        return getattr(importlib.import_module("aekit.inference"), name)
    raise AttributeError(f"module 'aekit' has no attribute {name!r}")
