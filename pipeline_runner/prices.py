"""Dated, sourced price tables: what a unit of EC2, S3, Athena, Lambda or DRAGEN costs, since when.

The tables are data (CSV files in ``pipeline_runner/prices/``, described in the README there). Every
row carries ``status`` (``list`` = a published AWS price, corroborated; ``approximate`` = secondary
source, derived or assumed) and ``source``. A price applies from its ``effective_from`` until the
next row for the same item; before the first row there is no price, and the cost model then writes
an ``unpriced`` row rather than a zero.
"""

from __future__ import annotations

import bisect
import csv
import io
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

from lake.errors import ConfigError, ParseError

# list: a published price; approximate: secondary, conflicting or derived; assumed: no source at
# all, a placeholder to replace with your own (the DRAGEN licence rate).
STATUSES = ("list", "approximate", "assumed")
DEFAULT_REGION = "us-east-1"

# Kinds of price (the ``price_kind`` column of the lake's ``prices`` table).
ON_DEMAND = "ec2-on-demand"
SPOT = "ec2-spot"
S3_STORAGE = "s3-storage"
SERVICE = "service"

# A Spot price stays in effect until the next point; past the last point of a series we only
# trust it this long (a stale history must not price next year's attempts).
SPOT_STALE_AFTER = timedelta(days=31)

FILES = {
    "ec2_on_demand.csv": ON_DEMAND,
    "ec2_spot.csv": SPOT,
    "s3_storage.csv": S3_STORAGE,
    "services.csv": SERVICE,
}


@dataclass(frozen=True, slots=True)
class Price:
    """One dated price of one item in one region."""

    kind: str
    region: str
    item: str  # instance type, storage class or service item
    unit: str  # hour | GB-month | TB | 1M requests | GB-s | Gbase | …
    usd: float
    effective_from: datetime  # UTC
    status: str  # list | approximate
    source: str
    availability_zone: str = ""
    # ``ref``, made once: every cost row priced with this price names it
    _ref: str = field(default="", init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        zone = f"/{self.availability_zone}" if self.availability_zone else ""
        object.__setattr__(self, "_ref", f"{self.kind}:{self.region}{zone}:{self.item}"
                                         f"@{self.effective_from:%Y-%m-%d}")

    @property
    def ref(self) -> str:
        """A short reference for cost rows: kind, region, item and the date it took effect."""
        return self._ref


@dataclass(frozen=True, slots=True)
class InstanceSpec:
    """What an instance type offers, for the packing share."""

    instance_type: str
    vcpus: int
    memory_gib: float


def _utc(value: str, where: str) -> datetime:
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            return datetime(d.year, d.month, d.day, tzinfo=UTC)
        ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as e:
        raise ConfigError(f"{where}: {value!r} is not an ISO date or timestamp") from e
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _float(value: str, where: str) -> float:
    try:
        out = float(value)
    except ValueError as e:
        raise ConfigError(f"{where}: {value!r} is not a number") from e
    if not math.isfinite(out) or out < 0:
        raise ConfigError(f"{where}: price {value!r} must be a finite number >= 0")
    return out


_REQUIRED = {
    ON_DEMAND: (
        "region",
        "instance_type",
        "vcpus",
        "memory_gib",
        "usd_per_hour",
        "effective_from",
        "status",
        "source",
    ),
    SPOT: (
        "region",
        "availability_zone",
        "instance_type",
        "usd_per_hour",
        "effective_from",
        "status",
        "source",
    ),
    S3_STORAGE: (
        "region",
        "storage_class",
        "usd_per_gb_month",
        "min_storage_days",
        "effective_from",
        "status",
        "source",
    ),
    SERVICE: ("region", "item", "unit", "usd", "effective_from", "status", "source"),
}


def parse_price_csv(
    text: str, kind: str, name: str
) -> tuple[list[Price], dict[str, InstanceSpec], dict[str, int]]:
    """Prices of one table from its CSV text; also instance specs and minimum storage days.

    Raises:
        ConfigError: naming the file and line of a missing column, a bad number, date or status.
    """
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in _REQUIRED[kind] if c not in (reader.fieldnames or [])]
    if missing:
        raise ConfigError(f"{name}: missing column(s) {missing}")
    prices: list[Price] = []
    specs: dict[str, InstanceSpec] = {}
    min_days: dict[str, int] = {}
    for line, row in enumerate(reader, start=2):
        where = f"{name}:{line}"
        status = row["status"].strip()
        if status not in STATUSES:
            raise ConfigError(f"{where}: status {status!r} is not one of {STATUSES}")
        if not row["source"].strip():
            raise ConfigError(f"{where}: every price needs a source")
        at = _utc(row["effective_from"].strip(), where)
        if kind == ON_DEMAND:
            item, unit, usd = row["instance_type"], "hour", _float(row["usd_per_hour"], where)
            specs[item] = InstanceSpec(
                item, int(_float(row["vcpus"], where)), _float(row["memory_gib"], where)
            )
        elif kind == SPOT:
            item, unit, usd = row["instance_type"], "hour", _float(row["usd_per_hour"], where)
        elif kind == S3_STORAGE:
            item, unit = row["storage_class"], "GB-month"
            usd = _float(row["usd_per_gb_month"], where)
            min_days[item] = int(_float(row["min_storage_days"], where))
        else:
            item, unit, usd = row["item"], row["unit"], _float(row["usd"], where)
        prices.append(
            Price(
                kind,
                row["region"].strip(),
                item.strip(),
                unit,
                usd,
                at,
                status,
                row["source"].strip(),
                row.get("availability_zone", "").strip(),
            )
        )
    return prices, specs, min_days


