"""``aekit``: parse the command line and dispatch to the problem modules."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from aekit.cli import common, inference

# each module registers its recipes and commands on import (evaluate/predict/export: aekit.cli.inference)
COMMAND_MODULES = [
    "aekit.cli.reconstruction",
    "aekit.cli.segmentation",
    "aekit.cli.finetune",
    "aekit.cli.image_regression",
    "aekit.cli.stereo",
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
    parser.recipe_parsers = {}  # for --config: the saved values become this parser's defaults
    for recipe in common.TRAIN_RECIPES.values():
        p = recipes.add_parser(recipe.name, help=recipe.help, description=recipe.help)
        recipe.add_arguments(p)
        common.add_train_arguments(p)
        p.set_defaults(_run=run_train)
        parser.recipe_parsers[recipe.name] = p

    inference.add_parsers(sub)  # evaluate, predict, export: flags from aekit.inference's option dataclasses

    models = sub.add_parser("models", help="list the registered models")
    models.set_defaults(_run=run_models)

    if common.STUDIES:
        study = sub.add_parser("study", help="multi-run experiments (one table and figure per study)")
        studies = study.add_subparsers(dest="study", required=True, metavar="STUDY")
        for st in common.STUDIES.values():
            p = studies.add_parser(st.name, help=st.help, description=st.help)
            st.add_arguments(p)
            p.set_defaults(_run=st.run)

    for cmd in common.COMMANDS.values():
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        cmd.add_arguments(p)
        p.set_defaults(_run=cmd.run)
    return parser


def run_models(args: argparse.Namespace) -> int:
    import aekit

    print("\n".join(aekit.list_models()))
    return 0


def run_train(args: argparse.Namespace) -> int:
    import lightning.pytorch as L

    from aekit.engine import fit, set_threads

    set_threads()
    recipe = common.TRAIN_RECIPES[args.recipe]
    args.out = args.out or Path("runs") / args.recipe
    L.seed_everything(args.seed, workers=True, verbose=False)
    task, datamodule = recipe.build(args)
    config = {"recipe": args.recipe, "args": common.plain_args(args), "task": dict(task.hparams)}
    result = fit(task, datamodule, args.out, common.train_config(args), config, resume=args.resume)
    if result.trainer.is_global_zero:
        print(f"run directory: {result.run_dir}  (best: {result.best_checkpoint.name}, weights: model.safetensors)")
    return 0


def _apply_config_defaults(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """``aekit train RECIPE --config run/config.yaml``: the saved values become defaults, flags override."""
    args = parser.parse_args(argv)
    config_path = getattr(args, "config", None)
    if args.command != "train" or config_path is None:
        return args
    if not config_path.is_file():
        raise FileNotFoundError(f"--config {config_path} does not exist")
    sub = parser.recipe_parsers[args.recipe]
    sub.set_defaults(**checked_config(config_path, args.recipe, sub))
    return parser.parse_args(argv)


CONFIG_SECTIONS = ("recipe", "args", "task", "train")
SET_BY_RECIPES = ("recipe", "monitor", "monitor_mode")  # saved from the parsed args, not flags


def checked_config(path: Path, recipe: str, sub: argparse.ArgumentParser) -> dict:
    """The ``args`` of a saved config.yaml, checked: valid YAML, known keys, values of the flag's type."""
    try:
        saved = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ValueError(f"--config {path} is not valid YAML{where}: {problem}") from exc
    saved = saved or {}
    if not isinstance(saved, dict) or not isinstance(saved.get("args") or {}, dict):
        raise ValueError(f"--config {path} must be a mapping with an 'args' section (as aekit train writes it)")
    unknown = [k for k in saved if k not in CONFIG_SECTIONS]
    if unknown:
        raise ValueError(f"--config {path}: unknown section(s) {', '.join(map(str, unknown))}; "
                         f"known: {', '.join(CONFIG_SECTIONS)}")  # fmt: skip
    if saved.get("recipe") not in (None, recipe):
        raise ValueError(f"{path} is a {saved['recipe']!r} config, not {recipe!r}")
    actions = {a.dest: a for a in sub._actions}
    values = saved.get("args") or {}
    unknown = [k for k in values if k not in actions and k not in SET_BY_RECIPES]
    if unknown:
        flags = ", ".join("--" + str(k).replace("_", "-") for k in unknown[:5])
        raise ValueError(f"--config {path}: unknown key(s) {', '.join(map(str, unknown[:5]))} ({flags} is not a "
                         f"flag of 'aekit train {recipe}'); remove them or fix the spelling")  # fmt: skip
    for key, value in values.items():
        action = actions.get(key)
        if action is None or value is None:
            continue
        flag = action.option_strings[0] if action.option_strings else key
        if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)) and not isinstance(value, bool):
            raise ValueError(f"--config {path}: {key} must be true or false, not {value!r} ({flag})")
        if action.type in (int, float) and not isinstance(value, list):
            try:
                action.type(value)
            except (TypeError, ValueError):
                raise ValueError(
                    f"--config {path}: {key} must be {'an integer' if action.type is int else 'a number'}, "
                    f"not {value!r} ({flag})"
                ) from None
        if action.choices is not None and value not in action.choices:
            raise ValueError(f"--config {path}: {key} {value!r} is not one of {', '.join(map(str, action.choices))}")
    return {k: v for k, v in values.items() if k in actions}


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
