#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test against both
# store backends (SQLite, PostgreSQL) and both queues (in-process, RabbitMQ).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --services
scripts/start-services.sh

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
