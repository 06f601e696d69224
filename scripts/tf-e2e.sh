#!/usr/bin/env bash
# End to end against the local AWS: infra/ Terraform applied to moto, then the
# real meetctl binary on top of what Terraform built, then terraform destroy.
#
#   1. local AWS (harness/local_aws.py serve --no-base: moto + control-plane
#      shim, nothing seeded), a Route53 zone and an imported ACM certificate
#   2. terraform init + apply of a copy of infra/ (state in a temp dir);
#      check the result looks like what meetctl and the shim need
#   3. meetctl up -> status -> down (ingress nlb, the default); check the
#      emulator after each
#   4. the same with ingress "terraform" (meetctl runs terraform in the copy,
#      module.jvb_nlb) unless TF_E2E_TERRAFORM_INGRESS=0
#   5. terraform destroy; check nothing of the project is left
#
# Every check prints `ok - ...` or `not ok - ...`; the last line is
# `tf-e2e: N passed, M failed[, K todo]`, exit 1 on any failure. `not ok ...
# # TODO` lines are known product gaps: reported, not counted as failures.
# Nothing is written into the repository; nothing talks to anything but
# 127.0.0.1 (terraform providers come from the offline mirror).
#
# Environment:
#   MEETCTL_BIN                meetctl binary (default $CARGO_TARGET_DIR/debug/meetctl,
#                              built from these sources with `cargo test --no-run`)
#   CARGO_TARGET_DIR           default ~/.cache/meetctl/target
#   TF_E2E_TERRAFORM_INGRESS   1 (default) runs the ingress = "terraform" round
#   TF_E2E_KEEP                1 keeps the work dir (state, logs); it is always
#                              kept when something failed
#   TERRAFORM                  terraform binary (default: terraform on PATH)
#   MEETCTL_VENV               python venv with moto (see scripts/python-env.sh)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROJECT="jitsi-video-platform"
DOMAIN="meet.example.test"
REGION="us-east-1"
TERRAFORM="${TERRAFORM:-terraform}"
TERRAFORM_INGRESS="${TF_E2E_TERRAFORM_INGRESS:-1}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/meetctl/target}"
DEFAULT_MEETCTL_BIN="$CARGO_TARGET_DIR/debug/meetctl"
MEETCTL_BIN="${MEETCTL_BIN:-$DEFAULT_MEETCTL_BIN}"
ASSERT="$ROOT/scripts/tf_e2e_assert.py"

# Terraform: providers only from /opt/tf-plugins, no prompts, no checkpoint.
export TF_CLI_CONFIG_FILE="$ROOT/scripts/tf-cli.tfrc"
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
# Nothing from the caller's shell may change what is applied or where the
# state lives (TF_VAR_project_name, TF_CLI_ARGS_apply, TF_DATA_DIR, ...).
while read -r name; do unset "$name"; done < <(compgen -e | grep -E '^(TF_VAR_|TF_CLI_ARGS|TF_DATA_DIR$|TF_WORKSPACE$)' || true)
# Dummy credentials; no profile, no metadata service, loopback only.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION="$REGION" AWS_DEFAULT_REGION="$REGION" AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN
export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost" NO_COLOR=1

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tf-e2e.XXXXXX")"
harness_pid=""

now() { date +%s.%N; }
seconds_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
log() { printf '\n==> %s\n' "$*"; }

# ------------------------------------------------------------- reporting ---

PASSED=0 FAILED=0 TODO=0
TIMINGS=()

ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }
# check DESCRIPTION CMD...: one assertion from a command's exit status.
check() {
  local description="$1"
  shift
  if "$@"; then ok "$description"; else not_ok "$description"; fi
}
# todo DESCRIPTION REASON CMD...: a known gap; failure is reported, not counted.
todo() {
  local description="$1" reason="$2"
  shift 2
  if "$@"; then
    ok "$description # TODO passes now: drop the TODO marker ($reason)"
  else
    TODO=$((TODO + 1))
    echo "not ok - $description # TODO $reason"
  fi
}

