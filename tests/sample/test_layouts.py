"""The four Comtrade layouts of the SYNTHETIC sample: headers as real files have them."""

from __future__ import annotations

from ca_trade.etl.layouts import sniff_header
from ca_trade.sample.layouts import HEADERS
from tests.conftest import require_reference


def test_plus_bulk_header_has_the_columns_real_bulk_readers_use() -> None:
    # harvard-growth-lab/comtrade-downloader reads real Comtrade+ bulk files (fetched with
    # comtradeapicall.bulkDownloadFinalFile, gzip tsv) with pandas ``usecols`` = the names below
    # (ComtradeDownloader.columns in an early version, BulkDownloader.columns in
    # downloader/src/download/downloader.py); usecols raises if a name is absent, so real bulk
    # headers carry every one of them, spelled exactly so.
    used = (
        "period reporterCode flowCode partnerCode partner2Code classificationCode cmdCode "
        "customsCode mosCode motCode qtyUnitCode qty isQtyEstimated CIFValue FOBValue "
        "primaryValue isAggregate"
    ).split()
    header = HEADERS["plus_bulk"]
    assert set(used) <= set(header)
    assert "cifvalue" not in header and "fobvalue" not in header  # the API csv spelling
    assert len(header) == len(set(header))
    # and the ETL recognises the header as the Comtrade+ bulk layout with nothing missing
    info = sniff_header("\t".join(header).encode() + b"\n", gzip_file=True)
    assert info.layout == "plus_bulk" and info.missing == ()


def test_legacy_bulk_header_matches_the_real_comtrade_file() -> None:
    # The 22-column header of the real legacy bulk file (UN Comtrade, AFG 2008).
    real = require_reference("comtrade_samples", "legacy_bulk_goods_afg_2008.csv")
    assert real.read_text().split("\n", 1)[0].strip().split(",") == HEADERS["legacy_bulk"]
