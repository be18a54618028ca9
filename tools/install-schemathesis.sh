#!/usr/bin/env bash
# Installs Schemathesis (the OpenAPI fuzzer the API's fuzz target runs) into a venv of its own, from
# PyPI, at a pinned version. Idempotent: does nothing when that version is already there.
#   TALLY_SCHEMATHESIS_VENV  where the venv goes (default: /opt/tally-tools/schemathesis, or
#                            tmp/schemathesis in the workspace when /opt is not writable)
set -euo pipefail
VERSION=4.32.5
root=$(cd "$(dirname "$0")/.." && pwd)
default=/opt/tally-tools/schemathesis
if ! mkdir -p "$default" 2>/dev/null || [ ! -w "$default" ]; then default="$root/tmp/schemathesis"; fi
venv=${TALLY_SCHEMATHESIS_VENV:-$default}

if [ -x "$venv/bin/schemathesis" ] && [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null)" = "$VERSION" ]; then
  echo "schemathesis $VERSION already in $venv"
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$VERSION"
echo "schemathesis $VERSION installed in $venv ($venv/bin/schemathesis)"
