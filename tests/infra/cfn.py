"""Template helpers for the infra tests: load templates as plain dicts, and package them for a
deployment the way ``aws cloudformation package`` does (local artefacts -> S3 objects)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

INFRA = Path(__file__).resolve().parents[2] / "infra"
ROOT_TEMPLATE = INFRA / "seqledger.yaml"
TEMPLATES = (ROOT_TEMPLATE, INFRA / "generated" / "glue-tables.json")

Upload = Callable[[str, bytes], str]  # (key, body) -> bucket the object went to


def load(path: Path) -> dict[str, Any]:
    """A template as plain JSON values, intrinsic functions in their long form (Fn::Sub …)."""
    from cfnlint.decode import decode

    template, matches = decode(str(path))
    if matches:
        raise ValueError(f"{path}: {[str(m) for m in matches]}")
    return json.loads(json.dumps(template))


def package(path: Path, upload: Upload, artefacts: dict[str, Path] | None = None) -> dict[str, Any]:
    """The template at ``path`` with local Lambda code and nested templates uploaded.

    ``artefacts`` maps a local code path as written in the template to the file to upload in
    its place (the tests upload a stand-in when the real package is not built).
    """
    template = load(path)
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Lambda::Function" and isinstance(props.get("Code"), str):
            local = (artefacts or {}).get(props["Code"]) or (path.parent / props["Code"])
            body = Path(local).read_bytes()
            key = hashlib.md5(body).hexdigest()  # noqa: S324 - content address, as the CLI does
            props["Code"] = {"S3Bucket": upload(key, body), "S3Key": key}
        if resource["Type"] == "AWS::CloudFormation::Stack" and "://" not in props["TemplateURL"]:
            nested = package(path.parent / props["TemplateURL"], upload, artefacts)
            body = json.dumps(nested).encode()
            key = hashlib.md5(body).hexdigest() + ".template"  # noqa: S324
            bucket = upload(key, body)
            props["TemplateURL"] = f"https://s3.amazonaws.com/{bucket}/{key}"
    return template


def statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every IAM-style policy statement in a template, with the resource that holds it."""
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        docs = [props.get(k) for k in ("PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument")]
        docs += [p.get("PolicyDocument") for p in props.get("Policies", [])]
        for doc in docs:
            if isinstance(doc, dict) and "Fn::Sub" in doc:
                continue  # a JSON string built with Fn::Sub (checked where it is parsed)
            if isinstance(doc, dict):
                stmts = doc.get("Statement", [])
                for s in stmts if isinstance(stmts, list) else [stmts]:
                    yield name, s
