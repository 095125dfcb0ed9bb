"""Regenerate the shipped SMILES and miRNA sequence tables from the shared data directory.

Usage::

    python data/make_tables.py [SHARED_DATA_DIR] [--out DIR]

``SHARED_DATA_DIR`` defaults to ``$SESL_JAX_DATA``, else ``../shared/data`` beside the repository;
``--out`` defaults to this folder. Writes ``drug_smiles.tsv``, ``mirna_sequences.tsv`` and
``checksums.sha256``. The output depends only on the input files (row order = PCD order, fixed
columns, ``\\n`` line ends), so a rerun on the same inputs gives the same bytes.

Every value is copied, never recomputed, and cross-checked before it is written:

* drug IDs and order against PCD's ``SM number.csv``; FCD membership from ``SM number 2.csv``;
* each SMILES against RDKit (it must parse, and re-canonicalise to itself with the installed RDKit;
  a different RDKit release may print a few canonical strings differently, which is reported,
  not written);
* each hairpin and mature sequence against the miRBase v21 FASTA files, by accession.

See PROVENANCE.md beside this file for what each column is and where it comes from.
"""

from __future__ import annotations

import argparse
import collections
import csv
import hashlib
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

DRUG_TABLE = "drug_smiles.tsv"
MIRNA_TABLE = "mirna_sequences.tsv"
CHECKSUMS = "checksums.sha256"

# The structure tables of the shared folder (names as in sequences/drug831_smiles*.tsv), their short
# names in the shipped table, and whether their licence is non-commercial (see PROVENANCE.md).
SOURCES = {
    "schemnet_sm2mir_chemical_information": ("sm2mir", True),  # sChemNET copy of SM2miR/PubChem, CC BY-NC-SA 4.0
    "sider41_neurotox": ("sider", True),  # SIDER 4.1 (PubChem SMILES), CC BY-NC-SA 4.0
    "drugcombdb_disnet": ("drugcombdb", False),  # DrugCombDB (PubChem SMILES), no licence stated
    "drugbank_structure_links_coke": ("drugbank", True),  # DrugBank 5.1 structure links, CC BY-NC 4.0
    "drugbank_structure_links_cs224w": ("drugbank_old", True),  # older DrugBank export, CC BY-NC 4.0
    "repurposing_hub_samples_20200324": ("repurposing_hub", False),  # Broad Drug Repurposing Hub, CC BY 4.0
    "lincs_signaturesearch": ("lincs", False),  # LINCS via signatureSearch, Artistic-2.0
    "sider_mef_drug_txt": ("mef", True),  # MEF copy of SIDER, no licence file; SIDER is CC BY-NC-SA 4.0
}

