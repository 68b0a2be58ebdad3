"""Who pays for a project's runs: the registry that fills the requester and cost-centre tags.

Kept as reviewed data (a TOML file, ``SEQLEDGER_PROJECTS``), because a run whose spend nobody
owns is refused at submission rather than priced to "unassigned".

    [projects.cardio-wgs]
    cost_centre = "CC-1001"
    requested_by = "a.lee"
    pipeline_release = "dragen-4.2.4"   # optional, overrides the runner's default

    [projects.cardio-wgs.retention]     # optional (pipeline_runner.retention)
    archive = ["alignment", "reads"]
    standard_days = 30
    then = "DEEP_ARCHIVE"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass

from lake.errors import ConfigError, SubmitError
from pipeline_runner.retention import DEFAULT_RETENTION, RetentionPolicy, parse_retention


@dataclass(frozen=True, slots=True)
class ProjectTags:
    cost_centre: str
    requested_by: str
    pipeline_release: str | None = None
    retention: RetentionPolicy = DEFAULT_RETENTION


@dataclass(frozen=True, slots=True)
class ProjectRegistry:
    projects: dict[str, ProjectTags]

    def retention_for(self, project: str | None) -> RetentionPolicy:
        """The project's retention policy; the default for a project not registered here."""
        entry = self.projects.get(project or "")
        return entry.retention if entry else DEFAULT_RETENTION

    def tags_for(self, project: str | None, sample_id: str) -> ProjectTags:
        """The project's tags; ``SubmitError`` naming the sample when it has none."""
        if project is None:
            raise SubmitError(
                f"sample {sample_id}: the input layout (SEQLEDGER_INPUT_LAYOUT) finds no project "
                "folder in the object key, so nobody pays for it"
            )
        try:
            return self.projects[project]
        except KeyError:
            # Never "register it": the folder may be a date or a batch, not a project.
            known = ", ".join(sorted(self.projects)[:10]) or "none"
            raise SubmitError(
                f"sample {sample_id}: no folder of the object key names a registered project "
                f"(the input layout read {project!r}; SEQLEDGER_PROJECTS has {known}); fix the "
                "key or SEQLEDGER_INPUT_LAYOUT, or register the project that pays for it"
            ) from None


def parse_projects(text: str, source: str) -> ProjectRegistry:
    """A registry from TOML text; ``ConfigError`` naming ``source`` when it is malformed."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source}: not valid TOML: {e}") from e
    projects = {}
    for name, entry in (data.get("projects") or {}).items():
        if not isinstance(entry, dict):
            raise ConfigError(f"{source}: [projects.{name}] must be a table")
        missing = [k for k in ("cost_centre", "requested_by") if not entry.get(k)]
        if missing:
            raise ConfigError(f"{source}: [projects.{name}] lacks {', '.join(missing)}")
        unknown = set(entry) - {"cost_centre", "requested_by", "pipeline_release", "retention"}
        if unknown:
            raise ConfigError(f"{source}: [projects.{name}] has unknown key(s) {sorted(unknown)}")
        retention = entry.get("retention", {})
        if not isinstance(retention, dict):
            raise ConfigError(f"{source}: [projects.{name}.retention] must be a table")
        projects[name] = ProjectTags(
            str(entry["cost_centre"]), str(entry["requested_by"]), entry.get("pipeline_release"),
            parse_retention(retention, f"{source}: [projects.{name}.retention]"),
        )
    return ProjectRegistry(projects)
