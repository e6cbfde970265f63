#!/usr/bin/env bash
# The quickstart: release 1.2.0, then 1.3.0 under load, then a faulty 1.3.1
# that rolls back by itself. Prints what happened in a release engineer's words.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"

tf="$(command -v terraform || true)"
[ -n "$tf" ] || tf="$root/.tools/bin/terraform"
app="$root/target/release/agog-demo-app"
load="$root/target/release/bluegreen-load"
export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
# A CLI config variable naming a missing file only makes Terraform print warnings.
if [ -n "${TF_CLI_CONFIG_FILE:-}" ] && [ ! -f "$TF_CLI_CONFIG_FILE" ]; then unset TF_CLI_CONFIG_FILE; fi
front="http://127.0.0.1:8080"

say()  { printf '\n==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
out()  { "$tf" output -raw "$1" 2>/dev/null; }

# A closed loop of requests through the front door while Terraform works.
start_load() { "$load" "$front/api/version" --concurrency 8 --seconds 600 --json > "$1" & load_pid=$!; sleep 1; }
stop_load()  { kill -INT "$load_pid" 2>/dev/null; wait "$load_pid" 2>/dev/null; }
describe_load() {
  python3 - "$1" "${2:-release}" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
mode = sys.argv[2]
versions = ", ".join(f"{n:,} from {v}" for v, n in s["versions"].items())
fails = ", ".join(f"{n} {k}" for k, n in s["failures"].items()) or "none"
print(f"    Load: {s['sent']:,} requests through the front door in {s['seconds']:.1f}s, "
      f"{s['failed']} failed ({fails}).")
if mode == "release":
    print(f"    Answers: {versions}; once {s['last_version']} answered, "
          f"{s['old_after_new']} answer(s) to requests sent after that came from an older version.")
else:
    print(f"    Answers: {versions}; the last answer came from {s['last_version']}.")
PY
}

apply() { "$tf" apply -auto-approve -input=false -no-color -var "app_binary=$app" -var "app_version=$1" > "$2" 2>&1; }

say "Terraform: $("$tf" version | head -n1)"
# A rebuilt provider keeps its version but not its checksum: forget the old lock.
rm -rf .terraform.lock.hcl .terraform/providers
"$tf" init -input=false -no-color > init.log 2>&1 || { cat init.log; exit 1; }
if "$tf" state list 2>/dev/null | grep -q bluegreen_environment; then
  info "Cleaning up the previous quickstart run"
  "$tf" destroy -auto-approve -input=false -no-color -var "app_binary=$app" > destroy.log 2>&1 || { cat destroy.log; exit 1; }
fi

say "Releasing 1.2.0 (first release: it lands on blue)"
apply 1.2.0 apply-1.2.0.log || { cat apply-1.2.0.log; exit 1; }
info "$(out live_version) is live on $(out live_color) at $(out endpoint)"

say "Releasing 1.3.0 while traffic flows"
start_load load-1.3.0.json
apply 1.3.0 apply-1.3.0.log; rc=$?
stop_load
[ $rc -eq 0 ] || { cat apply-1.3.0.log; exit 1; }
info "Terraform deployed 1.3.0 to the idle colour, health-gated it, ran the smoke test,"
info "switched the front door in one step and watched it for 10s: $(out live_version) is live on $(out live_color);"
info "$(out previous_version) stays on the other colour for instant rollback."
describe_load load-1.3.0.json

say "Releasing 1.3.1, a bad build that answers 5% of requests with HTTP 500"
start_load load-1.3.1.json
apply 1.3.1 apply-1.3.1.log; rc=$?
stop_load
if [ $rc -eq 0 ]; then
  info "UNEXPECTED: Terraform accepted 1.3.1"; cat apply-1.3.1.log; exit 1
fi
reason="$(sed -n '/post-switch watch:/,/^$/p' apply-1.3.1.log | tr '\n' ' ' | sed 's/  */ /g')"
info "Terraform refused 1.3.1 and rolled back by itself:"
info "  ${reason:-see apply-1.3.1.log}"
"$tf" refresh -input=false -no-color -var "app_binary=$app" -var "app_version=1.3.0" > /dev/null 2>&1
info "Live now: $(out live_version) on $(out live_color). The next terraform plan proposes 1.3.1 again."
describe_load load-1.3.1.json rollback

say "Done"
info "Front door:  $front/api/orders"
info "Monitor:     http://127.0.0.1:7480/  (live: each release's phases, traffic and error rates,"
info "             latency, the app's health checks and the audit log; to switch from the page,"
info "             enter the admin token from $here/.bluegreen/token)"
info "On-call:     $root/target/release/bluegreen-local status --watch --state-dir $here/.bluegreen"
info "Clean up:    cd examples/quickstart && terraform destroy -var app_binary=$app"
info "Stop:        $root/target/release/bluegreen-local stop --state-dir $here/.bluegreen"
info "             (the daemon keeps running, holding port 7480, after this run and after destroy)"
