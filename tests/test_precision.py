"""What ``precision="auto"`` picks, for each answer of the fast-bf16 detection, and the switch that forces it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from aekit import engine
from aekit.engine import TrainConfig, cpu_has_fast_bf16, resolve_precision, resolved

AMX_FLAGS = "flags\t\t: fpu sse avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
AVX512_BF16_FLAGS = "flags\t\t: fpu sse avx2 avx512f avx512_bf16\n"
AVX2_FLAGS = "flags\t\t: fpu sse avx2 fma\n"


@pytest.fixture
def cpu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # noqa: ANN201
    """Pretend to be a CPU: torch's capability string and /proc/cpuinfo flags; no GPU, no forcing variables."""
    for name in ("AEKIT_FAST_BF16", "ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    real_path = engine.Path

    def pretend(capability: str, flags: str | None) -> None:
        monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
        cpuinfo = tmp_path / "cpuinfo"
        if flags is None:
            cpuinfo.unlink(missing_ok=True)  # no /proc (not Linux)
        else:
            cpuinfo.write_text(flags)
        monkeypatch.setattr(engine, "Path", lambda p: cpuinfo if str(p) == "/proc/cpuinfo" else real_path(p))

    return pretend


@pytest.mark.parametrize(
    ("capability", "flags", "fast"),
    [
        ("AVX512", AMX_FLAGS, True),  # Sapphire Rapids: torch reports AVX512, the flags say AMX
        ("AVX512", AVX512_BF16_FLAGS, True),  # Cooper Lake / Zen 4
        ("AMX", None, True),  # a torch that reports AMX, no /proc/cpuinfo
        ("AVX512", AVX2_FLAGS.replace("fma", "avx512f"), False),  # Skylake-X: AVX-512 without bf16
        ("AVX2", AVX2_FLAGS, False),  # a laptop
        ("AVX2", AMX_FLAGS, False),  # AMX present but ATEN_CPU_CAPABILITY=avx2 restricts torch to AVX2
        ("DEFAULT", AMX_FLAGS, False),
        ("AVX512", None, False),  # no flags to confirm bf16
    ],
)
def test_auto_is_bf16_only_where_the_cpu_runs_it_natively(cpu, capability: str, flags: str | None, fast: bool) -> None:
    cpu(capability, flags)
    assert cpu_has_fast_bf16() is fast
    assert resolve_precision("auto") == ("bf16-mixed" if fast else "32")
    assert resolve_precision(None, "cpu") == resolve_precision("", "auto") == resolve_precision("auto")
    cfg = resolved(TrainConfig(precision="auto"))
    assert (cfg.precision, cfg.channels_last) == (("bf16-mixed", True) if fast else ("32", False))


@pytest.mark.parametrize(
    ("isa", "fast"),
    [("AVX2", False), ("avx512_core", False), ("AVX512_CORE_BF16", True), ("AVX512_CORE_AMX", True), ("ALL", True)],
)
def test_a_onednn_isa_cap_below_bf16_makes_auto_fp32(
    cpu, monkeypatch: pytest.MonkeyPatch, isa: str, fast: bool
) -> None:
    cpu("AVX512", AMX_FLAGS)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", isa)  # how an AVX2-only CPU is emulated on an AMX one
    assert resolve_precision("auto") == ("bf16-mixed" if fast else "32")


@pytest.mark.parametrize(("value", "fast"), [("1", True), ("on", True), ("0", False), ("false", False)])
def test_aekit_fast_bf16_forces_the_answer(cpu, monkeypatch: pytest.MonkeyPatch, value: str, fast: bool) -> None:
    cpu("AVX2" if fast else "AVX512", AVX2_FLAGS if fast else AMX_FLAGS)  # the opposite of what the CPU has
    monkeypatch.setenv("AEKIT_FAST_BF16", value)
    assert resolve_precision("auto") == ("bf16-mixed" if fast else "32")


def test_a_bad_switch_value_is_one_line_naming_the_variable(cpu, monkeypatch: pytest.MonkeyPatch) -> None:
    cpu("AVX2", AVX2_FLAGS)
    monkeypatch.setenv("AEKIT_FAST_BF16", "maybe")
    with pytest.raises(ValueError, match=r"AEKIT_FAST_BF16='maybe'.*1.*0"):
        resolve_precision("auto")


def test_explicit_precisions_pass_through_and_the_gpu_decides_on_a_gpu(cpu, monkeypatch: pytest.MonkeyPatch) -> None:
    cpu("AVX2", AVX2_FLAGS)
    for p in ("32", "bf16-mixed", "16-mixed"):
        assert resolve_precision(p) == p
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert resolve_precision("auto") == resolve_precision("auto", "gpu") == "bf16-mixed"
    assert resolve_precision("auto", "cpu") == "32"  # the CPU's own answer when the CPU is asked for
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert resolve_precision("auto", "gpu") == "32"
