//! Finding fonts installed by Debian font packages. Nothing is bundled: the
//! form uses DejaVu Sans (`fonts-dejavu-core`, present on every Debian),
//! the evaluation generator uses whatever handwriting fonts are installed.

use crate::error::ScanError;
use ab_glyph::FontVec;
use std::path::{Path, PathBuf};

const FONT_DIRS: [&str; 3] = [
    "/usr/share/fonts/truetype",
    "/usr/share/fonts/opentype",
    "/usr/local/share/fonts",
];

/// Looks a font file up by file name under the system font directories.
pub fn find_font_file(file_name: &str) -> Option<PathBuf> {
    fn walk(dir: &Path, name: &str, depth: u32) -> Option<PathBuf> {
        if depth > 4 {
            return None;
        }
        let entries = std::fs::read_dir(dir).ok()?;
        let mut subdirs = Vec::new();
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                subdirs.push(p);
            } else if p.file_name().and_then(|n| n.to_str()) == Some(name) {
                return Some(p);
            }
        }
        subdirs.sort();
        subdirs.into_iter().find_map(|d| walk(&d, name, depth + 1))
    }
    FONT_DIRS
        .iter()
        .find_map(|d| walk(Path::new(d), file_name, 0))
}

/// Loads the first of `file_names` that is installed.
pub fn load_font(file_names: &[&str], package: &str) -> Result<FontVec, ScanError> {
    for name in file_names {
        if let Some(path) = find_font_file(name) {
            let bytes = std::fs::read(&path)
                .map_err(|e| ScanError::Io(format!("{}: {e}", path.display())))?;
            return FontVec::try_from_vec(bytes)
                .map_err(|e| ScanError::Io(format!("{}: not a usable font: {e}", path.display())));
        }
    }
    Err(ScanError::Io(format!(
        "font {} not found: install the Debian package {package}",
        file_names.join(" or ")
    )))
}
