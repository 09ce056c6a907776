"""Where the credit model's training file comes from: a path given, ../shared/data beside the repository, or a copy
rebuilt from the canonical source (UCI Machine Learning Repository, dataset 350, CC BY 4.0, DOI 10.24432/C55S3H).

The training file is 24,000 of the dataset's 30,000 rows (data/train-ids.txt lists their IDs) with the UCI column
names, integers only, comma-separated, `\\n` line endings. Whatever its source, it must have the documented sha256
(DATA_SHA256): a download that rebuilds to other bytes is refused, so the pin covers the whole chain.
"""
from __future__ import annotations

import hashlib
import io
import os
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILE_NAME = "credit-default-taiwan.train.csv"
SHARED_DATA = HERE.parents[2] / "shared" / "data" / FILE_NAME
DATA_SHA256 = "83b9e4ee598f4c3742f2105656fc30fed2ffa3e6e61ddd0bb80ef8518392c255"
UCI_URL = os.environ.get("FINFLOW_UCI_350_URL", "https://archive.ics.uci.edu/static/public/350/default+of+credit+card+clients.zip")
UCI_XLS = "default of credit card clients.xls"
HEADER = ["ID", "LIMIT_BAL", "SEX", "EDUCATION", "MARRIAGE", "AGE", "PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6",
          *[f"BILL_AMT{i}" for i in range(1, 7)], *[f"PAY_AMT{i}" for i in range(1, 7)], "default payment next month"]


def cached_copy() -> Path:
    cache = Path(os.environ.get("FINFLOW_CACHE_DIR") or Path.home() / ".cache" / "finflow")
    return cache / "credit-data" / FILE_NAME


def locate(explicit: Path | None) -> Path | None:
    """The training file to use: the one given, else ../shared/data, else a copy fetched earlier; None if none."""
    if explicit is not None:
        return explicit
    return next((p for p in (SHARED_DATA, cached_copy()) if p.is_file()), None)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def train_ids() -> set[int]:
    text = "".join(line for line in (HERE / "data" / "train-ids.txt").read_text("utf-8").splitlines(keepends=True) if not line.startswith("#"))
    ids: set[int] = set()
    for part in filter(None, (p.strip() for p in text.replace("\n", " ").split(","))):
        lo, _, hi = part.partition("-")
        ids.update(range(int(lo), int(hi or lo) + 1))
    return ids


def training_csv(header: list[str], rows: list[list[int]]) -> bytes:
    """The training file's bytes from the full dataset's rows (any order): the rows of train-ids.txt, by ID."""
    if header != HEADER:
        raise ValueError(f"unexpected columns: {header}")
    keep = train_ids()
    chosen = sorted((r for r in rows if r[0] in keep), key=lambda r: r[0])
    if len(chosen) != len(keep):
        raise ValueError(f"{len(chosen)} of the {len(keep)} training rows found")
    return ("\n".join(",".join(map(str, r)) for r in [header, *chosen]) + "\n").encode()


def rows_from_xls(data: bytes) -> tuple[list[str], list[list[int]]]:
    """UCI's workbook: row 1 holds X1..X23/Y, row 2 the column names, then one client per row."""
    import xlrd  # only needed for a download

    sheet = xlrd.open_workbook(file_contents=data).sheet_by_index(0)
    header = [str(c).strip() for c in sheet.row_values(1)]
    rows = [[int(v) for v in sheet.row_values(i)] for i in range(2, sheet.nrows)]
    return header, rows


def fetch(dest: Path | None = None, timeout: float = 60.0) -> Path:
    """Downloads UCI dataset 350, rebuilds the training file and checks its sha256. Raises RuntimeError with a
    one-line reason when the network or the file does not allow it."""
    dest = dest or cached_copy()
    try:
        with urllib.request.urlopen(UCI_URL, timeout=timeout) as response:
            archive = response.read()
    except (urllib.error.URLError, OSError) as e:
        raise RuntimeError(f"cannot download UCI dataset 350 from {UCI_URL} ({getattr(e, 'reason', e)}); "
                           f"pass --data PATH to a copy of {FILE_NAME} (see models/credit/README.md)") from None
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as z:
            body = training_csv(*rows_from_xls(z.read(UCI_XLS)))
    except (zipfile.BadZipFile, KeyError, ValueError) as e:
        raise RuntimeError(f"{UCI_URL} did not hold the expected workbook: {e}") from None
    digest = hashlib.sha256(body).hexdigest()
    if digest != DATA_SHA256:
        raise RuntimeError(f"the file rebuilt from {UCI_URL} has sha256 {digest}, expected {DATA_SHA256}: refused")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".partial")
    tmp.write_bytes(body)
    tmp.replace(dest)
    return dest
