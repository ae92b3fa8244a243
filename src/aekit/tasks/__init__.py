"""LightningModules: one training step per kind of problem, around a registry-built model."""

from aekit.tasks.base import Task, load_task, register_task
from aekit.tasks.image_regression import DepthTask, SuperResolutionTask
from aekit.tasks.reconstruction import ReconstructionTask

__all__ = ["DepthTask", "ReconstructionTask", "SuperResolutionTask", "Task", "load_task", "register_task"]
