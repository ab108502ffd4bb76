"""The types a configuration becomes: what the stages and the CLI read."""

from __future__ import annotations

from pathlib import Path

from ca_trade.pipeline import Artefacts, Config, DownloadSettings


def test_a_config_says_where_and_how_its_artefacts_are_written(tmp_path: Path) -> None:
    cfg = Config(
        path=tmp_path / "c.toml",
        project_root=tmp_path,
        root=tmp_path / "out",
        synthetic=True,
        table_formats=("md",),
        figure_formats=(),
    )
    assert cfg.artefacts == Artefacts(
        root=tmp_path / "out", synthetic=True, table_formats=("md",), figure_formats=()
    )
    assert cfg.output_dirs == tuple(
        tmp_path / "out" / d for d in ("tables", "figures", "estimates")
    )
    assert cfg.data_dir == tmp_path / "out" / "data"


def test_download_settings_are_the_arguments_of_etl_download() -> None:
    import inspect

    from ca_trade.etl import download

    kwargs = DownloadSettings(reporters=("KAZ",), years=(2018, 2019)).kwargs()
    assert kwargs["years"] == range(2018, 2020)
    accepted = set(inspect.signature(download).parameters)
    assert set(kwargs) <= accepted  # the config's keys are the library's argument names
