#!/usr/bin/env python3
"""Fixtures and assertions for scripts/tf-e2e.sh, against the local AWS.

    python scripts/tf_e2e_assert.py --endpoint URL [--region R] [--project P]
        [--domain D] [--hosted-zone-id Z] [--certificate-arn ARN] COMMAND ...

Commands:
    fixtures                    create a Route53 zone for the domain's parent
                                and import a self-signed ACM certificate (the
                                harness's own helpers); print their ids as JSON
    base --outputs FILE         what `terraform apply` of infra/ left in the
                                emulator looks like what meetctl and the shim need
    up --managed-by WHO         one on-demand stack after `meetctl up`
        [--outputs FILE]        (ingress terraform: also compare terraform outputs)
    down                        nothing on-demand left after `meetctl down`
    destroyed                   nothing of the project left after `terraform destroy`

Each check prints one line, `ok - ...` or `not ok - ...` (with what was seen);
the exit code is 1 when any check failed. Only ever talks to --endpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Callable

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

HARNESS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness")


class Checks:
    def __init__(self) -> None:
        self.failed = 0

    def check(self, ok: bool, description: str, seen: Any = None) -> bool:
        if ok:
            print(f"ok - {description}", flush=True)
        else:
            self.failed += 1
            detail = "" if seen is None else f" (seen: {seen})"
            print(f"not ok - {description}{detail}", flush=True)
        return ok

    def attempt(self, description: str, fn: Callable[[], Any]) -> Any:
        """Run fn; an exception is a failed check instead of a traceback."""
        try:
            return fn()
        except Exception as err:  # noqa: BLE001 - reported, not hidden
            self.check(False, description, f"{type(err).__name__}: {err}")
            return None


class Emulator:
    def __init__(self, endpoint: str, region: str) -> None:
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region,
        )
        config = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=2, read_timeout=15)
        for name in ("ec2", "ecs", "efs", "elbv2", "route53", "acm", "ssm", "s3", "iam", "logs"):
            setattr(self, name, session.client(name, endpoint_url=endpoint, config=config))

    # ---- reads that tolerate "not found" ---------------------------------

    def load_balancers(self) -> list[dict]:
        return [lb for page in self.elbv2.get_paginator("describe_load_balancers").paginate()
                for lb in page["LoadBalancers"]]

    def target_groups(self) -> list[dict]:
        return [tg for page in self.elbv2.get_paginator("describe_target_groups").paginate()
                for tg in page["TargetGroups"]]

    def lb_tags(self, arn: str) -> dict[str, str]:
        descriptions = self.elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"]
        return {t["Key"]: t["Value"] for d in descriptions for t in d.get("Tags", [])}

    def project_addresses(self, project: str) -> list[dict]:
        return self.ec2.describe_addresses(
            Filters=[{"Name": "tag:Project", "Values": [project]}],
        )["Addresses"]

    def parameter(self, name: str) -> str | None:
        try:
            return self.ssm.get_parameter(Name=name)["Parameter"]["Value"]
        except ClientError as err:
            if err.response["Error"]["Code"] == "ParameterNotFound":
                return None
            raise

    def services(self, cluster: str, service: str) -> list[dict]:
        try:
            return self.ecs.describe_services(cluster=cluster, services=[service])["services"]
        except ClientError as err:
            if err.response["Error"]["Code"] == "ClusterNotFoundException":
                return []
            raise

    def live_service_tasks(self, cluster: str, service: str) -> list[dict]:
        # moto's ListTasks ignores serviceName: match the group, as the shim does.
        arns = self.ecs.list_tasks(cluster=cluster)["taskArns"]
        tasks = self.ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []
        return [t for t in tasks if t.get("group") == f"service:{service}" and t.get("lastStatus") != "STOPPED"]

    def alias_records(self, zone_id: str, domain: str) -> list[dict]:
        fqdn = domain.rstrip(".") + "."
        records = self.route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
        return [r for r in records if r["Name"] == fqdn and r["Type"] == "A"]


def tag_map(tags: list[dict] | None, key: str = "Key", value: str = "Value") -> dict[str, str]:
    return {t[key]: t[value] for t in tags or []}


def task_private_ip(task: dict) -> str | None:
    for attachment in task.get("attachments", []):
        if attachment.get("type") == "ElasticNetworkInterface":
            for detail in attachment.get("details", []):
                if detail.get("name") == "privateIPv4Address":
                    return detail.get("value")
    return None


def load_outputs(path: str) -> dict[str, Any]:
    with open(path) as handle:
        return {name: o.get("value") for name, o in json.load(handle).items()}


# --------------------------------------------------------------------------
# fixtures


def cmd_fixtures(aws: Emulator, args: argparse.Namespace) -> int:
    # The harness's own code, so the zone and certificate are what the other
    # tests use (imported certificate: ISSUED at once; a requested one would
    # stay PENDING_VALIDATION in moto).
    sys.path.insert(0, HARNESS_DIR)
    import local_aws  # noqa: E402

    zone_id = local_aws.create_hosted_zone(aws.route53, args.project, args.domain)
    certificate_arn = local_aws.import_certificate(aws.acm, args.project, args.domain)
    print(json.dumps({"hosted_zone_id": zone_id, "certificate_arn": certificate_arn}))
    return 0


# --------------------------------------------------------------------------
# after terraform apply


def cmd_base(aws: Emulator, args: argparse.Namespace, c: Checks) -> None:
    p = args.project
    out = load_outputs(args.outputs)
    cluster, service = f"{p}-cluster", f"{p}-service"

    c.check(out.get("cluster_name") == cluster and out.get("service_name") == service,
            f"terraform outputs name {cluster} / {service}", (out.get("cluster_name"), out.get("service_name")))

    vpcs = aws.ec2.describe_vpcs(Filters=[{"Name": "tag:Project", "Values": [p]}])["Vpcs"]
    if c.check(len(vpcs) == 1 and vpcs[0]["VpcId"] == out.get("vpc_id"),
               f"one VPC tagged Project={p}, the one in the outputs", [v["VpcId"] for v in vpcs]):
        vpc_id = vpcs[0]["VpcId"]
        support = aws.ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsSupport")["EnableDnsSupport"]["Value"]
        hostnames = aws.ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsHostnames")["EnableDnsHostnames"]["Value"]
        c.check(support and hostnames, "VPC has DNS support and DNS hostnames (moto's RunTask needs them)",
                {"support": support, "hostnames": hostnames})

    subnets = aws.ec2.describe_subnets(Filters=[{"Name": "tag:Project", "Values": [p]}])["Subnets"]
    c.check(sorted(s["SubnetId"] for s in subnets) == sorted(out.get("public_subnet_ids") or [])
            and len({s["AvailabilityZone"] for s in subnets}) == 2,
            f"two subnets tagged Project={p} in two AZs = public_subnet_ids",
            [(s["SubnetId"], s["AvailabilityZone"]) for s in subnets])

    groups = aws.ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{p}-task"]}])["SecurityGroups"]
    c.check(len(groups) == 1 and groups[0]["GroupId"] == out.get("security_group_id")
            and tag_map(groups[0].get("Tags")).get("Project") == p,
            f"security group {p}-task tagged Project={p} = security_group_id",
            [(g["GroupId"], tag_map(g.get("Tags"))) for g in groups])

    clusters = aws.ecs.describe_clusters(clusters=[cluster])["clusters"]
    c.check([x["status"] for x in clusters] == ["ACTIVE"], f"ECS cluster {cluster} ACTIVE",
            [x["status"] for x in clusters])

    services = aws.services(cluster, service)
    if c.check(len(services) == 1 and services[0]["status"] == "ACTIVE", f"ECS service {service} ACTIVE",
               [s["status"] for s in services]):
        s = services[0]
        c.check(s["desiredCount"] == 0, "service desired count 0", s["desiredCount"])
        vpc_config = s.get("networkConfiguration", {}).get("awsvpcConfiguration", {})
        c.check(sorted(vpc_config.get("subnets", [])) == sorted(out.get("public_subnet_ids") or [])
                and vpc_config.get("securityGroups") == [out.get("security_group_id")]
                and vpc_config.get("assignPublicIp") == "ENABLED",
                "service awsvpc config: both subnets, the task SG, public IP", vpc_config)
        c.check(s["taskDefinition"] == out.get("task_definition_arn"),
                "service runs the task definition in the outputs", s["taskDefinition"])

    td = aws.ecs.describe_task_definition(taskDefinition=p)["taskDefinition"]
    c.check(td["networkMode"] == "awsvpc" and "FARGATE" in td.get("requiresCompatibilities", []),
            "task definition is awsvpc + FARGATE", (td["networkMode"], td.get("requiresCompatibilities")))
    containers = {x["name"]: x for x in td["containerDefinitions"]}
    c.check(sorted(containers) == ["coturn", "jicofo", "jvb", "prosody", "web"],
            "containers web, prosody, jicofo, jvb, coturn", sorted(containers))
    without = [n for n, x in containers.items() if not (x.get("memoryReservation") or x.get("memory"))]
    c.check(not without, "every container has memoryReservation/memory (moto's RunTask needs it)", without)
    advertise = {s["name"]: s["valueFrom"] for s in containers.get("jvb", {}).get("secrets", [])}.get("JVB_ADVERTISE_IPS", "")
    c.check(advertise.endswith(f":parameter/{p}/jvb_advertise_ips"),
            f"jvb reads JVB_ADVERTISE_IPS from /{p}/jvb_advertise_ips", advertise)
    check_jitsi_task(aws, out, td, containers, c)
    check_cluster_insights(aws, cluster, c)

    # TURN (infra/turn.tf): coturn takes its static-auth-secret, prosody its
    # TURN_CREDENTIALS, from the one SSM parameter, by reference only.
    coturn = containers.get("coturn", {})
    turn_secret = f":parameter/{p}/turn_static_auth_secret"
    coturn_secrets = {s["name"]: s["valueFrom"] for s in coturn.get("secrets", [])}
    prosody_secrets = {s["name"]: s["valueFrom"] for s in containers.get("prosody", {}).get("secrets", [])}
    c.check(coturn_secrets.get("TURN_STATIC_AUTH_SECRET", "").endswith(turn_secret)
            and prosody_secrets.get("TURN_CREDENTIALS", "").endswith(turn_secret),
            f"coturn and prosody read the TURN secret from /{p}/turn_static_auth_secret",
            (coturn_secrets, prosody_secrets))
    command = coturn.get("command", [])
    c.check(coturn.get("image", "").startswith("coturn/coturn:") and coturn.get("image", "").split(":")[1][:1].isdigit()
            and "--use-auth-secret" in command and "--static-auth-secret=$TURN_STATIC_AUTH_SECRET" in command
            and "--listening-port=3478" in command and "--denied-peer-ip=169.254.0.0-169.254.255.255" in command
            and "--denied-peer-ip=10.0.0.0-10.255.255.255" in command
            and any(a.startswith("--allowed-peer-ip=") for a in command)
            and coturn.get("essential") is False,
            "coturn: pinned coturn/coturn image, REST-API auth from the secret env, TCP 3478, private ranges denied "
            "except the task's subnets, not essential", (coturn.get("image"), command, coturn.get("essential")))
    prosody_env = {e["name"]: e["value"] for e in containers.get("prosody", {}).get("environment", [])}
    c.check(prosody_env.get("TURNS_HOST") == args.domain and prosody_env.get("TURNS_PORT") == "5349",
            f"prosody advertises TURNS {args.domain}:5349 (XEP-0215)",
            {k: v for k, v in prosody_env.items() if k.startswith("TURN")})
    secrets_in_env = [e["name"] for x in containers.values() for e in x.get("environment", [])
                      if "SECRET" in e["name"] or e["name"] == "TURN_CREDENTIALS"]
    c.check(not secrets_in_env, "no TURN secret in any container's plain environment", secrets_in_env)

    c.check(not aws.load_balancers() and not aws.project_addresses(p),
            "no load balancer and no Elastic IP before meetctl up (nlb_enabled = false)")


def env_of(container: dict) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("environment", [])}


def check_jitsi_task(aws: Emulator, out: dict[str, Any], td: dict, containers: dict, c: Checks) -> None:
    """What the pinned docker-jitsi-meet images need from the task definition
    (the sources are cited in infra/ecs.tf): a jicofo health check that passes
    while jicofo runs, STUN off so the JVB offers only the NLB's address, and
    Prosody's data on the encrypted EFS access point."""
    jicofo = containers.get("jicofo", {})
    command = " ".join(jicofo.get("healthCheck", {}).get("command", []))
    health_checker_on = env_of(jicofo).get("JICOFO_ENABLE_HEALTH_CHECKS", "").lower() in ("1", "true")
    # /about/health exists only with jicofo's health checker, and fails while
    # no bridge is registered: ECS would replace the task ~135 s after start.
    c.check("http://127.0.0.1:8888/about/version" in command and "/about/health" not in command
            and not health_checker_on,
            "jicofo's health check asks GET 127.0.0.1:8888/about/version (always served), not /about/health",
            command)
    c.check(env_of(containers.get("jvb", {})).get("JVB_DISABLE_STUN") == "true",
            "jvb has JVB_DISABLE_STUN=true (advertises JVB_ADVERTISE_IPS only, no STUN-found task address)",
            env_of(containers.get("jvb", {})).get("JVB_DISABLE_STUN"))
    c.check(td.get("runtimePlatform", {}).get("cpuArchitecture") == "X86_64",
            "task runs X86_64 (aarch64 jitsi-dcsctp not confirmed)", td.get("runtimePlatform"))

    fs_id, ap_id = out.get("prosody_data_file_system_id"), out.get("prosody_data_access_point_id")
    mounts = containers.get("prosody", {}).get("mountPoints", [])
    volumes = {v["name"]: v for v in td.get("volumes", [])}
    data = [m for m in mounts if m.get("containerPath") == "/config/data"]
    efs = volumes.get(data[0]["sourceVolume"], {}).get("efsVolumeConfiguration", {}) if len(data) == 1 else {}
    c.check(len(data) == 1 and efs.get("fileSystemId") == fs_id and fs_id is not None
            and efs.get("transitEncryption") == "ENABLED"
            and efs.get("authorizationConfig", {}).get("iam") == "ENABLED"
            and efs.get("authorizationConfig", {}).get("accessPointId") == ap_id and ap_id is not None
            and efs.get("rootDirectory", "/") == "/",
            "prosody mounts /config/data from the EFS access point (TLS in transit, IAM authorization)",
            (mounts, efs))
    others = [n for n, x in containers.items() if n != "prosody" and x.get("mountPoints")]
    c.check(not others, "no other container mounts a volume", others)

    systems = aws.efs.describe_file_systems(FileSystemId=fs_id)["FileSystems"] if fs_id else []
    c.check(len(systems) == 1 and systems[0].get("Encrypted") is True,
            "Prosody's EFS file system is encrypted at rest", [(f["FileSystemId"], f.get("Encrypted")) for f in systems])
    points = aws.efs.describe_access_points(AccessPointId=ap_id)["AccessPoints"] if ap_id else []
    point = points[0] if len(points) == 1 else {}
    c.check(point.get("PosixUser", {}).get("Uid") == 101 and point.get("PosixUser", {}).get("Gid") == 102
            and point.get("RootDirectory", {}).get("Path") == "/prosody-data"
            and point.get("RootDirectory", {}).get("CreationInfo", {}).get("OwnerUid") == 101,
            "access point enters /prosody-data as prosody (uid 101, gid 102)",
            (point.get("PosixUser"), point.get("RootDirectory")))

    task_sg = out.get("security_group_id")
    targets = aws.efs.describe_mount_targets(FileSystemId=fs_id)["MountTargets"] if fs_id else []
    c.check(sorted(t["SubnetId"] for t in targets) == sorted(out.get("public_subnet_ids") or []),
            "one EFS mount target in each public subnet", [t["SubnetId"] for t in targets])
    mount_groups = {g for t in targets for g in aws.efs.describe_mount_target_security_groups(
        MountTargetId=t["MountTargetId"])["SecurityGroups"]}
    if c.check(len(mount_groups) == 1 and task_sg not in mount_groups,
               "the mount targets have their own security group", sorted(mount_groups)):
        efs_sg = aws.ec2.describe_security_groups(GroupIds=sorted(mount_groups))["SecurityGroups"][0]
        rules = [(r.get("IpProtocol"), r.get("FromPort"), r.get("ToPort"),
                  sorted(g["GroupId"] for g in r.get("UserIdGroupPairs", [])),
                  [x["CidrIp"] for x in r.get("IpRanges", [])] + [x["CidrIpv6"] for x in r.get("Ipv6Ranges", [])])
                 for r in efs_sg.get("IpPermissions", [])]
        c.check(rules == [("tcp", 2049, 2049, [task_sg], [])],
                "EFS security group: NFS (TCP 2049) in from the task security group only", rules)
        task_group = aws.ec2.describe_security_groups(GroupIds=[task_sg])["SecurityGroups"][0]
        nfs_out = [r for r in task_group.get("IpPermissionsEgress", [])
                   if r.get("IpProtocol") == "tcp" and r.get("FromPort") == 2049
                   and [g["GroupId"] for g in r.get("UserIdGroupPairs", [])] == [efs_sg["GroupId"]]]
        c.check(len(nfs_out) == 1, "task security group: NFS out to the EFS security group",
                task_group.get("IpPermissionsEgress"))

    policy = json.loads(aws.efs.describe_file_system_policy(FileSystemId=fs_id)["Policy"]) if fs_id else {}
    statements = policy.get("Statement", [])
    denies_plain = any(s.get("Effect") == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")
                       in ("false", ["false"]) for s in statements)
    allows = [s for s in statements if s.get("Effect") == "Allow"]
    task_role = out.get("task_role_arn")
    c.check(denies_plain and len(allows) == 1
            and allows[0].get("Principal", {}).get("AWS") in (task_role, [task_role])
            and "elasticfilesystem:AccessPointArn" in json.dumps(allows[0].get("Condition", {})),
            "EFS policy: TLS only; mount/write only by the task role through the access point", statements)