# assert_py ARGS...: run tf_e2e_assert.py, echo and count its ok/not ok lines.
assert_py() {
  local out rc=0
  out="$("$PY" "$ASSERT" --endpoint "$ENDPOINT" --region "$REGION" --project "$PROJECT" \
    --domain "$DOMAIN" --hosted-zone-id "$ZONE_ID" --certificate-arn "$CERT_ARN" "$@" 2>&1)" || rc=$?
  local line counted=0
  while IFS= read -r line; do
    case "$line" in
      "ok - "*) PASSED=$((PASSED + 1)); counted=1 ;;
      "not ok - "*) FAILED=$((FAILED + 1)); counted=1 ;;
    esac
    echo "$line"
  done <<<"$out"
  if [ "$rc" -ne 0 ] && ! grep -q '^not ok - ' <<<"$out"; then
    not_ok "tf_e2e_assert.py $1 exited $rc"
  elif [ "$counted" -eq 0 ]; then
    not_ok "tf_e2e_assert.py $1 printed no check"
  fi
}

# timed NAME LOG CMD...: run CMD with its output in LOG, record wall seconds;
# print the log's tail on failure. Returns CMD's exit status.
timed() {
  local name="$1" logfile="$2"
  shift 2
  local start rc=0
  start="$(now)"
  "$@" >"$logfile" 2>&1 || rc=$?
  local took
  took="$(seconds_since "$start")"
  TIMINGS+=("$(printf '%-32s %7ss%s' "$name" "$took" "$([ "$rc" -eq 0 ] || echo "  (exit $rc)")")")
  printf '    %s: %ss, exit %d (log %s)\n' "$name" "$took" "$rc" "${logfile#"$WORK"/}"
  if [ "$rc" -ne 0 ]; then
    tail -n 25 "$logfile" | sed 's/^/    | /'
  fi
  return "$rc"
}

summary() {
  echo
  echo "timings (wall):"
  local t
  for t in "${TIMINGS[@]}"; do echo "  $t"; done
  echo "  $(printf '%-32s %7ss' total "$(seconds_since "$TOTAL_START")")"
  local todo_part=""
  [ "$TODO" -eq 0 ] || todo_part=", $TODO todo"
  echo "tf-e2e: $PASSED passed, $FAILED failed$todo_part"
}

