"""Step 2 of the pipeline: similarity matrices of drugs and miRNAs.

- maps from code distances to similarities (``distances_to_similarity``, ``code_similarity``);
- per-side sources for a dataset (``dataset_similarities``: biological, sequence, chemical...);
- chemical similarity (RDKit Morgan fingerprints, Tanimoto);
- GIP kernels of a training association matrix (computed per fold by the methods that use them).

The names below are imported on first use (``sesl_jax._lazy``): only the GIP kernels need JAX, and
the command line reads ``ENCODERS`` before it starts JAX.
"""

from sesl_jax._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "alignment_similarity": "sesl_jax.similarity._alignment",
    "Similarities": "sesl_jax.similarity._base",
    **dict.fromkeys(("chemical_similarity", "morgan_fingerprints", "tanimoto_similarity"), "sesl_jax.similarity._chemical"),
    **dict.fromkeys(("INTEGRATIONS", "Integration", "check_integration", "gip_kernel", "gip_kernels",
                     "integrate_similarity", "integrated_similarities"), "sesl_jax.similarity._gip"),
    **dict.fromkeys(("SIMILARITY_MAPS", "SimilarityMap", "check_map", "code_similarity", "distance_scale",
                     "distances_to_similarity", "euclidean_distances", "parse_map"), "sesl_jax.similarity._maps"),
    **dict.fromkeys(("DRUG_SOURCES", "ENCODERS", "MIRNA_FORMS", "MIRNA_SOURCES", "check_code_options", "code_option_applies", "check_encoder", "dataset_similarities", "drug_codes",
                     "drug_similarity", "fuse", "mirna_codes", "mirna_sequences", "mirna_similarity", "parse_side",
                     "side_label", "replace_source", "without_biological", "split_configuration", "split_source"),
                    "sesl_jax.similarity._sources"),
})

__all__ = [
    "ENCODERS", "alignment_similarity", "check_code_options", "code_option_applies", "check_encoder", "fuse", "mirna_sequences", "parse_side", "side_label",
    "DRUG_SOURCES", "INTEGRATIONS", "Integration", "MIRNA_FORMS", "MIRNA_SOURCES", "SIMILARITY_MAPS", "Similarities",
    "SimilarityMap", "check_map", "parse_map", "chemical_similarity", "check_integration", "code_similarity", "dataset_similarities",
    "distance_scale", "distances_to_similarity", "drug_codes", "drug_similarity", "euclidean_distances",
    "gip_kernel", "gip_kernels", "integrate_similarity", "integrated_similarities", "mirna_codes",
    "mirna_similarity", "morgan_fingerprints", "replace_source", "split_configuration", "split_source", "tanimoto_similarity", "without_biological",
]
