"""Step 2 of the pipeline: similarity matrices of drugs and miRNAs.

- maps from code distances to similarities (``distances_to_similarity``, ``code_similarity``);
- per-side sources for a dataset (``dataset_similarities``: biological, sequence, chemical...);
- chemical similarity (RDKit Morgan fingerprints, Tanimoto);
- GIP kernels of a training association matrix (computed per fold by the methods that use them).
"""

from sesl_jax.similarity._alignment import alignment_similarity
from sesl_jax.similarity._base import Similarities
from sesl_jax.similarity._chemical import chemical_similarity, morgan_fingerprints, tanimoto_similarity
from sesl_jax.similarity._gip import (
    INTEGRATIONS,
    Integration,
    check_integration,
    gip_kernel,
    gip_kernels,
    integrate_similarity,
    integrated_similarities,
)
from sesl_jax.similarity._maps import (
    SIMILARITY_MAPS,
    SimilarityMap,
    code_similarity,
    distance_scale,
    distances_to_similarity,
    euclidean_distances,
)
from sesl_jax.similarity._sources import (
    DRUG_SOURCES,
    ENCODERS,
    MIRNA_SOURCES,
    check_encoder,
    dataset_similarities,
    drug_codes,
    drug_similarity,
    fuse,
    mirna_codes,
    mirna_sequences,
    mirna_similarity,
    parse_side,
    side_label,
    replace_source,
    without_biological,
    split_configuration,
    split_source,
)

__all__ = [
    "ENCODERS", "alignment_similarity", "check_encoder", "fuse", "mirna_sequences", "parse_side", "side_label",
    "DRUG_SOURCES", "INTEGRATIONS", "Integration", "MIRNA_SOURCES", "SIMILARITY_MAPS", "Similarities",
    "SimilarityMap", "chemical_similarity", "check_integration", "code_similarity", "dataset_similarities",
    "distance_scale", "distances_to_similarity", "drug_codes", "drug_similarity", "euclidean_distances",
    "gip_kernel", "gip_kernels", "integrate_similarity", "integrated_similarities", "mirna_codes",
    "mirna_similarity", "morgan_fingerprints", "replace_source", "split_configuration", "split_source", "tanimoto_similarity", "without_biological",
]
