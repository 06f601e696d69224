#!/usr/bin/env python3
"""Fault proxy: realistic AWS timings and injected faults in front of moto.

A test instrument for meetctl's tests (never part of the product). It is an
HTTP reverse proxy on 127.0.0.1 that meetctl uses as its endpoint URL; every
request goes on, unchanged, to the moto endpoint of `harness/local_aws.py`.

    python harness/fault_proxy.py --upstream http://127.0.0.1:PORT
        [--port 0] [--ready-file F] [--stats-file F]
        [--scale 20] [--t-nlb 60] [--t-reg 90] [--t-task 45] [--t-del 30]
        [--fault 'OP=KIND:RATE' | --fault 'OP=KIND@N' ...] [--seed 0]

What it adds (times are seconds divided by --scale; 0 disables one):

- NLB provisioning: a load balancer created through the proxy reads
  `provisioning` in DescribeLoadBalancers for T_nlb, then moto's `active`.
- Target registration: a target registered through the proxy reads `initial`
  (Elb.InitialHealthChecking) in DescribeTargetHealth for T_reg, then moto's
  answer (healthy).
- Deletion: after DeleteLoadBalancer the LB is gone from describe at once (as
  on AWS), but its Elastic IP stays associated with the LB's network
  interface for T_del: DescribeAddresses keeps its AssociationId,
  ReleaseAddress fails `InvalidIPAddress.InUse`, DisassociateAddress fails
  `AuthFailure` (the association is ELB's, not the caller's).
  While it lingers, CreateLoadBalancer with that allocation fails
  `ResourceInUse: The allocation IDs are not available for use` (the AWS
  answer quoted in hashicorp/terraform-provider-aws#15031).
- Route53 DELETE: ChangeResourceRecordSets with a DELETE whose record set
  differs from the stored one (TTL, values, alias target, EvaluateTargetHealth,
  SetIdentifier...) fails `InvalidChangeBatch` as on AWS ("To delete a resource
  record set, you must specify all the same values that you specified when you
  created it", API_ChangeResourceRecordSets); moto accepts any DELETE.
- Task start is not the proxy's job: pass T_task/scale to local_aws.py
  `--task-start-delay` (see harness/README.md).
- Faults per operation: throttle, 5xx, reset, latency:MS, at a seeded rate or
  on the n-th call. A faulted request is never forwarded, so a retry is safe.

Control endpoints (never forwarded): GET /__proxy/stats, POST
/__proxy/reset-stats, GET /__proxy/config, POST /__proxy/faults (body
{"faults": ["OP=KIND:RATE", ...]} replaces the fault rules and their
counters), GET /__proxy/health.

SIGTERM or SIGINT: stop, write the stats file, remove the ready file, exit 0.
See harness/README.md, "Fault proxy".
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import io
import json
import logging
import os
import random
import re
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from awsrequest import Call, identify
from jsonfiles import remove_if_present, write_json_atomically

log = logging.getLogger("fault_proxy")

CONTROL_PREFIX = "/__proxy/"
UPSTREAM_TIMEOUT = 120.0
# Longer than any SDK's pool idle timeout (hyper's default is 90 s): the proxy
# must not be the side that closes an idle pooled connection, or a client
# reusing it would see a spurious failure.
CLIENT_IDLE_TIMEOUT = 300.0
HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-connection", "te", "trailer", "trailers",
    "transfer-encoding", "upgrade",
}

# Signing names (credential scope) -> the short names rules and stats accept.
FAULT_KINDS = ("throttle", "5xx", "reset", "latency")
MODEL_COUNTERS = (
    "nlb_provisioning", "target_initial", "eip_association_kept", "eip_release_in_use",
    "eip_disassociate_denied", "eip_create_lb_in_use", "route53_delete_mismatch",
    "ecs_group_without_load_balancer", "ecs_container_port_not_mapped",
)


# --------------------------------------------------------------------------
# error responses the way each protocol answers them


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


XML_NAMESPACES = {
    "elasticloadbalancing": "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
    "route53": "https://route53.amazonaws.com/doc/2013-04-01/",
}


def xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def aws_error(call: Call, status: int, code: str, message: str, sender: bool = True) -> Reply:
    request_id = str(uuid.uuid4())
    if call.protocol == "json":
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = [("Content-Type", call.json_content_type), ("x-amzn-RequestId", request_id),
                   ("x-amzn-ErrorType", f"{code}:")]
        return Reply(status, headers, body)
    if call.protocol == "ec2":
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Response><Errors><Error><Code>{code}</Code><Message>{xml_escape(message)}</Message>"
                f"</Error></Errors><RequestID>{request_id}</RequestID></Response>").encode()
        return Reply(status, [("Content-Type", "text/xml;charset=UTF-8")], body)
    # awsQuery (ELBv2, STS, ...), REST-XML (Route53) and unknown: <ErrorResponse>.
    namespace = XML_NAMESPACES.get(call.service)
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    kind = "Sender" if sender else "Receiver"
    body = (f'<?xml version="1.0"?>\n<ErrorResponse{xmlns}><Error><Type>{kind}</Type><Code>{code}</Code>'
            f"<Message>{xml_escape(message)}</Message></Error><RequestId>{request_id}</RequestId>"
            "</ErrorResponse>").encode()
    return Reply(status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body)


def throttle_reply(call: Call) -> Reply:
    if call.protocol == "ec2":
        # EC2 answers throttling with HTTP 503 RequestLimitExceeded, not 400.
        return aws_error(call, 503, "RequestLimitExceeded", "Request limit exceeded.")
    if call.protocol == "json":
        return aws_error(call, 400, "ThrottlingException", "Rate exceeded")
    return aws_error(call, 400, "Throttling", "Rate exceeded")


def unavailable_reply(call: Call) -> Reply:
    if call.protocol == "json":
        return aws_error(call, 503, "ServiceUnavailableException", "Service Unavailable", sender=False)
    if call.protocol == "ec2":
        return aws_error(call, 503, "ServiceUnavailable",
                         "The request has failed due to a temporary failure of the server.", sender=False)
    return aws_error(call, 503, "ServiceUnavailable", "Service is unavailable. Please try again later.",
                     sender=False)


# --------------------------------------------------------------------------
# fault rules


@dataclass
class FaultRule:
    spec: str
    operation: str          # "*" or an operation name
    service: str | None     # optional qualifier ("elbv2:DescribeTags")
    kind: str               # throttle | 5xx | reset | latency
    latency_ms: int = 0
    rate: float | None = None
    nth: int | None = None

    def matches(self, call: Call) -> bool:
        if self.service and self.service not in (call.service, call.short_service):
            return False
        return self.operation == "*" or self.operation == call.operation


def parse_fault(spec: str) -> FaultRule:
    """`OP=KIND:RATE` or `OP=KIND@N`; KIND is throttle, 5xx, reset or latency:MS;
    OP is an operation name, `*`, or `service:Operation`."""
    if "=" not in spec:
        raise ValueError(f"fault {spec!r}: expected OP=KIND:RATE or OP=KIND@N")
    target, _, what = spec.partition("=")
    target = target.strip()
    service, _, operation = target.rpartition(":")
    if not operation:
        raise ValueError(f"fault {spec!r}: no operation before '='")
    nth = rate = None
    if "@" in what:
        kind_part, _, count = what.rpartition("@")
        try:
            nth = int(count)
        except ValueError:
            raise ValueError(f"fault {spec!r}: @{count} is not a call number") from None
        if nth < 1:
            raise ValueError(f"fault {spec!r}: calls count from 1")
    else:
        kind_part, sep, rate_text = what.rpartition(":")
        if not sep:
            raise ValueError(f"fault {spec!r}: expected KIND:RATE (0..1) or KIND@N")
        try:
            rate = float(rate_text)
        except ValueError:
            raise ValueError(f"fault {spec!r}: rate {rate_text!r} is not a number") from None
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault {spec!r}: rate {rate} is not within 0..1")
    kind, _, argument = kind_part.partition(":")
    latency_ms = 0
    if kind not in FAULT_KINDS:
        raise ValueError(f"fault {spec!r}: kind {kind!r} is not one of throttle, 5xx, reset, latency:MS")
    if kind == "latency":
        try:
            latency_ms = int(argument)
        except ValueError:
            raise ValueError(f"fault {spec!r}: latency needs milliseconds, e.g. latency:500:0.2") from None
        if latency_ms < 0:
            raise ValueError(f"fault {spec!r}: negative latency")
    elif argument:
        raise ValueError(f"fault {spec!r}: {kind} takes no argument")
    return FaultRule(spec, operation, service or None, kind, latency_ms, rate, nth)


class FaultEngine:
    """Decides, per request, which rules fire. Each (rule, operation) pair has
    its own RNG seeded from --seed, so one operation's sequence of decisions
    does not depend on how other operations' requests interleave."""

    def __init__(self, rules: list[FaultRule], seed: int) -> None:
        self.rules = rules
        self.seed = seed
        self._lock = threading.Lock()
        self._calls: dict[tuple[str, str], int] = {}
        self._rngs: dict[tuple[int, str, str], random.Random] = {}

    def decide(self, call: Call) -> tuple[int, FaultRule | None]:
        """(latency in ms to add, the error/reset rule that fires or None)."""
        with self._lock:
            key = (call.service, call.operation)
            number = self._calls.get(key, 0) + 1
            self._calls[key] = number
            latency = 0
            fault = None
            for index, rule in enumerate(self.rules):
                if not rule.matches(call):
                    continue
                if rule.nth is not None:
                    fires = number == rule.nth
                else:
                    rng_key = (index, call.service, call.operation)
                    rng = self._rngs.get(rng_key)
                    if rng is None:
                        rng = self._rngs[rng_key] = random.Random(
                            f"{self.seed}/{index}/{call.service}/{call.operation}")
                    fires = rng.random() < rule.rate
                if not fires:
                    continue
                if rule.kind == "latency":
                    latency += rule.latency_ms
                elif fault is None:
                    fault = rule
            return latency, fault


