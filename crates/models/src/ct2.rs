//! Reader (and, for tests, writer) of CTranslate2's `model.bin`, binary version 6.
//!
//! Layout, all little-endian: `u32` binary version, string spec name, `u32`
//! spec revision, `u32` variable count, then per variable: string name, `u8`
//! rank, `u32` per dimension, `u8` data type, `u32` byte count, the bytes;
//! then `u32` alias count and pairs of strings (alias, target). A string is
//! a `u16` length that counts a trailing NUL, then the UTF-8 bytes and the NUL.

use std::collections::BTreeMap;

use half::f16;
use half::slice::HalfFloatSliceExt as _;

// The file is little-endian and read by reinterpretation.
const _: () = assert!(
    cfg!(target_endian = "little"),
    "big-endian hosts are not supported"
);

use crate::error::ConvertError;

/// The binary version this reader understands.
pub const BINARY_VERSION: u32 = 6;

/// CTranslate2's `DataType` enumeration (include/ctranslate2/types.h order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    I8,
    I16,
    I32,
    F16,
    BF16,
}

impl DType {
    fn from_id(id: u8) -> Option<Self> {
        Some(match id {
            0 => DType::F32,
            1 => DType::I8,
            2 => DType::I16,
            3 => DType::I32,
            4 => DType::F16,
            5 => DType::BF16,
            _ => return None,
        })
    }

    /// The enumeration value written in the file.
    pub fn id(self) -> u8 {
        match self {
            DType::F32 => 0,
            DType::I8 => 1,
            DType::I16 => 2,
            DType::I32 => 3,
            DType::F16 => 4,
            DType::BF16 => 5,
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::I8 => 1,
            DType::I16 | DType::F16 | DType::BF16 => 2,
            DType::F32 | DType::I32 => 4,
        }
    }
}

/// One named array of the model, borrowing its bytes from the file.
#[derive(Debug, Clone)]
pub struct Variable<'a> {
    pub name: String,
    pub shape: Vec<usize>,
    pub dtype: DType,
    pub data: &'a [u8],
}

impl Variable<'_> {
    /// Number of elements (1 for a scalar).
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True when the variable holds no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The elements as `f32` (exact for f16, bf16 and f32).
    pub fn to_f32(&self) -> Result<Vec<f32>, ConvertError> {
        let d = self.data;
        // Bulk conversions run in the (optimised) dependencies: this is the
        // hot path of a 150 MB conversion, even in a debug build.
        Ok(match self.dtype {
            DType::F32 => bytemuck::pod_collect_to_vec::<u8, f32>(d),
            DType::F16 => {
                let h: Vec<f16> = bytemuck::pod_collect_to_vec(d);
                let mut out = vec![0f32; h.len()];
                h.convert_to_f32_slice(&mut out);
                out
            }
            DType::BF16 => d
                .chunks_exact(2)
                .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            other => {
                return Err(ConvertError::Unsupported(format!(
                    "variable `{}` has integer type {other:?} where floats were expected",
                    self.name
                )))
            }
        })
    }

    /// The value of an integer scalar (e.g. `encoder/num_heads`).
    pub fn scalar_i64(&self) -> Result<i64, ConvertError> {
        let d = self.data;
        let bad = || {
            ConvertError::Unsupported(format!("variable `{}` is not an integer scalar", self.name))
        };
        if self.len() != 1 {
            return Err(bad());
        }
        Ok(match self.dtype {
            DType::I8 => d[0] as i8 as i64,
            DType::I16 => i16::from_le_bytes([d[0], d[1]]) as i64,
            DType::I32 => i32::from_le_bytes([d[0], d[1], d[2], d[3]]) as i64,
            _ => return Err(bad()),
        })
    }
}

/// A parsed `model.bin`.
#[derive(Debug)]
pub struct Ct2Model<'a> {
    /// The spec name, `WhisperSpec` for Whisper.
    pub spec: String,
    pub revision: u32,
    pub variables: BTreeMap<String, Variable<'a>>,
    /// alias -> target variable name.
    pub aliases: BTreeMap<String, String>,
}

