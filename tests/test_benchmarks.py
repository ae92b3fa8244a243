"""Every benchmark script runs in its smoke mode (tiny synthetic data, seconds) and ends with a JSON line.

Generated over ``benchmarks/*.py``: a new script is tested without editing this file, so none can break
unseen (as ``isbi2012.py`` once did, importing a helper that had been removed).
"""

from __future__ import annotations

import importlib.util
import json
import tempfile
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("*.py"))


def test_benchmarks_found() -> None:
    assert len(BENCHMARKS) >= 9, BENCHMARKS


@pytest.mark.slow
@pytest.mark.parametrize("script", BENCHMARKS, ids=[p.stem for p in BENCHMARKS])
def test_benchmark_smoke(script: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # noqa: ANN001
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # every temporary file of the run lands here
    monkeypatch.chdir(tmp_path)  # and default run directories (runs/...) too
    spec = importlib.util.spec_from_file_location(f"bench_{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert "aekit.cli" not in script.read_text(), "benchmarks use the library, not the CLI package"
    returned = module.main(["--smoke"])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    last = json.loads(lines[-1])
    assert isinstance(last, dict) and last
    assert last == json.loads(json.dumps(returned))  # the printed line is what main() returns
