"""The input layout: where the project and the sample are in a key, whatever surrounds them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.classify import classify
from ingest.layout import DEFAULT, LayoutError, parse_layout
from ingest.s3_events import read_s3_events
from seqledger.envelopes import ENVELOPES, object_created

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FILE = "{s}_S1_L001_R1_001.fastq.gz"


@pytest.mark.parametrize(("key", "project", "sample"), [
    ("cardio/NA12878/NA12878_S1_L001_R1_001.fastq.gz", "cardio", "NA12878"),
    ("incoming/PRJ-X/2024-05-01/NA1/NA1_S1_L001_R1_001.fastq.gz", "PRJ-X", "NA1"),
    ("incoming/PRJ-X/20240501/HXXXXDSXY/NA1/NA1_R1.fastq.gz", "PRJ-X", "NA1"),
    ("in/PRJ-X/240501_A00123_0456_BHXXXXDSXY/NA1/NA1_R1.fastq.gz", "PRJ-X", "NA1"),
    ("lake/project=PRJ-X/date=2024-05-01/sample=NA1/NA1_R2.fastq.gz", "PRJ-X", "NA1"),
    ("PRJ-X/dt=2024-05-01/batch=7/NA1/NA1_2.fq.gz", "PRJ-X", "NA1"),
    ("incoming/NA12878_S1_L001_R1_001.fastq.gz", None, "NA12878"),
])
def test_the_default_layout_finds_the_project_past_routine_folders(key, project, sample):
    c = classify(key)
    assert (c.kind, c.project, c.sample_id) == ("fastq", project, sample)


def test_a_registered_project_wins_over_an_unrecognisable_folder():
    key = "incoming/PRJ-X/batch-seven/NA1/NA1_R1.fastq.gz"
    assert classify(key).project == "batch-seven"  # nothing says otherwise
    assert classify(key, projects={"PRJ-X"}).project == "PRJ-X"
    # the registry picks the project, never the sample folder
    assert classify(key, projects={"PRJ-X"}).sample_id == "NA1"


def test_a_key_that_does_not_fit_a_strict_layout_says_which_layout():
    layout = parse_layout("incoming/{project}/*/{sample}/{file}")
    ok = classify("incoming/P/2024/S1/S1.cram", layout)
    assert (ok.kind, ok.project, ok.sample_id) == ("cram", "P", "S1")
    bad = classify("other/P/S1/S1.cram", layout)
    assert bad.kind == "unknown"
    assert "SEQLEDGER_INPUT_LAYOUT='incoming/{project}/*/{sample}/{file}'" in bad.reason
    assert "register" not in bad.reason


@pytest.mark.parametrize("text", ["", "{project}/{sample}", "{project}/{file}/{file}",
                                  "{proj}/{sample}/{file}", "{project}/{project}/{file}",
                                  "a//{file}"])
def test_a_layout_that_cannot_be_one_is_refused(text):
    with pytest.raises(LayoutError, match="SEQLEDGER_INPUT_LAYOUT"):
        parse_layout(text)


@pytest.mark.parametrize("key", ["P/../NA1_R1.fastq.gz", "P/./x/NA1_R1.fastq.gz",
                                 "../../NA1_R1.fastq.gz", "P/../../S.cram", "P/../S.cram"])
def test_dot_folders_are_never_a_sample_or_a_project(key):
    c = classify(key)
    assert c.sample_id not in (".", "..") and c.project not in (".", "..")


# -- properties over generated keys -------------------------------------------------------------

_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/="),  # "=": a partition
    min_size=1, max_size=12,
).filter(lambda s: s.strip() == s and s not in (".", "..") and not s.startswith("."))
_name = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,11}", fullmatch=True)
_routine = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.dates().map(lambda d: d.strftime("%Y%m%d")),
    st.builds(lambda k, v: f"{k}={v}", st.sampled_from(["date", "batch", "dt", "run"]), _name),
    st.from_regex(r"H[A-Z0-9]{5}DSX[XY]", fullmatch=True),
    st.from_regex(r"2[0-9]{5}_A[0-9]{5}_[0-9]{4}_[AB]H[A-Z0-9]{7}", fullmatch=True),
)


@settings(max_examples=300, deadline=None)
@given(prefix=st.lists(_text, max_size=3), project=_name, between=st.lists(_routine, max_size=4),
       sample=_text, mate=st.sampled_from(["R1", "R2"]))
def test_project_and_sample_are_found_past_any_routine_folders(prefix, project, between, sample,
                                                               mate):
    key = "/".join([*prefix, project, *between, sample, f"{sample}_S1_L002_{mate}_001.fastq.gz"])
    c = classify(key, projects={project})
    assert (c.kind, c.project, c.sample_id, c.mate, c.lane) == ("fastq", project, sample, mate,
                                                                "L002")


@settings(max_examples=200, deadline=None)
@given(prefix=st.lists(_text, max_size=3), project=_name, between=st.lists(_text, max_size=3),
       sample=_text)
def test_a_registered_project_is_found_past_any_folders(prefix, project, between, sample):
    key = "/".join([*prefix, project, *between, sample, f"{sample}.cram"])
    c = classify(key, projects={project})
    assert (c.kind, c.project, c.sample_id) == ("cram", project, sample)


@settings(max_examples=200, deadline=None)
@given(project=_text, between=st.lists(_routine, max_size=3), sample=_text,
       envelope=st.sampled_from(ENVELOPES))
def test_url_encoded_unicode_keys_read_the_same_through_every_envelope(project, between, sample,
                                                                       envelope):
    key = "/".join([project, *between, sample, f"{sample}_R1.fastq.gz"])
    event = object_created(envelope, "in", key, 100, "etag", T0, "0" * 16)
    (obj,) = read_s3_events(event, "test").created
    assert obj.key == key
    c = classify(obj.key, projects={project})
    assert (c.project, c.sample_id) == (project, sample)


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(st.one_of(_text, st.sampled_from([".", ".."])), min_size=1, max_size=6),
       name=st.sampled_from(["S_R1.fastq.gz", "S.cram", "x.bam"]))
def test_no_key_makes_a_dot_folder_a_sample(parts, name):
    c = classify("/".join([*parts, name]))
    assert c.sample_id not in (".", "..", "") and c.project not in (".", "..", "")
    assert DEFAULT.read("/".join([*parts, name])) is not None
