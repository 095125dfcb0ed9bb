"""The paper's experiments 1-7 as data: which evaluation runs each one needs.

An experiment is a list of :class:`Row` records; a row names one evaluation run (a
:class:`RunSpec`: method, similarity, protocol, folds, variant) or says why it was not run.
Identical runs shared by several experiments (e.g. SESL 5-fold in experiments 1, 2 and 4) have
the same :attr:`RunSpec.key`, so they are computed once and stored in one run directory.

:class:`ExperimentPlan` holds every size (repeats, LOOCV subsample, methods, datasets); the full
plan reproduces the paper's protocols, :func:`quick_plan` shrinks it to minutes on a CPU, and
tests shrink it further.
"""

from __future__ import annotations

import dataclasses
import shlex

from sesl_jax._io import file_slug

EXPERIMENTS = {
    1: "SESL vs. rival methods, all four protocols",
    2: "SESL vs. BNNRSMMA, all seven metrics, repeated 5-fold CV with paired t-tests",
    3: "LSTM encoder vs. a BERT-style transformer encoder",
    4: "Ablation: with vs. without sparse learning",
    5: "Sequence similarity vs. biological similarity (no sparse learning)",
    6: "Sparsity: keep 50% and 10% of the known pairs",
    7: "Case studies: top novel pairs; new-drug runs",
}
PUBLISHED_CODE_METHODS = ("rpca-gamma", "tspn")  # rivals whose builders take variant="published-code"
PUBLISHED_CODE = "published-code"
# Experiment 3's similarities, each with codes from either encoder: sequence on both sides (the
# paper's setting) and the default (its drug side holds a sequence term).
ENCODER_SIMILARITIES = ("drug=sequence,mirna=sequence,map=inverse", None)
ENCODERS = ("lstm", "transformer")


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One evaluation run (= one ``sesl-jax cv`` call, one run directory).

    Attributes:
        dataset: dataset name (key of the datasets given to the runner), e.g. ``"fcd"``.
        method: a name in ``sesl_jax.methods.METHODS``.
        similarity: similarity source, ``None`` = the method's default.
        protocol: ``"loocv"`` (global and local LOOCV from one run) or ``"kfold"``.
        k, repeats, seed: the k-fold split (``kfold_folds``).
        transductive: the published protocol (SESL: sparse learning fitted once on the full matrix;
            the rivals: GIP kernels computed once from the full matrix).
        keep_fraction: fraction of known pairs kept (experiment 6); the rest become unknown.
        keep_seed: seed of the kept subset.
        loocv_subsample: evaluate only this many LOOCV folds, drawn with ``subsample_seed``
            (``None`` = all known pairs).
        subsample_seed: seed of the LOOCV subsample.
        code_variant: ``"default"`` (this project's implementation) or ``"published-code"`` (the
            update rules of the authors' public code; TSPN and RPCAΓNR).
    """

    dataset: str
    method: str
    similarity: str | None = None
    protocol: str = "kfold"
    k: int = 5
    repeats: int = 1
    seed: int = 0
    transductive: bool = False
    keep_fraction: float = 1.0
    keep_seed: int = 0
    loocv_subsample: int | None = None
    subsample_seed: int = 0
    code_variant: str = "default"

    @property
    def key(self) -> str:
        """A file-name-safe identifier; equal specs have equal keys."""
        parts = [self.dataset, self.method, file_slug(self.similarity or "default")]
        if self.protocol == "kfold":
            parts.append(f"kfold{self.k}x{self.repeats}-seed{self.seed}")
        else:
            parts.append("loocv" if self.loocv_subsample is None else f"loocv{self.loocv_subsample}-seed{self.subsample_seed}")
        if self.keep_fraction < 1.0:
            parts.append(f"keep{round(self.keep_fraction * 100)}-seed{self.keep_seed}")
        parts.append("transductive" if self.transductive else "per-fold")
        if self.code_variant != "default":
            parts.append(self.code_variant)
        return "_".join(parts)

    def bnnr_svt(self, planned: str) -> str:
        """BNNR's SVT in this run: the plan's for the methods that run BNNR, else the exact ``eigh``."""
        from sesl_jax.pipeline import SESL_FAMILY

        return planned if self.method in SESL_FAMILY else "eigh"

    @property
    def variant(self) -> str:
        protocol = "transductive (published protocol)" if self.transductive else "per-fold (leakage-free)"
        return protocol + (", authors' published code" if self.code_variant == PUBLISHED_CODE else "")

    @property
    def protocol_label(self) -> str:
        if self.protocol == "kfold":
            return f"{self.repeats} x {self.k}-fold CV"
        if self.loocv_subsample is not None:
            return f"LOOCV ({self.loocv_subsample}-fold subsample)"
        return "LOOCV"

    def describe(self) -> str:
        """One line for progress output."""
        similarity = self.similarity or "default similarity"
        text = f"{self.method} {self.protocol_label} {self.dataset.upper()} [{similarity}, {self.variant}]"
        if self.keep_fraction < 1.0:
            text += f" keeping {self.keep_fraction:.0%} of known pairs"
        return text

    def cv_command(self, data_dir: str | None, dtype: str, run_dir: str, batch_size: int | None = None,
                   bnnr_svt: str = "eigh") -> str:
        """The equivalent ``sesl-jax cv`` command (the runner calls the same library function).

        A LOOCV subsample is the fold file the run wrote; a reduced matrix (experiment 6) has no
        ``cv`` option, so the command carries a comment saying so.
        """
        words = ["sesl-jax", "cv", "--dataset", self.dataset]
        if data_dir:
            words += ["--data-dir", data_dir]
        words += ["--method", self.method]
        if self.similarity:
            words += ["--similarity", self.similarity]
        if self.protocol == "kfold":
            words += ["--protocol", "kfold", "--k", str(self.k), "--repeats", str(self.repeats), "--seed", str(self.seed)]
        elif self.loocv_subsample is None:
            words += ["--protocol", "loocv"]
        else:
            words += ["--protocol", "file", "--fold-file", f"{run_dir}/folds.csv"]
        if self.code_variant != "default":
            words += ["--variant", self.code_variant]
        if self.transductive:
            words += [transductive_option(self.method), "transductive"]
        if batch_size is not None:
            words += ["--batch-size", str(batch_size)]
        if (svt := self.bnnr_svt(bnnr_svt)) != "eigh":
            words += ["--bnnr-svt", svt]
        words += ["--dtype", dtype, "--out", run_dir]
        command = shlex.join(words)
        if self.keep_fraction < 1.0:
            command += (f"  # on the reduced matrix ({self.keep_fraction:.0%} of known pairs, seed {self.keep_seed}; "
                        f"kept pairs in {run_dir}/kept_pairs.csv): reproduce only")
        return command


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of an experiment's table: a run, or the reason it was not run."""

    label: str
    dataset: str
    runs: tuple[RunSpec, ...] = ()
    not_run: str | None = None


@dataclasses.dataclass(frozen=True)
class ExperimentPlan:
    """Sizes and choices of a reproduction.

    Attributes:
        datasets: dataset names to evaluate on (experiments 5 and 7 use the first FCD-like one:
            ``fcd`` if present, else the first).
        methods: methods of experiment 1.
        experiments: which experiments to run.
        k, repeats, seed: the repeated k-fold split (the paper: 10 x 5-fold).
        loocv_subsample: ``None`` = full LOOCV; else the number of LOOCV folds drawn (seeded).
        sesl_biological: also run SESL on biological similarity in experiments 1 and 2 (SESL's
            default is sequence similarity).
        drug_similarity_substitutes: ``(dataset, source)`` pairs: on ``dataset``, whose biological
            drug similarity is not published (PCD's 831 x 831 one), runs that would use it take the
            drug similarity ``source`` instead (RDKit Morgan/Tanimoto ``chemical``) and are labelled
            with it; empty = report them as not available.
        sparsity_fractions: experiment 6's kept fractions.
        case_top: how many pairs each case study lists.
        case_drugs: drug IDs of the new-drug case studies.
        published_code: experiment 1 also runs the ``"published-code"`` variant of the rivals that
            have one (``PUBLISHED_CODE_METHODS``), labelled, beside this project's implementation.
        dtype: precision of every solve.
        bnnr_svt: BNNR's SVT in the runs that use it (SESL, SE, BNNRSMMA): ``"eigh"`` (exact) or
            ``"subspace"`` (warm-started, exact fallback; ``sesl-jax cv --bnnr-svt``).
        batch_size: folds per chunk (``None``: from device memory, as ``sesl-jax cv``); small
            problems want a small one, since a chunk is padded to full size.
        quick: whether this is the quick plan (stated in the report).
    """

    datasets: tuple[str, ...] = ("fcd", "pcd")
    methods: tuple[str, ...] = ("sesl", "bnnr", "rpca-gamma", "tspn", "snmf", "ekrr", "dcmf")
    experiments: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)
    k: int = 5
    repeats: int = 10
    seed: int = 0
    loocv_subsample: int | None = None
    subsample_seed: int = 0
    sesl_biological: bool = True
    drug_similarity_substitutes: tuple[tuple[str, str], ...] = (("pcd", "chemical"),)
    sparsity_fractions: tuple[float, ...] = (0.5, 0.1)
    keep_seed: int = 0
    case_top: int = 20
    case_drugs: tuple[str, ...] = ("CID:3229", "CID:5757")
    case_drug_names: tuple[str, ...] = ("enoxacin", "estradiol")
    published_code: bool = True
    dtype: str = "float64"
    bnnr_svt: str = "eigh"
    batch_size: int | None = None
    quick: bool = False

    @property
    def primary_dataset(self) -> str:
        return "fcd" if "fcd" in self.datasets else self.datasets[0]

    def similarity(self, dataset: str, method: str, similarity: str | None) -> str:
        """The similarity a run uses on ``dataset``: the method's (or the given) one, with a biological drug
        similarity replaced where ``drug_similarity_substitutes`` says the dataset has none."""
        from sesl_jax.similarity import replace_source

        resolved = resolved_similarity(method, similarity)
        substitute = dict(self.drug_similarity_substitutes).get(dataset)
        return resolved if substitute is None else replace_source(resolved, "drug", "biological", substitute)

    def loocv(self, dataset: str, method: str, similarity: str | None = None, transductive: bool = False,
              code_variant: str = "default") -> RunSpec:
        return RunSpec(dataset, method, self.similarity(dataset, method, similarity), "loocv", transductive=transductive,
                       loocv_subsample=self.loocv_subsample, subsample_seed=self.subsample_seed, code_variant=code_variant)

    def kfold(self, dataset: str, method: str, similarity: str | None = None, transductive: bool = False,
              keep_fraction: float = 1.0, code_variant: str = "default") -> RunSpec:
        return RunSpec(dataset, method, self.similarity(dataset, method, similarity), "kfold", k=self.k, repeats=self.repeats, seed=self.seed,
                       transductive=transductive, keep_fraction=keep_fraction, keep_seed=self.keep_seed, code_variant=code_variant)


