"""Plain ``nn.Module`` models, one file per family; importing this registers them all."""

from aekit.models.autoencoder import ConvAutoencoder
from aekit.models.encoders import ConvEncoder, EncoderOutput

__all__ = ["ConvAutoencoder", "ConvEncoder", "EncoderOutput"]
