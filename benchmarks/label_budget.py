"""Which images to label: a total label budget spent by ``typical`` (TypiClust on the codes) vs ``random``.

Protocol (MNIST): the autoencoder trains without labels on the pool, the first 45,000 training digits
(``--pretrained RUN``: an autoencoder trained so, e.g. ``cluster_mnist.py --eval-split val --out DIR`` leaves
one in ``DIR/seed0``; otherwise it is trained here with that recipe). For every seed the pool's codes go
through UMAP once (seeded); for every budget B (labels in total, not per class) and strategy, B pool digits
are picked (:func:`aekit.experiments.suggest_labels.select`), the "person" labels them from the hidden
truth, and :func:`aekit.experiments.suggest_labels.train_on_labels` fine-tunes on exactly those B and
spreads them over the pool (``cluster``: cluster-label propagation; ``self-train``: pseudo-labelling
rounds, run on ``--self-train-seeds`` only: several times the cost). Validation digits (45,000-49,999)
choose the propagation; the 10,000 held-out digits (the last 10,000 of the training file: the shared
copy has no t10k files) are the figure.

``--target contrast`` runs the same on the CT slices (``dicom:`` with ``labels.csv``; the source splits by
patient, so the test patients are held out; budgets 4, 8, 16).

    AEKIT_THREADS=1 PYTHONPATH=src python benchmarks/label_budget.py --pretrained runs/lb_ae/seed0 --out runs/lb
    PYTHONPATH=src python benchmarks/label_budget.py --smoke

Every finished cell goes to ``OUT/cells.json`` at once (a rerun continues); the summary JSON
``{strategy: {budget: {stage: {mean, std, per_seed}}}}`` is the last line; ``--figure`` draws accuracy
vs budget, one line per strategy (solid: with the chosen propagation, dashed: fine-tuning alone).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import lightning.pytorch as L
import numpy as np
import torch

STAGES = ("finetune", "cluster_codes", "cluster", "self-train")


def int_list(text: str) -> list[int]:
    return [int(t) for t in str(text).split(",") if t.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    root = os.environ.get("AEKIT_DATA", "../shared/data")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=None, help="default: mnist:$AEKIT_DATA/mnist, or the CT slices with --target")
    p.add_argument("--target", default=None, help="CT: the labels.csv column to predict (contrast)")
    p.add_argument("--ct-root", default=os.path.join(root, "ct_tcia"))
    p.add_argument("--budgets", type=int_list, default=None, help="default 10,20,50,100 (CT: 4,8,16)")
    p.add_argument("--strategies", default="typical,random")
    p.add_argument("--seeds", type=int_list, default=[0, 1, 2])
    p.add_argument("--network-seeds", type=int_list, default=[0], help="seeds on which the propagation also trains "
                   "networks (a student on the cluster labels, self-training): several times the cost")  # fmt: skip
    p.add_argument("--network-budgets", type=int_list, default=[10], help="budgets on which they do")
    p.add_argument("--networks", default="cluster,self-train", help="which of those networks")
    p.add_argument("--pretrained", type=Path, default=None, help="autoencoder trained on the pool without labels")
    p.add_argument("--train-minutes", type=float, default=11.0, help="else: train one this long (cluster recipe)")
    p.add_argument("--steps", type=int, default=200, help="fine-tuning steps on the B labels")
    p.add_argument("--student-steps", type=int, default=500, help="steps of a student / self-training round")
    p.add_argument("--self-train-rounds", type=int, default=1)
    p.add_argument("--knn", type=int, default=10, help="cluster_codes: neighbours among the pseudo-labelled pool")
    p.add_argument("--keep", type=float, default=0.9, help="cluster propagation: share of each class kept")
    p.add_argument("--manifold", default="umap", help="the codes' step before clustering (umap, pca, none)")
    p.add_argument("--manifold-dim", type=int, default=10)
    p.add_argument("--algorithm", default="gmm")
    p.add_argument("--out", type=Path, default=None, help="cells.json and run folders (default: a temp dir)")
    p.add_argument("--json", type=Path, default=None, help="also write {meta, cells, summary} here")
    p.add_argument("--figure", type=Path, default=None, help="accuracy vs budget PNG")
    p.add_argument("--smoke", action="store_true", help="mnist5k subset, an untrained-ish AE, a few steps")
    args = p.parse_args(argv)
    args.strategies = [s for s in args.strategies.split(",") if s]
    if args.budgets is None:
        args.budgets = [4, 8, 16] if args.target else [10, 20, 50, 100]
    if args.smoke:
        args.budgets, args.seeds, args.network_seeds, args.network_budgets = [3, 6], [0, 1], [0], [3]
        args.steps, args.student_steps, args.self_train_rounds, args.manifold = 3, 3, 1, "pca"
    return args


def open_splits(args: argparse.Namespace):  # noqa: ANN201
    """(pool, val, test, info, image shape): the pool is what the AE and the picks see, val and test are held out."""
    from aekit.data import open_data
    from aekit.data.images import ArrayDataset

    if args.smoke:
        s = open_data("mnist5k", seed=0)
        tr, va, te = s.train, s.val, s.test

        def cut(d, n):  # noqa: ANN001, ANN202
            return ArrayDataset(d.images[:n], d.labels[:n], d.names[:n])

        return cut(tr, 300), cut(va, 60), cut(te, 100), s.info
    if args.target:
        s = open_data(f"dicom:{args.data or os.path.join(args.ct_root, 'dicom')}", labels=os.path.join(
            args.ct_root, "labels.csv"), target=args.target, image_size=64, window="lung")  # fmt: skip
        return s.train, s.val, s.test, s.info
    s = open_data(args.data or f"mnist:{os.path.join(os.environ.get('AEKIT_DATA', '../shared/data'), 'mnist')}")
    return s.train, s.val, s.test, s.info


def pretrain(args: argparse.Namespace, pool, out: Path):  # noqa: ANN001, ANN201
    """The cluster_mnist recipe (widths 16,32,64, z=10, SiLU, L2, one-cycle in time) on the pool's images only."""
    import aekit
    from aekit.data import DataModule, DataSplits
    from aekit.engine import TrainConfig, fit
    from aekit.experiments.label_efficiency import ImagesOnly
    from aekit.tasks import ReconstructionTask

    run = out / "pretrain"
    if (run / "model.safetensors").is_file():
        return aekit.load(run)
    x = pool[0]["image"]
    L.seed_everything(0, verbose=False)
    task = ReconstructionTask(model="autoencoder", model_kwargs={"in_channels": int(x.shape[0]), "image_size":
                              list(x.shape[1:]), "latent_dim": 10, "widths": [16, 32, 64], "act": "silu"},
                              loss="l2", lr=1e-2, scheduler="onecycle")  # fmt: skip
    smoke = args.smoke
    cfg = TrainConfig(epochs=1 if smoke else 1000, batch_size=128 if not args.target else 16, seed=0,
                      max_time_minutes=None if smoke else args.train_minutes, time_schedule=not smoke,
                      monitor=None, progress=False)  # type: ignore[arg-type]  # fmt: skip
    fit(task, DataModule(DataSplits(ImagesOnly(pool), None, None, {}), cfg.batch_size, 0, 0), run, cfg,
        {"benchmark": "label_budget"})  # fmt: skip
    return aekit.load(run)


