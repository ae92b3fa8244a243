"""CLI for few-label learning: what ``aekit finetune`` / ``aekit label-efficiency`` print (their recipes:
aekit.recipes.label_efficiency; evaluate/predict of classifiers: aekit.inference.classification)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aekit.cli.common import printer


@printer("finetune")
def print_finetune(cfg: Any, result: dict[str, Any], out: Path) -> None:
    print(result["markdown"])
    print(f"final classifier: {result['final']}  (best.ckpt = final weights, model.safetensors; "
          f"test: {result['test_images']} images)")  # fmt: skip


@printer("label-efficiency")
def print_label_efficiency(cfg: Any, summary: dict[str, Any], out: Path) -> None:
    print((Path(out) / "results.md").read_text())
    print(json.dumps(summary))
