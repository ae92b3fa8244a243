"""Plain ``nn.Module`` models, one file per family; importing this registers them all."""

from aekit.models.autoencoder import ConvAutoencoder
from aekit.models.classifier import EncoderClassifier
from aekit.models.decoders import UNetDecoder
from aekit.models.depth import UNetDepth
from aekit.models.disparity import DisparityUNet
from aekit.models.encoders import ConvEncoder, EncoderOutput
from aekit.models.focus import DDFFNet
from aekit.models.segnet import FCN, SegNet
from aekit.models.superres import SRCNN, UNetSR
from aekit.models.unet import UNet

__all__ = [
    "FCN",
    "SRCNN",
    "ConvAutoencoder",
    "ConvEncoder",
    "DDFFNet",
    "DisparityUNet",
    "EncoderClassifier",
    "EncoderOutput",
    "SegNet",
    "UNet",
    "UNetDecoder",
    "UNetDepth",
    "UNetSR",
]
