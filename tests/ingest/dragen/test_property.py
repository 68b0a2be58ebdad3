"""Hypothesis: on any input the parsers return records or raise ParseError, nothing else."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.dragen.registry import recognise
from ingest.dragen.service import parse_run_files
from lake.errors import ParseError

NAMES = ("S.mapping_metrics.csv", "S.wgs_coverage_metrics_tumor.csv", "S.wgs_overall_mean_cov.csv",
         "S.wgs_contig_mean_cov.csv", "S.wgs_fine_hist.csv", "S.wgs_hist.csv",
         "S.fragment_length_hist.csv", "S.time_metrics.csv", "S.fastqc_metrics.csv",
         "S.insert-stats.tab", "S-replay.json", "S.unknown_metrics.csv", "S.cnv_metrics.csv")
# Pieces of real lines, so generated files reach deep into the parsers, not just the first check.
TOKENS = ("MAPPING/ALIGNING SUMMARY", "TUMOR MAPPING/ALIGNING PER RG", "RUN TIME", "SEX GENOTYPER",
          "COVERAGE SUMMARY", "READ MEAN QUALITY", "POSITIONAL QUALITY", "", "0", "Read1",
          "Mapped reads", "Total runtime", "PCT of genome with coverage [ 20x: inf)",
          "ReadPos 3 5% Quantile QV", "Q20 Reads", "1000+", "Depth", "Overall", "#Sample: X",
          "FragmentLength", "Count", "chr1", "Autosomal regions ", "NA", "inf", "-inf", "nan",
          "1e400", "1_000", "12", "99.62", "03:32:28.426", "00:27.2", "99:99:99.9", "X0", "\ufeff",
          "RG", "ID", "Q25", "\t", "{", "}", '"command_line"', ":", "[", "]", "\r", "é", "\x00",
          "Average alignment coverage over wgs", " 0.50", "[100x:inf)")

lines = st.lists(st.sampled_from(TOKENS), min_size=1, max_size=6).map(",".join)
texts = st.lists(lines, max_size=30).map("\n".join)
payloads = st.one_of(st.binary(max_size=2000), texts.map(lambda t: t.encode("utf-8")),
                     st.text(max_size=500).map(lambda t: t.encode("utf-8", "surrogatepass")))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(NAMES), data=payloads)
def test_parsers_raise_only_parse_error(name: str, data: bytes) -> None:
    found = recognise(name, data)
    if isinstance(found, str):  # an unknown name whose content is no DRAGEN layout: skipped
        assert name == "S.unknown_metrics.csv"
        return
    try:
        out = found.parser(name, data, family=found.family, file_type=found.file_type,
                           phenotype=found.phenotype)
    except ParseError as e:
        assert e.source == name and e.reason
    else:
        assert out.rows >= 0
        for p in out.problems:
            assert isinstance(p.error, ParseError) and p.error.source == name


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=st.dictionaries(st.sampled_from(NAMES + ("x.csv", "a.bam")), payloads, max_size=4))
def test_a_run_of_arbitrary_files_never_raises_and_accounts_for_every_file(files) -> None:
    run = parse_run_files(files, sample_id="S", run_id="R", run_at=datetime(2024, 1, 1, tzinfo=UTC))
    assert sorted(f.name for f in run.files) == sorted(files)
    for f in run.files:
        assert f.skipped or f.error or f.rows or f.problems or f.family == "replay"
    for q in run.quarantine:
        assert q["source"].startswith("R/") and q["reason"]


# Characters where a shell and str.split can differ: quotes, the escape, every kind of whitespace.
SHELL_PIECES = ("dragen", "--RGSM", "=", "N A", "-", "/", " ", "\t", "\n", "\r", "\x0b", "\x0c",
                "\x1c", "\x1f", "\xa0", '"', "'", "\\", "#", ";", "é")


@settings(max_examples=2000, deadline=None)
@given(line=st.lists(st.sampled_from(SHELL_PIECES), max_size=12).map("".join))
def test_command_tokens_split_as_shlex_does(line: str) -> None:
    import shlex

    from ingest.dragen.replay import command_tokens

    try:
        expected = tuple(shlex.split(line))
    except ValueError:  # unbalanced quotes: split at whitespace
        expected = tuple(line.split())
    assert command_tokens(line) == expected
