"""``aekit``: parse the command line and dispatch to the problem modules."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aekit.cli import common, inference
from aekit.cli.args import add_config_arguments, add_run_arguments, apply_saved_defaults, config_from_args
from aekit.recipes import Recipe, get_recipe, list_recipes

# each module registers its commands and printers on import (recipes: aekit.recipes; evaluate/predict/export:
# aekit.cli.inference)
COMMAND_MODULES = [
    "aekit.cli.reconstruction",
    "aekit.cli.segmentation",
    "aekit.cli.finetune",
    "aekit.cli.cluster",
]


def build_parser() -> argparse.ArgumentParser:
    for name in COMMAND_MODULES:
        importlib.import_module(name)
    parser = argparse.ArgumentParser(
        prog="aekit", description="Convolutional autoencoders and encoder-decoder networks."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = sub.add_parser("train", help="train a model (one run directory with checkpoints and weights)")
    recipes = train.add_subparsers(dest="recipe", required=True, metavar="RECIPE")
    for name in list_recipes("train"):
        recipe_parser(recipes, get_recipe(name))

    inference.add_parsers(sub)  # evaluate, predict, export: flags from aekit.inference's option dataclasses

    models = sub.add_parser("models", help="list the registered models")
    models.set_defaults(_run=run_models)

    study = sub.add_parser("study", help="multi-run experiments (one table and figure per study)")
    studies = study.add_subparsers(dest="study", required=True, metavar="STUDY")
    for name in list_recipes("study"):
        recipe_parser(studies, get_recipe(name))
    for name in list_recipes("command"):
        recipe_parser(sub, get_recipe(name))

    for cmd in common.COMMANDS.values():
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        cmd.add_arguments(p)
        p.set_defaults(_run=cmd.run)
    return parser


def run_models(args: argparse.Namespace) -> int:
    import aekit

    print("\n".join(aekit.list_models()))
    return 0


# command words (("train", "ae"), ("study", "upsampling"), ("finetune",)) -> (sub-parser, recipe), for --config
RECIPE_PARSERS: dict[tuple[str, ...], tuple[argparse.ArgumentParser, type[Recipe]]] = {}


def recipe_parser(sub: argparse._SubParsersAction, cls: type[Recipe]) -> argparse.ArgumentParser:
    """The sub-command of a recipe: flags generated from its config fields, plus --out/--config[/--resume]."""
    p = sub.add_parser(cls.name, help=cls.help, description=cls.help)
    words = {"train": ("train",), "study": ("study",)}.get(cls.kind, ())
    RECIPE_PARSERS[(*words, cls.name)] = (p, cls)
    add_config_arguments(p, cls)
    add_run_arguments(p, cls)
    p.set_defaults(_run=run_recipe, _recipe=cls, _parser=p)
    return p


def run_recipe(args: argparse.Namespace) -> int:
    """Parse -> typed config -> :func:`aekit.train` -> print (what is printed: ``common.PRINTERS``)."""
    from aekit.api import train

    cfg = config_from_args(args._recipe, args)
    out = args.out or cfg.default_out()
    result = train(cfg, out=out, resume=getattr(args, "resume", None))
    common.PRINTERS.get(cfg.name, print_run)(cfg, result, Path(out))
    return 0


def print_run(cfg: Recipe, result: Any, out: Path) -> None:
    if result.trainer.is_global_zero:
        print(f"run directory: {result.run_dir}  (best: {result.best_checkpoint.name}, weights: model.safetensors)")


def _apply_config_defaults(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """``aekit train RECIPE --config run/config.yaml``: the saved values become defaults, flags override (read
    before parsing, so a required flag the file supplies, such as --data, may be left out)."""
    path = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--config"), None)
    path = path or next((a.partition("=")[2] for a in argv if a.startswith("--config=")), None)
    words = tuple(a for a in argv[:2] if not a.startswith("-"))
    found = next((v for k, v in RECIPE_PARSERS.items() if words[: len(k)] == k), None)
    if path is not None and found is not None:
        apply_saved_defaults(found[0], found[1], Path(path))
    return parser.parse_args(argv)


def parse_config(argv: Sequence[str]) -> Recipe:
    """The typed config a command line (``train unet --data ... [--config ...]``) would run, without running it."""
    args = _apply_config_defaults(build_parser(), [str(a) for a in argv])
    return config_from_args(args._recipe, args)


def main(argv: Sequence[str] | None = None) -> int:
    from aekit.data.base import DataError

    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = _apply_config_defaults(parser, argv)
        return int(args._run(args) or 0)
    except (DataError, FileNotFoundError, ValueError, TypeError, KeyError) as exc:
        if os.environ.get("AEKIT_DEBUG"):
            raise
        print(f"aekit: error: {exc}", file=sys.stderr)
        print("(set AEKIT_DEBUG=1 for the full traceback)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