impl<'a> Ct2Model<'a> {
    /// Parses the whole file held in memory.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ConvertError> {
        let mut r = Cursor { bytes, pos: 0 };
        let version = r.u32()?;
        if version != BINARY_VERSION {
            return Err(ConvertError::Unsupported(format!(
                "binary version {version}, only {BINARY_VERSION} is supported"
            )));
        }
        let spec = r.string()?;
        let revision = r.u32()?;
        let count = r.u32()? as usize;
        let mut variables = BTreeMap::new();
        for _ in 0..count {
            let name = r.string()?;
            let rank = r.u8()? as usize;
            let mut shape = Vec::with_capacity(rank);
            for _ in 0..rank {
                shape.push(r.u32()? as usize);
            }
            let id = r.u8()?;
            let dtype = DType::from_id(id).ok_or_else(|| {
                ConvertError::BadCt2(format!("variable `{name}`: unknown data type {id}"))
            })?;
            let nbytes = r.u32()? as usize;
            let expected = shape.iter().product::<usize>() * dtype.size();
            if nbytes != expected {
                return Err(ConvertError::BadCt2(format!(
                    "variable `{name}`: {nbytes} bytes for shape {shape:?} of {dtype:?} (expected {expected})"
                )));
            }
            let data = r.take(nbytes)?;
            variables.insert(
                name.clone(),
                Variable {
                    name,
                    shape,
                    dtype,
                    data,
                },
            );
        }
        let mut aliases = BTreeMap::new();
        // Older writers may end the file without the alias section.
        if r.pos < bytes.len() {
            let n = r.u32()? as usize;
            for _ in 0..n {
                let alias = r.string()?;
                let target = r.string()?;
                aliases.insert(alias, target);
            }
        }
        if r.pos != bytes.len() {
            return Err(ConvertError::BadCt2(format!(
                "{} trailing bytes after the alias table",
                bytes.len() - r.pos
            )));
        }
        Ok(Ct2Model {
            spec,
            revision,
            variables,
            aliases,
        })
    }

    /// The variable `name`, following an alias if it is one.
    pub fn get(&self, name: &str) -> Result<&Variable<'a>, ConvertError> {
        let target = self.aliases.get(name).map(String::as_str).unwrap_or(name);
        self.variables
            .get(target)
            .ok_or_else(|| ConvertError::MissingVariable(name.to_string()))
    }

    /// True when the model has `name` (directly or as an alias).
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_ok()
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ConvertError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| {
                ConvertError::BadCt2(format!(
                    "truncated file: wanted {n} bytes at offset {}, file has {}",
                    self.pos,
                    self.bytes.len()
                ))
            })?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, ConvertError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, ConvertError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, ConvertError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn string(&mut self) -> Result<String, ConvertError> {
        let n = self.u16()? as usize;
        let b = self.take(n)?;
        let b = b.strip_suffix(&[0]).unwrap_or(b);
        String::from_utf8(b.to_vec())
            .map_err(|_| ConvertError::BadCt2("a name is not UTF-8".into()))
    }
}

/// Writes a CTranslate2 `model.bin` (binary version 6). Used by tests to
/// build small synthetic models in memory; `vars` are (name, shape, dtype,
/// raw little-endian bytes).
pub fn write_model(
    spec: &str,
    revision: u32,
    vars: &[(String, Vec<usize>, DType, Vec<u8>)],
    aliases: &[(String, String)],
) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&((s.len() + 1) as u16).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }
    let mut out = Vec::new();
    out.extend_from_slice(&BINARY_VERSION.to_le_bytes());
    string(&mut out, spec);
    out.extend_from_slice(&revision.to_le_bytes());
    out.extend_from_slice(&(vars.len() as u32).to_le_bytes());
    for (name, shape, dtype, data) in vars {
        string(&mut out, name);
        out.push(shape.len() as u8);
        for d in shape {
            out.extend_from_slice(&(*d as u32).to_le_bytes());
        }
        out.push(dtype.id());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
    }
    out.extend_from_slice(&(aliases.len() as u32).to_le_bytes());
    for (a, t) in aliases {
        string(&mut out, a);
        string(&mut out, t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f16_bytes(v: &[f32]) -> Vec<u8> {
        v.iter()
            .flat_map(|x| f16::from_f32(*x).to_le_bytes())
            .collect()
    }

    #[test]
    fn round_trip_variables_scalars_and_aliases() {
        let bytes = write_model(
            "WhisperSpec",
            3,
            &[
                (
                    "a/weight".into(),
                    vec![2, 3],
                    DType::F16,
                    f16_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, -0.5]),
                ),
                (
                    "a/num_heads".into(),
                    vec![],
                    DType::I16,
                    8i16.to_le_bytes().to_vec(),
                ),
                ("flag".into(), vec![], DType::I8, vec![1]),
            ],
            &[("b/weight".into(), "a/weight".into())],
        );
        let m = Ct2Model::parse(&bytes).unwrap();
        assert_eq!(m.spec, "WhisperSpec");
        assert_eq!(m.revision, 3);
        assert_eq!(m.variables.len(), 3);
        let w = m.get("b/weight").unwrap();
        assert_eq!(w.shape, vec![2, 3]);
        assert_eq!(w.to_f32().unwrap(), vec![1.0, 2.0, 3.0, 4.0, 5.0, -0.5]);
        assert_eq!(m.get("a/num_heads").unwrap().scalar_i64().unwrap(), 8);
        assert_eq!(m.get("flag").unwrap().scalar_i64().unwrap(), 1);
        assert!(matches!(
            m.get("nope"),
            Err(ConvertError::MissingVariable(_))
        ));
    }

    #[test]
    fn rejects_truncation_bad_version_and_bad_sizes() {
        let bytes = write_model(
            "WhisperSpec",
            3,
            &[("x".into(), vec![4], DType::F32, vec![0; 16])],
            &[],
        );
        for cut in [3, 10, 30, bytes.len() - 5] {
            assert!(Ct2Model::parse(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut v5 = bytes.clone();
        v5[0] = 5;
        assert!(matches!(
            Ct2Model::parse(&v5),
            Err(ConvertError::Unsupported(_))
        ));
        let wrong = write_model(
            "WhisperSpec",
            3,
            &[("x".into(), vec![4], DType::F32, vec![0; 12])],
            &[],
        );
        assert!(matches!(
            Ct2Model::parse(&wrong),
            Err(ConvertError::BadCt2(_))
        ));
    }
}
