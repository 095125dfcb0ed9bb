"""Every user mistake on the command line: one line naming it, exit code 2 (usage) or 1 (data),
no traceback, and nothing written to the output directory."""

from __future__ import annotations

import pytest

import sesl_jax
from sesl_jax.cli import main

FCD = ["--dataset", "fcd", "--data-dir", "{data}"]
CV = ["cv", *FCD, "--similarity", "biological", "--quiet", "--out", "{out}"]
RANK = ["rank", *FCD, "--similarity", "biological", "--output", "{out}/ranked.csv"]

# (case, argv, exit code, text of the one error line)
CASES = [
    ("empty smiles", ["rank", *FCD, "--smiles", "", "--output", "{out}/r.csv"], 2,
     "argument --smiles: empty; give the SMILES of a new molecule"),
    ("invalid smiles", [*RANK, "--smiles", "C1CC"], 2,
     "argument --smiles: SMILES 'C1CC' is not a valid molecule (RDKit cannot parse it)"),
    ("invalid sequence", [*RANK, "--sequence", "ACGX"], 2, "argument --sequence: sequence 'ACGX' holds 'X'"),
    ("empty drug", [*RANK, "--drug", ""], 2, "argument --drug: empty drug ID"),
    ("empty mirna", [*RANK, "--mirna", " "], 2, "argument --mirna: empty miRNA ID"),
    ("unknown drug", [*RANK, "--drug", "CID:999"], 1, "fcd: unknown drug ID 'CID:999'; close matches"),
    ("unknown mirna", [*RANK, "--mirna", "hsa-mir-99"], 1, "fcd: unknown miRNA ID 'hsa-mir-99'"),
    ("top 0", [*RANK, "--drug", "CID:22", "--top", "0"], 2, "argument --top: must be an integer >= 1, got 0"),
    ("output is a directory", ["rank", *FCD, "--drug", "CID:22", "--output", "{tmp}"], 2,
     "argument --out/--output: '{tmp}' is a directory"),
    ("unknown similarity", [*RANK[:-2], "--similarity", "foo", "--drug", "CID:22"], 2,
     "argument --similarity: unknown drug similarity source 'foo'"),
    ("bad fused weights", [*CV[:-2], "--similarity", "drug=0.7*biological+0.7*sequence,mirna=biological",
                           "--out", "{out}"], 2, "argument --similarity: drug similarity"),
    ("unknown encoder", [*CV, "--encoder", "bert"], 2, "argument --encoder: invalid choice: 'bert'"),
    ("unknown encoder part", [*CV[:-2], "--similarity", "sequence,encoder=bert", "--out", "{out}"], 2,
     "argument --similarity: encoder must be one of lstm, transformer; got 'bert'"),
    ("unknown select encoder", ["select", *FCD, "--encoder", "gru", "--out", "{out}"], 2,
     "argument --encoder: invalid choice: 'gru'"),
    ("observed for a rival", [*CV, "--method", "tspn", "--observed", "known"], 2,
     "argument --method tspn: observed='known' only applies to sesl, se, bnnr"),
    ("variant a method lacks", [*CV, "--variant", "published-code"], 2,
     "argument --method sesl: variant 'published-code' exists only for rpca-gamma, tspn"),
    ("bnnr svt for a rival", [*CV, "--method", "tspn", "--bnnr-svt", "subspace"], 2,
     "argument --method tspn: bnnr_svt='subspace' only applies to sesl, se, bnnr"),
    ("k 1", [*CV, "--protocol", "kfold", "--k", "1"], 2, "argument --k: must be an integer >= 2, got 1"),
    ("k above the known pairs", [*CV, "--protocol", "kfold", "--k", "9"], 2,
     "argument --k: cannot split 5 known pairs into k=9 non-empty folds"),
    ("repeats 0", [*CV, "--protocol", "kfold", "--repeats", "0"], 2, "argument --repeats: must be an integer >= 1, got 0"),
    ("seed -1", [*CV, "--seed", "-1"], 2, "argument --seed: must be an integer >= 0, got -1"),
    ("cpu devices abc", [*CV, "--cpu-devices", "abc"], 2, "argument --cpu-devices: expected an integer >= 1, got 'abc'"),
    ("batch size 0", [*CV, "--batch-size", "0"], 2, "argument --batch-size: must be an integer >= 1, got 0"),
    ("threshold nan", [*CV, "--threshold", "nan"], 2, "argument --threshold: must be a finite number, got 'nan'"),
    ("threshold inf", [*CV, "--threshold", "inf"], 2, "argument --threshold: must be a finite number, got 'inf'"),
    ("fold file with wrong columns", [*CV, "--protocol", "file", "--fold-file", "{tmp}/folds.csv"], 1,
     "{tmp}/folds.csv: missing column(s) fold, drug_id, mirna_id; expected columns fold, drug_id, mirna_id"),
    ("missing fold file", [*CV, "--protocol", "file", "--fold-file", "{tmp}/absent.csv"], 1,
     "{tmp}/absent.csv: fold file not found"),
    ("fold file without protocol file", [*CV, "--fold-file", "{tmp}/folds.csv"], 2,
     "argument --fold-file: only used with --protocol file"),
    ("protocol file without fold file", [*CV, "--protocol", "file"], 2, "argument --protocol: file needs --fold-file"),
    ("out is a file", [*CV[:-1], "{tmp}/a-file"], 2, "argument --out: '{tmp}/a-file' is a file, not a directory"),
    ("out below a file", [*CV[:-1], "{tmp}/a-file/run"], 2, "argument --out: '{tmp}/a-file' is a file"),
    ("transductive option of another method", [*CV, "--method", "dcmf", "--sparse-learning", "transductive"], 2,
     "--sparse-learning transductive does not apply to --method dcmf"),
    ("no data source", ["cv", "--out", "{out}"], 2, "one of the arguments --dataset --pairs --sm2mir is required"),
    ("two data sources", [*CV, "--pairs", "{tmp}/pairs.csv"], 2, "argument --pairs: not allowed with argument --dataset"),
    ("missing data directory", ["fit", "--dataset", "fcd", "--data-dir", "{tmp}/absent", "--out", "{out}"], 1,
     "data_dir '{tmp}/absent' is not a directory"),
    ("missing pair file", ["fit", "--pairs", "{tmp}/absent.csv", "--out", "{out}"], 1, "{tmp}/absent.csv: pair file not found"),
    ("data dir with pairs", ["fit", "--pairs", "{tmp}/pairs.csv", "--data-dir", "{data}", "--out", "{out}"], 2,
     "argument --data-dir: only applies to --dataset"),
    ("species without sm2mir", ["fit", *FCD, "--species", "Mus musculus", "--out", "{out}"], 2,
     "argument --species: only applies to --sm2mir"),
    ("smiles table with a benchmark", ["fit", *FCD, "--smiles-table", "{tmp}/pairs.csv", "--out", "{out}"], 2,
     "argument --smiles-table: only applies to --pairs or --sm2mir"),
    ("biological similarity of own data", ["fit", "--pairs", "{tmp}/pairs.csv", "--similarity", "biological",
                                           "--out", "{out}"], 2,
     "argument --similarity: --similarity biological uses biological similarities, which only the benchmarks"),
    ("own data, no SMILES", ["fit", "--pairs", "{tmp}/pairs.csv", "--out", "{out}"], 1,
     "pairs.csv: no drug has a SMILES and no miRNA has a mature sequence, which the similarity "
     "'drug=0.5*chemical+0.5*sequence,mirna=sequence' is computed from: add a smiles column and a "
     "sequence column to pairs.csv or give --smiles-table FILE"),
    ("bad pair file", ["fit", "--pairs", "{tmp}/bad-pairs.csv", "--out", "{out}"], 1,
     "bad-pairs.csv: line 3: drug ID 'cid:1' differs only in letter case from 'CID:1' on line 2"),
    ("unknown option", ["fit", *FCD, "--out", "{out}", "--nope"], 2, "unrecognized arguments: --nope"),
    ("cv into a directory of other files", [*CV[:-1], "{tmp}"], 1,
     "{tmp} exists and holds files that are not part of a cv run (a-file, bad-pairs.csv"),
    ("unknown similarity part", [*CV[:-2], "--similarity", "drug=sequence,mirna=sequence,foo=bar", "--out", "{out}"],
     2, "(unknown part 'foo'; the parts are drug=, mirna=, map=, mirna_form=, encoder=)"),
    ("unknown map in the similarity", [*CV[:-2], "--similarity", "drug=sequence,mirna=sequence,map=foo", "--out",
                                       "{out}"], 2, "argument --similarity: similarity 'drug=sequence,mirna=sequence,map=foo': "
     "unknown similarity map 'foo'; choose one of gaussian, inverse, linear, optionally with a relative width "
     "(gaussian:W, inverse:W)"),
    ("width on the linear map", [*CV[:-2], "--similarity-map", "linear:2", "--out", "{out}"], 2,
     "argument --similarity-map: similarity map 'linear:2': only gaussian and inverse take a width"),
    ("infinite weight", [*CV[:-2], "--similarity", "drug=1e400*chemical,mirna=biological", "--out", "{out}"], 2,
     "weight of chemical must be a positive finite number, got 1e400"),
    ("select into a directory of other files", ["select", *FCD, "--method", "sesl,se", "--out", "{tmp}"], 1,
     "{tmp} exists and holds files that are not part of a select run (a-file, bad-pairs.csv"),
    ("map of no sequence codes", [*CV[:-2], "--similarity-map", "inverse:0.1", "--out", "{out}"], 2,
     "argument --similarity-map: map=inverse:0.1 only applies to sequence codes; the similarity "
     "'drug=biological,mirna=biological' uses none"),
    ("map of a method default without codes", [*CV[:5], "--method", "bnnr", "--similarity-map", "gaussian",
                                               "--quiet", "--out", "{out}"], 2,
     "argument --similarity-map: map=gaussian only applies to sequence codes"),
    ("encoder part without codes", [*CV[:5], "--similarity", "drug=chemical,mirna=alignment,encoder=transformer",
                                    "--quiet", "--out", "{out}"], 2,
     "argument --similarity: encoder=transformer only applies to sequence codes; the similarity "
     "'drug=chemical,mirna=alignment' uses none"),
    ("mirna form without miRNA sequences", [*CV[:-2], "--mirna-form", "hairpin", "--out", "{out}"], 2,
     "argument --mirna-form: mirna_form=hairpin only applies to miRNA sequences (sequence or alignment)"),
    ("a side given twice", [*CV[:5], "--similarity", "drug=sequence,mirna=sequence,drug=chemical", "--quiet",
                            "--out", "{out}"], 2, "drug= appears twice"),
    ("select candidates alike but for an unused map", ["select", *FCD, "--candidate", "biological,map=gaussian",
                                                       "--candidate", "biological,map=inverse", "--out", "{out}"], 2,
     "argument --candidate: 'biological,map=gaussian': map=gaussian only applies to sequence codes"),
    ("out empty", ["fit", *FCD, "--out", " "], 2, "argument --out: empty; give a directory name"),
    ("out is the current directory", ["fit", *FCD, "--out", "."], 2,
     "argument --out: '.' is the current directory or holds it; give a directory of its own"),
    ("output empty", [*RANK[:-2], "--drug", "CID:22", "--output", ""], 2, "argument --out/--output: empty; give a file name"),
    ("a comma too many", [*CV[:5], "--similarity", "sequence,", "--quiet", "--out", "{out}"], 2,
     "argument --similarity: similarity 'sequence,': an empty part (a comma too many)"),
    ("parts without a source", [*CV[:5], "--similarity", "map=inverse:0.1", "--quiet", "--out", "{out}"], 2,
     "similarity 'map=inverse:0.1': no source before its parts, e.g. 'sequence,map=inverse:0.1'"),
    ("distributed without a coordinator or cluster", [*CV, "--distributed"], 2,
     "argument --distributed: cannot join the run ("),
    ("coordinator without a port", [*CV, "--distributed", "--coordinator", "nohostport", "--num-processes", "2",
                                    "--process-id", "0"], 2,
     "argument --coordinator: expected HOST:PORT with a port from 1 to 65535, got 'nohostport'"),
    ("coordinator port out of range", [*CV, "--distributed", "--coordinator", "localhost:99999", "--num-processes",
                                       "2", "--process-id", "0"], 2, "got 'localhost:99999'"),
    ("select encoder that reaches nothing", ["select", *FCD, "--candidate", "biological", "--candidate",
                                             "drug=chemical,mirna=biological", "--encoder", "transformer", "--out", "{out}"], 2,
     "argument --encoder: no candidate or reference uses sequence codes, so --encoder transformer would change nothing"),
    ("shared start as large as the folds", [*CV, "--protocol", "kfold", "--k", "2", "--shared-start", "2"], 2,
     "argument --shared-start: 2 puts all 2 folds in one group, whose shared start would hide all their pairs; "
     "give N below 2 (or 0)"),
    ("select seed -5", ["select", *FCD, "--seed", "-5", "--out", "{out}"], 2,
     "argument --seed: must be an integer >= 0, got -5"),
    ("select outer k above the known pairs", ["select", *FCD, "--outer-k", "9", "--out", "{out}"], 2,
     "argument --outer-k: cannot split 5 known pairs into k=9 non-empty folds"),
    ("select inner k above an outer training matrix", ["select", *FCD, "--outer-k", "5", "--inner-k", "5", "--out",
                                                       "{out}"], 2,
     "argument --inner-k: cannot split an outer training matrix's 4 known pairs into k=5 non-empty folds"),
    ("k without kfold", [*CV, "--protocol", "loocv", "--k", "3"], 2, "argument --k: only used with --protocol kfold"),
    ("repeats without kfold", [*CV, "--protocol", "new-drug", "--repeats", "3"], 2,
     "argument --repeats: only used with --protocol kfold"),
    ("map given twice", [*CV[:-2], "--similarity", "sequence,map=linear", "--similarity-map", "gaussian", "--out",
                         "{out}"], 2, "argument --similarity-map: gaussian contradicts map=linear in --similarity"),
    ("binary screening file, before any fit", [*RANK, "--smiles-file", "{tmp}/binary.bin"], 1,
     "{tmp}/binary.bin: not UTF-8 text"),
    ("screening file is a directory", [*RANK, "--smiles-file", "{tmp}"], 1, "{tmp}: is a directory"),
    ("experiments not numbers", ["reproduce", "--experiments", "one", "--out", "{out}"], 2,
     "argument --experiments takes comma-separated numbers from [1, 2, 3, 4, 5, 6, 7], got 'one'"),
    ("empty experiment", ["reproduce", "--experiments", "1,,2", "--out", "{out}"], 2, "got '1,,2'"),
    ("select method twice", ["select", *FCD, "--method", "sesl,se,sesl", "--out", "{out}"], 2,
     "argument --method: 'sesl,se,sesl': a method given more than once"),
    ("select reference twice", ["select", *FCD, "--reference", "bnnr", "--reference", "bnnr:biological", "--out",
                                "{out}"], 2, "argument --reference: 'bnnr:biological' is the same configuration as an "
     "earlier --reference"),
    ("select reference twice, a part spelt out", ["select", *FCD, "--reference", "bnnr:sequence,map=gaussian",
                                                  "--reference", "bnnr:sequence", "--out", "{out}"], 2,
     "argument --reference: 'bnnr:sequence' is the same configuration"),
    ("experiment twice", ["reproduce", "--experiments", "2,1,2", "--out", "{out}"], 2,
     "argument --experiments: experiment 2 given more than once in '2,1,2'"),
    ("repeats with no k-fold run", ["reproduce", "--experiments", "5,7", "--repeats", "3", "--out", "{out}"], 2,
     "argument --repeats: experiments 5,7 run no repeated k-fold"),
    ("loocv folds with no LOOCV run", ["reproduce", "--experiments", "2,3", "--loocv-folds", "9", "--out", "{out}"], 2,
     "argument --loocv-folds: experiments 2,3 run no LOOCV"),
    ("loocv folds not a subsample", ["reproduce", *FCD, "--experiments", "5", "--loocv-folds", "9", "--quiet", "--out",
                                     "{out}"], 2, "argument --loocv-folds: 9 is not fewer than FCD's 5 LOOCV folds"),
]


