#!/usr/bin/env bash
# Installs Tally's MongoDB-wire engine for development and CI: FerretDB v2 in front of PostgreSQL 15
# with the DocumentDB extension, whose indexes serve range filters (FerretDB v1 on SQLite scans the
# whole collection for each one).
#
#   tools/install-documentdb.sh            # idempotent: seconds when everything is in place
#
# What it puts where:
#   Debian packages    postgresql-15 and the headers and libraries the build needs (apt-get)
#   $PREFIX/libbson    libbson, static, private: only the extension links it
#   PostgreSQL's dirs  pg_cron, pgvector, pg_documentdb_core, pg_documentdb (extensions must live there)
#   $PREFIX/bin        ferretdb (v2), found there by libs/devstack
#
# Environment:
#   TALLY_ENGINE_PREFIX  where private files go                  (default /opt/tally-engine)
#   TALLY_VENDOR_DIR     folder holding the release tarballs listed below; without it each source
#                        is cloned from its public repository at the same tag
#   GOFLAGS, GOPROXY     as usual for fetching the FerretDB module
#
# Needs root (or sudo) for apt-get and PostgreSQL's directories, plus gcc, make, cmake and Go 1.24+.
set -euo pipefail

PREFIX=${TALLY_ENGINE_PREFIX:-/opt/tally-engine}
VENDOR=${TALLY_VENDOR_DIR:-}
PG_MAJOR=15
PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config

LIBBSON_VERSION=1.28.0
PG_CRON_VERSION=1.6.3
PGVECTOR_VERSION=0.8.0
DOCUMENTDB_TAG=v0.106.0-ferretdb-2.5.0
FERRETDB_VERSION=v2.5.0

# name|version|tarball in TALLY_VENDOR_DIR|repository|tag
SOURCES=(
  "libbson|$LIBBSON_VERSION|mongo-c-driver-$LIBBSON_VERSION-libbson.tar.gz|https://github.com/mongodb/mongo-c-driver|$LIBBSON_VERSION"
  "pg_cron|$PG_CRON_VERSION|pg_cron-$PG_CRON_VERSION.tar.gz|https://github.com/citusdata/pg_cron|v$PG_CRON_VERSION"
  "pgvector|$PGVECTOR_VERSION|pgvector-$PGVECTOR_VERSION.tar.gz|https://github.com/pgvector/pgvector|v$PGVECTOR_VERSION"
  "documentdb|$DOCUMENTDB_TAG|documentdb-$DOCUMENTDB_TAG.tar.gz|https://github.com/FerretDB/documentdb|$DOCUMENTDB_TAG"
)

APT_PACKAGES=(
  postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR postgresql-$PG_MAJOR-rum postgresql-$PG_MAJOR-postgis-3
  libpcre2-dev libintelrdfpmath-dev libicu-dev libkrb5-dev libpq-dev build-essential pkg-config cmake git
)

started=$(date +%s)
step() { echo "::: $* (+$(($(date +%s) - started)) s)"; }
fail() { echo "install-documentdb: $*" >&2; exit 1; }
SUDO=()
[ "$(id -u)" -eq 0 ] || SUDO=(sudo)
JOBS=$(nproc)
STAMPS=$PREFIX/stamps
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# A component is installed when its stamp names the wanted version and its files are in place.
installed() { # name version file...
  local name=$1 version=$2
  shift 2
  [ "$(cat "$STAMPS/$name" 2>/dev/null)" = "$version" ] || return 1
  local file
  for file in "$@"; do [ -e "$file" ] || return 1; done
}
stamp() { "${SUDO[@]}" mkdir -p "$STAMPS" && echo "$2" | "${SUDO[@]}" tee "$STAMPS/$1" >/dev/null; }

