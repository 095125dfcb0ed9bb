"""Data layer: benchmark and user datasets, validated, with their sequences.

Every loader returns a read-only :class:`Dataset` and raises :class:`DataError` (naming the
file and entry) on anything invalid; nothing is dropped, clipped or repaired silently.

* :func:`load_dataset` - the PCD / FCD benchmarks from a data directory or the download cache.
* :func:`load_pairs` - a user CSV/TSV of known (drug, miRNA) pairs.
* :func:`load_sm2mir` - the raw SM2miR database download.
* :func:`resolve_data_dir`, :func:`fetch_benchmarks` - where the benchmark files come from.
"""

from sesl_jax.data._benchmarks import load_dataset
from sesl_jax.data._dataset import Dataset
from sesl_jax.data._errors import DataError
from sesl_jax.data._fetch import fetch_benchmarks, resolve_data_dir
from sesl_jax.data._sm2mir import load_sm2mir
from sesl_jax.data._user_pairs import load_pairs

__all__ = [
    "DataError",
    "Dataset",
    "fetch_benchmarks",
    "load_dataset",
    "load_pairs",
    "load_sm2mir",
    "resolve_data_dir",
]