# --------------------------------------------------------------------------
# stats


def new_counts() -> dict[str, Any]:
    return {"seen": 0, "forwarded": 0, "faults": {k: 0 for k in FAULT_KINDS}, "model": {k: 0 for k in MODEL_COUNTERS}}


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.since = time.time()
            self.operations: dict[str, dict[str, Any]] = {}
            self.by_service: dict[str, dict[str, dict[str, Any]]] = {}
            self.totals = new_counts()
            self.passthrough = 0
            self.upstream_errors = 0

    def _entries(self, call: Call) -> list[dict[str, Any]]:
        op = self.operations.setdefault(call.operation, {**new_counts(), "services": []})
        if call.short_service not in op["services"]:
            op["services"].append(call.short_service)
        svc = self.by_service.setdefault(call.short_service, {}).setdefault(call.operation, new_counts())
        return [op, svc, self.totals]

    def count(self, call: Call, what: str, kind: str | None = None) -> None:
        with self._lock:
            for entry in self._entries(call):
                if what in ("faults", "model"):
                    entry[what][kind] += 1
                else:
                    entry[what] += 1

    def count_passthrough(self) -> None:
        with self._lock:
            self.passthrough += 1

    def count_upstream_error(self) -> None:
        with self._lock:
            self.upstream_errors += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return json.loads(json.dumps({
                "since": self.since,
                "operations": self.operations,
                "by_service": self.by_service,
                "totals": self.totals,
                "passthrough": self.passthrough,
                "upstream_errors": self.upstream_errors,
            }))


# --------------------------------------------------------------------------
# the timing model


@dataclass
class Timing:
    scale: float
    t_nlb: float
    t_reg: float
    t_task: float
    t_del: float

    def scaled(self, seconds: float) -> float:
        return seconds / self.scale

    def as_dict(self) -> dict[str, float]:
        return {
            "scale": self.scale,
            "nlb_provisioning_s": self.scaled(self.t_nlb),
            "target_registration_s": self.scaled(self.t_reg),
            "task_start_delay_s": self.scaled(self.t_task),
            "eip_release_after_delete_s": self.scaled(self.t_del),
        }


