"""What every CLI module shares: the evaluator/predictor/command registries, run helpers.

Recipes (``aekit train NAME``, ``aekit finetune``, ``aekit study upsampling``, ...) are typed configs in
:mod:`aekit.recipes`; their flags are generated (:mod:`aekit.cli.args`). A problem's CLI module registers:

- printers: ``@printer("finetune")`` on ``fn(cfg, result, out)``: what the CLI prints after a recipe ran
- evaluators: ``@evaluator("reconstruction")`` on ``fn(task, args) -> dict`` (keyed by the task name
  stored in the checkpoint), with its own flags added by ``evaluate_options(fn)``
- predictors: ``@predictor("reconstruction")`` likewise for ``aekit predict``
- other top-level commands: ``@command("demo", help=..., add_arguments=fn)`` on ``fn(args) -> int``
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aekit.data.options import split_options  # noqa: F401  (evaluators: the split flags + seed)

ArgAdder = Callable[[argparse.ArgumentParser], None]


@dataclass
class Command:
    name: str
    help: str
    add_arguments: ArgAdder
    run: Callable[[argparse.Namespace], int | None]


COMMANDS: dict[str, Command] = {}
PRINTERS: dict[str, Callable[..., None]] = {}
EVALUATORS: dict[str, Callable[..., dict[str, Any]]] = {}
PREDICTORS: dict[str, Callable[..., Any]] = {}
EVALUATE_OPTION_ADDERS: list[ArgAdder] = []
PREDICT_OPTION_ADDERS: list[ArgAdder] = []


def printer(recipe: str) -> Callable:
    """What ``aekit RECIPE`` prints after the library ran it: ``fn(cfg, result, out)``."""

    def wrap(fn: Callable) -> Callable:
        PRINTERS[recipe] = fn
        return fn

    return wrap


def command(name: str, help: str, add_arguments: ArgAdder) -> Callable:
    def wrap(run: Callable) -> Callable:
        COMMANDS[name] = Command(name, help, add_arguments, run)
        return run

    return wrap


def evaluator(task_name: str) -> Callable:
    def wrap(fn: Callable) -> Callable:
        EVALUATORS[task_name] = fn
        return fn

    return wrap


def predictor(task_name: str) -> Callable:
    def wrap(fn: Callable) -> Callable:
        PREDICTORS[task_name] = fn
        return fn

    return wrap


def evaluate_options(fn: ArgAdder) -> ArgAdder:
    EVALUATE_OPTION_ADDERS.append(fn)
    return fn


def predict_options(fn: ArgAdder) -> ArgAdder:
    PREDICT_OPTION_ADDERS.append(fn)
    return fn


def add_option_once(parser: argparse.ArgumentParser, *flags: str, **kwargs: Any) -> None:
    """Add an option unless another module already added it (modules share evaluate/predict flags)."""
    if any(f in parser._option_string_actions for f in flags):
        return
    parser.add_argument(*flags, **kwargs)


def write_json(path: str | Path, data: Any) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=float) + "\n")
    return path


def output_paths(files: list[Path], root: Path, out: Path, suffix: str = "", ext: str = "") -> list[Path]:
    """One output path per input, at its path relative to ``root`` (so same-named files in different
    sub-folders stay apart), named after its stem + ``suffix`` + ``ext``; refuses to overwrite any input."""
    base = root if root.is_dir() else root.parent
    outs = []
    for f in files:
        rel = f.relative_to(base)
        outs.append(out / rel.with_name(rel.stem + suffix + ext))
    inputs = {f.resolve() for f in files}
    clash = [o for o in outs if o.resolve() in inputs]
    if clash:
        raise ValueError(f"writing {clash[0]} would overwrite an input image; choose another --output folder")
    return outs
