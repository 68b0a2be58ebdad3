"""Durable, conditional claims: what must happen once is claimed first (DESIGN.md).

A claim is a small JSON object that only one writer can create: ``If-None-Match: *`` on S3
(enforced by AWS and by SeaweedFS, which answers 412 PreconditionFailed to every other writer),
an exclusive create plus fsync on a local folder. Layout, beside the tables:

    <lake>/_claims/<run_id>/a<N>.json          attempt N claimed (who, when, the job name)
    <lake>/_claims/<run_id>/a<N>.g<K>.json     generation K: a takeover of a dead claim
    <lake>/_claims/<run_id>/a<N>.g<K>.released the holder of generation K gave up (no job made)
    <lake>/_claims/<run_id>/a<N>.job.json      the attempt's job; the first one recorded wins
    <lake>/_locks/<name>.lock                  a lock (compaction), deleted by its holder

Takeover rule: a claim with no recorded job may be taken over when its holder released it, when
its holder is a process of this host that no longer exists, or when it is older than
``takeover_after`` (longer than any holder can live between claiming and SubmitJob returning).
Takers race on creating the next generation, so exactly one of them wins.

A batch (a replay's resubmissions) claims its attempts together (``acquire_many``,
``record_jobs``): each attempt still gets its own exclusive name, but on a local folder the
batch is made durable by two filesystem barriers (every body, then every name) instead of two
fsyncs per claim; no job is submitted before the barrier after the names returns.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from lake.errors import TransientError
from lake.settings import Settings

CLAIMS_DIR = "_claims"
LOCKS_DIR = "_locks"
# Longer than the dispatcher's and recorder's Lambda timeouts (at most 15 min), so a claim this
# old has no living holder on AWS.
DEFAULT_TAKEOVER = timedelta(minutes=20)
_MAX_GENERATIONS = 100


class ExclusiveFiles(Protocol):
    """Create-if-absent, read and delete of small objects."""

    def create(self, path: str, data: bytes) -> bool:
        """Create ``path`` holding ``data``; False (and nothing written) if it exists."""
        ...

    def read(self, path: str) -> bytes | None: ...

    def delete(self, path: str) -> None: ...


# What creating one of several objects gave: made, already there, or an error a retry may fix.
Created = bool | TransientError


def create_all(files: ExclusiveFiles, items: Sequence[tuple[str, bytes]]) -> list[Created]:
    """``create`` of every (path, data), by the back end's batch form if it has one."""
    many = getattr(files, "create_many", None)
    if many is not None:
        return many(items)
    out: list[Created] = []
    for path, data in items:
        try:
            out.append(files.create(path, data))
        except TransientError as e:
            out.append(e)
    return out