def resolved_similarity(method: str, similarity: str | None) -> str:
    """The similarity source a run uses (the method's default when ``None``), so that e.g. ``se`` and
    ``se`` with ``sequence`` similarity are one run."""
    from sesl_jax.methods import METHODS

    if similarity is not None:
        return similarity
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {sorted(METHODS)}")
    return METHODS[method].default_similarity


def with_encoder(similarity: str, encoder: str) -> str:
    """``similarity`` whose sequence codes come from ``encoder``; the LSTM's string is unchanged, so
    its runs are the ones other experiments share."""
    return similarity if encoder == "lstm" else f"{similarity},encoder={encoder}"


def default_plan(**changes) -> ExperimentPlan:
    """The paper's sizes: full LOOCV, 10 x 5-fold, both datasets."""
    return dataclasses.replace(ExperimentPlan(), **changes)


QUICK_LOOCV_FOLDS = 20


def quick_plan(**changes) -> ExperimentPlan:
    """Minutes on a 2-core CPU: FCD only, 2 x 5-fold, LOOCV on a seeded 20-fold subsample, float32."""
    plan = ExperimentPlan(datasets=("fcd",), repeats=2, loocv_subsample=QUICK_LOOCV_FOLDS, dtype="float32", quick=True)
    return dataclasses.replace(plan, **changes)


