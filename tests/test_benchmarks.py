"""Every benchmark script runs in its smoke mode (tiny synthetic data, seconds) and ends with a JSON line.

Generated over ``benchmarks/*.py``: a new script is tested without editing this file, so none can break
unseen (as ``isbi2012.py`` once did, importing a helper that had been removed).
"""

from __future__ import annotations

import importlib.util
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from pytest import approx

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
    assert last == json.loads(json.dumps(returned))  # the printed line is what main() returns
    assert script.stem in SCHEMAS, f"add a schema for {script.name}'s JSON to SCHEMAS"
    SCHEMAS[script.stem](last)


# -- what each script's JSON holds: its keys and the relations between its numbers ----------------------------
def ratio(a: float, b: float, rel: float = 0.02) -> object:
    """``a / b`` to the rounding the scripts print (ratios to 2-4 decimals of figures rounded themselves)."""
    return approx(a / b, rel=rel, abs=0.006)


def check_camvid(r: dict) -> None:
    for row in r.values():
        ious = [v for v in row["per_class_iou"].values() if v is not None]
        assert row["miou"] == approx(np.mean(ious), abs=0.06)  # per-class to 1 decimal, mIoU to 2
        assert row["selected_on"] and row["epochs_done"] >= 1 and row["train_images"] >= 1 and row["val_images"] >= 1
        assert row["paper"]["ref"] and {"global_acc", "class_acc", "miou"} <= set(row["official_val"])


def check_cluster_mnist(r: dict) -> None:
    assert set(r) == {"pixels+kmeans", "pca+kmeans", "z+kmeans", "z+umap+gmm"}
    for row in r.values():
        assert row["acc"] == approx(np.mean(row["per_seed_acc"]), abs=1e-4)
        assert {"nmi", "ari", "seconds", "cpu_seconds"} <= set(row)


def check_depth_real(r: dict) -> None:
    assert r["command"] and r["cpu_capability"] and r["precision"] and r["load"]
    focus = r["focus"]
    scenes = focus["per_scene"]
    for method, mean in focus["mean"].items():  # the means are over the held-out scenes
        assert mean["rmse"] == approx(np.mean([row[method]["rmse"] for row in scenes.values()]), abs=2e-4)
        assert mean["mse"] == approx(np.mean([row[method]["mse"] for row in scenes.values()]), abs=2e-3)
    for method, value in focus["rmse_ratio_to_focus_measure"].items():
        assert value == ratio(focus["mean"][method]["rmse"], focus["mean"]["focus_measure"]["rmse"])
    diff = focus["concat_minus_none_rmse"]
    per_scene = [row["network_concat"]["rmse"] - row["network_none"]["rmse"] for row in scenes.values()]
    assert diff["scenes"] == len(scenes) and diff["scenes_concat_better"] == sum(d < 0 for d in per_scene)
    assert diff["mean"] == approx(np.mean(per_scene), abs=2e-4)
    for part in ("supervised", "stereo"):
        rows = r[part]["per_scene"]
        beats = sum(row["network"]["rmse"] < row["constant"]["rmse"] for row in rows.values())
        assert r[part]["scenes"] == len(rows) and r[part]["network_beats_constant_rmse"] == beats


def check_inference_speed(r: dict) -> None:
    for name, metric in (("sr", "psnr"), ("seg", "miou")):
        task = r["tasks"][name]
        s = task["seconds"]
        assert task["speedup_default_over_fp32"] == ratio(np.median(s["32"]), np.median(s["auto"]))
        assert task[f"{metric}_difference" + ("_db" if metric == "psnr" else "")] == approx(
            abs(task[metric]["auto"] - task[metric]["32"]), abs=1e-3
        )
    assert r["cpu_capability"] and r["auto_resolves_to"]


def check_isbi2012(r: dict) -> None:
    ref, unet = r["all_interior_reference"], r["unet"]
    assert ref["pixel_error"] + ref["foreground_iou"] == approx(1, abs=2e-4)  # all-interior: IoU = 1 - error
    assert unet["miou"] == approx((unet["foreground_iou"] + unet["membrane_iou"]) / 2, abs=2e-4)
    assert r["selected_on"] and r["precision"] and r["split"]["train"] and r["split"]["val"] and r["split"]["test"]
    val, test = (r["selected_on"].rpartition(" ")[2].split(","), r["scored_on"].split(" ")[1].split(","))
    assert len(test) == r["split"]["test"] and not set(val) & set(test)  # scored slices chose nothing
    assert set(r["selection_val"]) == {"pixel_error", "foreground_iou", "membrane_iou", "miou"}


