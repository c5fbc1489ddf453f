//! Any text as an Asterisk message's `.txt`: read what can be read, never
//! a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = recueil_pipeline::asterisk::parse_meta(&text, "msg0000.wav".into(), "1000".into());
});
