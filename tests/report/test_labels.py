"""Fixed effects and standard errors as a paper writes them (issue 12 item 6)."""

from __future__ import annotations

import pytest

from ca_trade.report.labels import fixef_label, vcov_label


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("exporter^year", "Exporter × year"),
        ("importer^year", "Importer × year"),
        ("pair", "Pair"),
        ("exporter^importer", "Exporter × importer"),
        ("pair_sym", "Symmetric pair"),
        ("exp_year", "Exporter × year"),
        ("origin_country^period", "Origin country × period"),  # any other column name
        ("sector^exporter^year", "Sector × exporter × year"),
    ],
)
def test_fixed_effects_read_as_in_a_paper(name: str, label: str) -> None:
    assert fixef_label(name) == label


@pytest.mark.parametrize(
    ("vcov_type", "label"),
    [
        ("iid", "IID"),
        ("hetero", "Robust"),
        ("HC1", "Robust"),
        ("CRV1: pair", "Clustered by pair"),
        ("CRV1: exporter+importer", "Clustered by exporter and importer"),
        ("CRV3: pair", "Clustered by pair (CRV3, leave one cluster out)"),
        ("WZ de-biased: pair", "Clustered by pair (de-biased)"),
        ("CRV1: exporter^year", "Clustered by exporter × year"),
        ("something new", "something new"),  # unknown types are shown as they are
        ("XYZ: pair", "XYZ: pair"),
    ],
)
def test_standard_errors_read_as_in_a_paper(vcov_type: str, label: str) -> None:
    assert vcov_label(vcov_type) == label


def test_user_labels_win() -> None:
    assert fixef_label("exporter^year", {"exporter^year": "Origin-time"}) == "Origin-time"
    assert vcov_label("CRV1: pair", {"CRV1: pair": "By country pair"}) == "By country pair"
    # a cluster variable's label is used inside the clustered label
    assert vcov_label("CRV1: pair", {"pair": "dyad"}) == "Clustered by dyad"
