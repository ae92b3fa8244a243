"""The thin-lens focal-stack renderer and the ``focalstack:`` data source (issue 23)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import SHARED_DATA, needs_shared_data
from PIL import Image

from aekit.data import open_data
from aekit.data.base import DataError
from aekit.data.focalstack import (
    depth_to_position,
    disc_kernel,
    position_to_depth,
    render_focal_stack,
)


def texture(h: int = 48, w: int = 48, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, (h, w, 3))


def spread(psf: np.ndarray) -> float:
    """sqrt(2 * E[r^2]) of a point-spread function: the radius of a uniform disc with that second moment."""
    h, w = psf.shape
    yy, xx = np.mgrid[0:h, 0:w]
    m = psf / psf.sum()
    cy, cx = (m * yy).sum(), (m * xx).sum()
    return float(np.sqrt(2 * (m * ((yy - cy) ** 2 + (xx - cx) ** 2)).sum()))


def test_plane_at_focus_renders_sharp() -> None:
    img = texture()
    disp = np.full(img.shape[:2], 20.0)
    stack = render_focal_stack(img, disp, [20.0, 26.0], aperture=1.0)
    assert np.abs(stack[0] - img).max() < 1e-5  # in focus: the image itself
    assert np.abs(stack[1] - img).mean() > 0.05  # 6 px off the plane: visibly blurred


@pytest.mark.parametrize("offset", [4.0, 10.0])
def test_plane_off_focus_blurs_by_the_thin_lens_radius(offset: float) -> None:
    """A point on a plane ``offset`` disparity px from the focus spreads over a disc of diameter aperture*offset."""
    img = np.zeros((61, 61, 3))
    img[30, 30] = 1.0
    aperture = 1.5
    stack = render_focal_stack(img, np.full((61, 61), 30.0), [30.0 - offset], aperture=aperture)
    psf = stack[0, ..., 0].astype(np.float64)
    expected = aperture * offset / 2
    assert spread(psf) == pytest.approx(expected, rel=0.08)
    support = np.argwhere(psf > 1e-4)
    assert (np.abs(support - 30).max()) <= np.ceil(expected)  # nothing beyond the disc
    assert psf[30, 30 + int(expected) - 1] > 0  # ... and the disc is filled to its rim


def test_disc_kernel_is_normalised_and_round() -> None:
    k = disc_kernel(3.3)
    assert k.sum() == pytest.approx(1.0)
    assert np.allclose(k, k.T) and np.allclose(k, k[::-1])
    assert disc_kernel(0.3).shape == (1, 1)


def test_occlusion_edges_do_not_bleed() -> None:
    """A sharp foreground keeps its colour up to its edge while the background behind it is blurred; a
    per-pixel blur (each pixel's own radius gathered from its neighbours) would mix the two at the edge."""
    h, w = 40, 60
    img = np.zeros((h, w, 3))
    img[:, :30] = [1.0, 0.0, 0.0]  # near red object, left half
    img[:, 30:] = [0.0, 0.0, 1.0]  # far blue wall
    img[::4, 30:] = [0.0, 1.0, 0.0]  # with green stripes, so blurring it shows
    disp = np.where(np.arange(w)[None] < 30, 40.0, 10.0) * np.ones((h, 1))
    stack = render_focal_stack(img, disp, [40.0, 10.0], aperture=0.5)  # focus on the object, then on the wall
    sharp_fg = stack[0]
    assert np.abs(sharp_fg[:, :30] - img[:, :30]).max() < 1e-5  # no blue/green leaked onto the red object
    wall = sharp_fg[:, 38:]
    assert wall[..., 1].std() < img[:, 38:, 1].std() * 0.5  # the wall (15 px off focus) is blurred
    # focused on the wall: the blurred red object spreads over the wall near the edge, far from it the wall is sharp
    sharp_bg = stack[1]
    assert np.abs(sharp_bg[:, 45:] - img[:, 45:]).max() < 1e-5
    assert sharp_bg[:, 31, 0].mean() > 0.1
    # the naive per-pixel blur this test must tell apart: background pixels' big kernels gather red from the object
    naive = img.copy()
    r = 0.5 * 0.5 * 30.0
    k = disc_kernel(r)
    half = k.shape[0] // 2
    pad = np.pad(img, ((half, half), (half, half), (0, 0)), mode="edge")
    for x in range(30, 34):
        naive[:, x] = sum(k[i, j] * pad[i : i + h, x + j] for i in range(k.shape[0]) for j in range(k.shape[1]))
    assert np.abs(naive[:, 30:34, 0]).max() > 0.1  # ... which our check of the foreground edge would also catch


def test_noise_is_seeded() -> None:
    img, disp = texture(), np.full((48, 48), 5.0)
    a = render_focal_stack(img, disp, [5.0], 1.0, noise=0.02, seed=3)
    b = render_focal_stack(img, disp, [5.0], 1.0, noise=0.02, seed=3)
    c = render_focal_stack(img, disp, [5.0], 1.0, noise=0.02, seed=4)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert 0.01 < float(np.std(a[0] - img)) < 0.03


def test_position_depth_round_trip() -> None:
    focus = torch.tensor([[2.0, 4.0, 8.0, 16.0]])
    depth = torch.tensor([[[[2.0, 3.0, 8.0, 12.0, 16.0]]]])
    p = depth_to_position(depth, focus)
    assert torch.allclose(p, torch.tensor([[[[0.0, 1 / 6, 2 / 3, 5 / 6, 1.0]]]]))
    assert torch.allclose(position_to_depth(p, focus), depth)


def rgbd_scene(folder: Path, seed: int) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    Image.fromarray((rng.uniform(0, 255, (24, 32, 3))).astype(np.uint8)).save(folder / "image.png")
    disp = np.tile(np.linspace(5, 20, 32, dtype=np.float32), (24, 1))
    disp[0, 0] = 0  # unknown
    np.save(folder / "depth.npy", disp)


def test_focalstack_source_rendered_and_real(tmp_path: Path) -> None:
    for i, name in enumerate(["alpha", "beta", "gamma"]):
        rgbd_scene(tmp_path / "rgbd" / name, i)
    real = tmp_path / "real" / "sweep"
    real.mkdir(parents=True)
    with open(real / "focus.csv", "w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(["file", "focus"])
        for k in range(4):  # written out of order: the reader sorts by focus
            Image.fromarray(np.full((24, 32, 3), 40 * k, np.uint8)).save(real / f"s{k}.png")
            wr.writerow([f"s{k}.png", 10.0 - k])
    splits = open_data(f"focalstack:{tmp_path / 'rgbd'}", slices=4, stack_scale=1.0, crop_size=16,
                       crops_per_scene=3, test_groups="gamma", val_fraction=0.0)  # fmt: skip
    assert len(splits.train) == 2 * 3 and len(splits.test) == 1
    item = splits.train[0]
    assert item["image"].shape == (12, 16, 16) and item["target"].shape == (1, 16, 16)
    whole = splits.test[0]
    assert whole["image"].shape == (12, 24, 32) and whole["valid"][0, 0, 0] == 0 and whole["target"][0, 0, 0] == 0
    assert torch.all(whole["focus"][1:] > whole["focus"][:-1])
    stack = open_data(f"focalstack:{real}", slices=4, stack_scale=1.0, test_fraction=1.0, val_fraction=0.0).test[0]
    assert stack["focus"].tolist() == [7.0, 8.0, 9.0, 10.0]
    assert float(stack["image"][0].mean()) == pytest.approx(120 / 255, abs=1e-3)  # s3 (focus 7) comes first
    assert float(stack["valid"].sum()) == 0  # no GT given
    with pytest.raises(DataError, match="slices"):
        open_data(f"focalstack:{real},{tmp_path / 'rgbd'}", slices=8)


def test_focalstack_bad_input(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no scene"):
        open_data(f"focalstack:{tmp_path / 'empty'}")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "focus.csv").write_text("file,focus\nmissing.png,1\n")
    with pytest.raises(DataError, match="does not exist"):
        open_data(f"focalstack:{bad}")


def test_rgbd_source_scales_disparity_with_the_image(tmp_path: Path) -> None:
    """Supervised depth on RGB-D scenes: resizing by s multiplies disparity (px) by s, in evaluation and in the
    random zoom of training crops."""
    for i, name in enumerate(["alpha", "beta", "gamma"]):
        rgbd_scene(tmp_path / name, i)
    splits = open_data(f"rgbd:{tmp_path}", stack_scale=0.5, crop_size=8, crops_per_scene=5, test_groups="gamma",
                       val_fraction=0.0)  # fmt: skip
    whole = splits.test[0]
    assert whole["image"].shape == (3, 12, 16)
    t = whole["target"][whole["target"] > 0]
    assert float(t.min()) >= 2.5 - 1e-4 and float(t.max()) <= 10.0 + 1e-4  # 5..20 px at full size, halved
    assert len(splits.train) == 10
    for i in range(len(splits.train)):
        crop = splits.train[i]
        assert crop["image"].shape == (3, 8, 8)
        v = crop["target"][crop["target"] > 0]
        assert float(v.min()) >= 5 * 0.5 * 0.8 - 1e-4 and float(v.max()) <= 20 * 0.5 * 1.25 + 1e-4
    halved = open_data(f"rgbd:{tmp_path}", stack_scale=0.5, depth_scale=4.0, test_groups="gamma",
                       val_fraction=0.0).test[0]["target"]  # fmt: skip
    assert torch.allclose(halved * 4.0, whole["target"])


@needs_shared_data("depth")
def test_shared_scenes_are_found_with_their_conventions() -> None:
    """The real RGB-D scenes: Middlebury 2005 disparity = PNG / 3 (Art 24.3..74.7 px, README of depth/), HCI signed."""
    from aekit.data.focalstack import find_scenes, read_rgbd

    scenes = {Path(s.name).name: s for s in find_scenes(str(SHARED_DATA / "depth"))}
    assert set(scenes) == {"Art", "Books", "Dolls", "Laundry", "Moebius", "antinous", "backgammon"}
    assert all(s.right is not None for s in scenes.values())
    _, disp, valid = read_rgbd(scenes["Art"])
    assert float(disp[valid].min()) == pytest.approx(24.33, abs=0.02) and float(disp[valid].max()) == pytest.approx(
        74.67, abs=0.02
    )
    _, hci, hvalid = read_rgbd(scenes["antinous"])
    assert hvalid.all() and hci.min() < 0 < hci.max()
