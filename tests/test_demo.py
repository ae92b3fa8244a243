"""The main job end to end through ``aekit demo``, shortened: report, metrics and figures appear, and the numbers
they report are those of the saved models and of PCA on the demo's test digits."""

import json

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

import aekit
from aekit.cli.main import main
from aekit.data import open_data


@pytest.mark.slow
def test_demo_reports_the_errors_of_its_saved_models_and_of_pca(tmp_path):
    assert main(["demo", "--epochs", "1", "--out", str(tmp_path), "--no-progress"]) == 0
    text = (tmp_path / "report.md").read_text()
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    splits = open_data("mnist5k", seed=0)
    x_train = torch.stack([splits.train[i]["image"] for i in range(len(splits.train))]).flatten(1).numpy()
    x_test = torch.stack([splits.test[i]["image"] for i in range(len(splits.test))])
    assert len(x_test) == 1000
    for key, run, dim in (("latent_dim=32", "ae32", 32), ("latent_dim=2", "ae2", 2)):
        model = aekit.load(tmp_path / run).eval()
        with torch.no_grad():
            ae_mse = float(((model(x_test) - x_test) ** 2).mean())
        pca = PCA(n_components=dim).fit(x_train)
        flat = x_test.flatten(1).numpy()
        pca_mse = float(((np.clip(pca.inverse_transform(pca.transform(flat)), 0, 1) - flat) ** 2).mean())
        assert metrics[key]["autoencoder"]["mse"] == pytest.approx(ae_mse, rel=1e-4)
        assert metrics[key]["pca"]["mse"] == pytest.approx(pca_mse, rel=1e-3)
        if dim == 32:
            assert f"**{ae_mse / pca_mse:.2f}x** PCA's" in text  # the report states the ratio it measured
    for fig in ("reconstructions.png", "embedding.png", "training_curves.png"):
        assert (tmp_path / "figures" / fig).stat().st_size > 2000
        assert f"figures/{fig}" in text
