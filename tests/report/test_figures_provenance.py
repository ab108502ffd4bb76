"""Figures and provenance: byte-identical regeneration, deterministic metadata, sidecars."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ca_trade as ct
from ca_trade.estimate.results import Dropped
from ca_trade.exceptions import SpecificationError
from ca_trade.report import (
    build_provenance,
    coefplot,
    comment_block,
    outcome_plot,
    save_figure,
    scenario_table,
    trade_heatmap,
)
from ca_trade.report.provenance import (
    atomic_write,
    dropped_counts,
    file_fingerprint,
    frame_fingerprint,
    git_commit,
    to_json,
)
from ca_trade.report.stored import StoredDropped, load_results, save_results
from tests.report.fakes import two_models

OUTCOMES = pd.DataFrame(
    {
        "welfare_pct": [0.4, -0.1, 0.2],
        "welfare_pct_lo": [0.1, -0.3, 0.0],
        "welfare_pct_hi": [0.7, 0.1, 0.5],
        "real_gdp_pct": [0.3, 0.05, -0.2],
    },
    index=["KAZ", "KGZ", "UZB"],
)
FLOWS = pd.DataFrame(
    {
        "exporter": ["KAZ", "KGZ", "KAZ", "UZB"],
        "importer": ["KGZ", "KAZ", "KAZ", "KGZ"],
        "value": [110.0, 52.0, 990.0, 20.0],
        "baseline_value": [100.0, 50.0, 1000.0, 20.0],
    }
)


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _draw_all(out: Path) -> list[Path]:
    rec = build_provenance(results=two_models(True), synthetic=True, git=False)
    files = save_figure(coefplot(two_models(), synthetic=True), out / "coef", rec)
    files += save_figure(outcome_plot(OUTCOMES), out / "outcomes", rec)
    files += save_figure(trade_heatmap(FLOWS, countries=["KAZ", "KGZ", "UZB"]), out / "h", rec)
    return files


def test_figures_regenerate_byte_for_byte(tmp_path: Path) -> None:
    a = _draw_all(tmp_path / "a")
    b = _draw_all(tmp_path / "b")
    assert [p.name for p in a] == [
        "coef.png",
        "coef.pdf",
        "outcomes.png",
        "outcomes.pdf",
        "h.png",
        "h.pdf",
    ]
    assert [_sha(p) for p in a] == [_sha(p) for p in b]
    for p in a:
        side = p.with_name(p.name + ".json")
        assert json.loads(side.read_text())["synthetic"] is True


def test_figure_metadata_is_deterministic(tmp_path: Path) -> None:
    png, pdf = save_figure(outcome_plot(OUTCOMES), tmp_path / "o", {"synthetic": True})
    raw = pdf.read_bytes()
    assert b"/CreationDate" not in raw
    assert b"Matplotlib" not in raw
    assert b"synthetic" in raw  # provenance in the PDF Subject
    from PIL import Image

    with Image.open(png) as im:
        text = dict(im.text)  # type: ignore[attr-defined]
    assert "Software" not in text
    assert json.loads(text["Description"]) == {"synthetic": True}


def test_heatmap_values_and_missing_pairs() -> None:
    fig = trade_heatmap(FLOWS, countries=["KAZ", "KGZ", "UZB"])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "+10.0" in texts  # KAZ -> KGZ: 110 / 100
    assert "-1.0" in texts  # KAZ domestic
    assert "n/a" in texts  # UZB -> KAZ absent
    with pytest.raises(SpecificationError, match="change_pct"):
        trade_heatmap(FLOWS.drop(columns="baseline_value"))


def test_heatmap_labels_the_domestic_diagonal_and_figures_carry_their_caption() -> None:
    fig = trade_heatmap(FLOWS, countries=["KAZ", "KGZ", "UZB"], note="Baseline: 2019.")
    ax = fig.axes[0]
    # one "domestic" mark and one outline per diagonal cell
    assert [t.get_text() for t in ax.texts].count("domestic") == 3
    assert len(ax.patches) == 3
    caption = " ".join(t.get_text() for t in fig.texts)
    assert "Outlined diagonal: change in domestic sales (exporter = importer)." in caption
    assert "Baseline: 2019." in caption
    # a long title (a scenario in words) wraps instead of running off the figure's edges
    long = "Change in bilateral trade (%): " + "a railway cutting transit times by 40% " * 3
    title = trade_heatmap(FLOWS, countries=["KAZ", "KGZ", "UZB"], title=long).axes[0].get_title()
    assert "\n" in title and " ".join(title.split()) == " ".join(long.split())
    note = "95% intervals: percentiles of 200 parametric draws; theta = 4.38 = -b - 1."
    fig = outcome_plot(OUTCOMES, note=note, synthetic=True)
    caption = " ".join(t.get_text() for t in fig.texts)
    assert "200 parametric draws" in caption and "SYNTHETIC" in caption


def test_interval_not_containing_the_estimate_is_drawn() -> None:
    df = pd.DataFrame(
        {"welfare_pct": [0.5], "welfare_pct_lo": [0.6], "welfare_pct_hi": [0.9]}, index=["TJK"]
    )
    fig = outcome_plot(df, outcomes=["welfare"])
    segs = fig.axes[0].collections[-1].get_segments()
    np.testing.assert_allclose(segs[0][:, 0], [0.6, 0.9])


def test_figure_errors() -> None:
    with pytest.raises(SpecificationError, match="formats"):
        save_figure(outcome_plot(OUTCOMES), "x", {}, formats=("svg",))
    with pytest.raises(SpecificationError, match="no regressor left"):
        coefplot(two_models(), keep=["nothing"])
    with pytest.raises(SpecificationError, match="countries not in"):
        outcome_plot(OUTCOMES, countries=["TKM"])


def test_tables_written_with_sidecar_regenerate_identically(tmp_path: Path) -> None:
    for sub in ("a", "b"):
        for fmt in ("tex", "md", "html"):
            ct.etable(two_models(True), fmt, git=False, file=tmp_path / sub / f"t.{fmt}")
            scenario_table(
                OUTCOMES, fmt, outcomes=["welfare"], git=False, file=tmp_path / sub / f"s.{fmt}"
            )
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert len(names) == 12
    for n in names:
        assert _sha(tmp_path / "a" / n) == _sha(tmp_path / "b" / n)
    side = json.loads((tmp_path / "a" / "t.tex.json").read_text())
    assert side["synthetic"] is True
    assert side["models"][0]["dropped"] == {"missing": 3, "separation_fe": 0, "singleton": 2}
    assert side["models"][0]["vcov_type"] == "CRV1: pair"
    assert side["models"][0]["ssc"] == "stata"
    assert side["models"][0]["converged"] is True
    assert "timestamp" not in side
    assert "git_commit" not in side
    text = (tmp_path / "a" / "t.tex").read_text()
    assert '% provenance: models[0].ssc: "stata"' in text
    assert "<!--" in (tmp_path / "a" / "t.md").read_text()


def test_timestamp_only_when_asked() -> None:
    assert "timestamp" in build_provenance(timestamp=True, git=False)
    assert "timestamp" not in build_provenance(git=False)


def test_git_commit_when_known_and_silently_absent_otherwise(tmp_path: Path) -> None:
    assert git_commit(tmp_path) is None  # not a repository: no error
    rec = build_provenance(git=True)
    if "git_commit" in rec:
        assert len(rec["git_commit"].split("+")[0]) == 40


def test_fingerprints(tmp_path: Path) -> None:
    df = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    fp = frame_fingerprint(df)
    assert fp["rows"] == 2
    assert fp == frame_fingerprint(df.copy())
    assert fp != frame_fingerprint(df.assign(a=[1.0, 2.5]))
    assert fp != frame_fingerprint(df.rename(columns={"a": "c"}))
    p = tmp_path / "d.parquet"
    df.to_parquet(p)
    ffp = file_fingerprint(p)
    assert ffp["rows"] == 2
    assert ffp["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()
    rec = build_provenance(inputs={"panel": df, "file": p, "given": {"rows": 5}}, git=False)
    assert rec["inputs"]["panel"]["rows"] == 2
    assert rec["inputs"]["file"]["path"] == "d.parquet"
    assert rec["inputs"]["given"] == {"rows": 5}


def test_to_json_is_strict_and_sorted() -> None:
    text = to_json({"b": np.float64(np.nan), "a": np.int64(3), "c": (1, 2), "d": {2, 1}})
    assert json.loads(text) == {"a": 3, "b": "NaN", "c": [1, 2], "d": ["1", "2"]}
    assert text.index('"a"') < text.index('"b"')


def test_comment_blocks_cannot_break_out() -> None:
    md = comment_block({"formula": "y --> x\n<script>"}, "md")
    assert md.count("-->") == 1
    assert md.endswith("-->\n")
    tex = comment_block({"note": "a\nb"}, "tex")
    assert all(line.startswith("% ") for line in tex.splitlines())
    with pytest.raises(SpecificationError):
        comment_block({}, "pdf")  # type: ignore[arg-type]


def test_dropped_counts_reads_one_shape() -> None:
    fit = Dropped({"singleton": np.array([4, 9]), "missing": np.array([1])})
    counts = dropped_counts(fit)
    assert counts == dict(sorted(fit.counts.items())) and counts["singleton"] == 2
    assert list(counts) == sorted(counts)
    assert dropped_counts(StoredDropped({"b": 2, "a": 1})) == {"a": 1, "b": 2}


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    atomic_write(tmp_path / "a.txt", "one\n")
    atomic_write(tmp_path / "a.txt", b"two\n")
    assert (tmp_path / "a.txt").read_text() == "two\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_saved_results_round_trip(tmp_path: Path) -> None:
    m = two_models()[0]
    back = load_results(save_results(m, tmp_path / "r.json"))
    pd.testing.assert_series_equal(back.params, m.params.astype(float), check_names=False)
    np.testing.assert_allclose(back.bse.to_numpy(), m.bse.to_numpy())
    np.testing.assert_allclose(back.conf_int().to_numpy(), m.conf_int().to_numpy())
    assert back.fixef_vars == list(m.fixef_vars)
    assert back.dropped == {"missing": 3, "separation_fe": 0, "singleton": 2}
    assert ct.etable([m], "md", provenance=False) == ct.etable([back], "md", provenance=False)


def test_figures_and_sidecars_stay_inside_the_output_root(tmp_path: Path) -> None:
    from ca_trade._io import output_root
    from ca_trade.exceptions import UnsafePathError
    from ca_trade.report import outcome_plot, save_figure

    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "figures").mkdir(parents=True)
    outside.mkdir()
    (root / "figures" / "w.pdf.json").symlink_to(outside / "w.pdf.json")
    fig = outcome_plot(pd.DataFrame({"welfare_pct": [1.0]}, index=["TJK"]), outcomes=["welfare"])
    with output_root(root), pytest.raises(UnsafePathError, match=r"w\.pdf\.json is a symbolic"):
        save_figure(fig, root / "figures" / "w", {"synthetic": True})
    assert sorted(p.name for p in (root / "figures").iterdir()) == ["w.pdf.json"]
    assert list(outside.iterdir()) == []
