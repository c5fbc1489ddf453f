//! Reading an Asterisk voicemail spool.
//!
//! Layout: `<context>/<mailbox>/INBOX/msgNNNN.{wav,WAV,gsm,txt}`. The `.txt`
//! beside each recording holds `key=value` lines under `[message]`:
//! `callerid="Name" <0612345678>`, `origtime=<unix seconds>`, `duration`,
//! `msg_id`. Asterisk writes the recordings first and the `.txt` last, so a
//! message is taken only once its `.txt` exists.

use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// One message found in the spool.
#[derive(Debug, Clone, PartialEq)]
pub struct SpoolMessage {
    pub audio: PathBuf,
    /// `context/mailbox`.
    pub mailbox: String,
    pub msg_id: Option<String>,
    pub received_at: Option<DateTime<Utc>>,
    /// The caller's number as Asterisk recorded it: personal data, to be
    /// turned into a keyed reference at once and never stored.
    pub caller_number: Option<String>,
    pub duration_s: Option<u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("cannot read the spool {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Recording formats, in order of preference when a message has several
/// (Asterisk's `format=wav49|gsm|wav` may write more than one).
const AUDIO_EXTENSIONS: [&str; 3] = ["wav", "WAV", "gsm"];

/// Every complete message under `root`, oldest folder order first.
pub fn scan(root: &Path) -> Result<Vec<SpoolMessage>, SpoolError> {
    scan_where(root, |_| true)
}

/// A spool watched pass after pass: remembers the recordings already taken
/// (path, size, modification time), so that a pass reads and hashes only
/// the messages that appeared or changed since, instead of the whole spool.
/// Recordings that left the spool are forgotten: memory follows the
/// spool's size, not the watch's age.
///
/// A message is remembered as soon as a pass returns it: one refused as a
/// bad file is not tried again until it changes. (A store error stops the
/// watch, and a restarted watch starts from nothing; the store's duplicate
/// check makes that harmless.)
#[derive(Debug)]
pub struct SpoolWatch {
    root: PathBuf,
    taken: HashMap<PathBuf, Fingerprint>,
}

/// What says a recording is the one already taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    size: u64,
    modified: Option<SystemTime>,
}

impl Fingerprint {
    fn of(path: &Path) -> Option<Fingerprint> {
        let metadata = std::fs::metadata(path).ok()?;
        Some(Fingerprint {
            size: metadata.len(),
            modified: metadata.modified().ok(),
        })
    }
}

impl SpoolWatch {
    pub fn new(root: &Path) -> SpoolWatch {
        SpoolWatch {
            root: root.to_owned(),
            taken: HashMap::new(),
        }
    }

    /// The complete messages not taken by an earlier pass.
    pub fn pass(&mut self) -> Result<Vec<SpoolMessage>, SpoolError> {
        let mut present = HashMap::new();
        let messages = scan_where(&self.root, |audio| {
            let Some(now) = Fingerprint::of(audio) else {
                // Gone or unreadable: let intake report it by name.
                return true;
            };
            present.insert(audio.to_owned(), now);
            self.taken.get(audio) != Some(&now)
        })?;
        self.taken = present;
        Ok(messages)
    }
}

/// The complete messages under `root` whose recording `wanted` accepts;
/// the metadata of the others is not even read.
fn scan_where(
    root: &Path,
    mut wanted: impl FnMut(&Path) -> bool,
) -> Result<Vec<SpoolMessage>, SpoolError> {
    let mut messages = Vec::new();
    for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
        let entry = entry.map_err(|e| SpoolError::Read {
            path: root.to_owned(),
            source: e.into(),
        })?;
        let path = entry.path();
        let is_meta = path.extension().is_some_and(|e| e == "txt")
            && path
                .parent()
                .and_then(Path::file_name)
                .is_some_and(|d| d == "INBOX")
            && path
                .file_stem()
                .is_some_and(|s| s.to_string_lossy().starts_with("msg"));
        if !is_meta {
            continue;
        }
        let Some(audio) = AUDIO_EXTENSIONS
            .iter()
            .map(|ext| path.with_extension(ext))
            .find(|p| p.is_file())
        else {
            tracing::warn!(meta = %path.display(), "voicemail metadata without a recording: skipped");
            continue;
        };
        if !wanted(&audio) {
            continue;
        }
        let text = std::fs::read_to_string(path).map_err(|source| SpoolError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mailbox = path
            .parent()
            .and_then(Path::parent)
            .and_then(|m| {
                let mailbox = m.file_name()?.to_string_lossy().into_owned();
                let context = m.parent()?.file_name()?.to_string_lossy().into_owned();
                Some(format!("{context}/{mailbox}"))
            })
            .unwrap_or_default();
        messages.push(parse_meta(&text, audio, mailbox));
    }
    Ok(messages)
}

/// Reads a message's `.txt` (Asterisk's `key=value` lines): what it can,
/// and nothing from a line it cannot read. Public for the fuzz target
/// (`fuzz/fuzz_targets/asterisk_metadata.rs`): any text, no panic.
pub fn parse_meta(text: &str, audio: PathBuf, mailbox: String) -> SpoolMessage {
    let mut message = SpoolMessage {
        audio,
        mailbox,
        msg_id: None,
        received_at: None,
        caller_number: None,
        duration_s: None,
    };
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "callerid" => message.caller_number = caller_number(value),
            "origtime" => {
                message.received_at = value
                    .parse::<i64>()
                    .ok()
                    .and_then(|t| DateTime::from_timestamp(t, 0))
            }
            "duration" => message.duration_s = value.parse().ok(),
            "msg_id" if !value.is_empty() => message.msg_id = Some(value.to_owned()),
            _ => {}
        }
    }
    message
}

