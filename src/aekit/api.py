"""The one way in from Python: ``aekit.train(cfg)`` runs a recipe config exactly as ``aekit train`` does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aekit.config import replace
from aekit.recipes import Recipe, get_recipe


def config(recipe: str | Recipe, **overrides: Any) -> Recipe:
    """A typed config from a recipe name (``"unet"``) or a config, with ``overrides`` checked like YAML values."""
    if isinstance(recipe, str):
        return get_recipe(recipe).from_dict(overrides, where="keyword arguments")
    return replace(recipe, **overrides) if overrides else recipe


def train(
    recipe: str | Recipe,
    out: str | Path | None = None,
    resume: str | Path | bool | None = None,
    **overrides: Any,
) -> Any:
    """Run a recipe into ``out`` (default ``runs/<name>``); ``overrides`` change fields (``epochs=30``).

    Training recipes (``ae``, ``segnet``, ``fcn``, ``unet``, ``sr``, ``depth``, ``stereo-depth``) return the run
    handle :class:`aekit.engine.FitResult` (``.run_dir``, ``.best_checkpoint``, ``.last_checkpoint``, ``.config``;
    it is also a path: ``aekit.load(run)``), the run directory ``aekit train NAME`` leaves. ``Finetune``,
    ``LabelEfficiency`` and ``UpsamplingStudy`` return their summary dict (their CLI twins print it).
    ``resume=True`` continues from ``out/last.ckpt``.
    """
    return config(recipe, **overrides).run(out, resume=resume)
