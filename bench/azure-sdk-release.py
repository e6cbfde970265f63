"""The release steps of bluegreen_environment on Azure, written with Microsoft's
Python SDK: what a pipeline script doing the same blue-green release would send.
bench-azure (bench/src/bin/bench-azure.rs) runs it against the Azure emulator
beside the provider and counts its ARM requests from the emulator's journal.

Steps, with the provider's cadences (so that request counts compare like for like):
  1. read the route (which colour is live), the app and the Front Door endpoint;
  2. PATCH the app: the new image, a revisionSuffix derived from the version,
     both labels (the live one at 100, the idle one on the new revision at 0);
     the SDK polls the operation (at least every 1 s, or as Retry-After asks);
  3. poll the new revision every 2 s until Provisioned, Running and Healthy;
  4. health-check the idle label's own host until 2 consecutive 200s, 2 s apart;
  5. PATCH the route's origin group to the idle colour's (SDK polls the operation);
  6. ask every edge location every 2 s until each answered the new version 3
     times in a row.

Prints one JSON line: wall seconds of the steps, seconds slept in them (the SDK's
LRO waits and ours, counted by wrapping time.sleep), and the rest.

Usage: python azure-sdk-release.py EMULATOR_INFO_JSON VERSION
(REQUESTS_CA_BUNDLE must name the emulator's CA file; hosts_file in the info
maps Azure host names to the emulator's loopback listeners.)
"""

import json
import sys
import time
import urllib.request

STARTED = time.monotonic()

from azure.identity import ClientSecretCredential  # noqa: E402
from azure.mgmt.appcontainers import ContainerAppsAPIClient  # noqa: E402
from azure.mgmt.appcontainers import models as app_models  # noqa: E402
from azure.mgmt.cdn import CdnManagementClient  # noqa: E402
from azure.mgmt.cdn import models as cdn_models  # noqa: E402

APP_API = "2025-07-01"
CDN_API = "2025-06-01"
POLL_S = 2.0  # the provider's poll interval on Azure
LRO_POLL_S = 1.0  # the provider's shortest LRO poll interval
HEALTHY_THRESHOLD = 2
STREAK = 3
DEADLINE_S = 300.0

SLEPT = [0.0]
_real_sleep = time.sleep


def counted_sleep(seconds):
    """time.sleep, adding up what it slept (azure-core's pollers call time.sleep)."""
    start = time.monotonic()
    _real_sleep(seconds)
    SLEPT[0] += time.monotonic() - start


time.sleep = counted_sleep


def get(url, host=None, timeout=5):
    req = urllib.request.Request(url)
    if host:
        req.add_header("Host", host)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, b""
    except OSError:
        return None, b""


def until(what, check):
    """Calls check() every POLL_S until it returns true, within DEADLINE_S."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > DEADLINE_S:
            sys.exit(f"azure-sdk-release: timed out waiting for {what}")
        time.sleep(POLL_S)


def main():
    info_path, version = sys.argv[1], sys.argv[2]
    with open(info_path, encoding="utf-8") as f:
        info = json.load(f)
    with open(info["hosts_file"], encoding="utf-8") as f:
        hosts = json.load(f)
    seeded = info["seeded"]
    rg = seeded["resource_group"]
    app_name = seeded["container_app_id"].rstrip("/").split("/")[-1]
    route_parts = seeded["front_door_route_id"].rstrip("/").split("/")
    profile, endpoint, route_name = route_parts[-5], route_parts[-3], route_parts[-1]
    og = {"blue": seeded["blue_origin_group_id"], "green": seeded["green_origin_group_id"]}

    steps_started = time.monotonic()
    credential = ClientSecretCredential(
        info["tenant_id"], info["client_id"], info["client_secret"],
        authority=info["base_url"], disable_instance_discovery=True,
    )
    common = {"base_url": info["base_url"], "credential_scopes": [info["arm_scope"]]}
    apps = ContainerAppsAPIClient(credential, info["subscription_id"], api_version=APP_API, **common)
    cdn = CdnManagementClient(credential, info["subscription_id"], api_version=CDN_API, **common)

    # 1. What is live, the app, the endpoint's host name.
    route = cdn.routes.get(rg, profile, endpoint, route_name)
    live = "green" if route.origin_group.id.lower() == og["green"].lower() else "blue"
    idle = "green" if live == "blue" else "blue"
    app = apps.container_apps.get(rg, app_name)
    edge_host = cdn.afd_endpoints.get(rg, profile, endpoint).host_name
    live_revision = next(
        t.revision_name for t in app.configuration.ingress.traffic if t.label == live
    )

    # 2. Deploy to the idle label.
    suffix = f"sdk-{version.replace('.', '-')}-{idle}"
    revision = f"{app_name}--{suffix}"
    app.template.revision_suffix = suffix
    app.template.containers[0].image = f"agog/orders:{version}"
    app.configuration.ingress.traffic = [
        app_models.TrafficWeight(revision_name=live_revision, weight=100, label=live),
        app_models.TrafficWeight(revision_name=revision, weight=0, label=idle),
    ]
    apps.container_apps.begin_update(rg, app_name, app, polling_interval=LRO_POLL_S).result()

    # 3. The revision ready.
    def ready():
        r = apps.container_apps_revisions.get_revision(rg, app_name, revision)
        return (
            r.provisioning_state == "Provisioned"
            and r.running_state in ("Running", "RunningAtMaxScale")
            and r.health_state == "Healthy"
        )

    until(f"revision {revision}", ready)

    # 4. Health gate on the label's own host.
    domain = app.configuration.ingress.fqdn.split(".", 1)[1]
    label_host = f"{app_name}---{idle}.{domain}"
    label_url = (hosts.get(label_host) or [f"https://{label_host}"])[0]
    healthy = [0]

    def gate():
        status, _ = get(f"{label_url}/api/health")
        healthy[0] = healthy[0] + 1 if status == 200 else 0
        return healthy[0] >= HEALTHY_THRESHOLD

    until(f"the health of {label_host}", gate)

    # 5. The switch.
    cdn.routes.begin_update(
        rg, profile, endpoint, route_name,
        cdn_models.RouteUpdateParameters(origin_group=cdn_models.ResourceReference(id=og[idle])),
        polling_interval=LRO_POLL_S,
    ).result()

    # 6. Every edge location serving the new version, STREAK times in a row.
    locations = hosts.get(edge_host) or [f"https://{edge_host}"]
    streaks = [0] * len(locations)

    def served():
        for i, base in enumerate(locations):
            status, body = get(f"{base}/api/version", host=edge_host)
            try:
                answered = status == 200 and json.loads(body).get("version") == version
            except ValueError:
                answered = False
            streaks[i] = streaks[i] + 1 if answered else 0
        return all(s >= STREAK for s in streaks)

    until(f"the edge serving {version}", served)

    steps = time.monotonic() - steps_started
    print(json.dumps({
        "version": version,
        "from": live,
        "to": idle,
        "steps_s": steps,
        "slept_s": SLEPT[0],
        "own_s": steps - SLEPT[0],
        "imports_s": steps_started - STARTED,
    }))


if __name__ == "__main__":
    main()
