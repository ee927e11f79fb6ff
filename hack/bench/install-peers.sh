#!/usr/bin/env bash
# Installs what `make bench` compares against: Debian's docker-registry
# (distribution 2.8) and skopeo, and crane and regsync from the Go module
# proxy into $(go env GOPATH)/bin. Tools already present are kept.
set -o errexit -o nounset -o pipefail

CRANE_VERSION=v0.22.1
REGSYNC_VERSION=v0.11.7
gobin="$(go env GOPATH)/bin"

if ! command -v docker-registry >/dev/null || ! command -v skopeo >/dev/null; then
	SUDO=""
	[[ $(id -u) -eq 0 ]] || SUDO=sudo
	$SUDO apt-get update
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y docker-registry skopeo
fi
# Debian's package starts a registry service on :5000; the bench runs its own.
[[ -x "$gobin/crane" ]] || go install "github.com/google/go-containerregistry/cmd/crane@${CRANE_VERSION}"
[[ -x "$gobin/regsync" ]] || go install "github.com/regclient/regclient/cmd/regsync@${REGSYNC_VERSION}"
echo "peers: $(command -v docker-registry) $(command -v skopeo) $gobin/crane $gobin/regsync"