def _fill(value: str, small_data_dir, tmp_path) -> str:
    return value.format(data=small_data_dir, out=tmp_path / "out", tmp=tmp_path)


@pytest.mark.parametrize(("case", "argv", "code", "message"), CASES, ids=[case[0] for case in CASES])
def test_user_mistake_is_one_line_and_writes_nothing(case, argv, code, message, small_data_dir, tmp_path, capsys,
                                                     monkeypatch):
    from sesl_jax.estimator import SESL

    def no_fit(*args, **kwargs):
        raise AssertionError("a mistake must be reported before any fit")

    monkeypatch.setattr(SESL, "fit", no_fit)
    (tmp_path / "a-file").write_text("keep me")
    (tmp_path / "folds.csv").write_text("a,b\n1,2\n")
    (tmp_path / "pairs.csv").write_text("drug_id,mirna_id\nCID:1,m1\n")
    (tmp_path / "bad-pairs.csv").write_text("drug_id,mirna_id\nCID:1,m1\ncid:1,m2\n")
    (tmp_path / "binary.bin").write_bytes(b"\x83\xff\x00id,smiles")
    assert main([_fill(word, small_data_dir, tmp_path) for word in argv]) == code
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if ": error: " in line]
    assert len(errors) == 1, captured.err
    assert errors[0].startswith(f"sesl-jax {argv[0]}: error: ")
    assert _fill(message, small_data_dir, tmp_path) in errors[0]
    assert "Traceback" not in captured.err and captured.out == ""
    assert not (tmp_path / "out").exists()
    assert (tmp_path / "a-file").read_text() == "keep me"