def check_label_budget(r: dict) -> None:
    assert r["propagation"] in ("cluster_codes", "cluster", "self-train")
    strategies = {k: v for k, v in r.items() if k != "propagation"}
    assert {"typical", "random"} <= set(strategies)
    for by_budget in strategies.values():
        for budget, cell in by_budget.items():
            assert int(budget) >= 1 and all(1 <= c <= int(budget) for c in cell["classes_covered"])
            for stage in ("finetune", "cluster_codes", "cluster", "self-train"):
                if stage not in cell:
                    continue
                acc = np.array(cell[stage]["per_seed"])
                assert 0 <= cell[stage]["mean"] <= 1 and cell[stage]["mean"] == approx(acc.mean(), abs=1e-4)
                assert cell[stage]["std"] == approx(acc.std(ddof=1) if len(acc) > 1 else 0.0, abs=1e-4)


def check_label_efficiency_mnist(r: dict) -> None:
    assert {"scratch", "pca_logreg"} <= set(r)
    for by_k in r.values():
        for cell in by_k.values():
            assert 0 <= cell["mean"] <= 1 and cell["std"] >= 0 and "val_mean" in cell


def check_memory_format(r: dict) -> None:
    for row in r["models"].values():
        t = row["s_per_step"]
        assert row["speedup"] == ratio(t["contiguous"], t["channels_last"])
    assert r["precision"] and r["threads"] >= 1


def check_mnist_ae_vs_pca(r: dict) -> None:
    for row in r["dims"].values():
        assert row["ratio"] == ratio(row["ae_mse"], row["pca_mse"], 1e-3)
        assert row["val_ratio"] == ratio(row["val_ae_mse"], row["val_pca_mse"], 1e-3)
        assert row["scored_on"] == r["scored_on"] == "test" and row["steps"] >= 1
    assert r["selected_on"].startswith("validation") and r["n_test"] >= 1


def check_onnx_vs_eager(r: dict) -> None:
    assert r["onnx_over_eager"] == ratio(r["onnx_images_per_s"], r["eager_images_per_s"], 1e-3)
    assert r["max_abs_diff"] < 1e-3 and r["cpu_capability"]


def check_seg_inference(r: dict) -> None:
    models = {k: v for k, v in r.items() if k != "setup"}
    assert models and r["setup"]["cpu_capability"]
    for row in models.values():
        base = row["eager"]["images_per_s"]
        for setting in (v for k, v in row.items() if k != "params"):
            assert setting["ratio"] == ratio(setting["images_per_s"], base, 0.05)
            assert 0.9 <= setting["agreement"] <= 1


def check_stereo_depth(r: dict) -> None:
    scenes = {k: v for k, v in r.items() if not k.startswith("_")}
    assert scenes and set(r["_mean"]) == {"network", "network_median", "constant", "constant_median", "sgbm"}
    for method, mean in r["_mean"].items():  # the mean row is the mean over the scenes
        assert mean["epe"] == approx(np.mean([s[method]["epe"] for s in scenes.values()]), abs=2e-3)


def check_superres(r: dict) -> None:
    for scale, row in r.items():
        assert int(scale) in (2, 3, 4) and row["train_steps"] >= 1 and row["matlab_bicubic_reference"] > 0
        assert {"model_psnr", "bicubic_psnr", "model_ssim", "bicubic_ssim", "precision"} <= set(row)
        assert row["selected_on"].startswith("best.ckpt by the loss of") and " 0 held-out" not in row["selected_on"]
        assert row["test_images"] == row["test_folder_images"] >= 1  # every test image scored, none split off


def check_train_throughput(r: dict) -> None:
    speed = r["images_per_s_median"]
    assert r["ratio_fp32"] == ratio(speed["aekit_fp32"], speed["plain_fp32"])
    assert r["ratio_best"] == max(r["ratio_by_setting"].values())
    assert r["cpu_capability"] and r["default_resolves_to"]


SCHEMAS = {name[len("check_") :]: fn for name, fn in dict(globals()).items() if name.startswith("check_")}


def test_every_benchmark_has_a_schema() -> None:
    assert sorted(SCHEMAS) == [p.stem for p in BENCHMARKS]
