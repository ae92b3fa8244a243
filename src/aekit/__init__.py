"""aekit: convolutional autoencoders and encoder-decoder networks on PyTorch and Lightning."""

from typing import Any

import aekit.models  # noqa: F401  (registers the built-in models; the registry itself imports no model)
from aekit.io import load, save_model
from aekit.registry import create_model, list_models, register_model

__version__ = "0.1.0"

__all__ = ["__version__", "create_model", "list_models", "load", "recipes", "register_model",
           "save_model", "train"]  # fmt: skip


def __getattr__(name: str) -> Any:
    """``aekit.train``, ``aekit.config`` and ``aekit.recipes`` load Lightning, so only when first used."""
    if name in ("train",):
        from aekit import api

        return getattr(api, name)
    if name == "recipes":
        import aekit.recipes

        return aekit.recipes
    raise AttributeError(f"module 'aekit' has no attribute {name!r}")
