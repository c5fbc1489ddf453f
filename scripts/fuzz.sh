#!/usr/bin/env bash
# Fuzzes what reads untrusted bytes (cargo-fuzz, libFuzzer, AddressSanitizer):
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# each target for SECONDS (default 60). Targets (fuzz/fuzz_targets/):
#   audio_decode       any bytes as a voicemail (WAV, compressed formats)
#   scan_load          any bytes as a scan (PNG, JPEG, TIFF, PDF)
#   asterisk_metadata  any text as an Asterisk message's .txt
#   job_wire           any bytes as a queue message
# Needs the nightly toolchain (sanitizers) and cargo-fuzz: installed here if
# missing. Seeds are the project's own fixtures. A crash stops the run and
# lands in fuzz/artifacts/TARGET/ (git-ignored): make it a fixture and a
# test, then fix it. Not part of CI (the nightly build alone takes minutes);
# run before a release and after touching a decoder.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-60}"
(($#)) && shift
targets=("$@")
((${#targets[@]})) || targets=(audio_decode scan_load asterisk_metadata job_wire)

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
seed() {
  local target="$1"
  shift
  mkdir -p "$work/$target"
  local f
  for f in "$@"; do
    [[ -f "$f" ]] && cp "$f" "$work/$target/"
  done
  return 0
}
seed audio_decode fixtures/hostile/*.wav fixtures/voicemail/formats/* fixtures/inbox/*.wav
seed scan_load fixtures/hostile/*.png fixtures/hostile/*.jpg fixtures/hostile/*.tif \
  fixtures/hostile/*.pdf fixtures/inbox/*.png fixtures/inbox/*.jpg fixtures/inbox/*.tif
mkdir -p "$work/asterisk_metadata" "$work/job_wire"
printf ';\n; Message Information file\n;\n[message]\norigmailbox=800\ncallerid="Jeanne D" <0612345678>\norigtime=1650000000\nduration=42\nmsg_id=1650000000-00000001\n' \
  >"$work/asterisk_metadata/msg0000.txt"
printf '{"schema":1,"source_id":"0192f1f4-8a3e-7c2e-9b1a-2f6c3d4e5f60","channel":"voicemail","attempt":1}' \
  >"$work/job_wire/job.json"

for target in "${targets[@]}"; do
  echo "== $target: ${secs} s" >&2
  # Inputs up to 1 MB (a scan or a recording is larger than libFuzzer's
  # default 4 kB); 2 GB of memory at most; 20 s per input at most.
  cargo +nightly fuzz run --fuzz-dir fuzz "$target" "$work/$target" -- \
    -max_total_time="$secs" -max_len=1048576 -rss_limit_mb=2048 -timeout=20
done
