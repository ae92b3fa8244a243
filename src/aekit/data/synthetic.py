"""Synthetic rectified stereo pairs with exact disparity, for tests and demos (data kind ``synthetic-stereo``).

Each scene is a small 3D world seen by a rectified stereo rig (left view = reference):

- a **ground plane** whose disparity grows linearly below the horizon, ``d(y) = k (y - y_horizon)``
  (a plane seen by a level camera), meeting a fronto-parallel **back wall** at disparity ``d_wall``;
- 1-4 fronto-parallel **objects** (boxes or ellipses) standing on the ground: an object whose bottom edge is
  at row ``y_b`` has the ground's disparity there, and its size in pixels grows with its disparity.

Every surface carries a procedural texture that is a continuous function of its **left-image coordinates**
(sinusoids, some scaled with the surface's disparity like perspective would). The right view is rendered by
evaluating each surface at ``x_left = x_right + d``, painter's algorithm from far to near, so the left pixel
at column ``x`` matches the right pixel at ``x - d`` *exactly* (sub-pixel disparities included) and the only
error of a warp is at occlusions, which are computed analytically (``nonocc``).

The monocular cues a network can learn from (contact point on the ground, size, texture scale, height in the
image) are those of real road or indoor scenes, which makes the generator useful for the monocular task too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from aekit.data.base import DataError, DataSplits, register_data

# calibration reported for synthetic scenes: focal length = image width (pixels), baseline 0.1 m
SYNTHETIC_BASELINE = 0.1


@dataclass
class _Texture:
    """Sum of oriented sinusoids around a base colour; ``scale`` stretches the wavelengths."""

    base: np.ndarray  # (3,)
    freqs: np.ndarray  # (K, 2) cycles per pixel (before scale)
    phases: np.ndarray  # (K,)
    amps: np.ndarray  # (K, 3)
    origin: tuple[float, float] = (0.0, 0.0)
    scale: float = 1.0

    @staticmethod
    def random(rng: np.random.Generator, n: int = 6, scale: float = 1.0, origin=(0.0, 0.0)) -> _Texture:
        wavelengths = rng.uniform(3.0, 14.0, n)
        angles = rng.uniform(0, np.pi, n)
        freqs = np.stack([np.cos(angles), np.sin(angles)], 1) / wavelengths[:, None]
        amps = rng.normal(0, 1, (n, 3)) * 0.5 + rng.normal(0, 1, (n, 1))
        amps *= 0.35 / np.abs(amps).sum(0, keepdims=True).clip(1e-3)
        return _Texture(rng.uniform(0.25, 0.75, 3), freqs, rng.uniform(0, 2 * np.pi, n), amps, origin, scale)

    def __call__(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        u = (x - self.origin[0]) / self.scale
        v = (y - self.origin[1]) / self.scale
        phase = u[..., None] * self.freqs[:, 0] + v[..., None] * self.freqs[:, 1]
        waves = np.sin(2 * np.pi * phase + self.phases)  # (..., K)
        return self.base + waves @ self.amps  # (..., 3)


@dataclass
class _Object:
    x0: float
    x1: float
    y0: float
    y1: float
    disparity: float
    ellipse: bool
    texture: _Texture

    def covers(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        if self.ellipse:
            cx, cy = (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2
            rx, ry = (self.x1 - self.x0) / 2, (self.y1 - self.y0) / 2
            return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1.0
        return (x >= self.x0) & (x < self.x1) & (y >= self.y0) & (y < self.y1)


@dataclass
class SyntheticScene:
    """One random scene; :meth:`render` gives images, disparities and the occlusion mask."""

    height: int
    width: int
    horizon: float
    slope: float  # ground disparity per row below the horizon (pixels)
    wall: float  # back-wall disparity (pixels)
    wall_texture: _Texture
    ground_texture: _Texture
    ground_fine: _Texture
    objects: list[_Object] = field(default_factory=list)

    def background_disparity(self, y: np.ndarray) -> np.ndarray:
        return np.maximum(self.wall, self.slope * (y - self.horizon))

    def _layers(self, x: np.ndarray, y: np.ndarray, view: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Colour, disparity and layer id seen at (possibly fractional) positions ``x, y`` of ``view``."""
        d_bg = self.background_disparity(y)
        xl = x + d_bg if view == "right" else x
        ground = self.slope * (y - self.horizon) > self.wall
        # the ground texture lives on the plane: coordinates (x / d, 1 / d) up to scale, i.e. perspective
        gx = (xl - self.width / 2) / np.maximum(d_bg, 1e-3) * 8.0
        gz = 64.0 / np.maximum(d_bg, 1e-3)
        colour = np.where(
            ground[..., None],
            0.6 * self.ground_texture(gx, gz) + 0.4 * self.ground_fine(xl, y),
            self.wall_texture(xl, y),
        )
        disp = d_bg.astype(np.float64).copy()
        lid = np.where(ground, 1, 0)
        for k, obj in enumerate(self.objects):  # sorted far to near: later ones cover earlier ones
            xo = x + obj.disparity if view == "right" else x
            cover = obj.covers(xo, y)
            colour = np.where(cover[..., None], obj.texture(xo, y), colour)
            disp = np.where(cover, obj.disparity, disp)
            lid = np.where(cover, k + 2, lid)
        return colour, disp, lid

    def render(self) -> dict[str, np.ndarray]:
        """``left``/``right`` float32 (H, W, 3) in [0, 1]; ``disparity``/``disparity_right`` (H, W) pixels;
        ``nonocc`` (H, W) bool: the left pixel is visible in the right view (and inside it)."""
        y, x = np.mgrid[0 : self.height, 0 : self.width].astype(np.float64)
        left, d_left, lid_left = self._layers(x, y, "left")
        right, d_right, _ = self._layers(x, y, "right")
        xr = x - d_left
        _, _, lid_match = self._layers(xr, y, "right")
        nonocc = (lid_match == lid_left) & (xr >= 0) & (xr <= self.width - 1)
        # two surfaces can share an id only if they are the ground/wall background: check disparity too
        return {
            "left": np.clip(left, 0, 1).astype(np.float32),
            "right": np.clip(right, 0, 1).astype(np.float32),
            "disparity": d_left.astype(np.float32),
            "disparity_right": d_right.astype(np.float32),
            "nonocc": nonocc,
        }