@dataclass
class LingeringAddress:
    allocation_id: str
    public_ip: str | None
    association_id: str
    network_interface_id: str
    owner_id: str
    private_ip: str | None
    until: float            # time.monotonic()
    load_balancer_arn: str


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def namespace_of(tag: str) -> str | None:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else None


def children(element: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in element if local_name(c.tag) == name]


def child(element: ET.Element, name: str) -> ET.Element | None:
    found = children(element, name)
    return found[0] if found else None


def child_text(element: ET.Element, name: str) -> str | None:
    found = child(element, name)
    return found.text if found is not None else None


def find_path(element: ET.Element, *names: str) -> list[ET.Element]:
    """All descendants reached by successive child names (namespace-blind)."""
    level = [element]
    for name in names:
        level = [c for e in level for c in children(e, name)]
    return level


def sub_element(parent: ET.Element, name: str, text: str, index: int | None = None) -> ET.Element:
    ns = namespace_of(parent.tag)
    element = ET.Element(f"{{{ns}}}{name}" if ns else name)
    element.text = text
    if index is None:
        parent.append(element)
    else:
        parent.insert(index, element)
    return element


def parse_xml(body: bytes) -> ET.Element | None:
    try:
        return ET.fromstring(body)
    except ET.ParseError:
        return None


def serialize_xml(root: ET.Element, original: bytes) -> bytes:
    namespace = namespace_of(root.tag)
    try:
        text = ET.tostring(root, encoding="unicode", default_namespace=namespace) if namespace \
            else ET.tostring(root, encoding="unicode")
    except ValueError:
        return original
    declaration = '<?xml version="1.0" encoding="utf-8"?>\n' if original.lstrip().startswith(b"<?xml") else ""
    return (declaration + text).encode("utf-8")


def short_id(seed: str, prefix: str) -> str:
    return prefix + hashlib.sha256(seed.encode()).hexdigest()[:17]


