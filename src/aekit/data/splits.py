"""Train/val/test assignment for every file-based data source, in one place, and its record.

Why one module: a test split is only honest if the same files are held out at training and at
evaluation. Every source lists its items (files or pairs, each with a name), then calls
:func:`assign_splits`, which applies, in this order:

1. ``record`` (a run's ``splits.json``): exactly the recorded names, nothing re-drawn;
2. user splits: ``val_data`` / ``test_data`` (other folders, listed by the source), a ``split_file``
   CSV (``file,split[,group]``), or a group hold-out: ``val_groups`` / ``test_groups`` name groups taken
   from the file name (``group_pattern``, default: the prefix before the first ``_`` or ``-``, e.g.
   CamVid's 0016E5/0006R0/0001TP/Seq05VD) or from the CSV's ``group`` column (a named group overrides
   the CSV's split column for its items, so one CSV serves every leave-one-group-out fold);
3. a seeded split of what is left (``val_fraction``, ``test_fraction``); when groups are known (a
   pattern or a group column was given) whole groups are drawn, so no group straddles two splits.
   A source with its own fixed splits (CamVid) passes ``home`` instead: what the user did not place
   keeps the split the source gives it, so a group hold-out moves only the named groups.

The result carries a record (seed, method, names per split) that the engine writes to the run
directory and ``aekit evaluate`` reads back. :func:`leave_one_group_out` gives one such spec per group
(leave-one-sequence-out / leave-one-patient-out cross-validation).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from aekit.data.base import DataError

T = TypeVar("T")
SPLITS = ("train", "val", "test")
DEFAULT_GROUP_PATTERN = r"^(.+?)[_-]"
SPLITS_FILE = "splits.json"


@dataclass
class SplitSpec:
    """How to split a source (see module docstring). ``None`` fractions mean the source's defaults."""

    seed: int = 0
    val_fraction: float | None = None
    test_fraction: float | None = None
    val_data: str | None = None
    test_data: str | None = None
    split_file: str | None = None
    group_pattern: str | None = None
    val_groups: list[str] | None = None
    test_groups: list[str] | None = None
    record: dict[str, Any] | None = field(default=None, repr=False)

    def options(self) -> dict[str, Any]:
        """The user-facing settings (no record), as saved in ``splits.json``."""
        out = asdict(self)
        out.pop("record")
        return out

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> SplitSpec:
        """Build from keyword options (the CLI's flags; unknown keys ignored, comma strings split)."""
        kw: dict[str, Any] = {}
        for name in cls.__dataclass_fields__:
            value = options.get(name)
            if value is None:
                continue
            if name in ("val_groups", "test_groups") and isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            kw[name] = value
        return cls(**kw)


def _match_keys(name: str) -> list[str]:
    """Ways a CSV row may name an item: the full name, the file name, the stem."""
    p = Path(name)
    return [name, p.name, p.stem]


def group_of(name: str, pattern: str) -> str:
    """The group of a file name by a regex: its first capture group, else the whole match, else the stem."""
    stem = Path(name).name
    m = re.search(pattern, stem)
    if m is None:
        return Path(name).stem
    return m.group(1) if m.groups() else m.group(0)