def transductive_option(method: str) -> str | None:
    """The ``cv`` option of the method's transductive (published-protocol) variant, if it has one."""
    from sesl_jax.methods import METHODS

    return METHODS[method].transductive_option


def _variants(plan: ExperimentPlan, method: str) -> tuple[bool, ...]:
    return (False, True) if transductive_option(method) else (False,)


def _code_variants(plan: ExperimentPlan, method: str) -> tuple[str, ...]:
    return ("default", PUBLISHED_CODE) if plan.published_code and method in PUBLISHED_CODE_METHODS else ("default",)


def _method_label(method: str, similarity: str | None, transductive: bool, code_variant: str = "default") -> str:
    label = method + (f" ({similarity} similarity)" if similarity else "")
    label += " - authors' published code" if code_variant == PUBLISHED_CODE else ""
    return label + (" - transductive (published protocol)" if transductive else "")


def four_protocol_row(plan: ExperimentPlan, dataset: str, method: str, similarity: str | None = None,
                      transductive: bool = False, code_variant: str = "default") -> Row:
    """One LOOCV run (global, drug-fixed, miRNA-fixed) and one repeated k-fold run."""
    runs = (plan.loocv(dataset, method, similarity, transductive, code_variant),
            plan.kfold(dataset, method, similarity, transductive, code_variant=code_variant))
    return Row(_method_label(method, similarity, transductive, code_variant), dataset, runs)


