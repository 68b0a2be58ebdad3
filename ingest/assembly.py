"""Build the event service from settings: the one place that picks implementations.

Choosing local or AWS is configuration (``SEQLEDGER_EXECUTOR``, ``SEQLEDGER_LAKE``), never a
check of where the code runs.
"""

from __future__ import annotations

import shlex
from datetime import datetime

from lake.errors import ConfigError
from lake.settings import Settings
from lake.store import LakeStore, read_text
from pipeline_runner.licence import LicenceTerms
from pipeline_runner.projects import ProjectRegistry, parse_projects
from pipeline_runner.service import Runner
from pipeline_runner.workflows import RunnerConfig


def load_projects(settings: Settings) -> ProjectRegistry:
    """The project registry; an empty one (every dispatch refused) when the file is missing."""
    try:
        text = read_text(settings, settings.projects_file)
    except FileNotFoundError:
        return ProjectRegistry({})
    except OSError as e:
        raise ConfigError(f"SEQLEDGER_PROJECTS={settings.projects_file}: cannot read: {e}") from e
    return parse_projects(text, settings.projects_file)


def make_executor(settings: Settings, now: datetime | None = None):
    """The executor ``settings.executor`` names."""
    if settings.executor == "batch":
        from pipeline_runner.executors.batch import BatchExecutor

        return BatchExecutor.create(settings.job_definition, region=settings.s3.region,
                                    queues=(settings.spot_queue, settings.on_demand_queue))
    if settings.executor == "local":
        from pipeline_runner.executors.local import LocalExecutor

        template = shlex.split(settings.local_command) if settings.local_command else None
        return LocalExecutor(template)
    from pipeline_runner.executors.simulated import SimulatedBatch

    return SimulatedBatch(seed=0, clock_start=now, instance_events=True)


def instance_describer(settings: Settings, executor):
    """Where instance attributes come from: EC2 DescribeInstances on AWS, the simulated
    executor's own instances on the embedded default; None for a local DRAGEN server."""
    from ingest.ec2_describe import describer

    if settings.executor == "batch":
        clients: list = []

        def describe(instance_ids: list[str]) -> list[dict]:
            # the client is made on first use: the dispatcher never needs one
            if not clients:
                import boto3

                clients.append(boto3.client("ec2", region_name=settings.s3.region))
            return describer(clients[0], settings.s3.region)(instance_ids)

        return describe
    if hasattr(executor, "describe_instances"):
        return describer(executor, getattr(executor, "region", None))
    return None


def container_instance_resolver(settings: Settings):
    """Where an attempt's EC2 instance id comes from when Batch's reason does not name it: ECS
    DescribeContainerInstances on AWS. None elsewhere: the simulated executor names the host
    only in a reclaim's reason, as Batch does, and keeps the demo's figures as they are."""
    if settings.executor != "batch":
        return None
    from ingest.ecs_describe import ContainerInstances

    class _LazyEcs:  # the client is made on first use: the dispatcher never needs one
        client = None

        def describe_container_instances(self, **kw):
            if self.client is None:
                import boto3

                self.client = boto3.client("ecs", region_name=settings.s3.region)
            return self.client.describe_container_instances(**kw)

    return ContainerInstances(_LazyEcs())


def load_layout(settings: Settings):
    """The input layout ``SEQLEDGER_INPUT_LAYOUT`` names (the default when unset)."""
    from ingest.layout import DEFAULT, LayoutError, parse_layout

    if settings.input_layout is None:
        return DEFAULT
    try:
        return parse_layout(settings.input_layout)
    except LayoutError as e:
        raise ConfigError(str(e)) from e


def build_event_service(settings: Settings, executor=None, now: datetime | None = None):
    """An EventService over the configured lake, executor, projects and prices."""
    from ingest.results import spend_estimator
    from ingest.service import EventService

    store = LakeStore(settings)
    resources: dict = {"job_vcpus": settings.job_vcpus, "job_memory_mib": settings.job_memory_mib}
    if settings.job_timeout_s:
        resources["job_timeout_s"] = settings.job_timeout_s
    config = RunnerConfig(
        spot_queue=settings.spot_queue,
        on_demand_queue=settings.on_demand_queue,
        output_prefix=settings.output_prefix,
        pipeline_release=settings.pipeline_release,
        **resources,
    )
    executor = executor or make_executor(settings, now)
    runner = Runner(store, executor, config)
    gate = None
    if settings.require_validated_release:
        from pipeline_runner.releases import release_gate

        gate = release_gate(store, settings.validation_projects)
    licence = LicenceTerms(settings.licence_model, settings.licence_failed)
    prices = price_book(store)
    # The spend cap is a rule of every path (CLI, Lambda), so it is wired here, not per caller.
    runner.estimate_spend = spend_estimator(runner, prices, licence)
    return EventService(
        store,
        runner,
        load_projects(settings),
        prices,
        output_prefix=settings.output_prefix,
        pipeline_release=settings.pipeline_release,
        layout=load_layout(settings),
        release_gate=gate,
        licence=licence,
        describe_instances=instance_describer(settings, executor),
        container_instances=container_instance_resolver(settings),
    )


def price_book(store: LakeStore):
    """The shipped price tables with the licence rate configured in the lake, if any (what
    ``seqledger ingest prices --licence-rate-usd`` wrote): estimates use the rate you set."""
    from pipeline_runner.prices import PriceBook

    try:
        rows = store.read("prices").to_pylist()
    except FileNotFoundError:
        rows = []
    return PriceBook.load_default().with_lake_licence(rows)
