"""``aekit evaluate``, ``aekit predict`` and ``aekit export``: flags from the library's option dataclasses,
one library call, printing.

The flags come from :mod:`aekit.inference` (every task's options class; a flag a task does not take is
refused by the library with one line; :func:`aekit.cli.args.add_option_flags` builds them).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from aekit.cli.args import add_option_flags

NOT_OPTIONS = ("command", "checkpoint", "source")


def given(args: argparse.Namespace) -> dict[str, Any]:
    """The option values of a parsed command (positional run and internals left out)."""
    return {k: v for k, v in vars(args).items() if not k.startswith("_") and k not in NOT_OPTIONS}


def task_notes(registry: dict[str, Any]) -> dict[str, str]:
    """`` [segmentation]`` after the help of an option only some tasks take (the others refuse it)."""
    takes: dict[str, list[str]] = {}
    for task_name, handler in registry.items():
        for f in dataclasses.fields(handler.options):
            takes.setdefault(f.name, []).append(task_name)
    return {k: f" [{', '.join(sorted(v))}]" for k, v in takes.items() if len(v) < len(registry)}


def add_parsers(sub: Any) -> None:
    """The evaluate, predict and export sub-commands."""
    from aekit.exporters import ExportOptions
    from aekit.inference.base import EVALUATORS, PREDICTORS, option_classes

    evaluate = sub.add_parser("evaluate", help="metrics of a trained model on a data split")
    evaluate.add_argument("checkpoint", type=Path, help="best.ckpt / last.ckpt of a run, or its run directory")
    add_option_flags(evaluate, option_classes(EVALUATORS), task_notes(EVALUATORS))
    evaluate.set_defaults(_run=run_evaluate)

    predict = sub.add_parser("predict", help="run a trained model over a file or a folder")
    predict.add_argument("checkpoint", type=Path, help="best.ckpt / last.ckpt of a run, or its run directory")
    add_option_flags(predict, option_classes(PREDICTORS), task_notes(PREDICTORS))
    predict.set_defaults(_run=run_predict)

    export = sub.add_parser("export", help="export a trained model to ONNX or torch.export, checked against PyTorch")
    export.add_argument("source", type=Path, help="a run directory, best.ckpt/last.ckpt or model.safetensors")
    add_option_flags(export, [ExportOptions])
    export.set_defaults(_run=run_export)


def run_evaluate(args: argparse.Namespace) -> int:
    from aekit.inference import evaluate_run

    result = evaluate_run(args.checkpoint, **given(args))
    print(f"evaluated on {result.note}; precision {result.precision}\n")
    print(result.markdown)
    print(f"written: {', '.join(str(p) for p in result.files)}")
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from aekit.inference import predict

    options = given(args)
    written = predict(args.checkpoint, **options)
    print(f"wrote {len(written)} file(s) to {options['out']}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from aekit.exporters import ExportError, export_run

    try:
        result = export_run(args.source, strict=False, **given(args))
    except ExportError as exc:
        print(f"aekit: error: {exc}")
        return 1
    print(result.summary())
    return 0 if result.ok else 1
