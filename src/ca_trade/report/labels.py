"""How fixed effects and standard errors are named in tables: as in a paper, not as in code.

A formula names its fixed effects by their columns (``exporter^year``) and a result its
covariance by its estimator (``CRV1: pair``); a published table reads "Exporter × year" and
"Clustered by pair". :func:`fixef_label` and :func:`vcov_label` translate, with one documented
mapping for the panel's own column names (:data:`FIXEF_NAMES`) and a fallback for any other
name (underscores become spaces, the first letter a capital); a user's ``labels`` (the
``labels=`` argument of :func:`ca_trade.etable`, keyed by the name in the formula or by the
result's ``vcov_type``) override both.

======================================  ==================================================
in the formula / result                 in the table
======================================  ==================================================
``exporter^year``                       Exporter × year
``importer^year``                       Importer × year
``pair`` / ``exporter^importer``        Pair / Exporter × importer
``pair_sym``                            Symmetric pair
``hetero`` (``HC1``, ``robust``)        Robust
``iid``                                 IID
``CRV1: pair``                          Clustered by pair
``CRV1: exporter+importer``             Clustered by exporter and importer
``CRV3: pair``                          Clustered by pair (CRV3, leave one cluster out)
``WZ de-biased: pair``                  Clustered by pair (de-biased)
======================================  ==================================================

Examples
--------
>>> fixef_label("exporter^year"), fixef_label("origin_country^period")
('Exporter × year', 'Origin country × period')
>>> vcov_label("CRV1: pair"), vcov_label("hetero")
('Clustered by pair', 'Robust')
>>> fixef_label("exporter^year", {"exporter^year": "Origin-time"})
'Origin-time'
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["FIXEF_NAMES", "fixef_label", "vcov_label"]

#: Words for the panel's column names (:func:`ca_trade.etl.build_panel`) and common
#: abbreviations, as they read inside a label ("Exporter × year": the first word capitalised).
FIXEF_NAMES: dict[str, str] = {
    "exporter": "exporter",
    "importer": "importer",
    "year": "year",
    "pair": "pair",
    "pair_sym": "symmetric pair",
    "sector": "sector",
    "exp": "exporter",
    "imp": "importer",
    "exp_year": "exporter × year",
    "imp_year": "importer × year",
    "reporter": "reporter",
    "partner": "partner",
}

#: The covariance types of :mod:`ca_trade.estimate.covariance` as a paper writes them.
_VCOV_NAMES = {"iid": "IID", "hetero": "Robust", "HC1": "Robust", "robust": "Robust"}
_CLUSTERED = {
    "CRV1": "Clustered by {}",
    "CRV3": "Clustered by {} (CRV3, leave one cluster out)",
    "WZ de-biased": "Clustered by {} (de-biased)",
}


def _words(name: str) -> str:
    """One fixed effect's words, lower case: the mapping's, or the name with spaces."""
    parts = [FIXEF_NAMES.get(p, p.replace("_", " ").strip()) for p in name.split("^")]
    return " × ".join(p for p in parts if p)


def fixef_label(name: str, labels: Mapping[str, str] | None = None) -> str:
    """Return the row label of a fixed effect as a paper writes it.

    Parameters
    ----------
    name : str
        The fixed effect as written in the formula (``exporter^year``).
    labels : mapping, optional
        The user's labels: ``labels[name]`` is used as it is.

    Returns
    -------
    str
        ``"Exporter × year"``: :data:`FIXEF_NAMES` for known columns, otherwise the name with
        underscores as spaces; interactions joined by "×"; the first letter a capital.

    Examples
    --------
    >>> fixef_label("pair"), fixef_label("exporter^importer")
    ('Pair', 'Exporter × importer')
    """
    if labels and name in labels:
        return str(labels[name])
    words = _words(name) or name
    return words[:1].upper() + words[1:]


def vcov_label(vcov_type: str, labels: Mapping[str, str] | None = None) -> str:
    """Return a result's standard-error type as a paper writes it.

    Parameters
    ----------
    vcov_type : str
        The result's ``vcov_type`` (``"CRV1: pair"``, ``"hetero"``, ...).
    labels : mapping, optional
        The user's labels: ``labels[vcov_type]`` is used as it is; cluster names are
        translated like fixed effects (``labels`` of them included).

    Returns
    -------
    str
        ``"Robust"``, ``"IID"``, ``"Clustered by pair"``, ...; a type it does not know, as
        it is.

    Examples
    --------
    >>> vcov_label("CRV1: exporter+importer")
    'Clustered by exporter and importer'
    >>> vcov_label("CRV3: exporter^year")
    'Clustered by exporter × year (CRV3, leave one cluster out)'
    """
    if labels and vcov_type in labels:
        return str(labels[vcov_type])
    if vcov_type in _VCOV_NAMES:
        return _VCOV_NAMES[vcov_type]
    kind, sep, clusters = vcov_type.partition(":")
    if not sep or kind.strip() not in _CLUSTERED:
        return vcov_type
    names = []
    for c in clusters.strip().split("+"):
        c = c.strip()
        names.append(labels[c] if labels and c in labels else (_words(c) or c))
    return _CLUSTERED[kind.strip()].format(" and ".join(names))
