"""The main job end to end, shortened: report, metrics and figures appear and say what they should."""

import json

from aekit.experiments.demo import run_demo


def test_demo_writes_report_metrics_and_figures(tmp_path):
    report = run_demo(tmp_path, epochs=1, progress=False)
    text = report.read_text()
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    for key in ("latent_dim=32", "latent_dim=2"):
        assert metrics[key]["autoencoder"]["latent_dim"] == metrics[key]["pca"]["latent_dim"]
        assert 0 < metrics[key]["autoencoder"]["mse"] < 0.2 and 0 < metrics[key]["pca"]["mse"] < 0.2
    for fig in ("reconstructions.png", "embedding.png", "training_curves.png"):
        assert (tmp_path / "figures" / fig).stat().st_size > 2000
        assert f"figures/{fig}" in text
    assert (tmp_path / "ae32" / "model.safetensors").is_file()
