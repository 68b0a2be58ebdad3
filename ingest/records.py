"""Values ``ingest`` produces from the outside world, before they become lake rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ObjectCreated:
    """An object that arrived, from any of the four S3 event envelopes (or a watched folder)."""

    bucket: str
    key: str  # URL-decoded
    size_bytes: int | None
    etag: str | None
    event_at: datetime  # UTC
    event_id: str | None
    envelope: str  # "s3" | "sns" | "sqs-sns" | "eventbridge" | "local"
    sequencer: str | None = None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}" if self.envelope != "local" else \
            f"file://{self.bucket}/{self.key}"


@dataclass(frozen=True, slots=True)
class Classified:
    """What an object is: its kind, mate, project and sample, or why it is not an input."""

    kind: str  # "fastq" | "ora" | "bam" | "cram" | "sample_sheet" | "unknown"
    mate: str | None = None  # "R1" | "R2"
    project: str | None = None
    sample_id: str | None = None
    lane: str | None = None
    reason: str | None = None
    # an object meant as an input that cannot be used (kind "unknown"): quarantined, unlike a
    # routine non-input (a checksum, a README, an index read)
    refused: bool = False
