"""sesl_jax: SESL drug-miRNA association prediction in JAX, with batched leakage-free evaluation."""

__version__ = "0.1.0"
