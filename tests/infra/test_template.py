"""Checks of the tenant stack (infra/template.yaml) and its deploy script (infra/deploy).

Run by scripts/infra-checks with the pinned tools venv: python -m pytest tests/infra.
Nothing here calls AWS: the template is read as YAML, the deploy runs with --dry-run.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"
DEPLOY = ROOT / "infra" / "deploy"
OPERATIONS = ROOT / "docs" / "operations.md"


# ---------------------------------------------------------------- reading the template
class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short intrinsic tags (!Ref, !Sub, !GetAtt, ...)."""


def _intrinsic(loader: CfnLoader, tag_suffix: str, node: yaml.Node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        return {"Fn::GetAtt": value.split(".", 1)}
    if tag_suffix == "Condition":
        return {"Condition": value}
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _intrinsic)


def load_template() -> dict:
    return yaml.load(TEMPLATE.read_text(encoding="utf-8"), Loader=CfnLoader)


T = load_template()
RESOURCES: dict = T["Resources"]
GLOBAL_FUNCTION: dict = T.get("Globals", {}).get("Function", {})

# function logical id -> (binary = crate name, its role, its log group)
FUNCTIONS = {
    "PurchasesFunction": "purchases",
    "BalanceFunction": "balance",
    "CustomersFunction": "customers",
    "AuthorizerFunction": "authorizer",
    "SweepFunction": "sweep",
    "SenderFunction": "sender",
    "SesEventsFunction": "ses-events",
}
TABLE_ARN = {
    "Fn::If": [
        "UseRestoredTable",
        {"Fn::Sub": "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${RestoredTableName}"},
        {"Fn::GetAtt": ["Table", "Arn"]},
    ]
}
INDEX_ARN = {
    "Fn::If": [
        "UseRestoredTable",
        {"Fn::Sub": "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${RestoredTableName}/index/*"},
        {"Fn::Sub": "${Table.Arn}/index/*"},
    ]
}
TABLE_NAME = {"Fn::If": ["UseRestoredTable", {"Ref": "RestoredTableName"}, {"Ref": "Table"}]}


def of_type(kind: str) -> dict:
    return {name: r for name, r in RESOURCES.items() if r["Type"] == kind}


def function_props(name: str) -> dict:
    """A function's properties with Globals merged in (maps merge, scalars override)."""
    merged = json.loads(json.dumps(GLOBAL_FUNCTION))
    for key, value in RESOURCES[name]["Properties"].items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def role_of(function: str) -> str:
    role = RESOURCES[function]["Properties"]["Role"]
    assert role == {"Fn::GetAtt": [role["Fn::GetAtt"][0], "Arn"]}, f"{function} must use its own role"
    return role["Fn::GetAtt"][0]


