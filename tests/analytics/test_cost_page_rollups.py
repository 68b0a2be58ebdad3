"""The Cost page's estimated beside billed per month (and per tag), and its untagged spend by
service, answer from the monthly rollups as they did from the facts.

The property: on random histories around a month edge (``test_page_rollups``' runs with costs and
billing lines, plus billing lines carrying random tags, services and allocations: written in any
order, some twice, rollups refreshed for any months at any point), ``cost_trends.over_time`` per
month and per month by a tag, and ``cost_trends.untagged_by_service``, equal the same
questions asked of the cost rows and allocated billing lines (``pages_from_facts``), for random
filters and whole months: stale months (the rollups' views compute them) and current ones.
"""

from __future__ import annotations

import tempfile
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from analytics import cost_trends, rollups
from analytics.engine import connect
from analytics.filters import Filters
from tests.analytics import pages_from_facts as facts
from tests.analytics.histories import played
from tests.analytics.test_page_rollups import WHOLE_MONTHS, filters, tagged_run
from tests.analytics.test_rollups import EDGE, MONTHS, PROPERTY, _close

MONTH_RANGES = (*WHOLE_MONTHS, Filters(start=date(2026, 1, 1), end=date(2026, 2, 28),
                                       project=(None,), cost_centre=("cc-1",)))


@st.composite
def tagged_lines(draw, run: int) -> list[dict]:
    """Billing lines with tags (some missing), a service and a usage type each, around the edge:
    the rows ``untagged_spend`` lists and the tags ``over_time`` splits billed cost by."""
    def line(i: int) -> dict:
        return {
            "line_item_id": f"tl-{run}-{i}", "time_interval": "t", "export_format": "cur2",
            "usage_start_at": EDGE + timedelta(hours=draw(st.integers(-40, 40))),
            "unblended_cost_usd": draw(st.floats(0, 50, allow_nan=False)),
            "product_code": draw(st.sampled_from(["AmazonS3", "AmazonEC2", "AWSLambda"])),
            "usage_type": draw(st.sampled_from(["TimedStorage-ByteHrs", "Requests-Tier1"])),
            "project": draw(st.sampled_from(["a", "b", None])),
            "cost_centre": draw(st.sampled_from(["cc-1", None])),
            "workflow": draw(st.sampled_from(["germline", None])),
            "pipeline_release": draw(st.sampled_from(["r1", "r2", None])),
            "requested_by": draw(st.sampled_from(["ana", None])),
            "sample_id": draw(st.sampled_from(["S1", None])),
        }

    return [line(i) for i in range(draw(st.integers(0, 4)))]


@st.composite
def histories(draw) -> list[tuple]:
    steps = []
    for i in range(draw(st.integers(1, 5))):
        run = draw(tagged_run(i))
        run["billed_costs"] += draw(tagged_lines(i))
        for name, rows in run.items():
            if rows:
                steps.append(("write", name, rows))
                if draw(st.booleans()):
                    steps.append(("write", name, rows))
    steps += [("refresh", draw(st.sampled_from([None, *MONTHS])), None)
              for _ in range(draw(st.integers(0, 3)))]
    return draw(st.permutations(steps))


def answers(module, con, f: Filters, by: str) -> dict[str, list[tuple]]:
    def rows(tbl):  # the page draws them; their order is the fill's, not a promise
        return sorted((tuple(r.values()) for r in tbl.to_pylist()), key=repr)

    return {
        "over_time": rows(module.over_time(con, f, "month")),
        "by tag": rows(module.over_time(con, f, "month", by)),
        "untagged_by_service": rows(module.untagged_by_service(con, f)),
    }


@PROPERTY
@given(history=histories(), asked=st.lists(filters(), min_size=1, max_size=2),
       by=st.sampled_from(sorted(cost_trends.BY)))
def test_the_cost_page_answers_billed_per_month_from_rollups_as_from_the_facts(history, asked,
                                                                                by):
    with tempfile.TemporaryDirectory() as tmp:
        lake, store = played(tmp, history)
        for stage in ("as written", "refreshed"):
            con = connect(lake, store)
            for f in [Filters(), *MONTH_RANGES, *asked]:
                _close(answers(cost_trends, con, f, by), answers(facts, con, f, by))
            if stage == "as written":
                rollups.refresh(con, store)
