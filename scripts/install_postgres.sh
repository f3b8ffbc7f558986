#!/usr/bin/env bash
# Make PostgreSQL's server binaries (initdb, pg_ctl, postgres) present for the tests that start
# a throw-away cluster (tests/scale). Idempotent and quick: does nothing when they are already
# installed (on PATH or in Debian's /usr/lib/postgresql/<version>/bin); otherwise installs
# Debian's postgresql package (as root, or through sudo when available). No server is started
# here: the test fixture initdb's and starts its own cluster on 127.0.0.1 and a free port.
set -euo pipefail

have_postgres() {
    command -v initdb >/dev/null 2>&1 && return 0
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null 2>&1
}

if have_postgres; then
    echo "install_postgres: PostgreSQL server binaries present"
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo"
else
    echo "install_postgres: PostgreSQL missing and no root/sudo; the PostgreSQL tests will skip" >&2
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_postgres: no apt-get here; install PostgreSQL's server by hand" >&2
    exit 0
fi
echo "install_postgres: installing Debian's postgresql package"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
have_postgres || { echo "install_postgres: postgresql installed but initdb not found" >&2; exit 1; }
echo "install_postgres: done"
