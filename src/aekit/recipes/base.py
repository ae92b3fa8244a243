"""What every recipe shares: the registry, the split and training fields, and the run of a training recipe.

A recipe is a dataclass (:mod:`aekit.config`): its fields are the Python keywords, the ``args`` section of the
run's config.yaml and the CLI flags (``aekit.cli.args`` generates them). A training recipe subclasses
:class:`TrainRecipe` and implements ``build() -> (task, datamodule)``; ``run(out)`` trains it through
:func:`aekit.engine.fit` into the same run directory ``aekit train NAME`` leaves.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from aekit.config import ConfigError, checked_values, documented, from_dict, option, read_yaml, to_dict
from aekit.data.options import split_options
from aekit.engine import FitResult, TrainConfig

R = TypeVar("R", bound=type)

RECIPES: dict[str, type[Recipe]] = {}

# keys older aekit versions wrote into a run's ``args`` that are not config fields (set by the recipe or the CLI)
LEGACY_KEYS = ("recipe", "monitor", "monitor_mode", "out", "config", "resume", "command", "study")
CONFIG_SECTIONS = ("recipe", "args", "task", "train")


def register_recipe(cls: R) -> R:
    """Class decorator (timm style): make the recipe known by its ``name`` and document its fields."""
    if not getattr(cls, "name", ""):
        raise ValueError(f"{cls.__name__} needs a class attribute name")
    documented(cls)
    RECIPES[cls.name] = cls  # type: ignore[attr-defined]
    return cls


def list_recipes(kind: str | None = None) -> list[str]:
    """Names of the registered recipes (``kind``: train, command or study; None: all)."""
    return sorted(n for n, c in RECIPES.items() if kind is None or c.kind == kind)


def get_recipe(name: str) -> type[Recipe]:
    if name not in RECIPES:
        raise ConfigError(f"unknown recipe {name!r}; available: {', '.join(list_recipes())}")
    return RECIPES[name]


def load(path: str | Path, recipe: str | None = None) -> Recipe:
    """The typed config of a run's config.yaml (or of a YAML file with ``recipe:`` and ``args:``)."""
    return get_recipe(recipe or saved_recipe(path)).from_yaml(path)


def saved_recipe(path: str | Path) -> str:
    saved = read_yaml(path)
    if not isinstance(saved, dict) or not saved.get("recipe"):
        raise ConfigError(f"{path} names no recipe (a 'recipe:' line as aekit train writes it)")
    return str(saved["recipe"])


@dataclass(kw_only=True)
class Recipe:
    """Base of every recipe config."""

    name: ClassVar[str] = ""
    kind: ClassVar[str] = "train"  # train (aekit train NAME), command (aekit NAME), study (aekit study NAME)
    help: ClassVar[str] = ""
    legacy_keys: ClassVar[tuple[str, ...]] = LEGACY_KEYS

    @classmethod
    def from_dict(cls, values: dict[str, Any], where: str = "config") -> Recipe:
        return from_dict(cls, values, where)

    @classmethod
    def saved_values(cls, path: str | Path, where: str | None = None) -> dict[str, Any]:
        """The checked ``args`` of a saved config.yaml (no defaults filled in): known sections and keys, values of
        the field's type and choices; the recipe must be this one."""
        where = where or str(path)
        saved = read_yaml(path, where) or {}
        if not isinstance(saved, dict) or not isinstance(saved.get("args") or {}, dict):
            raise ConfigError(f"{where} must be a mapping with an 'args' section (as aekit train writes it)")
        unknown = [str(k) for k in saved if k not in CONFIG_SECTIONS]
        if unknown:
            raise ConfigError(f"{where}: unknown section(s) {', '.join(unknown)}; known: {', '.join(CONFIG_SECTIONS)}")
        if saved.get("recipe") not in (None, cls.name):
            raise ConfigError(f"{where} is a {saved['recipe']!r} config, not {cls.name!r}")
        return checked_values(cls, saved.get("args") or {}, where)

    @classmethod
    def from_yaml(cls, path: str | Path) -> Recipe:
        return from_dict(cls, cls.saved_values(path), str(path))

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    def to_yaml(self, path: str | Path) -> Path:
        """Write ``recipe`` + ``args`` (the form ``aekit train --config`` and :func:`load` read)."""
        import yaml

        from aekit.io import atomic_write_bytes

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump({"recipe": self.name, "args": self.to_dict()}, sort_keys=False)
        atomic_write_bytes(path, text.encode())
        return path

    def default_out(self) -> Path:
        """Where a run goes when no ``out`` is given: ``runs/<name>``."""
        return Path("runs") / self.name

    def run(self, out: str | Path | None = None, resume: str | Path | bool | None = None) -> Any:
        raise NotImplementedError


SPLITS = "splits (recorded in splits.json; aekit evaluate reuses them)"


@dataclass(kw_only=True)
class SplitFields:
    """How the data is split (aekit.data.splits); recorded in the run's splits.json and reused by evaluate."""

    val_fraction: float | None = option(None, help="share held out for validation (default 0.1)", group=SPLITS)
    test_fraction: float | None = option(None, help="share held out for test (default 0.1)", group=SPLITS)
    val_data: str | None = option(None, help="validation items from this folder (same form as --data)", group=SPLITS)
    test_data: str | None = option(None, help="test items from this folder (same form as --data)", group=SPLITS)
    split_file: str | None = option(None, help="CSV file,split[,group] assigning every item", group=SPLITS)
    group_pattern: str | None = option(
        None, help="regex on file names giving the group (default: prefix before the first _ or -)", group=SPLITS
    )
    val_groups: str | None = option(None, help="whole groups held out for validation, e.g. 0006R0", group=SPLITS)
    test_groups: str | None = option(None, help="whole groups held out for test", group=SPLITS)

    def split_options(self) -> dict[str, Any]:
        return split_options(self)


