"""Weights on disk: safetensors + a JSON model config, and safe reading of Lightning checkpoints.

No pickles: weights load through safetensors, checkpoints through ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from aekit.registry import create_model, model_config

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "model.json"


def current_umask() -> int:
    """The process umask (read by setting and restoring it; there is no getter)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write to a temporary file beside ``path`` and rename it in place, so a kill never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; run files follow the umask like open() does
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> Path:
    """Atomic text file (a killed run never leaves half a metrics or config file)."""
    path = Path(path)
    atomic_write_bytes(path, text.encode())
    return path


def write_json(path: str | Path, data: Any) -> Path:
    """Atomic, indented JSON (NumPy/torch scalars written as floats)."""
    return write_text(path, json.dumps(data, indent=2, default=float) + "\n")


def save_model(model: nn.Module, directory: str | Path, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``model.safetensors`` and ``model.json`` (name, kwargs, metadata) into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    from aekit import __version__

    config = {**model_config(model), "aekit_version": __version__, "metadata": metadata or {}}
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tmp = directory / f".{WEIGHTS_NAME}.tmp"
    save_file(tensors, str(tmp))
    os.chmod(tmp, 0o666 & ~current_umask())  # safetensors writes 0600
    os.replace(tmp, directory / WEIGHTS_NAME)
    atomic_write_bytes(directory / CONFIG_NAME, json.dumps(config, indent=2).encode())
    return directory / WEIGHTS_NAME


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """A Lightning checkpoint as a dict, loaded without unpickling arbitrary objects."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a corrupt or foreign file
        raise ValueError(
            f"cannot read checkpoint {path}: {exc.__class__.__name__}: {str(exc)[:200]}. "
            "aekit loads checkpoints with weights_only=True; pass a .ckpt written by `aekit train`, "
            "a run directory, or a model.safetensors with its model.json"
        ) from exc


def model_from_checkpoint(ckpt: dict[str, Any], path: str | Path = "checkpoint") -> nn.Module:
    """Rebuild the task's model from a checkpoint dict written by an aekit task."""
    hp = ckpt.get("hyper_parameters", {})
    if "model" not in hp:
        raise ValueError(f"{path} is not an aekit checkpoint (no model name in its hyper-parameters)")
    model = create_model(hp["model"], **hp.get("model_kwargs", {}))
    prefix = "model."
    state = {k[len(prefix) :]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)}
    model.load_state_dict(state)
    model.aekit_metadata = hp.get("metadata", {})
    return model


def load(path: str | Path, map_location: str | torch.device = "cpu") -> nn.Module:
    """Rebuild a model, without Lightning, from a run directory, a ``.safetensors`` file or a ``.ckpt``.

    The returned model is in eval mode; ``model.aekit_metadata`` holds what the run saved beside
    the weights (normalisation, class names, ...).
    """
    path = Path(path)
    if path.is_dir():
        path = path / WEIGHTS_NAME
        if not path.is_file():
            raise FileNotFoundError(f"{path.parent} holds no {WEIGHTS_NAME}; is it an aekit run directory?")
    if path.suffix == ".ckpt":
        model = model_from_checkpoint(read_checkpoint(path), path)
    elif path.suffix == ".safetensors":
        model = load_weights(path)
    elif not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    else:
        raise ValueError(f"cannot load {path}: pass a run directory, a .safetensors file or a .ckpt file")
    return model.to(map_location).eval()


def weights_config_path(weights: Path) -> Path | None:
    """The JSON config of a ``.safetensors`` file: ``<name>.json`` beside it, else ``model.json``; None if absent."""
    for candidate in (weights.with_suffix(".json"), weights.parent / CONFIG_NAME):
        if candidate.is_file():
            return candidate
    return None


def read_weights_config(path: str | Path) -> tuple[Path, dict[str, Any]]:
    """``(weights file, its JSON config)`` for a ``.safetensors`` file or a folder holding ``model.safetensors``."""
    path = Path(path)
    if path.is_dir():
        path = path / WEIGHTS_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    config_path = weights_config_path(path)
    if config_path is None:
        raise FileNotFoundError(f"{path} has no model config beside it ({path.with_suffix('.json').name})")
    try:
        config = json.loads(config_path.read_text())
        if not isinstance(config, dict) or not isinstance(config["name"], str):
            raise TypeError("no model name")
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{config_path} is not an aekit model config ({exc.__class__.__name__}: {exc})") from exc
    return path, config


def load_weights(path: str | Path) -> nn.Module:
    """The model of a ``.safetensors`` file (or a folder holding ``model.safetensors``) and its JSON config."""
    weights, config = read_weights_config(path)
    model = create_model(config["name"], **config.get("kwargs", {}))
    model.load_state_dict(load_file(str(weights), device="cpu"))
    model.aekit_metadata = config.get("metadata", {})
    return model


def encoder_state_dict(source: nn.Module | str | Path) -> dict[str, torch.Tensor]:
    """The ``encoder.*`` weights (prefix removed) of a model, run directory, ``.ckpt`` or ``.safetensors``.

    This is how a pre-trained autoencoder's encoder moves into a classifier, U-Net or SegNet.
    """
    model = source if isinstance(source, nn.Module) else load(source)
    state = {k[len("encoder.") :]: v for k, v in model.state_dict().items() if k.startswith("encoder.")}
    if not state:
        raise ValueError(f"{source if not isinstance(source, nn.Module) else type(source).__name__} has no encoder")
    return state


def load_encoder_weights(encoder: nn.Module, source: nn.Module | str | Path) -> list[str]:
    """Copy a pre-trained encoder into ``encoder``; a shape or name mismatch names the first difference.

    Returns the names of the loaded tensors (all of the encoder's).
    """
    state = encoder_state_dict(source)
    own = encoder.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    wrong = [k for k in own if k in state and own[k].shape != state[k].shape]
    if missing or extra or wrong:
        detail = (
            f"missing {missing[:3]}"
            if missing
            else f"unexpected {extra[:3]}"
            if extra
            else f"{wrong[0]} is {tuple(state[wrong[0]].shape)} there but {tuple(own[wrong[0]].shape)} here"
        )
        raise ValueError(
            f"the encoder in {source if not isinstance(source, nn.Module) else 'the given model'} does not match "
            f"this model's encoder ({detail}); build it with the same widths, blocks, kernel size, norm and "
            "input channels as the autoencoder"
        )
    encoder.load_state_dict(state)
    return sorted(state)
