#!/usr/bin/env bash
# Builds the Go reference provider for bench-plan from Debian's Go packages
# (no Go module downloads): prints the binary's path.
#   apt-get install golang-go protobuf-compiler protoc-gen-go protoc-gen-go-grpc \
#     golang-github-hashicorp-go-plugin-dev golang-google-grpc-dev \
#     golang-github-zclconf-go-cty-dev golang-google-protobuf-dev \
#     golang-github-golang-protobuf-1-5-dev
# (the 1.5 line of golang/protobuf: grpc-go 1.33's codec needs it to marshal the
# generated APIv2 messages; with 1.3 the provider panics on its first call).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="${1:-$repo/target/go-reference-provider}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src/bgtestgo/tfplugin6" "$work/src/bgtestgo/provider"
protoc -I "$repo/schemas" \
  --go_out="$work/src/bgtestgo/tfplugin6" --go_opt=paths=source_relative,Mtfplugin6.proto=bgtestgo/tfplugin6 \
  --go-grpc_out="$work/src/bgtestgo/tfplugin6" --go-grpc_opt=paths=source_relative,Mtfplugin6.proto=bgtestgo/tfplugin6 \
  "$repo/schemas/tfplugin6.proto"
cp "$here/main.go" "$work/src/bgtestgo/provider/"
mkdir -p "$out"
(cd "$work/src/bgtestgo/provider" && GO111MODULE=off GOPATH="$work:/usr/share/gocode" GOFLAGS= \
  go build -o "$out/terraform-provider-bgtest" .)
echo "$out/terraform-provider-bgtest"