# Unpacks a component's source into $WORK/<name> and prints that path.
source_of() { # name
  local entry name version tarball repository tag
  for entry in "${SOURCES[@]}"; do
    IFS='|' read -r name version tarball repository tag <<<"$entry"
    [ "$name" = "$1" ] || continue
    mkdir -p "$WORK/$name"
    if [ -n "$VENDOR" ]; then
      [ -f "$VENDOR/$tarball" ] || fail "$VENDOR/$tarball is missing (TALLY_VENDOR_DIR names the folder of release tarballs)"
      tar -xzf "$VENDOR/$tarball" -C "$WORK/$name" --strip-components=1
    else
      git clone --quiet --depth 1 --branch "$tag" "$repository" "$WORK/$name" >&2
    fi
    echo "$WORK/$name"
    return
  done
  fail "unknown component $1"
}

step "Debian packages"
missing=()
for package in "${APT_PACKAGES[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" = 'install ok installed' ] || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "installing ${missing[*]}"
  # Debian would otherwise create and start a default cluster on port 5432; the devstack runs its own.
  "${SUDO[@]}" mkdir -p /etc/postgresql-common
  grep -qs '^create_main_cluster *= *false' /etc/postgresql-common/createcluster.conf ||
    echo 'create_main_cluster = false' | "${SUDO[@]}" tee -a /etc/postgresql-common/createcluster.conf >/dev/null
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "all ${#APT_PACKAGES[@]} present"
fi
[ -x "$PG_CONFIG" ] || fail "$PG_CONFIG not found after installing postgresql-server-dev-$PG_MAJOR"
PG_LIB=$("$PG_CONFIG" --pkglibdir)
PG_EXT=$("$PG_CONFIG" --sharedir)/extension

step "libbson $LIBBSON_VERSION (static, in $PREFIX/libbson)"
if installed libbson "$LIBBSON_VERSION" "$PREFIX/libbson/lib/pkgconfig/libbson-static-1.0.pc"; then
  echo "already installed"
else
  src=$(source_of libbson)
  cmake -S "$src" -B "$src/build" -DCMAKE_INSTALL_PREFIX="$PREFIX/libbson" -DCMAKE_INSTALL_LIBDIR=lib \
    -DENABLE_MONGOC=OFF -DENABLE_TESTS=OFF -DENABLE_EXAMPLES=OFF -DENABLE_UNINSTALL=OFF \
    -DENABLE_MAN_PAGES=OFF -DENABLE_HTML_DOCS=OFF -DENABLE_ICU=OFF -DENABLE_STATIC=ON \
    -DCMAKE_C_FLAGS=-fPIC -DCMAKE_BUILD_TYPE=Release -DBUILD_VERSION="$LIBBSON_VERSION" >"$WORK/libbson.log" 2>&1 ||
    { tail -30 "$WORK/libbson.log"; fail "libbson: cmake failed"; }
  { make -C "$src/build" -j"$JOBS" && "${SUDO[@]}" make -C "$src/build" install; } >>"$WORK/libbson.log" 2>&1 ||
    { tail -30 "$WORK/libbson.log"; fail "libbson: build failed"; }
  stamp libbson "$LIBBSON_VERSION"
fi

# Debian ships Intel's decimal math library as a static archive without a pkg-config file.
PKGCONFIG_DIR=$PREFIX/pkgconfig
if [ ! -f "$PKGCONFIG_DIR/intelmathlib.pc" ]; then
  "${SUDO[@]}" mkdir -p "$PKGCONFIG_DIR"
  printf 'Name: intelmathlib\nDescription: Intel decimal floating-point math (Debian libintelrdfpmath-dev)\nVersion: 2.0\nLibs: -L/usr/lib/%s -lbidgcc000\nCflags: -I/usr/include\n' \
    "$(gcc -dumpmachine)" | "${SUDO[@]}" tee "$PKGCONFIG_DIR/intelmathlib.pc" >/dev/null
fi
export PKG_CONFIG_PATH="$PREFIX/libbson/lib/pkgconfig:$PKGCONFIG_DIR${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"