def check_cluster_insights(aws: Emulator, cluster: str, c: Checks) -> None:
    clusters = aws.ecs.describe_clusters(clusters=[cluster], include=["SETTINGS"])["clusters"]
    settings = {s["name"]: s["value"] for x in clusters for s in x.get("settings", [])}
    c.check(settings.get("containerInsights") == "disabled",
            "Container Insights off by default (it bills while a task runs)", settings)


# --------------------------------------------------------------------------
# after meetctl up


def cmd_up(aws: Emulator, args: argparse.Namespace, c: Checks) -> None:
    p = args.project
    cluster, service = f"{p}-cluster", f"{p}-service"

    lbs = aws.load_balancers()
    named = [lb for lb in lbs if lb["LoadBalancerName"] == f"{p}-nlb"]
    nlb = named[0] if len(named) == 1 else None
    c.check(len(lbs) == 1 and nlb is not None and nlb.get("Type") == "network",
            f"exactly one load balancer, network {p}-nlb", [(lb["LoadBalancerName"], lb.get("Type")) for lb in lbs])
    if nlb is not None:
        tags = aws.lb_tags(nlb["LoadBalancerArn"])
        c.check(tags.get("Project") == p and tags.get("ManagedBy") == args.managed_by
                and tags.get("Lifecycle") == "on-demand",
                f"NLB tagged Project={p}, ManagedBy={args.managed_by}, Lifecycle=on-demand", tags)
        c.check(len(nlb.get("AvailabilityZones", [])) == 1, "NLB in one subnet",
                [z.get("SubnetId") for z in nlb.get("AvailabilityZones", [])])

    tgs = aws.target_groups()
    by_name = {tg["TargetGroupName"]: tg for tg in tgs}
    c.check(len(tgs) == 3 and by_name.get(f"{p}-jvb", {}).get("Protocol") == "UDP"
            and by_name.get(f"{p}-jvb", {}).get("Port") == 10000
            and by_name.get(f"{p}-web", {}).get("Protocol") == "TCP"
            and by_name.get(f"{p}-web", {}).get("Port") == 80
            and by_name.get(f"{p}-turn", {}).get("Protocol") == "TCP"
            and by_name.get(f"{p}-turn", {}).get("Port") == 3478
            and by_name.get(f"{p}-turn", {}).get("HealthCheckProtocol") == "TCP",
            f"three target groups: {p}-jvb UDP 10000, {p}-web TCP 80, {p}-turn TCP 3478 (TCP health check)",
            [(tg["TargetGroupName"], tg["Protocol"], tg["Port"]) for tg in tgs])

    if nlb is not None:
        listeners = aws.elbv2.describe_listeners(LoadBalancerArn=nlb["LoadBalancerArn"])["Listeners"]
        seen = sorted((lst["Protocol"], lst["Port"]) for lst in listeners)
        c.check(seen == [("TLS", 443), ("TLS", 5349), ("UDP", 10000)],
                "listeners TLS 443 + TLS 5349 (TURNS) + UDP 10000", seen)
        tls = [lst for lst in listeners if lst["Protocol"] == "TLS"]
        certs = [x["CertificateArn"] for lst in tls for x in lst.get("Certificates", [])]
        c.check(certs == [args.certificate_arn] * 2, "both TLS listeners use the imported certificate", certs)
        forwards = {lst["Port"]: [a.get("TargetGroupArn") for a in lst.get("DefaultActions", [])] for lst in listeners}
        c.check(forwards.get(10000) == [by_name.get(f"{p}-jvb", {}).get("TargetGroupArn")]
                and forwards.get(443) == [by_name.get(f"{p}-web", {}).get("TargetGroupArn")]
                and forwards.get(5349) == [by_name.get(f"{p}-turn", {}).get("TargetGroupArn")],
                "UDP 10000 -> jvb, TLS 443 -> web, TLS 5349 -> turn target group", forwards)

    addresses = aws.project_addresses(p)
    eip = addresses[0] if len(addresses) == 1 else None
    c.check(eip is not None and {k: tag_map(eip.get("Tags")).get(k) for k in ("Project", "ManagedBy", "Lifecycle")}
            == {"Project": p, "ManagedBy": "meetctl", "Lifecycle": "on-demand"},
            f"one Elastic IP tagged Project={p}, ManagedBy=meetctl, Lifecycle=on-demand",
            [(a["AllocationId"], tag_map(a.get("Tags"))) for a in addresses])
    advertise = aws.parameter(f"/{p}/jvb_advertise_ips")
    c.check(eip is not None and advertise == eip["PublicIp"],
            f"/{p}/jvb_advertise_ips == the EIP's public IP", (advertise, eip and eip["PublicIp"]))
    if eip is not None and nlb is not None:
        # The shim gives the NLB an ENI with the project's free EIP, as AWS
        # does for a subnet mapping with an AllocationId.
        c.check(eip.get("NetworkInterfaceId", "") != "" and
                "ELB net/" in (aws.ec2.describe_network_interfaces(
                    NetworkInterfaceIds=[eip["NetworkInterfaceId"]])["NetworkInterfaces"][0].get("Description", "")),
                "the EIP is attached to the NLB's network interface", eip.get("NetworkInterfaceId"))

    services = aws.services(cluster, service)
    c.check([s["desiredCount"] for s in services] == [1], "service desired count 1",
            [s["desiredCount"] for s in services])
    # ECS registers (and re-registers a replacement of) the task itself.
    attached = sorted((lb.get("targetGroupArn"), lb.get("containerName"), lb.get("containerPort"))
                      for s in services for lb in s.get("loadBalancers", []))
    wanted = sorted([(by_name.get(f"{p}-jvb", {}).get("TargetGroupArn"), "jvb", 10000),
                     (by_name.get(f"{p}-web", {}).get("TargetGroupArn"), "web", 80),
                     (by_name.get(f"{p}-turn", {}).get("TargetGroupArn"), "coturn", 3478)])
    c.check(attached == wanted, "the service carries its target groups (jvb:10000, web:80, coturn:3478)", attached)
    # ECS wants each containerPort mapped by infra's task definition (moto
    # does not check; API reference, LoadBalancer.containerPort).
    for s in services:
        containers = aws.ecs.describe_task_definition(
            taskDefinition=s["taskDefinition"])["taskDefinition"]["containerDefinitions"]
        mapped = {(cd["name"], m["containerPort"]) for cd in containers for m in cd.get("portMappings", [])}
        c.check(all((name, port) in mapped for _, name, port in attached),
                "each attached container port is mapped by the task definition", sorted(mapped))
    tasks = aws.live_service_tasks(cluster, service)
    running = [t for t in tasks if t.get("lastStatus") == "RUNNING"]
    c.check(len(running) == 1, "one RUNNING task of the service", [t.get("lastStatus") for t in tasks])
    if len(running) == 1 and len(tgs) == 3:
        ip = task_private_ip(running[0])
        for tg in tgs:
            targets = [d["Target"]["Id"] for d in aws.elbv2.describe_target_health(
                TargetGroupArn=tg["TargetGroupArn"])["TargetHealthDescriptions"]]
            c.check(targets == [ip], f"task IP {ip} is the only target of {tg['TargetGroupName']}", targets)

    if args.hosted_zone_id and nlb is not None:
        records = aws.alias_records(args.hosted_zone_id, args.domain)
        targets = [r.get("AliasTarget", {}).get("DNSName", "").rstrip(".") for r in records]
        c.check(targets == [nlb["DNSName"].rstrip(".")], f"alias {args.domain} -> the NLB", targets)

    if args.outputs:
        out = load_outputs(args.outputs)
        c.check(nlb is not None and out.get("nlb_arn") == nlb["LoadBalancerArn"]
                and out.get("nlb_dns_name") == nlb["DNSName"],
                "terraform outputs nlb_arn / nlb_dns_name = the NLB in the emulator",
                (out.get("nlb_arn"), out.get("nlb_dns_name")))
        c.check(out.get("nlb_jvb_target_group_arn") is not None
                and out.get("nlb_jvb_target_group_arn") == by_name.get(f"{p}-jvb", {}).get("TargetGroupArn")
                and out.get("nlb_web_target_group_arn") is not None
                and out.get("nlb_web_target_group_arn") == by_name.get(f"{p}-web", {}).get("TargetGroupArn")
                and out.get("nlb_turn_target_group_arn") is not None
                and out.get("nlb_turn_target_group_arn") == by_name.get(f"{p}-turn", {}).get("TargetGroupArn"),
                "terraform outputs nlb_jvb/web/turn_target_group_arn = the target groups",
                (out.get("nlb_jvb_target_group_arn"), out.get("nlb_web_target_group_arn"),
                 out.get("nlb_turn_target_group_arn")))


