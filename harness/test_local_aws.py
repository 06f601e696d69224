#!/usr/bin/env python3
"""Self-check of the local AWS harness (plain Python, no pytest).

    PY="$(bash scripts/python-env.sh | tail -n1)"
    "$PY" harness/test_local_aws.py

Starts `local_aws.py serve` as a subprocess, drives it with boto3 the way
meetctl will, and prints `N passed, N failed` last; exits non-zero on failure.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions

import selfcheck
from selfcheck import Process, Results, expect

HARNESS = Path(__file__).resolve().parent / "local_aws.py"
PROJECT = "jitsi-video-platform"
DOMAIN = "meet.example.test"
SHIM_TIMEOUT = 5.0
wait_until = functools.partial(selfcheck.wait_until, timeout=SHIM_TIMEOUT)




def tags_of(items: list[dict] | None, key: str = "Key", value: str = "Value") -> dict[str, str]:
    return {t[key]: t[value] for t in items or []}


def expect_project_tag(tags: dict[str, str], resource: str) -> None:
    expect(tags.get("Project") == PROJECT, f"{resource} tags {tags} lack Project={PROJECT}")
    expect(bool(tags.get("Name")), f"{resource} tags {tags} lack Name")


# --------------------------------------------------------------------------
# the harness as a subprocess


def local_aws(*extra_args: str) -> Process:
    return Process("local-aws", [sys.executable, str(HARNESS), "serve", "--ready-file", "{ready}",
                                 "--project", PROJECT, "--domain", DOMAIN, *extra_args])


def clients(ready: dict) -> dict[str, Any]:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=ready["region"])
    return {name: session.client(name, endpoint_url=ready["endpoint"])
            for name in ("ec2", "ecs", "efs", "elbv2", "route53", "acm")}


# --------------------------------------------------------------------------
# checks of the base infrastructure


def check_ready_file(ready: dict) -> None:
    expected = {"endpoint", "region", "project", "domain", "vpc_id", "vpc_cidr", "subnet_ids",
                "security_group_id", "cluster", "service", "task_definition_arn",
                "hosted_zone_id", "certificate_arn", "pending_certificate_arn", "pid"}
    expect(set(ready) == expected, f"ready keys {sorted(ready)} != {sorted(expected)}")
    expect(ready["endpoint"].startswith("http://127.0.0.1:"), f"endpoint {ready['endpoint']}")
    expect(len(ready["subnet_ids"]) == 2, f"subnet_ids {ready['subnet_ids']}")
    expect("/" not in ready["hosted_zone_id"], f"hosted_zone_id {ready['hosted_zone_id']} is not bare")
    expect(ready["vpc_cidr"] == "10.42.0.0/16", f"vpc_cidr {ready['vpc_cidr']}")


def check_network(aws: dict, ready: dict) -> None:
    ec2 = aws["ec2"]
    vpc = ec2.describe_vpcs(VpcIds=[ready["vpc_id"]])["Vpcs"][0]
    expect(vpc["CidrBlock"] == "10.42.0.0/16", f"VPC CIDR {vpc['CidrBlock']}")
    expect_project_tag(tags_of(vpc.get("Tags")), "VPC")
    for attribute, key in (("enableDnsSupport", "EnableDnsSupport"), ("enableDnsHostnames", "EnableDnsHostnames")):
        value = ec2.describe_vpc_attribute(VpcId=ready["vpc_id"], Attribute=attribute)[key]["Value"]
        expect(value is True, f"VPC {attribute} is {value}")

    subnets = ec2.describe_subnets(SubnetIds=ready["subnet_ids"])["Subnets"]
    by_id = {s["SubnetId"]: s for s in subnets}
    wanted = [("10.42.1.0/24", "us-east-1a"), ("10.42.2.0/24", "us-east-1b")]
    for subnet_id, (cidr, az) in zip(ready["subnet_ids"], wanted):
        subnet = by_id[subnet_id]
        expect((subnet["CidrBlock"], subnet["AvailabilityZone"]) == (cidr, az),
               f"subnet {subnet_id} is {subnet['CidrBlock']} in {subnet['AvailabilityZone']}")
        expect_project_tag(tags_of(subnet.get("Tags")), f"subnet {subnet_id}")

    gateways = ec2.describe_internet_gateways(
        Filters=[{"Name": "attachment.vpc-id", "Values": [ready["vpc_id"]]}])["InternetGateways"]
    expect(len(gateways) == 1, f"{len(gateways)} internet gateways attached")
    expect_project_tag(tags_of(gateways[0].get("Tags")), "internet gateway")
    igw_id = gateways[0]["InternetGatewayId"]

    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [ready["vpc_id"]]}])["RouteTables"]
    public = [t for t in tables
              if any(r.get("DestinationCidrBlock") == "0.0.0.0/0" and r.get("GatewayId") == igw_id for r in t["Routes"])]
    expect(len(public) == 1, "no route table with 0.0.0.0/0 to the internet gateway")
    associated = {a.get("SubnetId") for a in public[0].get("Associations", [])}
    expect(set(ready["subnet_ids"]) <= associated, f"public route table serves {associated}")
    expect_project_tag(tags_of(public[0].get("Tags")), "route table")


def check_security_group(aws: dict, ready: dict) -> None:
    group = aws["ec2"].describe_security_groups(GroupIds=[ready["security_group_id"]])["SecurityGroups"][0]
    expect(group["GroupName"] == f"{PROJECT}-task", f"SG name {group['GroupName']}")
    expect(group["VpcId"] == ready["vpc_id"], "SG in the wrong VPC")
    expect_project_tag(tags_of(group.get("Tags")), "security group")
    rules = {
        (p["IpProtocol"], p.get("FromPort"), p.get("ToPort"), r["CidrIp"])
        for p in group["IpPermissions"] for r in p.get("IpRanges", [])
    }
    wanted = {("udp", 10000, 10000, "0.0.0.0/0"), ("tcp", 80, 80, "10.42.0.0/16"), ("tcp", 8080, 8080, "10.42.0.0/16"),
              ("tcp", 3478, 3478, "10.42.0.0/16")}
    expect(rules == wanted, f"SG ingress {sorted(rules)} != {sorted(wanted)}")


def check_ecs(aws: dict, ready: dict) -> None:
    ecs = aws["ecs"]
    cluster = ecs.describe_clusters(clusters=[ready["cluster"]], include=["TAGS"])["clusters"][0]
    expect(cluster["clusterName"] == f"{PROJECT}-cluster", f"cluster {cluster['clusterName']}")
    expect_project_tag(tags_of(cluster.get("tags"), "key", "value"), "cluster")

    described = ecs.describe_task_definition(taskDefinition=ready["task_definition_arn"], include=["TAGS"])
    definition = described["taskDefinition"]
    expect(definition["family"] == PROJECT, f"family {definition['family']}")
    expect(definition["networkMode"] == "awsvpc", f"networkMode {definition['networkMode']}")
    expect(definition["requiresCompatibilities"] == ["FARGATE"], "not FARGATE")
    expect((definition["cpu"], definition["memory"]) == ("2048", "4096"), "cpu/memory")
    expect(definition["runtimePlatform"] == {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
           f"runtimePlatform {definition.get('runtimePlatform')}")
    expect_project_tag(tags_of(described.get("tags"), "key", "value"), "task definition")
    containers = {c["name"]: c for c in definition["containerDefinitions"]}
    expect(sorted(containers) == ["coturn", "jicofo", "jvb", "prosody", "web"], f"containers {sorted(containers)}")
    for name, container in containers.items():
        image = "coturn/coturn:4.6.2-r12" if name == "coturn" else f"jitsi/{name}:stable-10314"
        expect(container["image"] == image, f"{name} image {container['image']}")
        expect(container.get("memoryReservation", 0) > 0, f"{name} has no memoryReservation")
    expect([(p["containerPort"], p["protocol"], p["name"]) for p in containers["web"]["portMappings"]]
           == [(80, "tcp", "web")], "web port mappings")
    jvb = containers["jvb"]
    expect([(p["containerPort"], p["protocol"], p["name"]) for p in jvb["portMappings"]]
           == [(10000, "udp", "jvb-udp"), (8080, "tcp", "jvb-health")], "jvb port mappings")
    expect({"name": "JVB_PORT", "value": "10000"} in jvb["environment"], "jvb JVB_PORT")
    expect(jvb["secrets"] == [{
        "name": "JVB_ADVERTISE_IPS",
        "valueFrom": f"arn:aws:ssm:us-east-1:123456789012:parameter/{PROJECT}/jvb_advertise_ips",
    }], f"jvb secrets {jvb.get('secrets')}")

    service = ecs.describe_services(cluster=ready["cluster"], services=[ready["service"]], include=["TAGS"])["services"][0]
    expect(service["serviceName"] == f"{PROJECT}-service", f"service {service['serviceName']}")
    expect(service["desiredCount"] == 0, f"desiredCount {service['desiredCount']}")
    expect(service["launchType"] == "FARGATE", f"launchType {service.get('launchType')}")
    network = service["networkConfiguration"]["awsvpcConfiguration"]
    expect(sorted(network["subnets"]) == sorted(ready["subnet_ids"]), f"service subnets {network['subnets']}")
    expect(network["securityGroups"] == [ready["security_group_id"]], "service SG")
    expect(network["assignPublicIp"] == "ENABLED", "assignPublicIp")
    expect_project_tag(tags_of(service.get("tags"), "key", "value"), "service")


def check_dns_and_certificate(aws: dict, ready: dict) -> None:
    zone = aws["route53"].get_hosted_zone(Id=ready["hosted_zone_id"])["HostedZone"]
    expect(zone["Name"] == "example.test.", f"zone {zone['Name']}")
    expect(zone["Config"]["PrivateZone"] is False, "zone is private")
    zone_tags = aws["route53"].list_tags_for_resource(ResourceType="hostedzone", ResourceId=ready["hosted_zone_id"])
    expect_project_tag(tags_of(zone_tags["ResourceTagSet"]["Tags"]), "hosted zone")

    certificate = aws["acm"].describe_certificate(CertificateArn=ready["certificate_arn"])["Certificate"]
    expect(certificate["DomainName"] == DOMAIN, f"certificate for {certificate['DomainName']}")
    expect(certificate["Status"] == "ISSUED", f"imported certificate {certificate['Status']}")
    pending = aws["acm"].describe_certificate(CertificateArn=ready["pending_certificate_arn"])["Certificate"]
    expect(pending["Status"] == "PENDING_VALIDATION", f"requested certificate {pending['Status']}")
    cert_tags = aws["acm"].list_tags_for_certificate(CertificateArn=ready["certificate_arn"])["Tags"]
    expect_project_tag(tags_of(cert_tags), "certificate")


# --------------------------------------------------------------------------
# checks of the control-plane shim


def live_service_tasks(aws: dict, ready: dict) -> list[dict]:
    ecs = aws["ecs"]
    arns = ecs.list_tasks(cluster=ready["cluster"])["taskArns"]
    tasks = ecs.describe_tasks(cluster=ready["cluster"], tasks=arns)["tasks"] if arns else []
    return [t for t in tasks if t.get("group") == f"service:{ready['service']}" and t["lastStatus"] != "STOPPED"]


def task_network(task: dict) -> dict[str, str]:
    attachment = next(a for a in task["attachments"] if a["type"] == "ElasticNetworkInterface")
    return {d["name"]: d["value"] for d in attachment["details"]}


def check_scale_up(aws: dict, ready: dict) -> None:
    subnet = ready["subnet_ids"][0]
    aws["ecs"].update_service(
        cluster=ready["cluster"], service=ready["service"], desiredCount=1,
        networkConfiguration={"awsvpcConfiguration": {
            "subnets": [subnet], "securityGroups": [ready["security_group_id"]], "assignPublicIp": "ENABLED"}},
    )

    def one_running_task():
        tasks = live_service_tasks(aws, ready)
        running = [t for t in tasks if t["lastStatus"] == "RUNNING"]
        return running if len(tasks) == 1 and len(running) == 1 else None

    task = wait_until("one RUNNING task of the service", one_running_task)[0]
    network = task_network(task)
    cidr = aws["ec2"].describe_subnets(SubnetIds=[subnet])["Subnets"][0]["CidrBlock"]
    expect(network.get("subnetId") == subnet, f"task in {network.get('subnetId')}, pinned to {subnet}")
    ip = network.get("privateIPv4Address")
    expect(ip is not None and ipaddress.ip_address(ip) in ipaddress.ip_network(cidr),
           f"task IP {ip} outside {cidr}")
    service = aws["ecs"].describe_services(cluster=ready["cluster"], services=[ready["service"]])["services"][0]
    expect(service["runningCount"] == 1, f"runningCount {service['runningCount']}")


def targets_of(aws: dict, group_arn: str) -> set[tuple[str, int]]:
    health = aws["elbv2"].describe_target_health(TargetGroupArn=group_arn)["TargetHealthDescriptions"]
    return {(d["Target"]["Id"], d["Target"]["Port"]) for d in health}


def check_service_load_balancers(aws: dict, ready: dict) -> None:
    """What ECS does for a service with loadBalancers: attaching them starts
    a new deployment, each task is registered (container port) when it
    starts and deregistered when it stops, a replacement is registered with
    no client call, detaching leaves alone what others registered."""
    elbv2, ecs = aws["elbv2"], aws["ecs"]
    groups = {}
    for name, protocol, port in (("shim-jvb", "UDP", 10000), ("shim-web", "TCP", 80)):
        groups[port] = elbv2.create_target_group(
            Name=name, Protocol=protocol, Port=port, VpcId=ready["vpc_id"], TargetType="ip",
        )["TargetGroups"][0]["TargetGroupArn"]
    before = {t["taskArn"] for t in live_service_tasks(aws, ready)}
    ecs.update_service(
        cluster=ready["cluster"], service=ready["service"], desiredCount=1,
        loadBalancers=[
            {"targetGroupArn": groups[10000], "containerName": "jvb", "containerPort": 10000},
            {"targetGroupArn": groups[80], "containerName": "web", "containerPort": 80},
        ],
    )

    def registered_task(old: set[str]):
        tasks = [t for t in live_service_tasks(aws, ready) if t["lastStatus"] == "RUNNING"]
        if len(tasks) != 1 or tasks[0]["taskArn"] in old:
            return None
        ip = task_network(tasks[0])["privateIPv4Address"]
        held = {port: targets_of(aws, arn) for port, arn in groups.items()}
        return tasks[0] if all(held[port] == {(ip, port)} for port in groups) else None

    task = wait_until("a new deployment's task registered in both groups", lambda: registered_task(before))
    ecs.stop_task(cluster=ready["cluster"], task=task["taskArn"], reason="failed ELB health checks")
    wait_until("the replacement registered, the stopped task deregistered",
               lambda: registered_task(before | {task["taskArn"]}))
    foreign = ("10.42.1.250", 80)
    elbv2.register_targets(TargetGroupArn=groups[80], Targets=[{"Id": foreign[0], "Port": foreign[1]}])
    ecs.update_service(cluster=ready["cluster"], service=ready["service"], desiredCount=0, loadBalancers=[])
    service = ecs.describe_services(cluster=ready["cluster"], services=[ready["service"]])["services"][0]
    expect(service.get("loadBalancers") == [], f"moto kept loadBalancers {service.get('loadBalancers')}")
    wait_until("no live task and only the foreign target left", lambda: (
        live_service_tasks(aws, ready) == [] and targets_of(aws, groups[10000]) == set()
        and targets_of(aws, groups[80]) == {foreign}))
    for arn in groups.values():
        elbv2.delete_target_group(TargetGroupArn=arn)


def check_execute_command(aws: dict, ready: dict) -> None:
    """ECS Exec as infra/ sets it up, and ExecuteCommand with the ECS API's rules."""
    import botocore.exceptions
    import urllib.request

    ecs, cluster = aws["ecs"], ready["cluster"]
    service = ecs.describe_services(cluster=cluster, services=[ready["service"]])["services"][0]
    expect(service.get("enableExecuteCommand") is True, "the service lacks enableExecuteCommand")
    task = live_service_tasks(aws, ready)[0]
    expect(task.get("enableExecuteCommand") is True, "the service's task lacks enableExecuteCommand")
    prosody = next(c for c in task["containers"] if c["name"] == "prosody")
    expect(bool(prosody.get("runtimeId")), f"no runtimeId: {prosody}")
    expect({"name": "ExecuteCommandAgent", "lastStatus": "RUNNING"} in prosody.get("managedAgents", []),
           f"no RUNNING agent: {prosody.get('managedAgents')}")

    def refused(code: str, message: str, **request) -> None:
        try:
            ecs.execute_command(**request)
        except botocore.exceptions.ClientError as err:
            expect(err.response["Error"]["Code"] == code, f"{request}: {err}")
            expect(message in err.response["Error"]["Message"], f"{request}: {err}")
            return
        raise AssertionError(f"ExecuteCommand accepted {request}")

    base = {"cluster": cluster, "task": task["taskArn"], "container": "prosody", "command": "ls /"}
    refused("InvalidParameterException", "Interactive is the only mode", **base, interactive=False)
    refused("ClusterNotFoundException", "Cluster not found", **{**base, "cluster": "no-such-cluster"}, interactive=True)
    # A task started without ECS Exec (not by the service): refused as ECS refuses it.
    other = ecs.run_task(cluster=cluster, taskDefinition=service["taskDefinition"], group="family:manual",
                         launchType="FARGATE", networkConfiguration=service["networkConfiguration"])["tasks"][0]
    try:
        refused("InvalidParameterException", "execute command was not enabled",
                **{**base, "task": other["taskArn"]}, interactive=True)
    finally:
        ecs.stop_task(cluster=cluster, task=other["taskArn"])
    answer = ecs.execute_command(**base, interactive=True)
    session = answer["session"]
    expect(session["sessionId"] and session["streamUrl"].startswith("wss://") and session["tokenValue"],
           f"session {session}")
    expect(answer["containerName"] == "prosody" and answer["taskArn"] == task["taskArn"], f"answer {answer}")
    with urllib.request.urlopen(ready["endpoint"] + "/_local_aws/executed-commands", timeout=5) as r:
        recorded = json.load(r)
    expect(recorded == [{"cluster": cluster, "task": task["taskArn"], "container": "prosody",
                         "command": "ls /", "interactive": True, "sessionId": session["sessionId"]}],
           f"recorded {recorded}")


