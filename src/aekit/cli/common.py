"""What every CLI module shares: training flags, the recipe/evaluator/predictor registries, run helpers.

A problem's CLI module (reconstruction, segmentation, ...) registers:

- train recipes: ``@train_recipe("ae", help=..., add_arguments=fn)`` on ``build(args) -> (task, datamodule)``
- (evaluators and predictors live in the library: ``aekit.inference``, keyed by the checkpoint's task name)
- other top-level commands: ``@command("demo", help=..., add_arguments=fn)`` on ``fn(args) -> int``
- studies (multi-run experiments): ``@study("upsampling", help=..., add_arguments=fn)`` on ``fn(args) -> int``,
  run as ``aekit study upsampling ...``
- a recipe may set ``args.monitor`` / ``args.monitor_mode`` (e.g. ``val/miou``, ``max``) in ``build``
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from aekit.engine import TrainConfig

ArgAdder = Callable[[argparse.ArgumentParser], None]


@dataclass
class Recipe:
    name: str
    help: str
    add_arguments: ArgAdder
    build: Callable[[argparse.Namespace], tuple[Any, Any]]


@dataclass
class Command:
    name: str
    help: str
    add_arguments: ArgAdder
    run: Callable[[argparse.Namespace], int | None]


TRAIN_RECIPES: dict[str, Recipe] = {}
COMMANDS: dict[str, Command] = {}
STUDIES: dict[str, Command] = {}


def train_recipe(name: str, help: str, add_arguments: ArgAdder) -> Callable:
    def wrap(build: Callable) -> Callable:
        TRAIN_RECIPES[name] = Recipe(name, help, add_arguments, build)
        return build

    return wrap


def command(name: str, help: str, add_arguments: ArgAdder) -> Callable:
    def wrap(run: Callable) -> Callable:
        COMMANDS[name] = Command(name, help, add_arguments, run)
        return run

    return wrap


def study(name: str, help: str, add_arguments: ArgAdder) -> Callable:
    """Register ``aekit study NAME``: a multi-run experiment (the flow itself lives in aekit.experiments)."""

    def wrap(run: Callable) -> Callable:
        STUDIES[name] = Command(name, help, add_arguments, run)
        return run

    return wrap


def add_option_once(parser: argparse.ArgumentParser, *flags: str, **kwargs: Any) -> None:
    """Add an option unless another module already added it (modules share evaluate/predict flags)."""
    if any(f in parser._option_string_actions for f in flags):
        return
    parser.add_argument(*flags, **kwargs)


SPLIT_FLAGS = ("val_fraction", "test_fraction", "val_data", "test_data", "split_file", "group_pattern",
               "val_groups", "test_groups")  # fmt: skip


def add_split_arguments(p: argparse.ArgumentParser) -> None:
    """How the data is split (aekit.data.splits); recorded in the run's splits.json and reused by evaluate."""
    g = p.add_argument_group("splits (recorded in splits.json; aekit evaluate reuses them)")
    add_option_once(g, "--val-fraction", type=float, default=None, help="share held out for validation (default 0.1)")  # type: ignore[arg-type]
    add_option_once(g, "--test-fraction", type=float, default=None, help="share held out for test (default 0.1)")  # type: ignore[arg-type]
    add_option_once(g, "--val-data", default=None, help="validation items from this folder (same form as --data)")  # type: ignore[arg-type]
    add_option_once(g, "--test-data", default=None, help="test items from this folder (same form as --data)")  # type: ignore[arg-type]
    add_option_once(g, "--split-file", default=None, help="CSV file,split[,group] assigning every item")  # type: ignore[arg-type]
    add_option_once(
        g,  # type: ignore[arg-type]
        "--group-pattern",
        default=None,
        help="regex on file names giving the group (default: prefix before the first _ or -)",
    )
    add_option_once(g, "--val-groups", default=None, help="whole groups held out for validation, e.g. 0006R0")  # type: ignore[arg-type]
    add_option_once(g, "--test-groups", default=None, help="whole groups held out for test")  # type: ignore[arg-type]


