"""Typed configs as dataclasses: one definition gives the Python keywords, the run's YAML and the CLI flags.

A config field is declared once with :func:`option` (default + help + choices + CLI group); everything else is
derived from the dataclass: :func:`to_dict` / :func:`from_dict` (the ``args`` section of a run's config.yaml,
checked with one-line errors), :func:`documented` (the field helps in the class docstring, for ``help()``) and
``aekit.cli.args`` (argparse flags and ``--help``). No argparse here: the library must not depend on the CLI.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import MISSING, field, fields
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


class ConfigError(ValueError):
    """A config value or key that cannot be used; the message names the key (and flag) and the fix."""


def option(
    default: Any = MISSING,
    help: str = "",
    *,
    choices: typing.Sequence[Any] | None = None,
    group: str | None = None,
    flag: str | None = None,
    negate: str | None = None,
    positional: bool = False,
) -> Any:
    """A config field with its help text (and CLI hints: ``group``, a ``flag`` name other than ``--field-name``,
    ``negate="--no-x"`` for a True-by-default switch turned off by a negative flag, ``positional``).

    A list default is copied per instance. No default: the field is required.
    """
    meta = {"help": help, "choices": tuple(choices) if choices else None, "group": group, "flag": flag,
            "negate": negate, "positional": positional}  # fmt: skip
    if isinstance(default, list):
        return field(default_factory=lambda d=default: list(d), metadata=meta)
    return field(default=default, metadata=meta)


def override(default: Any, **meta: Any) -> Any:
    """A subclass's new default (and optionally choices/help) for a field a base class declared with its help."""
    extra = {k: (tuple(v) if k == "choices" and v else v) for k, v in meta.items()}
    if isinstance(default, list):
        return field(default_factory=lambda d=default: list(d), metadata=extra)
    return field(default=default, metadata=extra)


def field_info(cls: type, name: str) -> dict[str, Any]:
    """The merged metadata of field ``name``: base classes first, subclasses override what they set."""
    out: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        f = getattr(klass, "__dataclass_fields__", {}).get(name)
        if f is not None:
            out.update({k: v for k, v in f.metadata.items() if v is not None})
    return out


def flag_of(cls: type, name: str) -> str:
    info = field_info(cls, name)
    return info.get("flag") or info.get("negate") or "--" + name.replace("_", "-")


def hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def default_of(f: dataclasses.Field) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return MISSING


def _args(tp: Any) -> tuple[Any, ...]:
    return typing.get_args(tp) if typing.get_origin(tp) in (typing.Union, types.UnionType) else (tp,)


def type_name(tp: Any) -> str:
    parts = []
    for t in _args(tp):
        if t is type(None):
            continue
        if typing.get_origin(t) is list:
            parts.append(f"list of {typing.get_args(t)[0].__name__}")
        else:
            parts.append(getattr(t, "__name__", str(t)))
    return " or ".join(parts) + (" or None" if type(None) in _args(tp) else "")


def coerce(value: Any, tp: Any) -> Any:
    """``value`` as type ``tp`` (YAML and CLI strings accepted where unambiguous); TypeError if it cannot be."""
    options = _args(tp)
    if value is None:
        if type(None) in options:
            return None
        raise TypeError("may not be empty")
    errors = []
    for t in options:
        if t is type(None):
            continue
        try:
            return _coerce_one(value, t)
        except (TypeError, ValueError) as exc:
            errors.append(exc)
    raise TypeError(str(errors[0]) if errors else "has no usable type")


def _coerce_one(value: Any, t: Any) -> Any:
    if t is bool:
        if isinstance(value, bool):
            return value
        raise TypeError(f"must be true or false, not {value!r}")
    if t is int:
        if isinstance(value, (bool, list, dict)):
            raise TypeError(f"must be an integer, not {value!r}")
        try:
            out = int(value)
        except (TypeError, ValueError):
            raise TypeError(f"must be an integer, not {value!r}") from None
        if isinstance(value, float) and out != value:
            raise TypeError(f"must be an integer, not {value!r}")
        return out
    if t is float:
        if isinstance(value, (bool, list, dict)):
            raise TypeError(f"must be a number, not {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise TypeError(f"must be a number, not {value!r}") from None
    if t is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, Path):
            return str(value)
        raise TypeError(f"must be a string, not {value!r}")
    if typing.get_origin(t) is list:
        inner = typing.get_args(t)[0]
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"must be a list of {inner.__name__} (e.g. 1,2,3), not {value!r}")
        try:
            return [_coerce_one(v, inner) for v in value]
        except TypeError:
            raise TypeError(f"must be a list of {inner.__name__} (e.g. 1,2,3), not {value!r}") from None
    return value