# --------------------------------------------------------------------------
# after meetctl down


def cmd_down(aws: Emulator, args: argparse.Namespace, c: Checks) -> None:
    p = args.project
    cluster, service = f"{p}-cluster", f"{p}-service"
    c.check(not aws.load_balancers(), "no load balancer left",
            [lb["LoadBalancerName"] for lb in aws.load_balancers()])
    c.check(not aws.target_groups(), "no target group left",
            [tg["TargetGroupName"] for tg in aws.target_groups()])
    c.check(not aws.project_addresses(p), f"no Elastic IP tagged Project={p} left",
            [a["AllocationId"] for a in aws.project_addresses(p)])
    c.check(aws.parameter(f"/{p}/jvb_advertise_ips") is None, f"/{p}/jvb_advertise_ips cleared")
    nlb_enis = [e["NetworkInterfaceId"] for e in aws.ec2.describe_network_interfaces()["NetworkInterfaces"]
                if e.get("Description", "").startswith("ELB net/")]
    c.check(not nlb_enis, "no NLB network interface left", nlb_enis)
    services = aws.services(cluster, service)
    c.check([s["desiredCount"] for s in services] == [0], "service desired count 0",
            [s["desiredCount"] for s in services])
    c.check([s.get("loadBalancers", []) for s in services] == [[]], "the service carries no target group",
            [s.get("loadBalancers") for s in services])
    tasks = aws.live_service_tasks(cluster, service)
    c.check(not tasks, "no live task of the service", [t.get("lastStatus") for t in tasks])
    if args.hosted_zone_id:
        c.check(not aws.alias_records(args.hosted_zone_id, args.domain), f"no A record for {args.domain}")