class PriceBook:
    """All prices, looked up by kind, region, item and time. Immutable."""

    def __init__(
        self,
        prices: Iterable[Price],
        instances: Mapping[str, InstanceSpec] | None = None,
        min_storage_days: Mapping[str, int] | None = None,
    ) -> None:
        self._prices = tuple(prices)
        self.instances = dict(instances or {})
        self.min_storage_days = dict(min_storage_days or {})
        index: dict[tuple[str, str, str], list[Price]] = {}
        for p in self._prices:
            # Spot prices are kept per region here (zone-less series); zoned points go in too.
            index.setdefault((p.kind, p.region, p.item), []).append(p)
        self._index = {k: sorted(v, key=lambda p: p.effective_from) for k, v in index.items()}
        self._starts = {k: [p.effective_from for p in v] for k, v in self._index.items()}

    @property
    def prices(self) -> tuple[Price, ...]:
        return self._prices

    # -- loading -------------------------------------------------------------------------------
    @classmethod
    def load(cls, folder: Path | Traversable) -> PriceBook:
        """The tables found in ``folder`` (any of ec2_on_demand, ec2_spot, s3_storage, services)."""
        prices: list[Price] = []
        specs: dict[str, InstanceSpec] = {}
        min_days: dict[str, int] = {}
        found = False
        for name, kind in FILES.items():
            f = folder / name
            if not f.is_file():
                continue
            found = True
            p, s, m = parse_price_csv(f.read_text(encoding="utf-8"), kind, name)
            prices += p
            specs.update(s)
            min_days.update(m)
        if not found:
            raise ConfigError(f"no price tables in {folder} (expected any of {sorted(FILES)})")
        return cls(prices, specs, min_days)

    @classmethod
    def load_default(cls, licence_usd_per_gbase: float | None = None) -> PriceBook:
        """The shipped tables; optionally your contract's DRAGEN rate per gigabase."""
        book = cls.load(resources.files("pipeline_runner") / "prices")
        if licence_usd_per_gbase is not None:
            book = book.with_licence_rate(licence_usd_per_gbase)
        return book

    def with_prices(self, extra: Iterable[Price]) -> PriceBook:
        """A new book with more prices (e.g. a real Spot history) added to these."""
        return PriceBook((*self._prices, *extra), self.instances, self.min_storage_days)

    def with_licence_rate(self, usd: float, since: datetime | None = None,
                          model: str = "per_gbase") -> PriceBook:
        """A new book whose DRAGEN licence rate for ``model`` is ``usd`` (a contract rate:
        ``list``), replacing any other rate of that model."""
        from pipeline_runner.licence import MODELS

        if not math.isfinite(usd) or usd < 0:
            raise ConfigError(f"DRAGEN licence rate {usd!r} must be a number >= 0")
        spec = MODELS[model]
        if spec.item is None:
            raise ConfigError(f"licence model {model} has no rate (it costs nothing per run)")
        kept = [p for p in self._prices if not (p.kind == SERVICE and p.item == spec.item)]
        rate = Price(SERVICE, DEFAULT_REGION, spec.item, spec.unit, usd,
                     since or datetime(2000, 1, 1, tzinfo=UTC), "list",
                     f"configured contract rate ({model})")
        return PriceBook([*kept, rate], self.instances, self.min_storage_days)

    def with_lake_licence(self, rows: Iterable[Mapping[str, Any]]) -> PriceBook:
        """A new book whose licence rates are the lake's (``prices`` rows), where it has any.

        A configured rate (not ``assumed``) replaces the shipped assumption for its item, whatever
        the dates: that is what ``seqledger ingest prices --licence-rate-usd`` is for.
        """
        from pipeline_runner.licence import MODELS

        items = {m.item for m in MODELS.values() if m.item}
        by_item: dict[str, list[Price]] = {}
        for r in rows:
            if r["price_kind"] != SERVICE or r["item"] not in items:
                continue
            by_item.setdefault(r["item"], []).append(Price(
                SERVICE, r["region"], r["item"], r["unit"], float(r["usd"]),
                r["effective_from_at"], r["price_status"], r["source"]))
        if not by_item:
            return self
        for item, found in by_item.items():
            configured = [p for p in found if p.status != "assumed"]
            by_item[item] = configured or found
        kept = [p for p in self._prices if not (p.kind == SERVICE and p.item in by_item)]
        return PriceBook([*kept, *(p for ps in by_item.values() for p in ps)], self.instances,
                         self.min_storage_days)

    # -- lookups -------------------------------------------------------------------------------
    def price_at(
        self, kind: str, item: str, at: datetime, region: str = DEFAULT_REGION
    ) -> Price | None:
        """The price in effect at ``at``: the latest row that took effect at or before it."""
        key = (kind, region, item)
        starts = self._starts.get(key)
        if not starts:
            return None
        i = bisect.bisect_right(starts, at) - 1
        return self._index[key][i] if i >= 0 else None

    def on_demand(
        self, instance_type: str, at: datetime, region: str = DEFAULT_REGION
    ) -> Price | None:
        return self.price_at(ON_DEMAND, instance_type, at, region)

    def storage(
        self, storage_class: str, at: datetime, region: str = DEFAULT_REGION
    ) -> Price | None:
        return self.price_at(S3_STORAGE, storage_class, at, region)

    def service(self, item: str, at: datetime, region: str = DEFAULT_REGION) -> Price | None:
        return self.price_at(SERVICE, item, at, region)

    def instance(self, instance_type: str) -> InstanceSpec | None:
        return self.instances.get(instance_type)

    def spot_segments(
        self, instance_type: str, start: datetime, end: datetime, region: str = DEFAULT_REGION
    ) -> list[tuple[datetime, datetime, Price]] | None:
        """The Spot prices in effect over [start, end), as (from, to, price) pieces.

        None when any part of the window has no price: before the series starts, or more than
        ``SPOT_STALE_AFTER`` after its last point.
        """
        key = (SPOT, region, instance_type)
        series = self._index.get(key)
        if not series or start < series[0].effective_from:
            return None
        if end > series[-1].effective_from + SPOT_STALE_AFTER:
            return None
        starts = self._starts[key]
        i = bisect.bisect_right(starts, start) - 1
        pieces = []
        t = start
        while t < end:
            nxt = series[i + 1].effective_from if i + 1 < len(series) else end
            stop = min(nxt, end)
            pieces.append((t, stop, series[i]))
            t, i = stop, i + 1
        return pieces

    def rows(self) -> list[dict[str, Any]]:
        """Every price as a row of the lake's ``prices`` table (with the date each one ends)."""
        out = []
        for (kind, region, item), series in sorted(self._index.items()):
            for i, p in enumerate(series):
                spec = self.instances.get(item) if kind in (ON_DEMAND, SPOT) else None
                out.append(
                    {
                        "price_kind": kind,
                        "region": region,
                        "item": item,
                        "availability_zone": p.availability_zone,
                        "unit": p.unit,
                        "usd": p.usd,
                        "effective_from_at": p.effective_from,
                        "effective_to_at": series[i + 1].effective_from
                        if i + 1 < len(series)
                        else None,
                        "price_status": p.status,
                        "source": p.source,
                        "instance_vcpus": spec.vcpus if spec else None,
                        "instance_memory_gib": spec.memory_gib if spec else None,
                        "min_storage_days": self.min_storage_days.get(item)
                        if kind == S3_STORAGE
                        else None,
                    }
                )
        return out


