"""The only writers (`ca_trade._io`): atomic replacement, confined to an output root."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ca_trade._io import (
    atomic_write,
    confine,
    output_root,
    replace_atomically,
    write_json,
    write_parquet,
)
from ca_trade.exceptions import ConfigError, UnsafePathError


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    """An output root and a folder outside it."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    return root, outside


def test_writes_inside_the_root_pass(tree: tuple[Path, Path]) -> None:
    root, _ = tree
    dest = atomic_write(root / "tables" / "t.md", "x\n", root=root)
    assert dest.read_text() == "x\n"
    with output_root(root):
        atomic_write(root / "a" / "b.txt", b"1")
    assert (root / "a" / "b.txt").read_bytes() == b"1"
    # a link that stays inside the root is followed
    (root / "alias").symlink_to(root / "a")
    atomic_write(root / "alias" / "c.txt", "2", root=root)
    assert (root / "a" / "c.txt").read_text() == "2"


def test_a_symlinked_subfolder_pointing_outside_is_refused(tree: tuple[Path, Path]) -> None:
    root, outside = tree
    (root / "tables").symlink_to(outside)
    with pytest.raises(UnsafePathError, match=r"tables is a symbolic link") as info:
        atomic_write(root / "tables" / "t.md", "x", root=root)
    assert str(outside) in str(info.value) and str(root) in str(info.value)
    with output_root(root), pytest.raises(UnsafePathError, match="symbolic link"):
        atomic_write(root / "tables" / "deeper" / "t.md", "x")
    assert list(outside.iterdir()) == []
    assert isinstance(info.value, ConfigError)  # the CLI exits 2 on it


def test_a_symlinked_file_at_the_destination_is_refused(tree: tuple[Path, Path]) -> None:
    root, outside = tree
    target = outside / "victim.txt"
    target.write_text("keep me")
    (root / "t.md").symlink_to(target)
    with pytest.raises(UnsafePathError, match=r"t\.md is a symbolic link"):
        replace_atomically(root / "t.md", lambda tmp: tmp.write_text("x"), root=root)
    assert target.read_text() == "keep me"
    assert (root / "t.md").is_symlink()
    assert sorted(p.name for p in root.iterdir()) == ["t.md"]  # no temporary file left


def test_dotdot_that_climbs_out_is_refused_and_dotdot_inside_is_fine(
    tree: tuple[Path, Path],
) -> None:
    root, outside = tree
    with pytest.raises(UnsafePathError, match=r"'\.\.'"):
        atomic_write(root / "a" / ".." / ".." / "outside" / "t.md", "x", root=root)
    assert list(outside.iterdir()) == []
    dest = atomic_write(root / "a" / ".." / "b" / "t.md", "x", root=root)
    assert dest.resolve() == (root / "b" / "t.md").resolve()


def test_relative_root_and_path_from_another_working_directory(
    tree: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, outside = tree
    (root / "link").symlink_to(outside)
    monkeypatch.chdir(root.parent)
    # the same files, named relative to the working directory, behave like their absolute form
    assert confine("root/x/y.txt", "root") == (root / "x" / "y.txt").resolve()
    with pytest.raises(UnsafePathError, match="symbolic link"):
        atomic_write("root/link/y.txt", "x", root="root")
    with output_root("root") as resolved:
        assert resolved == root.resolve()
        monkeypatch.chdir(outside)  # the root was resolved once, when the block began
        with pytest.raises(UnsafePathError):
            atomic_write("y.txt", "x")
        atomic_write(root / "z.txt", "z")
    assert (root / "z.txt").read_text() == "z"
    assert list(outside.iterdir()) == []


def test_output_root_nests_and_restores(tree: tuple[Path, Path]) -> None:
    root, outside = tree
    with output_root(root):
        with output_root(root / "inner"):
            with pytest.raises(UnsafePathError):
                atomic_write(root / "t.txt", "x")
        atomic_write(root / "t.txt", "x")
    atomic_write(outside / "free.txt", "no root: the caller named the file")
    assert (outside / "free.txt").is_file()


def test_a_root_that_is_itself_a_link_is_resolved_once(tree: tuple[Path, Path]) -> None:
    root, outside = tree
    alias = root.parent / "alias"
    alias.symlink_to(outside, target_is_directory=True)
    # the user named `alias` as the root: writing under it is writing under its target
    dest = atomic_write(alias / "t.txt", "x", root=alias)
    assert (outside / "t.txt").read_text() == "x"
    assert os.path.samefile(dest, outside / "t.txt")


def test_a_set_of_files_is_checked_before_the_first_is_written(tree: tuple[Path, Path]) -> None:
    from ca_trade._io import atomic_write_all
    from ca_trade.report.provenance import write_with_sidecar

    root, outside = tree
    (root / "t.md.json").symlink_to(outside / "t.md.json")
    with output_root(root), pytest.raises(UnsafePathError, match=r"t\.md\.json is a symbolic"):
        write_with_sidecar(root / "t.md", "| a |\n", {"synthetic": True})
    assert not (root / "t.md").exists()  # not the artefact without its sidecar either
    with pytest.raises(UnsafePathError):
        atomic_write_all({root / "a.txt": "a", root / "t.md.json": "{}"}, root=root)
    assert not (root / "a.txt").exists()
    assert list(outside.iterdir()) == []


def test_json_is_written_once_one_way(tree: tuple[Path, Path]) -> None:
    root, outside = tree
    record = {"b": np.float64(np.nan), "a": np.int64(3), "c": (1, 2), "é": "ü"}
    dest = write_json(root / "m.json", record, root=root)
    text = dest.read_text(encoding="utf-8")
    assert json.loads(text) == {"a": 3, "b": "NaN", "c": [1, 2], "é": "ü"}
    assert text.endswith("}\n") and text.index('"a"') < text.index('"b"')
    assert '"é": "ü"' in text  # UTF-8, not \u escapes
    (root / "out").symlink_to(outside)
    with pytest.raises(UnsafePathError):
        write_json(root / "out" / "m.json", record, root=root)
    assert not (outside / "m.json").exists()


def test_parquet_is_deterministic_and_atomic(tree: tuple[Path, Path]) -> None:
    root, outside = tree
    frame = pd.DataFrame({"x": [1, 2, 3], "s": ["a", "b", "c"]}, index=[7, 8, 9])
    a = write_parquet(root / "a.parquet", frame, root=root)
    b = write_parquet(root / "b.parquet", frame.reset_index(drop=True), root=root)
    assert a.read_bytes() == b.read_bytes()  # the index is not written
    assert pq.read_schema(a).metadata is None
    pd.testing.assert_frame_equal(pd.read_parquet(a), frame.reset_index(drop=True))
    # a pyarrow table keeps its own metadata (the sample's SYNTHETIC mark)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata({b"synthetic": b"true"})
    c = write_parquet(root / "c.parquet", table)
    assert pq.read_schema(c).metadata == {b"synthetic": b"true"}
    assert [p.name for p in root.iterdir() if p.name.endswith(".tmp")] == []
    (root / "out").symlink_to(outside)
    with pytest.raises(UnsafePathError):
        write_parquet(root / "out" / "a.parquet", frame, root=root)
