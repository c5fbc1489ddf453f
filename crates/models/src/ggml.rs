//! whisper.cpp's legacy `ggml` model file: writer, reader and block quantizers.
//!
//! Layout (all little-endian `i32` unless said): magic `0x67676d6c`; eleven
//! hyper-parameters (n_vocab, n_audio_ctx, n_audio_state, n_audio_head,
//! n_audio_layer, n_text_ctx, n_text_state, n_text_head, n_text_layer,
//! n_mels, ftype); the mel filter bank (n_mel, n_fft, then n_mel*n_fft
//! `f32`); the vocabulary (count, then per token a length and its bytes);
//! then tensors until the end of file: n_dims, name length, type, the
//! dimensions innermost first (ggml's `ne`), the name, the data.
//!
//! `ftype` is 1 for f16 files; a quantized file stores
//! `GGML_QNT_VERSION * 1000 + GGML_FTYPE_MOSTLY_*` (2007 for q8_0, 2008 for q5_0).

use std::io::{self, Read, Write};

use half::f16;
use half::slice::HalfFloatSliceExt as _;

use crate::error::ConvertError;

/// "ggml" read as a little-endian u32.
pub const MAGIC: u32 = 0x6767_6d6c;
/// ggml's `GGML_QNT_VERSION` (quantization format version) in whisper.cpp 1.8.
pub const QNT_VERSION: i32 = 2;
const QNT_VERSION_FACTOR: i32 = 1000;
/// Elements per quantization block (QK8_0 = QK5_0 = 32).
pub const QK: usize = 32;

/// The tensor types this crate writes (ggml's `ggml_type` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorType {
    F32,
    F16,
    Q5_0,
    Q8_0,
}

impl TensorType {
    /// ggml's `ggml_type` number.
    pub fn id(self) -> i32 {
        match self {
            TensorType::F32 => 0,
            TensorType::F16 => 1,
            TensorType::Q5_0 => 6,
            TensorType::Q8_0 => 8,
        }
    }

    pub fn from_id(id: i32) -> Option<Self> {
        Some(match id {
            0 => TensorType::F32,
            1 => TensorType::F16,
            6 => TensorType::Q5_0,
            8 => TensorType::Q8_0,
            _ => return None,
        })
    }

    /// Bytes taken by `n` elements (n a multiple of the block size for quantized types).
    pub fn nbytes(self, n: usize) -> usize {
        match self {
            TensorType::F32 => 4 * n,
            TensorType::F16 => 2 * n,
            TensorType::Q8_0 => n / QK * (2 + QK),
            TensorType::Q5_0 => n / QK * (2 + 4 + QK / 2),
        }
    }

    /// The file-level `ftype` of a model whose big matrices have this type.
    pub fn file_ftype(self) -> i32 {
        match self {
            TensorType::F32 => 0,
            TensorType::F16 => 1,
            // GGML_FTYPE_MOSTLY_Q8_0 = 7, GGML_FTYPE_MOSTLY_Q5_0 = 8
            TensorType::Q8_0 => QNT_VERSION * QNT_VERSION_FACTOR + 7,
            TensorType::Q5_0 => QNT_VERSION * QNT_VERSION_FACTOR + 8,
        }
    }
}

/// The eleven hyper-parameters of the header, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HParams {
    pub n_vocab: i32,
    pub n_audio_ctx: i32,
    pub n_audio_state: i32,
    pub n_audio_head: i32,
    pub n_audio_layer: i32,
    pub n_text_ctx: i32,
    pub n_text_state: i32,
    pub n_text_head: i32,
    pub n_text_layer: i32,
    pub n_mels: i32,
    pub ftype: i32,
}

impl HParams {
    fn to_array(self) -> [i32; 11] {
        [
            self.n_vocab,
            self.n_audio_ctx,
            self.n_audio_state,
            self.n_audio_head,
            self.n_audio_layer,
            self.n_text_ctx,
            self.n_text_state,
            self.n_text_head,
            self.n_text_layer,
            self.n_mels,
            self.ftype,
        ]
    }

    fn from_array(a: [i32; 11]) -> Self {
        HParams {
            n_vocab: a[0],
            n_audio_ctx: a[1],
            n_audio_state: a[2],
            n_audio_head: a[3],
            n_audio_layer: a[4],
            n_text_ctx: a[5],
            n_text_state: a[6],
            n_text_head: a[7],
            n_text_layer: a[8],
            n_mels: a[9],
            ftype: a[10],
        }
    }
}