def check_value(cls: type, name: str, value: Any, where: str = "config") -> Any:
    """``value`` coerced to field ``name``'s type and checked against its choices, or a one-line ConfigError."""
    tp = hints(cls)[name]
    try:
        out = coerce(value, tp)
    except TypeError as exc:
        raise ConfigError(f"{where}: {name} {exc} ({flag_of(cls, name)})") from None
    choices = field_info(cls, name).get("choices")
    if choices and out is not None and out not in choices:
        raise ConfigError(f"{where}: {name} {out!r} is not one of {', '.join(map(str, choices))} "
                          f"({flag_of(cls, name)})")  # fmt: skip
    return out


def legacy_values(cls: type, values: dict[str, Any]) -> dict[str, Any]:
    """Keys older runs wrote: ``no_x: true`` for a field ``x`` with a negative flag becomes ``x: false``;
    keys listed in the class's ``legacy_keys`` (values the recipe used to record itself) are dropped."""
    names = {f.name for f in fields(cls)}
    out = {}
    for key, value in values.items():
        key = str(key)
        if key in names:
            out[key] = value
        elif key.startswith("no_") and key[3:] in names and field_info(cls, key[3:]).get("negate"):
            out[key[3:]] = (not value) if isinstance(value, bool) else value
        elif key not in getattr(cls, "legacy_keys", ()):
            out[key] = value  # unknown: from_dict names it
    return out


def checked_values(cls: type, values: dict[str, Any], where: str = "config") -> dict[str, Any]:
    """``values`` (a run's ``args`` or keyword arguments) checked against ``cls``: known keys, right types,
    allowed choices. Returns the coerced values (no defaults filled in)."""
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a mapping of option names to values, not {type(values).__name__}")
    values = legacy_values(cls, values)
    names = [f.name for f in fields(cls)]
    unknown = [k for k in values if k not in names]
    if unknown:
        hint = "; ".join(f"{k}: did you mean {m[0]}?" for k in unknown[:5]
                         if (m := difflib.get_close_matches(k, names, n=1)))  # fmt: skip
        flags = ", ".join("--" + k.replace("_", "-") for k in unknown[:5])
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown[:5])} ({flags} is not an option of "
                          f"{getattr(cls, 'name', '') or cls.__name__}){'; ' + hint if hint else ''}; "
                          "remove them or fix the spelling")  # fmt: skip
    return {k: check_value(cls, k, v, where) for k, v in values.items()}


def from_dict(cls: type[T], values: dict[str, Any], where: str = "config") -> T:
    """A typed config from plain values (e.g. YAML), checked; missing keys take the field defaults."""
    checked = checked_values(cls, values, where)
    missing = [f.name for f in fields(cls) if default_of(f) is MISSING and f.name not in checked]  # type: ignore[arg-type]
    if missing:
        flags = ", ".join(flag_of(cls, m) for m in missing)
        raise ConfigError(f"{where}: {', '.join(missing)} is required ({flags})")
    return cls(**checked)


def to_dict(cfg: Any) -> dict[str, Any]:
    """The config's fields as YAML-safe plain values (lists, strings, numbers, booleans, None)."""

    def plain(v: Any) -> Any:
        if isinstance(v, Path):
            return str(v)
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        return v

    return {f.name: plain(getattr(cfg, f.name)) for f in fields(cfg)}


def replace(cfg: T, where: str = "keyword arguments", **changes: Any) -> T:
    """``cfg`` with ``changes`` applied after the same checks as :func:`from_dict`."""
    checked = checked_values(type(cfg), changes, where)
    return dataclasses.replace(cfg, **checked)  # type: ignore[type-var]


def read_yaml(path: str | Path, where: str | None = None) -> Any:
    """``yaml.safe_load`` of ``path`` with a one-line error (line and column) for broken YAML."""
    path = Path(path)
    where = where or str(path)
    if not path.is_file():
        raise FileNotFoundError(f"{where} does not exist")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where} is not valid YAML{at}: {problem}") from None


def documented(cls: type[T]) -> type[T]:
    """Append every field's type, default and help to the class docstring, so ``help(cls)`` documents them."""
    lines = []
    shared = ("splits", "training")  # the engine's and the split's fields after the problem's own
    ordered = sorted(fields(cls), key=lambda f: str(field_info(cls, f.name).get("group")).startswith(shared))  # type: ignore[arg-type]
    for f in ordered:
        info = field_info(cls, f.name)
        default = default_of(f)
        shown = "required" if default is MISSING else f"default {default!r}"
        choices = f"; one of {', '.join(map(str, info['choices']))}" if info.get("choices") else ""
        lines.append(f"    {f.name} ({type_name(hints(cls)[f.name])}, {shown}{choices}): {info.get('help', '')}")
    base = (cls.__dict__.get("__doc__") or "").rstrip()
    cls.__doc__ = f"{base}\n\nFields:\n" + "\n".join(lines) + "\n"
    return cls