def statements(role: str) -> list[dict]:
    out = []
    for policy in RESOURCES[role]["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            out.append(statement)
    assert "ManagedPolicyArns" not in RESOURCES[role]["Properties"], f"{role}: inline policies only"
    return out


def listed(value) -> list:
    return value if isinstance(value, list) else [value]


def allowed_actions(role: str, service: str | None = None) -> set[str]:
    actions = set()
    for s in statements(role):
        if s["Effect"] == "Allow":
            actions |= {a for a in listed(s["Action"]) if service is None or a.startswith(service + ":")}
    return actions


def all_policy_statements():
    """(resource, statement) for every IAM and resource policy in the template."""
    for name, r in RESOURCES.items():
        props = r.get("Properties", {})
        if r["Type"] == "AWS::IAM::Role":
            for s in statements(name):
                yield name, s
            for s in props["AssumeRolePolicyDocument"]["Statement"]:
                yield name, s
        elif "PolicyDocument" in props:
            for s in props["PolicyDocument"]["Statement"]:
                yield name, s


# ---------------------------------------------------------------- functions
@pytest.mark.parametrize("function,binary", FUNCTIONS.items())
def test_function_is_built_by_cargo_lambda_for_arm64(function, binary):
    r = RESOURCES[function]
    assert r["Type"] == "AWS::Serverless::Function"
    assert r["Metadata"]["BuildMethod"] == "rust-cargolambda"
    assert r["Metadata"]["BuildProperties"] == {"Binary": binary}
    p = function_props(function)
    assert p["CodeUri"] == "..", "the workspace root, relative to infra/: one build for all"
    assert (TEMPLATE.parent / p["CodeUri"] / "Cargo.toml").resolve() == ROOT / "Cargo.toml"
    assert p["Runtime"] == "provided.al2023"
    assert p["Architectures"] == ["arm64"]
    assert p["Handler"] == "bootstrap"
    crate = ROOT / "functions" / binary / "Cargo.toml"
    assert re.search(rf'^name = "{binary}"$', crate.read_text(), re.M), f"{crate} is the crate {binary}"
    assert f'"functions/{binary}"' in (ROOT / "Cargo.toml").read_text(), "a workspace member"


# Function crates that exist in the workspace but are not deployed yet, with the reason.
NOT_YET_DEPLOYED: dict = {}


def test_every_function_crate_is_deployed():
    crates = {p.parent.name for p in (ROOT / "functions").glob("*/Cargo.toml")}
    undeployed = crates - set(FUNCTIONS.values())
    assert undeployed <= set(NOT_YET_DEPLOYED), f"function crates missing from infra/template.yaml: {undeployed}"
    assert set(of_type("AWS::Serverless::Function")) == set(FUNCTIONS)


@pytest.mark.parametrize("function,binary", FUNCTIONS.items())
def test_function_environment_and_logs(function, binary):
    p = function_props(function)
    env = p["Environment"]["Variables"]
    assert env["BOOMERANG_TABLE"] == TABLE_NAME
    assert env["RUST_LOG"] == "info"
    log_group = p["LoggingConfig"]["LogGroup"]["Ref"]
    group = RESOURCES[log_group]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert group["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/boomerang-${{TenantId}}-{binary}"}
    # The role may write to this log group only.
    logs = [s for s in statements(role_of(function)) if any(a.startswith("logs:") for a in listed(s["Action"]))]
    assert len(logs) == 1
    assert set(logs[0]["Action"]) == {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert logs[0]["Resource"] == {"Fn::GetAtt": [log_group, "Arn"]}


def test_all_log_groups_have_the_tenants_retention():
    for name, group in of_type("AWS::Logs::LogGroup").items():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name


def test_sweep_is_single_and_has_a_dead_letter_queue():
    p = function_props("SweepFunction")
    assert p["ReservedConcurrentExecutions"] == 1
    assert p["DeadLetterQueue"] == {"Type": "SQS", "TargetArn": {"Fn::GetAtt": ["SweepDeadLetterQueue", "Arn"]}}
    assert p["Timeout"] == 900
    assert p["EventInvokeConfig"]["MaximumRetryAttempts"] <= 2
    sqs = [s for s in statements("SweepRole") if "sqs:SendMessage" in listed(s["Action"])]
    assert sorted(s["Resource"]["Fn::GetAtt"][0] for s in sqs) == ["SendQueue", "SweepDeadLetterQueue"]


def rust_const(path: str, name: str) -> str:
    found = re.search(rf'pub const {name}: &str = "([^"]*)";', (ROOT / path).read_text())
    assert found, f"{name} in {path}"
    return found.group(1)


def test_sweep_environment_is_what_the_sweep_reads():
    env = function_props("SweepFunction")["Environment"]["Variables"]
    assert env[rust_const("functions/sweep/src/lib.rs", "TENANT_ENV")] == {"Ref": "TenantId"}
    configuration_set = rust_const("shared/aws-messaging/src/lib.rs", "CONFIGURATION_SET_ENV")
    # The sweep enqueues on the send queue; the sender hides deferred messages on it.
    queue_url = rust_const("shared/aws-messaging/src/queue.rs", "QUEUE_URL_ENV")
    for function in ("SweepFunction", "SenderFunction"):
        env = function_props(function)["Environment"]["Variables"]
        assert env[configuration_set] == {"Ref": "EmailConfigurationSet"}, function
        assert env[queue_url] == {"Ref": "SendQueue"}, function


def test_sender_drains_the_send_queue_alone():
    p = function_props("SenderFunction")
    assert p["ReservedConcurrentExecutions"] == 1, "the pacer holds the rate in one environment"
    [event] = p["Events"].values()
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": ["SendQueue", "Arn"]}
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Properties"]["BatchSize"] <= 10
    queue = RESOURCES["SendQueue"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * p["Timeout"], "Lambda's advice for SQS event sources"
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["SendDeadLetterQueue", "Arn"]}
    drain = [s for s in statements("SenderRole") if any(a.startswith("sqs:") for a in listed(s["Action"]))]
    assert [s["Resource"] for s in drain] == [{"Fn::GetAtt": ["SendQueue", "Arn"]}]
    assert "sqs:ReceiveMessage" in drain[0]["Action"] and "sqs:DeleteMessage" in drain[0]["Action"]


# ---------------------------------------------------------------- API routes
EXPECTED_ROUTES = {
    ("POST", "/v1/purchases"): "PurchasesFunction",
    ("POST", "/v1/refunds"): "PurchasesFunction",
    ("GET", "/v1/customers/{customer_id}"): "BalanceFunction",
    ("GET", "/v1/customers/{customer_id}/balance"): "BalanceFunction",
    ("GET", "/v1/customers/{customer_id}/consent"): "BalanceFunction",
    ("GET", "/v1/reports/triggers"): "BalanceFunction",
    ("GET", "/v1/reports/view"): "BalanceFunction",
    ("GET", "/v1/reports/word-of-mouth"): "BalanceFunction",
    ("GET", "/v1/referrals/{code}"): "BalanceFunction",
    ("PUT", "/v1/customers/{customer_id}"): "CustomersFunction",
    ("DELETE", "/v1/customers/{customer_id}"): "CustomersFunction",
    ("GET", "/v1/unsubscribe"): "CustomersFunction",
    ("POST", "/v1/unsubscribe"): "CustomersFunction",
    ("GET", "/v1/survey"): "CustomersFunction",
    ("POST", "/v1/survey"): "CustomersFunction",
}
# Opened from an email or a text: the signed token in the query is the credential.
OPEN_ROUTES = {
    ("GET", "/v1/unsubscribe"),
    ("POST", "/v1/unsubscribe"),
    ("GET", "/v1/reports/view"),
    ("GET", "/v1/survey"),
    ("POST", "/v1/survey"),
}


def routes() -> dict:
    found = {}
    for name in FUNCTIONS:
        for event in RESOURCES[name]["Properties"].get("Events", {}).values():
            if event["Type"] != "HttpApi":
                continue
            p = event["Properties"]
            assert p["ApiId"] == {"Ref": "Api"}
            key = (p["Method"], p["Path"])
            assert key not in found, f"{key} is routed twice"
            found[key] = (name, p.get("Auth"))
    return found


def test_every_route_maps_to_its_function():
    assert {k: v[0] for k, v in routes().items()} == EXPECTED_ROUTES


def test_routes_are_the_openapi_contract():
    spec = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text(encoding="utf-8"))
    methods = {"get", "put", "post", "delete", "patch", "head", "options"}
    contract = {(m.upper(), path) for path, item in spec["paths"].items() for m in item if m in methods}
    assert contract == set(EXPECTED_ROUTES)


def test_only_the_signed_link_routes_skip_the_authorizer():
    for key, (_, auth) in routes().items():
        if key in OPEN_ROUTES:
            assert auth == {"Authorizer": "NONE"}, key
        else:
            assert auth is None, f"{key} must use the default authorizer"


def test_the_open_routes_get_a_tighter_throttle_of_their_own():
    settings = RESOURCES["Api"]["Properties"]["RouteSettings"]
    assert {tuple(key.split(" ", 1)) for key in settings} == OPEN_ROUTES
    for key, limits in settings.items():
        assert limits == {"ThrottlingBurstLimit": 20, "ThrottlingRateLimit": 10}, key


def test_default_authorizer_is_the_authorizer_function():
    auth = RESOURCES["Api"]["Properties"]["Auth"]
    authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]
    assert authorizer["FunctionArn"] == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}
    assert authorizer["AuthorizerPayloadFormatVersion"] == "2.0"
    assert authorizer["EnableSimpleResponses"] is True
    assert authorizer["Identity"]["Headers"] == ["Authorization"]
    assert authorizer["Identity"]["ReauthorizeEvery"] == {"Ref": "AuthorizerCacheTtlSeconds"}
    assert T["Parameters"]["AuthorizerCacheTtlSeconds"]["Default"] == 300


