"""The types of a run configuration: what a validated TOML file becomes.

:func:`ca_trade.pipeline.load_config` reads a file into these frozen dataclasses (the TOML
schema is documented in :mod:`ca_trade.pipeline`); the stages read nothing else. Their field
names are the keys of the file, which are the argument names of the library functions they
feed (:func:`ca_trade.ppml`, :func:`ca_trade.ge.tariff_harmonization`,
:func:`ca_trade.etl.download`, ...).

Examples
--------
>>> from pathlib import Path
>>> Specification(name="s", model="ppml", formula="y ~ x | fe").vcov
'hetero'
>>> Config(path=Path("c.toml"), project_root=Path("/p"), root=Path("/p/out")).data_dir
PosixPath('/p/out/data')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypedDict

__all__ = [
    "BIAS_CORRECTIONS",
    "CORRECTED_SUFFIX",
    "FIGURE_FORMATS",
    "MODELS",
    "RECONCILE_METHODS",
    "SCENARIO_KINDS",
    "TABLE_FORMATS",
    "Artefacts",
    "Cet",
    "Config",
    "DownloadKwargs",
    "DownloadSettings",
    "GESettings",
    "ScenarioSpec",
    "Specification",
]

Model = Literal["ppml", "ols"]
ReconcileMethod = Literal["baci", "importer_first", "exporter_first"]
ScenarioKind = Literal["tariff_harmonization", "corridor"]
SourceKind = Literal["sample", "raw"]
Closure = Literal["additive", "multiplicative"]
Ssc = Literal["stata", "fixest"]
BiasCorrection = Literal["analytical", "jackknife"]
#: ``"iid"``, ``"hetero"`` or ``{"CRV1": "cluster"}`` (``"a+b"`` for two-way clustering).
Vcov = str | dict[str, str]
#: A common external tariff rule, as :func:`ca_trade.ge.tariff_harmonization` takes it.
Cet = Literal["simple", "weighted", "max", "keep"] | tuple[Literal["adopt"], str]

MODELS: tuple[Model, ...] = ("ppml", "ols")
BIAS_CORRECTIONS: tuple[BiasCorrection, ...] = ("analytical", "jackknife")
#: The name of a specification's bias-corrected result: its own name and this suffix.
CORRECTED_SUFFIX = "_bias_corrected"
RECONCILE_METHODS: tuple[ReconcileMethod, ...] = ("baci", "importer_first", "exporter_first")
SCENARIO_KINDS: tuple[ScenarioKind, ...] = ("tariff_harmonization", "corridor")
TABLE_FORMATS: tuple[str, ...] = ("tex", "md", "html")
FIGURE_FORMATS: tuple[str, ...] = ("png", "pdf")


@dataclass(frozen=True)
class Specification:
    """One estimation of a run.

    Parameters
    ----------
    name : str
        Identifier (column name in tables, file name of saved estimates).
    model : {"ppml", "ols"}
        Estimator.
    formula : str
        fixest-style formula in the safe grammar (:func:`ca_trade.pipeline.check_formula`).
    vcov : str or dict
        Covariance.
    ssc : {"stata", "fixest"}
        Small-sample convention.
    years : tuple of int, optional
        Inclusive year window.
    international_only : bool
        Drop domestic pairs.
    tol : float, optional
        Estimator tolerance.
    bias_corrected : {"analytical", "jackknife"}, optional
        Also report Weidner & Zylkin's bias-corrected estimates with de-biased standard
        errors (PPML; the ``method`` of ``GravityResults.bias_corrected``), as a result
        named :attr:`corrected_name` beside the uncorrected one.
    split : str, optional
        Estimate once per value of this panel column (``"sector"``): the ``split`` of
        :func:`ca_trade.ppml`. A split specification's results are tabled by group and
        cannot feed a scenario.
    """

    name: str
    model: Model
    formula: str
    vcov: Vcov = "hetero"
    ssc: Ssc = "stata"
    years: tuple[int, int] | None = None
    international_only: bool = False
    tol: float | None = None
    bias_corrected: BiasCorrection | None = None
    split: str | None = None

    @property
    def corrected_name(self) -> str:
        """Name of the bias-corrected result (saved as ``estimates/<name>.json``)."""
        return f"{self.name}{CORRECTED_SUFFIX}"


@dataclass(frozen=True)
class ScenarioSpec:
    """One counterfactual of a run.

    Parameters
    ----------
    name : str
        Identifier.
    kind : {"tariff_harmonization", "corridor"}
        The builder that makes the scenario: :func:`ca_trade.ge.tariff_harmonization` (a
        customs union; with ``cet = "keep"`` the removal of internal tariffs only) or
        :func:`ca_trade.ge.corridor`.
    specification : str
        Name of the specification whose coefficients build the partial effects.
    members : tuple of str
        Members of the union (``tariff_harmonization``), ISO3.
    cet : str or tuple, optional
        Common external tariff rule of a customs union: ``"simple"``, ``"weighted"``,
        ``"max"``, ``"keep"`` or ``("adopt", ISO3)``, the values of
        :func:`ca_trade.ge.tariff_harmonization` (default ``"simple"``).
    links : tuple of (str, str)
        Corridor links (ISO3 pairs).
    days_saved, cost_reduction : float, optional
        A corridor's time saving: days, or a share of transit time.
    ave_per_day : float, optional
        Ad valorem equivalent of one day in transit (corridor; default 0.01).
    coefficient : float, optional
        The ``ln(1+t)`` coefficient, instead of the specification's estimate (the builders'
        ``coefficient``).
    description : str
        Human description (default generated).
    """

    name: str
    kind: ScenarioKind
    specification: str
    members: tuple[str, ...] = ()
    cet: Cet | None = None
    links: tuple[tuple[str, str], ...] = ()
    days_saved: float | None = None
    cost_reduction: float | None = None
    ave_per_day: float | None = None
    coefficient: float | None = None
    description: str = ""

    @property
    def params(self) -> dict[str, object]:
        """The kind's parameters that were given, by their config keys (for provenance)."""
        given: dict[str, object] = {
            "members": list(self.members),
            "cet": list(self.cet) if isinstance(self.cet, tuple) else self.cet,
            "links": list(self.links),
            "days_saved": self.days_saved,
            "cost_reduction": self.cost_reduction,
            "ave_per_day": self.ave_per_day,
            "coefficient": self.coefficient,
        }
        return {k: v for k, v in given.items() if v is not None and v != []}


