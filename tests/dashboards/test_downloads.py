"""CSV downloads are made when clicked, not at every render (issue 14, speed): formatting the
CSV of a seed-scale year's 48,000 samples took seconds of each first render of the page."""

from __future__ import annotations

import pytest

from tests.dashboards.ops_lake import write_ops_lake
from tests.dashboards.pages import open_page


@pytest.mark.parametrize("page", ["cost", "storage", "failures", "overview", "runs"])
def test_every_csv_download_is_made_on_click(page, lake_settings, monkeypatch):
    write_ops_lake(lake_settings)
    at = open_page(lake_settings.lake_uri, page, monkeypatch)
    assert not at.exception and not at.error
    buttons = [b for b in at.get("download_button") if "CSV" in b.proto.label]
    assert buttons, f"the {page} page shows no CSV download"
    # A deferred download carries a file id asked for at click time, not a URL to bytes made now.
    assert [b.proto.label for b in buttons if not b.proto.HasField("deferred_file_id")] == []
    assert all(b.proto.url == "" for b in buttons)
