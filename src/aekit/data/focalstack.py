"""``focalstack:PATH[,PATH...]``: focal stacks (a focus sweep) with a depth map, for depth from focus.

Two kinds of scene, found under every PATH (a scene folder or a folder of them):

- **real focus sweeps**: a folder of slice images plus ``focus.csv`` (header ``file,focus``: one row per
  slice, the focus position in the units the depth map uses, e.g. dioptres, mm or disparity px), with an
  optional ground truth ``depth.pfm`` / ``depth.npy`` / ``depth.png`` (PNG divided by ``depth_scale``), what a
  microscope's z-sweep or a phone's focus bracket produces;
- **RGB-D scenes** rendered into a stack with a thin-lens model (:func:`render_focal_stack`): Middlebury
  2005 (``view1.png`` + ``disp1.png`` / 3), Middlebury 2001/2003 (``left.png`` + ``disp_gt.npy``), the HCI
  light fields (``input_Cam040.png`` + ``gt_disp_lowres.pfm``), any ``image.png`` + ``depth.(pfm|npy|png)``,
  and ``skimage:motorcycle`` (Middlebury 2014 Motorcycle shipped inside scikit-image).

Thin lens in disparity units: the blur-circle diameter of a point at depth Z with the lens focused at Z_f is
``c = A f / (Z_f - f) * |Z - Z_f| / Z``, i.e. proportional to ``|1/Z - 1/Z_f|``, and disparity is ``d = f B / Z``;
so ``c = (A / B) * |d - d_f|`` pixels: linear in disparity, and equal to it when the aperture equals the
stereo baseline. A rendered sweep puts ``slices`` focus positions evenly over the scene's 2nd..98th
percentile of disparity (a bracket set to the scene) and sets the aperture so that a point at one end of that
range, focused at the other, is blurred by ``max_blur`` pixels (diameter). Occlusions: the scene is cut
into disparity layers, each blurred with its own disc and composited far to near ("over", premultiplied,
normalised by the accumulated coverage), so a sharp foreground never picks up blurred background (no leak
across edges), while a blurred foreground does spread over what lies behind it. Seeded Gaussian sensor
noise (``noise``, std in [0, 1] units) is added per slice.

Items: ``image`` (S*C, H, W): the S slices stacked along channels (slice-major, so a model reshapes to
(S, C, H, W)); ``target`` (1, H, W) depth/disparity (0 where unknown); ``valid`` (1, H, W) {0, 1};
``focus`` (S,) the focus positions, increasing. Metrics read depth where ``valid`` and ``target > 0``.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from aekit.data.base import DataError, DataSplits, register_data
from aekit.data.depth import read_depth
from aekit.data.images import read_image
from aekit.data.pfm import read_pfm
from aekit.data.splits import SPLITS, SplitSpec, assign_splits

FOCUS_CSV = "focus.csv"
SKIMAGE_MOTORCYCLE = "skimage:motorcycle"


# -- thin-lens rendering ------------------------------------------------------------------------------
def disc_kernel(radius: float) -> np.ndarray:
    """A normalised, anti-aliased uniform disc (the thin-lens point-spread function) of ``radius`` pixels.

    Each pixel's weight is the share of its area inside the circle (4x4 supersampled); radius < 0.5 is the
    identity (a point stays in one pixel)."""
    if radius < 0.5:
        return np.ones((1, 1), np.float64)
    half = int(np.ceil(radius))
    sub = (np.arange(4) + 0.5) / 4 - 0.5
    ax = (np.arange(-half, half + 1)[:, None] + sub[None]).ravel()
    inside = (ax[:, None] ** 2 + ax[None] ** 2) <= radius**2
    n = 2 * half + 1
    k = inside.reshape(n, 4, n, 4).mean(axis=(1, 3))
    return k / k.sum()


def _fft_blur(spectra: np.ndarray, kernel: np.ndarray, shape: tuple[int, int], pad: int) -> np.ndarray:
    """Convolve padded images (their rfft2 ``spectra``, (..., Hp, Wp//2+1)) with a centred kernel; unpadded result."""
    hp, wp = shape
    kh, kw = kernel.shape
    k = np.zeros((hp, wp))
    k[:kh, :kw] = kernel
    k = np.roll(k, (-(kh // 2), -(kw // 2)), axis=(0, 1))
    out = np.fft.irfft2(spectra * np.fft.rfft2(k), s=shape)
    return out[..., pad : hp - pad, pad : wp - pad]


def fill_invalid(disparity: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Unknown pixels take the value of the nearest known one (so the renderer can place them in a layer)."""
    if valid.all():
        return disparity
    if not valid.any():
        raise DataError("a depth map has no valid pixel; it cannot be rendered into a focal stack")
    from scipy.ndimage import distance_transform_edt

    _, (iy, ix) = distance_transform_edt(~valid, return_indices=True)
    return disparity[iy, ix]


def render_focal_stack(
    image: np.ndarray,
    disparity: np.ndarray,
    focus: Sequence[float],
    aperture: float,
    layers: int = 48,
    noise: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """Thin-lens focal stack (S, H, W, C) in [0, 1] of ``image`` (H, W, C) in [0, 1] with ``disparity`` (H, W).

    Larger disparity = closer. A pixel at disparity ``d`` imaged with focus ``f`` is spread over a disc of
    diameter ``aperture * |d - f|`` pixels. The scene is cut into ``layers`` equal disparity bins (each
    layer blurred at its bin centre's radius, composited far to near with premultiplied alpha and
    normalised by the coverage, so occluded background never bleeds onto a sharp foreground); a scene of
    one disparity is one exact layer. ``noise``: Gaussian std added per slice (seeded), then clipped.
    """
    img = np.asarray(image, np.float64)
    if img.ndim == 2:
        img = img[..., None]
    disp = np.asarray(disparity, np.float64)
    if disp.shape != img.shape[:2]:
        raise DataError(f"depth map is {disp.shape[1]}x{disp.shape[0]} but the image is {img.shape[1]}x{img.shape[0]}")
    lo, hi = float(disp.min()), float(disp.max())
    n_layers = 1 if hi - lo < 1e-9 else int(layers)
    if n_layers == 1:
        idx = np.zeros(disp.shape, int)
        centres = np.array([lo])
    else:
        edges = np.linspace(lo, hi, n_layers + 1)
        idx = np.clip(np.digitize(disp, edges[1:-1]), 0, n_layers - 1)
        centres = np.array([disp[idx == i].mean() if (idx == i).any() else 0.5 * (edges[i] + edges[i + 1])
                            for i in range(n_layers)])  # fmt: skip
    present = [i for i in range(n_layers) if (idx == i).any()]
    max_r = max(0.5 * aperture * max(abs(c - f) for c in centres[present]) for f in focus)
    pad = int(np.ceil(max_r)) + 1
    h, w = disp.shape
    shape = (h + 2 * pad, w + 2 * pad)
    spectra = {}
    for i in present:  # premultiplied colour + alpha of each layer, edge-padded (the scene continues)
        m = (idx == i).astype(np.float64)
        rgba = np.concatenate([img * m[..., None], m[..., None]], axis=-1).transpose(2, 0, 1)
        rgba = np.pad(rgba, ((0, 0), (pad, pad), (pad, pad)), mode="edge")
        spectra[i] = np.fft.rfft2(rgba)
    rng = np.random.default_rng(seed)
    stack = []
    for f in focus:
        acc = np.zeros((img.shape[2] + 1, h, w))
        for i in sorted(present, key=lambda j: centres[j]):  # far (small disparity) to near
            r = 0.5 * aperture * abs(centres[i] - f)
            if r < 0.5:
                m = (idx == i).astype(np.float64)
                layer = np.concatenate([img * m[..., None], m[..., None]], axis=-1).transpose(2, 0, 1)
            else:
                layer = _fft_blur(spectra[i], disc_kernel(r), shape, pad)
            a = np.clip(layer[-1], 0.0, 1.0)
            acc = acc * (1.0 - a) + np.clip(layer, 0.0, None)
        out = acc[:-1] / np.maximum(acc[-1], 1e-8)
        out = out.transpose(1, 2, 0)
        if noise > 0:
            out = out + rng.normal(0.0, noise, out.shape)
        stack.append(np.clip(out, 0.0, 1.0))
    return np.stack(stack).astype(np.float32)


def sweep_positions(disparity: np.ndarray, valid: np.ndarray, slices: int) -> np.ndarray:
    """``slices`` focus positions evenly over the 2nd..98th percentile of the valid disparities."""
    vals = disparity[valid]
    lo, hi = np.percentile(vals, [2, 98])
    if hi - lo < 1e-6:
        hi = lo + 1.0
    return np.linspace(lo, hi, slices)


def position_to_depth(p: torch.Tensor, focus: torch.Tensor) -> torch.Tensor:
    """Depth at normalised focus positions ``p`` (N, 1, H, W) in [0, 1] (0 = first slice, 1 = last): linear
    interpolation between the (N, S) focus positions."""
    s = focus.shape[-1]
    t = p.clamp(0, 1) * (s - 1)
    i0 = t.floor().clamp(max=s - 2).long() if s > 1 else torch.zeros_like(t).long()
    frac = t - i0
    f = focus[:, :, None, None].expand(-1, -1, *p.shape[-2:]).to(p.dtype)
    lo = torch.gather(f, 1, i0)
    hi = torch.gather(f, 1, (i0 + 1).clamp(max=s - 1))
    return lo + frac * (hi - lo)


def depth_to_position(depth: torch.Tensor, focus: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`position_to_depth`: normalised position in [0, 1] of each depth (clamped to the sweep)."""
    s = focus.shape[-1]
    out = torch.empty_like(depth)
    for n in range(depth.shape[0]):
        f = focus[n].to(depth.dtype)
        d = depth[n].clamp(float(f[0]), float(f[-1]))
        i = torch.searchsorted(f.contiguous(), d.contiguous().flatten()).clamp(1, s - 1).reshape(d.shape)
        f0, f1 = f[i - 1], f[i]
        out[n] = ((i - 1) + (d - f0) / (f1 - f0).clamp_min(1e-12)) / (s - 1)
    return out


# -- scenes -------------------------------------------------------------------------------------------
@dataclass
class Scene:
    """One scene: an RGB-D pair to render, or a real stack (``slices`` + ``focus``); depth may be absent."""

    name: str
    kind: str  # "rgbd" or "stack"
    image: Path | None = None
    depth: Path | None = None
    depth_divisor: float = 1.0
    slices: list[Path] | None = None
    focus: list[float] | None = None
    right: Path | None = None  # the right view of an RGB-D scene that is a rectified stereo pair's left view


RGBD_LAYOUTS = (  # (image, depth, divisor, right view): Middlebury 2005, 2001/2003, HCI light field, generic
    ("view1.png", "disp1.png", 3.0, "view5.png"),
    ("left.png", "disp_gt.npy", 1.0, "right.png"),
    ("input_Cam040.png", "gt_disp_lowres.pfm", 1.0, "input_Cam041.png"),
    ("image.png", "depth.pfm", 1.0, "right.png"),
    ("image.png", "depth.npy", 1.0, "right.png"),
    ("image.png", "depth.png", 1.0, "right.png"),
)


def read_focus_csv(folder: Path) -> tuple[list[Path], list[float]]:
    """The slices of a real sweep and their focus positions, sorted by position (checked)."""
    path = folder / FOCUS_CSV
    try:
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    if not rows or not {"file", "focus"} <= set(rows[0]):
        raise DataError(f"{path} needs a header 'file,focus' and one row per slice")
    pairs = []
    for k, row in enumerate(rows, start=2):
        f = folder / row["file"].strip()
        if not f.is_file():
            raise DataError(f"{path} line {k}: slice {row['file']!r} does not exist in {folder}")
        try:
            pairs.append((float(row["focus"]), f))
        except ValueError as exc:
            raise DataError(f"{path} line {k}: focus {row['focus']!r} is not a number") from exc
    if len(pairs) < 2:
        raise DataError(f"{path} lists {len(pairs)} slice(s); a focal stack needs at least 2")
    pairs.sort(key=lambda t: t[0])
    focus = [p for p, _ in pairs]
    if len(set(focus)) != len(focus):
        raise DataError(f"{path}: two slices share a focus position; each slice needs its own")
    return [f for _, f in pairs], focus


def _scene_in(folder: Path, depth_scale: float) -> Scene | None:
    if (folder / FOCUS_CSV).is_file():
        slices, focus = read_focus_csv(folder)
        gt = next((folder / n for n in ("depth.pfm", "depth.npy", "depth.png") if (folder / n).is_file()), None)
        return Scene(str(folder), "stack", depth=gt, depth_divisor=depth_scale, slices=slices, focus=focus)
    for image, depth, divisor, right in RGBD_LAYOUTS:
        if (folder / image).is_file() and (folder / depth).is_file():
            div = depth_scale if depth == "depth.png" else divisor
            r = folder / right if (folder / right).is_file() else None
            return Scene(str(folder), "rgbd", folder / image, folder / depth, div, right=r)
    return None


def find_scenes(spec: str, depth_scale: float = 1.0) -> list[Scene]:
    """Every scene under the comma-separated roots (each a scene folder or a folder of scene folders)."""
    scenes: list[Scene] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        if part == SKIMAGE_MOTORCYCLE:
            scenes.append(Scene("skimage/motorcycle", "rgbd"))
            continue
        root = Path(part)
        if not root.is_dir():
            raise DataError(f"focalstack: {root} is not a folder (pass scene folders or folders of them)")
        found = [_scene_in(root, depth_scale)]
        if found[0] is None:
            found = [_scene_in(d, depth_scale) for d in sorted(root.rglob("*")) if d.is_dir()]
        found = [s for s in found if s is not None]
        if not found:
            raise DataError(
                f"focalstack: no scene under {root}: a scene is a folder with slices + {FOCUS_CSV} (file,focus), "
                "or an image with its depth (view1.png+disp1.png, left.png+disp_gt.npy, image.png+depth.pfm, ...)"
            )
        scenes += found
    if not scenes:
        raise DataError("focalstack: give at least one folder, e.g. --data focalstack:../shared/data/depth")
    return scenes


def _resize(arr: np.ndarray, size: tuple[int, int], nearest: bool) -> np.ndarray:
    """Resize an (H, W[, C]) float array to ``size`` (H, W): area average for images, nearest for depth."""
    if arr.shape[:2] == size:
        return arr
    mode = Image.NEAREST if nearest else Image.BOX
    if arr.ndim == 2:
        return np.asarray(Image.fromarray(arr.astype(np.float32)).resize((size[1], size[0]), mode))
    chans = [np.asarray(Image.fromarray(arr[..., c].astype(np.float32)).resize((size[1], size[0]), mode))
             for c in range(arr.shape[2])]  # fmt: skip
    return np.stack(chans, -1)


def read_rgbd(scene: Scene) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An RGB-D scene's image (H, W, 3) in [0, 1], disparity/depth (H, W, 0 where unknown) and validity."""
    if scene.image is None:  # scikit-image's Middlebury 2014 Motorcycle (missing GT is inf)
        from skimage.data import stereo_motorcycle

        left, _, disp = stereo_motorcycle()
        image = left.astype(np.float32) / 255.0
        disparity = np.asarray(disp, np.float32)
    else:
        image = read_image(scene.image, 3).astype(np.float32) / 255.0
        assert scene.depth is not None
        disparity = (np.load(scene.depth, allow_pickle=False).astype(np.float32) if scene.depth.suffix == ".npy"
                     else read_pfm(scene.depth) if scene.depth.suffix == ".pfm"
                     else read_depth(scene.depth, scene.depth_divisor))  # fmt: skip
    if disparity.shape != image.shape[:2]:
        raise DataError(f"{scene.depth} does not match the size of {scene.image}")
    valid = np.isfinite(disparity) & (disparity != 0)
    if scene.depth is not None and scene.depth.suffix == ".pfm" and scene.depth.name.startswith("gt_disp"):
        valid = np.isfinite(disparity)  # HCI: signed disparity, 0 = on the focal plane, nothing unknown
    return image, np.where(valid, disparity, 0).astype(np.float32), valid


_LOADED: dict[tuple, dict[str, torch.Tensor]] = {}  # rendering takes seconds: once per process and settings


def load_scene(
    scene: Scene, scale: float = 1.0, slices: int = 8, max_blur: float = 12.0, noise: float = 0.01, seed: int = 0
) -> dict[str, torch.Tensor]:
    """One scene as an item (see the module docstring); RGB-D scenes are rendered here (seeded by ``seed`` and
    the scene's name, so every scene gets its own noise, the same on every call). Kept per process (read-only:
    callers copy before changing), so folds of a cross-validation render each scene once."""
    key = (scene.name, scene.kind, str(scene.image), str(scene.depth), scale, slices, max_blur, noise, seed)
    if key not in _LOADED:
        _LOADED[key] = _load_scene(scene, scale, slices, max_blur, noise, seed)
    return _LOADED[key]


def _load_scene(
    scene: Scene, scale: float, slices: int, max_blur: float, noise: float, seed: int
) -> dict[str, torch.Tensor]:
    if scene.kind == "stack":
        imgs = [read_image(p, 3).astype(np.float32) / 255.0 for p in scene.slices or []]
        shapes = {im.shape for im in imgs}
        if len(shapes) != 1:
            raise DataError(f"focalstack: the slices of {scene.name} differ in size; every slice must be the same")
        h, w = imgs[0].shape[:2]
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
        stack = np.stack([_resize(im, size, False) for im in imgs]).astype(np.float32)
        focus = np.asarray(scene.focus, np.float64)
        if scene.depth is not None:
            depth = read_depth(scene.depth, scene.depth_divisor)
            if depth.shape != (h, w):
                raise DataError(f"{scene.depth} is {depth.shape[1]}x{depth.shape[0]}; its slices are {w}x{h}")
            depth = _resize(depth, size, True)
        else:
            depth = np.zeros(size, np.float32)
        valid = depth > 0
    else:
        image, disparity, valid = read_rgbd(scene)
        h, w = image.shape[:2]
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
        image, disparity = _resize(image, size, False), _resize(disparity, size, True)
        valid = _resize(valid.astype(np.float32), size, True) > 0.5
        focus = sweep_positions(disparity, valid, slices)
        aperture = max_blur / max(float(focus[-1] - focus[0]), 1e-6)
        scene_seed = int.from_bytes(Path(scene.name).name.encode()[:8].ljust(8, b"\0"), "little") ^ seed
        stack = render_focal_stack(image, fill_invalid(disparity, valid), focus, aperture, noise=noise,
                                   seed=scene_seed % 2**32)  # fmt: skip
        depth = disparity
    s = stack.shape[0]
    image_t = torch.from_numpy(np.ascontiguousarray(stack.transpose(0, 3, 1, 2))).reshape(s * 3, *stack.shape[1:3])
    return {
        "image": image_t.float(),
        "target": torch.from_numpy(np.where(valid, depth, 0).astype(np.float32))[None],
        "valid": torch.from_numpy(valid.astype(np.float32))[None],
        "focus": torch.from_numpy(focus.astype(np.float32)),
    }


def random_crop(maps: list[torch.Tensor], size: int) -> list[torch.Tensor]:
    """The same random ``size`` x ``size`` window of every (C, H, W) map; smaller maps are zero-padded first
    (0 = unknown depth, so padding never counts)."""
    h, w = maps[0].shape[-2:]
    maps = [torch.nn.functional.pad(m, (0, max(0, size - w), 0, max(0, size - h))) for m in maps]
    y = int(torch.randint(0, maps[0].shape[-2] - size + 1, (1,)))
    x = int(torch.randint(0, maps[0].shape[-1] - size + 1, (1,)))
    return [m[:, y : y + size, x : x + size] for m in maps]


class FocalStackDataset(Dataset):
    """Scenes loaded (rendered) once and kept; training items are random crops with the dihedral flips.

    ``crops_per_scene``: items per scene and epoch in training (each a fresh random crop); evaluation items are
    the whole scenes."""

    def __init__(
        self,
        scenes: Sequence[Scene],
        train: bool = False,
        crop: int | None = None,
        crops_per_scene: int = 16,
        **render: float,
    ) -> None:
        self.scenes = list(scenes)
        self.names = [s.name for s in self.scenes]
        self.train = train
        self.crop = crop
        self.crops_per_scene = crops_per_scene if train and crop else 1
        self.render = render

    def scene(self, i: int) -> dict[str, torch.Tensor]:
        """Scene ``i`` whole (rendered once per process; do not modify the tensors in place)."""
        return load_scene(self.scenes[i], **self.render)  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self.scenes) * self.crops_per_scene

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        item = self.scene(i // self.crops_per_scene)
        if not self.train:
            return item
        out = {k: v for k, v in item.items()}
        maps = [out["image"], out["target"], out["valid"]]
        if self.crop:
            maps = random_crop(maps, self.crop)
        flips = torch.randint(0, 2, (3,)).tolist()  # h-flip, v-flip, transpose: focus does not care
        if flips[0]:
            maps = [m.flip(-1) for m in maps]
        if flips[1]:
            maps = [m.flip(-2) for m in maps]
        if flips[2] and maps[0].shape[-1] == maps[0].shape[-2]:
            maps = [m.transpose(-1, -2) for m in maps]
        gain = float(torch.empty(1).uniform_(0.8, 1.2))  # exposure: the same for every slice
        out["image"], out["target"], out["valid"] = (maps[0] * gain).clamp(0, 1), maps[1], maps[2]
        return {k: v.contiguous() for k, v in out.items()}


@register_data("focalstack")
def focalstack_data(
    path: str | None,
    slices: int = 8,
    max_blur: float = 12.0,
    noise: float = 0.01,
    render_seed: int = 0,
    stack_scale: float = 0.5,
    crop_size: int | str | None = 64,
    crops_per_scene: int = 16,
    depth_scale: float = 1.0,
    splitting: SplitSpec | None = None,
) -> DataSplits:
    """``focalstack:ROOT[,ROOT...]`` -> scenes split by :func:`aekit.data.splits.assign_splits` (a scene is one
    item, its group its folder name, so ``--test-groups Art`` holds out Middlebury Art).

    ``slices``/``max_blur``/``noise``/``render_seed`` shape rendered stacks; ``stack_scale`` resizes every scene
    (0.5: half size); training draws ``crops_per_scene`` random ``crop_size`` crops per scene and epoch."""
    if not path:
        raise DataError("focalstack needs a folder: --data focalstack:../shared/data/depth (comma-separated list)")
    if slices < 2:
        raise DataError(f"--slices {slices}: a focal stack needs at least 2 slices")
    if not 0 < stack_scale <= 4:
        raise DataError(f"--stack-scale {stack_scale}: give a factor in (0, 4], e.g. 0.5 for half size")

    def lister(arg: str) -> list[Scene]:
        return find_scenes(arg, depth_scale)

    chosen, record = assign_splits(lister(path), lambda s: s.name, splitting or SplitSpec(), f"focalstack:{path}",
                                   lister=lister)  # fmt: skip
    crop = int(crop_size) if crop_size not in (None, "", "0", 0) else None
    render = {"scale": stack_scale, "slices": slices, "max_blur": max_blur, "noise": noise, "seed": render_seed}
    parts = {
        s: FocalStackDataset(chosen[s], s == "train", crop, crops_per_scene, **render) if chosen[s] else None
        for s in SPLITS
    }
    every = [sc for s in SPLITS for sc in chosen[s]]
    real = sum(sc.kind == "stack" for sc in every)
    counts = {sc.kind for sc in every}
    n_slices = {len(sc.focus or []) for sc in every if sc.kind == "stack"} | ({slices} if "rgbd" in counts else set())
    if len(n_slices) > 1:
        raise DataError(
            f"focalstack: the scenes have {sorted(n_slices)} slices; one model needs one stack length "
            "(set --slices to the real sweeps' length, or train on one kind)"
        )
    note = (f"{len(every) - real} RGB-D scene(s) rendered into {slices}-slice stacks (thin lens, max blur "
            f"{max_blur:g} px, noise {noise:g}, seed {render_seed}), {real} real sweep(s); scenes at x{stack_scale:g}")
    note += f"; training on {crops_per_scene} random {crop}x{crop} crops per scene and epoch" if crop else ""
    info = {
        "channels": 3,
        "slices": int(next(iter(n_slices))),
        "source": f"focalstack:{path}",
        "splits": record,
        "render": render,
        "decisions": {"focal_stack": note},
    }
    return DataSplits(parts["train"], parts["val"], parts["test"], info)


# -- RGB-D scenes for supervised depth ----------------------------------------------------------------
def read_right(scene: Scene, scale: float = 1.0) -> np.ndarray | None:
    """The right view (H, W, 3) in [0, 1] of a scene that is a stereo pair's left view, resized like the scene."""
    if scene.image is None:
        from skimage.data import stereo_motorcycle

        right = stereo_motorcycle()[1].astype(np.float32) / 255.0
    elif scene.right is not None:
        right = read_image(scene.right, 3).astype(np.float32) / 255.0
    else:
        return None
    h, w = right.shape[:2]
    return _resize(right, (max(1, round(h * scale)), max(1, round(w * scale))), False)


def scaled_rgbd(scene: Scene, scale: float, unit: float = 1.0) -> dict[str, torch.Tensor]:
    """``image`` (3, H, W) and ``target`` (1, H, W): the disparity in pixels of the image resized by ``scale``
    (disparity scales with the image), divided by ``unit``; 0 where unknown."""
    image, disparity, valid = read_rgbd(scene)
    h, w = image.shape[:2]
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    image, disparity = _resize(image, size, False), _resize(disparity, size, True) * scale
    valid = _resize(valid.astype(np.float32), size, True) > 0.5
    return {"image": torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float(),
            "target": torch.from_numpy(np.where(valid, disparity / unit, 0).astype(np.float32))[None]}  # fmt: skip


class RgbdDataset(Dataset):
    """Whole RGB-D scenes (evaluation) or, in training, ``crops_per_scene`` random crops per scene and epoch
    with scale-aware augmentation: each crop's scene is first resized by a random factor in
    [1/``zoom``, ``zoom``] and its disparity multiplied by the same factor (a nearer camera sees larger
    disparities), then h-flipped at random. Targets are divided by ``unit`` (``--depth-scale``)."""

    def __init__(self, scenes: Sequence[Scene], scale: float = 0.5, train: bool = False, crop: int | None = 128,
                 crops_per_scene: int = 16, zoom: float = 1.25, unit: float = 1.0) -> None:  # fmt: skip
        self.scenes = list(scenes)
        self.names = [s.name for s in self.scenes]
        self.scale, self.train, self.crop, self.zoom = scale, train, crop, zoom
        self.crops_per_scene = crops_per_scene if train and crop else 1
        self.unit = unit
        self._cache: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.scenes) * self.crops_per_scene

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        k = i // self.crops_per_scene
        if not self.train:
            return scaled_rgbd(self.scenes[k], self.scale, self.unit)
        if k not in self._cache:
            self._cache[k] = read_rgbd(self.scenes[k])
        image, disparity, valid = self._cache[k]
        z = self.scale * float(np.exp(torch.empty(1).uniform_(-np.log(self.zoom), np.log(self.zoom))))
        h, w = image.shape[:2]
        size = (max(1, round(h * z)), max(1, round(w * z)))
        img, disp = _resize(image, size, False), _resize(disparity, size, True) * z
        ok = _resize(valid.astype(np.float32), size, True) > 0.5
        x = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).float()
        t = torch.from_numpy(np.where(ok, disp / self.unit, 0).astype(np.float32))[None]
        if self.crop:
            x, t = random_crop([x, t], self.crop)
        if bool(torch.randint(0, 2, (1,))):
            x, t = x.flip(-1), t.flip(-1)
        return {"image": x.contiguous(), "target": t.contiguous()}


@register_data("rgbd")
def rgbd_data(
    path: str | None,
    stack_scale: float = 0.5,
    crop_size: int | str | None = 128,
    crops_per_scene: int = 16,
    depth_scale: float = 1.0,
    splitting: SplitSpec | None = None,
) -> DataSplits:
    """``rgbd:ROOT[,ROOT...]``: the RGB-D scenes of :func:`find_scenes` (Middlebury, HCI, image + depth,
    ``skimage:motorcycle``) as image -> disparity pairs for supervised depth, one item per scene (groups = scene
    folder names); resized by ``stack_scale`` with the disparity scaled alike. ``depth_scale``: targets are
    disparity / depth_scale (e.g. 16, so a network starts near the right magnitude; predictions x 16 give px)."""
    if not path:
        raise DataError("rgbd needs a folder: --data rgbd:../shared/data/depth/middlebury2005 (comma-separated list)")
    scenes = [s for s in find_scenes(path) if s.kind == "rgbd"]
    if not scenes:
        raise DataError(f"rgbd:{path} holds focal stacks only; give scenes with an image and a depth map")

    def lister(arg: str) -> list[Scene]:
        return [s for s in find_scenes(arg) if s.kind == "rgbd"]

    chosen, record = assign_splits(scenes, lambda s: s.name, splitting or SplitSpec(), f"rgbd:{path}", lister=lister)
    crop = int(crop_size) if crop_size not in (None, "", "0", 0) else None
    parts = {s: RgbdDataset(chosen[s], stack_scale, s == "train", crop, crops_per_scene, unit=depth_scale)
             if chosen[s] else None for s in SPLITS}  # fmt: skip
    note = f"{sum(map(len, chosen.values()))} RGB-D scenes at x{stack_scale:g} (disparity scaled alike)"
    note += f", targets = disparity / {depth_scale:g}" if depth_scale != 1 else ""
    if crop:
        note += f"; training on {crops_per_scene} random {crop}x{crop} crops per scene and epoch, zoom 0.8..1.25"
    info = {"channels": 3, "image_size": None, "source": f"rgbd:{path}", "splits": record,
            "decisions": {"size": note}, "stack_scale": stack_scale}  # fmt: skip
    return DataSplits(parts["train"], parts["val"], parts["test"], info)


__all__ = [
    "FocalStackDataset",
    "RgbdDataset",
    "Scene",
    "depth_to_position",
    "disc_kernel",
    "find_scenes",
    "load_scene",
    "position_to_depth",
    "render_focal_stack",
    "sweep_positions",
]
