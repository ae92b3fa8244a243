"""Model registry: every model is a plain ``nn.Module`` created by name.

``create_model`` records the name and the keyword arguments on the module (``aekit_config``), so a
model can be saved as safetensors + a JSON config and rebuilt later without pickles.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from torch import nn

_MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator: make a model class or factory available as ``create_model(name, ...)``."""

    def wrap(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _MODELS:
            raise ValueError(f"model name {name!r} is registered twice")
        _MODELS[name] = factory
        return factory

    return wrap


def list_models(pattern: str | None = None) -> list[str]:
    """Names of all registered models, sorted; ``pattern`` keeps those containing it."""
    return sorted(n for n in _MODELS if pattern is None or pattern in n)


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a registered model; unknown names or arguments get an error that lists the valid ones."""
    if name not in _MODELS:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(list_models())}")
    factory = _MODELS[name]
    params = inspect.signature(factory).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(kwargs) - set(params))
        if unknown:
            raise TypeError(f"model {name!r} does not take {', '.join(unknown)}; it takes: {', '.join(params)}")
    model = factory(**kwargs)
    model.aekit_config = {"name": name, "kwargs": _plain(kwargs)}
    return model


def model_config(model: nn.Module) -> dict[str, Any]:
    """The ``{"name", "kwargs"}`` a model was created with (only for models made by ``create_model``)."""
    cfg = getattr(model, "aekit_config", None)
    if cfg is None:
        raise ValueError("this model was not built with aekit.create_model, so it cannot be saved by name")
    return cfg


def _plain(value: Any) -> Any:
    """Tuples to lists etc., so the config survives JSON and YAML unchanged."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
