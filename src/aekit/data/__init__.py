"""Readers and datasets; no training code.

A data source is named by a spec ``kind[:argument]`` (``mnist5k``, ``mnist:path``, ``folder:path``,
``npy:file.npy``, ...). ``open_data(spec, **options)`` returns a :class:`DataSplits`; each kind takes
the options it knows (image_size, channels, seed, ...) and ignores the others. Every dataset item is a
dict of tensors: ``image`` (C, H, W float), and ``label``, ``mask``, ``target`` ... as the task needs.
"""

from aekit.data.base import DataSplits, open_data, register_data
from aekit.data.module import DataModule, EpochSeededSampler

# built-in kinds register themselves on import
from aekit.data import images as _images  # noqa: F401,E402  isort: skip
from aekit.data import mnist as _mnist  # noqa: F401,E402  isort: skip
from aekit.data import segmentation as _segmentation  # noqa: F401,E402  isort: skip
from aekit.data import medical as _medical  # noqa: F401,E402  isort: skip
from aekit.data import superres as _superres  # noqa: F401,E402  isort: skip
from aekit.data import depth as _depth  # noqa: F401,E402  isort: skip
from aekit.data import stereo as _stereo  # noqa: F401,E402  isort: skip
from aekit.data import focalstack as _focalstack  # noqa: F401,E402  isort: skip
from aekit.data import synthetic as _synthetic  # noqa: F401,E402  isort: skip

__all__ = ["DataModule", "DataSplits", "EpochSeededSampler", "open_data", "register_data"]
