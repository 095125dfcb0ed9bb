"""The two encoder architectures: names, configurations and models, chosen by one string.

``"lstm"`` is the auto-encoder of :mod:`sesl_jax.encoders._model` (SPEC step 1), ``"transformer"``
the BERT-style encoder of :mod:`sesl_jax.encoders._transformer`. Both models offer
``encode(ids, lengths) -> codes (B, D)`` and ``loss(ids, lengths) -> (loss, counts)``.
"""

from __future__ import annotations

from typing import Any

from flax import nnx

from sesl_jax.encoder_files import ARCHITECTURES
from sesl_jax.encoders._model import EncoderConfig, SequenceAutoencoder
from sesl_jax.encoders._transformer import SequenceTransformer, TransformerConfig

DEFAULT_ARCHITECTURE = ARCHITECTURES[0]
_CONFIGS = {"lstm": EncoderConfig, "transformer": TransformerConfig}
_MODELS = {"lstm": SequenceAutoencoder, "transformer": SequenceTransformer}

ModelConfig = EncoderConfig | TransformerConfig
Model = SequenceAutoencoder | SequenceTransformer


def check_architecture(architecture: str) -> str:
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown encoder architecture {architecture!r}; choose one of {', '.join(ARCHITECTURES)}")
    return architecture


def architecture_of(config_or_model: ModelConfig | Model) -> str:
    """``"lstm"`` or ``"transformer"`` for a configuration or a model."""
    config = getattr(config_or_model, "config", config_or_model)
    for name, config_class in _CONFIGS.items():
        if isinstance(config, config_class):
            return name
    raise TypeError(f"not an encoder configuration: {type(config).__name__}")


def config_from_dict(architecture: str, values: dict[str, Any]) -> ModelConfig:
    return _CONFIGS[check_architecture(architecture)].from_dict(values)


def build_model(config: ModelConfig, rngs: nnx.Rngs) -> Model:
    """A freshly initialised model of the configuration's architecture."""
    return _MODELS[architecture_of(config)](config, rngs=rngs)