def random_scene(
    rng: np.random.Generator, height: int = 96, width: int = 128, max_disparity: float = 0.12
) -> SyntheticScene:
    """A random scene whose nearest ground point has disparity ``max_disparity * width`` pixels."""
    horizon = rng.uniform(0.25, 0.45) * height
    d_bottom = max_disparity * width * rng.uniform(0.85, 1.0)
    slope = d_bottom / (height - 1 - horizon)
    wall = rng.uniform(0.15, 0.35) * d_bottom
    y_wall = horizon + wall / slope  # row where the ground meets the wall
    objects = []
    for _ in range(int(rng.integers(1, 5))):
        yb = rng.uniform(y_wall + 2, height + 0.15 * height)  # may stand below the frame's bottom edge
        d = slope * (yb - horizon)
        h = d * rng.uniform(1.5, 3.5)
        w = d * rng.uniform(1.0, 2.5)
        cx = rng.uniform(-0.1, 1.1) * width
        tex = _Texture.random(rng, scale=d / (0.5 * d_bottom), origin=(cx, yb))
        objects.append(_Object(cx - w / 2, cx + w / 2, yb - h, yb, float(d), bool(rng.random() < 0.4), tex))
    objects.sort(key=lambda o: o.disparity)
    return SyntheticScene(
        height,
        width,
        horizon,
        slope,
        wall,
        _Texture.random(rng),
        _Texture.random(rng, scale=2.0),
        _Texture.random(rng),
        objects,
    )


def render_stereo_pair(
    seed: int, height: int = 96, width: int = 128, max_disparity: float = 0.12
) -> dict[str, np.ndarray]:
    """The pair number ``seed``: deterministic, see :class:`SyntheticScene` for what it contains."""
    if height < 8 or width < 8:
        raise DataError(f"synthetic stereo images must be at least 8x8 pixels, not {width}x{height}")
    return random_scene(np.random.default_rng(seed), height, width, max_disparity).render()