def summarise(cells: dict, strategies: list[str], budgets: list[int], seeds: list[int]) -> dict:
    out: dict = {}
    for s in strategies:
        for b in budgets:
            rows = [cells[f"{s}/{b}/{seed}"] for seed in seeds if f"{s}/{b}/{seed}" in cells]
            for stage in STAGES:
                got = [r for r in rows if stage in r["test"]]
                if not got:
                    continue
                acc = np.array([r["test"][stage] for r in got])
                val = np.array([r["val"][stage] for r in got])
                out.setdefault(s, {}).setdefault(str(b), {})[stage] = {
                    "mean": round(float(acc.mean()), 4),
                    "std": round(float(acc.std(ddof=1)), 4) if len(acc) > 1 else 0.0,
                    "per_seed": [round(float(v), 4) for v in acc],
                    "val_mean": round(float(val.mean()), 4),
                    "seeds": [r["seed"] for r in got],
                }
            if rows:
                out[s][str(b)]["classes_covered"] = [r["classes_covered"] for r in rows]
    return out


def choose_propagation(cells: dict) -> dict:
    """The propagation with the best mean validation accuracy over the cells where every one ran (never the test
    digits): cluster labels read in code space, a student network on them, or self-training."""
    stages = ("cluster_codes", "cluster", "self-train")
    every = [c for c in cells.values() if all(s in c["val"] for s in stages)]
    if not every:
        return {"chosen": "cluster_codes", "by": "only cluster_codes ran"}
    means = {s: float(np.mean([c["val"][s] for c in every])) for s in stages}
    return {"chosen": max(means, key=means.get), "by": f"mean validation accuracy over {len(every)} cells",
            "val_means": {k: round(v, 4) for k, v in means.items()}}  # fmt: skip