/// Streams a ggml file out.
pub struct GgmlWriter<W: Write> {
    out: W,
    written: u64,
}

impl<W: Write> GgmlWriter<W> {
    /// Writes magic, hyper-parameters, mel filters (`n_mel` rows of `n_fft`) and vocabulary.
    pub fn new(
        mut out: W,
        hp: &HParams,
        n_mel: usize,
        n_fft: usize,
        filters: &[f32],
        vocab: &[Vec<u8>],
    ) -> io::Result<Self> {
        assert_eq!(filters.len(), n_mel * n_fft, "mel filter bank size");
        let mut head = Vec::with_capacity(64 + filters.len() * 4 + vocab.len() * 8);
        head.extend_from_slice(&MAGIC.to_le_bytes());
        for v in hp.to_array() {
            head.extend_from_slice(&v.to_le_bytes());
        }
        head.extend_from_slice(&(n_mel as i32).to_le_bytes());
        head.extend_from_slice(&(n_fft as i32).to_le_bytes());
        for f in filters {
            head.extend_from_slice(&f.to_le_bytes());
        }
        head.extend_from_slice(&(vocab.len() as i32).to_le_bytes());
        for t in vocab {
            head.extend_from_slice(&(t.len() as i32).to_le_bytes());
            head.extend_from_slice(t);
        }
        out.write_all(&head)?;
        Ok(GgmlWriter {
            out,
            written: head.len() as u64,
        })
    }