class SyntheticStereoDataset(Dataset):
    """``n`` rendered pairs (cached after the first use) as stereo dataset items.

    Items: ``left``/``right`` (3, H, W) in [0, 1]; ``disparity`` and ``disparity_right`` (1, H, W) in pixels;
    ``valid`` (all ones: GT is exact everywhere), ``nonocc`` (1, H, W) evaluation mask; ``focal`` = width
    (pixels) and ``baseline`` = 0.1, so depth = focal * baseline / disparity; ``doffs`` = 0; ``has_gt`` = 1.
    """

    def __init__(self, n: int, height: int = 96, width: int = 128, max_disparity: float = 0.12, seed: int = 0) -> None:
        self.n, self.height, self.width, self.max_disparity, self.seed = n, height, width, max_disparity, seed
        self._cache: dict[int, dict[str, torch.Tensor]] = {}

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        if i not in self._cache:
            r = render_stereo_pair(self.seed * 1_000_003 + i, self.height, self.width, self.max_disparity)
            self._cache[i] = {
                "left": torch.from_numpy(r["left"]).permute(2, 0, 1).contiguous(),
                "right": torch.from_numpy(r["right"]).permute(2, 0, 1).contiguous(),
                "disparity": torch.from_numpy(r["disparity"])[None],
                "disparity_right": torch.from_numpy(r["disparity_right"])[None],
                "valid": torch.ones(1, self.height, self.width),
                "nonocc": torch.from_numpy(r["nonocc"].astype(np.float32))[None],
                "focal": torch.tensor(float(self.width)),
                "baseline": torch.tensor(SYNTHETIC_BASELINE),
                "doffs": torch.tensor(0.0),
                "has_gt": torch.tensor(1.0),
            }
        return dict(self._cache[i])


@register_data("synthetic-stereo")
def synthetic_stereo_data(
    path: str | None = None,
    image_size: int | str | None = None,
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    max_disparity: float = 0.12,
    crop: str | None = None,
    flip: bool = True,
    jitter: float = 0.0,
) -> DataSplits:
    """``synthetic-stereo[:N]``: N rendered pairs (default 256), 96x128 unless ``image_size``; the training
    split gets the paired augmentation (flip, colour jitter, crop)."""
    from aekit.data.images import parse_size
    from aekit.data.stereo import AugmentedStereo, StereoAugment

    try:
        n = int(path) if path else 256
    except ValueError as exc:
        raise DataError(f"--data synthetic-stereo:N takes a number of pairs, not {path!r}") from exc
    if n < 3:
        raise DataError(f"synthetic-stereo needs at least 3 pairs for train/val/test, not {n}")
    h, w = parse_size(image_size) or (96, 128)
    n_test = max(1, round(n * test_fraction)) if test_fraction > 0 else 0
    n_val = max(1, round(n * val_fraction)) if val_fraction > 0 else 0
    n_train = n - n_test - n_val
    if n_train < 1:
        raise DataError(f"synthetic-stereo:{n} leaves no training pairs with these val/test fractions")
    # disjoint seeds per split, so train, val and test never share a scene
    train = SyntheticStereoDataset(n_train, h, w, max_disparity, seed * 3)
    val = SyntheticStereoDataset(n_val, h, w, max_disparity, seed * 3 + 1) if n_val else None
    test = SyntheticStereoDataset(n_test, h, w, max_disparity, seed * 3 + 2) if n_test else None
    augment = StereoAugment(flip=flip, jitter=jitter, crop=parse_size(crop))
    info = {
        "channels": 3,
        "image_size": [h, w],
        "source": f"synthetic-stereo:{n}",
        "disparity_unit": "pixels",
        "calibration": {"focal": float(w), "baseline": SYNTHETIC_BASELINE, "doffs": 0.0},
    }
    return DataSplits(AugmentedStereo(train, augment), val, test, info)


def write_synthetic_stereo_folder(
    root: str | Path, n: int = 8, height: int = 96, width: int = 128, seed: int = 0, max_disparity: float = 0.12
) -> list[Path]:
    """Write ``n`` scenes as ``root/scene_XXX/{left.png, right.png, disp_gt.npy, nonocc.png}`` (the
    Middlebury 2001/2003 layout of ``stereo:`` folders) for demos and tests; returns the scene folders."""
    from PIL import Image

    root = Path(root)
    folders = []
    for i in range(n):
        r = render_stereo_pair(seed * 1_000_003 + i, height, width, max_disparity)
        folder = root / f"scene_{i:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        for view in ("left", "right"):
            Image.fromarray((r[view] * 255 + 0.5).astype(np.uint8)).save(folder / f"{view}.png")
        np.save(folder / "disp_gt.npy", r["disparity"])
        Image.fromarray(r["nonocc"].astype(np.uint8) * 255).save(folder / "nonocc.png")
        folders.append(folder)
    return folders