class TimingModel:
    """Rewrites moto's instant answers into AWS's slow ones (see module doc)."""

    def __init__(self, timing: Timing, stats: Stats, upstream: "Upstream") -> None:
        self.timing = timing
        self.stats = stats
        self.upstream = upstream
        self._lock = threading.Lock()
        self._lb_created: dict[str, float] = {}                 # LB ARN -> monotonic time of create
        self._lb_allocations: dict[str, list[str]] = {}         # LB ARN -> AllocationIds of its subnet mappings
        self._targets: dict[tuple[str, str], dict[str | None, float]] = {}  # (TG ARN, Id) -> {port: time}
        self._lingering: dict[str, LingeringAddress] = {}       # AllocationId -> association kept after delete

    # ---- hooks: before forwarding (may answer instead of moto) -------------

    def before(self, call: Call, headers, path: str = "", body: bytes = b"") -> Reply | None:
        if call.service == "ecs" and call.operation in ("CreateService", "UpdateService"):
            return self._reject_group_without_load_balancer(call, headers)
        if call.service == "elasticloadbalancing" and call.operation == "DeleteLoadBalancer":
            self._prepare_delete(call, headers)
        if call.service == "elasticloadbalancing" and call.operation == "CreateLoadBalancer":
            return self._refuse_lingering_allocation(call)
        if call.service == "route53" and call.operation == "ChangeResourceRecordSets":
            return self._refuse_inexact_delete(call, headers, path, body)
        if call.service != "ec2":
            return None
        if call.operation == "ReleaseAddress":
            linger = self._lingering_for(allocation_id=call.param("AllocationId"), public_ip=call.param("PublicIp"))
            if linger:
                self.stats.count(call, "model", "eip_release_in_use")
                return aws_error(call, 400, "InvalidIPAddress.InUse",
                                 f"The address with allocation id [{linger.allocation_id}] is in use "
                                 f"(associated with {linger.network_interface_id}).")
        if call.operation == "DisassociateAddress":
            linger = self._lingering_for(association_id=call.param("AssociationId"), public_ip=call.param("PublicIp"))
            if linger:
                self.stats.count(call, "model", "eip_disassociate_denied")
                return aws_error(call, 400, "AuthFailure", "You do not have permission to access the specified resource.")
        return None

    # ---- hooks: after forwarding (may rewrite moto's answer) --------------

    def after(self, call: Call, status: int, body: bytes) -> bytes:
        if status != 200:
            return body
        service, operation = call.service, call.operation
        if service == "elasticloadbalancing":
            if operation == "CreateLoadBalancer":
                self._record_create(call, body)
            elif operation == "DescribeLoadBalancers":
                return self._rewrite_describe_lbs(call, body)
            elif operation == "DeleteLoadBalancer":
                self._commit_delete(call)
            elif operation == "RegisterTargets":
                self._record_registration(call)
            elif operation == "DeregisterTargets":
                self._forget_registration(call)
            elif operation == "DescribeTargetHealth":
                return self._rewrite_target_health(call, body)
        elif service == "ec2" and operation == "DescribeAddresses":
            return self._rewrite_addresses(call, body)
        return body

    # ---- ECS: a service's target groups need a load balancer ---------------

    def _reject_group_without_load_balancer(self, call: Call, headers) -> Reply | None:
        """ECS refuses a service target group that no listener forwards to:
        InvalidParameterException "The target group with targetGroupArn ...
        does not have an associated load balancer." (as reported against
        CreateService/UpdateService in hashicorp/terraform#32908 and
        aws/aws-cdk#34290), and a container port the task definition does not
        map ("The container X did not have a container port N defined."; the
        API reference of LoadBalancer.containerPort: "This port must
        correspond to a containerPort in the task definition"). moto accepts
        any ARN, name and port."""
        request = call.json_body()
        entries = [e for e in request.get("loadBalancers") or [] if isinstance(e, dict)]
        if entries:
            mapped = self.upstream.task_definition_ports(request, headers, call.region)
            for entry in entries:
                name, port = entry.get("containerName"), entry.get("containerPort")
                if mapped is not None and (name, port) not in mapped:
                    self.stats.count(call, "model", "ecs_container_port_not_mapped")
                    return aws_error(call, 400, "InvalidParameterException",
                                     f"The container {name} did not have a container port {port} defined.")
        for entry in entries:
            arn = entry.get("targetGroupArn")
            if not arn:
                continue
            load_balancers = self.upstream.target_group_load_balancers(arn, headers, call.region)
            if load_balancers is not None and not load_balancers:
                self.stats.count(call, "model", "ecs_group_without_load_balancer")
                return aws_error(call, 400, "InvalidParameterException",
                                 f"The target group with targetGroupArn {arn} does not have an associated "
                                 "load balancer.")
        return None

    # ---- NLB provisioning --------------------------------------------------

    def _record_create(self, call: Call, body: bytes) -> None:
        root = parse_xml(body)
        if root is None:
            return
        now = time.monotonic()
        allocations = [v[0] for k, v in call.params.items()
                       if re.fullmatch(r"SubnetMappings\.member\.\d+\.AllocationId", k) and v and v[0]]
        with self._lock:
            for member in find_path(root, "CreateLoadBalancerResult", "LoadBalancers", "member"):
                arn = child_text(member, "LoadBalancerArn")
                if arn:
                    # A repeated create of the same LB returns it unchanged: no new provisioning.
                    self._lb_created.setdefault(arn, now)
                    if allocations:
                        self._lb_allocations.setdefault(arn, allocations)

    def _rewrite_describe_lbs(self, call: Call, body: bytes) -> bytes:
        window = self.timing.scaled(self.timing.t_nlb)
        if window <= 0:
            return body
        now = time.monotonic()
        with self._lock:
            provisioning = {arn for arn, t in self._lb_created.items() if now - t < window}
        if not provisioning:
            return body
        root = parse_xml(body)
        if root is None:
            return body
        changed = 0
        for member in find_path(root, "DescribeLoadBalancersResult", "LoadBalancers", "member"):
            if child_text(member, "LoadBalancerArn") not in provisioning:
                continue
            code = next(iter(find_path(member, "State", "Code")), None)
            if code is not None and code.text == "active":
                code.text = "provisioning"
                changed += 1
        if not changed:
            return body
        self.stats.count(call, "model", "nlb_provisioning")
        return serialize_xml(root, body)

    # ---- target registration ----------------------------------------------

    @staticmethod
    def _targets_of(call: Call) -> list[tuple[str, str | None]]:
        targets = []
        index = 1
        while call.param(f"Targets.member.{index}.Id") is not None:
            targets.append((call.param(f"Targets.member.{index}.Id"), call.param(f"Targets.member.{index}.Port")))
            index += 1
        return targets

    def _record_registration(self, call: Call) -> None:
        group = call.param("TargetGroupArn")
        if not group:
            return
        now = time.monotonic()
        with self._lock:
            for target_id, port in self._targets_of(call):
                # Registering an already registered target changes nothing on AWS.
                self._targets.setdefault((group, target_id), {}).setdefault(port, now)

    def _forget_registration(self, call: Call) -> None:
        group = call.param("TargetGroupArn")
        with self._lock:
            for target_id, port in self._targets_of(call):
                ports = self._targets.get((group, target_id))
                if ports is None:
                    continue
                if port is None:
                    ports.clear()
                else:
                    ports.pop(port, None)
                    ports.pop(None, None)
                if not ports:
                    self._targets.pop((group, target_id), None)

    def _registered_at(self, group: str, target_id: str | None, port: str | None) -> float | None:
        ports = self._targets.get((group, target_id or ""))
        if not ports:
            return None
        if port in ports:
            return ports[port]
        return ports.get(None)

    def _rewrite_target_health(self, call: Call, body: bytes) -> bytes:
        window = self.timing.scaled(self.timing.t_reg)
        group = call.param("TargetGroupArn")
        if window <= 0 or not group:
            return body
        root = parse_xml(body)
        if root is None:
            return body
        now = time.monotonic()
        changed = 0
        members = find_path(root, "DescribeTargetHealthResult", "TargetHealthDescriptions", "member")
        with self._lock:
            # Targets registered or deregistered behind the proxy (ECS does it
            # for a service with loadBalancers; local_aws's shim plays ECS):
            # one gone from moto's answer is forgotten, and one never seen
            # registered counts as registered when first seen.
            present = {(child_text(child(m, "Target"), "Id"), child_text(child(m, "Target"), "Port"))
                       for m in members if child(m, "Target") is not None}
            for key in [k for k in self._targets if k[0] == group]:
                ports = self._targets[key]
                for port in [p for p in ports if (key[1], p) not in present and p is not None]:
                    ports.pop(port)
                if not ports or not any(target_id == key[1] for target_id, _ in present):
                    self._targets.pop(key, None)
            for target_id, port in present:
                if target_id is not None and self._registered_at(group, target_id, port) is None:
                    self._targets.setdefault((group, target_id), {})[port] = now
            for member in members:
                target = child(member, "Target")
                health = child(member, "TargetHealth")
                if target is None or health is None:
                    continue
                since = self._registered_at(group, child_text(target, "Id"), child_text(target, "Port"))
                state = child(health, "State")
                if since is None or now - since >= window or state is None or state.text != "healthy":
                    continue
                state.text = "initial"
                for name in ("Reason", "Description"):
                    for old in children(health, name):
                        health.remove(old)
                sub_element(health, "Reason", "Elb.InitialHealthChecking")
                sub_element(health, "Description", "Initial health checks in progress")
                changed += 1
        if not changed:
            return body
        self.stats.count(call, "model", "target_initial")
        return serialize_xml(root, body)

    # ---- deletion: the EIP stays with the LB's interface for a while -------

    def _prepare_delete(self, call: Call, headers) -> None:
        """Before DeleteLoadBalancer goes on: note which EIP association the
        LB's interface holds (moto and the shim drop it at once)."""
        window = self.timing.scaled(self.timing.t_del)
        arn = call.param("LoadBalancerArn")
        if window <= 0 or not arn:
            return
        found = self.upstream.lb_address_associations(arn, headers)
        with self._lock:
            allocations = list(self._lb_allocations.get(arn, []))
        if not found and allocations:
            # The interface was not associated yet (or moto lost it): on AWS the
            # NLB holds its EIP from creation on, so keep one anyway.
            found = [{"allocationId": a, "publicIp": None, "associationId": short_id(arn + a, "eipassoc-"),
                      "networkInterfaceId": short_id(arn, "eni-"), "networkInterfaceOwnerId": "amazon-elb",
                      "privateIpAddress": None} for a in allocations]
        call.pending_lingers = found

    def _commit_delete(self, call: Call) -> None:
        arn = call.param("LoadBalancerArn")
        found = call.pending_lingers
        until = time.monotonic() + self.timing.scaled(self.timing.t_del)
        with self._lock:
            self._lb_created.pop(arn, None)
            self._lb_allocations.pop(arn, None)
            for a in found:
                self._lingering[a["allocationId"]] = LingeringAddress(
                    allocation_id=a["allocationId"], public_ip=a.get("publicIp"),
                    association_id=a["associationId"], network_interface_id=a["networkInterfaceId"],
                    owner_id=a.get("networkInterfaceOwnerId") or "amazon-elb",
                    private_ip=a.get("privateIpAddress"), until=until, load_balancer_arn=arn,
                )
        for a in found:
            log.info("EIP %s stays associated (%s) for %.2fs after DeleteLoadBalancer",
                     a["allocationId"], a["associationId"], self.timing.scaled(self.timing.t_del))

    def _lingering_for(self, allocation_id: str | None = None, public_ip: str | None = None,
                       association_id: str | None = None) -> LingeringAddress | None:
        now = time.monotonic()
        with self._lock:
            for key, linger in list(self._lingering.items()):
                if linger.until <= now:
                    del self._lingering[key]
                    continue
                if allocation_id and linger.allocation_id == allocation_id:
                    return linger
                if association_id and linger.association_id == association_id:
                    return linger
                if public_ip and linger.public_ip == public_ip:
                    return linger
        return None

    def _refuse_lingering_allocation(self, call: Call) -> Reply | None:
        """AWS refuses a new NLB an EIP that a deleted one still holds."""
        allocations = [v[0] for k, v in call.params.items()
                       if re.fullmatch(r"SubnetMappings\.member\.\d+\.AllocationId", k) and v and v[0]]
        for allocation in allocations:
            linger = self._lingering_for(allocation_id=allocation)
            if linger:
                self.stats.count(call, "model", "eip_create_lb_in_use")
                log.info("CreateLoadBalancer refused: %s still associated (%s)", allocation, linger.association_id)
                return aws_error(call, 400, "ResourceInUse", "The allocation IDs are not available for use")
        return None

    # ---- Route53: a DELETE must carry the record's current values ----------

    def _refuse_inexact_delete(self, call: Call, headers, path: str, body: bytes) -> Reply | None:
        root = parse_xml(body)
        match = re.search(r"/hostedzone/([^/]+)/rrset", path)
        if root is None or not match:
            return None
        deletes = [change for change in find_path(root, "ChangeBatch", "Changes", "Change")
                   if (child_text(change, "Action") or "").upper() == "DELETE"]
        if not deletes:
            return None
        stored = self.upstream.route53_record_sets(match.group(1), headers)
        if stored is None:
            return None  # could not read the zone: let moto answer
        for change in deletes:
            wanted = child(change, "ResourceRecordSet")
            if wanted is None:
                continue
            wanted_key = record_set_values(wanted)
            name, kind = wanted_key["name"], wanted_key["type"]
            same_set = [r for r in stored if (r["name"], r["type"], r["set_identifier"])
                        == (name, kind, wanted_key["set_identifier"])]
            if not same_set:
                problem = "it was not found"
            elif same_set[0] != wanted_key:
                problem = "the values provided do not match the current values"
            else:
                continue
            self.stats.count(call, "model", "route53_delete_mismatch")
            log.info("Route53 DELETE refused for %s %s: %s (sent %s, stored %s)", name, kind, problem,
                     wanted_key, same_set[0] if same_set else None)
            return aws_error(call, 400, "InvalidChangeBatch",
                             f"[Tried to delete resource record set [name='{name}', type='{kind}'] but {problem}]")
        return None

    def _rewrite_addresses(self, call: Call, body: bytes) -> bytes:
        now = time.monotonic()
        with self._lock:
            live = {k: v for k, v in self._lingering.items() if v.until > now}
        if not live:
            return body
        root = parse_xml(body)
        if root is None:
            return body
        changed = 0
        for item in find_path(root, "addressesSet", "item"):
            linger = live.get(child_text(item, "allocationId") or "")
            if linger is None or child_text(item, "associationId"):
                continue
            for name in ("associationId", "networkInterfaceId", "networkInterfaceOwnerId", "privateIpAddress"):
                for old in children(item, name):
                    item.remove(old)
            sub_element(item, "associationId", linger.association_id, 1)
            sub_element(item, "networkInterfaceId", linger.network_interface_id, 2)
            sub_element(item, "networkInterfaceOwnerId", linger.owner_id, 3)
            if linger.private_ip:
                sub_element(item, "privateIpAddress", linger.private_ip, 4)
            changed += 1
        if not changed:
            return body
        self.stats.count(call, "model", "eip_association_kept")
        return serialize_xml(root, body)


