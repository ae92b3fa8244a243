"""LightningModules: one training step per kind of problem, around a registry-built model."""

from aekit.tasks.base import Task, load_task, register_task
from aekit.tasks.classification import ClassificationTask
from aekit.tasks.focus_depth import FocusDepthTask
from aekit.tasks.image_regression import DepthTask, SuperResolutionTask
from aekit.tasks.reconstruction import ReconstructionTask
from aekit.tasks.segmentation import SegmentationTask
from aekit.tasks.stereo_depth import StereoDepthTask

__all__ = [
    "ClassificationTask",
    "DepthTask",
    "FocusDepthTask",
    "ReconstructionTask",
    "SegmentationTask",
    "StereoDepthTask",
    "SuperResolutionTask",
    "Task",
    "load_task",
    "register_task",
]
