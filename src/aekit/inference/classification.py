"""Fine-tuned classifiers: accuracy/macro-F1 (AUC for two classes) on a split, a CSV of predicted classes."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from aekit.data.options import LabeledFields
from aekit.inference.base import (
    EvaluateOptions,
    Evaluation,
    PredictOptions,
    Where,
    input_files,
    register_evaluator,
    register_predictor,
    write_metrics,
    write_text,
)
from aekit.report import markdown_table


@dataclass
class ClassificationEvaluateOptions(EvaluateOptions, LabeledFields):
    """Evaluation of a fine-tuned classifier: the labelled-data options of ``aekit finetune``."""

@register_evaluator("classification", ClassificationEvaluateOptions)
def evaluate_classifier(task: Any, opts: ClassificationEvaluateOptions, where: Where) -> Evaluation:
    """Accuracy, macro-F1 (and AUC for two classes) of a fine-tuned classifier on a data split."""
    from aekit.data import open_data
    from aekit.tasks.classification import classification_scores, predict_proba

    size = getattr(task.model, "image_size", None)
    splits = open_data(
        opts.data,
        image_size=opts.image_size or (list(size) if size else None),
        labels=opts.labels,
        target=opts.target,
        window=opts.window,
        axis=opts.axis,
        test_images=opts.test_images,
        test_labels=opts.test_labels,
        seed=opts.split_seed,
    )
    probs, y = predict_proba(task.model, splits.split(where.split), opts.batch_size)
    scores = {"split": where.split, "n": len(y), **classification_scores(probs, y, task.num_classes)}
    table = markdown_table([scores])
    files = [write_metrics(where, scores, len(y)), write_text(where.out / "metrics.md", table + "\n")]
    return Evaluation(scores, table, files)


@register_predictor("classification")
def predict_classifier(task: Any, opts: PredictOptions) -> list[Path]:
    """``predictions.csv`` in OUT: every input image (path relative to INPUTS), its predicted class, that
    class's name and probability."""
    from aekit.data.images import read_image, to_tensor
    from aekit.io import atomic_write_bytes

    model = task.model.eval()
    files = input_files(opts.inputs)
    base = opts.inputs if opts.inputs.is_dir() else opts.inputs.parent
    names = task.metadata.get("class_names") or []
    size = tuple(model.image_size)
    rows = [["file", "class", "name", "probability"]]
    for start in range(0, len(files), opts.batch_size):
        chunk = files[start : start + opts.batch_size]
        x = torch.stack([to_tensor(read_image(p, model.in_channels, size)) for p in chunk])
        with torch.no_grad():
            probs = model(x).float().softmax(-1)
        conf, cls = probs.max(-1)
        for p, c, q in zip(chunk, cls.tolist(), conf.tolist()):
            rows.append([p.relative_to(base).as_posix(), c, names[c] if c < len(names) else str(c), f"{q:.6f}"])
    path = opts.out / "predictions.csv"
    atomic_write_bytes(path, _csv_text(rows).encode())
    return [path]


def _csv_text(rows: list[list[Any]]) -> str:
    import io

    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue()