@dataclass(frozen=True)
class GESettings:
    """General-equilibrium settings shared by the scenarios of a run.

    Parameters
    ----------
    year : int, optional
        Baseline year (default: the panel's last year with domestic flows).
    theta : float, optional
        Trade elasticity, used as given (a warning when it contradicts the estimates).
    theta_from : str, optional
        Tie the trade elasticity to a coefficient of the scenario: ``theta = -beta - 1``
        (the ``ln(1+t)`` coefficient is ``-sigma`` with duty-exclusive flows), in the point
        solution and in every draw. With neither ``theta`` nor ``theta_from``, theta is tied
        to ``ln_tariff`` (:func:`ca_trade.pipeline.scenarios.scenario_theta`).
    closure : {"additive", "multiplicative"}
        Trade imbalances.
    n_draws : int
        Parametric draws for confidence intervals (0: none); the ``n_draws`` of
        :func:`ca_trade.ge.parametric_draws`.
    seed : int
        Seed of the draws.
    alpha : float
        Intervals are ``1 - alpha``.
    """

    year: int | None = None
    theta: float | None = None
    theta_from: str | None = None
    closure: Closure = "additive"
    n_draws: int = 200
    seed: int = 2024
    alpha: float = 0.05


class DownloadKwargs(TypedDict):
    """The keyword arguments of :func:`ca_trade.etl.download` a ``[download]`` table gives."""

    reporters: tuple[str, ...]
    years: range
    partners: tuple[str, ...] | None
    flows: tuple[str, ...]
    classification: str
    level: str | tuple[str, ...]
    frequency: str
    access: str | None
    base_url: str | None
    max_records: int | None
    requests_per_minute: float
    max_retries: int
    backoff: float
    timeout: float
    max_requests: int | None


@dataclass(frozen=True)
class DownloadSettings:
    """The ``[download]`` table: the arguments of :func:`ca_trade.etl.download` (no key).

    ``years`` is ``(first, last)``; the subscription key never appears in a config, it comes
    from ``COMTRADE_API_KEY``.
    """

    reporters: tuple[str, ...]
    years: tuple[int, int]
    partners: tuple[str, ...] | None = None
    flows: tuple[str, ...] = ("M", "X")
    classification: str = "HS"
    level: str | tuple[str, ...] = "total"
    frequency: str = "A"
    access: str | None = None
    base_url: str | None = None
    max_records: int | None = None
    requests_per_minute: float = 10.0
    max_retries: int = 5
    backoff: float = 2.0
    timeout: float = 120.0
    max_requests: int | None = None

    def kwargs(self) -> DownloadKwargs:
        """Return the keyword arguments of :func:`ca_trade.etl.download` (without ``out``).

        Returns
        -------
        DownloadKwargs
            The arguments, ``years`` as a range.
        """
        return DownloadKwargs(
            reporters=self.reporters,
            years=range(self.years[0], self.years[1] + 1),
            partners=self.partners,
            flows=self.flows,
            classification=self.classification,
            level=self.level,
            frequency=self.frequency,
            access=self.access,
            base_url=self.base_url,
            max_records=self.max_records,
            requests_per_minute=self.requests_per_minute,
            max_retries=self.max_retries,
            backoff=self.backoff,
            timeout=self.timeout,
            max_requests=self.max_requests,
        )


