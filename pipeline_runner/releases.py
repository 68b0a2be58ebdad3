"""Which releases may run production samples: those whose latest validation passed.

With ``SEQLEDGER_REQUIRE_VALIDATED_RELEASE`` set, a dispatch of a production sample under a
release whose latest ``release_validations`` verdict is not pass (or pass with warnings) is
refused with the reason. Samples of the validation projects (``SEQLEDGER_VALIDATION_PROJECTS``)
always run: they are how a release gets validated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from lake.store import LakeStore

Gate = Callable[[str, str], "str | None"]  # (project, release) -> why refused, or None


def latest_verdicts(rows: Iterable[Mapping]) -> dict[str, str]:
    """release -> the verdict of its latest validation, from ``release_validations`` rows."""
    latest: dict[str, tuple] = {}
    for r in rows:
        if r.get("check_id") != "overall":
            continue
        key = (r["evaluated_at"], r["recorded_at"])
        if r["pipeline_release"] not in latest or key > latest[r["pipeline_release"]][0]:
            latest[r["pipeline_release"]] = (key, r["verdict"])
    return {release: verdict for release, (_, verdict) in latest.items()}


def make_gate(verdicts: Mapping[str, str], validation_projects: Iterable[str]) -> Gate:
    """The refusal rule over known verdicts (pure)."""
    exempt = frozenset(validation_projects)

    def refuse(project: str, release: str) -> str | None:
        if project in exempt:
            return None
        verdict = verdicts.get(release)
        if verdict in ("pass", "warn"):
            return None
        state = "failed its validation" if verdict == "fail" else "has not been validated"
        return (f"release {release} {state}; production samples run only on a validated release "
                f"(run `seqledger release validate --release {release}`, or unset "
                "SEQLEDGER_REQUIRE_VALIDATED_RELEASE)")

    return refuse


def release_gate(store: LakeStore, validation_projects: Iterable[str]) -> Gate:
    """The gate over the lake's validations (a small table: one row per check per validation)."""
    rows = store.read("release_validations").select(
        ["pipeline_release", "check_id", "verdict", "evaluated_at", "recorded_at"]).to_pylist()
    return make_gate(latest_verdicts(rows), validation_projects)
