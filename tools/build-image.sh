#!/usr/bin/env bash
# Builds the image of the app in the current directory (an Nx project under apps/) as tally-<app>,
# with docker when its engine answers, else podman.
set -euo pipefail
app=$(basename "$PWD")
root=$(cd ../.. && pwd)
if docker info >/dev/null 2>&1; then engine=docker; elif command -v podman >/dev/null; then engine=podman; else
  echo "build-image: neither a Docker engine nor podman is available" >&2
  exit 1
fi
secret=()
# A proxy's CA (see docker/Dockerfile): handed to npm ci inside the build as a secret.
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then secret=(--secret "id=ca,src=$NODE_EXTRA_CA_CERTS"); fi
format=(); [ "$engine" = podman ] && format=(--format docker) # keeps HEALTHCHECK
"$engine" build --network host "${format[@]}" "${secret[@]}" -f "$root/docker/Dockerfile" --build-arg "APP=$app" --target "$app" -t "tally-$app" "$root"
"$engine" image ls "tally-$app"