DRUG_COLUMNS = (
    "drug_id", "pubchem_cid", "name", "datasets", "pcd_index", "fcd_index", "smiles", "smiles_isomeric",
    "inchikey", "source", "agreeing_sources", "non_commercial_only",
)
MIRNA_COLUMNS = (
    "mirna_id", "datasets", "pcd_index", "fcd_index", "mirbase_version", "mirbase_name", "hairpin_acc", "match",
    "hairpin_seq", "mature_5p_name", "mature_5p_acc", "mature_5p_seq", "mature_3p_name", "mature_3p_acc",
    "mature_3p_seq", "note",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_shared = os.environ.get("SESL_JAX_DATA") or str(HERE.parent.parent / "shared" / "data")
    parser.add_argument("shared", nargs="?", default=default_shared, help=f"shared data directory (default {default_shared})")
    parser.add_argument("--out", default=str(HERE), help=f"output directory (default {HERE})")
    args = parser.parse_args(argv)
    shared, out = Path(args.shared), Path(args.out)

    pcd_drugs = read_id_column(shared / "amcsmma/dataset1/SM number.csv", id_first=True)
    pcd_mirnas = read_id_column(shared / "amcsmma/dataset1/miRNA number.csv", id_first=True)
    fcd_drugs = read_id_column(shared / "amcsmma/dataset2/SM number 2.csv", id_first=False)
    fcd_mirnas = read_id_column(shared / "amcsmma/dataset2/miRNA number 2.csv", id_first=False)
    check_derived_index(shared / "derived/ds2_to_ds1_drug_index.csv", "CID", fcd_drugs, pcd_drugs)
    check_derived_index(shared / "derived/ds2_to_ds1_mirna_index.csv", "miRNA", fcd_mirnas, pcd_mirnas)

    drug_rows = drug_table(shared, pcd_drugs, fcd_drugs)
    mirna_rows = mirna_table(shared, pcd_mirnas, fcd_mirnas)
    out.mkdir(parents=True, exist_ok=True)
    write_tsv(out / DRUG_TABLE, DRUG_COLUMNS, drug_rows)
    write_tsv(out / MIRNA_TABLE, MIRNA_COLUMNS, mirna_rows)
    sums = "".join(f"{hashlib.sha256((out / name).read_bytes()).hexdigest()}  {name}\n" for name in (DRUG_TABLE, MIRNA_TABLE))
    (out / CHECKSUMS).write_bytes(sums.encode("ascii"))

    with_smiles = [row for row in drug_rows if row["smiles"]]
    nc_only = sum(row["non_commercial_only"] == "yes" for row in with_smiles)
    print(f"{out / DRUG_TABLE}: {len(drug_rows)} drugs ({len(fcd_drugs)} in FCD), {len(with_smiles)} with SMILES, "
          f"{nc_only} of them attested only by non-commercially licensed tables")
    print(f"{out / MIRNA_TABLE}: {len(mirna_rows)} miRNAs ({len(fcd_mirnas)} in FCD), "
          f"{sum(row['match'] == 'alias' for row in mirna_rows)} through a documented miRBase rename")
    print(f"{out / CHECKSUMS}:\n{sums}", end="")
    return 0


def drug_table(shared: Path, pcd_drugs: list[str], fcd_drugs: list[str]) -> list[dict[str, str]]:
    chosen = read_tsv(shared / "sequences/drug831_smiles.tsv")
    if [row["cid"] for row in chosen] != pcd_drugs or [row["index"] for row in chosen] != [str(i) for i in range(len(pcd_drugs))]:
        fail("sequences/drug831_smiles.tsv: rows are not the PCD drugs in PCD order")
    candidates = collections.defaultdict(list)
    for row in read_tsv(shared / "sequences/drug831_smiles_all_sources.tsv"):
        candidates[f"CID:{row['cid']}"].append(row)
    fcd_index = {drug: str(i) for i, drug in enumerate(fcd_drugs)}
    rows = []
    for index, row in enumerate(chosen):
        drug_id, smiles = row["cid"], row["rdkit_canonical_nostereo"]
        agreeing, names = [], [row["name"]]
        if smiles:
            skeleton = row["inchikey"].split("-")[0]
            for candidate in candidates[drug_id]:  # the file lists candidates in source-priority order
                name = SOURCES[candidate["source"]][0]
                if candidate["inchikey"].split("-")[0] == skeleton:
                    agreeing += [] if name in agreeing else [name]
                    names.append(candidate["name"])
            if SOURCES[row["source"]][0] not in agreeing or len(agreeing) != int(row["n_sources_same_skeleton"]):
                fail(f"sequences/drug831_smiles.tsv: {drug_id}: agreeing sources {agreeing} do not match the table")
        non_commercial = [SOURCES[key][1] for key in SOURCES if SOURCES[key][0] in agreeing]
        rows.append({
            "drug_id": drug_id,
            "pubchem_cid": drug_id.removeprefix("CID:"),
            "name": next((name for name in names if name), ""),  # the chosen source's, else the next agreeing one's
            "datasets": "pcd;fcd" if drug_id in fcd_index else "pcd",
            "pcd_index": str(index),
            "fcd_index": fcd_index.get(drug_id, ""),
            "smiles": smiles,
            "smiles_isomeric": row["rdkit_canonical_smiles"],
            "inchikey": row["inchikey"],
            "source": SOURCES[row["source"]][0] if smiles else "",
            "agreeing_sources": ";".join(agreeing),
            "non_commercial_only": ("yes" if all(non_commercial) else "no") if smiles else "",
        })
    if any(drug not in {row["drug_id"] for row in rows if row["smiles"]} for drug in fcd_drugs):
        fail("an FCD drug has no SMILES")
    check_with_rdkit(rows)
    return rows


def check_with_rdkit(rows: list[dict[str, str]]) -> None:
    """Every SMILES parses; report (do not rewrite) strings the installed RDKit prints differently."""
    try:
        from rdkit import Chem, RDLogger, rdBase
    except ImportError:
        print("RDKit not installed: SMILES copied without the RDKit check", file=sys.stderr)
        return
    RDLogger.DisableLog("rdApp.*")
    changed = []
    for row in rows:
        if not row["smiles"]:
            continue
        for column, isomeric in (("smiles", False), ("smiles_isomeric", True)):
            molecule = Chem.MolFromSmiles(row[column])
            if molecule is None:
                fail(f"{row['drug_id']}: RDKit cannot parse {column} {row[column]!r}")
            if Chem.MolToSmiles(molecule, isomericSmiles=isomeric) != row[column]:
                changed.append(f"{row['drug_id']} {column}")
        if Chem.MolToInchiKey(Chem.MolFromSmiles(row["smiles_isomeric"])) != row["inchikey"]:
            changed.append(f"{row['drug_id']} inchikey")
    if changed:
        print(f"RDKit {rdBase.rdkitVersion} prints {len(changed)} values differently (kept as copied): "
              + ", ".join(changed[:10]), file=sys.stderr)


def mirna_table(shared: Path, pcd_mirnas: list[str], fcd_mirnas: list[str]) -> list[dict[str, str]]:
    table = read_tsv(shared / "sequences/mirna541_sequences.tsv")
    if [row["name"] for row in table] != pcd_mirnas or [row["index"] for row in table] != [str(j) for j in range(len(pcd_mirnas))]:
        fail("sequences/mirna541_sequences.tsv: rows are not the PCD miRNAs in PCD order")
    fasta = shared / "sequences/mirbase_optimir_deb"
    hairpins = read_fasta_by_accession(fasta / "hsa_hairpins_miRBase_v21.fa")
    matures = read_fasta_by_accession(fasta / "hsa_matures_miRBase_v21.fa")
    fcd_index = {mirna: str(j) for j, mirna in enumerate(fcd_mirnas)}
    rows = []
    for index, row in enumerate(table):
        mirna_id = row["name"]
        if row["mirbase_version"] != "v21" or hairpins.get(row["hairpin_acc"]) != (row["mirbase_hairpin_name"], row["hairpin_seq"]):
            fail(f"{mirna_id}: hairpin {row['hairpin_acc']} differs from miRBase v21")
        for arm in ("5p", "3p"):
            names, accessions, sequences = (row[f"mature_{arm}_{field}"] for field in ("name", "acc", "seq"))
            for name, accession, sequence in zip(*(value.split(";") for value in (names, accessions, sequences))):
                if (name or accession or sequence) and matures.get(accession) != (name, sequence):
                    fail(f"{mirna_id}: mature {arm} {accession} differs from miRBase v21")
        rows.append({
            "mirna_id": mirna_id,
            "datasets": "pcd;fcd" if mirna_id in fcd_index else "pcd",
            "pcd_index": str(index),
            "fcd_index": fcd_index.get(mirna_id, ""),
            "mirbase_version": row["mirbase_version"],
            "mirbase_name": row["mirbase_hairpin_name"],
            **{column: row[column] for column in MIRNA_COLUMNS[6:]},
        })
    return rows


def read_id_column(path: Path, *, id_first: bool) -> list[str]:
    """IDs of a benchmark ID list (``ID,index`` or ``index,ID`` rows); the index must count 0, 1, ..."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    ids = [row[0 if id_first else 1].strip() for row in rows]
    if [int(row[1 if id_first else 0]) for row in rows] != list(range(len(rows))) or len(set(ids)) != len(ids):
        fail(f"{path}: not a 0-based list of unique IDs")
    return ids


def check_derived_index(path: Path, id_column: str, fcd_ids: list[str], pcd_ids: list[str]) -> None:
    rows = read_tsv(path, delimiter=",")
    if [row[id_column] for row in rows] != fcd_ids or any(pcd_ids[int(row["ds1_index"])] != row[id_column] for row in rows):
        fail(f"{path}: disagrees with the FCD and PCD ID lists")


def read_tsv(path: Path, delimiter: str = "\t") -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return [{key: (value or "").strip() for key, value in row.items()} for row in csv.DictReader(handle, delimiter=delimiter)]


def read_fasta_by_accession(path: Path) -> dict[str, tuple[str, str]]:
    """``{accession: (name, RNA sequence)}`` of a miRBase FASTA file (``>name accession ...``)."""
    entries: dict[str, tuple[str, str]] = {}
    header: list[str] = []
    chunks: list[str] = []
    for line in [*path.read_text(encoding="ascii").splitlines(), ">"]:
        if line.startswith(">"):
            if header:
                entries[header[1]] = (header[0], "".join(chunks).upper().replace("T", "U"))
            header, chunks = line[1:].split()[:2], []
        else:
            chunks.append(line.strip())
    return entries


def write_tsv(path: Path, columns: tuple[str, ...], rows: list[dict[str, str]]) -> None:
    lines = ["\t".join(columns)]
    for row in rows:
        values = [row[column] for column in columns]
        if any(character in value for value in values for character in '\t\n\r"'):
            fail(f"{path.name}: {values[0]}: a value holds a tab, line break or quote")
        lines.append("\t".join(values))
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))


def fail(message: str) -> None:
    raise SystemExit(f"make_tables.py: {message}")


if __name__ == "__main__":
    sys.exit(main())
