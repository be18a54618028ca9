#!/usr/bin/env bash
# Installs the local servers that the devstack, the tests and the benchmarks run on, when there is
# no Docker engine: RabbitMQ (Debian's package, with its MQTT, consistent-hash exchange and
# management plugins, which the devstack enables on its private nodes) and the
# MongoDB-wire engine (FerretDB v2 + PostgreSQL with DocumentDB, see tools/install-documentdb.sh),
# Schemathesis for the API's fuzz test, Debian's chromium for the dashboard's browser test, and
# kustomize + kubeconform + the Kubernetes JSON schemas that validate deploy/k8s offline
# (tools/install-k8s-tools.sh; Go and python3-venv needed).
# Debian/Ubuntu; needs root or sudo. Idempotent: seconds when everything is installed.
#
#   npm run setup                                   # what `npm start` and `npm test` need
#   TALLY_VENDOR_DIR=DIR npm run setup              # build the engine from release tarballs in DIR
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=()
[ "$(id -u)" -eq 0 ] || SUDO=(sudo)

echo "::: RabbitMQ"
if [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
  echo "already installed"
else
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends rabbitmq-server >/dev/null
fi
/usr/lib/rabbitmq/bin/rabbitmqctl version 2>/dev/null || dpkg-query -W rabbitmq-server
# The partitions need the consistent-hash exchange, which Debian's package ships (the devstack enables it).
for plugin in rabbitmq_mqtt rabbitmq_consistent_hash_exchange rabbitmq_management; do
  compgen -G "/usr/lib/rabbitmq/lib/rabbitmq_server-*/plugins/$plugin-*" >/dev/null || {
    echo "RabbitMQ's $plugin plugin is missing: install a rabbitmq-server package that ships it" >&2
    exit 1
  }
done

echo "::: MongoDB-wire server"
if command -v mongod >/dev/null; then
  echo "mongod is installed: the devstack uses it"
else
  tools/install-documentdb.sh
fi

echo "::: Schemathesis (the API's fuzz test)"
tools/install-schemathesis.sh

echo "::: Chromium (the dashboard's browser test, driven by playwright-core)"
if command -v chromium >/dev/null; then
  echo "already installed"
else
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
chromium --version 2>/dev/null | sed -n 1p # not head: SIGPIPE under pipefail

echo "::: kustomize, kubeconform and the Kubernetes schemas (deploy/k8s's validation)"
tools/install-k8s-tools.sh