    /// Writes one tensor. `shape` is in PyTorch (row-major, outermost first)
    /// order; the file stores it reversed. `data` is row-major.
    pub fn tensor(
        &mut self,
        name: &str,
        shape: &[usize],
        ttype: TensorType,
        data: &[f32],
    ) -> io::Result<()> {
        let n: usize = shape.iter().product();
        assert_eq!(n, data.len(), "tensor {name}: shape/data mismatch");
        let mut head = Vec::with_capacity(12 + 4 * shape.len() + name.len());
        head.extend_from_slice(&(shape.len() as i32).to_le_bytes());
        head.extend_from_slice(&(name.len() as i32).to_le_bytes());
        head.extend_from_slice(&ttype.id().to_le_bytes());
        for d in shape.iter().rev() {
            head.extend_from_slice(&(*d as i32).to_le_bytes());
        }
        head.extend_from_slice(name.as_bytes());
        self.out.write_all(&head)?;
        // Bulk conversions run in the (optimised) dependencies; little-endian
        // host (asserted in ct2.rs).
        let body: Vec<u8> = match ttype {
            TensorType::F32 => bytemuck::cast_slice(data).to_vec(),
            TensorType::F16 => {
                let mut h = vec![f16::ZERO; data.len()];
                h.convert_from_f32_slice(data);
                bytemuck::cast_slice(&h).to_vec()
            }
            TensorType::Q8_0 => quantize_q8_0(data),
            TensorType::Q5_0 => quantize_q5_0(data),
        };
        debug_assert_eq!(body.len(), ttype.nbytes(n));
        self.out.write_all(&body)?;
        self.written += (head.len() + body.len()) as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Flushes and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// ggml's `quantize_row_q8_0_ref`: per block of 32, an f16 scale `d = amax/127`
/// then 32 `i8` rounded half away from zero. `x.len()` must be a multiple of 32.
pub fn quantize_q8_0(x: &[f32]) -> Vec<u8> {
    assert_eq!(x.len() % QK, 0);
    let mut out = Vec::with_capacity(x.len() / QK * (2 + QK));
    for block in x.chunks_exact(QK) {
        let amax = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
        for v in block {
            out.push((v * id).round() as i8 as u8);
        }
    }
    out
}

/// ggml's `quantize_row_q5_0_ref`: per block of 32, an f16 scale `d = max/-16`
/// (max = the value of largest magnitude), 32 high bits, then 16 bytes of low
/// nibbles (element j and j+16 share a byte).
pub fn quantize_q5_0(x: &[f32]) -> Vec<u8> {
    assert_eq!(x.len() % QK, 0);
    let mut out = Vec::with_capacity(x.len() / QK * (2 + 4 + QK / 2));
    for block in x.chunks_exact(QK) {
        let (mut amax, mut max) = (0.0f32, 0.0f32);
        for &v in block {
            if amax < v.abs() {
                amax = v.abs();
                max = v;
            }
        }
        let d = max / -16.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
        let mut qh: u32 = 0;
        let mut qs = [0u8; QK / 2];
        for j in 0..QK / 2 {
            let x0 = block[j] * id;
            let x1 = block[QK / 2 + j] * id;
            // C: MIN(31, (int8_t)(x + 16.5f)), truncation toward zero.
            let xi0 = ((x0 + 16.5) as i8).min(31) as u8;
            let xi1 = ((x1 + 16.5) as i8).min(31) as u8;
            qs[j] = (xi0 & 0x0f) | ((xi1 & 0x0f) << 4);
            qh |= (((xi0 & 0x10) >> 4) as u32) << j;
            qh |= (((xi1 & 0x10) >> 4) as u32) << (j + QK / 2);
        }
        out.extend_from_slice(&qh.to_le_bytes());
        out.extend_from_slice(&qs);
    }
    out
}

/// Inverse of [`quantize_q8_0`] (for tests and measurements).
pub fn dequantize_q8_0(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(2 + QK)
        .flat_map(|blk| {
            let d = f16::from_le_bytes([blk[0], blk[1]]).to_f32();
            blk[2..].iter().map(move |q| *q as i8 as f32 * d)
        })
        .collect()
}

/// Inverse of [`quantize_q5_0`] (for tests and measurements).
pub fn dequantize_q5_0(b: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(b.len() / 22 * QK);
    for blk in b.chunks_exact(2 + 4 + QK / 2) {
        let d = f16::from_le_bytes([blk[0], blk[1]]).to_f32();
        let qh = u32::from_le_bytes([blk[2], blk[3], blk[4], blk[5]]);
        let qs = &blk[6..];
        let mut vals = [0f32; QK];
        for j in 0..QK / 2 {
            let h0 = (((qh >> j) << 4) & 0x10) as u8;
            let h1 = ((qh >> (j + 12)) & 0x10) as u8;
            let x0 = ((qs[j] & 0x0f) | h0) as i32 - 16;
            let x1 = ((qs[j] >> 4) | h1) as i32 - 16;
            vals[j] = x0 as f32 * d;
            vals[j + QK / 2] = x1 as f32 * d;
        }
        out.extend_from_slice(&vals);
    }
    out
}

/// What the reader found about one tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    /// ggml's `ne`: innermost dimension first.
    pub ne: Vec<i32>,
    pub ttype: TensorType,
    /// Offset of the data in the file.
    pub offset: u64,
    pub nbytes: u64,
}

/// The structure of a ggml file (tensor data is skipped, not kept).
#[derive(Debug, Clone)]
pub struct GgmlInfo {
    pub hparams: HParams,
    pub n_mel: i32,
    pub n_fft: i32,
    pub filters: Vec<f32>,
    pub vocab: Vec<Vec<u8>>,
    pub tensors: Vec<TensorInfo>,
    pub file_size: u64,
}

impl GgmlInfo {
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }
}

