#!/usr/bin/env bash
# Validates the deployment files against their published schemas, without a
# Docker engine or a cluster (neither exists on CI's machine):
#   deploy/compose.yaml     the Compose Specification's JSON schema, as
#                           vendored by check-jsonschema;
#   deploy/k8s/*.yaml       the Kubernetes OpenAPI schemas of one release,
#                           as bundled by kubernetes-validate, strict (an
#                           unknown field is an error, not a warning).
# KEDA's ScaledObject has no schema in that bundle: it is reported as a
# warning and left unchecked. deploy/definitions.json and deploy/alerts.yaml
# are checked by the Rust tests against what the code declares and emits.
# Both tools come from PyPI at pinned versions, in a virtual environment
# kept under target/ (built once, reused by later runs).
set -euo pipefail
cd "$(dirname "$0")/.."

CHECK_JSONSCHEMA=0.39.0
KUBERNETES_VALIDATE=1.37.0
KUBERNETES_VERSION=1.30

venv="target/deploy-check"
stamp="$venv/.pins-$CHECK_JSONSCHEMA-$KUBERNETES_VALIDATE"
if [[ ! -e "$stamp" ]]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check \
    "check-jsonschema==$CHECK_JSONSCHEMA" "kubernetes-validate==$KUBERNETES_VALIDATE"
  touch "$stamp"
fi

"$venv/bin/check-jsonschema" --builtin-schema vendor.compose-spec deploy/compose.yaml
"$venv/bin/kubernetes-validate" --strict -k "$KUBERNETES_VERSION" deploy/k8s/*.yaml
echo "deploy files valid: compose-spec, Kubernetes $KUBERNETES_VERSION (strict)"