TRAINING = "training"


@dataclass(kw_only=True)
class TrainFields:
    """Engine settings every training recipe takes (mapped to :class:`aekit.engine.TrainConfig`)."""

    epochs: int = option(TrainConfig.epochs, help="training epochs", group=TRAINING)
    batch_size: int = option(TrainConfig.batch_size, help="images per batch", group=TRAINING)
    lr: float | None = option(None, help="learning rate (peak of the one-cycle schedule; default per recipe)",
                              group=TRAINING)  # fmt: skip
    weight_decay: float = option(0.0, help="AdamW/SGD weight decay", group=TRAINING)
    optimizer: str = option("adamw", help="optimiser", choices=["adamw", "adam", "sgd"], group=TRAINING)
    scheduler: str = option("onecycle", help="learning-rate schedule", choices=["onecycle", "cosine", "none"],
                            group=TRAINING)  # fmt: skip
    seed: int = option(TrainConfig.seed, help="seed of the split, the initialisation and the batches", group=TRAINING)
    precision: str = option(TrainConfig.precision, help="auto (bf16-mixed where fast, else 32; "
                            "AEKIT_FAST_BF16=1|0 forces it), 32, 32-true, bf16-mixed, 16-mixed, bf16-true",
                            group=TRAINING)  # fmt: skip
    accelerator: str = option(TrainConfig.accelerator, help="auto, cpu, gpu, ...", group=TRAINING)
    devices: int | str = option(TrainConfig.devices, help="number of devices (e.g. 2 with --strategy ddp)",
                                group=TRAINING)  # fmt: skip
    strategy: str = option(TrainConfig.strategy, help="auto, ddp, ddp_spawn, ...", group=TRAINING)
    patience: int | None = option(None, help="early stopping after N epochs without improvement", group=TRAINING)
    num_workers: int = option(0, help="data-loading worker processes", group=TRAINING)
    max_minutes: float | None = option(None, help="stop training after this many minutes", group=TRAINING)
    time_schedule: bool = option(False, help="with --max-minutes: the one-cycle schedule follows elapsed time, so "
                                 "the run anneals within the budget", group=TRAINING)  # fmt: skip
    channels_last: bool | None = option(None, help="channels_last memory format (default: on with bf16, off at "
                                        "fp32)", group=TRAINING)  # fmt: skip
    deterministic: bool = option(False, help="deterministic kernels (bit-identical GPU reruns; slower)",
                                 group=TRAINING)  # fmt: skip
    progress: bool = option(True, help="progress bar on a terminal", negate="--no-progress",
                            group=TRAINING)  # fmt: skip
    logger: str = option("csv", help="training log: csv (metrics.csv) or tensorboard (also events for "
                         "TensorBoard under tensorboard/)", choices=["csv", "tensorboard"], group=TRAINING)  # fmt: skip

    def train_config(self, monitor: str | None = None, monitor_mode: str | None = None) -> TrainConfig:
        """The engine's settings (``monitor``: the metric that picks best.ckpt, default val/loss)."""
        devices: int | str = self.devices
        if isinstance(devices, str) and devices.isdigit():
            devices = int(devices)
        return TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            seed=self.seed,
            precision=str(self.precision),
            accelerator=self.accelerator,
            devices=devices,
            strategy=self.strategy,
            patience=self.patience,
            num_workers=self.num_workers,
            max_time_minutes=self.max_minutes,
            progress=self.progress,
            channels_last=self.channels_last,
            time_schedule=self.time_schedule,
            deterministic=self.deterministic,
            monitor=monitor or TrainConfig.monitor,
            monitor_mode=monitor_mode or TrainConfig.monitor_mode,
            logger=self.logger,
        )

    def optim(self, default_lr: float) -> dict[str, Any]:
        """The optimiser keywords every task takes (``lr`` falls back to the recipe's default)."""
        return {"lr": self.lr or default_lr, "weight_decay": self.weight_decay, "optimizer": self.optimizer,
                "scheduler": self.scheduler}  # fmt: skip


@dataclass(kw_only=True)
class TrainRecipe(Recipe, SplitFields, TrainFields):
    """A recipe that trains one model into one run directory (``aekit train NAME``)."""

    def build(self) -> tuple[Any, Any]:
        """``(task, datamodule)`` for this config; may call :meth:`monitor` to choose the best-checkpoint metric."""
        raise NotImplementedError

    def datamodule(self, splits: Any) -> Any:
        """The one DataModule over opened splits, with this config's batch size, workers and seed."""
        from aekit.data import DataModule

        return DataModule(splits, self.batch_size, self.num_workers, self.seed)

    def monitor(self, metric: str, mode: str) -> None:
        """The metric (and min/max) that chooses best.ckpt, decided by ``build`` (e.g. val/miou when there is a val
        split)."""
        self._monitor = (metric, mode)

    def run(self, out: str | Path | None = None, resume: str | Path | bool | None = None) -> FitResult:
        """Seed, build, train; the run directory holds config.yaml (recipe/args/task/train), metrics, weights."""
        import lightning.pytorch as L

        from aekit.engine import fit, set_threads

        set_threads()
        out = Path(out) if out is not None else self.default_out()
        L.seed_everything(self.seed, workers=True, verbose=False)
        self._monitor: tuple[str, str] | None = None
        task, datamodule = self.build()
        config = {"recipe": self.name, "args": self.to_dict(), "task": dict(task.hparams)}
        result = fit(task, datamodule, out, self.train_config(*(self._monitor or ())), config, resume=resume)
        written = result.run_dir / "config.yaml"  # as written (rank 0), with the resolved train section
        result.config = read_yaml(written) if written.is_file() else config
        return result
