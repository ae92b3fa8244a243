"""CLI for semantic segmentation: what ``study upsampling`` prints (the recipes: aekit.recipes.segmentation;
evaluate/predict: aekit.inference.segmentation)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aekit.cli.common import printer


@printer("upsampling")
def print_upsampling_study(cfg: Any, result: dict[str, Any], out: Path) -> None:
    print(result["markdown"])
    print(f"study written to {out} in {result['minutes']:.1f} min")
