"""Evaluation and prediction of trained runs, keyed by the checkpoint's task name (one module per problem).

``aekit.evaluate`` / ``aekit.predict`` (and the ``aekit evaluate`` / ``aekit predict`` commands, which call
them) load the task from the checkpoint, pick its evaluator or predictor and its typed options here.
"""

from aekit.inference.api import evaluate, evaluate_run, predict
from aekit.inference.base import (
    EVALUATORS,
    PREDICTORS,
    EvaluateOptions,
    Evaluation,
    PredictOptions,
    Where,
    evaluation_dir,
    output_paths,
    register_evaluator,
    register_predictor,
    resolve_checkpoint,
    write_json,
    write_metrics,
)

__all__ = [
    "EVALUATORS",
    "PREDICTORS",
    "EvaluateOptions",
    "Evaluation",
    "PredictOptions",
    "Where",
    "evaluate",
    "evaluate_run",
    "evaluation_dir",
    "output_paths",
    "predict",
    "register_evaluator",
    "register_predictor",
    "resolve_checkpoint",
    "write_json",
    "write_metrics",
]
