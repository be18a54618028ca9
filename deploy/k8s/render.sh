#!/usr/bin/env bash
# Renders an overlay of deploy/k8s with kustomize (installed by tools/install-k8s-tools.sh):
#   deploy/k8s/render.sh [OVERLAY]        # default: example; prints the manifests to apply
# The example overlay builds its Secret from overlays/example/secrets.env: copy
# secrets.env.example there and fill it in first.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
overlay=${1:-example}
tools=${TALLY_K8S_TOOLS:-}
if [ -z "$tools" ]; then
  for candidate in /opt/tally-tools/k8s "$here/../../tmp/k8s-tools"; do
    if [ -x "$candidate/bin/kustomize" ]; then tools=$candidate; break; fi
  done
fi
if [ -z "$tools" ] || [ ! -x "$tools/bin/kustomize" ]; then
  echo "render: kustomize is not installed: run tools/install-k8s-tools.sh (or npm run setup)" >&2
  exit 1
fi
exec "$tools/bin/kustomize" build "$here/overlays/$overlay"
