#!/usr/bin/env bash
# Fails when the generated code in pkg/ differs from what hack/update-codegen.sh
# produces: regenerate into a copy of the tree and diff.
set -o errexit
set -o nounset
set -o pipefail

SCRIPT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
TMP="$(mktemp -d -t verify-codegen.XXXXXX)"
trap 'rm -rf "${TMP}"' EXIT

# Copy the module (without build output) so generation cannot touch the work tree.
tar -C "${SCRIPT_ROOT}" --exclude=./_output --exclude=./.git --exclude=./bin -cf - . | tar -C "${TMP}" -xf -
(cd "${TMP}" && ./hack/update-codegen.sh)

ret=0
# Only generated code is compared: zz_generated.* live in pkg/apis.
for d in pkg/apis pkg/generated; do
  diff -Naupr "${SCRIPT_ROOT}/${d}" "${TMP}/${d}" || ret=$?
done
diff -Naup "${SCRIPT_ROOT}/hack/api-violations.list" "${TMP}/hack/api-violations.list" || ret=$?
if [[ ${ret} -eq 0 ]]; then
  echo "Generated code is up to date."
else
  echo "Generated code is stale: run hack/update-codegen.sh" >&2
fi
exit ${ret}