/// Reads the structure of a ggml file, checking that every tensor's data is
/// there in full. Tensor data is read through (to reach the next header) but not kept.
pub fn read_info<R: Read>(mut r: R) -> Result<GgmlInfo, ConvertError> {
    let bad = |s: String| ConvertError::BadGgml(s);
    let mut pos: u64 = 0;
    let read_i32 = |r: &mut R, pos: &mut u64| -> Result<Option<i32>, ConvertError> {
        let mut b = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            let n = r.read(&mut b[got..])?;
            if n == 0 {
                break;
            }
            got += n;
        }
        *pos += got as u64;
        match got {
            0 => Ok(None),
            4 => Ok(Some(i32::from_le_bytes(b))),
            _ => Err(ConvertError::BadGgml(format!("truncated at offset {pos}"))),
        }
    };
    let need = |v: Option<i32>, what: &str| {
        v.ok_or_else(|| ConvertError::BadGgml(format!("truncated in {what}")))
    };
    let magic = need(read_i32(&mut r, &mut pos)?, "magic")? as u32;
    if magic != MAGIC {
        return Err(bad(format!("bad magic {magic:#x}")));
    }
    let mut a = [0i32; 11];
    for v in a.iter_mut() {
        *v = need(read_i32(&mut r, &mut pos)?, "hyper-parameters")?;
    }
    let hparams = HParams::from_array(a);
    let n_mel = need(read_i32(&mut r, &mut pos)?, "mel filters")?;
    let n_fft = need(read_i32(&mut r, &mut pos)?, "mel filters")?;
    if !(0..=1024).contains(&n_mel) || !(0..=4096).contains(&n_fft) {
        return Err(bad(format!("implausible mel filter bank {n_mel}x{n_fft}")));
    }
    let mut fb = vec![0u8; (n_mel * n_fft) as usize * 4];
    read_exact(&mut r, &mut fb, &mut pos)?;
    let filters = fb
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let n_vocab = need(read_i32(&mut r, &mut pos)?, "vocabulary")?;
    if !(0..=1_000_000).contains(&n_vocab) {
        return Err(bad(format!("implausible vocabulary size {n_vocab}")));
    }
    let mut vocab = Vec::with_capacity(n_vocab as usize);
    for _ in 0..n_vocab {
        let len = need(read_i32(&mut r, &mut pos)?, "vocabulary")?;
        if !(0..=1024).contains(&len) {
            return Err(bad(format!("implausible token length {len}")));
        }
        let mut t = vec![0u8; len as usize];
        read_exact(&mut r, &mut t, &mut pos)?;
        vocab.push(t);
    }
    let mut tensors = Vec::new();
    while let Some(n_dims) = read_i32(&mut r, &mut pos)? {
        let name_len = need(read_i32(&mut r, &mut pos)?, "tensor header")?;
        let tid = need(read_i32(&mut r, &mut pos)?, "tensor header")?;
        if !(1..=4).contains(&n_dims) || !(1..=256).contains(&name_len) {
            return Err(bad(format!("bad tensor header at offset {pos}")));
        }
        let ttype = TensorType::from_id(tid)
            .ok_or_else(|| bad(format!("unsupported tensor type {tid}")))?;
        let mut ne = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            ne.push(need(read_i32(&mut r, &mut pos)?, "tensor header")?);
        }
        let mut nb = vec![0u8; name_len as usize];
        read_exact(&mut r, &mut nb, &mut pos)?;
        let name = String::from_utf8(nb).map_err(|_| bad("tensor name is not UTF-8".into()))?;
        let n: usize = ne.iter().map(|&d| d.max(0) as usize).product();
        let nbytes = ttype.nbytes(n) as u64;
        let offset = pos;
        let copied = io::copy(&mut (&mut r).take(nbytes), &mut io::sink())?;
        pos += copied;
        if copied != nbytes {
            return Err(bad(format!(
                "tensor `{name}` truncated: {copied} of {nbytes} bytes"
            )));
        }
        tensors.push(TensorInfo {
            name,
            ne,
            ttype,
            offset,
            nbytes,
        });
    }
    Ok(GgmlInfo {
        hparams,
        n_mel,
        n_fft,
        filters,
        vocab,
        tensors,
        file_size: pos,
    })
}