def split_options(args: argparse.Namespace) -> dict[str, Any]:
    """The split flags of ``args`` plus its seed, as keyword options for ``open_data``."""
    out = {k: getattr(args, k, None) for k in SPLIT_FLAGS}
    out["seed"] = getattr(args, "seed", 0)
    if getattr(args, "splitting", None) is not None:  # aekit evaluate: the run's recorded split
        out["splitting"] = args.splitting
    return out


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    """Flags every ``aekit train`` recipe takes (engine, run directory, reproducibility)."""
    add_split_arguments(p)
    d = TrainConfig()
    # a recipe's add_arguments runs first and may set its own defaults (p.set_defaults(batch_size=8)); keep them
    epochs = p.get_default("epochs") or d.epochs
    batch_size = p.get_default("batch_size") or d.batch_size
    g = p.add_argument_group("training")
    g.add_argument("--out", type=Path, default=None, help="run directory (default runs/<recipe>)")
    g.add_argument(
        "--config", type=Path, default=None, help="config.yaml of an earlier run: its values become defaults"
    )
    g.add_argument("--epochs", type=int, default=epochs)
    g.add_argument("--batch-size", type=int, default=batch_size)
    g.add_argument("--lr", type=float, default=None, help="learning rate (peak of the one-cycle schedule)")
    g.add_argument("--weight-decay", type=float, default=0.0)
    g.add_argument("--optimizer", default="adamw", choices=["adamw", "adam", "sgd"])
    g.add_argument("--scheduler", default="onecycle", choices=["onecycle", "cosine", "none"])
    g.add_argument("--seed", type=int, default=d.seed)
    g.add_argument(
        "--precision", default=d.precision, help="auto (bf16-mixed where fast, else 32), 32, bf16-mixed, 16-mixed"
    )
    g.add_argument("--accelerator", default=d.accelerator, help="auto, cpu, gpu, ...")
    g.add_argument("--devices", default=d.devices, help="number of devices (e.g. 2 with --strategy ddp)")
    g.add_argument("--strategy", default=d.strategy, help="auto, ddp, ddp_spawn, ...")
    g.add_argument("--patience", type=int, default=None, help="early stopping after N epochs without improvement")
    g.add_argument("--num-workers", type=int, default=0, help="data-loading worker processes")
    g.add_argument("--max-minutes", type=float, default=None, help="stop training after this many minutes")
    g.add_argument(
        "--time-schedule",
        action="store_true",
        help="with --max-minutes: the one-cycle schedule follows elapsed time, so the run anneals within the budget",
    )
    g.add_argument(
        "--channels-last",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="channels_last memory format (default: on with bf16, off at fp32)",
    )
    g.add_argument(
        "--deterministic", action="store_true", help="deterministic kernels (bit-identical GPU reruns; slower)"
    )
    g.add_argument(
        "--resume",
        nargs="?",
        const=True,
        default=None,
        help="continue from --out/last.ckpt, or from the checkpoint given",
    )
    g.add_argument("--no-progress", action="store_true", help="no progress bar (logs only)")


def train_config(args: argparse.Namespace) -> TrainConfig:
    devices = args.devices
    if isinstance(devices, str) and devices.isdigit():
        devices = int(devices)
    values = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "precision": str(args.precision),
        "accelerator": args.accelerator,
        "devices": devices,
        "strategy": args.strategy,
        "patience": args.patience,
        "num_workers": args.num_workers,
        "max_time_minutes": args.max_minutes,
        "progress": not args.no_progress,
        "channels_last": args.channels_last,
        "time_schedule": getattr(args, "time_schedule", False),
        "deterministic": getattr(args, "deterministic", False),
        "monitor": getattr(args, "monitor", None) or TrainConfig.monitor,
        "monitor_mode": getattr(args, "monitor_mode", None) or TrainConfig.monitor_mode,
    }
    known = {f.name for f in fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in values.items() if k in known})


def plain_args(args: argparse.Namespace) -> dict[str, Any]:
    """The parsed flags as YAML-safe values (Paths to strings, internals dropped)."""
    out = {}
    for k, v in vars(args).items():
        if k.startswith("_") or k in ("config", "resume", "command"):
            continue
        out[k] = str(v) if isinstance(v, Path) else v
    return out
