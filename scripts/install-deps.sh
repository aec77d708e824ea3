#!/usr/bin/env bash
# Installs every Debian package dualguard needs to build, run its demo and run its tests.
# Idempotent: packages already present are left as they are.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
PKGS=(
  build-essential cmake pkg-config git ca-certificates
  libuv1-dev libmodbus-dev libpaho-mqtt-dev libssl-dev libsqlite3-dev sqlite3
  libcurl4-openssl-dev libfyaml-dev libcjson-dev libwebsockets-dev libwebsockets-evlib-uv
  libsystemd-dev libcmocka-dev
  mosquitto mosquitto-clients curl python3 python3-pymodbus python3-serial python3-serial-asyncio socat openssl \
  python3-cryptography python3-aiosmtpd
  clang valgrind
  lintian  # the Debian package test (tests/integration/test_debian_package.py); cpack and dpkg-shlibdeps come with cmake and build-essential
  chromium  # headless rendering of the dashboard (tests/integration/test_dashboard.py)
  fonts-noto-cjk  # Chinese text in the dashboard (and its screenshots) instead of empty boxes
  python3-prometheus-client  # an independent parser of /metrics (tests/integration/test_metrics.py)
  python3-yaml  # reads docs/openapi.yaml (tests/integration/test_openapi.py; Debian 12 packages no OpenAPI validator)
  libsodium-dev  # Argon2id password hashes of login accounts (daemon/login.c)
  libqrencode-dev  # the QR code on the post risk cards (daemon/api_posts.c)
  poppler-utils zbar-tools  # pdftotext and zbarimg check the printed cards (tests/integration/test_posts.py)
  libxlsxwriter-dev  # XLSX: the three lists (ledger/lists_out.c), the performance assessment (daemon/api_assess.c)
  python3-openpyxl  # an independent XLSX reader (tests/integration/test_cards.py, test_assessment.py)
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