/// The number in `"Name" <0612345678>` or a bare `0612345678`; `None` for
/// `Unknown`, `Anonymous` and other withheld numbers.
fn caller_number(callerid: &str) -> Option<String> {
    let number = match (callerid.rfind('<'), callerid.rfind('>')) {
        (Some(a), Some(b)) if a < b => &callerid[a + 1..b],
        _ => callerid.trim_matches('"'),
    };
    number
        .chars()
        .any(|c| c.is_ascii_digit())
        .then(|| number.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_messages_with_their_metadata_and_skips_incomplete_ones() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = dir.path().join("default/800/INBOX");
        std::fs::create_dir_all(&inbox).unwrap();
        std::fs::write(inbox.join("msg0000.wav"), b"RIFF").unwrap();
        std::fs::write(
            inbox.join("msg0000.txt"),
            ";\n; Message Information file\n;\n[message]\norigmailbox=800\ncallerid=\"Jeanne D\" <0612345678>\norigtime=1650000000\nduration=42\nmsg_id=1650000000-00000001\n",
        )
        .unwrap();
        // Being recorded: no .txt yet.
        std::fs::write(inbox.join("msg0001.wav"), b"RIFF").unwrap();
        // Withheld number, GSM only.
        std::fs::write(inbox.join("msg0002.gsm"), b"\xd8").unwrap();
        std::fs::write(
            inbox.join("msg0002.txt"),
            "[message]\ncallerid=Unknown\norigtime=1650000100\n",
        )
        .unwrap();
        let messages = scan(dir.path()).unwrap();
        assert_eq!(messages.len(), 2);
        let m = &messages[0];
        assert_eq!(m.mailbox, "default/800");
        assert_eq!(m.caller_number.as_deref(), Some("0612345678"));
        assert_eq!(m.duration_s, Some(42));
        assert_eq!(m.msg_id.as_deref(), Some("1650000000-00000001"));
        assert_eq!(m.received_at.unwrap().timestamp(), 1_650_000_000);
        assert_eq!(messages[1].caller_number, None);
        assert!(messages[1].audio.ends_with("msg0002.gsm"));
    }

    #[test]
    fn a_watch_returns_each_message_once_until_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = dir.path().join("default/800/INBOX");
        std::fs::create_dir_all(&inbox).unwrap();
        let meta = "[message]\ncallerid=Unknown\norigtime=1650000000\n";
        std::fs::write(inbox.join("msg0000.wav"), b"RIFF one").unwrap();
        std::fs::write(inbox.join("msg0000.txt"), meta).unwrap();
        let mut watch = SpoolWatch::new(dir.path());
        let first = watch.pass().unwrap();
        assert_eq!(first.len(), 1);

        // Nothing new: nothing to read again.
        assert!(watch.pass().unwrap().is_empty());

        // A new message: only it.
        std::fs::write(inbox.join("msg0001.wav"), b"RIFF two").unwrap();
        std::fs::write(inbox.join("msg0001.txt"), meta).unwrap();
        let second = watch.pass().unwrap();
        assert_eq!(second.len(), 1);
        assert!(second[0].audio.ends_with("msg0001.wav"));
        assert!(watch.pass().unwrap().is_empty());

        // Asterisk renumbers after a deletion: msg0001 becomes msg0000,
        // another recording under a known name, so it is read again.
        std::fs::remove_file(inbox.join("msg0001.wav")).unwrap();
        std::fs::remove_file(inbox.join("msg0001.txt")).unwrap();
        std::fs::write(inbox.join("msg0000.wav"), b"RIFF two, renumbered").unwrap();
        let renumbered = watch.pass().unwrap();
        assert_eq!(renumbered.len(), 1);
        assert!(renumbered[0].audio.ends_with("msg0000.wav"));
        // What left the spool is forgotten.
        assert_eq!(watch.taken.len(), 1);
    }
}