cleanup() {
  local rc=$?
  if [ -n "$harness_pid" ]; then
    # Only the harness this script started, by its PID; SIGTERM stops moto
    # and the shim cleanly.
    kill "$harness_pid" 2>/dev/null || true
    local _
    for _ in $(seq 1 50); do
      kill -0 "$harness_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$harness_pid" 2>/dev/null || true
    wait "$harness_pid" 2>/dev/null || true
  fi
  if [ "$rc" -ne 0 ] || [ "$FAILED" -ne 0 ] || [ "${TF_E2E_KEEP:-0}" = 1 ]; then
    echo "tf-e2e: work dir kept: $WORK (terraform state, logs, local-aws.log)" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

# meetctl ARGS...: the binary, against the emulator, from an empty directory
# (no ./meetctl.toml). MEETCTL_BIN is ours, not a meetctl key: meetctl
# rejects unknown MEETCTL_* variables.
meetctl() {
  (cd "$WORK/meetctl-cwd" && "$MEETCTL_BIN" \
    --endpoint-url "$ENDPOINT" --region "$REGION" --project "$PROJECT" --domain "$DOMAIN" \
    --hosted-zone-id "$ZONE_ID" --certificate-arn "$CERT_ARN" \
    --set poll_interval_ms=100 "$@")
}

tf() { "$TERRAFORM" -chdir="$INFRA" "$@"; }

TOTAL_START="$(now)"

# ---------------------------------------------------------------- prepare ---

log "prepare: python env (moto), terraform, meetctl binary"
command -v "$TERRAFORM" >/dev/null 2>&1 || { echo "tf-e2e: terraform not found (set TERRAFORM=...)" >&2; exit 2; }
PY="$(bash "$ROOT/scripts/python-env.sh" | tail -n1)"
if [ "$MEETCTL_BIN" = "$DEFAULT_MEETCTL_BIN" ]; then
  # Always build: a binary left in the shared target dir may be from older sources.
  # Built as `cargo test` builds it (features unified with the dev-dependencies)
  # rather than by `cargo build`, whose feature set differs and would compile
  # the whole AWS SDK a second time (~10 min and ~7 GB per crate on 2 cores).
  echo "    building meetctl and meetctl-control (cargo test --no-run; incremental, may wait for the cargo lock)"
  (cd "$ROOT" && cargo test --locked --quiet --no-run)
elif [ ! -x "$MEETCTL_BIN" ]; then
  echo "tf-e2e: MEETCTL_BIN=$MEETCTL_BIN does not exist" >&2
  exit 2
fi
echo "    meetctl: $MEETCTL_BIN"
mkdir -p "$WORK/meetctl-cwd" "$WORK/logs"
LOGS="$WORK/logs"

log "local AWS: harness --no-base (moto + shim)"
start="$(now)"
"$PY" "$ROOT/harness/local_aws.py" serve --no-base --ready-file "$WORK/ready.json" \
  --project "$PROJECT" --region "$REGION" >/dev/null 2>"$WORK/local-aws.log" &
harness_pid=$!
for _ in $(seq 1 300); do
  [ -f "$WORK/ready.json" ] && break
  if ! kill -0 "$harness_pid" 2>/dev/null; then
    cat "$WORK/local-aws.log" >&2
    echo "tf-e2e: local AWS failed to start" >&2
    exit 1
  fi
  sleep 0.2
done
[ -f "$WORK/ready.json" ] || { echo "tf-e2e: local AWS not ready after 60s" >&2; exit 1; }
TIMINGS+=("$(printf '%-32s %7ss' "local AWS start" "$(seconds_since "$start")")")
ENDPOINT="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["endpoint"])' "$WORK/ready.json")"
# Anything the provider's endpoints block might miss still lands on the
# emulator, never on AWS.
export AWS_ENDPOINT_URL="$ENDPOINT"
echo "    endpoint $ENDPOINT (harness pid $harness_pid)"

ZONE_ID="" CERT_ARN=""
fixtures="$("$PY" "$ASSERT" --endpoint "$ENDPOINT" --region "$REGION" --project "$PROJECT" --domain "$DOMAIN" fixtures)"
ZONE_ID="$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["hosted_zone_id"])' "$fixtures")"
CERT_ARN="$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["certificate_arn"])' "$fixtures")"
echo "    hosted zone $ZONE_ID, imported certificate $CERT_ARN"

# -------------------------------------------------------------- terraform ---

# A copy of infra/ (without .terraform or state): init, the state file and
# meetctl's own terraform runs (ingress terraform) all happen in there.
INFRA="$WORK/infra"
mkdir -p "$INFRA"
tar -C "$ROOT/infra" --exclude=.terraform --exclude='*.tfstate' --exclude='*.tfstate.*' -cf - . | tar -C "$INFRA" -xf -

# hosted_zone_id is not passed to Terraform: with create_certificate = false
# infra/ only echoes it as an output, and its validation (^Z...) rejects
# moto's zone ids, which do not start with Z. meetctl gets it directly.
# The control plane's zip: the function binary as `bootstrap` (the emulator
# stores it and never runs it; scripts/build-lambda.sh makes the release zip).
CONTROL_BIN="$(dirname "$MEETCTL_BIN")/meetctl-control"
CONTROL_ZIP="$WORK/meetctl-control.zip"
if [ -x "$CONTROL_BIN" ]; then
  "$PY" - "$CONTROL_BIN" "$CONTROL_ZIP" <<'PY'
import sys, zipfile
info = zipfile.ZipInfo("bootstrap", date_time=(2020, 1, 1, 0, 0, 0))
info.external_attr = 0o100755 << 16
with open(sys.argv[1], "rb") as f, zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr(info, f.read())
PY
else
  echo "tf-e2e: $CONTROL_BIN not found (build it with: cargo build --bin meetctl-control)" >&2
  exit 2
fi

TF_VARS=(
  "aws_endpoint_url=$ENDPOINT"
  "domain_name=$DOMAIN"
  "certificate_arn=$CERT_ARN"
  "control_plane_enabled=true"
  "control_plane_zip=$CONTROL_ZIP"
)
TF_VAR_ARGS=()
for v in "${TF_VARS[@]}"; do TF_VAR_ARGS+=(-var "$v"); done

log "terraform init + apply (state in $INFRA)"
if ! timed "terraform init" "$LOGS/terraform-init.log" \
  tf init -input=false -no-color -lockfile=readonly; then
  not_ok "terraform init (offline mirror, committed lock file)"
  summary
  exit 1
fi
if ! timed "terraform apply" "$LOGS/terraform-apply.log" \
  tf apply -auto-approve -input=false -no-color "${TF_VAR_ARGS[@]}"; then
  not_ok "terraform apply of infra/ into the local AWS"
  summary
  exit 1
fi
ok "terraform apply of infra/ into the local AWS"
tf output -json >"$WORK/outputs.json"
SG_ID="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["security_group_id"]["value"])' "$WORK/outputs.json")"

log "checks: what terraform built"
assert_py base --outputs "$WORK/outputs.json"

# control_plane_field FIELD: the function's runtime/handler/architecture, or
# the schedule's state/expression/target, as the emulator has them.
control_plane_field() {
  "$PY" - "$ENDPOINT" "$REGION" "$PROJECT-control" "$1" <<'PY'
import sys, boto3
endpoint, region, name, field = sys.argv[1:]
kw = dict(endpoint_url=endpoint, region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing")
if field.startswith("schedule."):
    s = boto3.client("scheduler", **kw).get_schedule(Name=name)
    print({"schedule.state": s["State"], "schedule.expression": s["ScheduleExpression"],
           "schedule.target": s["Target"]["Arn"].rsplit(":", 1)[-1]}[field])
else:
    c = boto3.client("lambda", **kw).get_function(FunctionName=name)["Configuration"]
    print({"runtime": c["Runtime"], "handler": c["Handler"], "arch": ",".join(c["Architectures"]),
           "project": c["Environment"]["Variables"]["MEETCTL_PROJECT"]}[field])
PY
}
field_is() { [ "$(control_plane_field "$1" 2>/dev/null)" = "$2" ]; }
function_deployed() {
  field_is runtime provided.al2023 && field_is handler bootstrap && field_is arch x86_64 && field_is project "$PROJECT"
}
schedule_created_disabled() {
  field_is schedule.state DISABLED && field_is schedule.expression "rate(5 minutes)" && field_is schedule.target "$PROJECT-control"
}
check "control plane: function $PROJECT-control runs bootstrap on provided.al2023 x86_64 for $PROJECT" function_deployed
check "control plane: the schedule (rate 5 minutes) invokes the function and is created DISABLED" schedule_created_disabled

# infra/ adopts the VPC's default security group (to strip its rules) and the
# provider's default_tags put Project on it too: meetctl must pick the group
# named <project>-task among the tagged ones.
check "meetctl finds the task security group by tag (up --dry-run)" \
  timed "meetctl up --dry-run (SG by tag)" "$LOGS/meetctl-dry-run-sg-by-tag.log" meetctl up --dry-run

# meetctl.toml from terraform's outputs: the ids nobody should copy by hand.
imported_config_matches() {
  meetctl config import-terraform "$INFRA" >"$WORK/imported.toml" &&
    grep -qx "security_group_id = \"$SG_ID\"" "$WORK/imported.toml" &&
    grep -q "^subnet_ids = \[" "$WORK/imported.toml" &&
    grep -qx "cluster = \"$PROJECT-cluster\"" "$WORK/imported.toml" &&
    grep -qx "service = \"$PROJECT-service\"" "$WORK/imported.toml"
}
check "meetctl config import-terraform writes the outputs as meetctl.toml" imported_config_matches

# stdout_to FILE CMD...: CMD with its stdout also kept in FILE.
stdout_to() {
  local file="$1"
  shift
  "$@" | tee "$file"
  return "${PIPESTATUS[0]}"
}

nlb_in_state() { [[ "$(tf state list 2>/dev/null)" == *"module.jvb_nlb["* ]]; }
nlb_not_in_state() { ! nlb_in_state; }

# meetctl_round INGRESS MANAGED_BY ARGS...: meetctl up -> checks -> status ->
# down -> checks, with ARGS before each command. MANAGED_BY is the NLB's
# expected ManagedBy tag. A failed `up` skips the checks of a running
# platform and status; `down` and its checks always run.
meetctl_round() {
  local ingress="$1" managed_by="$2"
  shift 2
  log "meetctl (ingress $ingress): up"
  if timed "meetctl up ($ingress)" "$LOGS/meetctl-up-$ingress.log" meetctl "$@" up; then
    ok "meetctl up (ingress $ingress) exits 0"
    if [ "$ingress" = terraform ]; then
      check "module.jvb_nlb is in this run's terraform state" nlb_in_state
      tf output -json >"$WORK/outputs-nlb.json"
      assert_py up --managed-by "$managed_by" --outputs "$WORK/outputs-nlb.json"
    else
      assert_py up --managed-by "$managed_by"
    fi
    check "control plane: up enabled the schedule (ingress $ingress)" field_is schedule.state ENABLED

    log "meetctl (ingress $ingress): status"
    local status_log="$LOGS/meetctl-status-$ingress.log"
    if timed "meetctl status ($ingress)" "$status_log" stdout_to "$status_log.stdout" meetctl "$@" status; then
      local verdict
      verdict="$(awk 'NR == 1 { print $1 }' "$status_log.stdout")"
      check "meetctl status (ingress $ingress) exits 0 and its first word is ACTIVE (got: ${verdict:-nothing})" \
        test "$verdict" = ACTIVE
    else
      not_ok "meetctl status (ingress $ingress) exits 0"
    fi
  else
    not_ok "meetctl up (ingress $ingress) exits 0"
    echo "    (up failed: skipping the checks of a running platform and status; down runs anyway)"
  fi

  log "meetctl (ingress $ingress): down"
  check "meetctl down (ingress $ingress) exits 0" \
    timed "meetctl down ($ingress)" "$LOGS/meetctl-down-$ingress.log" meetctl "$@" down
  if [ "$ingress" = terraform ]; then
    check "module.jvb_nlb is gone from the terraform state" nlb_not_in_state
  fi
  check "control plane: down disabled the schedule (ingress $ingress)" field_is schedule.state DISABLED
  assert_py down
}

# ------------------------------------------------------- meetctl: nlb ---

meetctl_round nlb meetctl --config "$WORK/imported.toml"

# -------------------------------------------------- meetctl: terraform ---

if [ "$TERRAFORM_INGRESS" = 1 ]; then
  # meetctl runs, in terraform_dir (the copy, so it shares this run's state):
  #   terraform apply -auto-approve -input=false -target=module.jvb_nlb
  #     -var nlb_enabled=true -var nlb_eip_allocation_id=<its EIP> -var <terraform_vars>...
  # then reads `terraform output -json` (nlb_arn, nlb_dns_name, nlb_zone_id,
  # nlb_jvb_target_group_arn, nlb_web_target_group_arn); `down` applies
  # nlb_enabled=false once the service is at 0. TF_CLI_CONFIG_FILE and the
  # credentials reach terraform through the inherited environment.
  {
    echo "# tf-e2e: variables meetctl passes to terraform (ingress terraform)"
    echo "terraform_vars = ["
    # The control plane needs meetctl's own NLB (a validation of infra/
    # refuses it with nlb_enabled = true); this round leaves it in the state
    # untouched (-target) and switches its schedule all the same.
    for v in "${TF_VARS[@]}"; do
      [ "$v" = "control_plane_enabled=true" ] && v="control_plane_enabled=false"
      echo "  \"$v\","
    done
    echo "]"
  } >"$WORK/meetctl-terraform.toml"
  meetctl_round terraform terraform \
    --config "$WORK/meetctl-terraform.toml" --set ingress=terraform --set "terraform_dir=$INFRA"
else
  echo
  echo "    (ingress terraform round skipped: TF_E2E_TERRAFORM_INGRESS=$TERRAFORM_INGRESS)"
fi

# ------------------------------------------------------------ front door ---

# Wake on visit (infra/modules/front-door): apply it, check what it built and
# that meetctl finds it, `down` points the domain at it; then disable it and
# `down` deletes the alias that would dangle.
front_door_field() {
  "$PY" - "$ENDPOINT" "$REGION" "$PROJECT" "$DOMAIN" "$1" <<'PY'
import json, sys, boto3
endpoint, region, project, domain, field = sys.argv[1:]
kw = dict(endpoint_url=endpoint, region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing")
gw = boto3.client("apigatewayv2", **kw)
ssm = boto3.client("ssm", **kw)
if field == "parameter":
    try:
        print(ssm.get_parameter(Name=f"/{project}/meetctl/front-door")["Parameter"]["Value"])
    except ssm.exceptions.ParameterNotFound:
        print("absent")
elif field == "api":
    apis = [a for a in gw.get_apis()["Items"] if a["Name"] == f"{project}-front-door"]
    if not apis:
        print("absent")
    else:
        a = apis[0]
        stages = gw.get_stages(ApiId=a["ApiId"])["Items"]
        routes = gw.get_routes(ApiId=a["ApiId"])["Items"]
        integ = gw.get_integrations(ApiId=a["ApiId"])["Items"]
        s = stages[0] if stages else {}
        r = s.get("DefaultRouteSettings", {})
        print(json.dumps({
            "protocol": a["ProtocolType"], "routes": [x["RouteKey"] for x in routes],
            "integration": [(i["IntegrationType"], i.get("PayloadFormatVersion")) for i in integ],
            "stage": s.get("StageName"), "auto_deploy": s.get("AutoDeploy"),
            "rate": r.get("ThrottlingRateLimit"), "burst": r.get("ThrottlingBurstLimit"),
        }, sort_keys=True))
elif field == "domain":
    try:
        d = gw.get_domain_name(DomainName=domain)
        maps = gw.get_api_mappings(DomainName=domain)["Items"]
        c = d["DomainNameConfigurations"][0]
        print(json.dumps({"target": c.get("ApiGatewayDomainName"), "zone": c.get("HostedZoneId"),
                          "endpoint": c.get("EndpointType"), "cert": c.get("CertificateArn"),
                          "mappings": len(maps)}, sort_keys=True))
    except gw.exceptions.NotFoundException:
        print("absent")
elif field == "function":
    lam = boto3.client("lambda", **kw)
    try:
        c = lam.get_function(FunctionName=f"{project}-front-door")["Configuration"]
        print(f'{c["Runtime"]} {c["Handler"]} {c["Timeout"]}')
    except lam.exceptions.ResourceNotFoundException:
        print("absent")
PY
}
dns_alias_target() {
  "$PY" - "$ENDPOINT" "$REGION" "$ZONE_ID" "$DOMAIN" <<'PY'
import sys, boto3
endpoint, region, zone, domain = sys.argv[1:]
r53 = boto3.client("route53", endpoint_url=endpoint, region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing")
sets = r53.list_resource_record_sets(HostedZoneId=zone, StartRecordName=domain + ".", StartRecordType="A", MaxItems="1")["ResourceRecordSets"]
a = [s for s in sets if s["Name"] == domain + "." and s["Type"] == "A"]
print(a[0]["AliasTarget"]["DNSName"].rstrip(".") if a and "AliasTarget" in a[0] else "none")
PY
}
log "front door: terraform apply -var front_door_enabled=true"
meetctl iam-policy >"$WORK/front-door-policy.json"
FD_VARS=("${TF_VAR_ARGS[@]}" -var front_door_enabled=true -var "front_door_policy_file=$WORK/front-door-policy.json")
if timed "terraform apply (front door)" "$LOGS/terraform-apply-front-door.log" \
  tf apply -auto-approve -input=false -no-color "${FD_VARS[@]}"; then
  ok "terraform apply of the front door into the local AWS"
  FD_TARGET="$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["target_domain_name"])' "$(front_door_field parameter)" 2>/dev/null || echo "")"
  echo "    front door target: ${FD_TARGET:-none}"
  check "front door: the SSM parameter names the custom domain's regional target" \
    bash -c "[[ '$FD_TARGET' == d-*.execute-api.$REGION.amazonaws.com ]]"
  api_ok() {
    [ "$(front_door_field api)" = '{"auto_deploy": true, "burst": 20, "integration": [["AWS_PROXY", "2.0"]], "protocol": "HTTP", "rate": 5.0, "routes": ["$default"], "stage": "$default"}' ]
  }
  check "front door: HTTP API, \$default route to the function (payload 2.0), auto-deployed \$default stage throttled (5 rps, burst 20)" api_ok
  domain_ok() {
    local d
    d="$(front_door_field domain)"
    [[ "$d" == *"\"cert\": \"$CERT_ARN\""* && "$d" == *'"endpoint": "REGIONAL"'* && "$d" == *'"mappings": 1'* && "$d" == *"\"target\": \"$FD_TARGET\""* ]]
  }
  check "front door: custom domain $DOMAIN (regional, the same certificate) mapped to the API" domain_ok
  check "front door: function $PROJECT-front-door (provided.al2023, bootstrap, 900 s)" \
    test "$(front_door_field function)" = "provided.al2023 bootstrap 900"
  state_has_no_passcode() { ! tf show -no-color 2>/dev/null | grep -qi "pbkdf2\|passcode"; }
  check "front door: the terraform state holds no passcode or hash" state_has_no_passcode
  check "front door: meetctl down (idle) exits 0" \
    timed "meetctl down (front door)" "$LOGS/meetctl-down-front-door.log" meetctl down
  check "front door: down pointed $DOMAIN at the front door" test "$(dns_alias_target)" = "$FD_TARGET"
  status_shows_front_door() {
    meetctl status >"$LOGS/meetctl-status-front-door.log" 2>&1 &&
      grep -q "front door     deployed ($FD_TARGET); the domain points at it" "$LOGS/meetctl-status-front-door.log"
  }
  check "front door: meetctl status shows it deployed and the domain pointing at it" status_shows_front_door
else
  not_ok "terraform apply of the front door into the local AWS"
fi
log "front door: disabled (terraform apply -var front_door_enabled=false)"
check "front door: terraform apply with front_door_enabled=false exits 0" \
  timed "terraform apply (front door off)" "$LOGS/terraform-apply-front-door-off.log" \
  tf apply -auto-approve -input=false -no-color "${TF_VAR_ARGS[@]}"
check "front door: disabling removes its parameter" test "$(front_door_field parameter)" = absent
check "front door: disabling removes the API" test "$(front_door_field api)" = absent
check "front door: disabling removes the custom domain" test "$(front_door_field domain)" = absent
check "front door: meetctl down after disabling exits 0" \
  timed "meetctl down (front door gone)" "$LOGS/meetctl-down-front-door-gone.log" meetctl down
check "front door: down deleted the alias that would dangle" test "$(dns_alias_target)" = none

# ---------------------------------------------------------------- destroy ---

log "terraform destroy"
check "terraform destroy exits 0" \
  timed "terraform destroy" "$LOGS/terraform-destroy.log" \
  tf destroy -auto-approve -input=false -no-color "${TF_VAR_ARGS[@]}"
state_empty() { [ -z "$(tf state list 2>/dev/null)" ]; }
check "terraform state is empty" state_empty
assert_py destroyed

summary
[ "$FAILED" -eq 0 ]
