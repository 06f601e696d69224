"""What an AWS API request is: its service and operation, from the headers
and body alone (test harness only). Shared by the fault proxy, which counts,
faults and models calls by operation, and local_aws, whose shim wakes on
calls that may change state."""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

SERVICE_ALIASES = {"elasticloadbalancing": "elbv2"}
READ_PREFIXES = ("Describe", "List", "Get")


@dataclass
class Call:
    service: str        # signing name from the credential scope ("ec2", "elasticloadbalancing", "ecs", ...)
    operation: str      # "DescribeLoadBalancers", "RunTask", ...; "Unknown" if not recognised
    protocol: str       # "query", "ec2", "json", "rest-xml", "unknown"
    params: dict[str, list[str]] = field(default_factory=dict)  # query-protocol parameters
    json_content_type: str = "application/x-amz-json-1.1"
    region: str = "us-east-1"
    pending_lingers: list[dict[str, Any]] = field(default_factory=list)  # DeleteLoadBalancer: EIPs to keep
    body: bytes = b""   # json-protocol request body (ECS, SSM, ...), for models that read it

    def json_body(self) -> dict[str, Any]:
        try:
            document = json.loads(self.body or b"{}")
        except ValueError:
            return {}
        return document if isinstance(document, dict) else {}

    @property
    def short_service(self) -> str:
        return SERVICE_ALIASES.get(self.service, self.service)

    def param(self, name: str) -> str | None:
        values = self.params.get(name)
        return values[0] if values else None


def credential_scope(authorization: str | None) -> tuple[str | None, str | None]:
    """(region, service) from `AWS4-HMAC-SHA256 Credential=AK/DATE/REGION/SERVICE/aws4_request, ...`."""
    if not authorization:
        return None, None
    match = re.search(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request", authorization)
    return (match.group(1), match.group(2)) if match else (None, None)


ROUTE53_ROUTES: list[tuple[str, str, str]] = [
    # (method, path regex after /2013-04-01, operation)
    ("POST", r"/hostedzone/?", "CreateHostedZone"),
    ("GET", r"/hostedzone/?", "ListHostedZones"),
    ("GET", r"/hostedzone/[^/]+/?", "GetHostedZone"),
    ("DELETE", r"/hostedzone/[^/]+/?", "DeleteHostedZone"),
    ("POST", r"/hostedzone/[^/]+/?", "UpdateHostedZoneComment"),
    ("POST", r"/hostedzone/[^/]+/rrset/?", "ChangeResourceRecordSets"),
    ("GET", r"/hostedzone/[^/]+/rrset/?", "ListResourceRecordSets"),
    ("POST", r"/hostedzone/[^/]+/associatevpc/?", "AssociateVPCWithHostedZone"),
    ("POST", r"/hostedzone/[^/]+/disassociatevpc/?", "DisassociateVPCFromHostedZone"),
    ("GET", r"/hostedzone/[^/]+/dnssec/?", "GetDNSSEC"),
    ("GET", r"/hostedzonesbyname/?", "ListHostedZonesByName"),
    ("GET", r"/hostedzonesbyvpc/?", "ListHostedZonesByVPC"),
    ("GET", r"/hostedzonecount/?", "GetHostedZoneCount"),
    ("GET", r"/change/[^/]+/?", "GetChange"),
    ("GET", r"/tags/[^/]+/[^/]+/?", "ListTagsForResource"),
    ("POST", r"/tags/[^/]+/[^/]+/?", "ChangeTagsForResource"),
    ("POST", r"/tags/[^/]+/?", "ListTagsForResources"),
    ("POST", r"/healthcheck/?", "CreateHealthCheck"),
    ("GET", r"/healthcheck/?", "ListHealthChecks"),
    ("GET", r"/healthcheck/[^/]+/?", "GetHealthCheck"),
    ("POST", r"/healthcheck/[^/]+/?", "UpdateHealthCheck"),
    ("DELETE", r"/healthcheck/[^/]+/?", "DeleteHealthCheck"),
    ("GET", r"/healthcheck/[^/]+/status/?", "GetHealthCheckStatus"),
]


def route53_operation(method: str, path: str) -> str:
    match = re.match(r"/\d{4}-\d{2}-\d{2}(/.*)$", path)
    if not match:
        return "Unknown"
    rest = match.group(1)
    for route_method, pattern, operation in ROUTE53_ROUTES:
        if method == route_method and re.fullmatch(pattern, rest):
            return operation
    return "Unknown"


def identify(method: str, target: str, headers, body: bytes) -> Call:
    """Which service and operation a request is, without changing it."""
    region, service = credential_scope(headers.get("Authorization"))
    region = region or "us-east-1"
    split = urllib.parse.urlsplit(target)
    path, query = split.path, split.query
    amz_target = headers.get("X-Amz-Target")
    content_type = (headers.get("Content-Type") or "").lower()

    if amz_target:
        prefix, _, operation = amz_target.rpartition(".")
        if not service:
            service = {"AmazonEC2ContainerServiceV20141113": "ecs", "AmazonSSM": "ssm",
                       "CertificateManager": "acm"}.get(prefix, prefix.lower() or "unknown")
        return Call(service, operation or "Unknown", "json",
                    json_content_type=headers.get("Content-Type") or "application/x-amz-json-1.1",
                    region=region, body=body)

    params: dict[str, list[str]] = {}
    if "application/x-www-form-urlencoded" in content_type and body:
        params = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    elif query:
        params = urllib.parse.parse_qs(query, keep_blank_values=True)
    action = (params.get("Action") or [None])[0]
    if action:
        service = service or "unknown"
        return Call(service, action, "ec2" if service == "ec2" else "query", params=params, region=region)

    if service == "route53" or re.match(r"/\d{4}-\d{2}-\d{2}/(hostedzone|change|tags|healthcheck)", path):
        return Call("route53", route53_operation(method, path), "rest-xml", region=region)

    return Call(service or "unknown", "Unknown", "unknown", region=region)


def is_read(call: Call) -> bool:
    """A call that changes nothing; an unrecognised one is not taken for a read."""
    return call.operation.startswith(READ_PREFIXES)
