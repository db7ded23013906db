#!/usr/bin/env bash
# Sends the same burst of distinct critical alerts through Prometheus Alertmanager (Debian's package) and through
# Fence, both to the test kit's fake Slack enforcing one message per second per webhook, and prints both side by side.
#   ALERTS=1000 BUDGET=50 scripts/compare-alertmanager.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v prometheus-alertmanager >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get install -y --no-install-recommends prometheus-alertmanager
fi
cargo build --release -p fence -p fence-bench
./target/release/fence-bench alertmanager --bin prometheus-alertmanager --alerts "${ALERTS:-1000}" --seconds "${BUDGET:-50}"