# -- Spot history ----------------------------------------------------------------------------------

SPOT_SERIES_START = datetime(2025, 1, 6, tzinfo=UTC)  # a Monday
SPOT_SERIES_END = datetime(2027, 12, 27, tzinfo=UTC)
# Repeated on every row of ec2_spot.csv, so short; the README there explains the derivation.
SPOT_SERIES_SOURCE = "DERIVED not observed: on-demand x spot_ratio(week); see prices/README.md"


def spot_ratio(week: int) -> float:
    """The assumed Spot/On-Demand ratio in week ``week`` of the derived series (0.30 to 0.40)."""
    return 0.35 + 0.05 * math.sin(2 * math.pi * week / 13)


def derive_spot_series(
    on_demand: Iterable[Price],
    start: datetime = SPOT_SERIES_START,
    end: datetime = SPOT_SERIES_END,
    step: timedelta = timedelta(days=7),
) -> list[Price]:
    """A weekly ``approximate`` Spot series per On-Demand price (how ec2_spot.csv is made)."""
    out = []
    for od in sorted(on_demand, key=lambda p: (p.region, p.item, p.effective_from)):
        if od.kind != ON_DEMAND:
            continue
        week, t = 0, start
        while t <= end:
            if t >= od.effective_from:
                out.append(
                    Price(
                        SPOT,
                        od.region,
                        od.item,
                        "hour",
                        round(od.usd * spot_ratio(week), 4),
                        t,
                        "approximate",
                        SPOT_SERIES_SOURCE,
                    )
                )
            week, t = week + 1, t + step
    return out


