"""What every CLI module shares: the command and printer registries.

Recipes (``aekit train NAME``, ``aekit finetune``, ``aekit study upsampling``, ...) are typed configs in
:mod:`aekit.recipes`; their flags are generated (:mod:`aekit.cli.args`). Evaluators and predictors live in the
library (:mod:`aekit.inference`, keyed by the checkpoint's task name; flags from their option dataclasses in
:mod:`aekit.cli.inference`). A problem's CLI module registers:

- printers: ``@printer("finetune")`` on ``fn(cfg, result, out)``: what the CLI prints after a recipe ran
- other top-level commands: ``@command("demo", help=..., add_arguments=fn)`` on ``fn(args) -> int``
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ArgAdder = Callable[[argparse.ArgumentParser], None]


@dataclass
class Command:
    name: str
    help: str
    add_arguments: ArgAdder
    run: Callable[[argparse.Namespace], int | None]


COMMANDS: dict[str, Command] = {}
PRINTERS: dict[str, Callable[..., None]] = {}


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


def add_option_once(parser: argparse.ArgumentParser, *flags: str, **kwargs: Any) -> None:
    """Add an option unless another module already added it."""
    if any(f in parser._option_string_actions for f in flags):
        return
    parser.add_argument(*flags, **kwargs)
