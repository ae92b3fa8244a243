"""Building blocks shared by every model; no knowledge of tasks or data."""

from aekit.nn.blocks import ConvNormAct, make_activation, make_norm, pad_to_multiple
from aekit.nn.upsample import UPSAMPLE_MODES, UpSample

__all__ = ["UPSAMPLE_MODES", "ConvNormAct", "UpSample", "make_activation", "make_norm", "pad_to_multiple"]
