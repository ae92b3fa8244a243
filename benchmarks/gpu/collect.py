"""Summarise a GPU sweep: the last JSON line of every job's log and its per-epoch validation curve."""

from __future__ import annotations

import csv
import json
from pathlib import Path

LOGS = Path("/tmp/logs")


def read(path: Path) -> str:
    return path.read_text() if path.is_file() else ""


def last_json(path: Path) -> dict | None:
    for line in reversed(read(path).splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return None


def curve(path: Path, key: str) -> list[float] | None:
    if not path.is_file():
        return None
    with path.open(newline="") as f:
        return [round(float(r[key]), 5) for r in csv.DictReader(f) if r.get(key)]


def main() -> None:
    print(read(LOGS / "env.txt"))
    for log in sorted(LOGS.glob("mn_*.txt")):
        name, result = log.stem[3:], last_json(log)
        dim32, recipe = (result["dims"]["32"], result["recipe"]) if result else (None, None)
        print("MNIST", name, json.dumps(dim32), "recipe", json.dumps(recipe))
        print("   val/loss per epoch", curve(Path(f"/tmp/mn/{name}/dim32/metrics.csv"), "val/loss"))
        if not result:
            print("   tail:", read(log)[-600:])
    for log in sorted(LOGS.glob("cv_*.txt")):
        name, result = log.stem[3:], last_json(log)
        if result:
            result = {k: {kk: vv for kk, vv in v.items() if kk != "per_class_iou"} for k, v in result.items()}
        print("CAMVID", name, json.dumps(result))
        print("   val/miou per epoch", curve(Path(f"/tmp/cv/{name}/metrics.csv"), "val/miou"))
        if not result:
            print("   tail:", read(log)[-800:])
    for log in sorted(LOGS.glob("le_*.txt")):
        name, result = log.stem[3:], last_json(log)
        print("LE", name, json.dumps(result))
        if not result:
            print("   tail:", read(log)[-800:])
    print("PYTEST tail:", read(LOGS / "pytest.txt")[-3000:])


if __name__ == "__main__":
    main()
