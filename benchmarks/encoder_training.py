"""Throughput of the sequence auto-encoders per configuration: training and encoding, SMILES and RNA.

For each kind and model size (default: the shipped 2 x 128 and the paper's 3 x 256 with batch
norm), on real corpus sequences when ``--data-dir``/``$SESL_JAX_DATA`` is given (else random ids
with the corpora's typical lengths):

- training: sequences/s of the jit-compiled step (``sesl_jax.encoders._training.train_step``) on
  length-bucketed batches; compilation of the padded widths used is timed separately;
- encoding: sequences/s of the jit-compiled encoder on id rows in batches of 256 (as
  :func:`sesl_jax.encoders.encode` pads them), after a warm-up pass; with real data also of
  ``encode`` from strings, tokenizing (for SMILES, RDKit canonicalisation) included.

``--prepare-limit N`` also times reading the MOSES training file and tokenizing its first N
SMILES (the corpus preparation of ``sesl-jax encoder train``), with the memory it takes: once
canonicalised (after a vocabulary built from the first 20,000, which leaves their canonical forms
in the cache, as ``encoder train`` builds its vocabulary first) and once as given (RDKit still
validates every SMILES, nothing cached).
Prints a table and writes JSON (device, dtype, sizes, timings).

    python benchmarks/encoder_training.py --steps 10 --output benchmarks/results/encoder_training.json
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import time
from pathlib import Path

import _common

_common.setup(x64=False)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from flax import nnx  # noqa: E402

from sesl_jax.encoders import (  # noqa: E402
    Encoder,
    EncoderConfig,
    RnaTokenizer,
    SequenceAutoencoder,
    SmilesTokenizer,
    TrainConfig,
    encode,
    read_corpus,
)
from sesl_jax.encoders._pretrained import _encode_batch  # noqa: E402
from sesl_jax.encoders._training import epoch_batches, make_batch, make_optimizer, tokenize_corpus, train_step  # noqa: E402

TYPICAL_LENGTH = {"smiles": 45, "rna": 22}
CORPUS = {"smiles": "pretrain/chembl_pretrain_smiles_canonical_dedup.txt.gz",
          "rna": "pretrain/rna_small_ncrna_hsa_plus_allspecies_mature.fa.gz"}
MOSES = "pretrain/moses_molsets/train.csv.gz"


def _corpus(kind: str, data_dir: str | None, count: int, seed: int) -> tuple[object, list[str], list[np.ndarray]]:
    """(tokenizer, sequences as strings, id rows): real corpus sequences, or random ids without data."""
    rng = np.random.default_rng(seed)
    tokenizer = SmilesTokenizer(max_length=100) if kind == "smiles" else RnaTokenizer(max_length=32)
    if data_dir:
        corpus = read_corpus(kind, Path(data_dir) / CORPUS[kind])
        chosen = [corpus[i] for i in rng.choice(len(corpus), size=min(count, len(corpus)), replace=False)]
        if kind == "smiles":
            tokenizer = SmilesTokenizer.fit(chosen, max_length=100, skip_invalid=True)
        rows, sources, _ = tokenize_corpus(tokenizer, chosen)
        return tokenizer, [chosen[i] for i in sources], rows
    lengths = np.clip(rng.normal(TYPICAL_LENGTH[kind], TYPICAL_LENGTH[kind] / 4, size=count).astype(int), 5, 100)
    rows = [np.concatenate([[1], rng.integers(4, tokenizer.vocab_size, size=n), [2]]).astype(np.int32) for n in lengths]
    return tokenizer, [tokenizer.decode(row) for row in rows], rows


def _parse_size(text: str) -> tuple[int, int, str]:
    """'256x3bn' -> (hidden 256, layers 3, batch norm in the encoder); '256x3bn2': in the decoder too."""
    batch_norm = "both" if text.endswith("bn2") else "encoder" if text.endswith("bn") else "none"
    hidden, layers = text.removesuffix("bn2").removesuffix("bn").split("x")
    return int(hidden), int(layers), batch_norm


def bench(kind: str, size: str, batch_size: int, steps: int, encode_count: int, data_dir: str | None, seed: int) -> dict:
    hidden, layers, batch_norm = _parse_size(size)
    tokenizer, sequences, rows = _corpus(kind, data_dir, max(batch_size * (steps + 8), encode_count), seed)
    config = EncoderConfig(vocab_size=tokenizer.vocab_size, hidden_size=hidden, num_layers=layers, code_dim=64,
                           batch_norm=batch_norm)
    train_config = TrainConfig(batch_size=batch_size, length_multiple=16, seed=seed)
    model = SequenceAutoencoder(config, rngs=nnx.Rngs(seed))
    model.train()
    optimizer = make_optimizer(model, train_config)
    lengths = np.asarray([len(row) for row in rows])
    timed = [make_batch(rows, indices, batch_size, train_config.length_multiple)
             for indices in epoch_batches(lengths, batch_size, seed, 0)[:steps]]
    widths = sorted({ids.shape[1] for ids, _ in timed})
    started = time.perf_counter()
    for width in widths:  # compile the padded widths of the timed batches first
        ids, lens = next(batch for batch in timed if batch[0].shape[1] == width)
        jax.block_until_ready(train_step(model, optimizer, jnp.asarray(ids), jnp.asarray(lens)))
    compile_seconds = time.perf_counter() - started
    started = time.perf_counter()
    trained = tokens = 0
    for ids, lens in timed:
        counts = train_step(model, optimizer, jnp.asarray(ids), jnp.asarray(lens))
        trained += int((lens > 0).sum())
        tokens += int(lens.sum())
    jax.block_until_ready(counts)
    seconds = time.perf_counter() - started

    model.eval()
    to_encode = rows[:encode_count]
    encode_batches = [make_batch(to_encode, indices, 256, 16)
                      for indices in np.array_split(np.argsort(lengths[:encode_count], kind="stable"),
                                                    max(1, -(-len(to_encode) // 256)))]

    def encode_rows():
        return [_encode_batch(model, jnp.asarray(ids), jnp.asarray(lens)) for ids, lens in encode_batches]

    started = time.perf_counter()
    jax.block_until_ready(encode_rows())  # compiles the encoder's padded widths
    encode_compile_seconds = time.perf_counter() - started
    started = time.perf_counter()
    jax.block_until_ready(encode_rows())
    encode_seconds = time.perf_counter() - started
    strings = {}
    if data_dir:  # end to end from strings: tokenizing (RDKit canonicalisation for SMILES) included
        started = time.perf_counter()
        encode(Encoder(model, tokenizer, kind), sequences[:encode_count])
        strings_seconds = time.perf_counter() - started
        strings = {"encode_strings_seconds": strings_seconds,
                   "encode_strings_per_second": len(to_encode) / strings_seconds}
    return {
        "kind": kind, "size": size, "hidden_size": hidden, "num_layers": layers, "batch_norm": batch_norm,
        "batch_size": batch_size, "steps": len(timed), "vocab_size": tokenizer.vocab_size,
        "mean_length": float(lengths.mean()), "padded_widths": widths,
        "compile_seconds": compile_seconds, "seconds": seconds, "seconds_per_step": seconds / max(len(timed), 1),
        "train_sequences_per_second": trained / seconds, "train_tokens_per_second": tokens / seconds,
        "encoded": len(to_encode), "encode_batch_size": 256, "encode_compile_seconds": encode_compile_seconds,
        "encode_seconds": encode_seconds, "encode_sequences_per_second": len(to_encode) / encode_seconds,
        **strings, "real_data": bool(data_dir),
    }


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare(data_dir: str, limit: int) -> dict:
    """Read MOSES train and tokenize its first ``limit`` SMILES as ``encoder train`` does; time and memory."""
    gc.collect()
    rss_before = _max_rss_mb()
    started = time.perf_counter()
    smiles = read_corpus("smiles", Path(data_dir) / MOSES)
    read_seconds = time.perf_counter() - started
    rss_read = _max_rss_mb()
    subset = smiles[:limit]
    tokenizer = SmilesTokenizer.fit(subset[:20000], min_count=3, max_length=100, skip_invalid=True)
    result = {"corpus": MOSES, "sequences_in_file": len(smiles), "read_seconds": read_seconds,
              "read_max_rss_growth_mb": rss_read - rss_before, "tokenized": len(subset)}
    for canonicalize in (True, False):
        writer = SmilesTokenizer(tokenizer.vocabulary, max_length=100, canonicalize=canonicalize)
        rss = _max_rss_mb()
        started, cpu_started = time.perf_counter(), time.process_time()
        rows, _, counts = tokenize_corpus(writer, subset)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
        name = "canonical" if canonicalize else "as_given"
        result[name] = {  # on a shared machine the CPU time is the steadier figure
            "seconds": seconds, "cpu_seconds": cpu_seconds, "sequences_per_second": len(subset) / seconds,
            "sequences_per_cpu_second": len(subset) / cpu_seconds,
            "projected_full_file_seconds": len(smiles) * seconds / len(subset),
            "row_bytes": int(sum(row.nbytes for row in rows)), "max_rss_growth_mb": _max_rss_mb() - rss, **counts,
        }
        del rows
        gc.collect()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", nargs="+", default=["smiles", "rna"], choices=["smiles", "rna"])
    parser.add_argument("--sizes", nargs="+", default=["128x2", "256x3bn"],
                        help="HIDDENxLAYERS, 'bn' suffix for batch norm in the encoder, 'bn2' in the decoder too (default: shipped and paper sizes)")
    parser.add_argument("--batch-size", type=_common.at_least(1), default=128)
    parser.add_argument("--steps", type=_common.at_least(1), default=10)
    parser.add_argument("--encode-count", type=_common.at_least(1), default=2048)
    parser.add_argument("--prepare-limit", type=_common.at_least(0), default=0, help="also time corpus preparation on N MOSES SMILES")
    parser.add_argument("--seed", type=_common.at_least(0), default=0)
    parser.add_argument("--data-dir", default=os.environ.get("SESL_JAX_DATA"))
    parser.add_argument("--output", type=_common.json_out, default="benchmarks/results/encoder_training.json")
    args = parser.parse_args(argv)
    if args.prepare_limit and not args.data_dir:  # it would be skipped without a word
        parser.error("argument --prepare-limit: needs the MOSES corpus: give --data-dir or set SESL_JAX_DATA")

    facts = _common.device_facts()
    report = {"benchmark": "encoder_training", **facts, "dtype": "float32", "load_average": os.getloadavg(),
              "settings": vars(args)}
    if args.prepare_limit:
        report["prepare"] = prepare(args.data_dir, args.prepare_limit)
    results = [bench(kind, size, args.batch_size, args.steps, args.encode_count, args.data_dir, args.seed)
               for kind in args.kinds for size in args.sizes]
    report["results"] = results
    report["load_average_after"] = os.getloadavg()
    print(f"device: {facts['device']} ({facts['device_kind']}), float32, load average "
          f"{report['load_average'][0]:.1f} -> {report['load_average_after'][0]:.1f}")
    _common.print_table(results, ["kind", "size", "batch_size", "mean_length", "compile_seconds", "seconds_per_step",
                                  "train_sequences_per_second", "encode_sequences_per_second", "encode_strings_per_second"])
    if "prepare" in report:
        prep = report["prepare"]
        print(f"\nMOSES train: {prep['sequences_in_file']} SMILES read in {prep['read_seconds']:.1f} s "
              f"(+{prep['read_max_rss_growth_mb']:.0f} MB); tokenizing {prep['tokenized']}:")
        for name in ("canonical", "as_given"):
            part = prep[name]
            print(f"  {name}: {part['sequences_per_second']:.0f} SMILES/s ({part['sequences_per_cpu_second']:.0f} per CPU s), full file ~{part['projected_full_file_seconds']:.0f} s, "
                  f"rows {part['row_bytes'] / 1e6:.0f} MB, max RSS +{part['max_rss_growth_mb']:.0f} MB")
    _common.write_json(args.output, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