def test_new_molecule_under_biological_similarity_is_a_warning(small_data_dir, tmp_path, capsys):
    output = tmp_path / "ranked.csv"
    code = main(["rank", "--dataset", "fcd", "--data-dir", str(small_data_dir), "--similarity", "biological",
                 "--smiles", "CCO", "--output", str(output)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    warnings = [line for line in captured.err.splitlines() if ": warning: " in line]
    assert any("new molecule 'CCO' has no biological similarity row: its drug similarity uses sequence similarity only"
               in line for line in warnings), captured.err
    assert all(line.startswith("sesl-jax rank: warning: ") for line in warnings)
    assert "Traceback" not in captured.err and "UserWarning" not in captured.err
    assert len(output.read_text().splitlines()) == 4  # header + the 3 FCD miRNAs


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"sesl-jax {sesl_jax.__version__}"


def test_help_exits_zero(capsys):
    assert main(["cv", "--help"]) == 0
    assert "--pairs" in capsys.readouterr().out


def test_a_closed_pipe_ends_the_command_quietly():
    # ``sesl-jax rank ... | head``: the reader leaves; no traceback, no "error: Broken pipe"
    import subprocess
    import sys

    code = ("import argparse, sys\n"
            "from sesl_jax.cli._common import run_command\n"
            "def spam(args):\n"
            "    for _ in range(200000):\n"
            "        print('x' * 100)\n"
            "sys.exit(run_command(argparse.Namespace(command='rank', func=spam)))\n")
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.read(1000)
    process.stdout.close()
    code = process.wait(timeout=120)
    stderr = process.stderr.read().decode()
    assert code == 141, stderr
    assert stderr == ""


@pytest.mark.parametrize(("command", "said"), [("fit", "sesl-jax fit: interrupted\n"),
                                               ("cv", "sesl-jax cv: interrupted; finished work is kept: rerun the "
                                                      "same command to resume\n")])
def test_interrupt_says_what_is_kept_only_where_something_is(command, said, capsys):
    import argparse

    from sesl_jax.cli._common import run_command

    def interrupted(args):
        raise KeyboardInterrupt

    assert run_command(argparse.Namespace(command=command, func=interrupted)) == 130
    assert capsys.readouterr().err == said


def test_unknown_option_of_an_action_points_to_the_action_help(capsys):
    assert main(["data", "check", "--dataset", "fcd", "--bogus"]) == 2
    assert ("sesl-jax data check: error: unrecognized arguments: --bogus (see 'sesl-jax data check --help')"
            in capsys.readouterr().err)


def test_an_os_error_reads_as_a_sentence_naming_its_file():
    from sesl_jax.cli._common import _user_message

    assert _user_message(OSError(2, "cannot write /proc/t.csv: No such file or directory")) == \
        "cannot write /proc/t.csv: No such file or directory"
    assert _user_message(FileNotFoundError(2, "No such file or directory", "runs/x.csv")) == \
        "runs/x.csv: No such file or directory"
    assert _user_message(OSError(16, "Device or resource busy", ".", None, "..old")) == ". -> ..old: Device or resource busy"
    assert _user_message(OSError("no errno")) == "no errno"
