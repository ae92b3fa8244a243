"""The autoencoder against PCA at the same code size: reconstruction error and 2-D embeddings.

PCA is the linear autoencoder's optimum under L2, so it is the baseline any conv autoencoder must beat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.decomposition import PCA
from torch import nn
from torch.utils.data import DataLoader, Dataset


@dataclass
class Stacked:
    images: np.ndarray  # (N, C, H, W) float32 in [0, 1]
    labels: np.ndarray | None

    @property
    def flat(self) -> np.ndarray:
        return self.images.reshape(len(self.images), -1)


def stack_dataset(dataset: Dataset, limit: int | None = None, batch_size: int = 512) -> Stacked:
    """All (or the first ``limit``) items of a dataset as arrays."""
    images, labels = [], []
    seen = 0
    for batch in DataLoader(dataset, batch_size=batch_size):
        images.append(batch["image"].numpy())
        if "label" in batch:
            labels.append(batch["label"].numpy())
        seen += len(batch["image"])
        if limit is not None and seen >= limit:
            break
    x = np.concatenate(images)[:limit]
    y = np.concatenate(labels)[:limit] if labels else None
    return Stacked(x.astype(np.float32), y)


def per_image_scores(x: np.ndarray, x_hat: np.ndarray) -> dict[str, float]:
    """Mean squared error per pixel, and PSNR averaged over images (data range 1)."""
    err = ((x.reshape(len(x), -1) - x_hat.reshape(len(x), -1)) ** 2).mean(axis=1)
    psnr = 10 * np.log10(1.0 / np.maximum(err, 1e-12))
    return {"mse": float(err.mean()), "psnr": float(psnr.mean())}


def fit_pca(train: Stacked, n_components: int, seed: int = 0) -> PCA:
    n = min(n_components, *train.flat.shape)
    return PCA(
        n_components=n, svd_solver="randomized" if n < 0.5 * train.flat.shape[1] else "full", random_state=seed
    ).fit(train.flat)


def pca_reconstruction(pca: PCA, data: Stacked) -> np.ndarray:
    recon = pca.inverse_transform(pca.transform(data.flat))
    return np.clip(recon, 0, 1).reshape(data.images.shape)


@torch.no_grad()
def autoencode(model: nn.Module, data: Stacked, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(reconstructions, codes) of a model with ``encode``/``decode``."""
    model.eval()
    device = next(model.parameters()).device
    recons, codes = [], []
    for start in range(0, len(data.images), batch_size):
        x = torch.from_numpy(data.images[start : start + batch_size]).to(device)
        z = model.encode(x)
        recons.append(model.decode(z).float().cpu().numpy())
        codes.append(z.float().cpu().numpy())
    return np.concatenate(recons), np.concatenate(codes)


def compare_with_pca(model: nn.Module, train: Stacked, test: Stacked, seed: int = 0) -> dict[str, dict[str, float]]:
    """Test-set MSE/PSNR of the autoencoder and of PCA with ``latent_dim`` components fitted on ``train``."""
    latent_dim = int(model.latent_dim)
    ae_recon, _ = autoencode(model, test)
    pca = fit_pca(train, latent_dim, seed)
    return {
        "autoencoder": {"latent_dim": latent_dim, **per_image_scores(test.images, ae_recon)},
        "pca": {
            "latent_dim": int(pca.n_components_),
            **per_image_scores(test.images, pca_reconstruction(pca, test)),
            "explained_variance": float(pca.explained_variance_ratio_.sum()),
        },
    }


def project_2d(codes: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """Codes to 2-D: as they are when already 2-D, else PCA (fast, deterministic) or t-SNE."""
    if codes.shape[1] == 2:
        return codes
    if method == "tsne":
        from sklearn.manifold import TSNE

        return TSNE(n_components=2, random_state=seed, init="pca").fit_transform(codes)
    return PCA(n_components=2, random_state=seed).fit_transform(codes)
