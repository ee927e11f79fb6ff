#!/usr/bin/env bash
# Builds the images portager-apiserver, portager-controller and portager
# (the CLI, for CI jobs) with ko and pushes them to $KO_DOCKER_REPO/<name>.
#
#   KO_DOCKER_REPO  registry and path prefix to push to (required), e.g.
#                   ghcr.io/portager or 127.0.0.1:5000/portager
#   BASE_IMAGE      base to build on; releases use the distroless default of
#                   .ko.yaml (set BASE_IMAGE=default). Unset, the script builds
#                   a base of its own (hack/imagebase: Debian's CA certificates
#                   and a nonroot user) and pushes it to $KO_DOCKER_REPO
#                   first, so nothing needs pulling.
#   TAG             image tag (default: dev)
#   PLATFORM        ko --platform (default: linux/amd64)
#   KO              the ko binary (default: _output/bin/ko, `make ko`)
#
# It prints one line per image: name=registry/repository@digest. The same
# commit and base give the same digests: binaries are built with -trimpath
# and the commit stamped in, and ko dates every image at the epoch.
set -o errexit -o nounset -o pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

: "${KO_DOCKER_REPO:?set KO_DOCKER_REPO to the registry and path prefix to push to}"
KO=${KO:-_output/bin/ko}
TAG=${TAG:-dev}
PLATFORM=${PLATFORM:-linux/amd64}
BASE_IMAGE=${BASE_IMAGE:-}

if [[ -z "${BASE_IMAGE}" ]]; then
	BASE_IMAGE=$(go run ./hack/imagebase --image "${KO_DOCKER_REPO}/portager-base:${TAG}" --platform "${PLATFORM%%,*}")
elif [[ "${BASE_IMAGE}" == default ]]; then
	BASE_IMAGE=""
fi

for component in apiserver controller portager; do
	name=portager-${component}
	[[ ${component} == portager ]] && name=portager
	ref=$(env ${BASE_IMAGE:+KO_DEFAULTBASEIMAGE="${BASE_IMAGE}"} KO_DOCKER_REPO="${KO_DOCKER_REPO}/${name}" \
		GOFLAGS=-buildvcs=true CGO_ENABLED=0 \
		"${KO}" build --bare --sbom=none --platform="${PLATFORM}" --tags="${TAG}" "./cmd/${component}" 2>/dev/null)
	echo "${name}=${ref}"
done
