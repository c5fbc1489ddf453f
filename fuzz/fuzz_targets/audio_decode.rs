//! Any bytes as a voicemail: an error naming the input, never a panic, and
//! memory bounded by the duration limit (libFuzzer's -rss_limit_mb).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let config = recueil_audio::AudioConfig::default();
    for name in ["fuzz.wav", "fuzz.mp3"] {
        let _ = recueil_audio::decode(data, name, "", &config);
    }
});
