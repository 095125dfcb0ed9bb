"""The paper-size LSTM auto-encoders trained on a lent GPU, in one command of at most ten minutes.

The paper's encoder (3 LSTM layers of 256 units, batch normalisation, a 64-d code; here batch norm
between the encoder's layers only, ``--batch-norm``: in the decoder it leaks the targets, see
``sesl_jax/encoders/_model.py``) trains at about
23 SMILES/s on the 2-core CPU here (``benchmarks/results/encoder_training.json``), so it never
reaches a useful size there. This script trains it for each kind (``rna``, then ``smiles``), each in
a child process under its own time limit, with ``sesl-jax encoder train`` (run as
``python -m sesl_jax``) on the corpora and lengths of the shipped recipes (RNA: mature miRNAs and
piRNAs plus human hairpins x 4; SMILES: the whole ChEMBL pre-training set, up to 100 tokens), the
paper's sizes, batch 256, Adam 2e-3 (constant: the step count a time budget allows is not known in
advance), and ``--max-minutes`` per kind. The trained weights (``encoder.npz``, tokenizer at the
shipped lengths) and the recipe (commands, corpus SHA-256, history, teacher-forced and free-running
validation accuracy on up to 2,000 held-out sequences, steps, device) come back as
``$OUT/<kind>-lstm-3x256.npz`` / ``.json``; ``$OUT/gpu_encoders.json`` says how each step went.

Nothing can be installed or fetched there, and there is no RDKit (it reads every SMILES). So first,
here, with the data, write the inputs into ``shared/`` (it travels with the working tree; keep it out
of git through ``.git/info/exclude``)::

    SESL_JAX_DATA=../shared/data python benchmarks/gpu_encoders.py --prepare shared/gpu_encoders

It copies the corpus files and writes, per kind, the training's own tokenized-corpus cache
(``corpus_rows.npz``, keyed by tokenizer and sequences) and, for SMILES, the vocabulary, so that the
run there never tokenizes. Then, with the device tool (``run``, ``timeout_s=600``), from the
repository root::

    PYTHONUNBUFFERED=1 timeout 570 python3 benchmarks/gpu_encoders.py --inputs shared/gpu_encoders --minutes 3 4 --out $OUT

The child processes run with RDKit, pooch and platformdirs blocked, as on that machine, so a CPU run
here checks that nothing needs them. ``--smoke``: tiny corpora and model, on CPU, about a minute
(checks the script, measures nothing).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, at_least

KINDS = ("rna", "smiles")
# The shipped recipes' corpora (sesl_jax/resources/encoders/*.json), relative to the data directory.
CORPORA = {
    "rna": (("pretrain/rna_small_ncrna_hsa_plus_allspecies_mature.fa.gz", 1),
            ("pretrain/rna_small_ncrna_hsa_mature_miRNA_piRNA.fa.gz", 1),
            ("sequences/mirbase_optimir_deb/hsa_hairpins_miRBase_v22.fa", 4)),
    "smiles": (("pretrain/chembl_pretrain_smiles_canonical_dedup.txt.gz", 1),),
}
LENGTHS = {"rna": (180, 160), "smiles": (200, 100)}  # (max length accepted, max length trained on)
MIN_COUNT = 3  # SMILES tokens seen fewer times become <unk>, as in the shipped recipe
BLOCKED = ("rdkit", "pooch", "platformdirs")  # absent on the lent machine
RESULT_SUFFIX = "-lstm-3x256"
# beyond --minutes of training: start-up, free-running validation and the final write
STEP_MARGIN_S = 75


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prepare", metavar="DIR", default=None, help="only write the inputs to DIR, then stop")
    parser.add_argument("--data-dir", default=None, help="with --prepare: benchmark data (default: $SESL_JAX_DATA)")
    parser.add_argument("--inputs", metavar="DIR", default=None, help="inputs written by --prepare")
    parser.add_argument("--out", default=None, help="result folder (default: $OUT, else benchmarks/results/gpu_encoders)")
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--minutes", nargs="+", type=float, default=[3.0, 4.0],
                        help="training minutes per kind, in --kinds order (one value: the same for each)")
    parser.add_argument("--hidden-size", type=at_least(1), default=256)
    parser.add_argument("--num-layers", type=at_least(1), default=3)
    parser.add_argument("--batch-size", type=at_least(1), default=256)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--length-multiple", type=at_least(1), default=32,
                        help="batches padded to a multiple of this many steps: each width compiles once, which "
                             "costs seconds of a short session (RNA up to 162 tokens: 6 widths at 32)")
    parser.add_argument("--smoke", action="store_true", help="tiny corpora and model on CPU (checks the script)")
    args = parser.parse_args()
    if len(args.minutes) not in (1, len(args.kinds)):
        parser.error(f"--minutes takes one value or one per kind ({len(args.kinds)})")
    if args.smoke:
        args.hidden_size, args.num_layers, args.batch_size = 8, 1, 4
    if args.prepare:
        prepare(Path(args.prepare), args)
    elif args.smoke:
        with tempfile.TemporaryDirectory() as folder:
            prepare(Path(folder) / "inputs", args)
            args.inputs = str(Path(folder) / "inputs")
            run_session(args)
    elif args.inputs:
        run_session(args)
    else:
        parser.error("give --prepare DIR (here) or --inputs DIR (there), or --smoke")


# --- here: the inputs ------------------------------------------------------------------------------


def prepare(folder: Path, args) -> None:
    """Copy the corpora into ``folder/<kind>/`` with what the run needs to skip tokenizing."""
    from sesl_jax.cli._encoder import _read_corpora
    from sesl_jax.encoders import RnaTokenizer, SmilesTokenizer
    from sesl_jax.encoders._training import TOKENS_NAME, tokenize_corpus_cached

    smoke = smoke_corpora(folder) if args.smoke else None
    for kind in args.kinds:
        target = folder / kind
        target.mkdir(parents=True, exist_ok=True)
        files = []
        for number, (source, repeat) in enumerate(smoke[kind] if smoke else corpus_sources(kind, args)):
            copied = target / f"{number}-{Path(source).name}"
            shutil.copyfile(source, copied)
            files.append({"file": copied.name, "repeat": repeat})
        paths = [str(target / entry["file"]) for entry in files]
        # the sequences exactly as ``encoder train`` reads them, so the cache key matches there
        sequences, _, _ = _read_corpora(kind, paths, [entry["repeat"] for entry in files], None, 0)
        max_length, train_max_length = LENGTHS[kind]
        if kind == "smiles":
            vocabulary = SmilesTokenizer.fit(sequences, min_count=1 if args.smoke else MIN_COUNT, canonicalize=True,
                                             skip_invalid=True).vocabulary
            (target / "vocabulary.json").write_text(json.dumps({"vocabulary": list(vocabulary)}))
            tokenizer = SmilesTokenizer(vocabulary, max_length=train_max_length, canonicalize=True)
        else:
            tokenizer = RnaTokenizer(max_length=train_max_length)
        rows, _, counts = tokenize_corpus_cached(tokenizer, sequences, target / TOKENS_NAME)
        manifest = {"kind": kind, "files": files, "max_length": max_length, "train_max_length": train_max_length,
                    "sequences": len(sequences), "distinct_rows": len(rows), "counts": counts}
        (target / "manifest.json").write_text(json.dumps(manifest, indent=1))
        print(f"{kind}: {len(sequences)} sequences, {len(rows)} distinct token rows -> {target}", flush=True)


def corpus_sources(kind: str, args) -> list[tuple[str, int]]:
    data = args.data_dir or os.environ.get("SESL_JAX_DATA")
    if not data:
        raise SystemExit("--prepare needs the benchmark data: --data-dir or $SESL_JAX_DATA")
    return [(str(Path(data) / relative), repeat) for relative, repeat in CORPORA[kind]]


def smoke_corpora(folder: Path) -> dict[str, list[tuple[str, int]]]:
    """Tiny corpora written beside the inputs (``--smoke``)."""
    folder.mkdir(parents=True, exist_ok=True)
    rna, smiles = folder / "smoke_rna.fa", folder / "smoke_smiles.txt.gz"
    rna.write_text("".join(f">s{i}\n{sequence}\n" for i, sequence in enumerate(
        ["UGAGGUAGUAGGUUGUAUAGUU", "ACGUACGUAC", "GGGAAAUUUCCC", "CUAUACAAUCUACUGUCUUUC", "AAAAACCCCCGG",
         "GUGUGUGACU", "UUUUGGAUCA", "CAGUCAGUCAGU"])))
    with gzip.open(smiles, "wt") as handle:
        handle.write("\n".join(["CCO", "CCN", "CCCO", "c1ccccc1", "c1ccccc1O", "CC(=O)O", "CC(=O)N", "CCCCCC"]) + "\n")
    return {"rna": [(str(rna), 1)], "smiles": [(str(smiles), 1)]}


# --- there: the session ----------------------------------------------------------------------------


def run_session(args) -> None:
    started = time.time()
    out = Path(args.out or os.environ.get("OUT") or ROOT / "benchmarks" / "results" / "gpu_encoders")
    out.mkdir(parents=True, exist_ok=True)
    minutes = args.minutes * len(args.kinds) if len(args.minutes) == 1 else args.minutes
    payload = {"benchmark": "gpu_encoders", "command": sys.argv, "smoke": args.smoke, "inputs": args.inputs,
               "sizes": {"hidden_size": args.hidden_size, "num_layers": args.num_layers, "batch_norm": "encoder",
                         "code_dim": 64, "batch_size": args.batch_size, "learning_rate": args.learning_rate},
               "steps": []}
    for kind, budget in zip(args.kinds, minutes):
        step = {"kind": kind, "minutes": budget}
        with tempfile.TemporaryDirectory() as work:
            step.update(train(kind, budget, Path(args.inputs) / kind, Path(work) / kind, out, args))
        payload["steps"].append(step)
        payload["wall_seconds"] = time.time() - started
        print(f"== {kind}: {step['status']}, {step['seconds']:.0f} s" + (f": {step['error']}" if step.get("error") else ""),
              flush=True)
        (out / "gpu_encoders.json").write_text(json.dumps(payload, indent=1))
    print(f"wrote {out / 'gpu_encoders.json'}")


def train(kind: str, minutes: float, inputs: Path, work: Path, out: Path, args) -> dict:
    """``encoder train`` for ``kind`` in a child process; its weights and recipe copied to ``out``."""
    from sesl_jax.encoders._training import TOKENS_NAME

    manifest = json.loads((inputs / "manifest.json").read_text())
    work.mkdir(parents=True)
    shutil.copyfile(inputs / TOKENS_NAME, work / TOKENS_NAME)  # the cache the run reads instead of tokenizing
    command = ["encoder", "train", "--kind", kind, "--corpus", *[str(inputs / entry["file"]) for entry in manifest["files"]],
               "--repeat", *[str(entry["repeat"]) for entry in manifest["files"]], "--out", str(work),
               "--hidden-size", str(args.hidden_size), "--num-layers", str(args.num_layers), "--batch-norm",
               "--code-dim", "64", "--max-length", str(manifest["max_length"]),
               "--train-max-length", str(manifest["train_max_length"]), "--batch-size", str(args.batch_size),
               "--learning-rate", str(args.learning_rate), "--length-multiple", str(args.length_multiple), "--epochs", "1000",
               "--max-minutes", str(minutes), "--checkpoint-every", "0", "--seed", "0"]
    if kind == "smiles":
        command += ["--vocabulary", str(inputs / "vocabulary.json")]
    if args.smoke:
        command += ["--validation-fraction", "0.25"]
    blocked = "import sys; sys.modules.update(dict.fromkeys(%r)); " % (BLOCKED,)
    child = [sys.executable, "-c", blocked + "from sesl_jax.cli import main; raise SystemExit(main(sys.argv[1:]))",
             *command]
    limit = minutes * 60 + STEP_MARGIN_S
    tic = time.time()
    try:
        result = subprocess.run(child, cwd=ROOT, timeout=limit, capture_output=True, text=True,
                                env=dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT)))
    except subprocess.TimeoutExpired as stopped:
        tail = (stopped.stderr or b"")[-2000:]
        return {"status": "timed out", "seconds": time.time() - tic, "error": f"killed after {limit:.0f} s",
                "log_tail": tail.decode(errors="replace") if isinstance(tail, bytes) else tail}
    step = {"seconds": time.time() - tic, "command": "python -m sesl_jax " + " ".join(command),
            "log_tail": result.stderr[-2000:]}
    if result.returncode != 0 or not (work / "encoder.npz").is_file():
        return {**step, "status": "failed", "error": f"exit code {result.returncode}"}
    recipe = json.loads((work / "recipe.json").read_text())
    shutil.copyfile(work / "encoder.npz", out / f"{kind}{RESULT_SUFFIX}.npz")
    (out / f"{kind}{RESULT_SUFFIX}.json").write_text(json.dumps(recipe, indent=1))
    history = recipe.get("history") or [{}]
    return {**step, "status": "ok", "steps": recipe.get("steps"), "validation": recipe.get("validation"),
            "device": recipe.get("device"), "sequences_per_second": history[-1].get("sequences_per_second"),
            "weights_bytes": (out / f"{kind}{RESULT_SUFFIX}.npz").stat().st_size}


if __name__ == "__main__":
    main()
