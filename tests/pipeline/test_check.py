"""``--check``: the outputs of two runs compared byte for byte."""

from __future__ import annotations

from pathlib import Path

from ca_trade.pipeline import CheckReport, compare_outputs, parse_config


def _fake_outputs(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


def test_compare_outputs_reports_changed_missing_extra(tmp_path: Path) -> None:
    from dataclasses import replace

    base = parse_config({"run": {"root": "a"}}, Path("c.toml"), project_root=tmp_path)
    fresh = replace(base, root=tmp_path / "fresh")
    _fake_outputs(base.root, {"tables/t.md": b"1", "figures/f.png": b"x", "tables/old.md": b"o"})
    _fake_outputs(
        fresh.root, {"tables/t.md": b"2", "figures/f.png": b"x", "estimates/e.json": b"{}"}
    )
    _fake_outputs(base.root, {"data/ignored.parquet": b"zz"})
    rep = compare_outputs(fresh, base)
    assert rep.changed == ["tables/t.md"]
    assert rep.missing == ["estimates/e.json"]
    assert rep.extra == ["tables/old.md"]
    assert not rep.ok
    assert "changed: tables/t.md" in rep.describe()
    assert CheckReport().ok
