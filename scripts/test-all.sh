#!/usr/bin/env bash
# Runs every check and test oxq has, on a fresh Debian machine: installs what is missing,
# then formatting, clippy, the whole workspace's tests (unit, conformance, process-level,
# examples, doctests). Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is required (https://rustup.rs)" >&2
  exit 1
fi
if ! command -v redis-server >/dev/null 2>&1; then
  step "installing redis-server (apt)"
  as_root apt-get update -qq
  as_root apt-get install -y -qq redis-server
fi

if ! command -v openssl >/dev/null 2>&1; then
  step "installing openssl (apt; the Redis TLS tests make their own certificates)"
  as_root apt-get update -qq
  as_root apt-get install -y -qq openssl
fi

if ! command -v python3 >/dev/null 2>&1; then
  step "installing python3 (apt; the CLI's exec-worker tests run a Python child)"
  as_root apt-get update -qq
  as_root apt-get install -y -qq python3
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  step "installing nodejs and npm (apt)"
  as_root apt-get update -qq
  as_root apt-get install -y -qq nodejs npm
fi
step "npm ci (Node BullMQ for the interop tests)"
(cd tests/interop && timeout 600 npm ci --no-audit --no-fund --loglevel=error)

if ! command -v chromium >/dev/null 2>&1; then
  step "installing chromium (apt; the dashboard's headless-browser test drives it)"
  as_root apt-get update -qq
  as_root apt-get install -y -qq chromium
fi
step "npm ci (playwright-core for the dashboard's browser test)"
(cd crates/oxq-dashboard/browser && timeout 600 npm ci --no-audit --no-fund --loglevel=error)

step "cargo fmt --check"
timeout 120 cargo fmt --all -- --check

step "cargo clippy (all targets, warnings denied)"
timeout 1200 cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (workspace: unit, conformance, process-level, doctests)"
# Default targets: unit and integration tests, the examples (built; the process-level tests
# run them) and doctests, in one build.
timeout 2400 cargo test --workspace --locked --no-fail-fast
