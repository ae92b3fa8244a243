"""LightningModules: one training step per kind of problem, around a registry-built model."""

from aekit.tasks.base import Task, load_task, register_task
from aekit.tasks.reconstruction import ReconstructionTask
from aekit.tasks.stereo_depth import StereoDepthTask

__all__ = ["ReconstructionTask", "StereoDepthTask", "Task", "load_task", "register_task"]
