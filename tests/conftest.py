"""Shared test fixtures. Tests run in float64 unless a test says otherwise."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile
from pathlib import Path

# One BLAS thread: OpenBLAS threads spinning beside XLA's oversubscribe small machines.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# The suite compiles hundreds of small programs and runs each briefly, so LLVM's optimisation passes
# cost more than they save (tests/test_methods_rivals.py: 78 -> 49 s; the encoder training tests no
# slower). XLA's semantics do not depend on the level (no fast-math). Child processes inherit it.
# (A test whose runs are long rather than many starts a process with XLA's default: ``default_xla_env``.)
FAST_COMPILE_FLAG = "--xla_backend_optimization_level=0"
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {FAST_COMPILE_FLAG}".strip()


# ``sesl-jax`` in a child process: CLI + [arguments].
CLI = [sys.executable, "-c", "import sys; from sesl_jax.cli import main; sys.exit(main())"]

# A child that runs the command line, then prints which of these modules it imported.
CLI_IMPORT_PROBE = """
import sys
from sesl_jax.cli import main
code = main(sys.argv[1:])
print("exit", code, "imported", *sorted(name for name in ("jax", "flax", "optax", "pandas") if name in sys.modules))
"""


def cli_imports(*argv: str) -> tuple[list[str], str, list[str]]:
    """Run ``sesl-jax ARGV`` in a fresh interpreter: (stdout lines, stderr, the last line's words
    ``exit CODE imported MODULE...``)."""
    probe = subprocess.run([sys.executable, "-c", CLI_IMPORT_PROBE, *argv], capture_output=True, text=True, timeout=120)
    *lines, report = probe.stdout.strip().splitlines() or [""]
    return lines, probe.stderr, report.split()


def default_xla_env() -> dict[str, str]:
    """This process's environment without the suite's compile-fast flag, for a child process whose
    programs run long (the real-data quick reproduction: 232 s in-process at level 0, 183 s in a
    child at XLA's default)."""
    env = dict(os.environ)
    env["XLA_FLAGS"] = " ".join(flag for flag in env.get("XLA_FLAGS", "").split() if flag != FAST_COMPILE_FLAG)
    return env

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from sesl_jax._io import sha256_file  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    """One compilation cache for the run, in a temporary directory (never the user's): tests that
    build the same solvers again (every CLI call builds its own) load them instead of recompiling.
    Child processes (the distributed tests, CLI subprocesses) share it through the variable."""
    from sesl_jax.compile_cache import CACHE_ENV, enable_compile_cache

    directory = tempfile.mkdtemp(prefix="sesl-jax-test-xla-")
    config._sesl_jax_compile_cache = directory
    os.environ[CACHE_ENV] = directory
    enable_compile_cache(directory)


def pytest_unconfigure(config: pytest.Config) -> None:
    directory = getattr(config, "_sesl_jax_compile_cache", None)
    if directory:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(autouse=True)
def _float64_after_every_test():
    """The CLI sets ``jax_enable_x64`` from ``--dtype`` for the whole process; a float32 command in
    one test must not turn the float64 references of the next ones into float32."""
    yield
    jax.config.update("jax_enable_x64", True)


@pytest.fixture
def real_data_dir() -> Path:
    """The shared benchmark data directory from ``$SESL_JAX_DATA``; skips the test when unset."""
    value = os.environ.get("SESL_JAX_DATA")
    if not value:
        pytest.skip("SESL_JAX_DATA is not set")
    path = Path(value)
    if not path.is_dir():
        pytest.skip(f"SESL_JAX_DATA={value} is not a directory")
    return path


# --- a small, valid benchmark directory laid out like the shared one -------------------------
# PCD: 6 drugs x 5 miRNAs. FCD: its non-empty block, drugs in PCD order, miRNAs permuted
# (like the real FCD), pair lists row-aligned between the two (like the real files).

SMALL_PCD_DRUGS = [f"CID:{n}" for n in (11, 22, 33, 44, 55, 66)]
SMALL_PCD_MIRNAS = [f"hsa-mir-{n}" for n in (1, 2, 3, 4, 5)]
SMALL_FCD_DRUG_ROWS = [1, 2, 4]  # PCD rows of the FCD drugs
SMALL_FCD_MIRNA_COLUMNS = [3, 0, 2]  # PCD columns of the FCD miRNAs, in FCD order
SMALL_FCD_PAIRS = [(0, 0), (0, 2), (1, 1), (2, 0), (2, 1)]


def _similarity(size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    upper = np.triu(np.round(rng.uniform(0.0, 0.6, (size, size)), 4), 1)
    return upper + upper.T + np.diag(np.round(rng.uniform(0.7, 0.9, size), 4))  # diagonal not 1, as in the real data


def write_matrix(path: Path, matrix: np.ndarray, fmt: str = "%.4f") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, matrix, fmt=fmt, delimiter=" ")


def write_xlsx(path: Path, rows: list[list[object]]) -> None:
    """A minimal .xlsx (shared strings, numeric cells), like the AMCSMMA ID lists."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    strings: list[str] = []
    xml_rows = []
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(row):
            ref = f"{chr(ord('A') + c)}{r}"
            if isinstance(value, str):
                strings.append(value)
                cells.append(f'<c r="{ref}" t="s"><v>{len(strings) - 1}</v></c>')
            else:
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
        xml_rows.append(f'<row r="{r}">{"".join(cells)}</row>')
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="x" Target="worksheets/sheet1.xml"/></Relationships>',
        )
        archive.writestr("xl/worksheets/sheet1.xml", f'<worksheet xmlns="{main}"><sheetData>{"".join(xml_rows)}</sheetData></worksheet>')
        shared = "".join(f"<si><t>{s}</t></si>" for s in strings)
        archive.writestr("xl/sharedStrings.xml", f'<sst xmlns="{main}">{shared}</sst>')


def write_small_benchmark(root: Path, *, id_lists: str = "csv", sequences: bool = True) -> Path:
    """Write a valid small PCD + FCD under ``root`` (``id_lists``: "csv" or "xlsx"; FCD's only as csv)."""
    pcd_dir, fcd_dir = root / "amcsmma" / "dataset1", root / "amcsmma" / "dataset2"
    pcd_dir.mkdir(parents=True)
    fcd_dir.mkdir(parents=True)
    pcd_pairs = [(SMALL_FCD_DRUG_ROWS[i], SMALL_FCD_MIRNA_COLUMNS[j]) for i, j in SMALL_FCD_PAIRS]
    pcd_a = np.zeros((len(SMALL_PCD_DRUGS), len(SMALL_PCD_MIRNAS)))
    for i, j in pcd_pairs:
        pcd_a[i, j] = 1
    fcd_a = pcd_a[np.ix_(SMALL_FCD_DRUG_ROWS, SMALL_FCD_MIRNA_COLUMNS)]
    pcd_m = _similarity(len(SMALL_PCD_MIRNAS), seed=1)
    write_matrix(pcd_dir / "SM-miRNA association matrix.txt", pcd_a, fmt="%d")
    write_matrix(pcd_dir / "SM-miRNA-confirmed associations.txt", np.array(pcd_pairs), fmt="%d")
    write_matrix(pcd_dir / "miRNA similarity matrix.txt", pcd_m)
    write_matrix(fcd_dir / "SM-miRNA association matrix 2.txt", fcd_a, fmt="%d")
    write_matrix(fcd_dir / "SM-miRNA-confirmed associations 2.txt", np.array(SMALL_FCD_PAIRS), fmt="%d")
    write_matrix(fcd_dir / "SM similarity matrix 2.txt", _similarity(len(SMALL_FCD_DRUG_ROWS), seed=2))
    write_matrix(fcd_dir / "miRNA similarity matrix 2.txt", pcd_m[np.ix_(SMALL_FCD_MIRNA_COLUMNS, SMALL_FCD_MIRNA_COLUMNS)])
    pcd_drug_rows = [[drug, i, "", "", ""] for i, drug in enumerate(SMALL_PCD_DRUGS)]  # PCD style: ID, index
    pcd_mirna_rows = [[mirna, j] for j, mirna in enumerate(SMALL_PCD_MIRNAS)]
    if id_lists == "xlsx":
        write_xlsx(pcd_dir / "SM number.xlsx", [row[:2] for row in pcd_drug_rows])
        write_xlsx(pcd_dir / "miRNA number.xlsx", pcd_mirna_rows)
    else:
        write_csv(pcd_dir / "SM number.csv", pcd_drug_rows)
        write_csv(pcd_dir / "miRNA number.csv", pcd_mirna_rows)
        # FCD style: index, ID
        write_csv(fcd_dir / "SM number 2.csv", [[i, SMALL_PCD_DRUGS[r]] for i, r in enumerate(SMALL_FCD_DRUG_ROWS)])
        write_csv(fcd_dir / "miRNA number 2.csv", [[j, SMALL_PCD_MIRNAS[c]] for j, c in enumerate(SMALL_FCD_MIRNA_COLUMNS)])
    if sequences:
        write_small_sequences(root)
    return root


def write_csv(path: Path, rows: list[list[object]]) -> None:
    path.write_text("".join(",".join(str(cell) for cell in row) + "\n" for row in rows))


def write_small_sequences(root: Path) -> None:
    sequences = root / "sequences"
    sequences.mkdir(parents=True, exist_ok=True)
    header = "index\tcid\tsmiles\trdkit_canonical_smiles\trdkit_canonical_nostereo\n"
    rows = [f"{i}\t{drug}\tC[C@H](O){'C' * i}\tC[C@H](O){'C' * i}\tCC(O){'C' * i}\n" for i, drug in enumerate(SMALL_PCD_DRUGS[:-1])]
    rows.append(f"5\t{SMALL_PCD_DRUGS[-1]}\t\t\t\n")  # like the 23 uncovered CIDs
    (sequences / "drug831_smiles.tsv").write_text(header + "".join(rows))
    header = "index\tname\thairpin_seq\tmature_5p_seq\tmature_3p_seq\n"
    rows = [f"{j}\t{mirna}\tUGGGAUGAGGUAGUAGG{'A' * j}\tUGAGGUAG{'C' * j}\tCUAUACAA\n" for j, mirna in enumerate(SMALL_PCD_MIRNAS)]
    rows[1] = f"1\t{SMALL_PCD_MIRNAS[1]}\tuggtt\t\tCUAUACAA;GGGG\n"  # no 5p arm; DNA letters, lower case
    (sequences / "mirna541_sequences.tsv").write_text(header + "".join(rows))


@pytest.fixture
def small_data_dir(tmp_path: Path) -> Path:
    """A valid small benchmark directory (CSV ID lists, sequences); corrupt one file per test."""
    return write_small_benchmark(tmp_path / "data")


REMOTE_FOLDERS = {"amcsmma/dataset1": "dataset 1", "amcsmma/dataset2": "dataset 2"}


def serve_benchmark(source: Path, server_root: Path) -> dict:
    """Copy ``source``'s benchmark files to the server as the AMCSMMA repo lays them out; return a manifest."""
    files = []
    for local, remote in REMOTE_FOLDERS.items():
        for path in sorted((source / local).iterdir()):
            target = server_root / remote / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            files.append({"path": f"{local}/{path.name}", "remote": f"{remote}/{path.name}",
                          "sha256": sha256_file(path), "size": path.stat().st_size})
    return {"base_url": "http://127.0.0.1:9/unused", "files": files}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def http_server_root(tmp_path: Path):
    """``(root, base_url)``: files written under ``root`` are served at ``base_url`` (127.0.0.1)."""
    root = tmp_path / "server"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)  # port 0: a free port
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def fresh_user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A first run after install: no ``$SESL_JAX_DATA`` / ``$SESL_JAX_DATA_URL``, an empty user cache
    (under ``tmp_path``, never the real one). Returns the data folder the downloader will fill."""
    monkeypatch.delenv("SESL_JAX_DATA", raising=False)
    monkeypatch.delenv("SESL_JAX_DATA_URL", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "sesl_jax" / "data"
