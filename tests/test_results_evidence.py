"""Every number in ``benchmarks/RESULTS.md``'s summary table (and the headline tables of README and docs/) is
held by the JSON file its row names.

A figure could drift from its evidence (a re-run that changed the JSON, a hand-edited table, a JSON deleted):
this parses the table, opens the files in each row's ``JSON`` column (relative to ``benchmarks/``) and looks
for each printed number among the numbers they hold, at the printed precision (``0.298`` matches 0.2981,
``96.3%`` matches 0.9634). Numbers in the ``target`` column are the issues' targets, not measurements; the
``status`` column may repeat them. Every named JSON must also say how it was made: command, CPU capability,
precision and load (the value may be "not recorded", which is then what the table has to say).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
RESULTS = BENCHMARKS / "RESULTS.md"
ROOT = BENCHMARKS.parent
HEADLINES = [(doc, "## Results") for doc in ("README.md", "docs/segmentation.md", "docs/image_to_image.md")]

# a number standing alone: not part of a word (x2, Set5, 0006R0, 3e-3, 1024x768), thousands may be grouped
NUMBER = re.compile(r"(?<![\w.])(?<!\de-)((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)(%|x)?(?![\w])")
STRICT = ("result",)  # measured figures: only the JSON's numeric values count
LOOSE = ("selected on -> reported on", "machine, precision, load", "status")  # also numbers in its text fields
PROVENANCE = ("command", "cpu_capability", "precision", "load")


def summary_rows(text: str, heading: str = "## Summary") -> list[dict[str, str]]:
    """The rows of the first table with a ``JSON`` column under ``heading``, as {column header: cell}."""
    section = text.split(f"\n{heading}", 1)[1].split("\n## ", 1)[0]
    tables = [block.splitlines() for block in section.split("\n\n")]
    lines = next(t for t in (list(filter(lambda x: x.startswith("|"), b)) for b in tables) if t and "| JSON |" in t[0])
    cells = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines]
    header, rows = cells[0], cells[2:]
    assert all(len(r) == len(header) for r in rows), "a summary row has the wrong number of cells"
    return [dict(zip(header, r)) for r in rows]


def printed_numbers(cell: str) -> list[tuple[str, float, int]]:
    """(as printed, value, decimals) of each number in a cell."""
    return [(m.group(0), float(m.group(1).replace(",", "")), len(m.group(1).partition(".")[2]))
            for m in NUMBER.finditer(cell)]  # fmt: skip


def load_json(path: Path) -> list:
    """A JSON file, or a JSON-lines file (one document per line)."""
    text = path.read_text()
    try:
        return [json.loads(text)]
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def held_numbers(doc: object, values: set[float], in_text: set[float]) -> None:
    """Numeric values (and numeric keys) of a JSON document into ``values``; numbers inside strings into ``in_text``."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            held_numbers(k, values, in_text)
            held_numbers(v, values, in_text)
    elif isinstance(doc, list):
        for v in doc:
            held_numbers(v, values, in_text)
    elif isinstance(doc, bool) or doc is None:
        return
    elif isinstance(doc, int | float):
        values.add(float(doc))
    elif isinstance(doc, str):
        try:
            values.add(float(doc))
        except ValueError:
            in_text.update(v for _, v, _ in printed_numbers(doc))


def key_names(doc: object) -> set[str]:
    if isinstance(doc, dict):
        return set(doc) | {n for v in doc.values() for n in key_names(v)}
    if isinstance(doc, list):
        return {n for v in doc for n in key_names(v)}
    return set()


def matches(value: float, decimals: int, held: set[float]) -> bool:
    """Whether a printed value is one of ``held`` at its printed precision, or a fraction of it in percent."""
    half = 0.5 * 10.0**-decimals * (1 + 1e-9) + 1e-12
    return any(abs(abs(h) - value) <= half or abs(abs(100 * h) - value) <= half for h in held)


def problems(text: str, root: Path, heading: str = "## Summary") -> list[str]:
    """Every summary figure without its evidence, as one line each (empty: all backed)."""
    out = []
    for row in summary_rows(text, heading):
        name = row["benchmark (script)"]
        files = re.findall(r"`(results/[^`]+\.json)`", row["JSON"])
        if not files:
            out.append(f"{name}: names no JSON")
            continue
        values: set[float] = set()
        in_text: set[float] = set()
        keys: set[str] = set()
        for f in files:
            if not (root / f).is_file():
                out.append(f"{name}: {f} does not exist")
                continue
            for doc in load_json(root / f):
                held_numbers(doc, values, in_text)
                keys |= key_names(doc)
        missing = [p for p in PROVENANCE if not any(k.startswith(p) for k in keys)]
        if missing:
            out.append(f"{name}: {files[0]} does not record {', '.join(missing)}")
        targets = {v for _, v, _ in printed_numbers(row.get("target", ""))}
        for column in (c for c in STRICT + LOOSE if c in row):
            allowed = values if column in STRICT else values | in_text | (targets if column == "status" else set())
            for shown, value, decimals in printed_numbers(row[column]):
                if not matches(value, decimals, allowed):
                    out.append(f"{name}: {column} {shown!r} is in none of {', '.join(files)}")
    return out


def test_every_summary_number_is_in_its_json() -> None:
    found = problems(RESULTS.read_text(), BENCHMARKS)
    assert not found, "\n".join(found)
    assert len(summary_rows(RESULTS.read_text())) >= 10


@pytest.mark.parametrize(("document", "heading"), HEADLINES)
def test_every_headline_number_in_readme_and_docs_is_in_its_json(document: str, heading: str) -> None:
    text = (ROOT / document).read_text()
    found = problems(text, BENCHMARKS, heading)
    assert not found, "\n".join(found)
    assert summary_rows(text, heading)


def test_the_check_fails_when_a_json_is_removed_or_a_number_edited(tmp_path: Path) -> None:
    text = RESULTS.read_text()
    rows = summary_rows(text)
    row = next(r for r in rows if "mnist_ae_vs_pca_issue15" in r["JSON"])
    assert "0.298x" in row["result"]
    edited = text.replace(row["result"], row["result"].replace("0.298x", "0.288x"))
    assert any("'0.288x'" in p for p in problems(edited, BENCHMARKS))
    (tmp_path / "results").mkdir()  # every JSON but one
    for f in (BENCHMARKS / "results").glob("*.json"):
        if f.name != "mnist_ae_vs_pca_issue15.json":
            (tmp_path / "results" / f.name).write_text(f.read_text())
    found = problems(text, tmp_path)
    assert f"{row['benchmark (script)']}: results/mnist_ae_vs_pca_issue15.json does not exist" in found
    assert all(p.startswith(row["benchmark (script)"]) for p in found)  # the other rows still hold


@pytest.mark.parametrize(
    ("shown", "held", "ok"),
    [("0.298x", 0.2981, True), ("96.3%", 0.9634, True), ("0.922", 0.9215, True), ("32.75", 32.744, False),
     ("10,000", 10000, True), ("49.2", 49.17, True), ("49.3", 49.17, False)],
)  # fmt: skip
def test_printed_precision(shown: str, held: float, ok: bool) -> None:
    [(_, value, decimals)] = printed_numbers(shown)
    assert matches(value, decimals, {held}) is ok
    assert printed_numbers("x2 Set5 0006R0 3e-3 4e-8 1024x768 unet_sr") == []
