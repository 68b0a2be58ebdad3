"""How the DRAGEN licence is priced: named models, each with its rule for failed attempts.

A centre pays for DRAGEN in one of these ways; which one is configuration
(``SEQLEDGER_LICENCE_MODEL``), and so is the rule for attempts that did not finish
(``SEQLEDGER_LICENCE_FAILED``: ``metered`` or ``free``):

- ``per_gbase``: input gigabases x the ``dragen-licence`` rate. Failed attempts metered by
  default (assumed: a started analysis has checked its bases out). The shipped 0.10 $/Gbase is an
  ASSUMPTION, not a published price.
- ``per_sample``: one unit per successful run x ``dragen-licence-sample``. Failed attempts free by
  default (assumed: a sample is counted when its analysis completes). No rate shipped.
- ``per_instance_hour``: instance-hours the attempt ran x ``dragen-licence-instance-h``. Failed
  attempts metered by default: an AWS Marketplace AMI's software fee accrues per instance-hour of
  use, whatever the job's outcome. No rate shipped (use your listing's).
- ``prepaid``: a prepaid pool: 0 $ per analysis (the quantity, Gbases, is still recorded).

The failed-attempt rules marked "by default" are assumptions about contracts, stated here and in
every licence cost row's ``price_source``; set ``SEQLEDGER_LICENCE_FAILED`` to what your contract
says. A rate comes from the price book (the shipped tables, or the lake's ``prices`` table after
``seqledger ingest prices --licence-model … --licence-rate-usd …``).
"""

from __future__ import annotations

from dataclasses import dataclass

from lake.errors import ConfigError

PER_GBASE, PER_SAMPLE, PER_INSTANCE_HOUR, PREPAID = (
    "per_gbase", "per_sample", "per_instance_hour", "prepaid")
METERED, FREE = "metered", "free"


@dataclass(frozen=True, slots=True)
class ModelSpec:
    item: str | None  # the price book's service item holding the rate
    unit: str
    failed: str  # the default rule for attempts that did not finish
    failed_why: str


MODELS: dict[str, ModelSpec] = {
    PER_GBASE: ModelSpec("dragen-licence", "Gbase", METERED,
                         "assumed: a started analysis has checked its bases out"),
    PER_SAMPLE: ModelSpec("dragen-licence-sample", "sample", FREE,
                          "assumed: a sample is counted when its analysis completes"),
    PER_INSTANCE_HOUR: ModelSpec("dragen-licence-instance-h", "instance-h", METERED,
                                 "a Marketplace software fee accrues per instance-hour run"),
    PREPAID: ModelSpec(None, "Gbase", FREE, "prepaid: no marginal cost"),
}


@dataclass(frozen=True, slots=True)
class LicenceTerms:
    """The licence model in force and its rule for attempts that did not finish."""

    model: str = PER_GBASE
    failed: str | None = None  # None: the model's default rule

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ConfigError(f"licence model {self.model!r}: expected one of "
                              f"{', '.join(MODELS)}")
        if self.failed not in (None, METERED, FREE):
            raise ConfigError(f"licence rule for failed attempts {self.failed!r}: expected "
                              f"{METERED} or {FREE}")

    @property
    def spec(self) -> ModelSpec:
        return MODELS[self.model]

    @property
    def failed_rule(self) -> str:
        return self.failed or self.spec.failed

    @property
    def failed_why(self) -> str:
        return self.spec.failed_why if self.failed is None else "configured"

    def describe(self) -> str:
        """One line for reports: the model, its unit and the rule for failed attempts."""
        if self.model == PREPAID:
            return "DRAGEN licence: prepaid (no marginal cost per analysis)"
        return (f"DRAGEN licence: {self.model} (per {self.spec.unit}); attempts that did not "
                f"finish are {self.failed_rule} ({self.failed_why})")