def _syncfs() -> Callable[[int], int] | None:
    """Linux's syncfs(2): one barrier for every write to a filesystem (None elsewhere)."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).syncfs
    except (AttributeError, OSError):
        return None
    fn.argtypes = [ctypes.c_int]
    return fn


class LocalFiles:
    """A local folder: ``O_CREAT | O_EXCL``, then fsync of the file and its folder."""

    def create(self, path: str, data: bytes) -> bool:
        # Written whole under a private name, then hard-linked to the claim's name: link() fails
        # if the name exists (as O_CREAT | O_EXCL does) and a reader never sees a partial claim.
        directory = os.path.dirname(path)
        tmp = f"{path}.{uuid.uuid4().hex}.tmp"
        try:
            os.makedirs(directory, exist_ok=True)
            fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
            dir_fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)  # the new name survives a power cut once this returns
            finally:
                os.close(dir_fd)
            return True
        except OSError as e:
            raise TransientError(f"cannot create claim {path}: {e}") from e
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(tmp)

    def create_many(self, items: Sequence[tuple[str, bytes]]) -> list[Created]:
        """``create`` of each item, durable together: bodies written under private names,
        one barrier, each name linked (exclusive, as ``create``), one barrier. What ``create``
        makes durable with two fsyncs per object costs two barriers per batch."""
        syncfs = _syncfs() if len(items) > 1 else None
        if syncfs is None:
            return [self._create_one(path, data) for path, data in items]
        tmps: list[str] = []
        try:
            for path, data in items:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                tmp = f"{path}.{uuid.uuid4().hex}.tmp"
                with open(tmp, "xb") as f:
                    tmps.append(tmp)
                    f.write(data)
            _barrier(syncfs, items[0][0])  # every body is on disk before any name points to it
            out: list[Created] = []
            for (path, _), tmp in zip(items, tmps, strict=True):
                try:
                    os.link(tmp, path)
                    out.append(True)
                except FileExistsError:
                    out.append(False)
            _barrier(syncfs, items[0][0])  # every name survives a power cut once this returns
            return out
        except OSError as e:
            raise TransientError(f"cannot create {len(items)} claims under "
                                 f"{os.path.dirname(os.path.dirname(items[0][0]))}: {e}") from e
        finally:
            for tmp in tmps:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(tmp)

    def _create_one(self, path: str, data: bytes) -> Created:
        try:
            return self.create(path, data)
        except TransientError as e:
            return e

    def read(self, path: str) -> bytes | None:
        try:
            with open(path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise TransientError(f"cannot read claim {path}: {e}") from e

    def delete(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def _barrier(syncfs: Callable[[int], int], path: str) -> None:
    fd = os.open(os.path.dirname(path), os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
    finally:
        os.close(fd)


_S3_TRANSIENT = {
    "SlowDown",
    "ThrottlingException",
    "RequestTimeout",
    "InternalError",
    "ServiceUnavailable",
    "Throttling",
    "TooManyRequestsException",
}


class S3Files:
    """S3 (or an S3-compatible server): ``PutObject`` with ``If-None-Match: *``."""

    def __init__(self, settings: Settings) -> None:
        self.options = settings.s3
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:  # made on first use: a Runner that never claims pays nothing
            import boto3

            opts = self.options
            self._client = boto3.client(
                "s3",
                region_name=opts.region,
                endpoint_url=opts.endpoint_url,
                aws_access_key_id=opts.access_key,
                aws_secret_access_key=opts.secret_key,
                aws_session_token=opts.session_token,
            )
        return self._client

    @staticmethod
    def _split(path: str) -> tuple[str, str]:
        bucket, _, key = path.partition("/")
        return bucket, key

    def _transient(self, path: str, e: Exception) -> TransientError:
        return TransientError(f"claim s3://{path}: {e}")

    def create(self, path: str, data: bytes) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        bucket, key = self._split(path)
        try:
            self.client.put_object(
                Bucket=bucket, Key=key, Body=data, IfNoneMatch="*", ContentType="application/json"
            )
            return True
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if code == "PreconditionFailed" or status == 412:
                return False
            if code == "ConditionalRequestConflict" or status == 409:
                # another conditional write to the key is in flight: it wins if it completes
                raise self._transient(path, e) from e
            raise self._transient(path, e) from e
        except BotoCoreError as e:
            raise self._transient(path, e) from e

    def create_many(self, items: Sequence[tuple[str, bytes]]) -> list[Created]:
        """``create`` of each item, several requests in flight (each PUT is durable on its
        own; the conditions are per key, so their order does not matter)."""
        if len(items) < 2:
            return [self._create_one(path, data) for path, data in items]
        self.client  # noqa: B018 - made once, before the threads share it
        with ThreadPoolExecutor(max_workers=min(16, len(items))) as pool:
            return list(pool.map(lambda item: self._create_one(*item), items))

    def _create_one(self, path: str, data: bytes) -> Created:
        try:
            return self.create(path, data)
        except TransientError as e:
            return e

    def read(self, path: str) -> bytes | None:
        from botocore.exceptions import BotoCoreError, ClientError

        bucket, key = self._split(path)
        try:
            return self.client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise self._transient(path, e) from e
        except BotoCoreError as e:
            raise self._transient(path, e) from e

    def delete(self, path: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        bucket, key = self._split(path)
        try:
            self.client.delete_object(Bucket=bucket, Key=key)
        except (ClientError, BotoCoreError) as e:
            raise self._transient(path, e) from e


def exclusive_files(settings: Settings) -> tuple[ExclusiveFiles, str]:
    """The claim back end and root path for the configured lake."""
    if settings.lake_is_s3:
        return S3Files(settings), settings.lake_uri[len("s3://") :]
    return LocalFiles(), settings.lake_uri


def default_owner() -> str:
    """Who is claiming: host, process id and a random suffix (pid numbers get reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _holder_is_gone(owner: str) -> bool:
    """True if ``owner`` names a process of this host that no longer runs."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass(frozen=True, slots=True)
class Claim:
    """One generation of the claim on a run's attempt."""

    run_id: str
    attempt: int
    generation: int
    job_name: str
    claimed_by: str
    claimed_at: datetime
    at: datetime  # the time the claimer recorded the submission under (event or demo time)
    path: str

    def body(self) -> bytes:
        return json.dumps(
            {
                "run_id": self.run_id,
                "attempt": self.attempt,
                "generation": self.generation,
                "job_name": self.job_name,
                "claimed_by": self.claimed_by,
                "claimed_at": self.claimed_at.isoformat(),
                "at": self.at.isoformat(),
            },
            sort_keys=True,
        ).encode()


@dataclass(frozen=True, slots=True)
class ClaimState:
    """The current claim on an attempt, whether this caller holds it, and its job if known."""

    claim: Claim
    won: bool
    job_id: str | None = None
    released: bool = False


class ClaimStore:
    """Claims on (run, attempt) and named locks under the lake root."""

    def __init__(
        self,
        files: ExclusiveFiles,
        root: str,
        *,
        owner: str | None = None,
        clock: Callable[[], datetime] | None = None,
        takeover_after: timedelta = DEFAULT_TAKEOVER,
    ) -> None:
        self.files, self.root = files, root.rstrip("/")
        self.owner = owner or default_owner()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.takeover_after = takeover_after

    @classmethod
    def for_settings(cls, settings: Settings, **kwargs: Any) -> ClaimStore:
        files, root = exclusive_files(settings)
        return cls(files, root, **kwargs)

    # -- paths ---------------------------------------------------------------------------------
    def _base(self, run_id: str, attempt: int) -> str:
        return f"{self.root}/{CLAIMS_DIR}/{run_id}/a{attempt}"

    def claim_path(self, run_id: str, attempt: int, generation: int = 0) -> str:
        suffix = "" if generation == 0 else f".g{generation}"
        return f"{self._base(run_id, attempt)}{suffix}.json"

    def job_path(self, run_id: str, attempt: int) -> str:
        return f"{self._base(run_id, attempt)}.job.json"

    # -- claims --------------------------------------------------------------------------------
    def acquire(self, run_id: str, attempt: int, job_name: str, at: datetime) -> ClaimState:
        """Claim the attempt, or learn who holds it (and its job, if one is recorded)."""
        mine = self._new(run_id, attempt, 0, job_name, at)
        if self.files.create(mine.path, mine.body()):
            return ClaimState(mine, won=True)
        return self.current(run_id, attempt)

    def acquire_many(
        self, wanted: Sequence[tuple[str, int, str, datetime]]
    ) -> list[ClaimState | TransientError]:
        """``acquire`` of each (run id, attempt, job name, at), made durable together."""
        mine = [self._new(run_id, attempt, 0, name, at) for run_id, attempt, name, at in wanted]
        made = create_all(self.files, [(c.path, c.body()) for c in mine])
        out: list[ClaimState | TransientError] = []
        for claim, created in zip(mine, made, strict=True):
            if created is True:
                out.append(ClaimState(claim, won=True))
                continue
            try:
                out.append(created if isinstance(created, TransientError)
                           else self.current(claim.run_id, claim.attempt))
            except TransientError as e:
                out.append(e)
        return out

    def current(self, run_id: str, attempt: int) -> ClaimState:
        """The latest generation of the attempt's claim (raises TransientError if none)."""
        latest: Claim | None = None
        for generation in range(_MAX_GENERATIONS):
            raw = self.files.read(self.claim_path(run_id, attempt, generation))
            if raw is None:
                break
            latest = self._parse(raw, self.claim_path(run_id, attempt, generation))
        if latest is None:  # the first read raced with a takeover's cleanup: never deleted, so
            raise TransientError(f"claim on attempt {attempt} of run {run_id} is not readable")
        released = self.files.read(self._released_path(latest)) is not None
        return ClaimState(latest, won=False, job_id=self.job_of(run_id, attempt), released=released)

    def can_take_over(self, state: ClaimState) -> bool:
        """The takeover rule (module docstring): released, holder gone, or too old."""
        if state.job_id is not None:
            return False
        c = state.claim
        return (
            state.released
            or _holder_is_gone(c.claimed_by)
            or self.clock() - c.claimed_at >= self.takeover_after
        )

    def take_over(self, state: ClaimState) -> ClaimState:
        """Create the next generation; ``won`` tells whether this caller got it."""
        c = state.claim
        mine = self._new(c.run_id, c.attempt, c.generation + 1, c.job_name, c.at)
        if self.files.create(mine.path, mine.body()):
            return ClaimState(mine, won=True)
        return self.current(c.run_id, c.attempt)

    def release(self, claim: Claim, reason: str) -> None:
        """Give a held claim up after a failed submission, so a retry can take over at once."""
        body = json.dumps(
            {"released_by": self.owner, "reason": reason, "released_at": self.clock().isoformat()}
        ).encode()
        self.files.create(self._released_path(claim), body)

    def record_job(self, run_id: str, attempt: int, job_id: str) -> str:
        """Record the attempt's job; returns the job recorded first (another one if raced)."""
        if self.files.create(self.job_path(run_id, attempt), self._job_body(job_id)):
            return job_id
        recorded = self.job_of(run_id, attempt)
        if recorded is None:
            raise TransientError(f"job record of attempt {attempt} of run {run_id} unreadable")
        return recorded

    def record_jobs(self, jobs: Sequence[tuple[str, int, str]]) -> list[str | TransientError]:
        """``record_job`` of each (run id, attempt, job id), made durable together."""
        made = create_all(self.files, [(self.job_path(run_id, attempt), self._job_body(job_id))
                                       for run_id, attempt, job_id in jobs])
        out: list[str | TransientError] = []
        for (run_id, attempt, job_id), created in zip(jobs, made, strict=True):
            if created is True or isinstance(created, TransientError):
                out.append(job_id if created is True else created)
                continue
            try:
                recorded = self.job_of(run_id, attempt)
            except TransientError as e:
                recorded = None
                out.append(e)
                continue
            out.append(recorded if recorded is not None else TransientError(
                f"job record of attempt {attempt} of run {run_id} unreadable"))
        return out

    def _job_body(self, job_id: str) -> bytes:
        return json.dumps(
            {"job_id": job_id, "recorded_by": self.owner, "recorded_at": self.clock().isoformat()}
        ).encode()

    def job_of(self, run_id: str, attempt: int) -> str | None:
        raw = self.files.read(self.job_path(run_id, attempt))
        return json.loads(raw)["job_id"] if raw else None

    def _released_path(self, claim: Claim) -> str:
        return claim.path.removesuffix(".json") + (
            ".released" if claim.generation else ".g0.released"
        )

    def _new(
        self, run_id: str, attempt: int, generation: int, job_name: str, at: datetime
    ) -> Claim:
        return Claim(
            run_id,
            attempt,
            generation,
            job_name,
            self.owner,
            self.clock(),
            at.astimezone(UTC),
            self.claim_path(run_id, attempt, generation),
        )

    @staticmethod
    def _parse(raw: bytes, path: str) -> Claim:
        d = json.loads(raw)
        return Claim(
            d["run_id"],
            int(d["attempt"]),
            int(d["generation"]),
            d["job_name"],
            d["claimed_by"],
            datetime.fromisoformat(d["claimed_at"]),
            datetime.fromisoformat(d["at"]),
            path,
        )

    # -- locks ---------------------------------------------------------------------------------
    def lock(
        self,
        name: str,
        *,
        wait_s: float = 30.0,
        stale_after: timedelta = timedelta(hours=1),
        poll_s: float = 0.2,
    ) -> Lock | None:
        """Hold the named lock, waiting up to ``wait_s``; None if another holder keeps it.

        A lock older than ``stale_after`` (its holder died without deleting it) is broken.
        """
        path = f"{self.root}/{LOCKS_DIR}/{name}.lock"
        deadline = time.monotonic() + wait_s
        while True:
            body = json.dumps({"held_by": self.owner, "since": self.clock().isoformat()}).encode()
            if self.files.create(path, body):
                return Lock(self.files, path, self.owner)
            holder = self.lock_holder(name)
            if holder is not None and (
                _holder_is_gone(holder[0]) or self.clock() - holder[1] >= stale_after
            ):
                self.files.delete(path)  # a dead holder's lock; the create above races fairly
                continue
            if time.monotonic() >= deadline:
                return None
            time.sleep(poll_s)

    def lock_holder(self, name: str) -> tuple[str, datetime] | None:
        raw = self.files.read(f"{self.root}/{LOCKS_DIR}/{name}.lock")
        if raw is None:
            return None
        d = json.loads(raw)
        return d["held_by"], datetime.fromisoformat(d["since"])


@dataclass
class Lock:
    files: ExclusiveFiles
    path: str
    owner: str

    def release(self) -> None:
        self.files.delete(self.path)

    def __enter__(self) -> Lock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
