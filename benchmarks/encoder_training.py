"""Training throughput of the sequence auto-encoders (sequences per second), SMILES and RNA.

Times the jit-compiled training step (``sesl_jax.encoders._training.train_step``) on batches of
real corpus sequences when ``--data-dir``/``$SESL_JAX_DATA`` is given, else on random sequences with
the corpora's typical lengths (SMILES ~45 tokens, RNA ~22 nt). Compilation is timed separately.
Prints a table and writes JSON (device, dtype, sizes, timings).

    python benchmarks/encoder_training.py --steps 20 --output runs/benchmarks/encoder_training.json
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from sesl_jax._io import atomic_write_json
from sesl_jax.encoders import EncoderConfig, RnaTokenizer, SequenceAutoencoder, SmilesTokenizer, TrainConfig
from sesl_jax.encoders._training import epoch_batches, make_batch, make_optimizer, train_step

TYPICAL_LENGTH = {"smiles": 45, "rna": 22}


def _sequences(kind: str, data_dir: str | None, count: int, seed: int) -> tuple[object, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    if kind == "smiles":
        tokenizer = SmilesTokenizer(max_length=100)
    else:
        tokenizer = RnaTokenizer(max_length=32)
    if data_dir:
        from sesl_jax.encoders import read_corpus

        name = ("pretrain/chembl_pretrain_smiles_canonical_dedup.txt.gz" if kind == "smiles"
                else "pretrain/rna_small_ncrna_hsa_plus_allspecies_mature.fa.gz")
        corpus = read_corpus(kind, Path(data_dir) / name)
        chosen = rng.choice(len(corpus), size=min(count, len(corpus)), replace=False)
        if kind == "smiles":
            tokenizer = SmilesTokenizer.fit([corpus[i] for i in chosen], max_length=100, skip_invalid=True)
        rows = []
        for index in chosen:
            try:
                rows.append(tokenizer.encode(corpus[index]))
            except ValueError:
                continue
        return tokenizer, rows
    lengths = np.clip(rng.normal(TYPICAL_LENGTH[kind], TYPICAL_LENGTH[kind] / 4, size=count).astype(int), 5, 100)
    rows = [np.concatenate([[1], rng.integers(4, tokenizer.vocab_size, size=n), [2]]).astype(np.int32) for n in lengths]
    return tokenizer, rows


def bench(kind: str, hidden: int, layers: int, batch_size: int, steps: int, data_dir: str | None, seed: int) -> dict:
    tokenizer, rows = _sequences(kind, data_dir, batch_size * (steps + 8), seed)
    config = EncoderConfig(vocab_size=tokenizer.vocab_size, hidden_size=hidden, num_layers=layers, code_dim=64)
    train_config = TrainConfig(batch_size=batch_size, length_multiple=16, seed=seed)
    model = SequenceAutoencoder(config, rngs=nnx.Rngs(seed))
    optimizer = make_optimizer(model, train_config)
    lengths = np.asarray([len(row) for row in rows])
    batches = [make_batch(rows, indices, batch_size, train_config.length_multiple)
               for indices in epoch_batches(lengths, batch_size, seed, 0)]
    widths = sorted({ids.shape[1] for ids, _ in batches})
    started = time.perf_counter()
    for width in widths:  # compile every padded width first
        ids, lens = next(batch for batch in batches if batch[0].shape[1] == width)
        jax.block_until_ready(train_step(model, optimizer, jnp.asarray(ids), jnp.asarray(lens)))
    compile_seconds = time.perf_counter() - started
    timed = batches[:steps]
    started = time.perf_counter()
    sequences = tokens = 0
    for ids, lens in timed:
        counts = train_step(model, optimizer, jnp.asarray(ids), jnp.asarray(lens))
        sequences += int((lens > 0).sum())
        tokens += int(lens.sum())
    jax.block_until_ready(counts)
    seconds = time.perf_counter() - started
    return {
        "kind": kind, "hidden_size": hidden, "num_layers": layers, "batch_size": batch_size, "steps": len(timed),
        "vocab_size": tokenizer.vocab_size, "mean_length": float(lengths.mean()), "padded_widths": widths,
        "compile_seconds": compile_seconds, "seconds": seconds, "seconds_per_step": seconds / max(len(timed), 1),
        "sequences_per_second": sequences / seconds, "tokens_per_second": tokens / seconds,
        "real_data": bool(data_dir),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", nargs="+", default=["smiles", "rna"], choices=["smiles", "rna"])
    parser.add_argument("--hidden-size", type=int, nargs="+", default=[128])
    parser.add_argument("--num-layers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=os.environ.get("SESL_JAX_DATA"))
    parser.add_argument("--output", default="runs/benchmarks/encoder_training.json")
    args = parser.parse_args(argv)

    results = [bench(kind, hidden, args.num_layers, args.batch_size, args.steps, args.data_dir, args.seed)
               for kind in args.kinds for hidden in args.hidden_size]
    device = jax.devices()[0]
    report = {
        "benchmark": "encoder_training", "device": str(device), "device_kind": getattr(device, "device_kind", ""),
        "platform": platform.platform(), "cpu_count": os.cpu_count(), "load_average": os.getloadavg(),
        "jax_version": jax.__version__, "dtype": "float32", "results": results,
    }
    print(f"device: {device} ({report['device_kind']}), float32, load average {report['load_average'][0]:.1f}")
    print(f"{'kind':<7}{'hidden x layers':>16}{'batch':>7}{'mean len':>9}{'compile s':>10}{'s/step':>8}{'seq/s':>8}{'tok/s':>9}")
    for r in results:
        print(f"{r['kind']:<7}{str(r['hidden_size']) + ' x ' + str(r['num_layers']):>16}{r['batch_size']:>7}"
              f"{r['mean_length']:>9.1f}{r['compile_seconds']:>10.1f}{r['seconds_per_step']:>8.3f}"
              f"{r['sequences_per_second']:>8.0f}{r['tokens_per_second']:>9.0f}")
    atomic_write_json(args.output, report)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
