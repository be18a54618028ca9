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
"$engine" build --network host -f "$root/docker/Dockerfile" --build-arg "APP=$app" --target "$app" -t "tally-$app" "$root"
"$engine" image ls "tally-$app"
