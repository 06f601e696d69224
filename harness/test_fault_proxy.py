#!/usr/bin/env python3
"""Self-check of the fault proxy (plain Python, no pytest).

    PY="$(bash scripts/python-env.sh | tail -n1)"
    "$PY" harness/test_fault_proxy.py

Starts `local_aws.py serve --task-start-delay 1` and `fault_proxy.py` in front
of it, drives them with boto3 through the proxy, and prints `N passed, N
failed` last; exits non-zero on failure.

Note on boto3: `Config(retries={"max_attempts": 1})` still allows one retry
(max_attempts counts retries there); `total_max_attempts: 1` is what turns
retries off.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable

import boto3
import botocore.exceptions
from botocore.config import Config

from selfcheck import Process, Results, expect, wait_until

HERE = Path(__file__).resolve().parent
LOCAL_AWS = HERE / "local_aws.py"
PROXY = HERE / "fault_proxy.py"
PROJECT = "jitsi-video-platform"

# Timing model under test: T / SCALE seconds.
SCALE = 20.0
T_NLB, T_REG, T_TASK, T_DEL = 60.0, 60.0, 20.0, 40.0
NLB_S, REG_S, TASK_S, DEL_S = T_NLB / SCALE, T_REG / SCALE, T_TASK / SCALE, T_DEL / SCALE
SLACK = 2.0  # seconds a wait may overrun its model time (polling, shim passes)

for variable in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(variable, None)

NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30)
FEW_RETRIES = Config(retries={"total_max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30)



def error_of(action: Callable[[], Any]) -> botocore.exceptions.ClientError:
    try:
        action()
    except botocore.exceptions.ClientError as err:
        return err
    raise AssertionError("the call succeeded; an error was expected")


def expect_error(action: Callable[[], Any], code: str, status: int) -> botocore.exceptions.ClientError:
    err = error_of(action)
    got_code = err.response["Error"]["Code"]
    got_status = err.response["ResponseMetadata"]["HTTPStatusCode"]
    expect((got_code, got_status) == (code, status), f"got {got_code} HTTP {got_status}, want {code} HTTP {status}")
    return err


# --------------------------------------------------------------------------
# processes


def local_aws() -> Process:
    return Process("local-aws", [sys.executable, str(LOCAL_AWS), "serve", "--ready-file", "{ready}",
                                 "--project", PROJECT,
                                 "--task-start-delay", str(TASK_S)])


def fault_proxy(upstream: str, *extra: str) -> Process:
    return Process("fault-proxy", [sys.executable, str(PROXY), "--upstream", upstream,
                                   "--ready-file", "{ready}", "--stats-file", "{stats}", *extra])


def clients(endpoint: str, config: Config = FEW_RETRIES) -> dict[str, Any]:
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name="us-east-1")
    return {name: session.client(name, endpoint_url=endpoint, config=config)
            for name in ("ec2", "ecs", "elbv2", "route53", "sts", "ssm")}


def control(endpoint: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(endpoint + path, data=data, method="POST" if body is not None else "GET")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def op_stats(endpoint: str, operation: str) -> dict:
    return control(endpoint, "/__proxy/stats")["operations"].get(operation, {})


def tags(project: str = PROJECT) -> list[dict[str, str]]:
    return [{"Key": "Project", "Value": project}, {"Key": "ManagedBy", "Value": "fault-proxy-check"}]


# --------------------------------------------------------------------------
# checks: pass-through


def check_ready(proxy: Process, info: dict) -> None:
    expect(info["endpoint"].startswith("http://127.0.0.1:"), f"endpoint {info['endpoint']}")
    expect(info["pid"] == proxy.process.pid, f"pid {info['pid']} != {proxy.process.pid}")
    expect(info["timing"]["nlb_provisioning_s"] == NLB_S, f"timing {info['timing']}")
    expect(info["timing"]["task_start_delay_s"] == TASK_S, f"timing {info['timing']}")


def check_pass_through(aws: dict, direct: dict, ready: dict, endpoint: str) -> None:
    identity = aws["sts"].get_caller_identity()
    expect(identity["Account"] == "123456789012", f"STS account {identity['Account']}")
    expect(aws["ec2"].describe_vpcs(VpcIds=[ready["vpc_id"]])["Vpcs"]
           == direct["ec2"].describe_vpcs(VpcIds=[ready["vpc_id"]])["Vpcs"], "DescribeVpcs differs via the proxy")
    clusters = aws["ecs"].describe_clusters(clusters=[ready["cluster"]])["clusters"]
    expect([c["clusterName"] for c in clusters] == [ready["cluster"]], f"clusters {clusters}")
    zone = aws["route53"].get_hosted_zone(Id=ready["hosted_zone_id"])["HostedZone"]
    expect(zone["Name"] == "example.test.", f"zone {zone['Name']}")
    aws["ssm"].put_parameter(Name=f"/{PROJECT}/fault-proxy-check", Value="x", Type="String", Overwrite=True)
    expect(aws["ssm"].get_parameter(Name=f"/{PROJECT}/fault-proxy-check")["Parameter"]["Value"] == "x", "SSM value")
    stats = control(endpoint, "/__proxy/stats")["operations"]
    for operation, service in (("GetCallerIdentity", "sts"), ("DescribeVpcs", "ec2"), ("DescribeClusters", "ecs"),
                               ("GetHostedZone", "route53"), ("PutParameter", "ssm"), ("GetParameter", "ssm")):
        entry = stats.get(operation)
        expect(entry is not None, f"no stats for {operation}: {sorted(stats)}")
        expect(entry["seen"] == entry["forwarded"] >= 1, f"{operation} stats {entry}")
        expect(entry["services"] == [service], f"{operation} services {entry['services']}")


def check_keep_alive(endpoint: str) -> None:
    host, port = endpoint.rsplit("/", 1)[-1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    body = b"{}"
    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListClusters",
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/ecs/aws4_request, "
                         "SignedHeaders=host, Signature=0",
    }
    sockets = []
    for _ in range(3):
        conn.request("POST", "/", body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        expect(response.status == 200, f"HTTP {response.status}: {data[:200]!r}")
        expect(response.getheader("Content-Length") == str(len(data)), "Content-Length does not match the body")
        expect((response.getheader("Connection") or "").lower() != "close", "proxy asked to close the connection")
        expect(b"clusterArns" in data, f"body {data[:200]!r}")
        sockets.append(conn.sock)
    expect(sockets[0] is not None and all(s is sockets[0] for s in sockets), "the connection was not reused")
    conn.close()


# --------------------------------------------------------------------------
# checks: the timing model


def create_nlb(aws: dict, ready: dict, state: dict, name: str) -> dict:
    allocation = aws["ec2"].allocate_address(
        Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": tags()}])
    state["allocation_id"] = allocation["AllocationId"]
    # Clocks start before each call: the proxy's clock starts later, so a
    # measured time is never shorter than the modelled one.
    state["lb_created"] = time.monotonic()
    lb = aws["elbv2"].create_load_balancer(
        Name=name, Type="network", Scheme="internet-facing", IpAddressType="ipv4",
        SubnetMappings=[{"SubnetId": ready["subnet_ids"][0], "AllocationId": allocation["AllocationId"]}],
        Tags=tags())["LoadBalancers"][0]
    state["lb"] = lb
    return lb


def check_nlb_provisioning(aws: dict, direct: dict, ready: dict, state: dict) -> None:
    lb = create_nlb(aws, ready, state, "fp-check-nlb")
    arn = lb["LoadBalancerArn"]
    expect(lb["State"]["Code"] == "provisioning", f"create answered {lb['State']}")
    by_arn = aws["elbv2"].describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]
    by_name = aws["elbv2"].describe_load_balancers(Names=["fp-check-nlb"])["LoadBalancers"][0]
    listed = [x for x in aws["elbv2"].describe_load_balancers()["LoadBalancers"] if x["LoadBalancerArn"] == arn]
    for label, seen in (("by ARN", by_arn), ("by name", by_name), ("listed", listed[0] if listed else {})):
        expect(seen.get("State", {}).get("Code") == "provisioning", f"describe {label}: {seen.get('State')}")
    expect(direct["elbv2"].describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]["State"]["Code"]
           == "active", "moto itself should say active (the proxy is what delays it)")
    wait_until("the NLB to be active", lambda: aws["elbv2"].describe_load_balancers(
        LoadBalancerArns=[arn])["LoadBalancers"][0]["State"]["Code"] == "active", NLB_S + SLACK)
    elapsed = time.monotonic() - state["lb_created"]
    expect(elapsed >= NLB_S - 0.1, f"active after {elapsed:.2f}s, before T_nlb/scale = {NLB_S:.2f}s")
    expect(op_stats(state["endpoint"], "DescribeLoadBalancers")["model"]["nlb_provisioning"] >= 3,
           "stats do not count the provisioning rewrites")


def check_target_registration(aws: dict, ready: dict, state: dict) -> None:
    group = aws["elbv2"].create_target_group(
        Name="fp-check-jvb", Protocol="UDP", Port=10000, VpcId=ready["vpc_id"], TargetType="ip",
        HealthCheckProtocol="HTTP", HealthCheckPort="8080", HealthCheckPath="/about/health",
        Tags=tags())["TargetGroups"][0]
    arn = group["TargetGroupArn"]
    state["tg"] = arn
    registered = time.monotonic()
    aws["elbv2"].register_targets(TargetGroupArn=arn, Targets=[{"Id": "10.42.1.200", "Port": 10000}])

    def health() -> dict:
        return aws["elbv2"].describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"][0]["TargetHealth"]

    first = health()
    expect(first == {"State": "initial", "Reason": "Elb.InitialHealthChecking",
                     "Description": "Initial health checks in progress"}, f"first health {first}")
    wait_until("the target to be healthy", lambda: health()["State"] == "healthy", REG_S + SLACK)
    elapsed = time.monotonic() - registered
    expect(elapsed >= REG_S - 0.1, f"healthy after {elapsed:.2f}s, before T_reg/scale = {REG_S:.2f}s")
    expect("Reason" not in health(), f"healthy target still has a reason: {health()}")
    # Deregister + register again starts a new initial period.
    aws["elbv2"].deregister_targets(TargetGroupArn=arn, Targets=[{"Id": "10.42.1.200", "Port": 10000}])
    aws["elbv2"].register_targets(TargetGroupArn=arn, Targets=[{"Id": "10.42.1.200", "Port": 10000}])
    expect(health()["State"] == "initial", f"re-registered target is {health()}")


def check_registration_behind_the_proxy(aws: dict, direct: dict, ready: dict) -> None:
    """A target ECS registers (here: a direct call, as the shim makes) reads
    initial from the proxy's first look for T_reg; one deregistered behind
    the proxy and registered again starts over."""
    arn = aws["elbv2"].create_target_group(
        Name="fp-check-ecs", Protocol="TCP", Port=80, VpcId=ready["vpc_id"], TargetType="ip",
        Tags=tags())["TargetGroups"][0]["TargetGroupArn"]
    target = [{"Id": "10.42.1.201", "Port": 80}]
    direct["elbv2"].register_targets(TargetGroupArn=arn, Targets=target)
    first_look = time.monotonic()

    def state() -> str:
        return aws["elbv2"].describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"][0][
            "TargetHealth"]["State"]

    expect(state() == "initial", "a target registered behind the proxy is healthy at once")
    wait_until("it to be healthy", lambda: state() == "healthy", REG_S + SLACK)
    expect(time.monotonic() - first_look >= REG_S - 0.1, "healthy before T_reg/scale")
    direct["elbv2"].deregister_targets(TargetGroupArn=arn, Targets=target)
    expect(aws["elbv2"].describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"] == [],
           "deregistered target still listed")
    direct["elbv2"].register_targets(TargetGroupArn=arn, Targets=target)
    expect(state() == "initial", "a target registered again behind the proxy is not initial")
    aws["elbv2"].delete_target_group(TargetGroupArn=arn)


def check_service_group_needs_load_balancer(aws: dict, ready: dict, endpoint: str) -> None:
    """ECS rejects a service target group no listener forwards to, and a
    container port the task definition does not map; once a listener
    forwards to it, the right container port goes through."""
    elbv2, ecs = aws["elbv2"], aws["ecs"]
    arn = elbv2.create_target_group(
        Name="fp-check-svc", Protocol="TCP", Port=80, VpcId=ready["vpc_id"], TargetType="ip",
        Tags=tags())["TargetGroups"][0]["TargetGroupArn"]
    attach = {"cluster": ready["cluster"], "service": ready["service"],
              "loadBalancers": [{"targetGroupArn": arn, "containerName": "web", "containerPort": 80}]}
    err = expect_error(lambda: ecs.update_service(**attach), "InvalidParameterException", 400)
    expect("does not have an associated load balancer" in err.response["Error"]["Message"],
           f"message {err.response['Error']['Message']}")
    service = ecs.describe_services(cluster=ready["cluster"], services=[ready["service"]])["services"][0]
    expect(service.get("loadBalancers", []) == [], "the rejected update reached moto")
    lb = elbv2.create_load_balancer(Name="fp-check-svc-nlb", Type="network",
                                    Subnets=[ready["subnet_ids"][0]], Tags=tags())["LoadBalancers"][0]
    elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="TCP", Port=80,
                          DefaultActions=[{"Type": "forward", "TargetGroupArn": arn}])
    unmapped = {**attach, "loadBalancers": [{"targetGroupArn": arn, "containerName": "web", "containerPort": 8080}]}
    err = expect_error(lambda: ecs.update_service(**unmapped), "InvalidParameterException", 400)
    expect(err.response["Error"]["Message"] == "The container web did not have a container port 8080 defined.",
           f"message {err.response['Error']['Message']}")
    ecs.update_service(**attach)
    ecs.update_service(cluster=ready["cluster"], service=ready["service"], loadBalancers=[])
    model = op_stats(endpoint, "UpdateService")["model"]
    expect(model["ecs_group_without_load_balancer"] == 1 and model["ecs_container_port_not_mapped"] == 1,
           f"stats do not count the rejections: {model}")
    elbv2.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
    elbv2.delete_target_group(TargetGroupArn=arn)


def check_task_start(aws: dict, ready: dict) -> None:
    ecs = aws["ecs"]
    scaled = time.monotonic()
    ecs.update_service(cluster=ready["cluster"], service=ready["service"], desiredCount=1)

    def tasks() -> list[dict]:
        arns = ecs.list_tasks(cluster=ready["cluster"])["taskArns"]
        described = ecs.describe_tasks(cluster=ready["cluster"], tasks=arns)["tasks"] if arns else []
        return [t for t in described if t.get("group") == f"service:{ready['service']}" and t["lastStatus"] != "STOPPED"]

    pending = wait_until("a PENDING task", lambda: [t for t in tasks() if t["lastStatus"] == "PENDING"], 5.0, 0.05)
    wait_until("the task to be RUNNING", lambda: [t for t in tasks() if t["lastStatus"] == "RUNNING"], TASK_S + SLACK)
    elapsed = time.monotonic() - scaled
    expect(elapsed >= TASK_S - 0.2, f"RUNNING after {elapsed:.2f}s, before --task-start-delay {TASK_S:.2f}s")
    expect(len(pending) == 1, f"{len(pending)} pending tasks")
    ecs.update_service(cluster=ready["cluster"], service=ready["service"], desiredCount=0)
    wait_until("no live task", lambda: tasks() == [], 5.0)


def address(aws: dict, allocation_id: str) -> dict:
    return next((a for a in aws["ec2"].describe_addresses()["Addresses"] if a["AllocationId"] == allocation_id), {})


def check_delete_keeps_eip(aws: dict, direct: dict, state: dict) -> None:
    lb, allocation_id = state["lb"], state["allocation_id"]
    association = wait_until("the shim to associate the EIP with the NLB's ENI",
                             lambda: address(direct, allocation_id).get("AssociationId"), 5.0)
    deleted = time.monotonic()
    aws["elbv2"].delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
    expect_error(lambda: aws["elbv2"].describe_load_balancers(LoadBalancerArns=[lb["LoadBalancerArn"]]),
                 "LoadBalancerNotFound", 400)
    wait_until("moto to drop the association (shim)", lambda: not address(direct, allocation_id).get("AssociationId"), 5.0)
    seen = address(aws, allocation_id)
    expect(seen.get("AssociationId") == association, f"via the proxy the EIP reads {seen}")
    expect(bool(seen.get("NetworkInterfaceId")), f"no NetworkInterfaceId in {seen}")
    tagged = aws["ec2"].describe_addresses(Filters=[{"Name": "tag:Project", "Values": [PROJECT]}])["Addresses"]
    expect(any(a["AllocationId"] == allocation_id and a.get("AssociationId") for a in tagged),
           "tag-filtered DescribeAddresses lost the association")
    expect_error(lambda: aws["ec2"].release_address(AllocationId=allocation_id), "InvalidIPAddress.InUse", 400)
    expect_error(lambda: aws["ec2"].disassociate_address(AssociationId=association), "AuthFailure", 400)
    expect(address(direct, allocation_id) != {}, "a refused ReleaseAddress reached moto")
    subnet = lb["AvailabilityZones"][0]["SubnetId"]

    def create_with_the_eip() -> dict:
        return aws["elbv2"].create_load_balancer(
            Name="selfcheck-eip-reuse", Type="network", Scheme="internet-facing",
            SubnetMappings=[{"SubnetId": subnet, "AllocationId": allocation_id}])["LoadBalancers"][0]

    refused = expect_error(create_with_the_eip, "ResourceInUse", 400)
    expect("allocation IDs are not available" in refused.response["Error"]["Message"],
           f"message {refused.response['Error']['Message']!r}")
    expect(not [b for b in direct["elbv2"].describe_load_balancers()["LoadBalancers"]
                if b["LoadBalancerName"] == "selfcheck-eip-reuse"], "a refused CreateLoadBalancer reached moto")

    def created() -> dict | None:
        try:
            return create_with_the_eip()
        except botocore.exceptions.ClientError as err:
            if err.response["Error"]["Code"] != "ResourceInUse":
                raise
            return None

    second = wait_until("CreateLoadBalancer to accept the allocation again", created, DEL_S + SLACK, 0.1)
    elapsed = time.monotonic() - deleted
    expect(elapsed >= DEL_S - 0.1, f"allocation reusable after {elapsed:.2f}s, before T_del/scale = {DEL_S:.2f}s")
    deleted = time.monotonic()
    aws["elbv2"].delete_load_balancer(LoadBalancerArn=second["LoadBalancerArn"])

    def released() -> bool:
        try:
            aws["ec2"].release_address(AllocationId=allocation_id)
            return True
        except botocore.exceptions.ClientError as err:
            if err.response["Error"]["Code"] != "InvalidIPAddress.InUse":
                raise
            return False

    wait_until("ReleaseAddress to succeed", released, DEL_S + SLACK, 0.1)
    elapsed = time.monotonic() - deleted
    expect(elapsed >= DEL_S - 0.1, f"released after {elapsed:.2f}s, before T_del/scale = {DEL_S:.2f}s")
    expect(address(direct, allocation_id) == {}, "EIP still in moto after release")
    model = control(state["endpoint"], "/__proxy/stats")["totals"]["model"]
    expect(model["eip_release_in_use"] >= 1 and model["eip_disassociate_denied"] == 1
           and model["eip_association_kept"] >= 2 and model["eip_create_lb_in_use"] >= 1, f"model stats {model}")


def check_route53_delete_must_match(aws: dict, direct: dict, ready: dict) -> None:
    zone, name = ready["hosted_zone_id"], "exact-delete.example.test."
    r53 = aws["route53"]

    def change(action: str, record: dict) -> Any:
        return r53.change_resource_record_sets(
            HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": record}]})

    def stored() -> list[dict]:
        sets = direct["route53"].list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
        return [r for r in sets if r["Name"] == name]

    alias = {"Name": name, "Type": "A", "AliasTarget": {
        "HostedZoneId": "Z26RNL4JYFTOTI", "DNSName": "selfcheck-nlb-1.us-east-1.elb.amazonaws.com",
        "EvaluateTargetHealth": False}}
    plain = {"Name": "plain-" + name, "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": "192.0.2.7"}]}
    change("UPSERT", alias)
    change("UPSERT", plain)
    flipped = {**alias, "AliasTarget": {**alias["AliasTarget"], "EvaluateTargetHealth": True}}
    err = expect_error(lambda: change("DELETE", flipped), "InvalidChangeBatch", 400)
    expect("do not match the current values" in err.response["Error"]["Message"], f"message {err.response['Error']}")
    expect(len(stored()) == 1, "a refused DELETE reached moto")
    expect_error(lambda: change("DELETE", {**plain, "TTL": 60}), "InvalidChangeBatch", 400)
    expect_error(lambda: change("DELETE", {**plain, "ResourceRecords": [{"Value": "192.0.2.8"}]}),
                 "InvalidChangeBatch", 400)
    missing = expect_error(lambda: change("DELETE", {**alias, "Name": "absent." + name}), "InvalidChangeBatch", 400)
    expect("not found" in missing.response["Error"]["Message"], f"message {missing.response['Error']}")
    change("DELETE", alias)
    change("DELETE", plain)
    expect(stored() == [], f"exact DELETE left {stored()}")


# --------------------------------------------------------------------------
# checks: faults (a second proxy, faults from the command line)


FAULT_FLAGS = [
    "--t-nlb", "0", "--t-reg", "0", "--t-del", "0", "--seed", "7",
    "--fault", "DescribeLoadBalancers=throttle:1.0",
    "--fault", "ListClusters=throttle:1",
    "--fault", "DescribeVpcs=throttle:1.0",
    "--fault", "sts:GetCallerIdentity=throttle:1.0",
    "--fault", "GetHostedZone=throttle:1.0",
    "--fault", "GetParameter=throttle:1.0",
    "--fault", "DescribeTargetGroups=5xx@2",
    "--fault", "DescribeServices=5xx:1.0",
    "--fault", "DescribeSubnets=5xx:1.0",
    "--fault", "DescribeListeners=5xx:1.0",
    "--fault", "ListTasks=reset:1.0",
    "--fault", "CreateLoadBalancer=reset@1",
    "--fault", "DescribeSecurityGroups=latency:400:1.0",
]


def check_throttles(aws: dict, ready: dict, endpoint: str) -> None:
    expect_error(lambda: aws["elbv2"].describe_load_balancers(), "Throttling", 400)
    err = expect_error(lambda: aws["ecs"].list_clusters(), "ThrottlingException", 400)
    content_type = err.response["ResponseMetadata"]["HTTPHeaders"].get("content-type")
    expect(content_type == "application/x-amz-json-1.1", f"ECS error content type {content_type}")
    # EC2 throttles with HTTP 503 RequestLimitExceeded (as real EC2 does).
    expect_error(lambda: aws["ec2"].describe_vpcs(), "RequestLimitExceeded", 503)
    expect_error(lambda: aws["sts"].get_caller_identity(), "Throttling", 400)
    expect_error(lambda: aws["route53"].get_hosted_zone(Id=ready["hosted_zone_id"]), "Throttling", 400)
    expect_error(lambda: aws["ssm"].get_parameter(Name=f"/{PROJECT}/x"), "ThrottlingException", 400)
    for operation in ("DescribeLoadBalancers", "ListClusters", "DescribeVpcs", "GetCallerIdentity",
                      "GetHostedZone", "GetParameter"):
        entry = op_stats(endpoint, operation)
        expect(entry["seen"] == 1 and entry["forwarded"] == 0 and entry["faults"]["throttle"] == 1,
               f"{operation} stats {entry}")


def check_nth_call(aws: dict, endpoint: str) -> None:
    aws["elbv2"].describe_target_groups()
    expect_error(lambda: aws["elbv2"].describe_target_groups(), "ServiceUnavailable", 503)
    aws["elbv2"].describe_target_groups()
    aws["elbv2"].describe_target_groups()
    entry = op_stats(endpoint, "DescribeTargetGroups")
    expect(entry["seen"] == 4 and entry["forwarded"] == 3 and entry["faults"]["5xx"] == 1, f"stats {entry}")


def check_5xx(aws: dict, ready: dict, endpoint: str) -> None:
    expect_error(lambda: aws["ecs"].describe_services(cluster=ready["cluster"], services=[ready["service"]]),
                 "ServiceUnavailableException", 503)
    expect_error(lambda: aws["ec2"].describe_subnets(), "ServiceUnavailable", 503)
    expect_error(lambda: aws["elbv2"].describe_listeners(LoadBalancerArn="arn:aws:elasticloadbalancing:"
                                                         "us-east-1:123456789012:loadbalancer/net/x/1"),
                 "ServiceUnavailable", 503)
    for operation in ("DescribeServices", "DescribeSubnets", "DescribeListeners"):
        entry = op_stats(endpoint, operation)
        expect(entry["faults"]["5xx"] == 1 and entry["forwarded"] == 0, f"{operation} stats {entry}")


def check_reset(aws: dict, direct: dict, ready: dict, endpoint: str) -> None:
    try:
        aws["ecs"].list_tasks(cluster=ready["cluster"])
    except (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError) as err:
        caught = err
    else:
        raise AssertionError("ListTasks succeeded through a reset")
    expect(isinstance(caught, (botocore.exceptions.ConnectionClosedError, botocore.exceptions.ReadTimeoutError,
                               botocore.exceptions.EndpointConnectionError, botocore.exceptions.HTTPClientError)),
           f"unexpected {type(caught).__name__}")

    # On the wire: no response bytes, the socket is dropped (RST or EOF).
    host, port = endpoint.rsplit("/", 1)[-1].split(":")
    body = json.dumps({"cluster": ready["cluster"]}).encode()
    request = (f"POST / HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/x-amz-json-1.1\r\n"
               "X-Amz-Target: AmazonEC2ContainerServiceV20141113.ListTasks\r\n"
               "Authorization: AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/ecs/aws4_request, "
               f"SignedHeaders=host, Signature=0\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(request)
        try:
            received = raw.recv(65536)
        except ConnectionResetError:
            received = b""
    expect(received == b"", f"got bytes after a reset: {received[:100]!r}")

    # A reset request is not forwarded, so retrying it is safe.
    name = "fp-check-reset"
    try:
        aws["elbv2"].create_load_balancer(Name=name, Type="network", Subnets=[ready["subnet_ids"][0]], Tags=tags())
        raise AssertionError("the first CreateLoadBalancer was not reset")
    except (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError):
        pass
    names = [lb["LoadBalancerName"] for lb in direct["elbv2"].describe_load_balancers()["LoadBalancers"]]
    expect(name not in names, "the reset CreateLoadBalancer reached moto")
    created = aws["elbv2"].create_load_balancer(Name=name, Type="network", Subnets=[ready["subnet_ids"][0]],
                                                Tags=tags())["LoadBalancers"][0]
    direct["elbv2"].delete_load_balancer(LoadBalancerArn=created["LoadBalancerArn"])
    entry = op_stats(endpoint, "CreateLoadBalancer")
    expect(entry["seen"] == 2 and entry["forwarded"] == 1 and entry["faults"]["reset"] == 1, f"stats {entry}")
    entry = op_stats(endpoint, "ListTasks")
    expect(entry["faults"]["reset"] == 2 and entry["forwarded"] == 0, f"ListTasks stats {entry}")


def check_latency(aws: dict, endpoint: str) -> None:
    started = time.monotonic()
    groups = aws["ec2"].describe_security_groups()["SecurityGroups"]
    elapsed = time.monotonic() - started
    expect(elapsed >= 0.4, f"DescribeSecurityGroups took {elapsed:.3f}s, latency 400 ms was asked")
    expect(any(g["GroupName"] == f"{PROJECT}-task" for g in groups), "latency changed the answer")
    entry = op_stats(endpoint, "DescribeSecurityGroups")
    expect(entry["faults"]["latency"] == 1 and entry["forwarded"] == 1, f"stats {entry}")


def check_control(endpoint: str) -> None:
    try:
        control(endpoint, "/__proxy/faults", {"faults": ["X=bogus:0.5"]})
        raise AssertionError("a bad fault spec was accepted")
    except urllib.error.HTTPError as err:
        expect(err.code == 400, f"HTTP {err.code}")
    expect(len(control(endpoint, "/__proxy/config")["faults"]) == FAULT_FLAGS.count("--fault"),
           "a rejected update changed the rules")
    control(endpoint, "/__proxy/reset-stats", {})
    stats = control(endpoint, "/__proxy/stats")
    expect(stats["operations"] == {} and stats["totals"]["seen"] == 0, f"stats after reset {stats['totals']}")


def check_retries_absorb(endpoint: str) -> None:
    control(endpoint, "/__proxy/faults", {"faults": ["*=throttle:0.10", "*=5xx:0.05"]})
    control(endpoint, "/__proxy/reset-stats", {})
    retrying = clients(endpoint, Config(retries={"mode": "standard", "total_max_attempts": 10},
                                        connect_timeout=5, read_timeout=30))["elbv2"]
    for _ in range(50):
        retrying.describe_load_balancers()
    entry = op_stats(endpoint, "DescribeLoadBalancers")
    faults = entry["faults"]["throttle"] + entry["faults"]["5xx"]
    expect(entry["forwarded"] == 50, f"forwarded {entry['forwarded']} != 50")
    expect(faults > 0 and entry["faults"]["throttle"] > 0, f"no faults absorbed: {entry}")
    expect(entry["seen"] == 50 + faults, f"seen {entry['seen']} != 50 + {faults} faults")
    print(f"     50 DescribeLoadBalancers: {entry['seen']} requests, {entry['faults']['throttle']} throttled, "
          f"{entry['faults']['5xx']} 5xx, all absorbed by retries", flush=True)


def check_sigterm(proxy: Process) -> None:
    code = proxy.stop()
    expect(code == 0, f"exit code {code}")
    expect(not proxy.ready_file.exists(), "ready file left behind")
    stats = json.loads(proxy.stats_file.read_text())
    expect(stats["totals"]["seen"] > 0 and "operations" in stats and "config" in stats, f"stats file {stats}")


def check_cli_errors(upstream: str) -> None:
    bad = subprocess.run([sys.executable, str(PROXY), "--upstream", upstream, "--fault", "X=explode:0.5"],
                         capture_output=True, text=True, timeout=30)
    expect(bad.returncode == 2 and "explode" in bad.stderr, f"bad fault: exit {bad.returncode}: {bad.stderr[-300:]}")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        busy = subprocess.run([sys.executable, str(PROXY), "--upstream", upstream, "--port", str(port)],
                              capture_output=True, text=True, timeout=30)
    expect(busy.returncode == 1 and "cannot listen" in busy.stderr, f"taken port: exit {busy.returncode}: {busy.stderr}")


# --------------------------------------------------------------------------


def main() -> int:
    results = Results()
    harness = local_aws()
    proxies: list[Process] = []
    try:
        ready: dict = {}
        if not results.check("local_aws starts (--task-start-delay)", lambda: ready.update(harness.start())):
            return 1
        direct = clients(ready["endpoint"])

        timed = fault_proxy(ready["endpoint"], "--scale", str(SCALE), "--t-nlb", str(T_NLB), "--t-reg", str(T_REG),
                            "--t-task", str(T_TASK), "--t-del", str(T_DEL))
        proxies.append(timed)
        info: dict = {}
        if results.check("proxy starts and writes the ready file", lambda: info.update(timed.start())):
            endpoint = info["endpoint"]
            aws = clients(endpoint)
            state: dict = {"endpoint": endpoint}
            results.check("ready file: endpoint, pid, scaled timings", lambda: check_ready(timed, info))
            results.check("STS/EC2/ECS/Route53/SSM pass through unchanged, counted per operation",
                          lambda: check_pass_through(aws, direct, ready, endpoint))
            results.check("HTTP/1.1 keep-alive: one connection, three requests", lambda: check_keep_alive(endpoint))
            if results.check("NLB provisioning until T_nlb/scale, then active",
                             lambda: check_nlb_provisioning(aws, direct, ready, state)):
                results.check("DeleteLoadBalancer: EIP stays associated for T_del/scale (InUse, AuthFailure, "
                              "CreateLoadBalancer ResourceInUse)",
                              lambda: check_delete_keeps_eip(aws, direct, state))
            results.check("Route53 DELETE must match the stored record (InvalidChangeBatch otherwise)",
                          lambda: check_route53_delete_must_match(aws, direct, ready))
            results.check("registered target initial until T_reg/scale, then healthy",
                          lambda: check_target_registration(aws, ready, state))
            results.check("target registered behind the proxy (ECS) initial from first look until T_reg/scale",
                          lambda: check_registration_behind_the_proxy(aws, direct, ready))
            results.check("ECS UpdateService: a target group without a load balancer, an unmapped container port are rejected",
                          lambda: check_service_group_needs_load_balancer(aws, ready, endpoint))
            results.check("task PENDING for --task-start-delay through the proxy", lambda: check_task_start(aws, ready))
            results.check("SIGTERM: exit 0, stats file written, ready file removed", lambda: check_sigterm(timed))

        faulty = fault_proxy(ready["endpoint"], *FAULT_FLAGS)
        proxies.append(faulty)
        info = {}
        if results.check("proxy with --fault flags starts", lambda: info.update(faulty.start())):
            endpoint = info["endpoint"]
            aws = clients(endpoint, NO_RETRIES)
            results.check("throttle 1.0: ELBv2 Throttling, ECS ThrottlingException (JSON), EC2 RequestLimitExceeded, "
                          "STS, Route53, SSM", lambda: check_throttles(aws, ready, endpoint))
            results.check("@2 faults exactly the second call", lambda: check_nth_call(aws, endpoint))
            results.check("5xx: HTTP 503 ServiceUnavailable per protocol", lambda: check_5xx(aws, ready, endpoint))
            results.check("reset: connection dropped, nothing forwarded, retry safe",
                          lambda: check_reset(aws, direct, ready, endpoint))
            results.check("latency:400 delays and forwards", lambda: check_latency(aws, endpoint))
            results.check("control: bad fault spec 400, reset-stats", lambda: check_control(endpoint))
            results.check("standard retries absorb 10% throttle + 5% 5xx over 50 calls",
                          lambda: check_retries_absorb(endpoint))
            results.check("SIGTERM: exit 0 and stats file", lambda: check_sigterm(faulty))
        results.check("CLI: bad fault exits 2, taken port exits 1", lambda: check_cli_errors(ready["endpoint"]))
    finally:
        for proxy in proxies:
            try:
                proxy.stop()
            except AssertionError as err:
                print(f"FAIL stopping the proxy: {err}", flush=True)
                results.failed += 1
            if results.failed:
                print(f"---- {proxy.log_file} (tail) ----\n" + proxy.log_tail(), flush=True)
        harness.stop()
        if results.failed:
            print("---- local_aws log (tail) ----\n" + harness.log_tail(), flush=True)
        print(f"{results.passed} passed, {results.failed} failed", flush=True)
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
