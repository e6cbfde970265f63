#!/usr/bin/env bash
# The quickstart's release story on Azure, with no account: the Azure emulator
# (tests/azure-emulator) stands in for Container Apps and Front Door on
# loopback. Release 1.2.0, then 1.3.0 under load through the Front Door edge,
# then a faulty 1.3.1 that the post-switch watch rolls back by itself.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
cd "$here"

bin="$root/target/debug"
tf="$(command -v terraform || true)"
[ -n "$tf" ] || tf="$root/.tools/bin/terraform"
export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
say()  { printf '\n==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
out()  { "$tf" output -raw "$1" 2>/dev/null; }
json() { python3 -c "import json,sys; d=json.load(open('$1')); print(eval(sys.argv[1]))" "$2"; }

# The emulator, on real time (Azure Monitor's timespans are wall-clock) with
# its Azure-sized delays shortened: writes 0.2 s, edge locations 0.5 s and
# 1.5 s, metrics 2 s behind the traffic. 1.3.1 of the demo app is a bad build.
rm -rf .emulator && mkdir -p .emulator
AGOG_FAULTY_VERSION=1.3.1 AGOG_ERROR_RATE=0.05 "$bin/bluegreen-azure-emulator" \
  --state-dir .emulator --seed \
  --app-command "$bin/agog-demo-app --port {port} --version {version} --color {color}" \
  > .emulator/info.json 2> .emulator/emulator.log &
emulator_pid=$!
trap 'kill -INT $emulator_pid 2>/dev/null; wait $emulator_pid 2>/dev/null' EXIT
for _ in $(seq 100); do [ -s .emulator/info.json ] && break; sleep 0.1; done
[ -s .emulator/info.json ] || { cat .emulator/emulator.log; exit 1; }
info=.emulator/info.json
admin="$(json $info 'd["admin_url"]')"
curl -sf -X PATCH -H 'content-type: application/json' "$admin/admin/settings" \
  -d '{"lro_ms":200,"edge_propagation_ms":[500,1500],"metrics_ingestion_delay_ms":2000}' > /dev/null
edge="$(curl -sf "$admin/admin/addresses" | python3 -c 'import json,sys; print(json.load(sys.stdin)["edge"][0]["url"])')"
hosts="$(json $info 'd.get("hosts_file") or ""')"
[ -n "$hosts" ] && export BLUEGREEN_AZURE_HOST_MAP="$hosts"

# Credentials and cloud the way a pipeline gives them to azurerm: ARM_* variables.
export ARM_SUBSCRIPTION_ID="$(json $info 'd["subscription_id"]')"
export ARM_TENANT_ID="$(json $info 'd["tenant_id"]')"
export ARM_CLIENT_ID="$(json $info 'd["client_id"]')"
export ARM_CLIENT_SECRET="$(json $info 'd["client_secret"]')"
export ARM_ENVIRONMENT=custom
export ARM_RESOURCE_MANAGER_ENDPOINT="$(json $info 'd["base_url"]')"
export ARM_AUTHORITY_HOST="$ARM_RESOURCE_MANAGER_ENDPOINT"
for key in container_app_id front_door_route_id blue_origin_group_id green_origin_group_id; do
  export "TF_VAR_$key=$(json $info "d['seeded']['$key']")"
done
export TF_VAR_ca_certificate_file="$(json $info 'd["ca_file"]')"

# The provider as built in this repository, without installing it.
cat > .terraformrc <<RC
provider_installation {
  dev_overrides { "agog/bluegreen" = "$bin" }
  direct {}
}
RC
export TF_CLI_CONFIG_FILE="$here/.terraformrc"
rm -f terraform.tfstate terraform.tfstate.backup

start_load() { "$bin/bluegreen-load" "$edge/api/version" --concurrency 4 --seconds 300 --json > "$1" & load_pid=$!; sleep 1; }
stop_load()  { kill -INT "$load_pid" 2>/dev/null; wait "$load_pid" 2>/dev/null; }
describe_load() {
  python3 - "$1" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
versions = ", ".join(f"{n:,} from {v}" for v, n in s["versions"].items())
print(f"    Load: {s['sent']:,} requests through the Front Door edge in {s['seconds']:.1f}s, "
      f"{s['failed']} failed; answers: {versions}.")
PY
}
apply() { "$tf" apply -auto-approve -input=false -no-color -var "release=$1" > "$2" 2>&1; }

say "Terraform: $("$tf" version | head -n1); Azure emulator at $ARM_RESOURCE_MANAGER_ENDPOINT"

say "Releasing 1.2.0 (first release: it lands on the blue label)"
apply 1.2.0 apply-1.2.0.log || { cat apply-1.2.0.log; exit 1; }
info "$(out live_version) is live on $(out live_color); Front Door's route points at the blue origin group"

say "Releasing 1.3.0 while traffic flows through the edge"
start_load load-1.3.0.json
apply 1.3.0 apply-1.3.0.log; rc=$?
stop_load
[ $rc -eq 0 ] || { cat apply-1.3.0.log; exit 1; }
info "One PATCH of the app's template deployed 1.3.0 to the green label, the gate probed it,"
info "one PATCH of the route switched, every edge location was probed until it served 1.3.0:"
info "$(out live_version) is live on $(out live_color); $(out previous_version) stays on the other label."
describe_load load-1.3.0.json

say "Releasing 1.3.1, a bad build that answers 5% of requests with HTTP 500"
start_load load-1.3.1.json
apply 1.3.1 apply-1.3.1.log; rc=$?
stop_load
if [ $rc -eq 0 ]; then info "UNEXPECTED: Terraform accepted 1.3.1"; cat apply-1.3.1.log; exit 1; fi
info "Terraform rolled back by itself, from Azure Monitor's figures:"
reason="$(sed -n '/post-switch watch:/,/^$/p' apply-1.3.1.log | tr '\n' ' ' | sed 's/  */ /g')"
info "  ${reason:-see apply-1.3.1.log}"
"$tf" apply -refresh-only -auto-approve -input=false -no-color -var release=1.3.0 > /dev/null 2>&1
info "Live now: $(out live_version) on $(out live_color). The next terraform plan proposes 1.3.1 again."
describe_load load-1.3.1.json

say "Done (the emulator stops with this script)"
