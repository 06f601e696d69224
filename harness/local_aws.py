#!/usr/bin/env python3
"""Local AWS for meetctl's tests and demo: moto, seeded with the base
infrastructure Terraform would create, plus a small control-plane shim for
what moto does not do by itself.

    python harness/local_aws.py serve [--ready-file PATH] [--port 0]
        [--project jitsi-video-platform] [--region us-east-1]
        [--domain meet.example.test] [--no-base] [--shim-interval 1.0]
        [--task-start-delay 0] [--task-stop-delay 0]

See harness/README.md for the ready-file schema and what the shim models.

The shim talks to moto over HTTP with boto3 like any client. What the AWS API
cannot express is done on moto's in-process models instead (moto runs in this
process, see `MotoInternals`): holding a task in PENDING, moving a task's
private IP into its subnet, listing all of a task's containers with timestamps,
deleting a stopped task's ENI, and making a service's running/pending counts
match its tasks.
"""

from __future__ import annotations

import argparse
import datetime
import io
import ipaddress
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Iterable

import boto3
import botocore.exceptions
from botocore.config import Config

from awsrequest import credential_scope, identify, is_read
from jsonfiles import remove_if_present, write_json_atomically

log = logging.getLogger("local_aws")

ACCOUNT_ID = "123456789012"  # moto's default account
JITSI_TAG = "stable-10314"
VPC_CIDR = "10.42.0.0/16"
SUBNET_CIDRS = ("10.42.1.0/24", "10.42.2.0/24")
SUBNET_AZ_SUFFIXES = ("a", "b")
JVB_UDP_PORT = 10000
# With progression "manual", moto moves a task one state further every `times`
# DescribeTasks calls (RUNNING -> DEACTIVATING -> ... -> STOPPED). A count no
# client reaches keeps tasks where the shim puts them.
MANUAL_TRANSITION_TIMES = 1_000_000_000
SERVICE_GROUP_PREFIX = "service:"
SHIM_STARTED_BY = "ecs-svc/shim"
NLB_ENI_DESCRIPTION_PREFIX = "ELB net/"


# --------------------------------------------------------------------------
# moto server


def ensure_port_free(port: int) -> None:
    """A taken port is detected here first, with a message naming it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as err:
            raise SystemExit(f"local_aws: port {port} on 127.0.0.1 is not free: {err}")


SHIM_USER_AGENT = "local-aws-shim"
# what makes ECS start a service's tasks
SCALE_OPERATIONS = ("CreateService", "UpdateService")


def change_of(environ: dict) -> str | None:
    """The operation of a request that may change state the shim reacts to
    ("Unknown" when unrecognised, which counts as a change), or None for
    reads and for the shim's own calls. The body is read and put back."""
    if SHIM_USER_AGENT in environ.get("HTTP_USER_AGENT", ""):
        return None
    headers = {
        "Authorization": environ.get("HTTP_AUTHORIZATION"),
        "X-Amz-Target": environ.get("HTTP_X_AMZ_TARGET"),
        "Content-Type": environ.get("CONTENT_TYPE"),
    }
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    target = environ.get("PATH_INFO", "") + ("?" + environ["QUERY_STRING"] if environ.get("QUERY_STRING") else "")
    call = identify(environ.get("REQUEST_METHOD", "GET"), target, headers, body)
    return None if is_read(call) else call.operation


# moto 5.2.5 has PutFileSystemPolicy and DescribeFileSystemPolicy but no
# DeleteFileSystemPolicy (its EFS url map has no DELETE on .../policy), and the
# AWS provider calls it to destroy aws_efs_file_system_policy, retrying until
# its timeout. AWS: DELETE /2015-02-01/file-systems/{FileSystemId}/policy
# answers 200 with an empty body and leaves the file system's default policy
# (EFS API reference, DeleteFileSystemPolicy).
EFS_POLICY_PATH = re.compile(r"/2015-02-01/file-systems/(?P<id>[^/]+)/policy/?")


def delete_file_system_policy(environ: dict, start_response) -> list[bytes] | None:
    """Answer DeleteFileSystemPolicy on moto's models; None for any other request."""
    match = EFS_POLICY_PATH.fullmatch(environ.get("PATH_INFO", ""))
    if environ.get("REQUEST_METHOD") != "DELETE" or match is None:
        return None
    from moto.efs.models import efs_backends

    # The region is in the SigV4 credential scope: Credential=<key>/<date>/<region>/...
    scope = re.search(r"Credential=[^/]+/[^/]+/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
    regions = [scope[1]] if scope else list(efs_backends[ACCOUNT_ID].keys())
    for region in regions:
        file_system = efs_backends[ACCOUNT_ID][region].file_systems_by_id.get(match["id"])
        if file_system is not None:
            file_system.file_system_policy = None
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "0")])
            return [b""]
    body = json.dumps({"ErrorCode": "FileSystemNotFound",
                       "Message": f"File system '{match['id']}' does not exist."}).encode()
    start_response("404 Not Found", [("Content-Type", "application/json"),
                                     ("x-amzn-ErrorType", "FileSystemNotFound"),
                                     ("Content-Length", str(len(body)))])
    return [body]


class MotoServer:
    """moto's WSGI app on a threaded werkzeug server (as ThreadedMotoServer
    runs it), with `changed` set by every request that may change state, so
    the shim reacts at once instead of polling moto many times a second, and
    `changed_at`: operation -> monotonic time its last call was answered."""

    def __init__(self, port: int) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication, MotoRequestHandler, create_backend_app)
        from werkzeug.serving import make_server

        self.changed = threading.Event()
        self.changed_at: dict[str, float] = {}
        self.execute_command = ExecuteCommandEmulator()
        app = DomainDispatcherApplication(create_backend_app)

        def watching_app(environ, start_response):
            if self.execute_command.handles(environ):
                return self.execute_command(environ, start_response)
            answered = delete_file_system_policy(environ, start_response)
            if answered is not None:
                return answered
            operation = change_of(environ)
            if operation is None:
                return app(environ, start_response)
            try:
                return app(environ, start_response)
            finally:
                self.changed_at[operation] = time.monotonic()
                self.changed.set()

        self._server = make_server("127.0.0.1", port, watching_app, threaded=True,
                                   request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)

    def start(self) -> str:
        self._thread.start()
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()


def apply_list_tasks_default() -> None:
    """ECS ListTasks without desiredStatus lists only tasks whose desired
    status is RUNNING ("The default status filter is RUNNING",
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html);
    moto lists every task then. A task being stopped (desired STOPPED, still
    running) is therefore only found with desiredStatus=STOPPED, as on AWS."""
    from moto.ecs.models import EC2ContainerServiceBackend

    original = EC2ContainerServiceBackend.list_tasks
    if getattr(original, "applies_aws_default", False):
        return

    def list_tasks(self, cluster_str=None, container_instance=None, family=None, started_by=None,
                   service_name=None, desiredStatus=None):
        return original(self, cluster_str, container_instance, family, started_by, service_name,
                        desiredStatus or "RUNNING")

    list_tasks.applies_aws_default = True
    EC2ContainerServiceBackend.list_tasks = list_tasks


