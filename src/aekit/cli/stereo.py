"""CLI for monocular depth from stereo pairs: ``train stereo-depth`` (evaluate/predict: aekit.inference.stereo).

aekit train stereo-depth --data stereo:path/to/pairs --image-size 144,208 --out runs/sd
aekit evaluate runs/sd/best.ckpt --data stereo:../shared/data/stereo/middlebury2001_2003
aekit predict runs/sd/best.ckpt --input photos/ --output depth/ [--focal F --baseline B]
"""

from __future__ import annotations

import argparse

from aekit.cli.common import split_options, train_recipe
from aekit.cli.reconstruction import int_list
from aekit.data import DataModule, open_data
from aekit.data.base import DataError
from aekit.data.images import parse_size
from aekit.losses import STEREO_LOSS_PRESETS
from aekit.tasks.stereo_depth import StereoDepthTask

# -- train -----------------------------------------------------------------------------------------------


def add_stereo_arguments(p: argparse.ArgumentParser) -> None:
    # few, large pairs: small batches and many epochs (the shared training flags added next keep these)
    p.set_defaults(batch_size=8, epochs=50)
    g = p.add_argument_group("data")
    g.add_argument(
        "--data",
        default="synthetic-stereo:256",
        help="stereo:FOLDER (left/right, im0/im1 or KITTI image_02/image_03 pairs) or synthetic-stereo:N",
    )
    g.add_argument("--image-size", default=None, help="resize every pair to H,W (disparities rescaled)")
    g.add_argument("--crop", default=None, help="random training crop H,W (same place in both views)")
    g.add_argument("--exclude", default=None, help="comma-separated scene names to leave out (e.g. Teddy)")
    g.add_argument("--val-fraction", type=float, default=0.1, help="share of pairs held out for validation")
    g.add_argument("--no-flip", action="store_true", help="no paired horizontal flip (swap + mirror)")
    g.add_argument("--jitter", type=float, default=0.1, help="colour jitter strength, identical on both views")
    g.add_argument("--focal", type=float, default=None, help="focal length in pixels (overrides calib.txt)")
    g.add_argument("--baseline", type=float, default=None, help="stereo baseline (depth comes out in its unit)")
    g.add_argument("--doffs", type=float, default=None, help="principal-point x offset between views (pixels)")
    m = p.add_argument_group("model and loss")
    m.add_argument("--widths", type=int_list, default=[32, 64, 128, 256, 256], help="encoder channels per stage")
    m.add_argument("--blocks", type=int, default=2, help="conv blocks per stage")
    m.add_argument("--upsample", default="bilinear", help="nearest, bilinear, bicubic, fixed_unpool, transposed, ...")
    m.add_argument("--downsample", default="stride", help="stride, maxpool or avgpool")
    m.add_argument("--norm", default="batch", help="batch, group, instance or none")
    m.add_argument("--act", default="elu", help="relu, elu, ...")
    m.add_argument("--max-disp", type=float, default=0.3, help="largest disparity, as a fraction of the width")
    m.add_argument("--scales", type=int, default=None, help="output scales used by the loss (preset default)")
    m.add_argument("--loss", default="ssim_l1", choices=sorted(STEREO_LOSS_PRESETS), help="loss preset")
    m.add_argument("--photometric", default=None, choices=["l1", "l2", "ssim_l1"], help="override the preset")
    m.add_argument("--smoothness", type=float, default=None, help="smoothness weight (override the preset)")
    m.add_argument("--lr-consistency", type=float, default=None, help="left-right consistency weight")


@train_recipe(
    "stereo-depth",
    help="monocular disparity/depth learned from rectified stereo pairs, no depth labels (Garg et al. 2016)",
    add_arguments=add_stereo_arguments,
)
def build_stereo_depth(args: argparse.Namespace) -> tuple[StereoDepthTask, DataModule]:
    splits = open_data(
        args.data,
        image_size=args.image_size,
        crop=args.crop,
        exclude=args.exclude,
        flip=not args.no_flip,
        jitter=args.jitter,
        focal=args.focal,
        baseline=args.baseline,
        doffs=args.doffs,
        **split_options(args),
    )
    if splits.train is None or len(splits.train) == 0:
        raise DataError(f"--data {args.data} has no training pairs")
    size = [int(s) for s in splits.info["image_size"]]
    scales = args.scales if args.scales is not None else STEREO_LOSS_PRESETS[args.loss].scales
    task = StereoDepthTask(
        model="disparity_unet",
        model_kwargs={
            "widths": list(args.widths),
            "blocks_per_stage": args.blocks,
            "upsample": args.upsample,
            "downsample": args.downsample,
            "norm": args.norm,
            "act": args.act,
            "max_disparity": args.max_disp,
            "num_scales": max(1, min(scales, len(args.widths) - 1)),
        },
        loss=args.loss,
        photometric=args.photometric,
        smoothness=args.smoothness,
        lr_consistency=args.lr_consistency,
        scales=args.scales,
        lr=args.lr or 1e-3,
        weight_decay=args.weight_decay,
        optimizer=args.optimizer,
        scheduler=args.scheduler,
        metadata={
            "data": splits.info.get("source", args.data),
            "data_kind": args.data.partition(":")[0],
            "image_size": size,
            "infer_width": size[1],
            "width_scale": (parse_size(args.crop)[1] / size[1]) if args.crop else 1.0,
            "seed": args.seed,
            "disparity_unit": "fraction_of_width",
            "calibration": splits.info.get("calibration"),
            "pairs": splits.info.get("pairs"),
        },
    )
    return task, DataModule(splits, args.batch_size, args.num_workers, args.seed)
