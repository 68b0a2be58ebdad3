"""Settings, read once at the edge (``Settings.from_env``) and passed down.

The lake location decides the back end: a folder path means the local file system, an
``s3://bucket/prefix`` URI means S3 (or an S3-compatible server given by an endpoint).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lake.errors import ConfigError

DEFAULT_LAKE = ".seqledger/lake"
DEFAULT_PROJECTS = ".seqledger/projects.toml"
DEFAULT_OUTPUTS = ".seqledger/outputs"
LAKE_ENV = "SEQLEDGER_LAKE"
EXECUTORS = ("simulated", "local", "batch")
RETRY_ENV = "SEQLEDGER_STORAGE_RETRY_S"


@dataclass(frozen=True, slots=True)
class S3Options:
    """How to reach S3: region and an optional endpoint for S3-compatible servers."""

    region: str = "us-east-1"
    endpoint_url: str | None = None  # e.g. http://127.0.0.1:8333 for SeaweedFS
    access_key: str | None = None
    secret_key: str | None = None
    session_token: str | None = None  # temporary credentials (Lambda, assumed roles)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable, with the embedded default for each field."""

    lake_uri: str = DEFAULT_LAKE
    s3: S3Options = field(default_factory=S3Options)
    query_engine: str = "duckdb"  # or "athena"
    athena_workgroup: str = "seqledger"
    athena_database: str = "seqledger"  # the Glue database of the lake's tables and views
    athena_output: str | None = None  # s3:// results location; None: the workgroup's own
    athena_max_scan_bytes: int | None = None  # stop an Athena query that scans more than this
    # The runner: where jobs go and who pays for them.
    executor: str = "simulated"  # simulated | local | batch
    spot_queue: str = "dragen-spot"
    on_demand_queue: str = "dragen-on-demand"
    job_definition: str = "seqledger-dragen"
    projects_file: str = DEFAULT_PROJECTS
    output_prefix: str = DEFAULT_OUTPUTS
    pipeline_release: str = "dragen-4.2.4"
    local_command: str | None = None  # command template for the local executor
    # A DRAGEN job's resources and timeout. On AWS the stack sets them from the same parameters
    # as the job definition (DragenVcpus, DragenMemoryMiB, JobTimeoutSeconds), so what the runner
    # submits is what the stack says; unset, the runner sizes jobs from its instance types.
    job_vcpus: int | None = None
    job_memory_mib: int | None = None
    job_timeout_s: int | None = None
    # where the project and sample are in an input key (ingest/layout.py); None: the default
    input_layout: str | None = None
    # How long the store retries a transient storage error (S3 503/500, a reset, a timeout),
    # with backoff and jitter, before it gives up with an error.
    storage_retry_s: float = 60.0
    # Refuse production dispatches on a release whose latest validation did not pass.
    require_validated_release: bool = False
    validation_projects: tuple[str, ...] = ("giab-validation",)
    # How the DRAGEN licence is priced (pipeline_runner.licence): the model and, when the contract
    # says, whether attempts that did not finish are metered.
    licence_model: str = "per_gbase"
    licence_failed: str | None = None
    # The dashboards: the month's spend is shown against this budget when set; a run open longer
    # than this many hours is listed as needing attention.
    monthly_budget_usd: float | None = None
    stuck_after_h: float = 24.0
    # Sign-in through the center's identity provider (OpenID Connect) for a dashboard served to
    # a team: all of issuer, client id and secret, and the app's public URL, or none of them.
    oidc: OidcOptions | None = None
    # Where the billing export (CUR 2.0 Data Export, or legacy CUR) writes its files: the
    # scheduled loader (ingest.cur_exports) reads new ones from here. None: not configured.
    billing_exports: str | None = None

    @property
    def lake_is_s3(self) -> bool:
        return self.lake_uri.startswith("s3://")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from environment variables; the only reader of ``os.environ``."""
        env = os.environ if environ is None else environ
        lake_uri = env.get(LAKE_ENV, DEFAULT_LAKE).strip()
        if not lake_uri:
            raise ConfigError(f"{LAKE_ENV} is set but empty; give a folder or s3://bucket/prefix")
        if lake_uri.startswith("s3://"):
            if len(lake_uri) <= len("s3://") or lake_uri[len("s3://") :].startswith("/"):
                raise ConfigError(f"{LAKE_ENV}={lake_uri!r} has no bucket name")
            lake_uri = lake_uri.rstrip("/")
        elif "://" in lake_uri:
            raise ConfigError(f"{LAKE_ENV}={lake_uri!r}: only folders and s3:// URIs are supported")
        else:
            lake_uri = str(Path(lake_uri).expanduser().resolve())
        engine = env.get("SEQLEDGER_QUERY_ENGINE", "duckdb")
        if engine not in ("duckdb", "athena"):
            raise ConfigError(f"SEQLEDGER_QUERY_ENGINE={engine!r}: expected duckdb or athena")
        s3 = S3Options(
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            # pyarrow ignores AWS_ENDPOINT_URL*, so read it here and pass it on explicitly.
            endpoint_url=env.get("SEQLEDGER_S3_ENDPOINT")
            or env.get("AWS_ENDPOINT_URL_S3")
            or env.get("AWS_ENDPOINT_URL"),
            access_key=env.get("AWS_ACCESS_KEY_ID"),
            secret_key=env.get("AWS_SECRET_ACCESS_KEY"),
            session_token=env.get("AWS_SESSION_TOKEN"),
        )
        max_scan = env.get("SEQLEDGER_ATHENA_MAX_SCAN_BYTES", "").strip()
        if max_scan and not (max_scan.isdigit() and int(max_scan) > 0):
            raise ConfigError(
                f"SEQLEDGER_ATHENA_MAX_SCAN_BYTES={max_scan!r}: expected a positive whole number "
                "of bytes")
        output = env.get("SEQLEDGER_ATHENA_OUTPUT", "").strip() or None
        if output and not output.startswith("s3://"):
            raise ConfigError(f"SEQLEDGER_ATHENA_OUTPUT={output!r}: expected s3://bucket/prefix/")
        executor = env.get("SEQLEDGER_EXECUTOR", "simulated")
        if executor not in EXECUTORS:
            raise ConfigError(f"SEQLEDGER_EXECUTOR={executor!r}: expected one of {EXECUTORS}")
        retry_text = env.get(RETRY_ENV, "60")
        try:
            retry_s = float(retry_text)
        except ValueError:
            retry_s = -1.0
        if not 0 <= retry_s <= 3600:
            raise ConfigError(f"{RETRY_ENV}={retry_text!r}: expected seconds from 0 to 3600")
        outputs = env.get("SEQLEDGER_OUTPUT_PREFIX", DEFAULT_OUTPUTS)
        if "://" not in outputs:
            outputs = str(Path(outputs).expanduser().resolve())
        return cls(
            lake_uri=lake_uri,
            s3=s3,
            query_engine=engine,
            athena_workgroup=env.get("SEQLEDGER_ATHENA_WORKGROUP", "seqledger"),
            # SEQLEDGER_ATHENA_DATABASE is the older name, still honoured
            athena_database=env.get("SEQLEDGER_GLUE_DATABASE")
            or env.get("SEQLEDGER_ATHENA_DATABASE", "seqledger"),
            athena_output=output,
            athena_max_scan_bytes=int(max_scan) if max_scan else None,
            executor=executor,
            spot_queue=env.get("SEQLEDGER_SPOT_QUEUE", "dragen-spot"),
            on_demand_queue=env.get("SEQLEDGER_ONDEMAND_QUEUE", "dragen-on-demand"),
            job_definition=env.get("SEQLEDGER_JOB_DEFINITION", "seqledger-dragen"),
            projects_file=env.get("SEQLEDGER_PROJECTS", DEFAULT_PROJECTS),
            output_prefix=outputs,
            pipeline_release=env.get("SEQLEDGER_PIPELINE_RELEASE", "dragen-4.2.4"),
            local_command=env.get("SEQLEDGER_LOCAL_COMMAND"),
            job_vcpus=_positive_int(env, "SEQLEDGER_JOB_VCPUS"),
            job_memory_mib=_positive_int(env, "SEQLEDGER_JOB_MEMORY_MIB"),
            job_timeout_s=_positive_int(env, "SEQLEDGER_JOB_TIMEOUT_S"),
            input_layout=env.get("SEQLEDGER_INPUT_LAYOUT") or None,
            storage_retry_s=retry_s,
            require_validated_release=_flag(env, "SEQLEDGER_REQUIRE_VALIDATED_RELEASE"),
            licence_model=_choice(env, "SEQLEDGER_LICENCE_MODEL", LICENCE_MODELS, "per_gbase"),
            licence_failed=_choice(env, "SEQLEDGER_LICENCE_FAILED", ("metered", "free"), None),
            monthly_budget_usd=_positive_float(env, "SEQLEDGER_MONTHLY_BUDGET_USD"),
            stuck_after_h=_positive_float(env, "SEQLEDGER_STUCK_AFTER_H") or 24.0,
            oidc=_oidc(env),
            billing_exports=env.get("SEQLEDGER_BILLING_EXPORTS", "").strip() or None,
            validation_projects=tuple(
                p.strip()
                for p in env.get("SEQLEDGER_VALIDATION_PROJECTS", "giab-validation").split(",")
                if p.strip()
            ),
        )


def _positive_int(env: Mapping[str, str], name: str) -> int | None:
    """An optional whole-number setting; unset or empty is None."""
    text = (env.get(name) or "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"{name}={text!r}: expected a whole number greater than 0")
    return int(text)


def _positive_float(env: Mapping[str, str], name: str) -> float | None:
    """An optional number setting greater than 0; unset or empty is None."""
    text = (env.get(name) or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"{name}={text!r}: expected a number greater than 0")
    return value


@dataclass(frozen=True, slots=True)
class OidcOptions:
    """An OpenID Connect client of the center's identity provider (Streamlit's ``st.login``)."""

    issuer_url: str  # the provider's .well-known/openid-configuration URL (or its issuer)
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str  # https://<the app's public address>/oauth2callback
    cookie_secret: str | None = field(default=None, repr=False)  # None: a new one per start

    @property
    def metadata_url(self) -> str:
        url = self.issuer_url.rstrip("/")
        suffix = "/.well-known/openid-configuration"
        return url if url.endswith(suffix) else url + suffix


OIDC_ENV = ("SEQLEDGER_OIDC_ISSUER", "SEQLEDGER_OIDC_CLIENT_ID", "SEQLEDGER_OIDC_CLIENT_SECRET",
            "SEQLEDGER_OIDC_REDIRECT_URI")


def _oidc(env: Mapping[str, str]) -> OidcOptions | None:
    values = [(env.get(n) or "").strip() for n in OIDC_ENV]
    if not any(values):
        return None
    missing = [n for n, v in zip(OIDC_ENV, values, strict=True) if not v]
    if missing:
        raise ConfigError(f"OIDC sign-in is half configured: set {', '.join(missing)} too "
                          "(or unset every SEQLEDGER_OIDC_* setting)")
    issuer, client_id, secret, redirect = values
    if not redirect.endswith("/oauth2callback"):
        raise ConfigError(f"SEQLEDGER_OIDC_REDIRECT_URI={redirect!r}: expected the app's address "
                          "ending in /oauth2callback, e.g. https://dash.example.org/oauth2callback")
    return OidcOptions(issuer, client_id, secret, redirect,
                       (env.get("SEQLEDGER_OIDC_COOKIE_SECRET") or "").strip() or None)


def _flag(env: Mapping[str, str], name: str) -> bool:
    """A boolean setting: 1/true/yes/on or 0/false/no/off (or unset)."""
    value = env.get(name, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name}={value!r}: expected true or false")


LICENCE_MODELS = ("per_gbase", "per_sample", "per_instance_hour", "prepaid")


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...],
            default: str | None) -> str | None:
    value = env.get(name, "").strip()
    if not value:
        return default
    if value not in allowed:
        raise ConfigError(f"{name}={value!r}: expected one of {', '.join(allowed)}")
    return value
