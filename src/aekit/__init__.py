"""aekit: convolutional autoencoders and encoder-decoder networks on PyTorch and Lightning."""

from aekit import export  # a callable module: aekit.export(run, format="onnx", out=...) (see aekit/export.py)
from aekit.inference import evaluate, predict
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
