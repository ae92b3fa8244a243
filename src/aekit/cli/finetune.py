"""CLI for few-label learning: what ``aekit finetune`` / ``aekit label-efficiency`` print (their recipes:
aekit.recipes.label_efficiency), and ``evaluate`` / ``predict`` of classifiers."""

from __future__ import annotations

import argparse
import json
import typing
from pathlib import Path
from typing import Any

from aekit.cli.common import add_option_once, evaluate_options, evaluator, predictor, printer, write_json
from aekit.data.options import labeled_data_options
from aekit.report import markdown_table


def add_labeled_data_arguments(p: argparse.ArgumentParser) -> None:
    """The labeled-data flags of :class:`aekit.recipes.label_efficiency.LabeledDataFields` but ``--data``
    (evaluate has its own), generated from the fields, each added once."""
    from dataclasses import fields

    from aekit.config import field_info, hints
    from aekit.recipes.label_efficiency import LabeledDataFields

    types = hints(LabeledDataFields)
    for f in fields(LabeledDataFields):
        if f.name != "data":
            kind = {"type": int} if int in (types[f.name], *typing.get_args(types[f.name])) else {}
            add_option_once(p, "--" + f.name.replace("_", "-"), default=f.default,
                            help=field_info(LabeledDataFields, f.name)["help"], **kind)  # fmt: skip


def data_options(args: argparse.Namespace, image_size: Any = None) -> dict[str, Any]:
    return labeled_data_options(args, image_size)


@printer("finetune")
def print_finetune(cfg: Any, result: dict[str, Any], out: Path) -> None:
    print(result["markdown"])
    print(f"final classifier: {result['final']}  (best.ckpt = final weights, model.safetensors; "
          f"test: {result['test_images']} images)")  # fmt: skip


@printer("label-efficiency")
def print_label_efficiency(cfg: Any, summary: dict[str, Any], out: Path) -> None:
    print((Path(out) / "results.md").read_text())
    print(json.dumps(summary))


# -- aekit evaluate for classifiers ----------------------------------------------------------------


@evaluate_options
def _classification_eval_options(p: argparse.ArgumentParser) -> None:
    add_labeled_data_arguments(p)


@evaluator("classification")
def evaluate_classifier(task: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Accuracy, macro-F1 (and AUC for two classes) of a fine-tuned classifier on a data split."""
    from aekit.data import open_data
    from aekit.tasks.classification import classification_scores, predict_proba

    size = getattr(task.model, "image_size", None)
    splits = open_data(args.data, **data_options(args, list(size) if size else None))
    probs, y = predict_proba(task.model, splits.split(args.split), args.batch_size)
    scores = {"split": args.split, "n": len(y), **classification_scores(probs, y, task.num_classes)}
    write_json(Path(args.out) / "metrics.json", scores)
    table = markdown_table([scores])
    (Path(args.out) / "metrics.md").write_text(table + "\n")
    print(table)
    return scores


# -- aekit predict for classifiers ---------------------------------------------------------------------


@predictor("classification")
def predict_classifier(task: Any, args: argparse.Namespace) -> Path:
    """``predictions.csv`` in OUTPUT: every input image (path relative to INPUT), its predicted class, that
    class's name and probability."""
    import csv

    import torch

    from aekit.data.images import list_images, read_image, to_tensor

    model = task.model.eval()
    files = list_images(args.input)
    base = args.input if args.input.is_dir() else args.input.parent
    names = task.metadata.get("class_names") or []
    size = tuple(model.image_size)
    args.output.mkdir(parents=True, exist_ok=True)
    path = args.output / "predictions.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "class", "name", "probability"])
        for start in range(0, len(files), args.batch_size):
            chunk = files[start : start + args.batch_size]
            x = torch.stack([to_tensor(read_image(p, model.in_channels, size)) for p in chunk])
            with torch.no_grad():
                probs = model(x).float().softmax(-1)
            conf, cls = probs.max(-1)
            for p, c, q in zip(chunk, cls.tolist(), conf.tolist()):
                name = names[c] if c < len(names) else str(c)
                writer.writerow([p.relative_to(base).as_posix(), c, name, f"{q:.6f}"])
    print(f"{len(files)} predictions written to {path}")
    return path
