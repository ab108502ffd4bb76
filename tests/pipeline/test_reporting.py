"""What a run's tables and figures say: the scenario in words, the intervals, theta, the sample."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import ca_trade.pipeline.reporting as reporting
from ca_trade.pipeline import Artefacts, GESettings, ScenarioSpec
from ca_trade.pipeline.reporting import (
    report_scenario,
    sample_rows,
    scenario_text,
    scenario_words,
    welfare_summary,
)
from ca_trade.pipeline.scenarios import ScenarioOutcome

CORRIDOR = ScenarioSpec(
    name="rail",
    kind="corridor",
    specification="threeway",
    links=(("CHN", "KGZ"), ("KGZ", "UZB")),
    days_saved=2.0,
)


def _outcome(draws: bool, theta_from: str | None) -> ScenarioOutcome:
    values = [0.5, 0.2, -0.01, 0.0]
    countries = pd.DataFrame(
        {f"{o}_pct": values for o in reporting.TABLE_OUTCOMES}, index=["KGZ", "UZB", "CHN", "DEU"]
    )
    if draws:
        for col in list(countries.columns):
            countries[f"{col}_lo"] = countries[col] - 0.1
            countries[f"{col}_hi"] = countries[col] + 0.1
    record: dict[str, Any] = {
        "ge_solution": {"theta": 4.378, "theta_from": theta_from, "year": 2019,
                        "description": "rail: CHN-KGZ, KGZ-UZB"},
    }  # fmt: skip
    if draws:
        record["uncertainty"] = {"alpha": 0.1, "n_draws": 50, "n_failed": 2, "seed": 1}
    codes = list(countries.index)
    flows = pd.DataFrame(
        [(e, i, 1.0) for e in codes for i in codes], columns=["exporter", "importer", "change_pct"]
    )
    return ScenarioOutcome(countries, flows, record)


def test_scenarios_in_words() -> None:
    assert scenario_words(CORRIDOR) == "Corridor CHN-KGZ, KGZ-UZB: 2 days saved on each link"
    cu = ScenarioSpec(name="c", kind="tariff_harmonization", specification="s",
                      members=("KAZ", "UZB"), cet="weighted")  # fmt: skip
    assert scenario_words(cu) == (
        "Customs union of KAZ, UZB: internal tariffs removed, common external tariff the "
        "import-weighted mean of members' tariffs"
    )
    keep = ScenarioSpec(name="c", kind="tariff_harmonization", specification="s",
                        members=("KAZ", "UZB"), cet="keep")  # fmt: skip
    assert scenario_words(keep) == "Removal of tariffs between KAZ, UZB (external tariffs kept)"
    adopt = ScenarioSpec(name="c", kind="tariff_harmonization", specification="s",
                         members=("KAZ", "UZB"), cet=("adopt", "KAZ"))  # fmt: skip
    assert scenario_words(adopt).endswith("common external tariff KAZ's schedule")
    described = ScenarioSpec(name="c", kind="corridor", specification="s", description="Rail")
    assert scenario_words(described) == "Rail"


def test_scenario_notes_state_level_draws_and_theta() -> None:
    text = scenario_text(CORRIDOR, GESettings(), _outcome(draws=True, theta_from="ln_tariff"))
    assert text.title == "Corridor CHN-KGZ, KGZ-UZB: 2 days saved on each link"
    assert text.interval == (
        "90% intervals in brackets: the 5th and 95th percentiles of each outcome over the 48 "
        "successful of 50 parametric draws of the estimated coefficients from their estimated "
        "normal distribution."
    )
    assert text.notes[0].startswith("Trade elasticity θ = 4.38 = −b − 1, b the estimated")
    assert "in specification threeway; θ is redrawn with b in every draw." in text.notes[0]
    assert text.notes[1] == (
        "Baseline: the panel's flows of 2019, trade imbalances with the additive closure."
    )
    assert text.interval in text.figure_note and text.notes[0] in text.figure_note
    given = scenario_text(CORRIDOR, GESettings(theta=4.378), _outcome(False, None))
    assert given.interval is None
    assert given.notes[0] == "Trade elasticity θ = 4.378, as given (the same in every draw)."


def test_the_heatmap_shows_every_country_the_scenario_touches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}
    real = reporting.trade_heatmap

    def spy(result: Any, **kwargs: Any) -> Any:
        seen.update(kwargs)
        return real(result, **kwargs)

    monkeypatch.setattr(reporting, "trade_heatmap", spy)
    out = Artefacts(root=tmp_path, table_formats=("md",), figure_formats=("png",))
    outcome = _outcome(draws=True, theta_from="ln_tariff")
    written = report_scenario(out, CORRIDOR, GESettings(), outcome, {}, outcome.record)
    # CHN is no Central Asian state, but the corridor starts there
    assert seen["countries"] == ["KGZ", "UZB", "CHN"]
    assert seen["title"].endswith("Corridor CHN-KGZ, KGZ-UZB: 2 days saved on each link")
    assert [p.name for p in written] == [
        "scenario_rail.md", "outcomes_rail.png", "trade_heatmap_rail.png",
    ]  # fmt: skip
    table = (tmp_path / "tables" / "scenario_rail.md").read_text()
    assert "**Corridor CHN-KGZ, KGZ-UZB: 2 days saved on each link**" in table
    assert "90% intervals in brackets" in table and "θ = 4.38" in table


def test_sample_rows_only_when_a_column_drops_pairs_or_years() -> None:
    assert sample_rows([False, False]) == {}
    assert sample_rows([True, None]) == {"Sample": ["International pairs", ""]}
    assert sample_rows([False, False], [None, (2000, 2010)]) == {"Years": ["All", "2000–2010"]}


def test_the_welfare_summary_lists_the_scenarios_own_countries_first() -> None:
    outcome = _outcome(draws=True, theta_from="ln_tariff")
    text = welfare_summary(
        "rail", outcome.countries, outcome.record, first=["UZB", "CHN"], others=1
    )
    lines = text.splitlines()
    assert lines[0] == (
        "rail: change in welfare and real GDP, % (90% interval of the 48 successful of 50 "
        "parametric draws; theta = 4.38 = -b - 1 from the ln_tariff coefficient)"
    )
    assert [line.split()[0] for line in lines[2:5]] == ["UZB", "CHN", "KGZ"]
    assert lines[2] == "  UZB      +0.20 [+0.10, +0.30]    +0.20 [+0.10, +0.30]"
    assert lines[-1] == "  (1 other country, each within +/-0.00%)"
