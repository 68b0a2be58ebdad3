"""Acceptance: a generated stream of thousands of event files through ``seqledger ingest event``.

The stream has what real input buckets send: four envelopes, redeliveries (some late),
checksums, READMEs, sample sheets, index reads and indexes beside the inputs, folders between
project and sample (dates, ``name=value`` partitions, flow cells), multi-lane samples, samples
whose mate never comes, tiny smoke-test pairs and 30 GB CRAMs. It is played three ways —
different shuffles, split differently across invocations — and every invocation must exit 0,
every complete sample must get exactly one run, and the three lakes must be the same.

Invocations are cut between the arrivals of two samples, as demultiplexing writes all lanes of a
sample together: a lane that arrives after its sample was dispatched cannot be known from the
keys alone (``ingest/arrivals.py``) and would be a second run.
"""

from __future__ import annotations

import hashlib
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lake.settings import Settings
from lake.store import LakeStore
from seqledger.envelopes import ENVELOPES, object_created
from tests.seqledger.test_ingest_event import _run, env  # noqa: F401 (a fixture)

T0 = datetime(2026, 9, 14, 6, 0, tzinfo=UTC)
PROJECTS = ("cardio", "neuro-wgs", "PRJ_onco")
GB = 10**9


def _sample_objects(rng: random.Random, n: int) -> tuple[list[tuple[str, int]], bool]:
    """The objects (key, size) of sample ``n`` and whether its inputs are complete."""
    project = PROJECTS[n % len(PROJECTS)]
    between = rng.choice([[], ["2026-09-14"], ["batch=7"], ["HJ7TNDSX3"], ["20260914", "run=2"]])
    sample = f"S{n:04d}"
    folder = "/".join(["incoming", project, *between, sample])
    kind = rng.choices(["pair", "lanes", "cram", "ora", "orphan", "tiny"],
                       [40, 20, 15, 10, 10, 5])[0]
    objects: list[tuple[str, int]] = []
    complete = kind != "orphan"
    if kind in ("pair", "orphan", "tiny"):
        size = 100 if kind == "tiny" else 20 * GB
        mates = ("R1",) if kind == "orphan" else ("R1", "R2")
        objects += [(f"{folder}/{sample}_S1_L001_{m}_001.fastq.gz", size) for m in mates]
        objects += [(f"{folder}/{sample}_S1_L001_I1_001.fastq.gz", GB)]
    elif kind == "lanes":
        for lane in range(1, rng.randint(2, 4) + 1):
            objects += [(f"{folder}/{sample}_S1_L00{lane}_{m}_001.fastq.gz", 6 * GB)
                        for m in ("R1", "R2")]
    elif kind == "ora":
        objects += [(f"{folder}/{sample}_{m}.fastq.ora", 4 * GB) for m in ("R1", "R2")]
    else:
        objects += [(f"{folder}/{sample}.cram", 30 * GB), (f"{folder}/{sample}.cram.crai", GB)]
    objects += [(f"{key}.md5", 33) for key, _ in list(objects)]
    if rng.random() < 0.2:
        objects += [(f"{folder}/README.txt", 512), (f"{folder}/.DS_Store", 6148)]
    if rng.random() < 0.1:
        objects += [(f"incoming/{project}/SampleSheet.csv", 2048)]
    return objects, complete


def _stream(seed: int, samples: int) -> tuple[list[tuple[int, dict]], int, int]:
    """(sample number, event) deliveries, the number of complete samples, and of objects."""
    rng = random.Random(seed)
    deliveries, complete, objects = [], 0, set()
    for n in range(samples):
        start = T0 + timedelta(minutes=7 * n)
        sample_objects, ok = _sample_objects(rng, n)
        complete += ok
        for i, (key, size) in enumerate(sample_objects):
            at = start + timedelta(seconds=i, milliseconds=rng.randrange(1000))
            etag = hashlib.md5(f"{seed}:{key}".encode()).hexdigest()
            objects.add((key, etag))
            for copy, envelope in enumerate(rng.sample(ENVELOPES, rng.choice([1, 1, 2, 3]))):
                event = object_created(envelope, "in", key, size, etag, at, f"{n:08X}{i:08X}")
                # a redelivery may come with a later batch
                late = copy and rng.random() < 0.3
                deliveries.append((n + (rng.randint(1, 40) if late else 0), event))
    return deliveries, complete, len(objects)


def _play(deliveries, samples: int, cuts: list[int], seed: int, folder: Path,
          environ: dict[str, str]) -> list[int]:
    """Write each invocation's deliveries (shuffled) to files and run them; the exit codes."""
    rng = random.Random(seed)
    bounds = [0, *cuts, 10**9]
    codes = []
    for k in range(len(bounds) - 1):
        batch = [e for n, e in deliveries if bounds[k] <= n < bounds[k + 1]]
        rng.shuffle(batch)
        part = folder / f"part{k}"
        part.mkdir(parents=True)
        files = []
        for i, event in enumerate(batch):
            path = part / f"{i:05d}.json"
            path.write_text(json.dumps(event))
            files.append(str(path))
        if files:
            out = _run(environ, "--no-follow", *files)
            codes.append(out.returncode)
            assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return codes


def _lake(lake_uri: str) -> dict[str, list[str]]:
    store = LakeStore(Settings(lake_uri=lake_uri))
    return {name: sorted(json.dumps({k: v for k, v in r.items() if k != "recorded_at"},
                                    default=str, sort_keys=True)
                         for r in store.read(name).to_pylist())
            for name in ("arrivals", "runs", "job_attempts", "decisions", "quarantine")}


def test_thousands_of_event_files_end_the_same_whatever_the_order_and_split(env,  # noqa: F811
                                                                            tmp_path):
    samples = 240
    deliveries, complete, objects = _stream(11, samples)
    assert len(deliveries) > 2000  # thousands of event files
    projects = tmp_path / "projects.toml"
    projects.write_text("".join(f'[projects.{p}]\ncost_centre = "CC-{i}"\nrequested_by = "u{i}"\n'
                                for i, p in enumerate(PROJECTS)))
    lakes = []
    for play, cuts in enumerate(([], [60, 120, 180], [17, 90, 91, 200, 230])):
        lake = str(tmp_path / f"lake{play}")
        _play(deliveries, samples, cuts, play, tmp_path / f"events{play}",
              {**env, "SEQLEDGER_LAKE": lake, "SEQLEDGER_PROJECTS": str(projects)})
        lakes.append(_lake(lake))
    first = lakes[0]
    runs = [json.loads(r) for r in first["runs"]]
    assert len(runs) == complete  # one run per complete sample, nothing else
    assert len({(r["project"], r["sample_id"]) for r in runs}) == complete
    assert {r["project"] for r in runs} == set(PROJECTS)  # never a date or a partition
    assert len(first["arrivals"]) == objects  # every object recorded once, junk included
    assert first["quarantine"] == []
    for other in lakes[1:]:
        for table in first:
            assert other[table] == first[table], table
