//! What arrived: a voicemail recording or a scanned ballot page, exactly as
//! the citizen (or the scanner) produced it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// The offline channel a source came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A message left on the free 0800 line.
    Voicemail,
    /// A B1 paper form taken out of an urn and scanned.
    Ballot,
}

impl Channel {
    pub const ALL: [Channel; 2] = [Channel::Voicemail, Channel::Ballot];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Voicemail => "voicemail",
            Channel::Ballot => "ballot",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Channel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "voicemail" => Ok(Channel::Voicemail),
            "ballot" => Ok(Channel::Ballot),
            other => Err(format!("unknown channel {other:?} (voicemail or ballot)")),
        }
    }
}

/// Identity of a source. A UUID v7, so identifiers sort by arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SourceId(pub Uuid);

impl SourceId {
    pub fn new() -> SourceId {
        SourceId(Uuid::now_v7())
    }
}

impl Default for SourceId {
    fn default() -> Self {
        SourceId::new()
    }
}

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for SourceId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(SourceId)
    }
}

/// The identifier of an urn, as printed in the B1 form's QR code
/// (`RECUEIL:B1:<urn-id>`): 1 to 40 characters among `a-z`, `0-9` and `-`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Urn(String);

#[derive(Debug, thiserror::Error)]
#[error("invalid urn id {0:?}: expected 1 to 40 characters among a-z, 0-9 and '-'")]
pub struct UrnError(pub String);

impl Urn {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Urn {
    type Err = UrnError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = (1..=40).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Urn(s.to_owned()))
        } else {
            Err(UrnError(s.to_owned()))
        }
    }
}

impl TryFrom<String> for Urn {
    type Error = UrnError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Urn> for String {
    fn from(u: Urn) -> String {
        u.0
    }
}

impl fmt::Display for Urn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One recording or one scanned page, as it arrived.
///
/// The original bytes are stored beside it (see `recueil-store`), addressed by
/// `sha256`, so every contribution can be traced back to what the citizen
/// sent. A file is ingested once: the pair (`sha256`, `page`) is unique.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub id: SourceId,
    pub channel: Channel,
    /// Hex SHA-256 of the original bytes.
    pub sha256: String,
    /// Media type sniffed from the bytes (not trusted from the file name).
    pub media_type: String,
    pub size: u64,
    /// File name as given at intake, for operators; never published.
    pub original_name: String,
    pub received_at: DateTime<Utc>,
    /// Keyed hash of the caller's number (voicemail); never the number itself.
    pub caller_ref: Option<String>,
    /// The urn the form came from, as given at intake (ballot).
    pub urn: Option<Urn>,
    /// The scan batch, as given at intake (ballot).
    pub batch: Option<String>,
    /// Page within a multi-page scan, from 1; 0 for a whole file.
    pub page: u32,
}