def spot_csv(prices: Iterable[Price]) -> str:
    """Spot prices as the text of ec2_spot.csv."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(_REQUIRED[SPOT])
    for p in prices:
        w.writerow(
            [
                p.region,
                p.availability_zone,
                p.item,
                f"{p.usd:.4f}",
                p.effective_from.strftime("%Y-%m-%d"),
                p.status,
                p.source,
            ]
        )
    return buf.getvalue()


def spot_history_from_aws(text: str, source: str, region: str = DEFAULT_REGION) -> list[Price]:
    """Real Spot prices from the JSON of ``aws ec2 describe-spot-price-history`` (status ``list``).

    Zones are kept; the cost model asks for the region-wide series, so pass one zone's history or
    relabel ``availability_zone`` to "" for the zone your compute environment uses.
    """
    try:
        doc = json.loads(text)
        items = doc["SpotPriceHistory"]
    except (ValueError, KeyError, TypeError) as e:
        raise ParseError(source, None, f"not a describe-spot-price-history document: {e}") from e
    out = []
    for i, h in enumerate(items):
        try:
            out.append(
                Price(
                    SPOT,
                    region,
                    h["InstanceType"],
                    "hour",
                    float(h["SpotPrice"]),
                    _utc(str(h["Timestamp"]), source),
                    "list",
                    f"describe-spot-price-history {source}",
                    h.get("AvailabilityZone", ""),
                )
            )
        except (KeyError, ValueError, ConfigError) as e:
            raise ParseError(source, None, f"SpotPriceHistory[{i}]: {e}") from e
    return out


def with_derived_spot(book: PriceBook) -> list[Price]:
    """The derived Spot series for every On-Demand price in ``book``."""
    return derive_spot_series(p for p in book.prices if p.kind == ON_DEMAND)


def relabel(prices: Iterable[Price], **changes: Any) -> list[Price]:
    """Prices with some fields changed (e.g. ``availability_zone=""``)."""
    return [replace(p, **changes) for p in prices]