@dataclass(frozen=True)
class Artefacts:
    """Where and how a run writes its artefacts (tables, figures, saved estimates).

    Parameters
    ----------
    root : pathlib.Path
        Output root; tables, figures and estimates go to folders of those names under it.
    synthetic : bool
        Label every artefact SYNTHETIC.
    record_git_commit : bool
        Record the git commit in artefacts.
    table_formats, figure_formats : tuple of str
        Formats written.
    """

    root: Path
    synthetic: bool = False
    record_git_commit: bool = False
    table_formats: tuple[str, ...] = TABLE_FORMATS
    figure_formats: tuple[str, ...] = FIGURE_FORMATS

    @property
    def output_dirs(self) -> tuple[Path, ...]:
        """Directories of the artefacts (the ones ``--check`` compares)."""
        return (self.root / "tables", self.root / "figures", self.root / "estimates")


@dataclass(frozen=True)
class Config:
    """A validated run configuration (see :mod:`ca_trade.pipeline` for the TOML schema).

    Parameters
    ----------
    path : pathlib.Path
        The TOML file.
    project_root : pathlib.Path
        Paths must resolve inside it unless ``allow_outside_project``.
    root : pathlib.Path
        Resolved output root of the run.
    name : str
        Run name.
    synthetic : bool
        Label outputs SYNTHETIC.
    record_git_commit : bool
        Record the git commit in artefacts.
    allow_outside_project : bool
        Whether paths may leave the project.
    source_kind : {"sample", "raw"}
        Where the raw files come from.
    raw_dir : pathlib.Path
        Raw files (read, or written by the sample generator).
    seed : int
        Sample seed.
    years : tuple of int
        Sample years.
    reconcile_method : {"baci", "importer_first", "exporter_first"}
        Mirror reconciliation method.
    sector : str
        Panel sector.
    specifications : tuple of Specification
        Estimations.
    ge : GESettings
        GE settings.
    scenarios : tuple of ScenarioSpec
        Counterfactuals.
    table_formats, figure_formats : tuple of str
        Output formats.
    download : DownloadSettings, optional
        The ``[download]`` table: fetch UN Comtrade data into ``raw_dir/comtrade`` first.
    executor : str, optional
        ``[run].executor``: where independent tasks run -- the files of the ingest, the
        groups of split specifications, the GE draws -- ``"processes"``, ``"auto"`` or a Dask
        scheduler address ``"tcp://host:port"`` (:mod:`ca_trade.executors`); None (or
        ``"serial"`` in the file): here, one after another, except split specifications,
        which use ``"auto"``. Outputs do not depend on it.
    """

    path: Path
    project_root: Path
    root: Path
    name: str = "run"
    synthetic: bool = False
    record_git_commit: bool = False
    allow_outside_project: bool = False
    source_kind: SourceKind = "sample"
    raw_dir: Path = Path("data/raw")
    seed: int = 2024
    years: tuple[int, int] = (2000, 2023)
    reconcile_method: ReconcileMethod = "baci"
    sector: str = "TOTAL"
    specifications: tuple[Specification, ...] = ()
    ge: GESettings = field(default_factory=GESettings)
    scenarios: tuple[ScenarioSpec, ...] = ()
    table_formats: tuple[str, ...] = TABLE_FORMATS
    figure_formats: tuple[str, ...] = FIGURE_FORMATS
    download: DownloadSettings | None = None
    executor: str | None = None

    @property
    def data_dir(self) -> Path:
        """Directory of intermediate data (sample, processed flows, panel)."""
        return self.root / "data"

    @property
    def artefacts(self) -> Artefacts:
        """Where and how the run writes its tables, figures and saved estimates."""
        return Artefacts(
            root=self.root,
            synthetic=self.synthetic,
            record_git_commit=self.record_git_commit,
            table_formats=self.table_formats,
            figure_formats=self.figure_formats,
        )

    @property
    def output_dirs(self) -> tuple[Path, ...]:
        """Directories whose files ``--check`` compares."""
        return self.artefacts.output_dirs
