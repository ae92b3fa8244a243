"""Encoder + head classifier: the autoencoder's encoder AND its bottleneck projection to ``z``, then a head.

The classifier sees exactly the code ``z`` the autoencoder learned (``encoder`` -> flatten -> ``to_latent``),
so its state-dict names match the autoencoder's (``encoder.*``, ``to_latent.*``) and a pre-trained
autoencoder's weights drop in without renaming. The same class, randomly initialised, is the
"from scratch" baseline of the label-efficiency experiments.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from aekit.models.autoencoder import _pair
from aekit.models.encoders import ConvEncoder
from aekit.nn.blocks import pad_to_multiple
from aekit.registry import create_model, model_config, register_model

HEADS = ("linear", "mlp")
ENCODER_BN_MODES = ("frozen", "train")
# the autoencoder arguments that shape the encoder + to_latent (decoder arguments are dropped)
ENCODER_KEYS = (
    "in_channels",
    "image_size",
    "latent_dim",
    "widths",
    "blocks_per_stage",
    "kernel_size",
    "norm",
    "act",
    "downsample",
)
ENCODER_PREFIXES = ("encoder.", "to_latent.")
# with reconstruct=True the classifier keeps the decoder: autoencoder name -> classifier name
DECODER_RENAMES = {"from_latent.": "from_latent.", "ups.": "ups.", "decoder_stages.": "decoder_stages.",
                   "head.": "recon_head."}  # fmt: skip
DECODER_KEYS = ("upsample", "output_activation")


@register_model("encoder_classifier")
class EncoderClassifier(nn.Module):
    """Images -> ``z`` (autoencoder encoder + bottleneck projection) -> head -> class logits.

    ``head``: ``linear`` (LayerNorm on z, then one linear layer: a linear probe) or ``mlp`` (one hidden
    layer). ``freeze_encoder`` stops gradients into the encoder and ``to_latent``.
    ``encoder_bn``: ``frozen`` keeps the encoder's BatchNorm layers in eval mode, i.e. uses the running
    statistics of the (large, unlabeled) pre-training data even while training: with a labeled batch of
    10-100 images, batch statistics would be noisy and would overwrite good running statistics. Use
    ``train`` for a randomly initialised encoder (the scratch baseline), whose statistics must be learned.
    """

    def __init__(
        self,
        in_channels: int = 1,
        image_size: int | Sequence[int] = 28,
        latent_dim: int = 32,
        widths: Sequence[int] = (32, 64, 128),
        blocks_per_stage: int | Sequence[int] = 1,
        kernel_size: int = 3,
        norm: str = "batch",
        act: str = "relu",
        downsample: str = "stride",
        num_classes: int = 10,
        head: str = "linear",
        hidden: int = 256,
        dropout: float = 0.0,
        freeze_encoder: bool = False,
        encoder_bn: str = "train",
        reconstruct: bool = False,
        upsample: str = "transposed",
        output_activation: str = "sigmoid",
    ) -> None:
        super().__init__()
        if head not in HEADS:
            raise ValueError(f"unknown head {head!r}; choose one of {', '.join(HEADS)}")
        if encoder_bn not in ENCODER_BN_MODES:
            raise ValueError(f"encoder_bn must be one of {', '.join(ENCODER_BN_MODES)}, not {encoder_bn!r}")
        if num_classes < 2:
            raise ValueError(f"num_classes must be at least 2, not {num_classes}")
        self.in_channels = in_channels
        self.image_size = _pair(image_size)
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.encoder_bn = encoder_bn
        self.encoder = ConvEncoder(in_channels, widths, blocks_per_stage, kernel_size, norm, act, downsample)
        r = self.encoder.reduction
        flat = self.encoder.widths[-1] * -(-self.image_size[0] // r) * -(-self.image_size[1] // r)
        self.to_latent = nn.Linear(flat, latent_dim)
        if head == "linear":
            self.head = nn.Sequential(nn.LayerNorm(latent_dim), nn.Dropout(dropout), nn.Linear(latent_dim, num_classes))
        else:
            self.head = nn.Sequential(
                nn.LayerNorm(latent_dim),
                nn.Linear(latent_dim, hidden),
                nn.ReLU(inplace=True),
                nn.Dropout(dropout),
                nn.Linear(hidden, num_classes),
            )
        self.reconstruct = bool(reconstruct)
        if reconstruct:  # keep a decoder for reconstruction as an auxiliary loss (built as the autoencoder builds it)
            from aekit.models.autoencoder import ConvAutoencoder

            ae = ConvAutoencoder(in_channels, image_size, latent_dim, widths, blocks_per_stage, kernel_size, norm, act,
                                 downsample, upsample, output_activation)  # fmt: skip
            self.bottom_shape = ae.bottom_shape
            self.from_latent, self.ups, self.decoder_stages = ae.from_latent, ae.ups, ae.decoder_stages
            self.recon_head, self.output_activation = ae.head, ae.output_activation
        self.freeze_encoder = False
        self.set_encoder_frozen(freeze_encoder)

    # -- encoder handling ------------------------------------------------------------------------
    def encoder_modules(self) -> list[nn.Module]:
        return [self.encoder, self.to_latent]

    @staticmethod
    def is_encoder_parameter(name: str) -> bool:
        """True for the parts that come from the autoencoder: ``encoder``, ``to_latent`` (and the decoder, if kept)."""
        return name.startswith((*ENCODER_PREFIXES, *DECODER_RENAMES.values()))

    def set_encoder_frozen(self, frozen: bool) -> None:
        """Freeze (linear probe) or unfreeze (full fine-tuning) the encoder and ``to_latent``."""
        self.freeze_encoder = bool(frozen)
        for m in self.encoder_modules():
            for p in m.parameters():
                p.requires_grad_(not frozen)
        self.train(self.training)

    def train(self, mode: bool = True) -> EncoderClassifier:
        super().train(mode)
        if mode and (self.freeze_encoder or self.encoder_bn == "frozen"):
            for m in self.encoder.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self

    def load_pretrained(self, source: nn.Module | str | Path) -> list[str]:
        """Copy ``encoder.*`` and ``to_latent.*`` from an autoencoder (model, run dir, .ckpt or .safetensors).

        Returns the names of the copied tensors; any shape or name mismatch is an error that says which.
        """
        from aekit.io import load

        model = source if isinstance(source, nn.Module) else load(source)
        prefixes = (*ENCODER_PREFIXES, *DECODER_RENAMES.values()) if self.reconstruct else ENCODER_PREFIXES
        state = {k: v for k, v in model.state_dict().items() if k.startswith(ENCODER_PREFIXES)}
        if self.reconstruct and not isinstance(model, EncoderClassifier):
            for k, v in model.state_dict().items():
                for old, new in DECODER_RENAMES.items():
                    if k.startswith(old):
                        state[new + k[len(old) :]] = v
        elif self.reconstruct:
            state.update({k: v for k, v in model.state_dict().items() if k.startswith(tuple(DECODER_RENAMES.values()))})
        own = {k: v for k, v in self.state_dict().items() if k.startswith(prefixes)}
        missing, extra = sorted(set(own) - set(state)), sorted(set(state) - set(own))
        wrong = [k for k in own if k in state and own[k].shape != state[k].shape]
        if missing or extra or wrong:
            what = source if not isinstance(source, nn.Module) else type(source).__name__
            detail = (
                f"missing {missing[:3]}"
                if missing
                else f"unexpected {extra[:3]}"
                if extra
                else f"{wrong[0]} is {tuple(state[wrong[0]].shape)} there but {tuple(own[wrong[0]].shape)} here"
            )
            raise ValueError(
                f"the encoder of {what} does not fit this classifier ({detail}); build the classifier with "
                "EncoderClassifier.from_autoencoder or the autoencoder's widths, latent_dim, image size and channels"
            )
        self.load_state_dict(state, strict=False)
        return sorted(state)

    @classmethod
    def from_autoencoder(
        cls,
        source: nn.Module | str | Path,
        num_classes: int,
        head: str = "linear",
        freeze_encoder: bool = False,
        encoder_bn: str = "frozen",
        reconstruct: bool = False,
        **kwargs: Any,
    ) -> EncoderClassifier:
        """A classifier whose encoder + ``to_latent`` are the pre-trained autoencoder's (the decoder is dropped).

        ``source``: a ConvAutoencoder, a run directory, a ``.ckpt`` or a ``model.safetensors``. The result is
        built by the registry, so it saves and reloads like any aekit model.
        """
        from aekit.io import load

        model = source if isinstance(source, nn.Module) else load(source)
        kw = classifier_kwargs_from(model, reconstruct)
        clf = create_model(
            "encoder_classifier",
            **kw,
            num_classes=num_classes,
            head=head,
            freeze_encoder=freeze_encoder,
            encoder_bn=encoder_bn,
            reconstruct=reconstruct,
            **kwargs,
        )
        clf.load_pretrained(model)
        return clf  # type: ignore[return-value]

    # -- forward ---------------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N, C, H, W) -> codes z (N, latent_dim), exactly as the autoencoder computes them."""
        if tuple(x.shape[-2:]) != self.image_size or x.shape[1] != self.in_channels:
            raise ValueError(
                f"this classifier takes {self.in_channels}x{self.image_size[0]}x{self.image_size[1]} images, "
                f"got {tuple(x.shape[1:])}; resize the data (--image-size) to the autoencoder's size"
            )
        x = pad_to_multiple(x, self.encoder.reduction)
        return self.to_latent(self.encoder(x).features[-1].flatten(1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes -> reconstructions, as the autoencoder decodes (only with ``reconstruct=True``)."""
        if not self.reconstruct:
            raise RuntimeError("this classifier has no decoder; build it with reconstruct=True")
        x = self.from_latent(z).view(z.shape[0], *self.bottom_shape)
        for up, stage in zip(self.ups, self.decoder_stages):
            x = stage(up(x))
        return self.output_activation(self.recon_head(x)[..., : self.image_size[0], : self.image_size[1]])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encode(x))


def classifier_kwargs_from(model: nn.Module, reconstruct: bool = False) -> dict[str, Any]:
    """The encoder-shaping arguments of a registry-built autoencoder (or classifier); with ``reconstruct``
    also the decoder's."""
    keys = (*ENCODER_KEYS, *DECODER_KEYS) if reconstruct else ENCODER_KEYS
    return {k: v for k, v in model_config(model)["kwargs"].items() if k in keys}