def nlb_interface(aws: dict, lb: dict) -> dict | None:
    description = f"ELB net/{lb['LoadBalancerName']}/{lb['LoadBalancerArn'].split('/')[-1]}"
    enis = aws["ec2"].describe_network_interfaces()["NetworkInterfaces"]
    return next((e for e in enis if e.get("Description") == description), None)


def address(aws: dict, allocation_id: str) -> dict:
    return aws["ec2"].describe_addresses(AllocationIds=[allocation_id])["Addresses"][0]


def check_nlb_gets_interface_and_eip(aws: dict, ready: dict, state: dict) -> None:
    project_tag = [{"Key": "Project", "Value": PROJECT}]
    allocation_id = aws["ec2"].allocate_address(
        Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": project_tag}])["AllocationId"]
    state["allocation_id"] = allocation_id
    lb = aws["elbv2"].create_load_balancer(
        Name=f"{PROJECT[:20]}-nlb", Type="network", Scheme="internet-facing",
        SubnetMappings=[{"SubnetId": ready["subnet_ids"][0], "AllocationId": allocation_id}],
        Tags=project_tag,
    )["LoadBalancers"][0]
    state["lb"] = lb

    def interface_with_eip():
        eni = nlb_interface(aws, lb)
        return eni if eni and eni.get("Association", {}).get("AllocationId") == allocation_id else None

    eni = wait_until("the NLB's ENI with the EIP", interface_with_eip)
    expect(eni["SubnetId"] == ready["subnet_ids"][0], f"NLB ENI in {eni['SubnetId']}")
    associated = address(aws, allocation_id)
    expect(associated.get("NetworkInterfaceId") == eni["NetworkInterfaceId"],
           f"EIP on {associated.get('NetworkInterfaceId')}, not the NLB ENI")


def check_nlb_delete_frees_eip(aws: dict, state: dict) -> None:
    lb, allocation_id = state["lb"], state["allocation_id"]
    aws["elbv2"].delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
    wait_until("the NLB's ENI to go", lambda: nlb_interface(aws, lb) is None)
    wait_until("the EIP to be unassociated", lambda: not address(aws, allocation_id).get("AssociationId"))
    aws["ec2"].release_address(AllocationId=allocation_id)
    remaining = aws["ec2"].describe_addresses()["Addresses"]
    expect(all(a["AllocationId"] != allocation_id for a in remaining), "EIP still there after release")


def check_scale_down(aws: dict, ready: dict) -> None:
    # The check before leaves the service at 0 (detached): bring a task up first.
    aws["ecs"].update_service(cluster=ready["cluster"], service=ready["service"], desiredCount=1)
    running = wait_until("a live task to scale down",
                         lambda: [t["taskArn"] for t in live_service_tasks(aws, ready)] or None)
    aws["ecs"].update_service(cluster=ready["cluster"], service=ready["service"], desiredCount=0)
    wait_until("no live task of the service", lambda: live_service_tasks(aws, ready) == [])
    # ListTasks' default filter is desiredStatus RUNNING, as on AWS (moto lists all).
    listed = aws["ecs"].list_tasks(cluster=ready["cluster"])["taskArns"]
    stopped = aws["ecs"].list_tasks(cluster=ready["cluster"], desiredStatus="STOPPED")["taskArns"]
    expect(not set(running) & set(listed), f"default ListTasks lists stopped tasks {listed}")
    expect(set(running) <= set(stopped), f"desiredStatus=STOPPED lists {stopped}, not {running}")
    wait_until("runningCount 0", lambda: aws["ecs"].describe_services(
        cluster=ready["cluster"], services=[ready["service"]])["services"][0]["runningCount"] == 0)


def check_efs_policy_delete(aws: dict) -> None:
    """moto lacks DeleteFileSystemPolicy (terraform destroy of infra/efs.tf
    needs it); the harness answers it as AWS does."""
    efs = aws["efs"]
    fs = efs.create_file_system(CreationToken="harness-policy-test")["FileSystemId"]
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": {"AWS": "*"},
                                                      "Action": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
    efs.put_file_system_policy(FileSystemId=fs, Policy=json.dumps(policy))
    expect(json.loads(efs.describe_file_system_policy(FileSystemId=fs)["Policy"]) == policy, "policy stored")
    efs.delete_file_system_policy(FileSystemId=fs)
    try:
        efs.describe_file_system_policy(FileSystemId=fs)
        raise AssertionError("the policy is still there after DeleteFileSystemPolicy")
    except botocore.exceptions.ClientError as err:
        expect(err.response["Error"]["Code"] == "PolicyNotFound", f"PolicyNotFound, got {err.response['Error']}")
    try:
        efs.delete_file_system_policy(FileSystemId="fs-00000000")
        raise AssertionError("DeleteFileSystemPolicy of an unknown file system succeeded")
    except botocore.exceptions.ClientError as err:
        expect(err.response["Error"]["Code"] == "FileSystemNotFound", f"FileSystemNotFound, got {err.response['Error']}")
    efs.delete_file_system(FileSystemId=fs)


def check_sigterm(harness: Process) -> None:
    started = time.monotonic()
    code = harness.stop()
    expect(code == 0, f"exit code {code}")
    expect(time.monotonic() - started < selfcheck.EXIT_TIMEOUT, "slow exit")
    expect(not harness.ready_file.exists(), "ready file left behind")
    printed = json.loads(harness.stdout.strip().splitlines()[-1])
    expect("endpoint" in printed, f"stdout JSON {printed}")


def check_no_base(results: Results) -> None:
    harness = local_aws("--no-base")
    try:
        ready: dict = {}
        results.check("--no-base: ready file", lambda: ready.update(harness.start()))
        results.check("--no-base: only endpoint/region/project/pid", lambda: expect(
            set(ready) == {"endpoint", "region", "project", "pid"}, f"keys {sorted(ready)}"))
        results.check("--no-base: no VPC but the default", lambda: expect(
            all(v.get("IsDefault") for v in clients(ready)["ec2"].describe_vpcs()["Vpcs"]), "non-default VPC found"))
        results.check("--no-base: SIGTERM exits 0", lambda: expect(harness.stop() == 0, "non-zero exit"))
    finally:
        harness.stop()


def main() -> int:
    results = Results()
    harness = local_aws()
    state: dict = {}
    try:
        ready: dict = {}
        if results.check("harness starts and writes the ready file", lambda: ready.update(harness.start())):
            aws = clients(ready)
            results.check("ready file schema", lambda: check_ready_file(ready))
            results.check("VPC, subnets, gateway, routes", lambda: check_network(aws, ready))
            results.check("task security group", lambda: check_security_group(aws, ready))
            results.check("ECS cluster, task definition, service", lambda: check_ecs(aws, ready))
            results.check("hosted zone and certificate", lambda: check_dns_and_certificate(aws, ready))
            if results.check("desired 1 -> RUNNING task in the pinned subnet", lambda: check_scale_up(aws, ready)):
                results.check("ECS Exec on the service's task; ExecuteCommand with ECS's rules",
                              lambda: check_execute_command(aws, ready))
            if results.check("NLB gets an ENI with the project's EIP",
                             lambda: check_nlb_gets_interface_and_eip(aws, ready, state)):
                results.check("NLB deleted -> ENI gone, EIP free and releasable",
                              lambda: check_nlb_delete_frees_eip(aws, state))
            results.check("service loadBalancers: tasks registered and deregistered as ECS does",
                          lambda: check_service_load_balancers(aws, ready))
            results.check("desired 0 -> no live task", lambda: check_scale_down(aws, ready))
            results.check("EFS DeleteFileSystemPolicy (missing in moto)", lambda: check_efs_policy_delete(aws))
        results.check("SIGTERM -> exit 0 within 5 s", lambda: check_sigterm(harness))
    finally:
        harness.stop()
        if results.failed:
            print("---- harness log (tail) ----\n" + harness.log_tail(), flush=True)
    check_no_base(results)
    print(f"{results.passed} passed, {results.failed} failed", flush=True)
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
