"""``aekit``: parse the command line and dispatch to the problem modules."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from aekit.cli import common

# each module registers its recipes, evaluators, predictors and commands on import
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

    evaluate = sub.add_parser("evaluate", help="metrics of a trained model on a data split")
    evaluate.add_argument("checkpoint", type=Path, help="best.ckpt / last.ckpt of a run")
    evaluate.add_argument("--data", required=True, help="data spec, e.g. mnist5k, folder:path, camvid:path")
    evaluate.add_argument("--split", default="test", choices=["train", "val", "test"])
    evaluate.add_argument(
        "--out", type=Path, default=None, help="folder for metrics.json/.md (default: beside the checkpoint)"
    )
    evaluate.add_argument("--batch-size", type=int, default=64)
    for adder in common.EVALUATE_OPTION_ADDERS:
        adder(evaluate)
    evaluate.set_defaults(_run=run_evaluate)

    predict = sub.add_parser("predict", help="run a trained model over a file or a folder")
    predict.add_argument("checkpoint", type=Path)
    predict.add_argument("--input", type=Path, required=True, help="an image file or a folder")
    predict.add_argument("--output", type=Path, required=True, help="output folder (never the input folder)")
    predict.add_argument("--batch-size", type=int, default=16)
    for adder in common.PREDICT_OPTION_ADDERS:
        adder(predict)
    predict.set_defaults(_run=run_predict)

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


def run_evaluate(args: argparse.Namespace) -> int:
    from aekit.tasks import load_task

    task = load_task(args.checkpoint)
    fn = common.EVALUATORS.get(task.task_name)
    if fn is None:
        raise ValueError(f"no evaluator for task {task.task_name!r}")
    args.out = args.out or args.checkpoint.parent
    fn(task, args)
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from aekit.tasks import load_task

    if args.input.resolve() == args.output.resolve() or (
        args.input.is_dir() and args.output.resolve().is_relative_to(args.input.resolve())
    ):
        raise ValueError(f"--output {args.output} is the input folder or inside it; choose another folder")
    task = load_task(args.checkpoint)
    fn = common.PREDICTORS.get(task.task_name)
    if fn is None:
        raise ValueError(f"no predictor for task {task.task_name!r}")
    fn(task, args)
    return 0


def _apply_config_defaults(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """``aekit train RECIPE --config run/config.yaml``: the saved values become defaults, flags override."""
    args = parser.parse_args(argv)
    config_path = getattr(args, "config", None)
    if args.command != "train" or config_path is None:
        return args
    if not config_path.is_file():
        raise FileNotFoundError(f"--config {config_path} does not exist")
    saved = yaml.safe_load(config_path.read_text()) or {}
    if saved.get("recipe") not in (None, args.recipe):
        raise ValueError(f"{config_path} is a {saved['recipe']!r} config, not {args.recipe!r}")
    sub = parser.recipe_parsers[args.recipe]
    known = {a.dest for a in sub._actions}
    sub.set_defaults(**{k: v for k, v in (saved.get("args") or {}).items() if k in known})
    return parser.parse_args(argv)


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
