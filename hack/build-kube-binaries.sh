#!/usr/bin/env bash
# Builds the real Kubernetes control-plane binaries the end-to-end tests and the
# local stack run: kube-apiserver, kube-controller-manager (for its ClusterRole
# aggregation controller) and, when the machine has none, kubectl.
#
# k8s.io/kubernetes is never a dependency of our module, so it is built in a
# scratch module of its own from the Go module proxy, each ./staging module
# replaced by its published v0.x twin. Binaries are cached in _output/bin and
# rebuilt only when KUBE_VERSION changes.
set -o errexit
set -o nounset
set -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
KUBE_VERSION="${KUBE_VERSION:-v1.36.3}"
STAGING_VERSION="v0.${KUBE_VERSION#v1.}"
OUT="${ROOT}/_output/bin"

targets=(kube-apiserver kube-controller-manager)
if ! command -v kubectl >/dev/null 2>&1; then
  targets+=(kubectl)
fi

# The binaries report KUBE_VERSION (kubectl version, helm's kubeVersion
# check), as release builds do; the stamp in .version says they were built so.
STAMP="${KUBE_VERSION} versioned"
minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
LDFLAGS="-X k8s.io/component-base/version.gitVersion=${KUBE_VERSION} -X k8s.io/component-base/version.gitMajor=1"
LDFLAGS+=" -X k8s.io/component-base/version.gitMinor=${minor} -X k8s.io/component-base/version.gitTreeState=clean"

missing=()
for t in "${targets[@]}"; do
  if [[ ! -x "${OUT}/${t}" || "$(cat "${OUT}/${t}.version" 2>/dev/null)" != "${STAMP}" ]]; then
    missing+=("${t}")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "Kubernetes ${KUBE_VERSION} binaries are cached in ${OUT}: ${targets[*]}"
  exit 0
fi

WORK="${ROOT}/_output/kube-build"
mkdir -p "${WORK}" "${OUT}"
cd "${WORK}"

gomod="$(go mod download -json "k8s.io/kubernetes@${KUBE_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
{
  echo "module portager.local/kube-build"
  echo
  echo "go $(go env GOVERSION | sed 's/^go//; s/^\([0-9]*\.[0-9]*\).*/\1/').0"
  echo
  echo "require k8s.io/kubernetes ${KUBE_VERSION}"
  echo
  # Every "k8s.io/x => ./staging/src/k8s.io/x" line of kubernetes' go.mod.
  sed -n 's|^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*|replace \1 => \1 '"${STAGING_VERSION}"'|p' "${gomod}"
} > go.mod
{
  echo "//go:build tools"
  echo
  echo "package tools"
  echo
  echo "import ("
  echo "	_ \"k8s.io/kubernetes/cmd/kube-apiserver\""
  echo "	_ \"k8s.io/kubernetes/cmd/kube-controller-manager\""
  echo "	_ \"k8s.io/kubernetes/cmd/kubectl\""
  echo ")"
} > tools.go
go mod tidy >/dev/null

for t in "${missing[@]}"; do
  echo "Building ${t} ${KUBE_VERSION} (minutes on a cold cache)..."
  CGO_ENABLED=0 go build -trimpath -ldflags "${LDFLAGS}" -o "${OUT}/${t}" "k8s.io/kubernetes/cmd/${t}"
  echo "${STAMP}" > "${OUT}/${t}.version"
done
echo "Built ${missing[*]} into ${OUT}"