def read_split_file(path: str | Path) -> dict[str, tuple[str, str | None]]:
    """``file,split[,group]`` rows -> {file: (split, group)}; split is train/val/test."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"--split-file {path} does not exist (CSV with columns file,split and optional group)")
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or not {"file", "split"} <= set(rows[0]):
        raise DataError(f"--split-file {path} needs a header with columns file,split (optional: group)")
    out = {}
    for line, row in enumerate(rows, start=2):
        split = (row["split"] or "").strip().lower()
        if split not in SPLITS:
            raise DataError(f"{path} line {line}: split {row['split']!r} is not train, val or test")
        group = (row.get("group") or "").strip() or None
        out[(row["file"] or "").strip()] = (split, group)
    return out


def _seeded_cut(keys: list[str], val_fraction: float, test_fraction: float, seed: int) -> dict[str, str]:
    """Seeded permutation of unique keys -> split per key; at least one training key is kept."""
    n = len(keys)
    perm = np.random.default_rng(seed).permutation(n).tolist()
    n_test = min(n - 1, max(1, round(n * test_fraction))) if test_fraction > 0 and n > 1 else 0
    if test_fraction >= 1:
        n_test = n
    n_val = min(n - n_test - 1, max(1, round(n * val_fraction))) if val_fraction > 0 and n - n_test > 1 else 0
    out = {}
    for rank, i in enumerate(perm):
        out[keys[i]] = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
    return out


def assign_splits(
    items: Sequence[T],
    name_of: Callable[[T], str],
    spec: SplitSpec,
    source: str,
    default_val: float = 0.1,
    default_test: float = 0.1,
    lister: Callable[[str], Sequence[T]] | None = None,
    home: Callable[[T], str] | None = None,
) -> tuple[dict[str, list[T]], dict[str, Any]]:
    """Split ``items`` (see module docstring) -> ({split: items}, record). ``lister`` reads --val/--test-data;
    ``home`` (item -> train/val/test) places what the user did not, instead of the seeded cut."""
    pool = list(items)
    fixed: dict[str, str] = {}  # name -> split decided by the user
    from_csv: set[str] = set()  # names placed by the split file's split column (a named group overrides it)
    methods = []
    for split, arg in (("val", spec.val_data), ("test", spec.test_data)):
        if arg:
            if lister is None:
                raise DataError(f"--{split}-data is not supported by the data source {source.partition(':')[0]!r}")
            extra = list(lister(arg))
            if not extra:
                raise DataError(f"--{split}-data {arg} holds no items")
            pool += extra
            fixed.update({name_of(it): split for it in extra})
            methods.append(f"{split} from --{split}-data {arg}")
    names = [name_of(it) for it in pool]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise DataError(f"{dup} appears twice in {source} (and --val-data/--test-data); each item may be in one split")
    by_name = dict(zip(names, pool))

    if spec.record is not None:
        chosen = {}
        for split in SPLITS:
            wanted = spec.record.get(split) or []
            missing = [n for n in wanted if n not in by_name]
            if missing:
                raise DataError(
                    f"the run's {SPLITS_FILE} lists {missing[0]} ({split}) but {source} has no such item "
                    f"({len(missing)} missing); evaluate on the data the run was trained on, or pass --split all"
                )
            chosen[split] = [by_name[n] for n in wanted]
        record = {**spec.record, "reused": True}
        return chosen, record

    groups: dict[str, str] | None = None
    if spec.split_file:
        table = read_split_file(spec.split_file)
        lookup = {}
        for key, value in table.items():
            for k in _match_keys(key):
                lookup.setdefault(k, value)
        unlisted = []
        for n in names:
            hit = next((lookup[k] for k in _match_keys(n) if k in lookup), None)
            if hit is None:
                if n not in fixed:
                    unlisted.append(n)
                continue
            if hit[1] is not None:
                groups = groups or {}
                groups[n] = hit[1]
            if n not in fixed:
                fixed[n] = hit[0]
                from_csv.add(n)
        if unlisted and len(unlisted) < len(names):
            raise DataError(
                f"--split-file {spec.split_file} has no row for {unlisted[0]} ({len(unlisted)} item(s) unlisted); "
                "add a row file,split for every item"
            )
        if unlisted:  # a CSV of groups only (split column empty would fail above): nothing matched at all
            raise DataError(f"--split-file {spec.split_file} names none of the items of {source} (column file)")
        methods.append(f"--split-file {spec.split_file}")
    if spec.group_pattern or spec.val_groups or spec.test_groups:
        pattern = spec.group_pattern or DEFAULT_GROUP_PATTERN
        try:
            groups = {n: group_of(n, pattern) for n in names} if groups is None else groups
        except re.error as exc:
            raise DataError(f"--group-pattern {pattern!r} is not a valid regular expression ({exc})") from exc
        known = set(groups.values())
        for split, wanted in (("val", spec.val_groups), ("test", spec.test_groups)):
            if not wanted:
                continue
            unknown = [g for g in wanted if g not in known]
            if unknown:
                raise DataError(
                    f"--{split}-groups {','.join(unknown)}: no such group in {source} (groups by {pattern!r}: "
                    f"{', '.join(sorted(known)[:8])}{' ...' if len(known) > 8 else ''}); set --group-pattern"
                )
            for n in names:
                if groups[n] in wanted and (n not in fixed or n in from_csv):
                    fixed[n] = split
                    from_csv.discard(n)
            methods.append(f"{split} = groups {','.join(wanted)}")
    # what the user did not place: a seeded cut, by whole groups when groups are known
    val_f = 0.0 if (spec.val_data or spec.val_groups) else (spec.val_fraction if spec.val_fraction is not None
                                                            else default_val)  # fmt: skip
    test_f = 0.0 if (spec.test_data or spec.test_groups) else (spec.test_fraction if spec.test_fraction is not None
                                                               else default_test)  # fmt: skip
    if spec.split_file or home is not None:
        val_f = test_f = 0.0
    rest = [n for n in names if n not in fixed]
    if rest and home is not None:
        for n in rest:
            fixed[n] = home(by_name[n])
            if fixed[n] not in SPLITS:
                raise ValueError(f"home() gave {fixed[n]!r} for {n}; expected one of {SPLITS}")
        methods.append(f"the rest keeps {source.partition(':')[0]}'s own split")
    if rest and (val_f > 0 or test_f > 0):
        keys = sorted({groups[n] for n in rest}) if groups else rest
        cut = _seeded_cut(keys, val_f, test_f, spec.seed)
        for n in rest:
            fixed[n] = cut[groups[n] if groups else n]
        methods.append(
            f"seeded ({spec.seed}) {'group ' if groups else ''}split of the rest: val {val_f:g}, test {test_f:g}"
        )
    for n in rest:
        fixed.setdefault(n, "train")
    chosen = {s: [by_name[n] for n in names if fixed[n] == s] for s in SPLITS}
    record = {
        "source": source,
        "seed": spec.seed,
        "method": "; ".join(methods) or "all items in train",
        "options": spec.options(),
        **{s: [name_of(it) for it in chosen[s]] for s in SPLITS},
    }
    if groups:
        record["groups"] = {s: sorted({groups[name_of(it)] for it in chosen[s]}) for s in SPLITS}
    return chosen, record


def find_groups(
    names: Sequence[str], group_pattern: str | None = None, split_file: str | Path | None = None
) -> dict[str, list[str]]:
    """{group: names} in order of first appearance: from the ``group`` column of ``split_file`` when given
    (names matched by path, file name or stem; unlisted names are an error), else from the file names by
    ``group_pattern`` (default: the prefix before the first ``_`` or ``-``: CamVid's sequence, a patient ID)."""
    out: dict[str, list[str]] = {}
    if split_file:
        table = read_split_file(split_file)
        lookup = {}
        for key, (_, group) in table.items():
            for k in _match_keys(key):
                lookup.setdefault(k, group)
        for n in names:
            hit = next((k for k in _match_keys(n) if k in lookup), None)
            if hit is None or lookup[hit] is None:
                raise DataError(f"--split-file {split_file}: no group for {n}; give every row a group column value")
            out.setdefault(lookup[hit], []).append(n)
        return out
    pattern = group_pattern or DEFAULT_GROUP_PATTERN
    try:
        for n in names:
            out.setdefault(group_of(n, pattern), []).append(n)
    except re.error as exc:
        raise DataError(f"--group-pattern {pattern!r} is not a valid regular expression ({exc})") from exc
    return out


def leave_one_group_out(
    names: Sequence[str], spec: SplitSpec | None = None, min_groups: int = 2
) -> list[tuple[str, SplitSpec]]:
    """One fold per group of ``names`` (see :func:`find_groups`): (group, a copy of ``spec`` with
    ``val_groups=[group]``). Training each fold and averaging the held-out scores estimates how a recipe does
    on a scene (sequence, patient) it has never seen, without choosing which one is the validation."""
    spec = spec or SplitSpec()
    groups = find_groups(names, spec.group_pattern, spec.split_file)
    if len(groups) < min_groups:
        raise DataError(
            f"leave-one-out needs at least {min_groups} groups, found {len(groups)} ({', '.join(groups)}); "
            "set --group-pattern (a regex whose first capture group is the group) or a split file with a group column"
        )
    folds = []
    for g in groups:
        fold = SplitSpec(**{**spec.options(), "val_groups": [g]})
        folds.append((g, fold))
    return folds


def index_splits(
    n: int, spec: SplitSpec, source: str, default_val: float = 0.1, default_test: float = 0.1
) -> tuple[dict[str, list[int]], dict[str, Any]]:
    """:func:`assign_splits` for sources whose items are array rows (names ``"0"``, ``"1"``, ...)."""
    if spec.val_data or spec.test_data:
        raise DataError(f"--val-data/--test-data need a folder source; {source} is one array (use --split-file)")
    chosen, record = assign_splits(list(range(n)), str, spec, source, default_val, default_test)
    return chosen, record


def write_splits(run_dir: str | Path, record: dict[str, Any]) -> Path:
    """``splits.json`` in the run directory (atomic)."""
    from aekit.io import atomic_write_bytes

    path = Path(run_dir) / SPLITS_FILE
    atomic_write_bytes(path, (json.dumps(record, indent=1) + "\n").encode())
    return path


def read_run_splits(checkpoint: str | Path) -> dict[str, Any] | None:
    """The ``splits.json`` beside a checkpoint (or in a run directory), or None."""
    p = Path(checkpoint)
    path = (p if p.is_dir() else p.parent) / SPLITS_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON ({exc}); delete it to evaluate on a fresh split") from exc


def same_source(a: str | None, b: str | None) -> bool:
    """Two data specs name the same data (paths compared resolved)."""
    if not a or not b:
        return False
    ka, _, pa = a.partition(":")
    kb, _, pb = b.partition(":")
    if ka != kb:
        return False
    norm = lambda s: [str(Path(x).resolve()) if x else x for x in s.split(",")]  # noqa: E731
    return norm(pa) == norm(pb)


def evaluation_spec(run_splits: dict[str, Any] | None, data: str, split: str | None) -> tuple[SplitSpec, str, str]:
    """How ``aekit evaluate`` splits ``data``: (spec, split name, sentence saying what was decided).

    The training data -> the run's recorded lists (``split`` default test). Other data -> every item is
    evaluated (the split ``all``), unless ``split`` names one: then the run's seed and options re-split it.
    """
    if run_splits is not None and same_source(run_splits.get("source"), data):
        chosen = split or "test"
        if chosen == "all":
            return SplitSpec(val_fraction=0.0, test_fraction=1.0), "test", f"every item of {data}"
        spec = SplitSpec.from_options(run_splits.get("options") or {})
        spec.record = run_splits
        n = len(run_splits.get(chosen) or [])
        return spec, chosen, f"the run's recorded {chosen} split ({n} items, {SPLITS_FILE})"
    if split in (None, "all"):
        return SplitSpec(val_fraction=0.0, test_fraction=1.0), "test", f"every item of {data} (not the training data)"
    opts = (run_splits or {}).get("options") or {}
    spec = SplitSpec.from_options({k: opts.get(k) for k in ("seed", "val_fraction", "test_fraction")})
    return spec, split, f"the {split} split of {data} drawn with seed {spec.seed}"


def run_seed(checkpoint: str | Path, recorded: dict[str, Any] | None, metadata: dict[str, Any]) -> int:
    """The seed a run was trained with: splits.json, else config.yaml, else the checkpoint metadata, else 0."""
    if recorded and recorded.get("seed") is not None:
        return int(recorded["seed"])
    p = Path(checkpoint)
    config = (p if p.is_dir() else p.parent) / "config.yaml"
    if config.is_file():
        import yaml

        try:
            saved = yaml.safe_load(config.read_text()) or {}
            seed = (saved.get("args") or {}).get("seed")
            if seed is not None:
                return int(seed)
        except (yaml.YAMLError, AttributeError, ValueError):
            pass
    return int(metadata.get("seed", (metadata.get("data_options") or {}).get("seed", 0)) or 0)


def describe_splits(splits: Any, source: str, seed: int) -> dict[str, Any]:
    """A record for sources with fixed splits (camvid, isbi2012, mnist, ...): names where the datasets
    have files, else indices into the source's own split, else only the count."""
    record: dict[str, Any] = {"source": source, "seed": seed, "method": "the source's own fixed splits"}
    for name in SPLITS:
        ds = getattr(splits, name, None)
        if ds is None:
            record[name] = []
        elif hasattr(ds, "pairs"):
            record[name] = [str(p[0]) if isinstance(p, tuple) else str(getattr(p, "name", p)) for p in ds.pairs]
        elif hasattr(ds, "indices"):
            record[name] = [str(int(i)) for i in ds.indices]
        else:
            record[name] = [str(i) for i in range(len(ds))]
    return record