# API Gateway's regional hosted zones (the alias target's HostedZoneId),
# https://docs.aws.amazon.com/general/latest/gr/apigateway.html
API_GATEWAY_ZONES = {
    "us-east-1": "Z1UJRXOUMOOFQ8",
    "us-east-2": "ZOJJZC49E0EPZ",
    "us-west-2": "Z2OJLYMUO9EFXC",
    "eu-west-1": "ZLY8HYME6SFDD",
    "eu-central-1": "Z1U9ULNL0V5AJ3",
    "ap-southeast-2": "Z2RPCDW04V8134",
}


def apply_regional_domain_targets() -> None:
    """A regional API Gateway custom domain gets its target from AWS: the
    `ApiGatewayDomainName` (d-<id>.execute-api.<region>.amazonaws.com) and
    `HostedZoneId` a Route53 alias needs, and status AVAILABLE
    (https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/domainnames.html).
    moto 5.2.5 echoes the configuration as sent, without them; the front door
    (infra/modules/front-door) publishes them for meetctl."""
    from moto.apigatewayv2.models import DomainName
    from moto.moto_api._internal import mock_random

    original = DomainName.__init__
    if getattr(original, "fills_targets", False):
        return

    def init(self, domain_name, domain_name_configurations, mutual_tls_authentication, tags, backend):
        original(self, domain_name, domain_name_configurations, mutual_tls_authentication, tags, backend)
        region = backend.region_name
        for config in self.domain_name_configurations or []:
            config.setdefault("apiGatewayDomainName",
                              f"d-{mock_random.get_random_string(10, lower_case=True)}.execute-api.{region}.amazonaws.com")
            config.setdefault("hostedZoneId", API_GATEWAY_ZONES.get(region, "Z1UJRXOUMOOFQ8"))
            config.setdefault("domainNameStatus", "AVAILABLE")

    init.fills_targets = True
    DomainName.__init__ = init


def apply_new_tasks_provisioning() -> None:
    """A task ECS starts is PROVISIONING, then PENDING, and RUNNING only with
    its network interface and address attached (developer guide, "Amazon ECS
    task lifecycle"); moto creates it RUNNING with a random address that the
    shim then moves into the task's subnet. A client reading tasks between
    the two would take the random address for the task's own, which a real
    task never changes. The services' tasks the shim starts therefore begin
    PROVISIONING, set inside moto's constructor (before the task is listed
    anywhere), until the shim dresses them (dress_new_task)."""
    from moto.ecs.models import Task

    original = Task.__init__
    if getattr(original, "starts_provisioning", False):
        return

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if self.started_by == SHIM_STARTED_BY:
            self.last_status = "PROVISIONING"

    __init__.starts_provisioning = True
    Task.__init__ = __init__


ECS_TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113."
EXECUTED_COMMANDS_PATH = "/_local_aws/executed-commands"
EXEC_NOT_ENABLED = (
    "The execute command failed because execute command was not enabled when the task was run "
    "or the execute command agent isn't running. Wait and try again or run a new task with "
    "execute command enabled and try again."
)


