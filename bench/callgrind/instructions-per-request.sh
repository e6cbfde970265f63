#!/bin/bash
# User-space instructions per proxied request, front door vs nginx, with callgrind.
# Instructions do not depend on what else the machine runs, unlike req/s.
#
# usage: bench/callgrind/instructions-per-request.sh [frontdoor|nginx|both]
# needs: valgrind, nginx, curl, python3, and release binaries
#        (cargo build --release -p bluegreen-local -p agog-demo-app)
#
# Each proxy runs under callgrind twice, for 2,000 and for 10,000 keep-alive
# `GET /api/version` (8 connections) to one native agog-demo-app; the difference of the
# two totals over 8,000 is the cost per request, without start-up and shutdown.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin=$repo/target/release
which=${1:-both}
work=$(mktemp -d /tmp/bluegreen-callgrind.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 600); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.2; done; echo "no answer from $1" >&2; return 1; }
stop_valgrind() {
  kill -TERM "$1"
  for _ in $(seq 600); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.5; done
  kill -KILL "$1"
}
totals() { grep -E '^totals:' "$1" | awk '{print $2}'; }

# front door N DIR: bluegreen-local under callgrind, blue = native demo app.
front_door() {
  local n=$1 dir=$2 admin front token auth
  mkdir -p "$dir"
  admin=$(free_port); front=$(free_port)
  BLUEGREEN_LOCAL_LOG=warn setsid valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" \
    "$bin/bluegreen-local" serve --state-dir "$dir/state" --listen "127.0.0.1:$admin" \
    >"$dir/log" 2>&1 </dev/null &
  local vg=$!; pids+=("$vg")
  wait_http "http://127.0.0.1:$admin/v1/health"
  token=$(cat "$dir/state/token"); auth="Authorization: Bearer $token"
  curl -sf -X PUT -H "$auth" "http://127.0.0.1:$admin/v1/environments/cg?actor=cg" \
    -d "{\"command\":[\"$bin/agog-demo-app\",\"--port\",\"{port}\",\"--version\",\"{version}\",\"--color\",\"{color}\"],\"listen\":\"127.0.0.1:$front\"}" >/dev/null
  curl -sf -X POST -H "$auth" "http://127.0.0.1:$admin/v1/environments/cg/colors/blue/deploy" \
    -d '{"version":"1.0.0","actor":"cg"}' >/dev/null
  for _ in $(seq 600); do
    curl -sf -H "$auth" "http://127.0.0.1:$admin/v1/environments/cg" >"$dir/env.json" && grep -q '"running"' "$dir/env.json" && break
    sleep 0.2
  done
  local colour
  colour=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['colors']['blue']['pid'])" "$dir/env.json")
  pids+=("$colour")
  curl -sf -X PUT -H "$auth" "http://127.0.0.1:$admin/v1/environments/cg/routing" \
    -d '{"primary":"blue","actor":"cg"}' >/dev/null
  wait_http "http://127.0.0.1:$front/api/version"
  python3 "$here/client.py" "$front" "$n" 8 >"$dir/client.out"
  stop_valgrind "$vg"
  kill -TERM "$colour" 2>/dev/null || true
  totals "$dir/cg.out"
}

# nginx N DIR: nginx (1 worker, no master) under callgrind before a native demo app.
nginx_proxy() {
  local n=$1 dir=$2 up front
  mkdir -p "$dir"/{client_body,proxy,fastcgi,uwsgi,scgi}
  up=$(free_port); front=$(free_port)
  setsid "$bin/agog-demo-app" --port "$up" --version 1.0.0 --color blue >"$dir/app.log" 2>&1 </dev/null &
  local app=$!; pids+=("$app")
  wait_http "http://127.0.0.1:$up/api/version"
  cat >"$dir/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    keepalive_requests 1000000;
    upstream app { server 127.0.0.1:$up; keepalive 256; keepalive_requests 1000000; }
    server {
        listen 127.0.0.1:$front;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$http_host;
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_set_header X-Forwarded-Proto http;
            add_header x-bluegreen-color blue;
        }
    }
}
CONF
  setsid valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" \
    "$(command -v nginx || echo /usr/sbin/nginx)" -p "$dir" -c "$dir/nginx.conf" >"$dir/log" 2>&1 </dev/null &
  local vg=$!; pids+=("$vg")
  wait_http "http://127.0.0.1:$front/api/version"
  python3 "$here/client.py" "$front" "$n" 8 >"$dir/client.out"
  stop_valgrind "$vg"
  kill -TERM "$app" 2>/dev/null || true
  totals "$dir/cg.out"
}

measure() {
  local name=$1 tag=$2 fn=$3 small large
  small=$($fn 2000 "$work/$tag-2000")
  large=$($fn 10000 "$work/$tag-10000")
  echo "$name: $small instructions for 2,000 requests, $large for 10,000 -> $(( (large - small) / 8000 )) per request"
  echo "  profiles: $work/$tag-2000/cg.out, $work/$tag-10000/cg.out (callgrind_annotate)"
}

[ "$which" = nginx ] || measure "front door" frontdoor front_door
[ "$which" = frontdoor ] || measure nginx nginx nginx_proxy