# --------------------------------------------------------------------------
# after terraform destroy


def cmd_destroyed(aws: Emulator, args: argparse.Namespace, c: Checks) -> None:
    p = args.project
    cluster, service = f"{p}-cluster", f"{p}-service"
    project_filter = [{"Name": "tag:Project", "Values": [p]}]

    # A deleted cluster/service stays describable as INACTIVE for a while on
    # AWS (and for good in moto, whose ListClusters even lists it).
    clusters = [x["status"] for x in aws.ecs.describe_clusters(clusters=[cluster])["clusters"]]
    c.check("ACTIVE" not in clusters, f"no ACTIVE ECS cluster {cluster}", clusters)
    services = [s["status"] for s in aws.services(cluster, service)]
    c.check("ACTIVE" not in services and "DRAINING" not in services, f"no ACTIVE ECS service {service}", services)
    families = aws.ecs.list_task_definitions(familyPrefix=p, status="ACTIVE")["taskDefinitionArns"]
    c.check(not families, f"no ACTIVE task definition of family {p}", families)

    vpcs = [v["VpcId"] for v in aws.ec2.describe_vpcs(Filters=project_filter)["Vpcs"]]
    c.check(not vpcs, f"no VPC tagged Project={p}", vpcs)
    subnets = [s["SubnetId"] for s in aws.ec2.describe_subnets(Filters=project_filter)["Subnets"]]
    c.check(not subnets, f"no subnet tagged Project={p}", subnets)
    groups = [g["GroupId"] for g in aws.ec2.describe_security_groups(Filters=project_filter)["SecurityGroups"]]
    c.check(not groups, f"no security group tagged Project={p}", groups)

    c.check(not aws.load_balancers() and not aws.target_groups() and not aws.project_addresses(p),
            "no load balancer, target group or Elastic IP")
    buckets = [b["Name"] for b in aws.s3.list_buckets().get("Buckets", []) if b["Name"].startswith(f"{p}-")]
    c.check(not buckets, "recordings bucket deleted", buckets)
    roles = [r["RoleName"] for r in aws.iam.list_roles()["Roles"] if r["RoleName"].startswith(f"{p}-")]
    c.check(not roles, "IAM roles deleted", roles)
    groups = [g["logGroupName"] for g in aws.logs.describe_log_groups(logGroupNamePrefix=f"/ecs/{p}")["logGroups"]]
    c.check(not groups, "log group deleted", groups)
    systems = [f["FileSystemId"] for f in aws.efs.describe_file_systems()["FileSystems"]
               if f.get("CreationToken") == f"{p}-prosody"]
    c.check(not systems, "Prosody's EFS file system deleted", systems)


# --------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--project", default="jitsi-video-platform")
    parser.add_argument("--domain", default="meet.example.test")
    parser.add_argument("--hosted-zone-id")
    parser.add_argument("--certificate-arn")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("fixtures")
    base = sub.add_parser("base")
    base.add_argument("--outputs", required=True, help="`terraform output -json` of infra/")
    up = sub.add_parser("up")
    up.add_argument("--managed-by", required=True, choices=["meetctl", "terraform"],
                    help="ManagedBy tag expected on the NLB")
    up.add_argument("--outputs", help="`terraform output -json` to compare (ingress terraform)")
    sub.add_parser("down")
    sub.add_parser("destroyed")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    # Loopback only: no proxy, no profile, no ambient endpoint override.
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    for variable in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        os.environ.pop(variable, None)
    aws = Emulator(args.endpoint, args.region)
    if args.command == "fixtures":
        return cmd_fixtures(aws, args)
    checks = Checks()
    command = {"base": cmd_base, "up": cmd_up, "down": cmd_down, "destroyed": cmd_destroyed}[args.command]
    checks.attempt(f"{args.command} checks ran to the end", lambda: command(aws, args, checks))
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