class ExecuteCommandEmulator:
    """ECS ExecuteCommand, which moto 5.2.5 does not implement, answered from
    moto's models with the rules of the ECS API reference (ExecuteCommand):
    `interactive` is required and only `true` is supported; the task must be
    RUNNING, started with enableExecuteCommand, and the container's
    ExecuteCommandAgent RUNNING, else InvalidParameterException with ECS's
    message. The session it returns points at no real SSM data channel, so a
    real session-manager-plugin cannot connect: tests put a stand-in plugin
    on PATH. Every accepted request is kept, and `GET
    /_local_aws/executed-commands` returns them (what CloudTrail would record)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []

    @staticmethod
    def handles(environ: dict) -> bool:
        return (environ.get("HTTP_X_AMZ_TARGET") == ECS_TARGET_PREFIX + "ExecuteCommand"
                or environ.get("PATH_INFO") == EXECUTED_COMMANDS_PATH)

    def __call__(self, environ: dict, start_response):
        if environ.get("PATH_INFO") == EXECUTED_COMMANDS_PATH:
            with self._lock:
                return self._answer(start_response, 200, list(self.requests), "application/json")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            request = json.loads(environ["wsgi.input"].read(length) or b"{}")
        except ValueError:
            return self._error(start_response, "SerializationException", "the request body is not JSON")
        region, _ = credential_scope(environ.get("HTTP_AUTHORIZATION"))
        try:
            answer = self._execute(request, region or "us-east-1")
        except ExecuteCommandRefused as refusal:
            return self._error(start_response, refusal.code, str(refusal))
        recorded = {key: request.get(key) for key in ("cluster", "task", "container", "command", "interactive")}
        recorded["sessionId"] = answer["session"]["sessionId"]
        with self._lock:
            self.requests.append(recorded)
        return self._answer(start_response, 200, answer)

    def _execute(self, request: dict, region: str) -> dict:
        from moto.ecs.models import ecs_backends
        from moto.moto_api._internal import mock_random

        for key in ("command", "interactive", "task"):
            if key not in request:
                raise ExecuteCommandRefused("InvalidParameterException", f"{key} is required")
        if request["interactive"] is not True:
            raise ExecuteCommandRefused("InvalidParameterException", "Interactive is the only mode supported currently.")
        backend = ecs_backends[ACCOUNT_ID][region]
        cluster_name = (request.get("cluster") or "default").split("/")[-1]
        if cluster_name not in backend.clusters:
            raise ExecuteCommandRefused("ClusterNotFoundException", "Cluster not found.")
        task_id = request["task"].split("/")[-1]
        task = next((t for arn, t in backend.tasks.get(cluster_name, {}).items() if arn.split("/")[-1] == task_id), None)
        if task is None or task.last_status != "RUNNING":
            raise ExecuteCommandRefused("InvalidParameterException", "The task provided in the request was not found.")
        if not getattr(task, "enable_execute_command", False):
            raise ExecuteCommandRefused("InvalidParameterException", EXEC_NOT_ENABLED)
        containers = task.containers
        if request.get("container"):
            containers = [c for c in containers if getattr(c, "name", None) == request["container"]]
        elif len(containers) > 1:
            raise ExecuteCommandRefused("InvalidParameterException", "The container name is required for a task with more than one container.")
        if not containers:
            raise ExecuteCommandRefused("InvalidParameterException", "The container provided in the request was not found.")
        container = containers[0]
        agents = getattr(container, "managed_agents", None) or []
        agent_running = any(a.get("name") == "ExecuteCommandAgent" and a.get("lastStatus") == "RUNNING" for a in agents)
        if not agent_running:
            raise ExecuteCommandRefused("InvalidParameterException", EXEC_NOT_ENABLED)
        session_id = f"ecs-execute-command-{mock_random.get_random_hex(17)}"
        return {
            "clusterArn": task.cluster_arn,
            "containerArn": getattr(container, "container_arn", ""),
            "containerName": container.name,
            "interactive": True,
            "session": {
                "sessionId": session_id,
                "streamUrl": f"wss://ssmmessages.{region}.amazonaws.com/v1/data-channel/{session_id}?role=publish_subscribe",
                "tokenValue": f"local-aws-token-{mock_random.get_random_hex(32)}",
            },
            "taskArn": task.task_arn,
        }

    @staticmethod
    def _answer(start_response, status: int, body: Any, content_type: str = "application/x-amz-json-1.1"):
        data = json.dumps(body).encode()
        start_response(f"{status} {'OK' if status == 200 else 'Bad Request'}",
                       [("Content-Type", content_type), ("Content-Length", str(len(data)))])
        return [data]

    def _error(self, start_response, code: str, message: str):
        return self._answer(start_response, 400, {"__type": code, "message": message})


class ExecuteCommandRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def start_moto(port: int) -> tuple[MotoServer, str]:
    apply_list_tasks_default()
    apply_regional_domain_targets()
    apply_new_tasks_provisioning()
    if port != 0:
        ensure_port_free(port)
    # Port 0 goes to the server as is: the OS picks a free port at bind time,
    # so there is no window between choosing and binding it.
    server = MotoServer(port)
    return server, server.start()


def moto_api_post(endpoint: str, path: str, body: dict | None = None) -> None:
    data = json.dumps(body).encode() if body is not None else b""
    request = urllib.request.Request(
        endpoint + path, data=data, method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def configure_moto(endpoint: str) -> None:
    # Repeatable ids across runs (ARNs, resource ids, random IPs).
    moto_api_post(endpoint, "/moto-api/seed?a=42")
    # Default progression for ecs::task is "immediate": every read of a task's
    # status jumps it to STOPPED. "manual" keeps it where the shim puts it.
    moto_api_post(endpoint, "/moto-api/state-manager/set-transition", {
        "model_name": "ecs::task",
        "transition": {"progression": "manual", "times": MANUAL_TRANSITION_TIMES},
    })


def make_clients(endpoint: str, region: str) -> "Clients":
    session = boto3.session.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name=region,
    )
    config = Config(
        retries={"max_attempts": 2, "mode": "standard"},
        connect_timeout=2,
        read_timeout=15,
        user_agent_extra=SHIM_USER_AGENT,
    )

    def client(name: str):
        return session.client(name, endpoint_url=endpoint, config=config)

    return Clients(
        ec2=client("ec2"), ecs=client("ecs"), elbv2=client("elbv2"),
        route53=client("route53"), acm=client("acm"),
    )


@dataclass
class Clients:
    ec2: Any
    ecs: Any
    elbv2: Any
    route53: Any
    acm: Any


# --------------------------------------------------------------------------
# Base infrastructure (what infra/ Terraform creates and keeps while idle)


def project_tags(project: str, name: str) -> list[dict[str, str]]:
    return [{"Key": "Project", "Value": project}, {"Key": "Name", "Value": name}]


def ec2_tag_spec(resource_type: str, project: str, name: str) -> list[dict]:
    return [{"ResourceType": resource_type, "Tags": project_tags(project, name)}]


def ecs_tags(project: str, name: str) -> list[dict[str, str]]:
    return [{"key": t["Key"], "value": t["Value"]} for t in project_tags(project, name)]


def create_network(ec2, project: str, region: str) -> dict:
    vpc_id = ec2.create_vpc(
        CidrBlock=VPC_CIDR, TagSpecifications=ec2_tag_spec("vpc", project, f"{project}-vpc"),
    )["Vpc"]["VpcId"]
    # moto's RunTask crashes on the missing private DNS name without these,
    # and real ECS wants them too.
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})

    igw_id = ec2.create_internet_gateway(
        TagSpecifications=ec2_tag_spec("internet-gateway", project, f"{project}-igw"),
    )["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)

    route_table_id = ec2.create_route_table(
        VpcId=vpc_id, TagSpecifications=ec2_tag_spec("route-table", project, f"{project}-public"),
    )["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=route_table_id, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)

    subnet_ids = []
    for cidr, az_suffix in zip(SUBNET_CIDRS, SUBNET_AZ_SUFFIXES):
        az = f"{region}{az_suffix}"
        subnet_id = ec2.create_subnet(
            VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=az,
            TagSpecifications=ec2_tag_spec("subnet", project, f"{project}-public-{az}"),
        )["Subnet"]["SubnetId"]
        ec2.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": True})
        ec2.associate_route_table(RouteTableId=route_table_id, SubnetId=subnet_id)
        subnet_ids.append(subnet_id)

    return {"vpc_id": vpc_id, "vpc_cidr": VPC_CIDR, "subnet_ids": subnet_ids}


def create_task_security_group(ec2, project: str, vpc_id: str) -> str:
    name = f"{project}-task"
    group_id = ec2.create_security_group(
        GroupName=name, Description="Jitsi Meet task: media from anywhere, HTTP from the NLB",
        VpcId=vpc_id, TagSpecifications=ec2_tag_spec("security-group", project, name),
    )["GroupId"]
    anywhere = [{"CidrIp": "0.0.0.0/0"}]
    # 80, 8080 and 3478 (coturn) only from inside the VPC: NLB health checks
    # and TLS-terminated traffic arrive from the NLB's private addresses.
    vpc_only = [{"CidrIp": VPC_CIDR}]
    ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[
        {"IpProtocol": "udp", "FromPort": JVB_UDP_PORT, "ToPort": JVB_UDP_PORT, "IpRanges": anywhere},
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": vpc_only},
        {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "IpRanges": vpc_only},
        {"IpProtocol": "tcp", "FromPort": 3478, "ToPort": 3478, "IpRanges": vpc_only},
    ])
    return group_id


def jitsi_container(name: str, memory_reservation: int, **extra: Any) -> dict:
    # Every container needs a container-level memoryReservation (or memory):
    # without it moto's RunTask answers HTTP 500.
    return {
        "name": name,
        "image": f"jitsi/{name}:{JITSI_TAG}",
        "essential": True,
        "memoryReservation": memory_reservation,
        **extra,
    }


def task_container_definitions(project: str, region: str) -> list[dict]:
    advertise_ips_parameter = (
        f"arn:aws:ssm:{region}:{ACCOUNT_ID}:parameter/{project}/jvb_advertise_ips"
    )
    return [
        jitsi_container("web", 512, portMappings=[
            {"containerPort": 80, "protocol": "tcp", "name": "web"},
        ]),
        jitsi_container("prosody", 512),
        jitsi_container("jicofo", 768),
        jitsi_container(
            "jvb", 1536,
            portMappings=[
                {"containerPort": JVB_UDP_PORT, "protocol": "udp", "name": "jvb-udp"},
                {"containerPort": 8080, "protocol": "tcp", "name": "jvb-health"},
            ],
            environment=[{"name": "JVB_PORT", "value": str(JVB_UDP_PORT)}],
            secrets=[{"name": "JVB_ADVERTISE_IPS", "valueFrom": advertise_ips_parameter}],
        ),
        # TURN over TCP behind the NLB's TLS listener, as in infra/turn.tf.
        {
            "name": "coturn",
            "image": "coturn/coturn:4.6.2-r12",
            "essential": True,
            "memoryReservation": 128,
            "portMappings": [{"containerPort": 3478, "protocol": "tcp", "name": "turn-tcp"}],
        },
    ]


def register_task_definition(ecs, project: str, region: str) -> str:
    return ecs.register_task_definition(
        family=project,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="2048",
        memory="4096",
        runtimePlatform={"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
        containerDefinitions=task_container_definitions(project, region),
        tags=ecs_tags(project, project),
    )["taskDefinition"]["taskDefinitionArn"]


def create_ecs(ecs, project: str, region: str, subnet_ids: list[str], security_group_id: str) -> dict:
    cluster = f"{project}-cluster"
    service = f"{project}-service"
    ecs.create_cluster(clusterName=cluster, tags=ecs_tags(project, cluster))
    task_definition_arn = register_task_definition(ecs, project, region)
    ecs.create_service(
        cluster=cluster,
        serviceName=service,
        taskDefinition=task_definition_arn,
        desiredCount=0,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {
            "subnets": subnet_ids,
            "securityGroups": [security_group_id],
            "assignPublicIp": "ENABLED",
        }},
        tags=ecs_tags(project, service),
    )
    # infra/ turns ECS Exec on (enable_execute_command, default true). moto's
    # CreateService drops enableExecuteCommand; its UpdateService keeps it.
    ecs.update_service(cluster=cluster, service=service, enableExecuteCommand=True)
    return {"cluster": cluster, "service": service, "task_definition_arn": task_definition_arn}


def parent_zone_name(domain: str) -> str:
    """meet.example.test -> example.test."""
    return domain.rstrip(".").split(".", 1)[-1] + "."


def create_hosted_zone(route53, project: str, domain: str) -> str:
    zone_name = parent_zone_name(domain)
    zone_id = route53.create_hosted_zone(
        Name=zone_name, CallerReference=f"{project}-{zone_name}",
        HostedZoneConfig={"Comment": f"{project} public zone", "PrivateZone": False},
    )["HostedZone"]["Id"].split("/")[-1]
    route53.change_tags_for_resource(
        ResourceType="hostedzone", ResourceId=zone_id,
        AddTags=project_tags(project, zone_name),
    )
    return zone_id


def import_certificate(acm, project: str, domain: str) -> str:
    """A self-signed certificate imported into ACM: imported certificates are
    ISSUED at once, like a validated one meetctl's preflight accepts."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    certificate_arn = acm.import_certificate(
        Certificate=cert.public_bytes(serialization.Encoding.PEM),
        PrivateKey=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption(),
        ),
        Tags=project_tags(project, domain),
    )["CertificateArn"]
    status = acm.describe_certificate(CertificateArn=certificate_arn)["Certificate"]["Status"]
    log.info("base: imported ACM certificate for %s is %s", domain, status)
    return certificate_arn