def plot(summary: dict, chosen: str, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for i, (s, by_b) in enumerate(summary.items()):
        bs = sorted(int(b) for b in by_b)
        for stage, style in ((chosen, "-"), ("finetune", "--")):
            pts = [(b, by_b[str(b)][stage]) for b in bs if stage in by_b[str(b)]]
            if pts:
                ax.errorbar([b for b, _ in pts], [e["mean"] for _, e in pts], yerr=[e["std"] for _, e in pts],
                            fmt="o" + style, color=f"C{i}", capsize=3,
                            label=s + (" + cluster labels" if stage == chosen else " (fine-tuning only)"))  # fmt: skip
    ax.set_xscale("log")
    ax.set_xticks(sorted({int(b) for v in summary.values() for b in v}))
    ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.set_xlabel("labels in total")
    ax.set_ylabel("held-out accuracy")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    from sklearn.neighbors import KNeighborsClassifier

    from aekit.data.sampling import dataset_labels
    from aekit.engine import set_threads
    from aekit.experiments.cluster import cluster_features, fit_reducer
    from aekit.experiments.label_efficiency import FinetuneConfig, encode_all, quiet_lightning
    from aekit.experiments.suggest_labels import (
        SuggestConfig,
        keep_confident,
        label_names,
        propagate_by_clusters,
        select,
        train_on_labels,
    )
    from aekit.io import atomic_write_bytes

    set_threads()
    quiet_lightning()
    t0 = time.perf_counter()
    mnist = os.path.join(os.environ.get("AEKIT_DATA", "../shared/data"), "mnist")
    if not args.smoke and not args.target and args.data is None and not os.path.isdir(mnist):
        print(json.dumps({"skipped": f"MNIST not found at {mnist} (set AEKIT_DATA or --data)"}))
        return {}
    out = args.out or Path(tempfile.mkdtemp(prefix="aekit-label-budget-"))
    out.mkdir(parents=True, exist_ok=True)
    pool, val, test, info = open_splits(args)
    pool_y = dataset_labels(pool)
    truth = {"val": label_names(val, info), "test": label_names(test, info)}
    names = [str(info["class_names"][v]) if info.get("class_names") else str(int(v)) for v in pool_y]
    import aekit

    ae = (aekit.load(args.pretrained) if args.pretrained else pretrain(args, pool, out)).cpu().eval()
    codes = encode_all(ae, pool, 512)
    held_codes = {"val": encode_all(ae, val, 512), "test": encode_all(ae, test, 512)}
    ft = FinetuneConfig(mode="full", steps=args.steps, encoder_lr_scale=1.0, encoder_bn="train",
                        batch_size=min(64, 8 if args.target else 64), precision="32")  # fmt: skip
    cells_path = out / "cells.json"
    cells: dict = json.loads(cells_path.read_text()) if cells_path.is_file() else {}
    for seed in args.seeds:
        todo = [(s, b) for b in args.budgets for s in args.strategies if f"{s}/{b}/{seed}" not in cells]
        if not todo:
            continue
        sc = SuggestConfig(seed=seed, manifold=args.manifold, manifold_dim=args.manifold_dim, algorithm=args.algorithm,
                           n_neighbors=min(20, len(pool) - 1))  # fmt: skip
        t = time.perf_counter()
        feats, place = fit_reducer(codes, sc.manifold, sc.manifold_dim, seed, sc.n_neighbors)
        held = {k: place(v) for k, v in held_codes.items()}  # val/test digits in the pool's reduced space
        umap_s = time.perf_counter() - t
        clusterings: dict[int, object] = {}
        for strategy, budget in todo:
            t = time.perf_counter()
            if budget not in clusterings:  # one clustering into B groups per seed: typical picks, every propagation
                clusterings[budget] = cluster_features(feats, budget, args.algorithm, "none", seed=seed)[0]
            cfg = dataclasses.replace(sc, budget=budget, strategy=strategy)
            if strategy == "typical":
                from aekit.experiments.suggest_labels import select_typical

                picks = select_typical(feats, budget, seed=seed, algorithm=args.algorithm,
                                       clustering=clusterings[budget])  # fmt: skip
            else:
                picks = select(cfg, feats, np.zeros(0, dtype=np.int64))
            select_s = time.perf_counter() - t
            idx = picks.indices
            networks = seed in args.network_seeds and budget in args.network_budgets
            props = [m for m in args.networks.split(",") if m] if networks else []
            L.seed_everything(seed, verbose=False)
            result = train_on_labels(
                ae, pool, idx, [names[i] for i in idx], out / "runs" / f"{strategy}_b{budget}_s{seed}", ft,
                props, suggest=sc, feats=feats, clustering=clusterings[budget], keep=args.keep,
                student_steps=args.student_steps, self_train_rounds=args.self_train_rounds,
                evaluate={"val": (val, truth["val"]), "test": (test, truth["test"])}, seed=seed,
            )  # fmt: skip
            # cluster-label propagation read in code space: a held-out digit takes the majority pseudo-label of
            # its nearest pool digits (the same labels a student network would train on; no network trained)
            y = np.asarray([result["class_names"].index(names[i]) for i in idx])
            pseudo, conf = propagate_by_clusters(feats, idx, y, seed, args.algorithm, clustering=clusterings[budget])
            kept = keep_confident(pseudo, conf, args.keep, np.zeros(0, dtype=np.int64))
            knn = KNeighborsClassifier(n_neighbors=args.knn).fit(feats[kept], pseudo[kept])
            row = {"stage": "cluster_codes"}
            for split in ("val", "test"):
                pred = np.asarray(result["class_names"], dtype=object)[knn.predict(held[split])]
                row[f"{split}_accuracy"] = float(np.mean(pred == np.asarray(truth[split], dtype=object)))
            result["stages"].append(row)
            pool_acc = float(np.mean(np.asarray(result["class_names"], dtype=object)[pseudo] ==
                                     np.asarray(names, dtype=object)))  # fmt: skip
            cell = {
                "strategy": strategy, "budget": budget, "seed": seed,
                "classes_covered": len(set(pool_y[idx].tolist())),
                "pool_pseudo_accuracy": round(pool_acc, 4),  # diagnostic from the hidden pool labels, after the fact
                "picks": [int(i) for i in idx],
                "val": {r["stage"]: r["val_accuracy"] for r in result["stages"]},
                "test": {r["stage"]: r["test_accuracy"] for r in result["stages"]},
                "select_seconds": round(select_s, 1), "umap_seconds": round(umap_s, 1),
                "seconds": round(time.perf_counter() - t, 1),
            }  # fmt: skip
            cells[f"{strategy}/{budget}/{seed}"] = cell
            atomic_write_bytes(cells_path, (json.dumps(cells, indent=1) + "\n").encode())
            print(f"{strategy} B={budget} seed {seed}: covered {cell['classes_covered']} classes, test "
                  f"{cell['test']}, {cell['seconds']} s", file=sys.stderr, flush=True)  # fmt: skip
    summary = summarise(cells, args.strategies, args.budgets, args.seeds)
    chosen = choose_propagation({k: v for k, v in cells.items() if v["seed"] in args.seeds})
    meta = {
        "data": "smoke (mnist5k subset)" if args.smoke else info.get("source"),
        "pool": len(pool), "val": len(val), "test": len(test), "budgets": args.budgets, "seeds": args.seeds,
        "network_seeds": args.network_seeds,
        "network_budgets": args.network_budgets, "knn": args.knn,
        "pretrained": str(args.pretrained), "steps": args.steps,
        "student_steps": args.student_steps, "self_train_rounds": args.self_train_rounds, "keep": args.keep,
        "algorithm": args.algorithm, "manifold": args.manifold, "manifold_dim": args.manifold_dim,
        "propagation": chosen,
        "command": "python benchmarks/label_budget.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(), "precision": "32",
        "load_average": [round(v, 2) for v in os.getloadavg()], "wall_seconds": round(time.perf_counter() - t0, 1),
    }  # fmt: skip
    print(json.dumps(meta), file=sys.stderr)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"meta": meta, "summary": summary, "cells": cells}, indent=1) + "\n")
    if args.figure:
        title = f"{meta['data']}: typical vs random label picks ({len(args.seeds)} seeds)"
        plot(summary, "cluster_codes", args.figure, title)
    result = {"propagation": chosen["chosen"], **summary}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