# Builds and installs a PostgreSQL extension with PGXS.
pgxs_install() { # name version dir make-args...
  local name=$1 version=$2 dir=$3
  shift 3
  { make -C "$dir" -j"$JOBS" PG_CONFIG="$PG_CONFIG" "$@" && "${SUDO[@]}" make -C "$dir" install PG_CONFIG="$PG_CONFIG" "$@"; } \
    >"$WORK/$name.log" 2>&1 || { tail -30 "$WORK/$name.log"; fail "$name: build failed"; }
  stamp "$name" "$version"
}

step "pg_cron $PG_CRON_VERSION"
if installed pg_cron "$PG_CRON_VERSION" "$PG_LIB/pg_cron.so" "$PG_EXT/pg_cron.control"; then
  echo "already installed"
else
  pgxs_install pg_cron "$PG_CRON_VERSION" "$(source_of pg_cron)"
fi

step "pgvector $PGVECTOR_VERSION"
if installed pgvector "$PGVECTOR_VERSION" "$PG_LIB/vector.so" "$PG_EXT/vector.control"; then
  echo "already installed"
else
  # No -march=native: the library must run on any machine of the architecture, not only this one.
  pgxs_install pgvector "$PGVECTOR_VERSION" "$(source_of pgvector)" OPTFLAGS=""
fi

step "DocumentDB $DOCUMENTDB_TAG"
if installed documentdb "$DOCUMENTDB_TAG" "$PG_LIB/pg_documentdb_core.so" "$PG_LIB/pg_documentdb.so" "$PG_EXT/documentdb.control"; then
  echo "already installed"
else
  src=$(source_of documentdb)
  pgxs_install documentdb_core "$DOCUMENTDB_TAG" "$src/pg_documentdb_core"
  pgxs_install documentdb "$DOCUMENTDB_TAG" "$src/pg_documentdb"
fi

step "FerretDB $FERRETDB_VERSION (in $PREFIX/bin)"
if installed ferretdb "$FERRETDB_VERSION" "$PREFIX/bin/ferretdb"; then
  echo "already installed"
else
  command -v go >/dev/null || fail "Go is needed to build FerretDB (Debian: apt-get install golang, or go.dev/dl)"
  module=$(go mod download -json "github.com/FerretDB/FerretDB/v2@$FERRETDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$module" ] || fail "could not fetch github.com/FerretDB/FerretDB/v2@$FERRETDB_VERSION from the Go module proxy"
  mkdir -p "$WORK/ferretdb" && cp -r "$module/." "$WORK/ferretdb/"
  chmod -R u+w "$WORK/ferretdb"
  # FerretDB's own build generates these; the module lacks them and the binary panics without them.
  echo "$FERRETDB_VERSION" >"$WORK/ferretdb/build/version/version.txt"
  echo "source" >"$WORK/ferretdb/build/version/package.txt"
  # Upstream defines setGOMAXPROCS only for Go < 1.25 (whose runtime now does it) but always calls it.
  if ! grep -qs '^//go:build go1.25$' "$WORK"/ferretdb/cmd/ferretdb/*.go; then
    printf '//go:build go1.25\n\npackage main\n\nimport "log/slog"\n\n// setGOMAXPROCS does nothing: Go 1.25+ sets GOMAXPROCS from the cgroup limit itself.\nfunc setGOMAXPROCS(logger *slog.Logger) {}\n' \
      >"$WORK/ferretdb/cmd/ferretdb/gomaxprocs_go125.go"
  fi
  (cd "$WORK/ferretdb" && go build -trimpath -o "$WORK/ferretdb.bin" ./cmd/ferretdb) >"$WORK/ferretdb.log" 2>&1 ||
    { tail -30 "$WORK/ferretdb.log"; fail "ferretdb: build failed"; }
  "${SUDO[@]}" install -D -m 0755 "$WORK/ferretdb.bin" "$PREFIX/bin/ferretdb"
  stamp ferretdb "$FERRETDB_VERSION"
fi

step "done"
# sed, not head: head exits after one line and, under pipefail, the writer's SIGPIPE fails the script.
"$PREFIX/bin/ferretdb" --version 2>/dev/null | sed -n 1p
echo "PostgreSQL $("$PG_CONFIG" --version | awk '{print $2}'), extensions in $PG_LIB"