def request_certificate(acm, project: str, domain: str) -> str:
    certificate_arn = acm.request_certificate(
        DomainName=domain, ValidationMethod="DNS", Tags=project_tags(project, domain),
    )["CertificateArn"]
    status = acm.describe_certificate(CertificateArn=certificate_arn)["Certificate"]["Status"]
    log.info("base: ACM certificate for %s is %s", domain, status)
    return certificate_arn


def create_base_infra(clients: Clients, project: str, region: str, domain: str) -> dict:
    network = create_network(clients.ec2, project, region)
    security_group_id = create_task_security_group(clients.ec2, project, network["vpc_id"])
    ecs = create_ecs(clients.ecs, project, region, network["subnet_ids"], security_group_id)
    return {
        **network,
        "security_group_id": security_group_id,
        **ecs,
        "hosted_zone_id": create_hosted_zone(clients.route53, project, domain),
        "certificate_arn": import_certificate(clients.acm, project, domain),
        "pending_certificate_arn": request_certificate(clients.acm, project, domain),
    }


def warm_up(endpoint: str, region: str) -> None:
    """One read per service meetctl uses. moto builds a service's backend on
    its first request (SSM loads its public parameters then: ~0.3 s) and
    compiles an error's template the first time it answers with that error;
    AWS has no such first-call cost, so it must not land inside a measured
    command. The lookups of names that do not exist warm the error paths."""
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name=region)
    reads = [
        ("sts", "get_caller_identity", {}),
        ("ssm", "describe_parameters", {}),
        ("ssm", "get_parameter", {"Name": "/warm-up"}),
        ("elbv2", "describe_load_balancers", {"Names": ["warm-up"]}),
        ("elbv2", "describe_target_groups", {"Names": ["warm-up"]}),
        ("ec2", "describe_addresses", {}),
        ("ecs", "list_tasks", {"cluster": "warm-up"}),
        ("route53", "list_hosted_zones", {}),
        ("acm", "list_certificates", {}),
    ]
    for service, operation, params in reads:
        try:
            getattr(session.client(service, endpoint_url=endpoint), operation)(**params)
        except botocore.exceptions.ClientError:
            pass  # the not-found answers are the point


# --------------------------------------------------------------------------
# moto internals: what the AWS API cannot express


