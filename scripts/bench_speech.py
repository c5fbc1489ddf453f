"""recueil's transcription beside whisper.cpp (pywhispercpp) and
faster-whisper (CTranslate2), on the same weights, files and threads.

Run by scripts/bench-speech.sh, which makes the virtual environment, the
models and the prepared sets; see that script for the command line.

Each engine and setting runs in a child process of its own (so that its
peak resident memory is its own, read with wait4), over every set; the
child prints one JSON line per recording: the transcript and the seconds
spent on it (model loading excluded). The transcripts are then scored by
`recueil eval score`, so that every engine is measured by recueil's one
normalisation (crates/eval), never by a second copy of it here.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import wave

import numpy as np


# --------------------------------------------------------------- engines

# name -> (engine, options). The whisper.cpp and faster-whisper settings
# are those the issue names; recueil's are its own options.
SETTINGS = {
    # recueil: the product's defaults, then the measured alternatives.
    "recueil": ("recueil", []),
    "recueil-no-vad": ("recueil", ["--no-vad"]),
    "recueil-full-window": ("recueil", ["--full-window"]),
    "recueil-beam5": ("recueil", ["--beam", "5"]),
    "recueil-beam5-fallback2": ("recueil", ["--beam", "5", "--fallbacks", "2"]),
    "recueil-q8_0": ("recueil", ["--model", "base-q8_0"]),
    "recueil-prompt": ("recueil", ["--domain-prompt"]),
    # whisper.cpp as pywhispercpp ships it (its own defaults: greedy with
    # best_of 5 at fallback temperatures, entropy/logprob thresholds).
    "whispercpp-greedy": ("whispercpp", {"beam": 0}),
    "whispercpp-beam5": ("whispercpp", {"beam": 5}),
    # faster-whisper with its own defaults (temperature fallback,
    # conditioning on previous text) and the options of the issue.
    "fw-f32-beam1": ("faster-whisper", {"compute": "float32", "beam": 1, "vad": False}),
    "fw-f32-beam5": ("faster-whisper", {"compute": "float32", "beam": 5, "vad": False}),
    "fw-f32-beam5-vad": ("faster-whisper", {"compute": "float32", "beam": 5, "vad": True}),
    "fw-f32-beam1-vad": ("faster-whisper", {"compute": "float32", "beam": 1, "vad": True}),
    "fw-int8-beam1": ("faster-whisper", {"compute": "int8", "beam": 1, "vad": False}),
    "fw-int8-beam5": ("faster-whisper", {"compute": "int8", "beam": 5, "vad": False}),
    "fw-int8-beam5-vad": ("faster-whisper", {"compute": "int8", "beam": 5, "vad": True}),
    "fw-int8-beam1-vad": ("faster-whisper", {"compute": "int8", "beam": 1, "vad": True}),
}


def read_set(directory):
    """(file, path, reference) of every recording of a prepared set."""
    items = []
    with open(os.path.join(directory, "transcripts.tsv"), encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i == 0 and line.startswith("file\t") or not line.strip():
                continue
            name, _, reference = line.rstrip("\n").partition("\t")
            items.append((name.strip(), os.path.join(directory, name.strip()), reference))
    return items


def read_wav(path):
    """16 kHz mono 16-bit PCM (what `recueil eval prepare` writes)."""
    with wave.open(path, "rb") as w:
        if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (16000, 1, 2):
            raise SystemExit(f"{path}: not 16 kHz mono 16-bit PCM (run recueil eval prepare)")
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32768.0


def child(engine, options, model, threads, sets):
    """Loads one engine once, transcribes every recording of every set,
    prints one JSON line per recording."""
    if engine == "whispercpp":
        from pywhispercpp.model import Model

        kwargs = dict(
            n_threads=threads,
            language="fr",
            print_progress=False,
            print_realtime=False,
            print_timestamps=False,
        )
        if options["beam"] > 1:
            m = Model(model, params_sampling_strategy=1, redirect_whispercpp_logs_to=None,
                      beam_search={"beam_size": options["beam"], "patience": -1.0}, **kwargs)
        else:
            m = Model(model, params_sampling_strategy=0, redirect_whispercpp_logs_to=None, **kwargs)

        def run(samples):
            return " ".join(s.text.strip() for s in m.transcribe(samples))
    else:
        from faster_whisper import WhisperModel

        m = WhisperModel(model, device="cpu", compute_type=options["compute"],
                         cpu_threads=threads, num_workers=1)

        def run(samples):
            segments, _ = m.transcribe(samples, language="fr", beam_size=options["beam"],
                                       vad_filter=options["vad"])
            return " ".join(s.text.strip() for s in segments)

    for set_name, directory in sets:
        for name, path, _ in read_set(directory):
            samples = read_wav(path)
            started = time.perf_counter()
            text = run(samples)
            seconds = time.perf_counter() - started
            print(json.dumps({"set": set_name, "file": name, "text": text,
                              "audio_s": len(samples) / 16000.0, "seconds": seconds}),
                  flush=True)


def run_child(argv):
    """Runs a child command; returns (stdout, peak RSS in MB)."""
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, stdout=out)
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({os.waitstatus_to_exitcode(status)})")
        out.seek(0)
        return out.read().decode("utf-8"), usage.ru_maxrss / 1024.0


def measure(setting, args, sets):
    """Transcripts per set and the peak memory of one setting."""
    engine, options = SETTINGS[setting]
    rows = {name: [] for name, _ in sets}
    if engine == "recueil":
        # One process per set (recueil eval transcribe reads one set); the
        # peak is the largest of them.
        peak = 0.0
        for name, directory in sets:
            out, rss = run_child([args.recueil, "eval", "transcribe", directory, "--json",
                                  "--threads", str(args.threads), *options])
            peak = max(peak, rss)
            for item in json.loads(out)["items"]:
                rows[name].append((item["file"], item["hypothesis"], item["audio_s"],
                                   item["seconds"]))
        return rows, peak
    model = args.ggml if engine == "whispercpp" else args.ct2
    argv = [sys.executable, __file__, "--child", setting, "--model", model,
            "--threads", str(args.threads)]
    for name, directory in sets:
        argv += ["--set", f"{name}={directory}"]
    out, peak = run_child(argv)
    for line in out.splitlines():
        item = json.loads(line)
        rows[item["set"]].append((item["file"], item["text"], item["audio_s"], item["seconds"]))
    return rows, peak


def score(recueil, directory, rows, keep):
    """recueil eval score on one engine's transcripts of one set."""
    path = os.path.join(keep, "hypotheses.tsv")
    with open(path, "w", encoding="utf-8") as f:
        f.write("file\thypothesis\taudio_s\tseconds\n")
        for name, text, audio_s, seconds in rows:
            clean = " ".join(text.replace("\t", " ").split())
            f.write(f"{name}\t{clean}\t{audio_s:.3f}\t{seconds:.4f}\n")
    out = subprocess.run([recueil, "eval", "score", directory, path, "--json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def concat(target, sets):
    """Writes the recordings of `sets`, one after the other with 1 s of
    silence between them, as one WAV, with its transcripts.tsv."""
    pieces, words = [], []
    for _, directory in sets:
        for _, path, reference in read_set(directory):
            pieces += [read_wav(path), np.zeros(16000, dtype=np.float32)]
            words.append(reference)
    samples = np.concatenate(pieces)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with wave.open(target, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.clip(samples, -1, 1) * 32767).round().astype("<i2").tobytes())
    with open(os.path.join(os.path.dirname(target), "transcripts.tsv"), "w",
              encoding="utf-8") as f:
        f.write("file\ttranscript\n")
        f.write(os.path.basename(target) + "\t" + " ".join(words) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--concat", help=argparse.SUPPRESS)
    parser.add_argument("--recueil", help="the recueil binary")
    parser.add_argument("--ggml", help="ggml model file (recueil models fetch base)")
    parser.add_argument("--ct2", help="CTranslate2 directory made from the same archives")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=DIR")
    parser.add_argument("--settings", default="recueil,whispercpp-greedy,whispercpp-beam5,"
                        "fw-f32-beam1,fw-f32-beam5,fw-f32-beam5-vad,fw-int8-beam1,fw-int8-beam5")
    parser.add_argument("--out", default="target/bench-speech/results",
                        help="where the transcripts and results.json go")
    args = parser.parse_args()
    sets = [tuple(s.split("=", 1)) for s in args.set]
    if args.concat:
        concat(args.concat, sets)
        return
    if args.child:
        engine, options = SETTINGS[args.child]
        child(engine, options, args.model, args.threads, sets)
        return
    settings = [s for s in args.settings.split(",") if s]
    for s in settings:
        if s not in SETTINGS:
            raise SystemExit(f"unknown setting {s}; known: {', '.join(SETTINGS)}")
    results = []
    for setting in settings:
        print(f"... {setting}", file=sys.stderr, flush=True)
        rows, peak = measure(setting, args, sets)
        for name, directory in sets:
            keep = os.path.join(args.out, setting, name)
            os.makedirs(keep, exist_ok=True)
            report = score(args.recueil, directory, rows[name], keep)
            processing = sum(i["seconds"] for i in report["items"])
            results.append({
                "setting": setting, "set": name, "wer": report["wer"],
                "false_empty": report["false_empty"], "hallucinations": report["hallucinations"],
                "audio_s": report["audio_s"], "seconds": processing,
                "speed": report["audio_s"] / max(processing, 1e-9), "peak_rss_mb": peak,
            })
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.json"), "w", encoding="utf-8") as f:
        json.dump({"threads": args.threads, "results": results}, f, indent=1)
    base = {r["set"]: r for r in results if r["setting"] == settings[0]}
    print(f"{'setting':<24} {'set':<22} {'WER':>7} {'empty':>5} {'halluc':>6} "
          f"{'audio s/s':>9} {'x ' + settings[0]:>16} {'peak RSS':>9}")
    for r in results:
        ref = base.get(r["set"])
        ratio = r["speed"] / ref["speed"] if ref else float("nan")
        print(f"{r['setting']:<24} {r['set']:<22} {100 * r['wer']:6.1f}% {r['false_empty']:>5} "
              f"{r['hallucinations']:>6} {r['speed']:9.2f} {ratio:16.2f} {r['peak_rss_mb']:7.0f} MB")


if __name__ == "__main__":
    main()