def test_api_throttling_and_access_log_without_pii():
    p = RESOURCES["Api"]["Properties"]
    assert p["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
    }
    logs = p["AccessLogSettings"]
    assert logs["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    fields = json.loads(logs["Format"])
    for required in ("requestId", "routeKey", "status", "latency", "integrationError"):
        assert required in fields
    variables = " ".join(fields.values())
    for pii in ("identity", "sourceIp", "userAgent", "path", "header", "querystring", "request.", "domainName"):
        assert pii not in variables, f"the access log must not record {pii}"
    assert fields["routeKey"] == "$context.routeKey", "the route template, not the requested path"


# ---------------------------------------------------------------- IAM
READ = {"dynamodb:GetItem", "dynamodb:BatchGetItem"}
EXPECTED_TABLE_ACTIONS = {
    "PurchasesFunction": READ | {"dynamodb:PutItem"},
    # GetItem of a customer; Query of two indexes and of the day book for the trigger report.
    "BalanceFunction": {"dynamodb:GetItem", "dynamodb:Query"},
    # Profiles and survey answers: GetItem, conditional PutItem; erasure Queries the customer's
    # surveys (their SV# partition of the table, no index) to drop the comments.
    "CustomersFunction": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"},
    "AuthorizerFunction": {"dynamodb:GetItem"},
    # The sweep ports of the store: GetItem, conditional Puts, transactions with Deletes of
    # burned markers, BatchWriteItem for the markers beyond one transaction, index Queries;
    # the day book's Queries of the table for the owner's weekly digest.
    "SweepFunction": {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:DeleteItem",
                      "dynamodb:BatchWriteItem"},
    # Outcome, customer and unsubscribe secret reads; conditional Puts of the outcome's status.
    "SenderFunction": {"dynamodb:GetItem", "dynamodb:PutItem"},
    # The customer named by a bounce's tag; a conditional Put suppresses the address.
    "SesEventsFunction": {"dynamodb:GetItem", "dynamodb:PutItem"},
}
WRITE_ACTIONS = {
    "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem", "dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete",
}
SEND_ACTIONS = {"ses:SendEmail", "ses:SendRawEmail", "ses:SendTemplatedEmail", "ses:SendBulkEmail", "sns:Publish"}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_has_only_the_table_actions_it_sends(function):
    role = role_of(function)
    assert allowed_actions(role, "dynamodb") == EXPECTED_TABLE_ACTIONS[function]
    for s in statements(role):
        if any(a.startswith("dynamodb:") for a in listed(s["Action"])):
            assert s["Effect"] == "Allow"
            for resource in listed(s["Resource"]):
                if resource in (TABLE_ARN, INDEX_ARN):
                    if resource == INDEX_ARN:
                        assert set(listed(s["Action"])) == {"dynamodb:Query"}, "indexes are only queried"
                    continue
                assert resource == named_index_arns(resource), f"{role}: {resource} is not the tenant's table"
                assert set(listed(s["Action"])) == {"dynamodb:Query"}, "indexes are only queried"


def named_index_arns(resource) -> dict:
    """The ARNs of some of the table's indexes, by name (each one an index of layout.rs)."""
    restored, own = resource["Fn::If"][1:]
    names = [r["Fn::Sub"].rsplit("/", 1)[1] for r in own]
    assert set(names) <= set(layout_indexes()), names
    table = "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${RestoredTableName}"
    return {"Fn::If": ["UseRestoredTable", [{"Fn::Sub": f"{table}/index/{n}"} for n in names],
                       [{"Fn::Sub": f"${{Table.Arn}}/index/{n}"} for n in names]]}


def test_functions_have_roles_of_their_own():
    roles = [role_of(f) for f in FUNCTIONS]
    assert len(set(roles)) == len(roles)
    for role in roles:
        trust = RESOURCES[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert [s["Principal"] for s in trust] == [{"Service": "lambda.amazonaws.com"}]


def test_the_report_function_is_sized_for_the_report_within_the_http_apis_limit():
    props = RESOURCES["BalanceFunction"]["Properties"]
    events = props["Events"].values()
    assert any(e["Properties"]["Path"] == "/v1/reports/triggers" for e in events), "it serves the report"
    assert props["MemorySize"] >= 1024, "the report holds the period's outcomes and their receipts"
    assert 10 < props["Timeout"] < 30, "longer than the default, shorter than the HTTP API's 30 s"


def test_balance_cannot_write():
    assert not allowed_actions(role_of("BalanceFunction")) & WRITE_ACTIONS
    assert allowed_actions(role_of("BalanceFunction"), "dynamodb") <= READ | {"dynamodb:Query"}


def test_only_the_sender_may_send():
    for function in FUNCTIONS:
        sends = allowed_actions(role_of(function)) & SEND_ACTIONS
        if function == "SenderFunction":
            assert sends == {"ses:SendEmail", "ses:SendRawEmail", "sns:Publish"}
        else:
            assert not sends, f"{function} must not send"
    for name, s in all_policy_statements():
        if s["Effect"] == "Allow" and set(listed(s.get("Action", []))) & SEND_ACTIONS:
            assert name == "SenderRole" or "Principal" in s, f"{name} may not send"
    # The sweep only asks SNS about opt-outs while deciding, and hands the sends to the queue.
    assert allowed_actions("SweepRole", "sns") == {"sns:CheckIfPhoneNumberIsOptedOut"}
    assert not allowed_actions("SweepRole", "ses")


def test_email_sending_is_scoped_to_the_tenants_identity_and_configuration_set():
    [email] = [s for s in statements("SenderRole") if "ses:SendEmail" in listed(s["Action"])]
    assert email["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SenderDomain}"},
        {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/${EmailConfigurationSet}"},
    ]


def test_no_wildcard_action_anywhere():
    for name, s in all_policy_statements():
        for action in listed(s.get("Action", [])):
            assert "*" not in action, f"{name}: {action}"
        assert "NotAction" not in s, name


# The only "*" resources: SNS calls about phone numbers, which have no ARN (a Deny removes
# topics from the sender's Publish).
DOCUMENTED_STAR = {
    ("SenderRole", "SmsToPhoneNumbers"): {"sns:Publish"},
    ("SweepRole", "SmsOptOutCheck"): {"sns:CheckIfPhoneNumberIsOptedOut"},
}


def test_star_resource_only_where_documented():
    text = TEMPLATE.read_text(encoding="utf-8")
    for name, s in all_policy_statements():
        if "Principal" in s and "Resource" not in s:
            continue  # a trust policy
        for resource in listed(s["Resource"]):
            if resource == "*":
                assert (name, s.get("Sid")) in DOCUMENTED_STAR, f"{name}: undocumented '*' resource"
                assert set(listed(s["Action"])) == DOCUMENTED_STAR[(name, s["Sid"])]
    assert "SMS straight to a phone number has no resource ARN" in text
    assert "has no resource ARN at all" in text
    [deny] = [s for s in statements("SenderRole") if s["Effect"] == "Deny"]
    assert deny["Action"] == ["sns:Publish"]
    assert deny["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:sns:*:*:*"}
    for _, sid in DOCUMENTED_STAR:
        assert sid in OPERATIONS.read_text(encoding="utf-8"), f"{sid} is not explained in docs/operations.md"


def test_actions_are_real_iam_actions():
    policies = pytest.importorskip("cfnlint.data.AdditionalSpecs")
    known = json.loads((Path(policies.__file__).parent / "Policies.json").read_text())
    for name, s in all_policy_statements():
        for action in listed(s.get("Action", [])):
            service, _, permission = action.partition(":")
            if service == "sts":
                continue
            assert permission.lower() in known[service]["Actions"], f"{name}: {action} is not an IAM action"


def test_scheduler_role_may_only_invoke_the_sweep():
    role = "SchedulerRole"
    trust = RESOURCES[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "scheduler.amazonaws.com"}]
    assert allowed_actions(role) == {"lambda:InvokeFunction", "sqs:SendMessage"}
    for s in statements(role):
        if s["Action"] == ["lambda:InvokeFunction"]:
            assert s["Resource"] == [{"Fn::GetAtt": ["SweepFunction", "Arn"]}, {"Fn::Sub": "${SweepFunction.Arn}:*"}]
        else:
            assert s["Resource"] == {"Fn::GetAtt": ["ScheduleDeadLetterQueue", "Arn"]}


# ---------------------------------------------------------------- table
def layout_indexes() -> dict:
    """The GSIs of shared/dynamodb/src/layout.rs: name -> (pk, sk, projection, included attributes)."""
    source = (ROOT / "shared" / "dynamodb" / "src" / "layout.rs").read_text()
    constants = dict(re.findall(r'pub const ([A-Z_]+): &str = "([^"]*)";', source))
    indexes = {}
    for body in re.findall(r"\bIndex\s*\{([^{}]*?(?:\([^()]*\)[^{}]*?)?)\}", source):
        fields = dict(re.findall(r'(name|pk|sk):\s*"([^"]+)"', body))
        if set(fields) != {"name", "pk", "sk"}:
            continue  # the struct definition itself
        include = re.search(r"include:\s*&\[([^\]]*)\]|Projected::Include\(&\[([^\]]*)\]\)", body)
        names = [c.strip() for c in ((include.group(1) or include.group(2)) if include else "").split(",") if c.strip()]
        attrs = [constants[c] for c in names]
        kind = "ALL" if "Projected::All" in body else ("INCLUDE" if attrs else "KEYS_ONLY")
        indexes[fields["name"]] = (fields["pk"], fields["sk"], kind, attrs)
    count = re.search(r"pub const INDEXES: \[Index; (\d+)\]", source)
    assert count and len(indexes) == int(count.group(1)), f"parsed every index of layout.rs: {indexes}"
    return indexes


def test_table_is_production_grade():
    table = RESOURCES["Table"]
    assert table["DeletionPolicy"] == "Retain" and table["UpdateReplacePolicy"] == "Retain"
    p = table["Properties"]
    assert p["BillingMode"] == "PAY_PER_REQUEST"
    assert p["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    assert p["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert p["DeletionProtectionEnabled"] is True
    assert p["SSESpecification"]["SSEEnabled"] is True and p["SSESpecification"]["SSEType"] == "KMS"
    assert "TimeToLiveSpecification" not in p, "the store keeps no vanishing data"
    store = (ROOT / "shared" / "dynamodb" / "src" / "table.rs").read_text()
    assert "time_to_live" not in store.lower(), "the store now sets a TTL: add it to the template"
    assert all(a["AttributeType"] == "S" for a in p["AttributeDefinitions"])


def test_table_indexes_are_the_stores():
    p = RESOURCES["Table"]["Properties"]
    found = {}
    for gsi in p["GlobalSecondaryIndexes"]:
        keys = {k["KeyType"]: k["AttributeName"] for k in gsi["KeySchema"]}
        projection = gsi["Projection"]
        found[gsi["IndexName"]] = (keys["HASH"], keys["RANGE"], projection["ProjectionType"],
                                   projection.get("NonKeyAttributes", []))
    assert found == layout_indexes()
    defined = {a["AttributeName"] for a in p["AttributeDefinitions"]}
    assert defined == {"pk", "sk"} | {k for pk, sk, *_ in found.values() for k in (pk, sk)}


# ---------------------------------------------------------------- schedule
def resolve(value, parameters: dict):
    """Evaluates the few intrinsics the schedule uses, with the given parameter values."""
    if isinstance(value, dict) and len(value) == 1:
        (fn, arg), = value.items()
        if fn == "Ref":
            return parameters[arg]
        if fn == "Fn::Split":
            return resolve(arg[1], parameters).split(arg[0])
        if fn == "Fn::Select":
            return resolve(arg[1], parameters)[int(arg[0])]
        if fn == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else arg
            values = {**parameters, **{k: resolve(v, parameters) for k, v in variables.items()}}
            return re.sub(r"\$\{([^}!]+)\}", lambda m: str(values[m.group(1)]), text)
    return value


def test_schedule_runs_the_sweep_daily_in_the_tenants_timezone():
    p = RESOURCES["SweepSchedule"]["Properties"]
    assert p["ScheduleExpressionTimezone"] == {"Ref": "Timezone"}
    assert p["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert T["Parameters"]["SweepLocalTime"]["Default"] == "11:00"
    for local, cron in (("11:00", "cron(00 11 * * ? *)"), ("09:30", "cron(30 09 * * ? *)"), ("23:59", "cron(59 23 * * ? *)")):
        assert resolve(p["ScheduleExpression"], {"SweepLocalTime": local}) == cron
    target = p["Target"]
    assert target["Arn"] == {"Fn::GetAtt": ["SweepFunction", "Arn"]}
    assert target["RoleArn"] == {"Fn::GetAtt": ["SchedulerRole", "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["ScheduleDeadLetterQueue", "Arn"]}}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1


def test_schedule_input_is_the_envelope_the_sweep_reads():
    target = RESOURCES["SweepSchedule"]["Properties"]["Target"]
    envelope = json.loads(resolve(target["Input"], {"AWS::AccountId": "123456789012", "AWS::Region": "eu-central-1"}))
    sample = json.loads((ROOT / "events" / "sweep" / "scheduled.json").read_text())
    assert set(envelope) == set(sample)
    assert envelope["time"] == "<aws.scheduler.scheduled-time>"
    for key in ("version", "detail-type", "source", "account", "region", "detail"):
        assert envelope[key] == sample[key], key


# ---------------------------------------------------------------- email, alarms, outputs
def test_ses_configuration_set_sends_bounces_and_complaints_to_a_topic():
    destination = RESOURCES["EmailEventDestination"]["Properties"]
    assert destination["ConfigurationSetName"] == {"Ref": "EmailConfigurationSet"}
    event = destination["EventDestination"]
    assert sorted(event["MatchingEventTypes"]) == ["bounce", "complaint"]
    assert event["SnsDestination"] == {"TopicARN": {"Ref": "EmailEventsTopic"}}
    # The one subscriber is the ses-events function (SAM's SNS event makes the subscription).
    [event] = function_props("SesEventsFunction")["Events"].values()
    assert event == {"Type": "SNS", "Properties": {"Topic": {"Ref": "EmailEventsTopic"}}}
    ses_events = function_props("SesEventsFunction")
    assert ses_events["DeadLetterQueue"] == {"Type": "SQS", "TargetArn": {"Fn::GetAtt": ["SesEventsDeadLetterQueue", "Arn"]}}
    identity = RESOURCES["EmailIdentity"]["Properties"]
    assert identity["EmailIdentity"] == {"Ref": "SenderDomain"}
    assert identity["ConfigurationSetAttributes"] == {"ConfigurationSetName": {"Ref": "EmailConfigurationSet"}}


def alarms() -> dict:
    return {name: r["Properties"] for name, r in of_type("AWS::CloudWatch::Alarm").items()}


def test_every_function_has_error_and_throttle_alarms():
    watched = {(a.get("MetricName"), a["Dimensions"][0]["Value"]["Ref"]) for a in alarms().values()
               if a.get("Namespace") == "AWS/Lambda"}
    for function in FUNCTIONS:
        assert ("Errors", function) in watched, function
        # The sender (reserved concurrency 1 behind an SQS event source) is throttled as a matter
        # of course; the send queue's age alarm says whether it keeps up instead.
        if function != "SenderFunction":
            assert ("Throttles", function) in watched, function
    ages = [a for a in alarms().values() if a.get("MetricName") == "ApproximateAgeOfOldestMessage"]
    assert [a["Dimensions"][0]["Value"] for a in ages] == [{"Fn::GetAtt": ["SendQueue", "QueueName"]}]


def test_every_dead_letter_queue_has_a_depth_alarm():
    depth = {a["Dimensions"][0]["Value"]["Fn::GetAtt"][0] for a in alarms().values()
             if a.get("MetricName") == "ApproximateNumberOfMessagesVisible"}
    assert depth == set(of_type("AWS::SQS::Queue")) - {"SendQueue"}
    for a in alarms().values():
        if a.get("MetricName") == "ApproximateNumberOfMessagesVisible":
            assert a["ComparisonOperator"] == "GreaterThanThreshold" and a["Threshold"] == 0


def test_sweep_deadline_alarms_treat_silence_as_breaching():
    sweep = "functions/sweep/src/lib.rs"
    metric = rust_const(sweep, "METRIC_NAME")
    completed = [a for a in alarms().values() if a.get("MetricName") == metric]
    assert len(completed) == 1
    [a] = completed
    assert a["Namespace"] == rust_const(sweep, "METRIC_NAMESPACE") and a["TreatMissingData"] == "breaching"
    dimensions = re.search(r'"Dimensions": \[\["([A-Za-z]+)"\]\]', (ROOT / sweep).read_text())
    assert dimensions, "the sweep's EMF line names one dimension"
    assert a["Dimensions"] == [{"Name": dimensions.group(1), "Value": {"Ref": "TenantId"}}]
    assert "ActionsEnabled" not in a
    assert a["Period"] * a["EvaluationPeriods"] <= 7 * 86400
    invoked = [a for a in alarms().values() if a.get("MetricName") == "Invocations"]
    assert invoked and invoked[0]["TreatMissingData"] == "breaching"
    assert "Boomerang/SweepCompleted" in OPERATIONS.read_text(encoding="utf-8")


def test_ses_reputation_alarms():
    by_metric = {a.get("MetricName"): a for a in alarms().values() if a.get("Namespace") == "AWS/SES"}
    assert by_metric["Reputation.BounceRate"]["Threshold"] == 0.05
    assert by_metric["Reputation.ComplaintRate"]["Threshold"] == 0.001


def test_alarms_notify_the_alarm_topic():
    for name, a in alarms().items():
        assert a["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
    subscription = RESOURCES["AlarmTopic"]["Properties"]["Subscription"]
    assert subscription == [{"Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}]


def test_outputs():
    outputs = T["Outputs"]
    assert {"ApiUrl", "TableName", "FirstKey"} <= set(outputs)
    assert outputs["TableName"]["Value"] == TABLE_NAME
    text, variables = outputs["FirstKey"]["Value"]["Fn::Sub"]
    assert "AWS_REGION=${AWS::Region}" in text
    assert "boomerang keys issue --terminal till-1 --store dynamodb:${T}" in text
    assert variables == {"T": TABLE_NAME}


def test_every_checkov_skip_has_a_reason_and_is_documented():
    operations = OPERATIONS.read_text(encoding="utf-8")
    skips = set()
    for name, r in RESOURCES.items():
        for skip in r.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert len(skip.get("comment", "")) > 40, f"{name}: {skip['id']} needs its reason"
            skips.add(skip["id"])
    assert skips
    for check in skips:
        assert check in operations, f"{check} is skipped but not listed in docs/operations.md"


# ---------------------------------------------------------------- deploy
def load_deploy():
    loader = importlib.machinery.SourceFileLoader("boomerang_deploy", str(DEPLOY))
    spec = importlib.util.spec_from_loader("boomerang_deploy", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def boomerang_bin() -> str:
    """The real boomerang binary, for the program check of the dry run: $BOOMERANG_BIN
    (scripts/infra-checks builds the debug binary and sets it), else that debug binary under
    $CARGO_TARGET_DIR or target/. Missing, it fails the test: nothing here is skipped."""
    if os.environ.get("BOOMERANG_BIN"):
        return os.environ["BOOMERANG_BIN"]
    path = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug" / "boomerang"
    if not path.is_file():
        pytest.fail(f"no boomerang binary at {path}: run `cargo build -p boomerang` or set BOOMERANG_BIN")
    return str(path)


def run_deploy(*args) -> subprocess.CompletedProcess:
    env = dict(os.environ, BOOMERANG_BIN=boomerang_bin())
    return subprocess.run([sys.executable, str(DEPLOY), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)


def test_deploy_knows_the_templates_parameters():
    deploy = load_deploy()
    parameters = T["Parameters"]
    assert list(deploy.PARAMETERS) == list(parameters)
    for name, (default, _) in deploy.PARAMETERS.items():
        if default is None:
            assert "Default" not in parameters[name], f"{name} is optional in the template"
        else:
            value = ("true" if default else "false") if isinstance(default, bool) else default
            assert value == parameters[name]["Default"], name


def test_dry_run_of_the_demo_tenant():
    result = run_deploy("demo", "--dry-run")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "boomerang-demo" in out
    assert "sam build --template-file infra/template.yaml" in out
    assert "sam deploy" in out and "--stack-name boomerang-demo" in out
    assert "--no-fail-on-empty-changeset" in out
    assert "config push" in out and "--store dynamodb:boomerang-demo" in out
    for resolved in ("TenantId=demo", "Timezone=Europe/Moscow", "SweepLocalTime=11:00",
                     "AuthorizerCacheTtlSeconds=300", "SenderEmail=loyalty@demo-shop.example"):
        assert resolved in out, resolved
    assert "Timezone                  = 'Europe/Moscow'" in out


def test_dry_run_calls_nothing_but_the_program_check(tmp_path):
    # sam, cargo, cargo-lambda and aws on PATH are stand-ins that record any call: the dry run
    # must call none of them, only the real `boomerang config check`.
    calls = tmp_path / "calls.txt"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sam", "cargo", "cargo-lambda", "aws"):
        (bin_dir / tool).write_text(f"#!/bin/sh\necho {tool} \"$@\" >> {calls}\n")
        (bin_dir / tool).chmod(0o755)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path), "BOOMERANG_BIN": boomerang_bin()}
    result = subprocess.run([sys.executable, str(DEPLOY), "demo", "--dry-run"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not calls.exists(), calls.read_text()
    assert result.stdout.rstrip().endswith("dry run: OK")


@pytest.mark.parametrize(
    "line, slip",
    [
        ("earn_percent = 5", "earn_precent = 5"),  # a misspelt key
        ("redeem_max_percent = 30", "redeem_max_percent = 300"),  # a value out of range
    ],
)
def test_dry_run_checks_the_program_and_fails_on_a_slip(tmp_path, line, slip):
    # As the deploy does before anything is deployed: `boomerang config check` on [program].
    path = tenant_file(tmp_path)
    path.write_text(path.read_text().replace(f"\n{line}\n", f"\n{slip}\n"))
    result = run_deploy("demo", "--dry-run", "--file", str(path))
    assert result.returncode != 0, result.stdout
    assert "dry run: OK" not in result.stdout
    assert slip.split(" = ")[0] in result.stdout + result.stderr
    assert "config check" in result.stderr


def tenant_file(tmp_path, stack_extra: str = "", program: str = "", drop: str | None = None) -> Path:
    text = (ROOT / "infra" / "tenants" / "demo.toml").read_text(encoding="utf-8")
    if drop:
        text = re.sub(rf"^{drop} = .*$", "", text, flags=re.M)
    text = text.replace("[stack]\n", "[stack]\n" + stack_extra)
    text += program
    path = tmp_path / "t.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_unknown_key_is_refused_by_name(tmp_path):
    result = run_deploy("demo", "--dry-run", "--file", str(tenant_file(tmp_path, 'SweepLocalTme = "10:00"\n')))
    assert result.returncode != 0
    assert "SweepLocalTme" in result.stderr and "unknown key" in result.stderr


def test_unknown_table_is_refused_by_name(tmp_path):
    path = tenant_file(tmp_path, program='\n[stak]\nx = 1\n')
    result = run_deploy("demo", "--dry-run", "--file", str(path))
    assert result.returncode != 0 and "'stak'" in result.stderr


def test_missing_required_parameter_is_named(tmp_path):
    result = run_deploy("demo", "--dry-run", "--file", str(tenant_file(tmp_path, drop="AlarmEmail")))
    assert result.returncode != 0 and "[stack].AlarmEmail" in result.stderr


def test_bad_timezone_is_named(tmp_path):
    path = tenant_file(tmp_path)
    path.write_text(path.read_text().replace('"Europe/Moscow"', '"Mars/Base"'))
    result = run_deploy("demo", "--dry-run", "--file", str(path))
    assert result.returncode != 0 and "[stack].Timezone" in result.stderr and "Mars/Base" in result.stderr


def test_program_that_disagrees_with_the_stack_is_refused(tmp_path):
    path = tenant_file(tmp_path, program='\n[program.messaging]\nemail_from = "x@other.example"\n')
    result = run_deploy("demo", "--dry-run", "--file", str(path))
    assert result.returncode != 0
    assert "[program].messaging.email_from" in result.stderr and "[stack].SenderEmail" in result.stderr


def test_program_is_written_back_as_equal_toml():
    deploy = load_deploy()
    tenant = deploy.load_tenant("demo", ROOT / "infra" / "tenants" / "demo.toml")
    import tomllib

    text = deploy.to_toml(tenant.program)
    assert tomllib.loads(text) == tenant.program
    assert tenant.program["timezone"] == "Europe/Moscow"
    assert tenant.program["messaging"]["email_from"] == "loyalty@demo-shop.example"
    tricky = {"a": "quote \" backslash \\ newline \n tab \t ünï", "b": {"c d": [1, 2], "e": {"f": True}}}
    assert tomllib.loads(deploy.to_toml(tricky)) == tricky


def test_deploy_runs_check_build_deploy_outputs_push_in_order(tmp_path):
    """The real (not dry) run, with stand-ins for sam, cargo and boomerang that record their
    arguments: nothing reaches AWS, and the order and the pushed program are checked."""
    calls = tmp_path / "calls.jsonl"
    record = (
        "#!/usr/bin/env python3\n"
        "import json, os, shutil, sys\n"
        f"open({str(calls)!r}, 'a').write(json.dumps([os.path.basename(sys.argv[0])] + sys.argv[1:]) + '\\n')\n"
        "if sys.argv[1:3] == ['list', 'stack-outputs']:\n"
        "    print(json.dumps([{'OutputKey': 'ApiUrl', 'OutputValue': 'https://abc123.execute-api.eu-central-1.amazonaws.com'},\n"
        "                      {'OutputKey': 'TableName', 'OutputValue': 'boomerang-demo'},\n"
        "                      {'OutputKey': 'FirstKey', 'OutputValue': 'boomerang keys issue ...'}]))\n"
        "if sys.argv[1:3] == ['config', 'push']:\n"
        f"    shutil.copy(sys.argv[3], {str(tmp_path / 'pushed.toml')!r})\n"
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sam", "cargo", "cargo-lambda", "boomerang"):
        (bin_dir / tool).write_text(record)
        (bin_dir / tool).chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, str(DEPLOY), "demo"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    steps = [json.loads(line) for line in calls.read_text().splitlines()]
    assert [s[:3] for s in steps] == [
        ["boomerang", "config", "check"],
        ["sam", "build", "--template-file"],
        ["sam", "deploy", "--template-file"],
        ["sam", "list", "stack-outputs"],
        ["boomerang", "config", "push"],
    ]
    deploy = steps[2]
    assert deploy[deploy.index("--stack-name") + 1] == "boomerang-demo"
    assert "--no-fail-on-empty-changeset" in deploy and "--no-confirm-changeset" in deploy
    assert steps[4][-2:] == ["--store", "dynamodb:boomerang-demo"]
    import tomllib

    pushed = tomllib.loads((tmp_path / "pushed.toml").read_text())
    assert pushed["messaging"]["unsubscribe_base_url"] == "https://abc123.execute-api.eu-central-1.amazonaws.com"
    assert pushed["timezone"] == "Europe/Moscow" and pushed["shop_name"] == "Demo Shop"
    assert "ApiUrl: https://abc123" in result.stdout