class MotoInternals:
    """Direct access to moto's in-process models (moto runs in this process),
    for the corrections no API call can make. Every method tolerates a
    resource that vanished meanwhile (a client deleted it or reset moto)."""

    def __init__(self, region: str):
        self.region = region
        # Addresses of stopped tasks' ENIs: AWS gives a new ENI any free
        # address of the subnet, so a replacement task seldom gets the old
        # one; handing it straight back would hide a stale target.
        self._released_ips: set[str] = set()

    def _ecs(self):
        from moto.ecs.models import ecs_backends
        return ecs_backends[ACCOUNT_ID][self.region]

    def _ec2(self):
        from moto.ec2.models import ec2_backends
        return ec2_backends[ACCOUNT_ID][self.region]

    def _task(self, task_arn: str):
        for cluster_tasks in self._ecs().tasks.values():
            if task_arn in cluster_tasks:
                return cluster_tasks[task_arn]
        return None

    def dress_new_task(self, task_arn: str, status: str, exec_enabled: bool = False) -> str | None:
        """Make a task moto just created look like one ECS created: an address
        in its subnet, all its containers (each with a runtimeId and, with
        ECS Exec, a RUNNING ExecuteCommandAgent), enableExecuteCommand as its
        service has it, createdAt and availabilityZone, and the given
        lastStatus. Returns the task's private IP."""
        task = self._task(task_arn)
        if task is None:
            return None
        ip, _moved = self.move_task_ip_into_subnet(task_arn)
        task.created_at = utc_now()
        eni = self._task_eni(task)
        if eni is not None:
            task.availability_zone = eni.subnet.availability_zone
        # moto lists only the first container, with a task-definition ARN as
        # its taskArn; ECS lists every container of the task.
        task.containers = self._containers_of(task, ip, exec_enabled)
        task.enable_execute_command = exec_enabled
        self.set_task_status(task_arn, status)
        return ip

    def _containers_of(self, task, ip: str | None, exec_enabled: bool = False) -> list:
        from moto.ecs.models import Container
        from moto.moto_api._internal import mock_random

        task_definition = self._ecs().describe_task_definition(task.task_definition_arn)
        attachment = eni_attachment(task.attachments)
        containers = []
        for definition in task_definition.container_definitions:
            container = Container(task_definition)
            container.container_arn = (
                f"arn:aws:ecs:{self.region}:{ACCOUNT_ID}:container/"
                f"{task.cluster_name}/{task.id}/{mock_random.uuid4()}"
            )
            container.task_arn = task.task_arn
            container.name = definition["name"]
            container.image = definition.get("image")
            container.cpu = definition.get("cpu", 0)
            container.memory = definition.get("memory")
            container.memory_reservation = definition.get("memoryReservation")
            container.environment = definition.get("environment")
            if attachment is not None and ip is not None:
                container.network_interfaces = [{"attachmentId": attachment["id"], "privateIpv4Address": ip}]
            # Fargate's runtimeId: "<task id without dashes>-<number>".
            container.runtime_id = f"{task.id.replace('-', '')}-{mock_random.randint(10**9, 10**10 - 1)}"
            if exec_enabled:
                container.managed_agents = [{"name": "ExecuteCommandAgent", "lastStatus": "RUNNING"}]
            containers.append(container)
        return containers

    def set_desired_stopped(self, task_arn: str) -> None:
        """ECS sets a task's desired status to STOPPED as it starts stopping
        it; the task runs on (lastStatus unchanged) until it has stopped."""
        task = self._task(task_arn)
        if task is not None:
            task.desired_status = "STOPPED"

    def set_task_status(self, task_arn: str, status: str) -> None:
        """moto creates Fargate tasks directly in RUNNING and its lifecycle
        model has no PENDING, so the shim sets the status here."""
        task = self._task(task_arn)
        if task is None:
            return
        task.last_status = status
        if status == "RUNNING" and getattr(task, "started_at", None) is None:
            task.started_at = utc_now()
        for container in task.containers:
            container.last_status = status

    def move_task_ip_into_subnet(self, task_arn: str) -> tuple[str | None, bool]:
        """moto gives a task's ENI a random 10.x.y.z address, usually outside
        its subnet. Re-address the ENI and the task's attachment with a free
        address of the subnet. Returns (address, whether it was moved)."""
        task = self._task(task_arn)
        eni = self._task_eni(task) if task is not None else None
        if eni is None:
            return None, False
        cidr = eni.subnet.cidr_block
        if ip_in_cidr(eni.private_ip_address, cidr):
            return eni.private_ip_address, False
        in_use = self._ips_in_use(except_eni=eni.id)
        try:
            new_ip = first_free_ip(cidr, in_use | self._released_ips)
        except RuntimeError:
            new_ip = first_free_ip(cidr, in_use)
        dns_name = eni_dns_name(new_ip, self.region)
        eni.private_ip_address = new_ip
        eni.private_ip_addresses = [{"Primary": True, "PrivateIpAddress": new_ip, "PrivateDnsName": dns_name}]
        eni.private_dns_name = dns_name
        details = eni_attachment(task.attachments)["details"]
        set_detail_value(details, "privateIPv4Address", new_ip)
        set_detail_value(details, "privateDnsName", dns_name)
        for container in task.containers:
            for interface in getattr(container, "network_interfaces", []):
                interface["privateIpv4Address"] = new_ip
        return new_ip, True

    def _task_eni(self, task):
        attachment = eni_attachment(task.attachments)
        if attachment is None:
            return None
        return self._ec2().enis.get(detail_value(attachment["details"], "networkInterfaceId"))

    def _ips_in_use(self, except_eni: str) -> set[str]:
        used: set[str] = set()
        for eni_id, eni in list(self._ec2().enis.items()):
            if eni_id == except_eni:
                continue
            used.add(eni.private_ip_address)
            used.update(a["PrivateIpAddress"] for a in eni.private_ip_addresses)
        return used

    def release_stopped_task(self, task_arn: str) -> str | None:
        """ECS deletes a stopped task's ENI and marks the attachment DELETED;
        moto keeps both. Returns the deleted ENI's id, if there was one."""
        task = self._task(task_arn)
        if task is None:
            return None
        if getattr(task, "stopped_at", None) is None:
            task.stopped_at = utc_now()
        for container in task.containers:
            container.last_status = "STOPPED"
        attachment = eni_attachment(task.attachments)
        if attachment is None or attachment["status"] == "DELETED":
            return None
        attachment["status"] = "DELETED"
        eni_id = detail_value(attachment["details"], "networkInterfaceId")
        eni = self._ec2().enis.pop(eni_id, None)
        if eni is None:
            return None
        self._released_ips.add(eni.private_ip_address)
        return eni_id

    def set_service_counts(self, cluster_arn: str, service_name: str, running: int, pending: int) -> None:
        """moto's UpdateService sets runningCount to the desired count at once;
        report what the tasks really are, as ECS does."""
        for service in list(self._ecs().services.values()):
            if service.cluster_arn == cluster_arn and service.name == service_name:
                service.running_count = running
                service.pending_count = pending


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def eni_attachment(attachments: Iterable[dict]) -> dict | None:
    return next((a for a in attachments if a.get("type") == "ElasticNetworkInterface"), None)


def detail_value(details: Iterable[dict], name: str) -> str | None:
    return next((d["value"] for d in details if d["name"] == name), None)


def set_detail_value(details: list[dict], name: str, value: str) -> None:
    for detail in details:
        if detail["name"] == name:
            detail["value"] = value
            return
    details.append({"name": name, "value": value})


def ip_in_cidr(ip: str | None, cidr: str) -> bool:
    return ip is not None and ipaddress.ip_address(ip) in ipaddress.ip_network(cidr)


def first_free_ip(cidr: str, used: set[str]) -> str:
    # AWS reserves the first four addresses and the last one of every subnet.
    hosts = list(ipaddress.ip_network(cidr).hosts())[3:-1]
    for host in hosts:
        if str(host) not in used:
            return str(host)
    raise RuntimeError(f"no free address left in {cidr}")


def eni_dns_name(ip: str, region: str) -> str:
    suffix = "ec2.internal" if region == "us-east-1" else f"{region}.compute.internal"
    return f"ip-{ip.replace('.', '-')}.{suffix}"


# --------------------------------------------------------------------------
# Control-plane shim


def chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


