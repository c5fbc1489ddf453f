#!/usr/bin/env bash
# The classifier's held-out file as the pipeline reads it from paper and
# from a telephone.
#
# Paper: each text written on a B1 form in the hand fonts installed (the
# ballot evaluation set's fonts, in turn), scanned lightly at 300 dpi and
# read back by the production ballot reader (`recueil forms write`):
# fixtures/classify/heldout-written.tsv.
#
# Telephone: each text spoken by text-to-speech (SVOX Pico fr-FR, PyPI
# `ttspico`), sent down the simulated 0800 line (8 kHz mu-law, 300-3400 Hz,
# line noise: crates/audio/examples/line.rs) and transcribed by recueil's
# production speech engine (`recueil transcribe`, whisper base). Writes
# fixtures/classify/heldout-spoken.tsv: the same ids and labels, the
# transcript as text. `recueil eval classify` then measures the classifier
# on what it really reads from a caller (crates/classify/tests/model.rs
# guards it).
#
#   scripts/classify-noise.sh [written|spoken|all]   (default all; spoken needs
#                                the speech model: recueil models fetch base silero-vad)
#
# Deterministic up to whisper's arithmetic: the voice, the line noise
# (seeded per row) and the decoding (greedy) are fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"

if [[ "$what" == written || "$what" == all ]]; then
  cargo build -q --bin recueil
  RECUEIL_LOG=error "${CARGO_TARGET_DIR:-target}/debug/recueil" forms write \
    fixtures/classify/heldout.tsv fixtures/classify/heldout-written.tsv
fi
[[ "$what" == spoken || "$what" == all ]] || exit 0

TTSPICO=0.3.2
venv="target/noise-venv"
if [[ ! -e "$venv/.ttspico-$TTSPICO" ]]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "ttspico==$TTSPICO"
  touch "$venv/.ttspico-$TTSPICO"
fi
cargo build -q --bin recueil
cargo build -q -p recueil-audio --example line
recueil="${CARGO_TARGET_DIR:-target}/debug/recueil"
line="${CARGO_TARGET_DIR:-target}/debug/examples/line"

in="fixtures/classify/heldout.tsv"
out="fixtures/classify/heldout-spoken.tsv"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

printf 'id\tlabels\ttext\n' > "$tmp/out.tsv"
n=0
# A tab is whitespace to `read`, which would merge the empty labels of a
# non-contribution with the next field: split on a unit separator instead.
tail -n +2 "$in" | tr '\t' '\037' | while IFS=$'\037' read -r id labels text; do
  n=$((n + 1))
  transcript=""
  if [[ -n "${text// /}" ]]; then
    "$venv/bin/python" - "$tmp/tts.wav" "$text" <<'PY'
import sys, wave, ttspico
out, text = sys.argv[1], sys.argv[2]
chunks = []
engine = ttspico.TtsEngine("fr-FR")
engine.speak(text, lambda fmt, audio, fin: chunks.append(audio) or True)
w = wave.open(out, "wb")
w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
w.writeframes(b"".join(chunks)); w.close()
PY
    "$line" speech "$tmp/tts.wav" "$tmp/line.wav" --lead 0.5 --trail 0.8 --seed "$n"
    transcript="$(RECUEIL_LOG=error "$recueil" transcribe --json "$tmp/line.wav" \
      | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["text"].split()))')"
  fi
  printf '%s\t%s\t%s\n' "$id" "$labels" "$transcript" >> "$tmp/out.tsv"
  echo "$id" >&2
done
cp "$tmp/out.tsv" "$out"
echo "wrote $(($(wc -l < "$out") - 1)) transcripts to $out" >&2
