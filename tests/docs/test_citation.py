"""CITATION.cff is a complete, well-formed Citation File Format 1.2.0 file.

Checks the structure the CFF 1.2.0 schema requires (``cff-version``, ``message``, ``title``,
``authors``; each reference with ``type``, ``title``, ``authors``), the formats of the fields
the issue asks for (repository URL, version, release date) and that they agree with the
package: the version is ``pyproject.toml``'s, the licence its SPDX id.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]

# top-level keys of CFF 1.2.0 (citation-file-format schema.json, "properties")
CFF_KEYS = {
    "abstract", "authors", "cff-version", "commit", "contact", "date-released", "doi",
    "identifiers", "keywords", "license", "license-url", "message", "preferred-citation",
    "references", "repository", "repository-artifact", "repository-code", "title", "type",
    "url", "version",
}  # fmt: skip
URL = re.compile(r"^(https|http|ftp|sftp)://.+")


@pytest.fixture(scope="module")
def cff() -> dict[str, object]:
    data = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _authors_ok(authors: object) -> bool:
    if not isinstance(authors, list) or not authors:
        return False
    return all(
        isinstance(a, dict) and bool(str(a.get("name") or a.get("family-names") or "").strip())
        for a in authors
    )


def test_required_keys_and_no_unknown_ones(cff: dict[str, object]) -> None:
    assert cff["cff-version"] == "1.2.0"
    for key in ("message", "title"):
        assert isinstance(cff[key], str) and cff[key].strip(), key
    assert _authors_ok(cff["authors"])
    assert set(cff) <= CFF_KEYS, f"keys unknown to CFF 1.2.0: {sorted(set(cff) - CFF_KEYS)}"
    assert cff.get("type") in (None, "software", "dataset")


def test_version_date_and_repository_are_true(cff: dict[str, object]) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert cff["version"] == project["version"]
    released = cff["date-released"]
    assert isinstance(released, str), "quote the date: CFF wants a YYYY-MM-DD string"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", released)
    dt.date.fromisoformat(released)
    # no invented address: the repository URL is given once it is known, and then it is real
    if "repository-code" in cff:
        url = cff["repository-code"]
        assert isinstance(url, str) and URL.match(url)
        assert not re.search(r"\.(invalid|example|test)(/|$)", url), url
    assert cff["license"] == project["license"]["text"] == "MIT"


def test_references_are_well_formed(cff: dict[str, object]) -> None:
    refs = cff["references"]
    assert isinstance(refs, list) and refs
    for ref in refs:
        assert isinstance(ref, dict)
        assert isinstance(ref.get("type"), str) and ref["type"], ref
        assert isinstance(ref.get("title"), str) and ref["title"].strip(), ref
        assert _authors_ok(ref.get("authors")), ref["title"]
        if "url" in ref:
            assert URL.match(ref["url"]), ref["title"]
        if "year" in ref:
            assert isinstance(ref["year"], int) and 1900 < ref["year"] < 2100, ref["title"]


def test_the_checks_reject_an_incomplete_file() -> None:
    broken = yaml.safe_load("cff-version: 1.2.0\ntitle: x\nauthors: []\n")
    assert not _authors_ok(broken["authors"])
    assert "message" not in broken and "repository-code" not in broken
    assert not URL.match("ca-trade.example/repo")
