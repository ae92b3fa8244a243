"""aekit: convolutional autoencoders and encoder-decoder networks on PyTorch and Lightning."""

from aekit.io import load, save_model
from aekit.registry import create_model, list_models, register_model

__version__ = "0.1.0"

__all__ = ["__version__", "create_model", "list_models", "load", "register_model", "save_model"]