@dataclass
class ControlPlaneShim:
    clients: Clients
    internals: MotoInternals
    interval: float
    task_start_delay: float
    # seconds a task being stopped keeps running with desired status STOPPED
    task_stop_delay: float = 0.0
    # set by the server on every request that may change state
    changed: threading.Event = field(default_factory=threading.Event)
    # operation -> when a client's last call of it was answered (the server's)
    changed_at: dict[str, float] = field(default_factory=dict)
    stop_event: threading.Event = field(default_factory=threading.Event)
    # task ARN -> monotonic time the shim started it, for --task-start-delay
    _pending_since: dict[str, float] = field(default_factory=dict)
    # task ARN -> (monotonic time its stop began, cluster ARN, reason), for --task-stop-delay
    _stopping_since: dict[str, tuple[float, str, str]] = field(default_factory=dict)
    # NLBs seen without tags once: moto tags an LB just after creating it
    _untagged_lbs_seen: set[str] = field(default_factory=set)
    # monotonic time the current pass began
    _pass_started: float = 0.0
    # "<cluster ARN>/<service>" -> what its last deployment was made of
    _deployments: dict[str, str] = field(default_factory=dict)
    # "<cluster ARN>/<service>" -> (target group ARN, IP, port) the shim registered
    _service_targets: dict[str, set] = field(default_factory=dict)
    # last error per step, so a persistent failure logs once, not 10 times a second
    _last_errors: dict[str, str] = field(default_factory=dict)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="control-plane-shim", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        self.changed.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self.stop_event.is_set():
            self.changed.clear()
            self.run_once()
            self.changed.wait(self._next_pass_in())

    def _next_pass_in(self) -> float:
        """A change through the API wakes the shim at once; otherwise the next
        pass is due when a PENDING task's start delay ends, or soon when an
        NLB was seen before its tags, or after `interval` at the latest."""
        due = [self.interval]
        now = time.monotonic()
        due += [max(0.0, since + self.task_start_delay - now) for since in self._pending_since.values()]
        due += [max(0.0, since + self.task_stop_delay - now) for since, _, _ in self._stopping_since.values()]
        if self._untagged_lbs_seen:
            due.append(0.02)
        return min(due)

    def run_once(self) -> None:
        self._pass_started = time.monotonic()
        self._guarded("ecs-due", self._promote_due_tasks)
        self._guarded("ecs-stop-due", self._finish_due_stops)
        self._guarded("ecs", self.reconcile_ecs_services)
        self._guarded("nlb", self.reconcile_nlb_interfaces)

    def _promote_due_tasks(self) -> None:
        """Tasks whose start delay has ended go RUNNING first thing in the
        pass the delay's end woke, not after the pass's reads of moto."""
        for arn, since in list(self._pending_since.items()):
            if self._pass_started - since >= self.task_start_delay:
                self.internals.set_task_status(arn, "RUNNING")
                self._pending_since.pop(arn, None)
                log.info("shim: task %s PENDING -> RUNNING", short_arn(arn))

    def _finish_due_stops(self) -> None:
        """Tasks whose --task-stop-delay has ended stop for good."""
        for arn, (since, cluster_arn, reason) in list(self._stopping_since.items()):
            if self._pass_started - since >= self.task_stop_delay:
                self._stopping_since.pop(arn, None)
                self._stop_task(cluster_arn, arn, reason)

    def _guarded(self, step: str, action) -> None:
        """One failing step must never kill the shim or starve the others."""
        try:
            action()
        except Exception as err:  # noqa: BLE001 - the shim must survive anything
            message = f"{type(err).__name__}: {err}"
            if self._last_errors.get(step) != message:
                log.warning("shim: %s step failed (will retry): %s", step, message)
            self._last_errors[step] = message
        else:
            if self._last_errors.pop(step, None) is not None:
                log.info("shim: %s step recovered", step)

    # ---- ECS services -> tasks ------------------------------------------

    def reconcile_ecs_services(self) -> None:
        ecs = self.clients.ecs
        for cluster_arn in paginate(ecs, "list_clusters", "clusterArns"):
            tasks = self._describe_cluster_tasks(cluster_arn)
            self._release_stopped_tasks(tasks)
            active = [s for s in self._describe_services(cluster_arn) if s["status"] == "ACTIVE"]
            for service in active:
                self._reconcile_service(cluster_arn, service, tasks)
            self._stop_orphaned_tasks(cluster_arn, {s["serviceName"] for s in active}, tasks)

    def _describe_services(self, cluster_arn: str) -> list[dict]:
        ecs = self.clients.ecs
        arns = list(paginate(ecs, "list_services", "serviceArns", cluster=cluster_arn))
        services = []
        for batch in chunks(arns, 10):
            services += ecs.describe_services(cluster=cluster_arn, services=batch)["services"]
        return services

    def _describe_cluster_tasks(self, cluster_arn: str) -> list[dict]:
        # moto's ListTasks ignores serviceName: list the cluster's tasks and
        # tell services apart by group afterwards.
        ecs = self.clients.ecs
        # Both desired statuses: ListTasks lists desired RUNNING by default,
        # and stopped tasks' ENIs are released from this list too.
        arns = [arn for desired in ("RUNNING", "STOPPED")
                for arn in paginate(ecs, "list_tasks", "taskArns", cluster=cluster_arn, desiredStatus=desired)]
        tasks = []
        for batch in chunks(arns, 100):
            tasks += ecs.describe_tasks(cluster=cluster_arn, tasks=batch)["tasks"]
        # moto's DescribeTasks searches every cluster, and its ListTasks
        # matches cluster names as substrings.
        return [t for t in tasks if t["clusterArn"] == cluster_arn]

    def _release_stopped_tasks(self, tasks: list[dict]) -> None:
        for task in tasks:
            attachment = eni_attachment(task.get("attachments", []))
            if task["lastStatus"] == "STOPPED" and attachment and attachment["status"] != "DELETED":
                eni_id = self.internals.release_stopped_task(task["taskArn"])
                self._pending_since.pop(task["taskArn"], None)
                log.info("shim: task %s stopped, deleted its ENI %s", short_arn(task["taskArn"]), eni_id)

    def _reconcile_service(self, cluster_arn: str, service: dict, cluster_tasks: list[dict]) -> None:
        name = service["serviceName"]
        group = SERVICE_GROUP_PREFIX + name
        # A task being stopped (desired STOPPED) no longer counts toward the service.
        live = [t for t in cluster_tasks if t.get("group") == group and t["lastStatus"] != "STOPPED"
                and t.get("desiredStatus") != "STOPPED"]
        desired = service["desiredCount"]
        if self._new_deployment(cluster_arn, service) and live:
            # Rolling update with minimumHealthyPercent 0 and maximumPercent
            # 100 (infra/ecs.tf): the old tasks stop before new ones start.
            log.info("shim: new deployment of service %s replaces %d task(s)", name, len(live))
            live = self._stop_surplus(cluster_arn, live, len(live))
        if desired < len(live):
            log.info("shim: StopTask for service %s (desired %d, live %d)", name, desired, len(live))
            live = self._stop_surplus(cluster_arn, live, len(live) - desired)
        live_ips = [self._bring_up(task) for task in live]
        live_arns = [t["taskArn"] for t in live]
        if desired > len(live):
            log.info("shim: RunTask for service %s (desired %d, live %d)", name, desired, len(live))
            started = self._start_tasks(cluster_arn, service, desired - len(live))
            live_arns += [arn for arn, _ip in started]
            live_ips += [ip for _arn, ip in started]
        self._reconcile_targets(cluster_arn, service, [ip for ip in live_ips if ip])
        self._report_counts(cluster_arn, name, live_arns)

    def _new_deployment(self, cluster_arn: str, service: dict) -> bool:
        """Whether the service changed in a way that starts a new deployment
        on ECS (UpdateService API reference: task definition, network
        configuration, load balancers, or forceNewDeployment, which moto
        shows as a new deployment id), since the last pass."""
        deployments = service.get("deployments") or [{}]
        fingerprint = json.dumps([
            service.get("taskDefinition"), service.get("networkConfiguration"),
            sorted(json.dumps(lb, sort_keys=True) for lb in service.get("loadBalancers", [])),
            deployments[0].get("id"),
        ], sort_keys=True, default=str)
        key = cluster_arn + "/" + service["serviceName"]
        before = self._deployments.get(key)
        self._deployments[key] = fingerprint
        return before is not None and before != fingerprint

    def _reconcile_targets(self, cluster_arn: str, service: dict, live_ips: list[str]) -> None:
        """What ECS does for a service with `loadBalancers`: each live task's
        address is a target (on the container port) of each of those target
        groups from its start on (ECS registers during ACTIVATING, before
        RUNNING: developer guide, "Amazon ECS task lifecycle"), and is
        deregistered once the task stops or the group leaves the service.
        Only targets the shim registered are ever deregistered: ECS leaves
        alone what someone else registered."""
        key = cluster_arn + "/" + service["serviceName"]
        wanted = {
            (lb["targetGroupArn"], ip, int(lb["containerPort"]))
            for lb in service.get("loadBalancers", []) if lb.get("targetGroupArn")
            for ip in live_ips
        }
        registered = self._service_targets.setdefault(key, set())
        name = service["serviceName"]
        for group, ip, port in sorted(registered - wanted):
            if self._change_target(group, ip, port, register=False):
                log.info("shim: deregistered %s:%d from %s (service %s)", ip, port, short_arn(group), name)
            registered.discard((group, ip, port))
        for group, ip, port in sorted(wanted - registered):
            if self._change_target(group, ip, port, register=True):
                registered.add((group, ip, port))
                log.info("shim: registered %s:%d in %s (service %s)", ip, port, short_arn(group), name)
            else:
                log.warning("shim: service %s names target group %s, which does not exist", name, group)

    def _change_target(self, group: str, ip: str, port: int, register: bool) -> bool:
        """Registers or deregisters one target; False when the group is gone."""
        call = self.clients.elbv2.register_targets if register else self.clients.elbv2.deregister_targets
        try:
            call(TargetGroupArn=group, Targets=[{"Id": ip, "Port": port}])
        except botocore.exceptions.ClientError as err:
            if err.response.get("Error", {}).get("Code") != "TargetGroupNotFound":
                raise
            return False
        return True

    def _start_tasks(self, cluster_arn: str, service: dict, count: int) -> list[tuple[str, str | None]]:
        # The service's current networkConfiguration, read this iteration:
        # meetctl pins it to the NLB's subnet with UpdateService first.
        network_configuration = service.get("networkConfiguration")
        if not network_configuration:
            raise RuntimeError(f"service {service['serviceName']} has no networkConfiguration")
        response = self.clients.ecs.run_task(
            cluster=cluster_arn,
            taskDefinition=service["taskDefinition"],
            count=count,
            group=SERVICE_GROUP_PREFIX + service["serviceName"],
            startedBy=SHIM_STARTED_BY,
            launchType="FARGATE",
            networkConfiguration=network_configuration,
        )
        for failure in response.get("failures", []):
            log.warning("shim: RunTask failure for %s: %s", service["serviceName"], failure)
        started = []
        for task in response["tasks"]:
            arn = task["taskArn"]
            status = "PENDING" if self.task_start_delay > 0 else "RUNNING"
            if status == "PENDING":
                # The start delay counts from the client's scale-out (or from
                # this pass, if that came before it), not from when this
                # pass's reads and RunTask are done.
                scaled_at = max(self.changed_at.get(op, 0.0) for op in SCALE_OPERATIONS)
                self._pending_since[arn] = max(self._pass_started, scaled_at)
            ip = self.internals.dress_new_task(arn, status, bool(service.get("enableExecuteCommand")))
            log.info("shim: started task %s in %s at %s (%s)", short_arn(arn), task_subnet(task), ip, status)
            started.append((arn, ip))
        return started

    def _stop_surplus(self, cluster_arn: str, live: list[dict], surplus: int) -> list[dict]:
        # Stop PENDING tasks before RUNNING ones, as a scale-in would.
        ordered = sorted(live, key=lambda t: t["lastStatus"] == "RUNNING")
        to_stop, keep = ordered[:surplus], ordered[surplus:]
        for task in to_stop:
            self._begin_stop(cluster_arn, task["taskArn"], "Scaled in by shim")
        return keep

    def _begin_stop(self, cluster_arn: str, task_arn: str, reason: str) -> None:
        """With --task-stop-delay, a scaled-in task first only has its desired
        status set to STOPPED and keeps running for the delay, as ECS drains
        and stops it; without, it stops at once."""
        if self.task_stop_delay <= 0:
            self._stop_task(cluster_arn, task_arn, reason)
            return
        self.internals.set_desired_stopped(task_arn)
        self._pending_since.pop(task_arn, None)
        self._stopping_since[task_arn] = (self._pass_started, cluster_arn, reason)
        log.info("shim: stopping task %s (desired STOPPED, stops in %.2fs)", short_arn(task_arn),
                 self.task_stop_delay)

    def _stop_orphaned_tasks(self, cluster_arn: str, active_services: set[str], tasks: list[dict]) -> None:
        """ECS stops the tasks of a deleted service; moto leaves them running."""
        for task in tasks:
            group = task.get("group", "")
            if (group.startswith(SERVICE_GROUP_PREFIX) and task["lastStatus"] != "STOPPED"
                    and group[len(SERVICE_GROUP_PREFIX):] not in active_services):
                log.info("shim: StopTask for %s: its service is gone", short_arn(task["taskArn"]))
                self._stop_task(cluster_arn, task["taskArn"], "Service deleted")

    def _stop_task(self, cluster_arn: str, task_arn: str, reason: str) -> None:
        self.clients.ecs.stop_task(cluster=cluster_arn, task=task_arn, reason=reason)
        self._pending_since.pop(task_arn, None)
        self._stopping_since.pop(task_arn, None)
        eni_id = self.internals.release_stopped_task(task_arn)
        log.info("shim: stopped task %s, deleted its ENI %s", short_arn(task_arn), eni_id)

    def _bring_up(self, task: dict) -> str | None:
        """Keep a live task as ECS would have it: its address in its subnet,
        and RUNNING once --task-start-delay has passed. Returns its address."""
        arn = task["taskArn"]
        ip, moved = self.internals.move_task_ip_into_subnet(arn)
        if moved:
            log.info("shim: task %s re-addressed to %s", short_arn(arn), ip)
        if task["lastStatus"] == "RUNNING":
            return ip
        started = self._pending_since.get(arn)
        if started is None or time.monotonic() - started >= self.task_start_delay:
            self.internals.set_task_status(arn, "RUNNING")
            self._pending_since.pop(arn, None)
            log.info("shim: task %s %s -> RUNNING", short_arn(arn), task["lastStatus"])
        return ip

    def _report_counts(self, cluster_arn: str, service_name: str, live_arns: list[str]) -> None:
        pending = sum(1 for arn in live_arns if arn in self._pending_since)
        self.internals.set_service_counts(cluster_arn, service_name, len(live_arns) - pending, pending)

    # ---- network load balancers -> ENIs + EIPs ----------------------------

    def reconcile_nlb_interfaces(self) -> None:
        ec2, elbv2 = self.clients.ec2, self.clients.elbv2
        nlbs = [lb for lb in paginate(elbv2, "describe_load_balancers", "LoadBalancers") if lb.get("Type") == "network"]
        wanted = {nlb_eni_description(lb): lb for lb in nlbs}
        existing = {
            eni["Description"]: eni
            for eni in paginate(ec2, "describe_network_interfaces", "NetworkInterfaces")
            if eni.get("Description", "").startswith(NLB_ENI_DESCRIPTION_PREFIX)
        }
        for description, lb in wanted.items():
            if description not in existing:
                self._create_nlb_interface(lb, description)
        for description, eni in existing.items():
            if description not in wanted:
                self._delete_nlb_interface(eni)

    def _create_nlb_interface(self, lb: dict, description: str) -> None:
        ec2 = self.clients.ec2
        tags = self._lb_tags(lb["LoadBalancerArn"])
        if not tags and lb["LoadBalancerArn"] not in self._untagged_lbs_seen:
            # moto stores tags right after the LB; give them one iteration.
            self._untagged_lbs_seen.add(lb["LoadBalancerArn"])
            return
        self._untagged_lbs_seen.discard(lb["LoadBalancerArn"])
        subnet_id = lb["AvailabilityZones"][0]["SubnetId"]
        eni_id = ec2.create_network_interface(
            SubnetId=subnet_id,
            Description=description,
            PrivateIpAddress=self._free_ip_in_subnet(subnet_id),
        )["NetworkInterface"]["NetworkInterfaceId"]
        project = tags.get("Project")
        address = self._unassociated_project_address(project) if project else None
        if address is None:
            log.info("shim: NLB %s: ENI %s in %s, no free EIP tagged Project=%s", lb["LoadBalancerName"], eni_id, subnet_id, project)
            return
        ec2.associate_address(AllocationId=address["AllocationId"], NetworkInterfaceId=eni_id)
        log.info("shim: NLB %s: ENI %s in %s with EIP %s (%s)", lb["LoadBalancerName"], eni_id, subnet_id,
                 address["PublicIp"], address["AllocationId"])

    def _lb_tags(self, lb_arn: str) -> dict[str, str]:
        descriptions = self.clients.elbv2.describe_tags(ResourceArns=[lb_arn])["TagDescriptions"]
        return {t["Key"]: t["Value"] for d in descriptions for t in d.get("Tags", [])}

    def _free_ip_in_subnet(self, subnet_id: str) -> str:
        ec2 = self.clients.ec2
        cidr = ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]["CidrBlock"]
        used = {
            a["PrivateIpAddress"]
            for eni in paginate(ec2, "describe_network_interfaces", "NetworkInterfaces")
            for a in eni.get("PrivateIpAddresses", [])
        }
        return first_free_ip(cidr, used)

    def _unassociated_project_address(self, project: str) -> dict | None:
        addresses = self.clients.ec2.describe_addresses(
            Filters=[{"Name": "tag:Project", "Values": [project]}],
        )["Addresses"]
        free = [a for a in addresses if not a.get("AssociationId") and not a.get("NetworkInterfaceId")]
        return min(free, key=lambda a: a["AllocationId"]) if free else None

    def _delete_nlb_interface(self, eni: dict) -> None:
        # As in AWS: the NLB's EIP comes free only once its ENI is gone.
        ec2 = self.clients.ec2
        eni_id = eni["NetworkInterfaceId"]
        addresses = ec2.describe_addresses(
            Filters=[{"Name": "network-interface-id", "Values": [eni_id]}],
        )["Addresses"]
        for address in addresses:
            if address.get("NetworkInterfaceId") == eni_id and address.get("AssociationId"):
                ec2.disassociate_address(AssociationId=address["AssociationId"])
                log.info("shim: EIP %s disassociated from %s", address["PublicIp"], eni_id)
        ec2.delete_network_interface(NetworkInterfaceId=eni_id)
        log.info("shim: deleted ENI %s (%s): its NLB is gone", eni_id, eni["Description"])


