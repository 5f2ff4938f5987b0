#!/usr/bin/env bash
# The test command: brings what the tests need on a Debian or Ubuntu machine where nothing was installed by hand,
# then runs `cargo test` with this script's arguments (e.g. `tests/run.sh -- auth::`).
#   - libpq's headers: diesel's PostgreSQL backend links libpq;
#   - Chromium and ChromeDriver: the console's browser tests drive headless Chromium; axe-core (npm, into
#     target/axe) checks every page's accessibility; zbar-tools and poppler-utils read the printed slips;
#   - PostgreSQL at 127.0.0.1:5432 (user postgres, trust): the machine's cluster is started if it is down, and one is
#     installed if the machine has none;
#   - moto's S3 server (`moto[server]` from PyPI): the attachment store's tests start it on a free port, with a
#     bucket per test (tests/it/harness/s3.rs).
# Installing needs root (apt-get); a machine that has everything installs nothing and needs no root.
set -euo pipefail
cd "$(dirname "$0")/.."

export PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres

updated=no
# Installs Debian packages; the package lists are read once, and only when something must be installed.
apt_install() {
  if [ "$updated" = no ]; then
    apt-get update -qq
    updated=yes
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

if ! dpkg -s libpq-dev >/dev/null 2>&1; then
  apt_install libpq-dev
fi
# A C compiler and make: the binary's allocator, jemalloc, is built from C (tikv-jemalloc-sys).
if ! command -v cc >/dev/null 2>&1 || ! command -v make >/dev/null 2>&1; then
  apt_install gcc make
fi

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  apt_install chromium chromium-driver
fi
if ! command -v zbarimg >/dev/null 2>&1 || ! command -v pdftoppm >/dev/null 2>&1; then
  apt_install zbar-tools poppler-utils
fi

# axe-core (npm): the console's browser tests inject it into every page to check accessibility.
if [ ! -f target/axe/node_modules/axe-core/axe.min.js ]; then
  if ! command -v npm >/dev/null 2>&1; then
    apt_install npm
  fi
  mkdir -p target/axe
  npm install --silent --no-audit --no-fund --prefix target/axe axe-core@4 >/dev/null
fi

# moto's S3 server, for the attachment store on object storage (pip, and python3 itself when missing).
if ! command -v moto_server >/dev/null 2>&1 && ! python3 -c 'import moto.server' >/dev/null 2>&1; then
  if ! python3 -m pip --version >/dev/null 2>&1; then
    apt_install python3-pip
  fi
  python3 -m pip install --quiet --disable-pip-version-check 'moto[server]' \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages 'moto[server]'
fi

# The newest PostgreSQL cluster version on the machine, if any.
cluster_version() {
  ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1 || true
}

if ! pg_isready -q 2>/dev/null; then
  if [ -z "$(cluster_version)" ]; then
    apt_install postgresql
    sed -i -E 's/^(host\s+all\s+all\s+127\.0\.0\.1\/32\s+)\S+/\1trust/' \
      "/etc/postgresql/$(cluster_version)/main/pg_hba.conf"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$(cluster_version)" main start || true
  for _ in $(seq 1 30); do pg_isready -q && break; sleep 1; done
fi
pg_isready

cargo test "$@"
