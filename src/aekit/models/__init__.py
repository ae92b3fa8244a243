"""Plain ``nn.Module`` models, one file per family; importing this registers them all."""

from aekit.models.autoencoder import ConvAutoencoder
from aekit.models.decoders import UNetDecoder
from aekit.models.disparity import DisparityUNet
from aekit.models.encoders import ConvEncoder, EncoderOutput
from aekit.models.unet import UNet

__all__ = ["ConvAutoencoder", "ConvEncoder", "DisparityUNet", "EncoderOutput", "UNet", "UNetDecoder"]
