"""The stages of a run: earlier outputs kept when a stage fails; outputs stay inside the root."""

from __future__ import annotations

from pathlib import Path

import pytest

from ca_trade.exceptions import DataValidationError, DataValidationWarning, GEError
from ca_trade.pipeline import Progress, load_config, run
from tests.etl.helpers import plus_row, write_plus
from tests.pipeline.helpers import write_config

SMALL_GE = """
[run]
root = "out"
[source]
seed = 3
years = [2019, 2019]
[[specifications]]
name = "s"
formula = "value_usd ~ ln_dist + contig + ln_tariff | exporter + importer"
international_only = true
[ge]
n_draws = 5
[[scenarios]]
name = "cu"
kind = "tariff_harmonization"
cet = "keep"
members = ["KAZ", "KGZ", "TJK", "TKM", "UZB"]
specification = "s"
[outputs]
tables = ["md"]
figures = []
"""


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::ca_trade.exceptions.DataValidationWarning")
def test_a_failing_stage_stops_the_run_after_the_earlier_stages_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ca_trade.pipeline.scenarios
    from ca_trade.pipeline import run

    def fail(*args: object, **kwargs: object) -> None:
        raise GEError("the draws failed")

    cfg = load_config(write_config(tmp_path, SMALL_GE))
    monkeypatch.setattr(ca_trade.pipeline.scenarios, "parametric_draws", fail)
    with pytest.raises(GEError, match="the draws failed"):
        run(cfg, progress=Progress(quiet=True))
    assert (cfg.root / "tables" / "estimates.md").is_file()
    assert (cfg.root / "estimates" / "s.json").is_file()
    assert not (cfg.root / "tables" / "scenario_cu.md").exists()
    monkeypatch.undo()
    outcome = run(cfg, progress=Progress(quiet=True))
    frame = outcome.scenarios["cu"]
    assert {"welfare_pct", "welfare_pct_lo", "welfare_pct_hi"} <= set(frame.columns)
    assert (frame["welfare_pct_lo"] <= frame["welfare_pct_hi"]).all()
    assert (cfg.root / "tables" / "scenario_cu.md").is_file()


TINY = """
[run]
name = "tiny"
root = "out"
[source]
seed = 3
years = [2019, 2019]
[[specifications]]
name = "s"
formula = "value_usd ~ ln_dist + contig | exporter + importer"
international_only = true
[outputs]
tables = ["md"]
figures = []
"""


@pytest.mark.parametrize("link", ["tables", "estimates", "data", "data/raw"])
def test_a_symlinked_folder_inside_the_root_stops_the_run_before_it_writes(
    tmp_path: Path, link: str
) -> None:
    from ca_trade.exceptions import UnsafePathError
    from ca_trade.pipeline import run

    outside = tmp_path / "outside"
    outside.mkdir()
    cfg = load_config(write_config(tmp_path / "proj", TINY))
    (cfg.root / link).parent.mkdir(parents=True, exist_ok=True)
    (cfg.root / link).symlink_to(outside)
    with pytest.raises(UnsafePathError, match=rf"{link} is a symbolic link to .*outside"):
        run(cfg, progress=Progress(quiet=True))
    assert list(outside.iterdir()) == []


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::ca_trade.exceptions.DataValidationWarning")
def test_a_symlinked_output_file_is_refused_and_its_target_kept(tmp_path: Path) -> None:
    from ca_trade.exceptions import UnsafePathError
    from ca_trade.pipeline import run

    victim = tmp_path / "victim.md"
    victim.write_text("keep me")
    cfg = load_config(write_config(tmp_path / "proj", TINY))
    (cfg.root / "tables").mkdir(parents=True)
    (cfg.root / "tables" / "estimates.md").symlink_to(victim)
    with pytest.raises(UnsafePathError, match=r"estimates\.md is a symbolic link"):
        run(cfg, progress=Progress(quiet=True))
    assert victim.read_text() == "keep me"
    assert not (tmp_path / "victim.md.json").exists()


def test_a_run_whose_ingest_writes_no_flow_stops_and_says_why(tmp_path: Path) -> None:
    # like the real Comtrade sample files: every row has partner World, so all go to
    # controls/ and no bilateral flow is written; the run stops there instead of estimating
    # on nothing
    write_plus(tmp_path / "data" / "raw" / "w.csv", [plus_row(398, 0, "X", i) for i in (1, 2)])
    cfg = write_config(
        tmp_path,
        '[run]\nroot = "out"\n[source]\nkind = "raw"\nraw_dir = "data/raw"\n'
        '[[specifications]]\nname = "s"\nformula = "value_usd ~ ln_dist | exporter^year"\n',
    )
    with pytest.warns(DataValidationWarning), pytest.raises(DataValidationError) as info:
        run(load_config(cfg), progress=Progress(quiet=True))
    message = str(info.value)
    assert "wrote no bilateral flow, so the run stops" in message and "partner_world 2" in message
    assert str(cfg) in message
    assert not (tmp_path / "out" / "estimates").exists()


SPLIT = """
[run]
name = "split"
root = "out"
executor = "processes"
[source]
seed = 3
years = [2018, 2019]
[[specifications]]
name = "pooled"
formula = "value_usd ~ ln_dist + contig | exporter + importer"
international_only = true
[[specifications]]
name = "yearly"
formula = "value_usd ~ ln_dist + contig | exporter + importer"
international_only = true
split = "year"
[outputs]
tables = ["md"]
figures = []
"""


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::ca_trade.exceptions.DataValidationWarning")
def test_a_split_specification_is_estimated_saved_and_tabled_by_group(tmp_path: Path) -> None:
    import pandas as pd

    import ca_trade as ct
    from ca_trade.pipeline import run
    from ca_trade.pipeline.stages import estimation_data
    from ca_trade.report.stored import load_results

    cfg = load_config(write_config(tmp_path, SPLIT))
    outcome = run(cfg, progress=Progress(quiet=True))
    coll = outcome.splits["yearly"]
    assert list(coll) == [2018, 2019] and not coll.failures
    assert list(outcome.results) == ["pooled"]  # a split is not a pooled result
    data = estimation_data(outcome.panel, cfg.specifications[1])
    for year in (2018, 2019):
        alone = ct.ppml(cfg.specifications[1].formula, data[data["year"] == year])
        pd.testing.assert_series_equal(coll[year].params, alone.params, check_exact=True)
        saved = load_results(cfg.root / "estimates" / "yearly" / f"{year}.json")
        pd.testing.assert_series_equal(
            saved.params, alone.params, check_exact=True, check_names=False
        )
    table = (cfg.root / "tables" / "yearly_by_year.md").read_text()
    assert "2018" in table and "2019" in table and "SYNTHETIC" in table
    assert (cfg.root / "tables" / "estimates.md").is_file()  # the pooled specification's
