//! CI's small run of the soak (`recueil bench soak`, full size: 500 jobs
//! per channel, README "Soak"): the production engines of both channels,
//! over and over in one process. The command itself fails when resident
//! memory grows past its allowance after the warm-up; here it runs long
//! enough to catch an engine that keeps a model, a whisper state or a page
//! image per job (tens of megabytes each), not the slow leaks the full run
//! is for.

use std::path::Path;
use std::process::Command;

#[test]
fn the_engines_run_again_and_again_without_growing() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_recueil"))
        .current_dir(root)
        .args(["bench", "soak", "--count", "16", "--after", "6"])
        .env("RECUEIL_LOG", "error")
        .env_remove("RECUEIL_CONFIG")
        .output()
        .expect("recueil bench soak");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    recueil_testkit::report!("{stdout}");
    assert!(out.status.success(), "the soak passes: {stdout}{stderr}");
    for channel in ["voicemail", "ballot"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("soak: {channel}")) && l.contains("jobs   16")),
            "{channel} measured: {stdout}"
        );
    }
}
