"""Does a batch-normalised auto-encoder's training loss hold without the batch's statistics?

For a training run's checkpoint, the teacher-forced loss and token accuracy on (up to --limit of) its
validation sequences, three ways: in training mode on batches of similar length (as training batches
are bucketed), in training mode on random batches, and in evaluation mode (the running averages
that encoding and free-running decoding use). With batch norm in the decoder (``--batch-norm
both``) a batch's statistics pool every step of every row, so the first two are low and the third
is not: the loss was learnt partly from a leak, the targets' summary.

With ``--free-running``, also the free-running reconstruction per band of sequence length, from
codes computed each of the three ways (the decoder always uses its running averages). With batch
norm in the encoder alone, a model trained long on length-bucketed batches learns to read the
lengths that a batch's statistics carry: its codes reconstruct better from similar-length batches
than from the running averages that encoding a single sequence uses.

    python benchmarks/batch_norm_leak.py RUN_DIR [--limit 1024] [--free-running] [--sequences FILE]
    # writes benchmarks/results/batch_norm_leak_MODE.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _common import ROOT, at_least, device_facts, json_out, print_table, setup, write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="an 'encoder train' output directory (its checkpoint.npz, or encoder.npz)")
    parser.add_argument("--limit", type=at_least(1), default=1024)
    parser.add_argument("--batch-size", type=at_least(1), default=64)
    parser.add_argument("--free-running", action="store_true", help="also free-running accuracy per length band")
    parser.add_argument("--sequences", type=Path, default=None,
                        help="a file of sequences, one per line, instead of the run's validation split")
    parser.add_argument("--out", type=json_out, default=None, help="JSON (default benchmarks/results/batch_norm_leak_MODE.json)")
    args = parser.parse_args()
    setup(x64=False)
    import jax.numpy as jnp
    import numpy as np
    from flax import nnx

    from sesl_jax.cli._encoder import _run_split
    from sesl_jax.encoders import greedy_decode, load_checkpoint
    from sesl_jax.encoders._training import (CHECKPOINT_NAME, WEIGHTS_NAME, add_free_running, band_accuracies,
                                             band_counts, make_batch, overall_accuracies)

    run = Path(args.run)
    kind, sequences, split = _run_split(run)
    if args.sequences is not None:
        if not args.sequences.is_file():
            raise SystemExit(f"batch_norm_leak.py: --sequences {args.sequences}: no such file")
        sequences = [line.strip() for line in args.sequences.read_text().splitlines() if line.strip()]
        split = {**split, "sequences_file": str(args.sequences)}
    checkpoint = load_checkpoint(run / CHECKPOINT_NAME if (run / CHECKPOINT_NAME).is_file() else run / WEIGHTS_NAME)
    if checkpoint.architecture != "lstm":
        raise SystemExit(f"{args.run}: a {checkpoint.architecture} run; batch norm is the LSTM auto-encoder's")
    from sesl_jax.encoders import SequenceError

    rows = []
    for number, sequence in enumerate(sequences[: args.limit], 1):
        try:
            rows.append(checkpoint.tokenizer.encode(sequence))
        except SequenceError as error:
            raise SystemExit(f"batch_norm_leak.py: sequence {number} ({args.sequences or 'validation split'}): {error}")
    lengths = np.array([len(row) for row in rows])

    def loss(training: bool, order: np.ndarray) -> dict[str, float]:
        totals: dict[str, float] = {}
        model = nnx.clone(checkpoint.model)  # training mode updates running averages, which it does not read
        model.train() if training else model.eval()
        for start in range(0, len(order), args.batch_size):
            ids, batch_lengths = make_batch(rows, order[start:start + args.batch_size], args.batch_size, 16)
            _, counts = model.loss(jnp.asarray(ids), jnp.asarray(batch_lengths))
            for key, value in counts.items():
                totals[key] = totals.get(key, 0.0) + float(value)
        return {"loss": totals["loss_sum"] / totals["tokens"], "token_accuracy": totals["correct_tokens"] / totals["tokens"]}

    def free_running(training: bool, order: np.ndarray) -> dict[str, dict[str, float]]:
        counts = band_counts()
        model = nnx.clone(checkpoint.model)
        for start in range(0, len(order), args.batch_size):
            chosen = order[start:start + args.batch_size]
            ids, batch_lengths = make_batch(rows, chosen, args.batch_size, 16)
            model.train() if training else model.eval()
            # only the batch's real rows: padding rows would join the statistics in training mode
            code = model.encode(jnp.asarray(ids[:len(chosen)]), jnp.asarray(batch_lengths[:len(chosen)]))
            model.eval()
            add_free_running(counts, ids, batch_lengths, np.asarray(greedy_decode(model, code, ids.shape[1] - 1)), len(chosen))
        by_band = {f"{band['min_length']}-{band['max_length'] or ''}": band for band in band_accuracies(counts)}
        return {**by_band, "all": overall_accuracies(counts)}

    ways = {"training mode, batches of similar length": np.argsort(lengths, kind="stable"),
            "training mode, random batches": np.random.default_rng(0).permutation(len(rows)),
            "evaluation mode (running averages)": np.arange(len(rows))}
    table = [{"statistics": name, **loss(not name.startswith("evaluation"), order)} for name, order in ways.items()]
    if args.free_running:
        for entry, order in zip(table, ways.values()):
            entry["free_running_by_length"] = free_running(not entry["statistics"].startswith("evaluation"), order)
    print(f"{split['checkpoint']}: step {checkpoint.progress.get('step')}, batch norm "
          f"{checkpoint.model.config.batch_norm!r}, {len(rows)} validation sequences")
    print_table(table, ["statistics", "loss", "token_accuracy"])
    if args.free_running:
        bands = [{"statistics": entry["statistics"], "length": band, **values}
                 for entry in table for band, values in entry["free_running_by_length"].items()]
        print("\nfree-running, codes from each way's statistics (the decoder on its running averages):")
        print_table(bands, ["statistics", "length", "sequences", "token_accuracy", "sequence_accuracy"])
    out = args.out or ROOT / "benchmarks" / "results" / f"batch_norm_leak_{checkpoint.model.config.batch_norm}.json"
    write_json(out, {"benchmark": "batch_norm_leak", "environment": device_facts(), "run": split,
                          "step": checkpoint.progress.get("step"), "batch_norm": checkpoint.model.config.batch_norm,
                          "sequences": len(rows), "batch_size": args.batch_size, "free_running": args.free_running,
                          "rows": table})


if __name__ == "__main__":
    main()
