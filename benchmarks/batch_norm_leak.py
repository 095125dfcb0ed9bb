"""Does a batch-normalised auto-encoder's training loss hold without the batch's statistics?

For a training run's checkpoint, the teacher-forced loss and token accuracy on (up to --limit of) its
validation sequences, three ways: in training mode on batches of similar length (as training batches
are bucketed), in training mode on random batches, and in evaluation mode (the running averages
that encoding and free-running decoding use). With batch norm in the decoder (``--batch-norm
both``) a batch's statistics pool every step of every row, so the first two are low and the third
is not: the loss was learnt partly from a leak, the targets' summary.

    python benchmarks/batch_norm_leak.py RUN_DIR [--limit 1024]   # writes benchmarks/results/batch_norm_leak_MODE.json
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
    parser.add_argument("--out", type=json_out, default=None, help="JSON (default benchmarks/results/batch_norm_leak_MODE.json)")
    args = parser.parse_args()
    setup(x64=False)
    import jax.numpy as jnp
    import numpy as np
    from flax import nnx

    from sesl_jax.cli._encoder import _run_validation_split
    from sesl_jax.encoders import load_checkpoint
    from sesl_jax.encoders._training import CHECKPOINT_NAME, WEIGHTS_NAME, make_batch

    run = Path(args.run)
    kind, sequences, split = _run_validation_split(run)
    checkpoint = load_checkpoint(run / CHECKPOINT_NAME if (run / CHECKPOINT_NAME).is_file() else run / WEIGHTS_NAME)
    if checkpoint.architecture != "lstm":
        raise SystemExit(f"{args.run}: a {checkpoint.architecture} run; batch norm is the LSTM auto-encoder's")
    rows = [checkpoint.tokenizer.encode(sequence) for sequence in sequences[: args.limit]]
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

    ways = {"training mode, batches of similar length": np.argsort(lengths, kind="stable"),
            "training mode, random batches": np.random.default_rng(0).permutation(len(rows)),
            "evaluation mode (running averages)": np.arange(len(rows))}
    table = [{"statistics": name, **loss(not name.startswith("evaluation"), order)} for name, order in ways.items()]
    print(f"{split['checkpoint']}: step {checkpoint.progress.get('step')}, batch norm "
          f"{checkpoint.model.config.batch_norm!r}, {len(rows)} validation sequences")
    print_table(table, ["statistics", "loss", "token_accuracy"])
    out = args.out or ROOT / "benchmarks" / "results" / f"batch_norm_leak_{checkpoint.model.config.batch_norm}.json"
    write_json(out, {"benchmark": "batch_norm_leak", "environment": device_facts(), "run": split,
                          "step": checkpoint.progress.get("step"), "batch_norm": checkpoint.model.config.batch_norm,
                          "sequences": len(rows), "batch_size": args.batch_size, "rows": table})


if __name__ == "__main__":
    main()
