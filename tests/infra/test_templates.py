"""Static checks of the CloudFormation templates: lint, least privilege, tags and settings.

These cover every resource, including the ones moto's CloudFormation cannot create (bucket
policies, lifecycle and public-access settings, alarms, the Athena workgroup, Glue tables);
test_moto_deploy.py deploys the stack and checks what moto does create.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import seqledger.cli  # noqa: F401  (loads the command modules in order)
from seqledger import lambda_build
from seqledger.commands import infra as infra_commands
from tests.infra.cfn import ROOT_TEMPLATE, TEMPLATES, load, statements

COST_TAGS = ("project", "cost_centre")
ARCHIVE_TAG = {"Key": "seqledger:archive", "Value": "true"}


@pytest.fixture(scope="module")
def root() -> dict:
    return load(ROOT_TEMPLATE)


def _of_type(template: dict, type_: str) -> dict[str, dict]:
    return {k: r["Properties"] for k, r in template["Resources"].items() if r["Type"] == type_}


def _ref(name: str) -> dict:
    return {"Ref": name}


def _arn(name: str) -> dict:
    return {"Fn::GetAtt": [name, "Arn"]}


# -- lint ------------------------------------------------------------------------------------

def test_cfn_lint_is_clean():
    exe = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(exe), *map(str, TEMPLATES)], capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_only_the_package_warning_is_ignored_and_it_says_why():
    text = ROOT_TEMPLATE.read_text()
    assert load(ROOT_TEMPLATE)["Metadata"]["cfn-lint"]["config"]["ignore_checks"] == ["W3002"]
    assert "aws cloudformation package" in text.split("- W3002")[0].rsplit("ignore_checks", 1)[1]


# -- least privilege -----------------------------------------------------------------------------

def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def wildcard_grants(template: dict) -> list[str]:
    """Allow statements granting a whole service (or everything) on every resource."""
    found = []
    for holder, s in statements(template):
        if s.get("Effect") != "Allow" or "*" not in _as_list(s.get("Resource", [])):
            continue
        found += [f"{holder}: {action} on *" for action in _as_list(s.get("Action", []))
                  if isinstance(action, str) and (action == "*" or action.endswith(":*"))]
    return found


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_no_statement_allows_a_wildcard_action_on_every_resource(path):
    template = load(path)
    assert wildcard_grants(template) == []


def test_the_wildcard_check_finds_one():
    template = {"Resources": {"Bad": {"Type": "AWS::IAM::Policy", "Properties": {
        "PolicyDocument": {"Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "*"], "Resource": "*"},
            {"Effect": "Allow", "Action": "batch:*", "Resource": ["*"]},
            {"Effect": "Deny", "Action": "*", "Resource": "*"}]}}}}}
    assert wildcard_grants(template) == ["Bad: * on *", "Bad: batch:* on *"]


def test_the_statements_checked_include_every_policy(root):
    holders = {holder for holder, _ in statements(root)}
    expected = set(_of_type(root, "AWS::IAM::Policy")) | set(_of_type(root, "AWS::IAM::Role"))
    expected |= set(_of_type(root, "AWS::S3::BucketPolicy")) | {"DataKey"}
    expected |= set(_of_type(root, "AWS::SNS::TopicPolicy"))
    expected |= set(_of_type(root, "AWS::SQS::QueuePolicy"))
    assert expected <= holders


def test_one_role_per_function_and_per_job(root):
    roles = _of_type(root, "AWS::IAM::Role")
    functions = _of_type(root, "AWS::Lambda::Function")
    assert len({f["Role"]["Fn::GetAtt"][0] for f in functions.values()}) == len(functions) == 4
    job_role = _of_type(root, "AWS::Batch::JobDefinition")["DragenJobDefinition"][
        "ContainerProperties"]["JobRoleArn"]
    assert job_role == _arn("DragenJobRole")
    principals = {k: r["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
                  for k, r in roles.items()}
    assert principals["DragenJobRole"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert all(principals[f["Role"]["Fn::GetAtt"][0]] == {"Service": "lambda.amazonaws.com"}
               for f in functions.values())


def test_key_policy_lets_only_seqledger_roles_use_the_key(root):
    policy = root["Resources"]["DataKey"]["Properties"]["KeyPolicy"]["Statement"]
    by_sid = {s["Sid"]: s for s in policy}
    users = by_sid["UseBySeqledgerRoles"]["Principal"]["AWS"]
    assert users == [_arn(r) for r in ("DispatcherRole", "RecorderRole", "CompactorRole",
                                       "BillingLoaderRole", "DragenJobRole", "QcGateJobRole",
                                       "LakeReaderRole", "OperatorRole")]
    admin = by_sid["KeyAdministration"]["Action"]
    assert not {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:*"} & set(admin)
    for s in policy:  # services only from this account
        if "Service" in s["Principal"]:
            cond = s["Condition"]
            assert "aws:SourceAccount" in cond.get("StringEquals", {}) or "ArnLike" in cond


# -- cost-allocation tags --------------------------------------------------------------------

def _tags(props: dict) -> dict[str, object]:
    tags = props.get("Tags", {})
    if isinstance(tags, list):
        return {t.get("Key"): t.get("Value") for t in tags}
    return dict(tags)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_every_taggable_resource_carries_the_cost_allocation_tags(path):
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    template = load(path)
    untagged = []
    for name, resource in template["Resources"].items():
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource["Type"]).schema
        props = resource.get("Properties", {})
        if "Tags" in schema.get("properties", {}):
            tags = _tags(props)
        elif "TagSpecifications" in schema.get("properties", {}):
            tags = {t["Key"]: t["Value"] for spec in props.get("TagSpecifications", [])
                    for t in spec["Tags"]}
        else:
            continue  # Glue tables, policies, permissions … take no tags
        if [t for t in COST_TAGS if tags.get(t) != _ref({"project": "Project",
                                                          "cost_centre": "CostCentre"}[t])]:
            untagged.append(name)
    assert untagged == []


def test_batch_instances_and_volumes_are_tagged_too(root):
    ce = _of_type(root, "AWS::Batch::ComputeEnvironment")
    for props in ce.values():
        if props["ComputeResources"]["Type"] == "FARGATE":
            continue  # the QC gate's: no instances or volumes of its own to tag
        assert {t: props["ComputeResources"]["Tags"][t] for t in COST_TAGS} == {
            "project": _ref("Project"), "cost_centre": _ref("CostCentre")}
    data = root["Resources"]["HostLaunchTemplate"]["Properties"]["LaunchTemplateData"]
    volume_tags = {t["Key"] for t in data["TagSpecifications"][0]["Tags"]}
    assert set(COST_TAGS) <= volume_tags


def test_jobs_propagate_their_tags(root):
    jd = root["Resources"]["DragenJobDefinition"]["Properties"]
    assert jd["PropagateTags"] is True


# -- buckets --------------------------------------------------------------------------------------

DATA_BUCKETS = ("InputBucket", "ResultsBucket", "LakeBucket")


def test_data_buckets_are_private_encrypted_versioned_and_logged(root):
    buckets = _of_type(root, "AWS::S3::Bucket")
    assert set(buckets) == {*DATA_BUCKETS, "AccessLogsBucket"}
    for name, props in buckets.items():
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True, "BlockPublicPolicy": True,
            "IgnorePublicAcls": True, "RestrictPublicBuckets": True}, name
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}, name
        assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    for name in DATA_BUCKETS:
        sse = buckets[name]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert sse["ServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": _arn("DataKey")}
        assert sse["BucketKeyEnabled"] is True
        logging = buckets[name]["LoggingConfiguration"]
        assert logging["DestinationBucketName"] == _ref("AccessLogsBucket")


def test_every_bucket_denies_requests_without_tls(root):
    policies = {p["Bucket"]["Ref"]: p["PolicyDocument"]["Statement"]
                for p in _of_type(root, "AWS::S3::BucketPolicy").values()}
    assert set(policies) == set(_of_type(root, "AWS::S3::Bucket"))
    for bucket, stmts in policies.items():
        deny = [s for s in stmts if s["Effect"] == "Deny"]
        assert deny == [{
            "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [{"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::${{{bucket}}}"},
                         {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::${{{bucket}}}/*"}],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}], bucket


def test_only_tagged_objects_move_and_every_tier_has_its_rule(root):
    from pipeline_runner.retention import STACK_TIERS, tier_id

    buckets = _of_type(root, "AWS::S3::Bucket")
    assert "ArchiveAfterDays" not in root["Parameters"]  # the days are the tier's, per project
    for name in ("InputBucket", "ResultsBucket"):
        rules = {r["Id"]: r for r in buckets[name]["LifecycleConfiguration"]["Rules"]}
        for cls, days in STACK_TIERS:
            rule = rules[f"archive-{tier_id(cls, days)}"]
            assert rule["TagFilters"] == [{"Key": "seqledger:archive", "Value": tier_id(cls, days)}]
            assert rule["Transitions"] == [{"StorageClass": cls, "TransitionInDays": days}]
        # Only tagged objects move: no rule transitions current versions without a tag filter.
        untagged_moves = [r["Id"] for r in rules.values()
                          if r.get("Transitions") and not r.get("TagFilters")]
        assert untagged_moves == []


def test_input_and_results_have_a_daily_parquet_inventory_into_the_lake_bucket(root):
    buckets = _of_type(root, "AWS::S3::Bucket")
    for name, prefix in (("InputBucket", "inventory/input"),
                         ("ResultsBucket", "inventory/results")):
        [inv] = buckets[name]["InventoryConfigurations"]
        assert (inv["Enabled"], inv["ScheduleFrequency"], inv["IncludedObjectVersions"]) == (
            True, "Daily", "Current")
        assert {"Size", "LastModifiedDate", "StorageClass"} <= set(inv["OptionalFields"])
        dest = inv["Destination"]
        assert (dest["Format"], dest["Prefix"]) == ("Parquet", prefix)
        assert "-lake-" in dest["BucketArn"]["Fn::Sub"]
    lake_policy = {p["Bucket"]["Ref"]: p["PolicyDocument"]["Statement"]
                   for p in _of_type(root, "AWS::S3::BucketPolicy").values()}["LakeBucket"]
    [allow] = [s for s in lake_policy if s["Sid"] == "S3InventoryFromOurBuckets"]
    assert allow["Principal"] == {"Service": "s3.amazonaws.com"}
    assert allow["Resource"]["Fn::Sub"].endswith("/inventory/*")


def test_the_lake_stays_in_standard(root):
    rules = root["Resources"]["LakeBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert [r for r in rules if "Transitions" in r or "NoncurrentVersionTransitions" in r] == []
    expiring = {r.get("Prefix") for r in rules if "ExpirationInDays" in r}
    assert expiring == {"athena-results/"}  # lake data never expires; query results do


def test_archive_rules_are_the_runners_lifecycle_model(root):
    """The runner tags objects and models their storage cost with the same rules (retention.py)."""
    from pipeline_runner.retention import RetentionPolicy, stack_policy
    from pipeline_runner.storage import s3_lifecycle_configuration

    modelled = s3_lifecycle_configuration(stack_policy())["Rules"]
    for bucket in ("InputBucket", "ResultsBucket"):
        deployed = {r["Id"]: r for r in root["Resources"][bucket]["Properties"][
            "LifecycleConfiguration"]["Rules"]}
        for rule in modelled:
            mine = deployed[rule["ID"]]
            assert mine["TagFilters"] == [rule["Filter"]["Tag"]]
            assert [(t["StorageClass"], t["TransitionInDays"]) for t in mine["Transitions"]] == [
                (t["StorageClass"], t["Days"]) for t in rule["Transitions"]]
    policy = RetentionPolicy(("alignment",), 90, "DEEP_ARCHIVE")
    assert policy.tags_for("P1/S1/S1.cram")[ARCHIVE_TAG["Key"]] == "deep-archive-90d"
    assert policy.tags_for("P1/S1/S1.hard-filtered.vcf.gz")[ARCHIVE_TAG["Key"]] == "false"
    assert stack_policy().rule_for(policy.tags_for("x.cram")).transitions[0].after_days == 90


# -- events ---------------------------------------------------------------------------------------

def test_input_bucket_events_reach_the_dispatcher_through_sns_and_sqs(root):
    res = root["Resources"]
    notify = res["InputBucket"]["Properties"]["NotificationConfiguration"]
    assert notify["TopicConfigurations"] == [
        {"Event": "s3:ObjectCreated:*", "Topic": _ref("InputEventsTopic")}]
    assert res["InputEventsTopic"]["Properties"]["Subscription"] == [
        {"Protocol": "sqs", "Endpoint": _arn("InputEventsQueue")}]
    queue = res["InputEventsQueue"]["Properties"]
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": _arn("DispatcherDLQ"),
                                      "maxReceiveCount": 5}
    esm = res["DispatcherEventSource"]["Properties"]
    assert esm["EventSourceArn"] == _arn("InputEventsQueue")
    assert esm["FunctionName"] == _ref("DispatcherFunction")
    assert esm["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # The bucket may only be configured once the topic lets S3 publish.
    assert "InputEventsTopicPolicy" in res["InputBucket"]["DependsOn"]


def test_job_state_changes_of_our_queues_reach_the_recorder_with_retries(root):
    rule = root["Resources"]["JobStateRule"]["Properties"]
    assert rule["EventPattern"] == {
        "source": ["aws.batch"], "detail-type": ["Batch Job State Change"],
        "detail": {"jobQueue": [_ref("SpotQueue"), _ref("OnDemandQueue")]}}
    (target,) = rule["Targets"]
    assert target["Arn"] == _arn("RecorderFunction")
    assert target["DeadLetterConfig"] == {"Arn": _arn("RecorderDLQ")}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0


def test_compaction_runs_on_a_schedule_with_a_dead_letter_queue(root):
    rule = root["Resources"]["CompactionRule"]["Properties"]
    assert rule["ScheduleExpression"] == _ref("CompactionSchedule")
    assert root["Parameters"]["CompactionSchedule"]["Default"].startswith("cron(")
    (target,) = rule["Targets"]
    assert target["Arn"] == _arn("CompactorFunction")
    assert target["DeadLetterConfig"] == {"Arn": _arn("CompactionDLQ")}


def test_every_function_has_a_dead_letter_queue_and_the_documented_entry_point(root):
    functions = _of_type(root, "AWS::Lambda::Function")
    handlers = {k: f["Handler"] for k, f in functions.items()}
    assert handlers == {"DispatcherFunction": lambda_build.HANDLERS["dispatcher"],
                        "RecorderFunction": lambda_build.HANDLERS["recorder"],
                        "CompactorFunction": lambda_build.HANDLERS["compactor"],
                        "BillingLoaderFunction": lambda_build.HANDLERS["billing-loader"]}
    for name, f in functions.items():
        assert f["DeadLetterConfig"]["TargetArn"]["Fn::GetAtt"][0].endswith("DLQ"), name
        assert f["Runtime"] == "python3.11"
        assert "Layers" not in f  # the zip carries its runtime (seqledger infra package)
        assert f["Architectures"] == ["x86_64"]  # the platform of the wheels in the zip
        assert f["Code"] == "../" + infra_commands.LAMBDA_ZIP.as_posix()
        assert f["Environment"]["Variables"]["SEQLEDGER_LAKE"] == {"Fn::Sub": "s3://${LakeBucket}/lake"}
        assert f["TracingConfig"] == {"Mode": "Active"}
    for name in ("DispatcherFunction", "RecorderFunction"):  # both submit DRAGEN jobs
        env = functions[name]["Environment"]["Variables"]
        assert env["SEQLEDGER_EXECUTOR"] == "batch"
        assert env["SEQLEDGER_SPOT_QUEUE"] == _ref("SpotQueue")
        assert env["SEQLEDGER_ONDEMAND_QUEUE"] == _ref("OnDemandQueue")
        assert env["SEQLEDGER_JOB_DEFINITION"] == _ref("DragenJobDefinition")
        assert env["SEQLEDGER_PROJECTS"] == {"Fn::Sub": "s3://${LakeBucket}/config/projects.toml"}
        assert env["SEQLEDGER_OUTPUT_PREFIX"] == {"Fn::Sub": "s3://${ResultsBucket}/runs"}
    assert functions["CompactorFunction"]["ReservedConcurrentExecutions"] == 1


def test_log_groups_are_encrypted_and_kept(root):
    groups = _of_type(root, "AWS::Logs::LogGroup")
    assert len(groups) == 6  # four functions, the DRAGEN jobs, the job outcomes
    for props in groups.values():
        assert props["KmsKeyId"] == _arn("DataKey")
        assert props["RetentionInDays"] == _ref("LogRetentionDays")
    assert root["Parameters"]["LogRetentionDays"]["Default"] == 365


def test_only_our_sources_may_publish_and_deliver(root):
    res = root["Resources"]
    def allows(policy: str) -> list[dict]:
        stmts = res[policy]["Properties"]["PolicyDocument"]["Statement"]
        return [st for st in stmts if st["Effect"] == "Allow"]

    (publish,) = allows("InputEventsTopicPolicy")
    assert publish["Principal"] == {"Service": "s3.amazonaws.com"}
    assert publish["Condition"]["ArnLike"]["aws:SourceArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:s3:::${Prefix}-input-${AWS::AccountId}-${AWS::Region}"}
    assert res["InputBucket"]["Properties"]["BucketName"] == {
        "Fn::Sub": "${Prefix}-input-${AWS::AccountId}-${AWS::Region}"}
    (deliver,) = allows("InputEventsQueuePolicy")
    assert deliver["Condition"] == {"ArnEquals": {"aws:SourceArn": _ref("InputEventsTopic")}}
    (dead,) = allows("EventRuleDLQPolicy")
    assert dead["Condition"]["ArnEquals"]["aws:SourceArn"] == [
        _arn("JobStateRule"), _arn("InstanceStateRule"), _arn("CompactionRule"),
        _arn("BillingLoadRule")]


def test_instance_launches_and_terminations_reach_the_recorder(root):
    """Issue 12, item 4: the instance's life (EC2 bills it from running to shutting-down) comes
    from EC2's state-change events, and its attributes from DescribeInstances."""
    res = root["Resources"]
    rule = res["InstanceStateRule"]["Properties"]
    assert rule["EventPattern"] == {
        "source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"],
        "detail": {"state": ["pending", "running", "shutting-down", "terminated"]}}
    (target,) = rule["Targets"]
    assert target["Arn"] == _arn("RecorderFunction")
    assert target["DeadLetterConfig"] == {"Arn": _arn("RecorderDLQ")}
    permissions = [p["Properties"] for p in res.values() if p["Type"] == "AWS::Lambda::Permission"]
    assert {"FunctionName": _ref("RecorderFunction"), "Action": "lambda:InvokeFunction",
            "Principal": "events.amazonaws.com",
            "SourceArn": _arn("InstanceStateRule")} in permissions
    stmts = res["RecorderPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    (describe,) = [st for st in stmts if st["Action"] == "ec2:DescribeInstances"]
    assert describe["Resource"] == "*"  # Describe* has no resource-level permissions
    # every attempt's instance: a job event's containerInstanceArn -> its EC2 id
    (ecs,) = [st for st in stmts if st["Action"] == "ecs:DescribeContainerInstances"]
    assert ecs["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:"
                                          "${AWS::AccountId}:container-instance/*"}


def test_no_public_layer_is_assumed(root):
    # The AWS SDK for pandas layer's pyarrow has neither S3 nor ZSTD, which the lake needs.
    assert not [k for k in root["Parameters"] if "Layer" in k]
    assert not _of_type(root, "AWS::Lambda::LayerVersion")
    assert "AWSSDKPandas" not in json.dumps(root)


# -- batch ----------------------------------------------------------------------------------------

def test_spot_and_on_demand_environments_and_queues(root):
    ce = _of_type(root, "AWS::Batch::ComputeEnvironment")
    spot = ce["SpotEnvironment"]["ComputeResources"]
    od = ce["OnDemandEnvironment"]["ComputeResources"]
    assert (spot["Type"], spot["AllocationStrategy"]) == ("SPOT", "SPOT_PRICE_CAPACITY_OPTIMIZED")
    assert od["Type"] == "EC2"
    assert spot["InstanceTypes"] == od["InstanceTypes"] == _ref("DragenInstanceTypes")
    assert root["Parameters"]["DragenInstanceTypes"]["Default"] == "f2"
    queues = _of_type(root, "AWS::Batch::JobQueue")
    assert queues["SpotQueue"]["ComputeEnvironmentOrder"] == [
        {"Order": 1, "ComputeEnvironment": _ref("SpotEnvironment")}]
    assert queues["OnDemandQueue"]["ComputeEnvironmentOrder"] == [
        {"Order": 1, "ComputeEnvironment": _ref("OnDemandEnvironment")}]


def test_dragen_retries_host_loss_and_exits_on_application_errors(root):
    retry = root["Resources"]["DragenJobDefinition"]["Properties"]["RetryStrategy"]
    assert retry["EvaluateOnExit"] == [
        {"OnStatusReason": "Host EC2*", "Action": "RETRY"},
        {"OnExitCode": "*", "Action": "EXIT"}]
    assert retry["Attempts"] == _ref("JobAttempts")


# -- queries and alarms --------------------------------------------------------------------------

def test_athena_workgroup_caps_scans_and_encrypts_results(root):
    wg = root["Resources"]["AthenaWorkGroup"]["Properties"]["WorkGroupConfiguration"]
    assert wg["BytesScannedCutoffPerQuery"] == _ref("AthenaBytesScannedCutoff")
    assert wg["EnforceWorkGroupConfiguration"] is True
    assert wg["ResultConfiguration"]["EncryptionConfiguration"] == {
        "EncryptionOption": "SSE_KMS", "KmsKey": _arn("DataKey")}


def test_catalog_is_the_generated_nested_stack(root):
    stack = root["Resources"]["CatalogStack"]["Properties"]
    assert (ROOT_TEMPLATE.parent / stack["TemplateURL"]).resolve() == (
        ROOT_TEMPLATE.parent / "generated" / "glue-tables.json").resolve()
    assert stack["Parameters"]["LakeBucket"] == _ref("LakeBucket")


def test_alarms_cover_failures_dead_letters_errors_and_throttles(root):
    alarms = _of_type(root, "AWS::CloudWatch::Alarm").values()
    def subject(alarm: dict) -> str:
        value = alarm["Dimensions"][0]["Value"]
        return value["Ref"] if "Ref" in value else value["Fn::GetAtt"][0]

    simple = {(a["Namespace"], a["MetricName"], subject(a)) for a in alarms if "MetricName" in a}
    for fn in ("DispatcherFunction", "RecorderFunction", "CompactorFunction"):
        assert ("AWS/Lambda", "Errors", fn) in simple
        assert ("AWS/Lambda", "Throttles", fn) in simple
    for dlq in ("DispatcherDLQ", "RecorderDLQ", "CompactionDLQ"):
        assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", dlq) in simple
    (rate,) = [a for a in alarms if "Metrics" in a]
    rules = {m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"]
             for m in rate["Metrics"] if "MetricStat" in m}
    assert rules == {"JobFailedRule", "JobSucceededRule"}
    assert rate["Threshold"] == _ref("JobFailureRateAlarmPct")
    assert all(a["AlarmActions"] == [_ref("AlarmTopic")] for a in alarms)


# -- the deploy command ------------------------------------------------------------------------

def test_deploy_command_lists_exactly_the_required_parameters(root):
    required = {k for k, p in root["Parameters"].items() if "Default" not in p}
    assert required == set(infra_commands.REQUIRED_PARAMETERS)


# -- issue 17: TLS only, MFA for people, data kept, a supported AMI ------------------------------


def _policies_of(root: dict, policy_type: str, target: str) -> dict[str, list[dict]]:
    """Resource name -> statements of every policy resource of ``policy_type`` that names it."""
    out: dict[str, list[dict]] = {}
    for props in _of_type(root, policy_type).values():
        for ref in props[target]:
            out.setdefault(ref["Ref"], []).extend(props["PolicyDocument"]["Statement"])
    return out


@pytest.mark.parametrize(("kind", "policy", "target", "action", "resource"), [
    ("AWS::SNS::Topic", "AWS::SNS::TopicPolicy", "Topics", "sns:Publish", _ref),
    ("AWS::SQS::Queue", "AWS::SQS::QueuePolicy", "Queues", "sqs:*", _arn),
])
def test_every_topic_and_queue_denies_requests_without_tls(root, kind, policy, target, action,
                                                           resource):
    policies = _policies_of(root, policy, target)
    for name in _of_type(root, kind):
        deny = [st for st in policies.get(name, []) if st["Effect"] == "Deny"]
        assert len(deny) == 1, name
        (st,) = deny
        assert st["Principal"] == "*" and st["Action"] == action, name
        assert st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, name
        covered = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        assert resource(name) in covered, name


def test_roles_people_assume_require_mfa(root):
    roles = _of_type(root, "AWS::IAM::Role")
    human = {name for name, props in roles.items()
             if any("AWS" in st["Principal"]
                    for st in props["AssumeRolePolicyDocument"]["Statement"])}
    assert human == {"OperatorRole", "LakeReaderRole"}
    for name in human:
        for st in roles[name]["AssumeRolePolicyDocument"]["Statement"]:
            assert st["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}}, name


DATA_HOLDING = ("AWS::KMS::Key", "AWS::S3::Bucket", "AWS::SQS::Queue",
                "AWS::CloudFormation::Stack")


def test_every_data_holding_resource_is_retained(root):
    held = {name: r for name, r in root["Resources"].items() if r["Type"] in DATA_HOLDING}
    assert {"DataKey", "LakeBucket", "InputEventsQueue", "CatalogStack"} <= set(held)
    for name, r in held.items():
        assert r.get("DeletionPolicy") == "Retain", name
        assert r.get("UpdateReplacePolicy") == "Retain", name


def test_compute_environments_use_amazon_linux_2023(root):
    envs = {name: props for name, props in _of_type(root, "AWS::Batch::ComputeEnvironment").items()
            if props["ComputeResources"]["Type"] in ("EC2", "SPOT")}  # Fargate has no AMI
    assert len(envs) == 2
    for name, props in envs.items():
        images = props["ComputeResources"]["Ec2Configuration"]
        assert [i["ImageType"] for i in images] == ["ECS_AL2023"], name
