"""``aekit``: parse the command line and dispatch to the problem modules."""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aekit.cli import common
from aekit.cli.args import add_config_arguments, add_run_arguments, apply_saved_defaults, config_from_args
from aekit.recipes import Recipe, get_recipe, list_recipes

# each module registers its evaluators, predictors, commands and printers on import (recipes: aekit.recipes)
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
    for name in list_recipes("train"):
        recipe_parser(recipes, get_recipe(name))

    evaluate = sub.add_parser("evaluate", help="metrics of a trained model on a data split")
    evaluate.add_argument("checkpoint", type=Path, help="best.ckpt / last.ckpt of a run")
    evaluate.add_argument("--data", required=True, help="data spec, e.g. mnist5k, folder:path, camvid:path")
    evaluate.add_argument(
        "--split",
        default=None,
        choices=["train", "val", "test", "all"],
        help="default: the run's recorded test split on its training data, every item of other data",
    )
    evaluate.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for metrics.json/.md (default: <run>/evaluations/<data>-<split>, one per data set and split)",
    )
    evaluate.add_argument("--batch-size", type=int, default=64)
    evaluate.add_argument("--precision", default="auto", help="auto (bf16 where fast, as training), 32, bf16-mixed")
    evaluate.add_argument("--tile-megapixels", type=float, default=1.0, help="tile larger inputs (0: never)")
    for adder in common.EVALUATE_OPTION_ADDERS:
        adder(evaluate)
    evaluate.set_defaults(_run=run_evaluate)

    predict = sub.add_parser("predict", help="run a trained model over a file or a folder")
    predict.add_argument("checkpoint", type=Path)
    predict.add_argument("--input", type=Path, required=True, help="an image file or a folder")
    predict.add_argument("--output", type=Path, required=True, help="output folder (never the input folder)")
    predict.add_argument("--batch-size", type=int, default=16)
    predict.add_argument("--precision", default="auto", help="auto (bf16 where fast, as training), 32, bf16-mixed")
    predict.add_argument("--tile-megapixels", type=float, default=1.0, help="tile larger inputs (0: never)")
    for adder in common.PREDICT_OPTION_ADDERS:
        adder(predict)
    predict.set_defaults(_run=run_predict)

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


def run_evaluate(args: argparse.Namespace) -> int:
    from aekit.data.splits import evaluation_spec, read_run_splits, run_seed
    from aekit.engine import inference_precision, set_threads
    from aekit.tasks import load_task
    from aekit.tiling import tiling

    set_threads()
    task = load_task(args.checkpoint)
    fn = common.EVALUATORS.get(task.task_name)
    if fn is None:
        raise ValueError(f"no evaluator for task {task.task_name!r}")
    recorded = read_run_splits(args.checkpoint)
    args.splitting, args.split, note = evaluation_spec(recorded, args.data, args.split)
    if getattr(args, "seed", None) is None:
        args.seed = run_seed(args.checkpoint, recorded, task.metadata)
    args.out = args.out or evaluation_dir(args.checkpoint, args.data, args.split, note.startswith("every"))
    with inference_precision(task.model, args.precision) as precision, tiling(task.model, _budget(task, args)):
        print(f"evaluating on {note}; precision {precision}")
        fn(task, args)
    return 0


def _budget(task: object, args: argparse.Namespace) -> int | None:
    """Pixels per forward pass above which dense models are tiled (None for models that cannot be)."""
    from aekit.tiling import TILED_TASKS

    mp = getattr(args, "tile_megapixels", 0) or 0
    return int(mp * 1024 * 1024) if mp > 0 and getattr(task, "task_name", "") in TILED_TASKS else None


def evaluation_dir(checkpoint: Path, data: str, split: str, whole: bool) -> Path:
    """``<run>/evaluations/<data set>-<split>``: evaluating another data set or split never overwrites one."""
    first = Path(data.partition(":")[2].split(",")[0] or data)
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", "_".join(p for p in (first.parent.name, first.name) if p) or data)
    run = checkpoint if checkpoint.is_dir() else checkpoint.parent
    return run / "evaluations" / f"{name}-{'all' if whole else split}"


def run_predict(args: argparse.Namespace) -> int:
    from aekit.engine import inference_precision, set_threads
    from aekit.tasks import load_task
    from aekit.tiling import tiling

    set_threads()
    if args.input.resolve() == args.output.resolve() or (
        args.input.is_dir() and args.output.resolve().is_relative_to(args.input.resolve())
    ):
        raise ValueError(f"--output {args.output} is the input folder or inside it; choose another folder")
    task = load_task(args.checkpoint)
    fn = common.PREDICTORS.get(task.task_name)
    if fn is None:
        raise ValueError(f"no predictor for task {task.task_name!r}")
    with inference_precision(task.model, args.precision), tiling(task.model, _budget(task, args)):
        fn(task, args)
    return 0


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
