"""Every registered recipe (timm style, generated over ``list_recipes()``): one typed config, the same from Python,
YAML and the CLI; fields documented; bad keys and values stop with one line."""

from __future__ import annotations

import typing
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

import pytest

import aekit
from aekit.cli.main import build_parser, main, parse_config
from aekit.config import ConfigError, default_of, field_info, from_dict, hints
from aekit.recipes import Recipe, get_recipe, list_recipes

REQUIRED = {"data": "pairs:imgs,masks", "checkpoint": "runs/ae/best.ckpt", "labels_per_class": 5}


def command_of(cls: type[Recipe]) -> list[str]:
    return {"train": ["train", cls.name], "study": ["study", cls.name], "command": [cls.name]}[cls.kind]


def changed_value(cls: type[Recipe], name: str, default: Any) -> Any:
    """A valid value of field ``name`` that differs from its default (so the round trip cannot pass by defaults)."""
    tp = hints(cls)[name]
    choices = field_info(cls, name).get("choices")
    if choices:
        return next((c for c in choices if c != default), default)
    inner = [t for t in typing.get_args(tp) if t is not type(None)] if typing.get_origin(tp) is not list else [tp]
    t = (inner or [tp])[0]
    if tp is bool:
        return not default
    if t is bool:  # bool | None
        return True
    if t is int:
        return (default or 0) + 3
    if t is float:
        return (default or 0.0) + 0.25
    if typing.get_origin(t) is list:
        return ["nearest", "bilinear"] if typing.get_args(t)[0] is str else [3, 5, 7]
    return f"{name}-value"


def full_config(cls: type[Recipe]) -> Recipe:
    values = {}
    for f in fields(cls):
        default = default_of(f)
        values[f.name] = REQUIRED[f.name] if default is MISSING else changed_value(cls, f.name, default)
    return cls(**values)


RECIPES = list_recipes()


def test_every_problem_of_the_issue_has_a_recipe() -> None:
    expected = {"ae", "segnet", "fcn", "unet", "sr", "depth", "stereo-depth", "finetune", "label-efficiency",
                "upsampling"}  # fmt: skip
    assert expected <= set(RECIPES)


@pytest.mark.parametrize("name", RECIPES)
def test_python_yaml_cli_round_trip_gives_the_same_typed_config(name: str, tmp_path: Path) -> None:
    cls = get_recipe(name)
    cfg = full_config(cls)
    path = cfg.to_yaml(tmp_path / "config.yaml")
    assert aekit.recipes.load(path) == cfg  # Python -> YAML -> typed
    assert parse_config([*command_of(cls), "--config", str(path)]) == cfg  # YAML -> CLI --config -> typed
    assert from_dict(cls, cfg.to_dict()) == cfg
    # flags override the saved values
    seed_field = "seed" if any(f.name == "seed" for f in fields(cls)) else "split_seed"
    again = parse_config([*command_of(cls), "--config", str(path), "--" + seed_field.replace("_", "-"), "11"])
    assert getattr(again, seed_field) == 11 and again != cfg


@pytest.mark.parametrize("name", RECIPES)
def test_cli_defaults_are_the_dataclass_defaults(name: str) -> None:
    cls = get_recipe(name)
    required = [f.name for f in fields(cls) if default_of(f) is MISSING]
    argv = [*command_of(cls)]
    for r in required:
        info = field_info(cls, r)
        argv += [str(REQUIRED[r])] if info.get("positional") else ["--" + r.replace("_", "-"), str(REQUIRED[r])]
    assert parse_config(argv) == cls(**{r: REQUIRED[r] for r in required})


@pytest.mark.parametrize("name", RECIPES)
def test_every_field_has_help_in_the_docstring_and_in_cli_help(name: str, capsys: pytest.CaptureFixture) -> None:
    cls = get_recipe(name)
    with pytest.raises(SystemExit):
        main([*command_of(cls), "--help"])
    text = capsys.readouterr().out
    for f in fields(cls):
        info = field_info(cls, f.name)
        assert info.get("help"), f"{name}.{f.name} has no help text"
        flag = f.name if info.get("positional") else info.get("negate") or info.get("flag") or "--" + f.name.replace(
            "_", "-")
        assert flag in text, f"{flag} missing from aekit {' '.join(command_of(cls))} --help"
        assert f"    {f.name} (" in cls.__doc__, f"{f.name} not documented in help({cls.__name__})"


@pytest.mark.parametrize("name", RECIPES)
def test_unknown_keys_and_wrong_types_give_one_line_naming_the_key(name: str) -> None:
    cls = get_recipe(name)
    required = {f.name: REQUIRED[f.name] for f in fields(cls) if default_of(f) is MISSING}
    with pytest.raises(ConfigError, match="unknown key.*bogus_key") as err:
        cls.from_dict({**required, "bogus_key": 1})
    assert "\n" not in str(err.value)
    int_field = next(f.name for f in fields(cls) if hints(cls)[f.name] is int and f.name not in required)
    with pytest.raises(ConfigError, match=f"{int_field} must be an integer, not 'many'") as err:
        cls.from_dict({**required, int_field: "many"})
    assert "\n" not in str(err.value) and "--" in str(err.value)  # the flag is named


def test_choices_and_misspellings_are_explained() -> None:
    with pytest.raises(ConfigError, match="optimizer 'adagrad' is not one of adamw, adam, sgd"):
        aekit.recipes.UNet.from_dict({"data": "x", "optimizer": "adagrad"})
    with pytest.raises(ConfigError, match="did you mean epochs"):
        aekit.recipes.Autoencoder.from_dict({"epoks": 3})
    with pytest.raises(ConfigError, match="data is required"):
        aekit.recipes.SegNet.from_dict({})


def test_older_run_configs_still_load(tmp_path: Path) -> None:
    """``args`` of an earlier aekit: negative switches (no_hflip) and keys the recipe recorded (recipe, monitor)."""
    path = tmp_path / "config.yaml"
    path.write_text("recipe: segnet\nargs:\n  recipe: segnet\n  data: camvid:x\n  no_hflip: true\n  no_augment: false\n"
                    "  monitor: val/miou\n  monitor_mode: max\n  out: runs/segnet\n  widths: [8, 16]\n"
                    "  no_progress: true\ntrain: {epochs: 3}\n")  # fmt: skip
    cfg = aekit.recipes.load(path)
    assert isinstance(cfg, aekit.recipes.SegNet)
    assert (cfg.hflip, cfg.augment, cfg.progress, cfg.widths) == (False, True, False, [8, 16])


def test_negative_flags_keep_their_names() -> None:
    cfg = parse_config(["train", "segnet", "--data", "camvid:x", "--no-hflip", "--no-progress", "--widths", "4,8"])
    assert cfg.hflip is False and cfg.augment is True and cfg.progress is False and cfg.widths == [4, 8]


def test_every_cli_recipe_comes_from_the_registry() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    train = next(a for a in sub.choices["train"]._actions if a.dest == "recipe")
    assert sorted(train.choices) == list_recipes("train")
    assert set(list_recipes("command")) <= set(sub.choices)


def test_split_fields_are_the_split_options_every_reader_takes() -> None:
    from aekit.data.options import SPLIT_KEYS
    from aekit.recipes import SplitFields

    assert [f.name for f in fields(SplitFields)] == list(SPLIT_KEYS)
