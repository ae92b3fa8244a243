"""Label efficiency on MNIST: AE pre-training on all training digits, fine-tuning on 10 (and 100) labels per class.

Unlabeled pool: the 60,000 training digits minus the last 10,000, which are the test set (unless
``--test-images/--test-labels`` IDX files are given). Methods on the same labeled subsets and seeds:
AE fine-tuning, the same network from scratch (with and without augmentation), PCA + logistic
regression, kNN on z, and (unless ``--no-self-train``) self-training on the unlabeled pool from the
fine-tuned AE network and from the scratch network (``ae_selftrain``, ``scratch_selftrain``: confident
pseudo-labels, balanced per class, ``--self-train-rounds`` rounds). Each ``--variants`` entry pre-trains one
autoencoder (``ae``: plain; ``dae``: denoising, Gaussian noise 0.3; ``mae``: masked, 50 % of pixels zeroed)
and fine-tunes from it.

Targets (from the issue): AE fine-tuning >= 95 % test accuracy with 10 labels per class, and >= 10 points
above the same network from scratch. The check line (second to last) reports the 95 % target for each AE
method and the points over each scratch baseline (labels alone, same augmentation, same self-training), so
the comparison that is met is never mistaken for the one that is not. Published references with 100 labels
(test error): M1+TSVM 11.82 %, contractive AE 13.47 %, CNN on the labels alone ~23 %, ladder network 1.06 %.

Protocol: the autoencoder pre-trains on the unlabeled pool and keeps its final weights; fine-tuning keeps its
final weights; where several ``--variants`` compete, the check line picks each method's variant by
validation accuracy (the last 5,000 non-test digits: in the unlabeled pool, their labels never trained on),
never by test accuracy. ``--smoke``: 600 random labeled images, one seed, a few steps (seconds).

Resumable: rerun the same command after an interruption. Last line: ``{method: {labels: {mean, std}}}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REFERENCES_ERROR_100_LABELS = {"M1+TSVM": 11.82, "contractive AE": 13.47, "CNN labels only": 23.0, "ladder": 1.06}
VARIANTS = {"ae": {}, "dae": {"input_noise": 0.3}, "mae": {"mask_ratio": 0.5}}


def choose_by_validation(combined: dict[str, dict], k: int) -> tuple[dict[str, float], dict[str, str]]:
    """Per method, the variant with the best mean VALIDATION accuracy at ``k`` labels per class, and its mean
    test accuracy: the test split is reported, never chosen on. A method with one variant is its own choice."""
    best: dict[str, tuple[float, float, str]] = {}  # method -> (val mean, test mean, variant)
    for m, by_k in combined.items():
        if str(k) not in by_k:
            continue
        name, _, variant = m.partition("[")
        cell = by_k[str(k)]
        val = cell.get("val_mean", float("nan"))
        if name not in best or val > best[name][0]:
            best[name] = (val, cell["mean"], variant.rstrip("]") or "-")
    return {m: v[1] for m, v in best.items()}, {m: v[2] for m, v in best.items()}


def main(argv: list[str] | None = None) -> dict:
    default_data = Path(os.environ.get("AEKIT_DATA", "../shared/data")) / "mnist"
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=default_data, help="MNIST IDX folder")
    p.add_argument("--test-images", default=None)
    p.add_argument("--test-labels", default=None)
    p.add_argument("--labels-per-class", default="10,100")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--variants", default="ae", help=f"comma list of {', '.join(VARIANTS)}")
    p.add_argument("--latent-dim", type=int, default=64)
    p.add_argument("--widths", default="16,32,64")
    p.add_argument("--minutes", type=float, default=10.0, help="pre-training time budget per variant")
    p.add_argument("--pretrain-epochs", type=int, default=3)
    p.add_argument("--steps", type=int, default=600, help="fine-tuning steps per stage (scratch: the sum of stages)")
    p.add_argument("--mode", default="full", help="probe, full or probe+full")
    p.add_argument("--encoder-lr-scale", type=float, default=1.0)
    p.add_argument("--encoder-bn", default="train", help="frozen or train")
    p.add_argument("--no-augment", action="store_true")
    p.add_argument("--precision", default="auto", help="auto (the fast path here), 32 or bf16-mixed")
    p.add_argument("--no-self-train", action="store_true", help="leave out ae_selftrain and scratch_selftrain")
    p.add_argument("--self-train-rounds", type=int, default=3)
    p.add_argument("--pseudo-fraction", type=float, default=0.3, help="round r: r * F of the pool pseudo-labeled")
    p.add_argument("--self-train-steps", type=int, default=1500, help="training steps per self-training round")
    p.add_argument("--out", type=Path, default=Path("runs/bench_label_efficiency"))
    p.add_argument("--smoke", action="store_true", help="random labeled images, a few steps (seconds)")
    args = p.parse_args(argv)
    if args.smoke:
        import tempfile

        import numpy as np

        tmp = Path(tempfile.mkdtemp(prefix="aekit-smoke-le-"))
        rng = np.random.default_rng(0)
        np.savez(tmp / "digits.npz", images=rng.integers(0, 256, (600, 28, 28), dtype=np.uint8),
                 labels=np.arange(600) % 10)  # fmt: skip
        args.data, args.labels_per_class, args.seeds, args.variants = tmp / "digits.npz", "1", 1, "ae,dae"
        args.widths, args.latent_dim, args.minutes, args.pretrain_epochs, args.steps = "8,16", 8, 0.2, 1, 4
        args.self_train_rounds, args.self_train_steps, args.precision, args.out = 1, 4, "32", tmp / "run"

    from aekit.engine import set_threads
    from aekit.experiments.label_efficiency import ExperimentConfig, FinetuneConfig, run_label_efficiency

    set_threads()
    if not args.data.exists():
        print(json.dumps({"skipped": f"MNIST not found at {args.data} (set AEKIT_DATA or --data)"}))
        return {}
    ks = [int(k) for k in args.labels_per_class.split(",")]
    seeds = list(range(args.seeds))
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        p.error(f"unknown variants {unknown}; choose from {list(VARIANTS)}")
    data_options = {k: v for k, v in {"test_images": args.test_images, "test_labels": args.test_labels}.items() if v}
    t0 = time.time()
    combined: dict[str, dict] = {}
    for i, variant in enumerate(variants):
        st = not args.no_self_train
        ae_methods = ["ae_finetune", "ae_probe"] if args.mode == "probe+full" else ["ae_finetune"]
        ae_methods += ["ae_selftrain"] if st else []
        baselines = ["scratch", *(["scratch_selftrain"] if st else []), "scratch_noaug", "pca_logreg", "knn_z"]
        methods = [*ae_methods, *baselines] if i == 0 else [*ae_methods, "knn_z"]
        cfg = ExperimentConfig(
            data=f"npy:{args.data}" if args.smoke else f"mnist:{args.data}",
            out=args.out / variant,
            data_options=data_options,
            labels_per_class=ks,
            seeds=seeds,
            methods=methods,
            ae_kwargs={"latent_dim": args.latent_dim, "widths": [int(w) for w in args.widths.split(",")]},
            pretrain_epochs=args.pretrain_epochs,
            pretrain_minutes=args.minutes,
            self_train_rounds=args.self_train_rounds,
            pseudo_fraction=args.pseudo_fraction,
            self_train_steps=args.self_train_steps,
            finetune=FinetuneConfig(
                mode=args.mode,
                steps=args.steps,
                encoder_lr_scale=args.encoder_lr_scale,
                encoder_bn=args.encoder_bn,
                augment=not args.no_augment,
                precision=args.precision,
            ),
            **VARIANTS[variant],
        )
        summary = run_label_efficiency(cfg, log=lambda s: print(s, file=sys.stderr, flush=True))
        for method, by_k in summary.items():
            shared = method.startswith("scratch") or method == "pca_logreg"
            name = method if shared or len(variants) == 1 else f"{method}[{variant}]"
            combined[name] = by_k
    wall = time.time() - t0

    at, chosen = choose_by_validation(combined, ks[0])
    ae_methods = [m for m in ("ae_finetune", "ae_selftrain") if m in at]
    checks = {
        "labels_per_class": ks[0],
        "variant_chosen_on": "validation accuracy (the last 5,000 non-test digits' labels; never trained on)",
        "chosen_variant": chosen,
        **{f"{m}_mean": round(v, 4) for m, v in at.items()},
        # the targets, for each AE method, against each scratch baseline of the same run
        **{f"target_95[{m}]": at[m] >= 0.95 for m in ae_methods},
        **{
            f"points_over[{m} vs {s}]": round(100 * (at[m] - at[s]), 2)
            for m in ae_methods
            for s in ("scratch", "scratch_noaug", "scratch_selftrain")
            if s in at
        },
        "references_test_error_percent_100_labels": REFERENCES_ERROR_100_LABELS,
        "wall_seconds": round(wall, 1),
    }
    print(json.dumps(checks))
    print(json.dumps(combined))
    return combined


if __name__ == "__main__":
    main()