fn read_exact<R: Read>(r: &mut R, buf: &mut [u8], pos: &mut u64) -> Result<(), ConvertError> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            ConvertError::BadGgml(format!("truncated at offset {pos}"))
        } else {
            ConvertError::Write(e)
        }
    })?;
    *pos += buf.len() as u64;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| ((i * 7919) % 113) as f32 / 17.0 - 3.0)
            .collect()
    }

    #[test]
    fn q8_0_matches_ggml_reference_on_a_hand_computed_block() {
        let mut x = [0f32; 32];
        // powers of two so that every product is exact: d = 1/128, 1/d = 128
        x[0] = 127.0 / 128.0;
        x[1] = -63.5 / 128.0; // exactly half a step: rounds away from zero
        x[2] = 0.5 / 128.0;
        let q = quantize_q8_0(&x);
        assert_eq!(q.len(), 34);
        let d = f16::from_le_bytes([q[0], q[1]]).to_f32();
        assert_eq!(d, 1.0 / 128.0);
        assert_eq!(q[2] as i8, 127);
        assert_eq!(q[3] as i8, -64); // -63.5 rounds away from zero
        assert_eq!(q[4] as i8, 1); // 0.5 rounds away from zero
        assert!(q[5..].iter().all(|b| *b == 0));
        // an all-zero block has d = 0 and zero codes
        assert!(quantize_q8_0(&[0.0; 32]).iter().all(|b| *b == 0));
    }

    #[test]
    fn q5_0_matches_ggml_reference_on_a_hand_computed_block() {
        let mut x = [0f32; 32];
        x[0] = -1.6; // largest magnitude, negative: d = 0.1
        x[16] = 1.5;
        x[5] = 0.04;
        let q = quantize_q5_0(&x);
        assert_eq!(q.len(), 22);
        let d = f16::from_le_bytes([q[0], q[1]]).to_f32();
        assert!((d - 0.1).abs() < 1e-4);
        let qh = u32::from_le_bytes([q[2], q[3], q[4], q[5]]);
        // x0 = -1.6 / 0.1 = -16 -> (int8)(0.5) = 0
        // x16 = 1.5 / 0.1 = 15 -> (int8)(31.5) = 31 -> low 15, high 1 at bit 16
        // x5 = 0.4 -> (int8)(16.9) = 16 -> low 0, high 1 at bit 5
        // zeros -> 16 -> low 0, high 1
        assert_eq!(q[6] & 0x0f, 0);
        assert_eq!(q[6] >> 4, 15);
        assert_eq!(qh & 1, 0);
        assert_eq!((qh >> 16) & 1, 1);
        assert_eq!((qh >> 5) & 1, 1);
        let back = dequantize_q5_0(&q);
        assert!((back[0] + 1.6).abs() < 1e-3);
        assert!((back[16] - 1.5).abs() < 1e-3);
    }

    #[test]
    fn quantizers_round_trip_within_half_a_step() {
        let x = ramp(32 * 40);
        let d8 = dequantize_q8_0(&quantize_q8_0(&x));
        let d5 = dequantize_q5_0(&quantize_q5_0(&x));
        for (b, blk) in x.chunks(32).enumerate() {
            let amax = blk.iter().fold(0f32, |m, v| m.max(v.abs()));
            for j in 0..32 {
                let i = b * 32 + j;
                assert!(
                    (d8[i] - x[i]).abs() <= amax / 127.0 * 0.5 + 1e-3,
                    "q8 at {i}"
                );
                assert!(
                    (d5[i] - x[i]).abs() <= amax / 16.0 * 0.5 + 2e-3,
                    "q5 at {i}: {} vs {}",
                    d5[i],
                    x[i]
                );
            }
        }
    }

    #[test]
    fn writer_and_reader_agree() {
        let hp = HParams {
            n_vocab: 5,
            n_audio_ctx: 4,
            n_audio_state: 32,
            n_audio_head: 2,
            n_audio_layer: 1,
            n_text_ctx: 3,
            n_text_state: 32,
            n_text_head: 2,
            n_text_layer: 1,
            n_mels: 2,
            ftype: TensorType::Q8_0.file_ftype(),
        };
        let vocab = vec![b"a".to_vec(), vec![], vec![0xc3]];
        let mut w = GgmlWriter::new(Vec::new(), &hp, 2, 3, &[0.5; 6], &vocab).unwrap();
        w.tensor("t.f32", &[4], TensorType::F32, &[1.0, 2.0, 3.0, 4.0])
            .unwrap();
        w.tensor("t.f16", &[2, 3], TensorType::F16, &[1.0; 6])
            .unwrap();
        w.tensor("t.q8", &[2, 32], TensorType::Q8_0, &ramp(64))
            .unwrap();
        w.tensor("t.q5", &[1, 32], TensorType::Q5_0, &ramp(32))
            .unwrap();
        let bytes = w.finish().unwrap();
        let info = read_info(&bytes[..]).unwrap();
        assert_eq!(info.hparams, hp);
        assert_eq!(info.hparams.ftype, 2007);
        assert_eq!((info.n_mel, info.n_fft), (2, 3));
        assert_eq!(info.vocab, vocab);
        let names: Vec<_> = info.tensors.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["t.f32", "t.f16", "t.q8", "t.q5"]);
        assert_eq!(info.tensor("t.f16").unwrap().ne, vec![3, 2]);
        assert_eq!(info.tensor("t.q8").unwrap().nbytes, 68);
        assert_eq!(info.tensor("t.q5").unwrap().nbytes, 22);
        assert_eq!(info.file_size, bytes.len() as u64);
        // a truncated file is refused
        assert!(read_info(&bytes[..bytes.len() - 1]).is_err());
        let mut bad = bytes.clone();
        bad[0] ^= 1;
        assert!(read_info(&bad[..]).is_err());
    }
}