def record_set_values(record: ET.Element) -> dict[str, Any]:
    """What Route53 compares on a DELETE, normalised (names end in a dot and
    are case-blind; an omitted EvaluateTargetHealth reads as false)."""
    def dotted(name: str | None) -> str:
        return (name or "").lower().rstrip(".") + "."

    alias = child(record, "AliasTarget")
    values = sorted(v.text or "" for v in find_path(record, "ResourceRecords", "ResourceRecord", "Value"))
    return {
        "name": dotted(child_text(record, "Name")),
        "type": (child_text(record, "Type") or "").upper(),
        "set_identifier": child_text(record, "SetIdentifier"),
        "ttl": child_text(record, "TTL"),
        "values": values,
        "alias": None if alias is None else {
            "zone": child_text(alias, "HostedZoneId"),
            "dns": dotted(child_text(alias, "DNSName")),
            "evaluate": (child_text(alias, "EvaluateTargetHealth") or "false").lower(),
        },
    }


# --------------------------------------------------------------------------
# upstream (moto)


class Upstream:
    def __init__(self, url: str) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme != "http" or not parsed.hostname:
            raise ValueError(f"--upstream {url!r}: expected http://HOST:PORT")
        if parsed.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"--upstream {url!r}: only loopback upstreams are allowed")
        self.url = url.rstrip("/")
        self.host = parsed.hostname
        self.port = parsed.port or 80

    def send(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> Reply:
        """One request, headers in their order and body as received; a fresh
        connection each time (moto's server closes after every response)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=UPSTREAM_TIMEOUT)
        try:
            conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                conn.putheader(name, value)
            conn.endheaders(body if body else None)
            response = conn.getresponse()
            data = response.read()
            return Reply(response.status, response.getheaders(), data)
        finally:
            conn.close()

    def ec2_query(self, params: dict[str, str], client_headers, region: str,
                  service: str = "ec2", version: str = "2016-11-15") -> ET.Element | None:
        """A query-protocol call of the proxy's own (EC2 unless told), in the
        caller's account (moto does not check signatures, but picks the
        account from the access key)."""
        authorization = client_headers.get("Authorization") or ""
        authorization = re.sub(r"(Credential=[^/,\s]+/\d{8}/[^/,\s]+/)[^/,\s]+(/aws4_request)",
                               rf"\g<1>{service}\g<2>", authorization)
        if not authorization:
            authorization = (f"AWS4-HMAC-SHA256 Credential=testing/20250101/{region}/{service}/aws4_request, "
                             "SignedHeaders=host, Signature=0")
        body = urllib.parse.urlencode({**params, "Version": version}).encode()
        headers = [("Host", f"{self.host}:{self.port}"), ("Authorization", authorization),
                   ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
                   ("X-Amz-Date", time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())),
                   ("Content-Length", str(len(body)))]
        for extra in ("X-Amz-Security-Token",):
            if client_headers.get(extra):
                headers.append((extra, client_headers.get(extra)))
        reply = self.send("POST", "/", headers, body)
        return parse_xml(reply.body) if reply.status == 200 else None

    def route53_record_sets(self, zone_id: str, client_headers) -> list[dict[str, Any]] | None:
        """Every record set of the zone, as `record_set_values` (moto does not
        check signatures; the client's Authorization is passed on anyway)."""
        found: list[dict[str, Any]] = []
        query = ""
        for _page in range(100):
            headers = [("Host", f"{self.host}:{self.port}")]
            if client_headers.get("Authorization"):
                headers.append(("Authorization", client_headers.get("Authorization")))
            try:
                reply = self.send("GET", f"/2013-04-01/hostedzone/{zone_id}/rrset{query}", headers, b"")
            except OSError as err:
                log.warning("could not list the zone's records from upstream: %s", err)
                return None
            root = parse_xml(reply.body) if reply.status == 200 else None
            if root is None:
                return None
            found += [record_set_values(r) for r in find_path(root, "ResourceRecordSets", "ResourceRecordSet")]
            if (child_text(root, "IsTruncated") or "").lower() != "true":
                return found
            params = {"name": child_text(root, "NextRecordName"), "type": child_text(root, "NextRecordType"),
                      "identifier": child_text(root, "NextRecordIdentifier")}
            query = "?" + urllib.parse.urlencode({k: v for k, v in params.items() if v})
        return found

    def json_call(self, service: str, target: str, payload: dict, client_headers, region: str) -> dict | None:
        """A JSON-protocol call of the proxy's own (X-Amz-Target `target`)."""
        authorization = client_headers.get("Authorization") or ""
        authorization = re.sub(r"(Credential=[^/,\s]+/\d{8}/[^/,\s]+/)[^/,\s]+(/aws4_request)",
                               rf"\g<1>{service}\g<2>", authorization)
        if not authorization:
            authorization = (f"AWS4-HMAC-SHA256 Credential=testing/20250101/{region}/{service}/aws4_request, "
                             "SignedHeaders=host, Signature=0")
        body = json.dumps(payload).encode()
        headers = [("Host", f"{self.host}:{self.port}"), ("Authorization", authorization),
                   ("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", target),
                   ("X-Amz-Date", time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())),
                   ("Content-Length", str(len(body)))]
        try:
            reply = self.send("POST", "/", headers, body)
        except OSError as err:
            log.warning("upstream %s failed: %s", target, err)
            return None
        if reply.status != 200:
            return None
        try:
            return json.loads(reply.body)
        except ValueError:
            return None

    def task_definition_ports(self, request: dict, client_headers, region: str) -> set[tuple] | None:
        """(container name, container port) pairs of the task definition a
        CreateService/UpdateService request runs: its own `taskDefinition`,
        else the service's. None when it cannot be read."""
        ecs = "AmazonEC2ContainerServiceV20141113."
        task_definition = request.get("taskDefinition")
        if not task_definition:
            described = self.json_call("ecs", ecs + "DescribeServices", {
                "cluster": request.get("cluster", "default"), "services": [request.get("service", "")]},
                client_headers, region)
            services = (described or {}).get("services") or []
            task_definition = services[0].get("taskDefinition") if services else None
        if not task_definition:
            return None
        described = self.json_call("ecs", ecs + "DescribeTaskDefinition", {"taskDefinition": task_definition},
                                   client_headers, region)
        containers = ((described or {}).get("taskDefinition") or {}).get("containerDefinitions")
        if containers is None:
            return None
        return {(c.get("name"), m.get("containerPort")) for c in containers for m in c.get("portMappings") or []}

    def target_group_load_balancers(self, group_arn: str, client_headers, region: str) -> list[str] | None:
        """The LoadBalancerArns of a target group; None when it cannot be read
        (then the caller lets moto answer)."""
        try:
            root = self.ec2_query({"Action": "DescribeTargetGroups", "TargetGroupArns.member.1": group_arn},
                                  client_headers, region, service="elasticloadbalancing", version="2015-12-01")
        except OSError as err:
            log.warning("could not read target group %s from upstream: %s", group_arn, err)
            return None
        if root is None:
            return None
        groups = find_path(root, "DescribeTargetGroupsResult", "TargetGroups", "member")
        if not groups:
            return None
        return [m.text or "" for m in find_path(groups[0], "LoadBalancerArns", "member")]

    def lb_address_associations(self, lb_arn: str, client_headers) -> list[dict[str, Any]]:
        """The EIP associations of the LB's network interfaces (described
        `ELB net/<name>/<id>` by local_aws's shim, as on AWS)."""
        region = lb_arn.split(":")[3] if lb_arn.count(":") >= 5 else "us-east-1"
        lb_id = lb_arn.rsplit("/", 1)[-1]
        try:
            enis = self.ec2_query({"Action": "DescribeNetworkInterfaces"}, client_headers, region)
            addresses = self.ec2_query({"Action": "DescribeAddresses"}, client_headers, region)
        except OSError as err:
            log.warning("could not read the LB's addresses from upstream: %s", err)
            return []
        if enis is None or addresses is None:
            return []
        lb_enis = {
            child_text(item, "networkInterfaceId")
            for item in find_path(enis, "networkInterfaceSet", "item")
            if (child_text(item, "description") or "").startswith("ELB ")
            and (child_text(item, "description") or "").endswith("/" + lb_id)
        }
        found = []
        for item in find_path(addresses, "addressesSet", "item"):
            eni = child_text(item, "networkInterfaceId")
            if eni in lb_enis and child_text(item, "associationId"):
                found.append({name: child_text(item, name) for name in (
                    "allocationId", "publicIp", "associationId", "networkInterfaceId",
                    "networkInterfaceOwnerId", "privateIpAddress")})
        return found


