#!/usr/bin/env bash
# Installs what validates the Kubernetes manifests (deploy/k8s) offline, at pinned versions:
#   kustomize    renders them          (Go module proxy: sigs.k8s.io/kustomize/kustomize/v5)
#   kubeconform  validates them        (Go module proxy: github.com/yannh/kubeconform)
#   the Kubernetes JSON schemas        (PyPI: kubernetes-validate, in a venv of its own)
# kubeconform downloads schemas from GitHub by default; here it reads those of kubernetes-validate,
# rewritten once into the layout it resolves offline (see k8s_schemas below).
# Idempotent: does nothing when the stamp names these versions.
#   TALLY_K8S_TOOLS  where everything goes (default: /opt/tally-tools/k8s, or tmp/k8s-tools in the
#                    workspace when /opt is not writable); deploy/k8s/validate.sh looks there too.
set -euo pipefail
KUBECONFORM=v0.8.0
KUSTOMIZE=v5.8.2          # v5.8.3 needs Go 1.27
KUBERNETES_VALIDATE=1.37.0
K8S_VERSIONS="1.30.0 1.37.0"   # the oldest and newest Kubernetes the manifests are checked against
stamp_text="kubeconform=$KUBECONFORM kustomize=$KUSTOMIZE kubernetes-validate=$KUBERNETES_VALIDATE k8s=$K8S_VERSIONS"

root=$(cd "$(dirname "$0")/.." && pwd)
default=/opt/tally-tools/k8s
if ! mkdir -p "$default" 2>/dev/null || [ ! -w "$default" ]; then default="$root/tmp/k8s-tools"; fi
dir=${TALLY_K8S_TOOLS:-$default}
stamp="$dir/installed"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_text" ] && [ -x "$dir/bin/kubeconform" ] && [ -x "$dir/bin/kustomize" ]; then
  echo "kubeconform $KUBECONFORM, kustomize $KUSTOMIZE and Kubernetes schemas already in $dir"
  exit 0
fi
command -v go >/dev/null || { echo "install-k8s-tools: Go is needed (go install); see README" >&2; exit 1; }
mkdir -p "$dir/bin"
rm -f "$stamp"

# GOTOOLCHAIN=local: the versions above build with this machine's Go; never fetch another.
GOTOOLCHAIN=local GOBIN="$dir/bin" GOFLAGS=-mod=mod go install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM"
GOTOOLCHAIN=local GOBIN="$dir/bin" GOFLAGS=-mod=mod go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE"

python3 -m venv "$dir/venv"
"$dir/venv/bin/python" -m pip install --quiet --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE"

# kubernetes-validate's schemas name their definitions by URL ("$id": "https://kubernetes.io/api/...",
# "$ref": "/api/_definitions.json#/..."), which kubeconform would try to download. Each copy here
# drops the "$id" and points "$ref" at the _definitions.json beside it: kubeconform then resolves
# everything from files, under -schema-location DIR/{{ .NormalizedKubernetesVersion }}-local-strict/...
"$dir/venv/bin/python" - "$dir/schemas" $K8S_VERSIONS <<'PY'
import json, os, shutil, sys
import kubernetes_validate
source = os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema")
target, versions = sys.argv[1], sys.argv[2:]
shutil.rmtree(target, ignore_errors=True)
for version in versions:
    name = f"v{version}-local-strict"
    os.makedirs(os.path.join(target, name))
    for file in os.listdir(os.path.join(source, name)):
        if not file.endswith(".json"):
            continue
        with open(os.path.join(source, name, file)) as f:
            schema = json.loads(f.read().replace('"/api/_definitions.json#', '"_definitions.json#'))
        schema.pop("$id", None)
        with open(os.path.join(target, name, file), "w") as f:
            json.dump(schema, f)
    print(f"Kubernetes {version} schemas in {os.path.join(target, name)}")
PY

echo "$stamp_text" > "$stamp"
"$dir/bin/kubeconform" -v
"$dir/bin/kustomize" version
echo "kubeconform, kustomize and the schemas installed in $dir"