def paginate(client, operation: str, key: str, **kwargs) -> Iterable:
    if client.can_paginate(operation):
        for page in client.get_paginator(operation).paginate(**kwargs):
            yield from page.get(key, [])
    else:
        yield from getattr(client, operation)(**kwargs).get(key, [])


def nlb_eni_description(lb: dict) -> str:
    # AWS names an NLB's ENI "ELB net/<name>/<id>"; moto's ARN reads
    # loadbalancer/app/... even for network LBs, so only the last part is used.
    return f"{NLB_ENI_DESCRIPTION_PREFIX}{lb['LoadBalancerName']}/{lb['LoadBalancerArn'].split('/')[-1]}"


def short_arn(arn: str) -> str:
    return arn.split("/")[-1]


def task_subnet(task: dict) -> str | None:
    attachment = eni_attachment(task.get("attachments", []))
    return detail_value(attachment["details"], "subnetId") if attachment else None


# --------------------------------------------------------------------------
# serve


def isolate_from_environment() -> None:
    """Only 127.0.0.1 is ever talked to: no proxy, no profile from the caller."""
    no_proxy = ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1", "localhost"]))
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = no_proxy
    for variable in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(variable, None)


def install_stop_signals(stop_event: threading.Event) -> None:
    def request_stop(signum, _frame):
        log.info("received %s, shutting down", signal.Signals(signum).name)
        stop_event.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)