# --------------------------------------------------------------------------
# the HTTP server


class ProxyState:
    def __init__(self, upstream: Upstream, timing: Timing, rules: list[FaultRule], seed: int) -> None:
        self.upstream = upstream
        self.timing = timing
        self.seed = seed
        self.stats = Stats()
        self.model = TimingModel(timing, self.stats, upstream)
        self.faults = FaultEngine(rules, seed)
        self.started = time.time()

    def set_rules(self, rules: list[FaultRule]) -> None:
        self.faults = FaultEngine(rules, self.seed)

    def config(self) -> dict[str, Any]:
        return {
            "upstream": self.upstream.url,
            "timing": self.timing.as_dict(),
            "faults": [r.spec for r in self.faults.rules],
            "seed": self.seed,
        }

    def stats_document(self) -> dict[str, Any]:
        return {**self.stats.snapshot(), "config": self.config(), "uptime_s": round(time.time() - self.started, 3)}


class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = CLIENT_IDLE_TIMEOUT
    server_version = "fault-proxy"
    # Headers and body go out as two writes; with Nagle on, the body waits for
    # the client's delayed ACK and every call gains ~40 ms that AWS would not
    # add (added latency is a fault to ask for, not a side effect).
    disable_nagle_algorithm = True
    state: ProxyState  # set on the subclass made by make_server

    # every method goes the same way
    def do_GET(self) -> None: self._handle()          # noqa: E704
    def do_POST(self) -> None: self._handle()         # noqa: E704
    def do_PUT(self) -> None: self._handle()          # noqa: E704
    def do_DELETE(self) -> None: self._handle()       # noqa: E704
    def do_HEAD(self) -> None: self._handle()         # noqa: E704
    def do_PATCH(self) -> None: self._handle()        # noqa: E704
    def do_OPTIONS(self) -> None: self._handle()      # noqa: E704

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        log.debug("%s %s", self.address_string(), format % args)

    # ---- request body ------------------------------------------------------

    def _read_body(self) -> tuple[bytes, bool]:
        """(body, was_chunked)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks), True
        length = int(self.headers.get("Content-Length") or 0)
        return (self.rfile.read(length) if length > 0 else b""), False

    # ---- responses ---------------------------------------------------------

    def _send(self, reply: Reply) -> None:
        log.debug("%s %s -> %d (%d bytes, %.1f ms)", self.command, getattr(self, "_label", self.path), reply.status,
                  len(reply.body), (time.monotonic() - getattr(self, "_started", time.monotonic())) * 1000)
        self.send_response_only(reply.status)
        for name, value in reply.headers:
            if name.lower() in HOP_BY_HOP or name.lower() == "content-length":
                continue
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and reply.body:
            self.wfile.write(reply.body)
        self.wfile.flush()

    def _send_json(self, status: int, document: Any) -> None:
        self._send(Reply(status, [("Content-Type", "application/json")],
                         (json.dumps(document, indent=2) + "\n").encode()))

    def _reset_connection(self) -> None:
        """Drop the socket without a response: RST (linger 0), and make sure
        nothing more is written or read on it."""
        self.close_connection = True
        sock = self.connection
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        # The socket's fd closes only when every file made from it is closed too.
        for stream in (self.rfile, self.wfile):
            try:
                stream.close()
            except (OSError, ValueError):
                pass
        try:
            sock.close()
        except OSError:
            pass
        # BaseHTTPRequestHandler flushes and closes these after the method
        # returns: give it harmless stand-ins.
        self.rfile, self.wfile = io.BytesIO(), io.BytesIO()

    # ---- dispatch ----------------------------------------------------------

    def _handle(self) -> None:
        self._started = time.monotonic()
        self._label = self.path
        body, chunked = self._read_body()
        if self.path.startswith(CONTROL_PREFIX):
            self._control(body)
            return
        state = self.state
        if self.path.startswith("/moto-api"):
            state.stats.count_passthrough()
            self._forward(None, body, chunked)
            return

        call = identify(self.command, self.path, self.headers, body)
        self._label = f"{call.short_service}:{call.operation}"
        state.stats.count(call, "seen")
        latency_ms, fault = state.faults.decide(call)
        if latency_ms:
            state.stats.count(call, "faults", "latency")
            time.sleep(latency_ms / 1000.0)
        if fault is not None:
            state.stats.count(call, "faults", fault.kind)
            log.info("fault %s on %s:%s (%s)", fault.kind, call.short_service, call.operation, fault.spec)
            if fault.kind == "reset":
                log.debug("%s %s -> reset", self.command, self._label)
                self._reset_connection()
            elif fault.kind == "throttle":
                self._send(throttle_reply(call))
            else:
                self._send(unavailable_reply(call))
            return

        answered = state.model.before(call, self.headers, self.path, body)
        if answered is not None:
            self._send(answered)
            return
        self._forward(call, body, chunked)

    def _forward(self, call: Call | None, body: bytes, chunked: bool) -> None:
        state = self.state
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP]
        if chunked:
            headers.append(("Content-Length", str(len(body))))
        try:
            reply = state.upstream.send(self.command, self.path, headers, body)
        except OSError as err:
            state.stats.count_upstream_error()
            log.warning("upstream %s failed: %s", state.upstream.url, err)
            self._send(Reply(502, [("Content-Type", "text/plain")], f"fault proxy: upstream failed: {err}\n".encode()))
            return
        if call is not None:
            state.stats.count(call, "forwarded")
            try:
                reply.body = state.model.after(call, reply.status, reply.body)
            except Exception:  # noqa: BLE001 - a model bug must not eat moto's answer
                log.exception("timing model failed on %s:%s; passing moto's answer", call.service, call.operation)
        self._send(reply)

    def _control(self, body: bytes) -> None:
        state = self.state
        path = urllib.parse.urlsplit(self.path).path
        if path == "/__proxy/stats" and self.command == "GET":
            self._send_json(200, state.stats_document())
        elif path == "/__proxy/reset-stats" and self.command == "POST":
            state.stats.reset()
            self._send_json(200, {"ok": True})
        elif path == "/__proxy/config" and self.command == "GET":
            self._send_json(200, state.config())
        elif path == "/__proxy/health" and self.command == "GET":
            self._send_json(200, {"ok": True})
        elif path == "/__proxy/faults" and self.command == "POST":
            try:
                specs = json.loads(body or b"{}").get("faults", [])
                rules = [parse_fault(s) for s in specs]
            except (ValueError, AttributeError) as err:
                self._send_json(400, {"error": str(err)})
                return
            state.set_rules(rules)
            log.info("fault rules now %s", [r.spec for r in rules])
            self._send_json(200, {"ok": True, "faults": [r.spec for r in rules]})
        else:
            self._send_json(404, {"error": f"no control endpoint {self.command} {path}"})


class ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False
    # socketserver's default backlog of 5 drops connections of a burst
    # (meetctl opens ~10 at once), and the kernel retries a dropped SYN only
    # after 1 s: a delay no AWS endpoint adds.
    request_queue_size = 128


def make_server(port: int, state: ProxyState) -> ProxyServer:
    handler = type("BoundProxyHandler", (ProxyHandler,), {"state": state})
    return ProxyServer(("127.0.0.1", port), handler)


# --------------------------------------------------------------------------
# main


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Reverse proxy in front of moto with AWS-like timings and injected faults (test harness only)")
    parser.add_argument("--upstream", required=True, help="moto endpoint, e.g. http://127.0.0.1:41021")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--ready-file", help="write {endpoint, pid, ...} here (atomically) once listening")
    parser.add_argument("--stats-file", help="write the final stats JSON here on exit")
    parser.add_argument("--scale", type=float, default=20.0, help="divide every T_* by this (default 20)")
    parser.add_argument("--t-nlb", type=float, default=60.0, help="seconds an NLB stays provisioning (0: off)")
    parser.add_argument("--t-reg", type=float, default=90.0, help="seconds a registered target stays initial (0: off)")
    parser.add_argument("--t-task", type=float, default=45.0,
                        help="seconds a task stays PENDING: informational, pass T_task/scale to "
                             "local_aws.py --task-start-delay")
    parser.add_argument("--t-del", type=float, default=30.0,
                        help="seconds a deleted NLB's EIP stays associated (0: off)")
    parser.add_argument("--fault", "--fault-rate", dest="faults", action="append", default=[],
                        metavar="OP=KIND:RATE|OP=KIND@N",
                        help="inject a fault; KIND: throttle, 5xx, reset, latency:MS; OP: name, * or service:Name")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault RNG (default 0)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error("--scale must be > 0")
    for name in ("t_nlb", "t_reg", "t_task", "t_del"):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must be >= 0")
    try:
        args.rules = [parse_fault(spec) for spec in args.faults]
    except ValueError as err:
        parser.error(str(err))
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG if args.verbose else logging.INFO,
                        format="fault_proxy: %(asctime)s.%(msecs)03d %(message)s", datefmt="%H:%M:%S")
    remove_if_present(args.ready_file)
    try:
        upstream = Upstream(args.upstream)
    except ValueError as err:
        print(f"fault_proxy: {err}", file=sys.stderr)
        return 2
    timing = Timing(args.scale, args.t_nlb, args.t_reg, args.t_task, args.t_del)
    state = ProxyState(upstream, timing, args.rules, args.seed)
    try:
        server = make_server(args.port, state)
    except OSError as err:
        print(f"fault_proxy: cannot listen on 127.0.0.1:{args.port}: {err}", file=sys.stderr)
        return 1

    stop = threading.Event()

    def request_stop(signum, _frame) -> None:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              name="fault-proxy", daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    info = {"endpoint": f"http://{host}:{port}", "pid": os.getpid(), "upstream": upstream.url,
            "timing": timing.as_dict(), "faults": [r.spec for r in args.rules], "seed": args.seed}
    if args.ready_file:
        write_json_atomically(args.ready_file, info)
    print(json.dumps(info), flush=True)
    log.info("listening on %s -> %s; timing %s; faults %s", info["endpoint"], upstream.url,
             timing.as_dict(), info["faults"])
    try:
        while not stop.is_set():
            stop.wait(0.2)
    finally:
        server.shutdown()
        server.server_close()
        if args.stats_file:
            write_json_atomically(args.stats_file, state.stats_document())
        remove_if_present(args.ready_file)
        log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
