//! The ground truth of an evaluation set: `truth.json`, one entry per page,
//! written by the generator and read by the measurement. Page kinds and tick
//! states are enums here; the JSON keeps its strings (`form`, `blank`,
//! `not_a_form`; `cross`, `none`...) so the committed set still reads.

use crate::error::ScanError;
use crate::reader::{kind_from_name, kind_name};
use crate::ticks::TickState;
use recueil_core::engine::PageKind;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Name of the ground-truth file in an evaluation directory.
pub const TRUTH_FILE: &str = "truth.json";

/// How a box was marked by the (simulated) citizen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TickStyle {
    None,
    Cross,
    CheckOverflowing,
    Filled,
    Scribble,
    /// A tiny pen dot: not a tick.
    Dot,
    /// A stray stroke that only touches the outline: not a tick.
    TouchingLine,
    /// Crossed, then scribbled over: ambiguous.
    CrossedThenScribbled,
}

impl TickStyle {
    /// What a correct reader says of a box marked this way.
    pub fn truth(self) -> TickState {
        match self {
            TickStyle::None | TickStyle::Dot | TickStyle::TouchingLine => TickState::Empty,
            TickStyle::CrossedThenScribbled => TickState::Ambiguous,
            TickStyle::Cross
            | TickStyle::CheckOverflowing
            | TickStyle::Filled
            | TickStyle::Scribble => TickState::Ticked,
        }
    }
}

/// Ground truth of one page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TruthPage {
    pub file: String,
    /// 1-based page in the file.
    pub page: u32,
    /// Written `form`, `blank`, `not_a_form` in the JSON.
    #[serde(with = "page_kind_name")]
    pub kind: PageKind,
    pub boxes: Vec<TickStyle>,
    pub urn: Option<String>,
    pub text: String,
    /// The handwriting font (a short name), empty when no text.
    pub font: String,
    pub dpi: u32,
    pub rotation_deg: u32,
    /// What was done to the page, for reading failures.
    pub conditions: String,
}

/// Reads the ground truth of an evaluation directory.
pub fn load_truth(dir: &Path) -> Result<Vec<TruthPage>, ScanError> {
    let path = dir.join(TRUTH_FILE);
    let bytes =
        std::fs::read(&path).map_err(|e| ScanError::Io(format!("{}: {e}", path.display())))?;
    serde_json::from_slice(&bytes).map_err(|e| ScanError::Io(format!("{}: {e}", path.display())))
}

/// A [`PageKind`] as its name ([`kind_name`]) in JSON.
pub(crate) mod page_kind_name {
    use super::*;

    pub fn serialize<S: serde::Serializer>(k: &PageKind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(kind_name(*k))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<PageKind, D::Error> {
        let name = String::deserialize(d)?;
        kind_from_name(&name).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "page kind `{name}`: expected `form`, `blank` or `not_a_form`"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_kinds_read_and_write_as_names() {
        let json = r#"{"file":"a.png","page":1,"kind":"not_a_form","boxes":["cross","crossed_then_scribbled"],
            "urn":null,"text":"","font":"","dpi":150,"rotation_deg":0,"conditions":""}"#;
        let t: TruthPage = serde_json::from_str(json).unwrap();
        assert_eq!(t.kind, PageKind::NotAForm);
        assert_eq!(
            t.boxes.iter().map(|b| b.truth()).collect::<Vec<_>>(),
            [TickState::Ticked, TickState::Ambiguous]
        );
        let back = serde_json::to_value(&t).unwrap();
        assert_eq!(back["kind"], "not_a_form");
        let bad = json.replace("not_a_form", "letter");
        let e = serde_json::from_str::<TruthPage>(&bad).unwrap_err();
        assert!(e.to_string().contains("page kind `letter`"), "{e}");
    }
}