def serve(args: argparse.Namespace) -> int:
    isolate_from_environment()
    # werkzeug logs every request at INFO.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    stop_event = threading.Event()
    install_stop_signals(stop_event)
    server, endpoint = start_moto(args.port)
    # A ready file left by an earlier run must not announce this one.
    remove_if_present(args.ready_file)
    log.info("moto %s listening on %s", moto_version(), endpoint)
    shim = None
    try:
        configure_moto(endpoint)
        clients = make_clients(endpoint, args.region)
        info: dict[str, Any] = {"endpoint": endpoint, "region": args.region, "project": args.project}
        if not args.no_base:
            info.update({"domain": args.domain})
            info.update(create_base_infra(clients, args.project, args.region, args.domain))
            log.info("base infrastructure for %s created", args.project)
        warm_up(endpoint, args.region)
        info["pid"] = os.getpid()

        shim = ControlPlaneShim(
            clients=clients,
            internals=MotoInternals(args.region),
            interval=args.shim_interval,
            changed=server.changed,
            changed_at=server.changed_at,
            task_start_delay=args.task_start_delay,
            task_stop_delay=args.task_stop_delay,
        )
        shim.start()

        if args.ready_file:
            write_json_atomically(args.ready_file, info)
        print(json.dumps(info), flush=True)

        while not stop_event.is_set():
            stop_event.wait(1.0)
    except Exception:
        log.exception("local AWS failed")
        return 1
    finally:
        if shim is not None:
            shim.stop()
        server.stop()
        remove_if_present(args.ready_file)
        log.info("stopped")
    return 0


def moto_version() -> str:
    import moto
    return moto.__version__


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Local AWS (moto + control-plane shim) for meetctl")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="start moto, seed base infra, run the shim until SIGTERM")
    run.add_argument("--ready-file", help="write the ready JSON here (atomically) once everything runs")
    run.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = any free port)")
    run.add_argument("--project", default="jitsi-video-platform")
    run.add_argument("--region", default="us-east-1")
    run.add_argument("--domain", default="meet.example.test")
    run.add_argument("--no-base", action="store_true", help="start moto and the shim only, no base infra")
    run.add_argument("--shim-interval", type=float, default=1.0, help="longest pause between shim passes; a change made through the API starts one at once")
    run.add_argument("--task-start-delay", type=float, default=0.0,
                     help="seconds a service task stays PENDING before RUNNING")
    run.add_argument("--task-stop-delay", type=float, default=0.0,
                     help="seconds a scaled-in task keeps running with desired status STOPPED before it stops")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="local_aws: %(asctime)s.%(msecs)03d %(message)s", datefmt="%H:%M:%S")
    args = parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return 2


if __name__ == "__main__":
    exit_code = main(sys.argv[1:])
    # Everything is stopped and the ready file removed; what is left is the
    # interpreter's teardown of moto's models, which takes 3-5 s on a loaded
    # machine (measured) and delays every test's clean-up. Skip it.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(exit_code)