def experiment_rows(plan: ExperimentPlan) -> dict[int, list[Row]]:
    """Every experiment of ``plan.experiments`` (except 7, the case studies) as table rows."""
    rows: dict[int, list[Row]] = {}
    primary = plan.primary_dataset
    for number in plan.experiments:
        table: list[Row] = []
        if number == 1:
            for dataset in plan.datasets:
                for method in plan.methods:
                    for code_variant in _code_variants(plan, method):
                        for transductive in _variants(plan, method):
                            table.append(four_protocol_row(plan, dataset, method, None, transductive, code_variant))
                if "sesl" in plan.methods and plan.sesl_biological:  # SESL's default is sequence similarity; also show it on biological
                    for transductive in _variants(plan, "sesl"):
                        table.append(four_protocol_row(plan, dataset, "sesl", "biological", transductive))
        elif number == 2:
            for dataset in plan.datasets:
                for method, similarity in (("sesl", None), ("sesl", "biological"), ("bnnr", None)):
                    if similarity == "biological" and not plan.sesl_biological:
                        continue
                    for transductive in _variants(plan, method):
                        spec = plan.kfold(dataset, method, similarity, transductive)
                        table.append(Row(_method_label(method, similarity, transductive), dataset, (spec,)))
        elif number == 3:
            for similarity in ENCODER_SIMILARITIES:
                for encoder in ENCODERS:
                    spec = plan.kfold(primary, "sesl", with_encoder(resolved_similarity("sesl", similarity), encoder))
                    table.append(Row(f"sesl ({similarity or 'default'} similarity) - {encoder} encoder", primary, (spec,)))
            if plan.sesl_biological:
                table.append(Row(_method_label("sesl", "biological", False), primary, (plan.kfold(primary, "sesl", "biological"),)))
        elif number == 4:
            for dataset in plan.datasets:
                for method in ("sesl", "se"):
                    for transductive in _variants(plan, method):
                        table.append(four_protocol_row(plan, dataset, method, None, transductive))
        elif number == 5:
            for similarity in ("sequence", "biological"):
                table.append(Row(_method_label("se", similarity, False), primary, (plan.loocv(primary, "se", similarity),)))
        elif number == 6:
            for dataset in plan.datasets:
                for fraction in (1.0, *plan.sparsity_fractions):
                    for transductive in _variants(plan, "sesl"):
                        spec = plan.kfold(dataset, "sesl", None, transductive, keep_fraction=fraction)
                        label = f"sesl, {fraction:.0%} of known pairs" + (" - transductive" if transductive else "")
                        table.append(Row(label, dataset, (spec,)))
        elif number == 7:
            continue
        else:
            raise ValueError(f"unknown experiment {number}; the paper has experiments {sorted(EXPERIMENTS)}")
        rows[number] = table
    return rows


def unique_runs(rows: dict[int, list[Row]]) -> list[RunSpec]:
    """Every distinct run of the plan, in first-use order."""
    seen: dict[str, RunSpec] = {}
    for table in rows.values():
        for row in table:
            for spec in row.runs:
                seen.setdefault(spec.key, spec)
    return list(seen.values())


def execution_order(specs: list[RunSpec]) -> list[RunSpec]:
    """k-fold runs (tens of folds) before LOOCV runs (one fold per known pair), otherwise in plan
    order: an interrupted reproduction then has every method's k-fold columns first."""
    return sorted(specs, key=lambda spec: spec.protocol != "kfold")


def parse_experiments(text: str) -> tuple[int, ...]:
    """``"1,2,4"`` -> ``(1, 2, 4)``; rejects numbers outside 1-7."""
    parts = [part.strip() for part in text.split(",")]
    if not all(part.isdigit() for part in parts):
        raise ValueError(f"--experiments takes comma-separated numbers from {sorted(EXPERIMENTS)}, got {text!r}")
    given = [int(part) for part in parts]
    numbers = tuple(sorted(set(given)))
    twice = [n for n in numbers if given.count(n) > 1]
    if twice:
        raise ValueError(f"--experiments: experiment {', '.join(map(str, twice))} given more than once in {text!r}")
    unknown = [n for n in numbers if n not in EXPERIMENTS]
    if unknown or not numbers:
        raise ValueError(f"--experiments takes numbers from {sorted(EXPERIMENTS)}, got {text!r}")
    return numbers


__all__ = [
    "EXPERIMENTS", "PUBLISHED_CODE_METHODS", "ExperimentPlan", "Row", "RunSpec", "default_plan", "execution_order", "experiment_rows", "parse_experiments",
    "quick_plan", "resolved_similarity", "unique_runs",
]
