"""Recipe dataclass -> argparse: flags, ``--help`` text, groups, switches, lists and choices, all generated from
the fields (:mod:`aekit.config`); and the parsed namespace -> the typed config. No field is written here."""

from __future__ import annotations

import argparse
import types
import typing
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

from aekit.config import coerce, default_of, field_info, hints
from aekit.recipes import Recipe

LAST_GROUPS = ("splits", "training")  # shared groups after the problem's own (data, model, ...)


def _parser_type(tp: Any) -> Any:
    """The callable argparse converts a flag's text with (the config checks the value again)."""
    union = typing.get_origin(tp) in (typing.Union, types.UnionType)
    inner = [t for t in typing.get_args(tp) if t is not type(None)] if union else [tp]
    if len(inner) > 1:  # e.g. int | str: keep the text, the config decides
        return str
    t = inner[0]
    if typing.get_origin(t) is list:
        return lambda text: coerce(text, t)
    return t if t in (int, float, str, Path) else str


def add_config_arguments(parser: argparse.ArgumentParser, cls: type[Recipe]) -> None:
    """One flag per field of ``cls`` (``--field-name``), in argument groups named by the fields' ``group``."""
    groups: dict[str | None, Any] = {}
    specs = []
    for f in fields(cls):
        info = field_info(cls, f.name)
        specs.append((f, info))
    order = [info.get("group") for _, info in specs]
    names = list(dict.fromkeys(order))
    last = [g for g in names if any(str(g).startswith(x) for x in LAST_GROUPS)]
    names = [g for g in names if g == "data"] + [g for g in names if g != "data" and g not in last] + last
    for g in names:
        groups[g] = parser if g is None else parser.add_argument_group(g)
    annotations = hints(cls)
    for f, info in sorted(specs, key=lambda s: (names.index(s[1].get("group")), s[0].name != "data")):  # data first
        target = groups[info.get("group")]
        default = default_of(f)
        tp = annotations[f.name]
        kwargs: dict[str, Any] = {"help": info.get("help", "")}
        if info.get("positional"):
            target.add_argument(f.name, type=_parser_type(tp), **kwargs)
            continue
        flag = info.get("flag") or "--" + f.name.replace("_", "-")
        if tp is bool or tp == "bool":
            if info.get("negate"):
                kwargs["help"] = f"turn off (on by default): {kwargs['help']}"
                target.add_argument(info["negate"], dest=f.name, action="store_false", default=default, **kwargs)
            else:
                target.add_argument(flag, dest=f.name, action="store_true", default=default, **kwargs)
            continue
        if typing.get_origin(tp) in (typing.Union, types.UnionType) and set(typing.get_args(tp)) == {bool, type(None)}:
            target.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=default, **kwargs)
            continue
        if info.get("choices"):
            kwargs["choices"] = list(info["choices"])
        if default is MISSING:
            kwargs["required"] = True
        else:
            kwargs["default"] = default
            if default is not None and "default" not in kwargs["help"]:
                shown = ",".join(map(str, default)) if isinstance(default, list) else default
                kwargs["help"] = f"{kwargs['help']} (default {shown})"
        target.add_argument(flag, dest=f.name, type=_parser_type(tp), **kwargs)


def add_option_flags(parser: argparse.ArgumentParser, classes: list[type], notes: dict[str, str] | None = None) -> None:
    """One flag per field of several option dataclasses (``aekit evaluate``/``predict``: every task's options),
    each added once; ``notes[name]`` is appended to its help.

    Optional flags default to ``argparse.SUPPRESS``: values not given stay out of the namespace, so the
    dataclass default is the only default (the help shows it), and the library refuses an option the
    checkpoint's task does not take only when it was given.
    """
    seen: set[str] = set()
    pairs = [(cls, f) for cls in classes for f in fields(cls)]
    for cls, f in sorted(pairs, key=lambda p: p[1].name != "data"):  # --data first, then in declaration order
        annotations = hints(cls)
        if f.name in seen:
            continue
        seen.add(f.name)
        info = field_info(cls, f.name)
        tp, default = annotations[f.name], default_of(f)
        help_text = info.get("help", "")
        if default not in (MISSING, None, False, ""):
            help_text += f" (default: {default})"
        kwargs: dict[str, Any] = {"dest": f.name, "help": help_text + (notes or {}).get(f.name, "")}
        if tp is bool:
            kwargs["action"] = "store_true"
        else:
            kwargs["type"] = _parser_type(tp)
        if info.get("choices"):
            kwargs["choices"] = list(info["choices"])
        if default is MISSING:
            kwargs["required"] = True
        else:
            kwargs["default"] = argparse.SUPPRESS
        parser.add_argument(info.get("flag") or "--" + f.name.replace("_", "-"), **kwargs)


def add_run_arguments(parser: argparse.ArgumentParser, cls: type[Recipe]) -> None:
    """``--out``, ``--config`` (and ``--resume`` for training recipes): how to run, not what (not config fields)."""
    g = parser.add_argument_group("run")
    g.add_argument("--out", type=Path, default=None, help=f"run directory (default runs/{cls.name.replace('-', '_')})")
    g.add_argument("--config", type=Path, default=None,
                   help="config.yaml of an earlier run: its values become defaults, flags override")  # fmt: skip
    if cls.kind == "train":
        g.add_argument("--resume", nargs="?", const=True, default=None,
                       help="continue from --out/last.ckpt, or from the checkpoint given")  # fmt: skip


def config_from_args(cls: type[Recipe], args: argparse.Namespace) -> Recipe:
    """The typed config of parsed flags (values checked as from YAML)."""
    values = {f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)}
    return cls.from_dict(values, where=f"aekit {cls.name}")


def apply_saved_defaults(parser: argparse.ArgumentParser, cls: type[Recipe], path: Path) -> None:
    """``--config run/config.yaml``: the saved values become the parser's defaults (flags still override); a
    required flag the file supplies is no longer required."""
    values = cls.saved_values(path, where=f"--config {path}")
    parser.set_defaults(**values)
    for action in parser._actions:
        if action.dest in values:
            action.required = False
            if not action.option_strings:  # a positional the file supplies may be left out
                action.nargs = "?"
