"""Provenance of every artefact: what produced it, from which data, under which options.

Every table and figure written by :mod:`ca_trade.report` carries its provenance twice: as
comment lines inside the file (``%`` in LaTeX, ``<!-- -->`` in Markdown and HTML, a text
chunk in PNG, the ``Subject`` field in PDF) and as a JSON *sidecar* next to it
(``table.tex`` → ``table.tex.json``). The record holds the package version (and the git
commit when one is known), the sha256 and row count of the input data, the specifications,
covariance type and small-sample convention, tolerances, the rows dropped by reason,
convergence, seeds, and whether the data are SYNTHETIC.

Nothing time-dependent enters the record unless ``timestamp=True`` is asked for, and every
mapping is written with sorted keys, so regenerating an artefact from the same inputs gives
the same bytes. Files are written atomically (a temporary file in the target directory, then
:func:`os.replace`), so a crash never leaves a half-written artefact behind.

Examples
--------
>>> import pandas as pd
>>> from ca_trade.report.provenance import build_provenance, comment_block
>>> prov = build_provenance(inputs={"panel": pd.DataFrame({"x": [1, 2]})}, git=False)
>>> prov["inputs"]["panel"]["rows"]
2
>>> print(comment_block({"synthetic": True}, "tex").splitlines()[0])
% SYNTHETIC DATA: not real trade flows; for testing and demonstration only.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ca_trade._io import atomic_write, atomic_write_all, to_json
from ca_trade._typing import DroppedCounts, EstimationResult
from ca_trade._version import __version__
from ca_trade.exceptions import SpecificationError

__all__ = [
    "SYNTHETIC_NOTICE",
    "atomic_write",
    "build_provenance",
    "comment_block",
    "dropped_counts",
    "file_fingerprint",
    "frame_fingerprint",
    "git_commit",
    "package_version",
    "result_provenance",
    "sidecar_path",
    "to_json",
    "write_with_sidecar",
]

SYNTHETIC_NOTICE = "SYNTHETIC DATA: not real trade flows; for testing and demonstration only."

CommentFormat = Literal["tex", "md", "html"]


def package_version() -> str:
    """Return the installed version of ``ca_trade``.

    Returns
    -------
    str
        The version string, e.g. ``"0.1.0"``.

    Examples
    --------
    >>> package_version()[0].isdigit()
    True
    """
    return str(__version__)


def git_commit(start: str | os.PathLike[str] | None = None) -> str | None:
    """Return the git commit of the source tree, or ``None`` when it is not known.

    Never raises: outside a git checkout, without ``git`` installed, or on any other
    failure the commit is simply unknown.

    Parameters
    ----------
    start : path-like, optional
        Directory inside the repository; by default the directory of this package.

    Returns
    -------
    str or None
        The 40-hex-digit commit id of ``HEAD``, with ``"+dirty"`` appended when tracked
        files differ from it; ``None`` when unknown.

    Examples
    --------
    >>> c = git_commit("/")
    >>> c is None or len(c) >= 40
    True
    """
    where = Path(start) if start is not None else Path(__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if head.returncode != 0:
            return None
        commit = head.stdout.strip()
        if len(commit) < 40:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if dirty.returncode == 0 and dirty.stdout.strip():
            commit += "+dirty"
        return commit
    except (OSError, subprocess.SubprocessError):
        return None


def file_fingerprint(path: str | os.PathLike[str]) -> dict[str, Any]:
    r"""Return the sha256, size and (for tabular files) row count of a file.

    Parameters
    ----------
    path : path-like
        The file. Parquet files report their row count from the footer; CSV and TSV
        files (also gzip-compressed) report their number of data lines (lines after
        the header).

    Returns
    -------
    dict
        ``{"path": name, "sha256": hex, "bytes": size, "rows": n}`` (``rows`` only where
        it can be read).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
    >>> _ = p.write_text("x\n1\n2\n")
    >>> file_fingerprint(p)["rows"]
    2
    """
    p = Path(path)
    digest = hashlib.sha256()
    with p.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    out: dict[str, Any] = {
        "path": p.name,
        "sha256": digest.hexdigest(),
        "bytes": p.stat().st_size,
    }
    rows = _count_rows(p)
    if rows is not None:
        out["rows"] = rows
    return out


def _count_rows(p: Path) -> int | None:
    name = p.name.lower()
    try:
        if name.endswith(".parquet"):
            import pyarrow.parquet as pq

            return int(pq.ParquetFile(p).metadata.num_rows)
        if name.endswith((".csv", ".tsv", ".csv.gz", ".tsv.gz", ".txt.gz")):
            import gzip

            opener: Any = gzip.open if name.endswith(".gz") else open
            with opener(p, "rb") as fh:
                lines = sum(1 for line in fh if line.strip())
            return max(lines - 1, 0)
    except (OSError, ValueError, EOFError):
        return None
    return None


def frame_fingerprint(df: pd.DataFrame) -> dict[str, Any]:
    """Return a content hash and the shape of a DataFrame.

    The hash covers column names, dtypes and values (not the index), in order, so two
    frames with the same content hash equal whatever produced them.

    Parameters
    ----------
    df : pandas.DataFrame
        The data.

    Returns
    -------
    dict
        ``{"sha256": hex, "rows": n, "columns": k}``.

    Examples
    --------
    >>> import pandas as pd
    >>> a = frame_fingerprint(pd.DataFrame({"x": [1.0, 2.0]}))
    >>> a == frame_fingerprint(pd.DataFrame({"x": [1.0, 2.0]}, index=[5, 6]))
    True
    """
    digest = hashlib.sha256()
    for name in df.columns:
        col = df[name]
        digest.update(f"{name}\x00{col.dtype}\x00".encode())
        hashed = pd.util.hash_pandas_object(col, index=False).to_numpy(dtype=np.uint64)
        digest.update(hashed.tobytes())
    return {"sha256": digest.hexdigest(), "rows": len(df), "columns": df.shape[1]}


def dropped_counts(dropped: DroppedCounts) -> dict[str, int]:
    """Return the number of dropped rows by reason from a result's ``dropped`` record.

    Parameters
    ----------
    dropped : DroppedCounts
        The ``dropped`` attribute of an estimation result (anything with ``counts``).

    Returns
    -------
    dict of str to int
        Counts by reason, sorted by reason.

    Examples
    --------
    >>> import numpy as np
    >>> from ca_trade.estimate.results import Dropped
    >>> dropped_counts(Dropped({"singleton": np.array([3, 7])}))["singleton"]
    2
    """
    return {str(k): int(v) for k, v in sorted(dropped.counts.items())}


def result_provenance(result: EstimationResult) -> dict[str, Any]:
    """Collect the provenance of one estimation result.

    Parameters
    ----------
    result : EstimationResult
        A result of :func:`ca_trade.ppml` / :func:`ca_trade.ols`, or a saved one.

    Returns
    -------
    dict
        ``model``, ``depvar``, ``formula`` and options (from ``result.provenance``),
        ``vcov_type``, ``ssc``, ``tol``, ``nobs``, ``converged``, ``n_iter``, ``dropped``
        (counts by reason), ``fixef_vars`` and the input data fingerprint when the result
        records one.

    Examples
    --------
    >>> import pandas as pd
    >>> from ca_trade.report.stored import StoredResults
    >>> r = StoredResults(pd.Series({"x": 1.0}), pd.DataFrame([[1.0]], ["x"], ["x"]), nobs=10)
    >>> result_provenance(r)["nobs"]
    10
    """
    out: dict[str, Any] = {
        str(k): v
        for k, v in result.provenance.items()
        if k not in {"timestamp", "time", "created", "date"}
    }
    out.update(
        model=result.model,
        depvar=result.depvar,
        vcov_type=result.vcov_type,
        ssc=result.ssc,
        tol=result.tol,
        nobs=result.nobs,
        converged=result.converged,
        n_iter=result.n_iter,
        fixef_vars=result.fixef_vars,
        dropped=dropped_counts(result.dropped),
    )
    return out


def build_provenance(
    *,
    inputs: Mapping[str, pd.DataFrame | str | os.PathLike[str] | Mapping[str, Any]] | None = None,
    results: Iterable[EstimationResult] | None = None,
    specifications: Iterable[Mapping[str, Any]] | None = None,
    seeds: Mapping[str, int] | None = None,
    synthetic: bool = False,
    extra: Mapping[str, Any] | None = None,
    git: bool = True,
    timestamp: bool = False,
) -> dict[str, Any]:
    """Assemble a provenance record.

    Parameters
    ----------
    inputs : mapping, optional
        Name → DataFrame (hashed with :func:`frame_fingerprint`), path (hashed with
        :func:`file_fingerprint`) or an already computed fingerprint mapping.
    results : iterable of results, optional
        Estimation results; each contributes :func:`result_provenance`.
    specifications : iterable of mappings, optional
        Specifications as configured (formula and options), recorded verbatim.
    seeds : mapping, optional
        Random seeds used, by purpose.
    synthetic : bool, default False
        Whether the data are SYNTHETIC; recorded and announced in every comment block.
        Also set when any result's own provenance says its data are synthetic.
    extra : mapping, optional
        Further entries (tolerances, scenario descriptions, GE convergence, ...).
    git : bool, default True
        Record the git commit of the package source when known. Pipelines whose outputs
        are committed and compared (``ca-trade run --check``) set this to False, since a
        record of the commit would change with every commit.
    timestamp : bool, default False
        Record the UTC time of creation. Off by default: it breaks byte-identical
        regeneration.

    Returns
    -------
    dict
        A JSON-serialisable record with sorted keys.

    Examples
    --------
    >>> rec = build_provenance(seeds={"bootstrap": 1}, synthetic=True, git=False)
    >>> rec["synthetic"], rec["seeds"]
    (True, {'bootstrap': 1})
    """
    record: dict[str, Any] = {"package": "ca_trade", "version": package_version()}
    if git:
        commit = git_commit()
        if commit is not None:
            record["git_commit"] = commit
    if inputs:
        fingerprints: dict[str, Any] = {}
        for name, item in inputs.items():
            if isinstance(item, pd.DataFrame):
                fingerprints[name] = frame_fingerprint(item)
            elif isinstance(item, Mapping):
                fingerprints[name] = dict(item)
            else:
                fingerprints[name] = file_fingerprint(item)
        record["inputs"] = fingerprints
    if results is not None:
        models = [result_provenance(r) for r in results]
        record["models"] = models
        if any(bool(m.get("synthetic")) for m in models):
            synthetic = True
    if specifications is not None:
        record["specifications"] = [dict(s) for s in specifications]
    if seeds:
        record["seeds"] = {str(k): int(v) for k, v in seeds.items()}
    if extra:
        for key, value in extra.items():
            record[str(key)] = value
    record["synthetic"] = bool(synthetic)
    if timestamp:
        now = _dt.datetime.now(_dt.UTC).replace(microsecond=0)
        record["timestamp"] = now.isoformat()
    clean: dict[str, Any] = json.loads(to_json(record))
    return clean


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, Mapping):
        if not value:
            out.append((prefix, "{}"))
        for key in sorted(value, key=str):
            _flatten(f"{prefix}.{key}" if prefix else str(key), value[key], out)
    elif isinstance(value, list) and value and any(isinstance(v, Mapping) for v in value):
        for i, item in enumerate(value):
            _flatten(f"{prefix}[{i}]", item, out)
    else:
        out.append((prefix, json.dumps(value, sort_keys=True, ensure_ascii=False)))


def comment_block(record: Mapping[str, Any], format: CommentFormat) -> str:
    """Render a provenance record as comment lines of the given file format.

    Parameters
    ----------
    record : mapping
        A provenance record (see :func:`build_provenance`).
    format : {"tex", "md", "html"}
        ``tex`` gives ``%`` lines; ``md`` and ``html`` give one ``<!-- ... -->`` block.

    Returns
    -------
    str
        The comment lines, ending with a newline. When the record says the data are
        synthetic, the first line says so in capitals.

    Examples
    --------
    >>> print(comment_block({"version": "0.1.0"}, "md"), end="")
    <!--
    provenance: version: "0.1.0"
    -->
    """
    if format not in ("tex", "md", "html"):
        raise SpecificationError(f"comment format must be 'tex', 'md' or 'html', got {format!r}")
    pairs: list[tuple[str, str]] = []
    _flatten("", record, pairs)
    lines: list[str] = []
    if record.get("synthetic"):
        lines.append(SYNTHETIC_NOTICE)
    lines.extend(f"provenance: {key}: {value}" for key, value in pairs)
    if format == "tex":
        return "".join(f"% {_one_line(line)}\n" for line in lines)
    body = "".join(f"{_one_line(line).replace('--', '- -')}\n" for line in lines)
    return f"<!--\n{body}-->\n"


def _one_line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """Return the path of the JSON sidecar of an artefact (``x.tex`` → ``x.tex.json``).

    Parameters
    ----------
    path : path-like
        The artefact.

    Returns
    -------
    pathlib.Path
        The sidecar's path.

    Examples
    --------
    >>> sidecar_path("reports/t.tex").name
    't.tex.json'
    """
    p = Path(path)
    return p.with_name(p.name + ".json")


def write_with_sidecar(
    path: str | os.PathLike[str], data: bytes | str, record: Mapping[str, Any]
) -> tuple[Path, Path]:
    r"""Write an artefact and its JSON provenance sidecar, both atomically.

    Inside an output root (:func:`ca_trade._io.output_root`) both destinations are checked
    before either is written.

    Parameters
    ----------
    path : path-like
        The artefact's destination.
    data : bytes or str
        Its content (already carrying its comment lines, where the format has them).
    record : mapping
        The provenance record written to the sidecar.

    Returns
    -------
    tuple of pathlib.Path
        The artefact's path and the sidecar's path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> a, s = write_with_sidecar(d / "t.md", "| a |\n", {"synthetic": True})
    >>> s.name
    't.md.json'
    """
    dest, side = atomic_write_all({Path(path): data, sidecar_path(path): to_json(record)})
    return dest, side
