"""Deploy infra/seqledger.yaml into moto's CloudFormation (server on 127.0.0.1) and read back
what it created through the services' own describe/get calls.

moto 5.2.5's CloudFormation creates S3 buckets (encryption and tags only), KMS keys and aliases,
SNS topics with inline subscriptions, SQS queues, EventBridge rules, IAM roles, policies and
instance profiles, Lambda functions, permissions and event source mappings, log groups, EC2
security groups and launch templates, Batch compute environments, queues and job definitions,
and nested stacks. It skips, with a warning, AWS::S3::BucketPolicy, AWS::SNS::TopicPolicy,
AWS::SNS::Subscription, AWS::SQS::QueuePolicy, AWS::Lambda::EventInvokeConfig,
AWS::CloudWatch::Alarm, AWS::Athena::WorkGroup and AWS::Glue::*; and of AWS::S3::Bucket it applies
neither public-access block, versioning, lifecycle, logging nor notifications; of a Lambda
function it drops layers, dead-letter and tracing settings; of a job definition propagateTags and
platformCapabilities; of a log group its KMS key. Those settings are checked on the template
itself in test_templates.py.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import pytest

from tests.infra.cfn import ROOT_TEMPLATE, load, package, statements

pytestmark = [
    pytest.mark.integration,
    # The server runs in this process, so moto's "not supported" notices arrive as warnings.
    pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning"),
]

REGION = "us-east-1"
LAMBDA_CODE = "../build/lambda/seqledger-lambda.zip"
NOT_DEPLOYED_BY_MOTO = {
    "AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy", "AWS::SNS::Subscription",
    "AWS::SQS::QueuePolicy", "AWS::Lambda::EventInvokeConfig", "AWS::CloudWatch::Alarm",
    "AWS::Athena::WorkGroup", "AWS::BCMDataExports::Export",
}


def moto_compat(template: dict) -> dict:
    """Work around moto 5.2.5 bugs that real CloudFormation does not have (template unchanged
    otherwise): moto's KMS key reads tags in the KMS API's TagKey/TagValue shape."""
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::KMS::Key" and "Tags" in props:
            props["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in props["Tags"]]
    return template


@pytest.fixture(scope="module")
def aws(moto_endpoint):
    import boto3

    def client(service: str):
        return boto3.client(service, endpoint_url=moto_endpoint, region_name=REGION,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    return client


@pytest.fixture(scope="module")
def stack(aws, tmp_path_factory):
    """The stack, deployed once for this module: (outputs, parameters, physical ids)."""
    prefix = "t" + os.urandom(3).hex()
    s3 = aws("s3")
    artefacts = f"{prefix}-artefacts"
    s3.create_bucket(Bucket=artefacts)

    def upload(key: str, body: bytes) -> str:
        s3.put_object(Bucket=artefacts, Key=key, Body=body)
        return artefacts

    # moto never runs the functions, so a stand-in zip takes the real package's place here
    # (test_package.py builds and checks the real one).
    stub = tmp_path_factory.mktemp("lambda") / "seqledger-lambda.zip"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("ingest/handlers.py", "def on_object_created(event, context):\n    pass\n")
    stub.write_bytes(buf.getvalue())
    template = moto_compat(package(ROOT_TEMPLATE, upload, {LAMBDA_CODE: stub}))
    body = json.dumps(template).encode()
    upload("seqledger.template", body)

    ec2, iam = aws("ec2"), aws("iam")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.8.{i}.0/24")["Subnet"]["SubnetId"]
               for i in (1, 2)]
    service_role = iam.create_role(RoleName=f"{prefix}-batch-service",
                                   AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    parameters = {
        "Prefix": prefix, "VpcId": vpc, "SubnetIds": ",".join(subnets),
        "DragenImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/dragen:4.4.4",
        "DragenAmiId": "ami-0123456789abcdef0", "AlarmEmail": "ops@example.org",
        "QcGateImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/seqledger:0.1.0",
        "Project": "oncology", "CostCentre": "CC-1234",
        # moto needs a service role (real Batch uses the service-linked role when it is empty)
        # and does not split a list parameter's default, so both are given explicitly.
        "BatchServiceRoleArn": service_role, "DragenInstanceTypes": "f2",
    }
    cf = aws("cloudformation")
    cf.create_stack(StackName=prefix, Capabilities=["CAPABILITY_NAMED_IAM"],
                    TemplateURL=f"https://s3.amazonaws.com/{artefacts}/seqledger.template",
                    Parameters=[{"ParameterKey": k, "ParameterValue": v}
                                for k, v in parameters.items()])
    described = cf.describe_stacks(StackName=prefix)["Stacks"][0]
    assert described["StackStatus"] == "CREATE_COMPLETE", described.get("StackStatusReason")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
    resources = cf.list_stack_resources(StackName=prefix)["StackResourceSummaries"]
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}
    return {"prefix": prefix, "outputs": outputs, "params": parameters, "physical": physical,
            "template": template}


def test_stack_deploys_every_resource_type_moto_supports(stack):
    template = stack["template"]["Resources"]
    missing = {template[k]["Type"] for k in template if k not in stack["physical"]}
    assert missing == NOT_DEPLOYED_BY_MOTO


def test_outputs_point_the_cli_at_the_lake(stack):
    out, prefix = stack["outputs"], stack["prefix"]
    assert out["LakeUri"] == f"s3://{prefix}-lake-123456789012-us-east-1/lake"
    # The workgroup output refers to AWS::Athena::WorkGroup, which moto does not create.
    assert "AthenaWorkGroupName" not in out
    assert out["GlueDatabaseName"] == "seqledger"
    assert out["AthenaResultsUri"] == f"s3://{prefix}-lake-123456789012-us-east-1/athena-results/"


def test_data_buckets_are_encrypted_with_the_customer_key_and_tagged(aws, stack):
    s3, out = aws("s3"), stack["outputs"]
    key_arn = out["DataKeyArn"]
    for name in ("InputBucketName", "ResultsBucketName", "LakeBucketName"):
        rule = s3.get_bucket_encryption(Bucket=out[name])[
            "ServerSideEncryptionConfiguration"]["Rules"][0]
        assert rule["ApplyServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}
        tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=out[name])["TagSet"]}
        assert tags == {"project": "oncology", "cost_centre": "CC-1234"}
    logs = s3.get_bucket_encryption(Bucket=out["AccessLogsBucketName"])
    assert logs["ServerSideEncryptionConfiguration"]["Rules"][0][
        "ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}


def test_key_rotates_and_only_seqledger_roles_may_use_it(aws, stack):
    kms, iam = aws("kms"), aws("iam")
    key_id = stack["outputs"]["DataKeyArn"]
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    policy = kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    policy = json.loads(policy) if isinstance(policy, str) else policy  # moto returns the dict
    users = next(s for s in policy["Statement"] if s["Sid"] == "UseBySeqledgerRoles")
    prefix = stack["prefix"]
    roles = [iam.get_role(RoleName=f"{prefix}-{r}")["Role"]["Arn"]
             for r in ("dispatcher", "recorder", "compactor", "billing-loader", "dragen-job",
                       "qc-gate-job", "lake-reader", "operator")]
    assert users["Principal"]["AWS"] == roles
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    assert f"alias/{prefix}-data" in aliases


def test_input_events_flow_topic_to_queue_to_dispatcher(aws, stack):
    sns, sqs, lam = aws("sns"), aws("sqs"), aws("lambda")
    out, prefix = stack["outputs"], stack["prefix"]
    topic = out["InputEventsTopicArn"]
    topic_attrs = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert topic_attrs["KmsMasterKeyId"] == out["DataKeyArn"]
    queue_url = sqs.get_queue_url(QueueName=f"{prefix}-input-events")["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    (sub,) = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert (sub["Protocol"], sub["Endpoint"]) == ("sqs", attrs["QueueArn"])
    dlq_arn = sqs.get_queue_attributes(QueueUrl=out["DispatcherDLQUrl"],
                                       AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert json.loads(attrs["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn,
                                                  "maxReceiveCount": 5}
    assert attrs["KmsMasterKeyId"] == out["DataKeyArn"]
    (mapping,) = lam.list_event_source_mappings(FunctionName=f"{prefix}-dispatcher")[
        "EventSourceMappings"]
    assert mapping["EventSourceArn"] == attrs["QueueArn"]
    assert mapping["BatchSize"] == 50


def test_dead_letter_queues_keep_messages_two_weeks_encrypted(aws, stack):
    sqs, out = aws("sqs"), stack["outputs"]
    for name in ("DispatcherDLQUrl", "RecorderDLQUrl", "CompactionDLQUrl"):
        attrs = sqs.get_queue_attributes(QueueUrl=out[name], AttributeNames=["All"])["Attributes"]
        assert attrs["MessageRetentionPeriod"] == "1209600"
        assert attrs["KmsMasterKeyId"] == out["DataKeyArn"]


def test_job_state_rule_matches_our_queues_and_targets_the_recorder(aws, stack):
    events, batch, lam = aws("events"), aws("batch"), aws("lambda")
    prefix, out = stack["prefix"], stack["outputs"]
    queues = {q["jobQueueName"]: q["jobQueueArn"] for q in batch.describe_job_queues(
        jobQueues=[out["SpotQueueArn"], out["OnDemandQueueArn"]])["jobQueues"]}
    assert set(queues) == {f"{prefix}-dragen-spot", f"{prefix}-dragen-ondemand"}
    rule = events.describe_rule(Name=f"{prefix}-batch-job-state")
    assert json.loads(rule["EventPattern"]) == {
        "source": ["aws.batch"], "detail-type": ["Batch Job State Change"],
        "detail": {"jobQueue": [out["SpotQueueArn"], out["OnDemandQueueArn"]]}}
    (target,) = events.list_targets_by_rule(Rule=f"{prefix}-batch-job-state")["Targets"]
    recorder = lam.get_function(FunctionName=f"{prefix}-recorder")["Configuration"]
    assert target["Arn"] == recorder["FunctionArn"]
    schedule = events.describe_rule(Name=f"{prefix}-compaction")
    assert schedule["ScheduleExpression"] == "cron(30 3 * * ? *)"
    for status in ("failed", "succeeded"):
        counting = events.describe_rule(Name=f"{prefix}-batch-job-{status}")
        assert json.loads(counting["EventPattern"])["detail"]["status"] == [status.upper()]


def test_functions_run_the_documented_handlers_with_the_lake_settings(aws, stack):
    lam, prefix, out = aws("lambda"), stack["prefix"], stack["outputs"]
    expected = {"dispatcher": "ingest.handlers.on_object_created",
                "recorder": "ingest.handlers.on_job_state_change",
                "compactor": "ingest.handlers.compact_lake",
                "billing-loader": "ingest.handlers.load_billing_exports"}
    for name, handler in expected.items():
        config = lam.get_function(FunctionName=f"{prefix}-{name}")["Configuration"]
        assert (config["Handler"], config["Runtime"]) == (handler, "python3.11")
        env = config["Environment"]["Variables"]
        assert env["SEQLEDGER_LAKE"] == out["LakeUri"]
        assert config["Role"].endswith(f":role/{prefix}-{name}")
    env = lam.get_function(FunctionName=f"{prefix}-dispatcher")["Configuration"]["Environment"]
    assert env["Variables"]["SEQLEDGER_EXECUTOR"] == "batch"
    assert env["Variables"]["SEQLEDGER_SPOT_QUEUE"] == out["SpotQueueArn"]
    assert env["Variables"]["SEQLEDGER_ONDEMAND_QUEUE"] == out["OnDemandQueueArn"]
    assert env["Variables"]["SEQLEDGER_JOB_DEFINITION"] == out["JobDefinitionArn"]
    assert env["Variables"]["SEQLEDGER_PROJECTS"] == out["ProjectsRegistryUri"]
    assert env["Variables"]["SEQLEDGER_OUTPUT_PREFIX"] == (
        f"s3://{out['ResultsBucketName']}/runs")
    billing = lam.get_function(FunctionName=f"{prefix}-billing-loader")["Configuration"]
    assert billing["Environment"]["Variables"]["SEQLEDGER_BILLING_EXPORTS"] == (
        f"s3://{out['LakeBucketName']}/billing/")
    for single in ("compactor", "billing-loader"):
        concurrency = lam.get_function_concurrency(FunctionName=f"{prefix}-{single}")
        assert concurrency["ReservedConcurrentExecutions"] == 1


def test_roles_are_assumed_by_their_service_and_grant_no_wildcards(aws, stack):
    iam, prefix = aws("iam"), stack["prefix"]
    services = {"dispatcher": "lambda.amazonaws.com", "recorder": "lambda.amazonaws.com",
                "compactor": "lambda.amazonaws.com", "dragen-job": "ecs-tasks.amazonaws.com",
                "batch-instance": "ec2.amazonaws.com"}
    for role, service in services.items():
        trust = iam.get_role(RoleName=f"{prefix}-{role}")["Role"]["AssumeRolePolicyDocument"]
        if isinstance(trust, str):
            trust = json.loads(trust)
        assert trust["Statement"][0]["Principal"] == {"Service": service}
        for policy_name in iam.list_role_policies(RoleName=f"{prefix}-{role}")["PolicyNames"]:
            doc = iam.get_role_policy(RoleName=f"{prefix}-{role}", PolicyName=policy_name)[
                "PolicyDocument"]
            doc = json.loads(doc) if isinstance(doc, str) else doc
            for _, s in statements({"Resources": {role: {"Properties": {"PolicyDocument": doc}}}}):
                resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
                actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
                if "*" in resources:
                    assert not [a for a in actions if a == "*" or a.endswith(":*")], (role, s)
    attached = iam.list_role_policies(RoleName=f"{prefix}-dispatcher")["PolicyNames"]
    assert attached == ["dispatcher"]


def test_batch_spot_first_with_on_demand_escalation(aws, stack):
    batch, out, prefix = aws("batch"), stack["outputs"], stack["prefix"]
    envs = batch.describe_compute_environments()["computeEnvironments"]
    ours = {e["computeEnvironmentArn"]: e for e in envs
            if e["computeEnvironmentName"].startswith(prefix)}
    queues = {q["jobQueueName"]: q for q in batch.describe_job_queues(
        jobQueues=[out["SpotQueueArn"], out["OnDemandQueueArn"]])["jobQueues"]}
    def env_of(queue: str) -> dict:
        (order,) = queues[f"{prefix}-dragen-{queue}"]["computeEnvironmentOrder"]
        return ours[order["computeEnvironment"]]

    spot_env, od_env = env_of("spot"), env_of("ondemand")
    assert spot_env["computeResources"]["type"] == "SPOT"
    assert spot_env["computeResources"]["allocationStrategy"] == "SPOT_PRICE_CAPACITY_OPTIMIZED"
    assert spot_env["computeResources"]["instanceTypes"] == ["f2"]
    assert od_env["computeResources"]["type"] == "EC2"
    profile = f":instance-profile/{prefix}-batch-instance"
    assert spot_env["computeResources"]["instanceRole"].endswith(profile)


def test_dragen_job_definition_retries_only_host_loss(aws, stack):
    batch, iam, prefix = aws("batch"), aws("iam"), stack["prefix"]
    (jd,) = batch.describe_job_definitions(jobDefinitionName=f"{prefix}-dragen")["jobDefinitions"]
    assert jd["retryStrategy"]["attempts"] == 3
    # moto lower-cases the actions it stores; Batch itself returns RETRY / EXIT.
    rules = [{**r, "action": r["action"].upper()} for r in jd["retryStrategy"]["evaluateOnExit"]]
    assert rules == [{"onStatusReason": "Host EC2*", "action": "RETRY"},
                     {"onExitCode": "*", "action": "EXIT"}]
    container = jd["containerProperties"]
    assert container["jobRoleArn"] == iam.get_role(RoleName=f"{prefix}-dragen-job")["Role"]["Arn"]
    assert container["image"] == stack["params"]["DragenImage"]
    assert jd["tags"] == {"project": "oncology", "cost_centre": "CC-1234"}


def test_log_groups_keep_a_year(aws, stack):
    logs, prefix = aws("logs"), stack["prefix"]
    groups = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/" + prefix)["logGroups"]
    assert {g["logGroupName"] for g in groups} == {
        f"/aws/lambda/{prefix}-{n}"
        for n in ("dispatcher", "recorder", "compactor", "billing-loader")}
    # (moto's CloudFormation drops KmsKeyId; test_templates checks it on the template.)
    assert [g["retentionInDays"] for g in groups] == [365] * 4


def test_the_deployed_template_is_the_repository_template(stack):
    """Only packaging (code and nested template to S3) and the KMS-tag shape differ."""
    original = load(ROOT_TEMPLATE)
    deployed = stack["template"]
    differing = [k for k in original["Resources"]
                 if original["Resources"][k] != deployed["Resources"][k]]
    assert sorted(differing) == sorted(["DataKey", "CatalogStack", "DispatcherFunction",
                                        "RecorderFunction", "CompactorFunction",
                                        "BillingLoaderFunction"])
    assert Path(ROOT_TEMPLATE).is_file()


def test_the_qc_gate_job_is_scheduled_on_fargate(aws, stack):
    batch, events, prefix = aws("batch"), aws("events"), stack["prefix"]
    (jd,) = batch.describe_job_definitions(jobDefinitionName=f"{prefix}-qc-gate",
                                           status="ACTIVE")["jobDefinitions"]
    # moto's CloudFormation drops platformCapabilities (checked on the template in
    # tests/expectations/test_qc_gate_job.py)
    assert jd["containerProperties"]["command"] == ["seqledger", "qc", "gate"]
    assert jd["containerProperties"]["image"] == stack["params"]["QcGateImage"]
    (queue,) = batch.describe_job_queues(jobQueues=[f"{prefix}-qc-gate"])["jobQueues"]
    (target,) = events.list_targets_by_rule(Rule=f"{prefix}-qc-gate")["Targets"]
    assert target["Arn"] == queue["jobQueueArn"]
    assert target["BatchParameters"]["JobDefinition"] == jd["jobDefinitionArn"]
    rule = events.describe_rule(Name=f"{prefix}-qc-gate")
    assert rule["ScheduleExpression"] == "rate(1 hour)"
