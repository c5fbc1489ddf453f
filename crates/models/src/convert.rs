//! CTranslate2 Whisper (`WhisperSpec`) to whisper.cpp ggml.
//!
//! whisper.cpp names its tensors after OpenAI's PyTorch state dict
//! (`encoder.blocks.0.attn.query.weight`, ...). CTranslate2 renames them and
//! fuses some: self-attention `linear_0` holds query, key and value stacked
//! on rows (3n x n), cross-attention `linear_1` holds key and value (2n x n),
//! and the key projections gain a bias that is all zeros (Whisper's key has
//! none; a constant key bias would shift every attention logit of a query by
//! the same amount, which softmax ignores, so dropping it is exact in any case).
//! The output projection is an alias of the token embeddings, as in whisper.cpp.
//!
//! Types follow whisper.cpp's loader: f32 for biases, layer norms,
//! positional embeddings and conv biases (stored [n, 1]); f16 for conv
//! kernels; f16 (or the quantized type) for every other 2-D matrix, the token
//! embedding included; exactly what its `quantize` tool would produce from
//! an f16 file. Tensors are written in the PyTorch state dict's order.

use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::assets::Array2;
use crate::ct2::Ct2Model;
use crate::error::ConvertError;
use crate::ggml::{GgmlWriter, HParams, TensorType};

/// Storage of the large matrices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum Quantization {
    #[serde(rename = "f16")]
    F16,
    #[serde(rename = "q8_0")]
    Q8_0,
    #[serde(rename = "q5_0")]
    Q5_0,
    /// GGML Q4_0: only for models copied as published (e5-small); the
    /// Whisper converter does not write it.
    #[serde(rename = "q4_0")]
    Q4_0,
}

impl Quantization {
    /// The ggml type of the big 2-D matrices of a converted Whisper model;
    /// `None` for a storage the converter does not produce.
    pub fn tensor_type(self) -> Option<TensorType> {
        match self {
            Quantization::F16 => Some(TensorType::F16),
            Quantization::Q8_0 => Some(TensorType::Q8_0),
            Quantization::Q5_0 => Some(TensorType::Q5_0),
            Quantization::Q4_0 => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Quantization::F16 => "f16",
            Quantization::Q8_0 => "q8_0",
            Quantization::Q5_0 => "q5_0",
            Quantization::Q4_0 => "q4_0",
        }
    }
}

impl std::fmt::Display for Quantization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What whisper.cpp embeds besides the weights.
#[derive(Debug, Clone)]
pub struct Assets {
    /// The mel filter bank for the model's `n_mels` (80 rows of 201 for all but large-v3).
    pub mel_filters: Array2,
    /// The byte-level BPE vocabulary, by rank (whisper.cpp adds the special tokens itself).
    pub vocab: Vec<Vec<u8>>,
}

/// What a conversion produced.
#[derive(Debug, Clone)]
pub struct ConvertSummary {
    pub hparams: HParams,
    pub tensors: usize,
    pub bytes: u64,
}

/// Whisper's encoder context: 30 s of audio after the stride-2 convolution.
const DEFAULT_AUDIO_CTX: usize = 1500;

/// Reads the hyper-parameters off the variables' shapes (`ftype` set from `quant`).
pub fn hparams_of(m: &Ct2Model, quant: Quantization) -> Result<HParams, ConvertError> {
    if m.spec != "WhisperSpec" {
        return Err(ConvertError::Unsupported(format!(
            "spec `{}`, expected WhisperSpec",
            m.spec
        )));
    }
    let conv1 = m.get("encoder/conv1/weight")?;
    if conv1.shape.len() != 3 || conv1.shape[2] != 3 {
        return Err(ConvertError::Shape {
            name: conv1.name.clone(),
            expected: vec![0, 0, 3],
            actual: conv1.shape.clone(),
        });
    }
    let emb = m.get("decoder/embeddings/weight")?;
    if emb.shape.len() != 2 {
        return Err(ConvertError::Unsupported(
            "decoder embeddings are not 2-D".into(),
        ));
    }
    let n_audio_ctx = match m.get("encoder/position_encodings/encodings") {
        Ok(v) => v.shape[0],
        Err(_) => DEFAULT_AUDIO_CTX,
    };
    let count_layers = |side: &str| {
        (0..)
            .take_while(|i| m.has(&format!("{side}/layer_{i}/ffn/linear_0/weight")))
            .count()
    };
    let n_audio_layer = count_layers("encoder");
    let n_text_layer = count_layers("decoder");
    if n_audio_layer == 0 || n_text_layer == 0 {
        return Err(ConvertError::MissingVariable(
            "encoder/layer_0 or decoder/layer_0".into(),
        ));
    }
    let i32_of = |v: usize| v as i32;
    Ok(HParams {
        n_vocab: i32_of(emb.shape[0]),
        n_audio_ctx: i32_of(n_audio_ctx),
        n_audio_state: i32_of(conv1.shape[0]),
        n_audio_head: m.get("encoder/num_heads")?.scalar_i64()? as i32,
        n_audio_layer: i32_of(n_audio_layer),
        n_text_ctx: i32_of(m.get("decoder/position_encodings/encodings")?.shape[0]),
        n_text_state: i32_of(emb.shape[1]),
        n_text_head: m.get("decoder/num_heads")?.scalar_i64()? as i32,
        n_text_layer: i32_of(n_text_layer),
        n_mels: i32_of(conv1.shape[1]),
        ftype: whisper_type(quant)?.file_ftype(),
    })
}

/// Whisper's sinusoidal positional embedding (`whisper.model.sinusoids`), in f32.
pub fn sinusoids(length: usize, channels: usize) -> Vec<f32> {
    let half = channels / 2;
    let inc = (10000f64).ln() / (half as f64 - 1.0);
    let inv: Vec<f32> = (0..half).map(|i| (-inc * i as f64).exp() as f32).collect();
    let mut out = Vec::with_capacity(length * channels);
    for t in 0..length {
        let row: Vec<f32> = inv.iter().map(|s| t as f32 * s).collect();
        out.extend(row.iter().map(|x| x.sin()));
        out.extend(row.iter().map(|x| x.cos()));
    }
    out
}

/// One tensor to write: its whisper.cpp name, its PyTorch shape and its values.
struct Out {
    name: String,
    shape: Vec<usize>,
    data: Vec<f32>,
}

/// Collects the tensors in state-dict order, splitting the fused projections.
struct Plan<'m, 'a> {
    m: &'m Ct2Model<'a>,
    n: usize,
    out: Vec<Out>,
}

impl Plan<'_, '_> {
    fn var(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, ConvertError> {
        let v = self.m.get(name)?;
        if v.shape != shape {
            return Err(ConvertError::Shape {
                name: name.to_string(),
                expected: shape.to_vec(),
                actual: v.shape.clone(),
            });
        }
        v.to_f32()
    }

    fn push(&mut self, name: String, shape: Vec<usize>, data: Vec<f32>) {
        self.out.push(Out { name, shape, data });
    }

    fn copy(&mut self, to: String, from: &str, shape: &[usize]) -> Result<(), ConvertError> {
        let data = self.var(from, shape)?;
        self.push(to, shape.to_vec(), data);
        Ok(())
    }

    fn layer_norm(&mut self, to: &str, from: &str) -> Result<(), ConvertError> {
        let n = self.n;
        self.copy(format!("{to}.weight"), &format!("{from}/gamma"), &[n])?;
        self.copy(format!("{to}.bias"), &format!("{from}/beta"), &[n])
    }

    fn mlp(&mut self, to: &str, from: &str) -> Result<(), ConvertError> {
        let n = self.n;
        self.copy(
            format!("{to}.mlp.0.weight"),
            &format!("{from}/linear_0/weight"),
            &[4 * n, n],
        )?;
        self.copy(
            format!("{to}.mlp.0.bias"),
            &format!("{from}/linear_0/bias"),
            &[4 * n],
        )?;
        self.copy(
            format!("{to}.mlp.2.weight"),
            &format!("{from}/linear_1/weight"),
            &[n, 4 * n],
        )?;
        self.copy(
            format!("{to}.mlp.2.bias"),
            &format!("{from}/linear_1/bias"),
            &[n],
        )
    }

    /// query, key (no bias), value, out: from a fused QKV (self-attention) or
    /// a query plus fused KV (cross-attention).
    /// A block's self-attention and its layer norm (encoder and decoder alike).
    fn self_attention(&mut self, to: &str, from: &str) -> Result<(), ConvertError> {
        self.attention(
            &format!("{to}.attn"),
            &format!("{from}/self_attention"),
            false,
        )?;
        self.layer_norm(
            &format!("{to}.attn_ln"),
            &format!("{from}/self_attention/layer_norm"),
        )
    }

    /// A block's MLP and its layer norm (encoder and decoder alike).
    fn feed_forward(&mut self, to: &str, from: &str) -> Result<(), ConvertError> {
        self.mlp(to, &format!("{from}/ffn"))?;
        self.layer_norm(&format!("{to}.mlp_ln"), &format!("{from}/ffn/layer_norm"))
    }

    fn attention(&mut self, to: &str, from: &str, cross: bool) -> Result<(), ConvertError> {
        let n = self.n;
        let nn = n * n;
        let (qw, qb, kvw, kvb, out) = if cross {
            let qw = self.var(&format!("{from}/linear_0/weight"), &[n, n])?;
            let qb = self.var(&format!("{from}/linear_0/bias"), &[n])?;
            let kvw = self.var(&format!("{from}/linear_1/weight"), &[2 * n, n])?;
            let kvb = self.var(&format!("{from}/linear_1/bias"), &[2 * n])?;
            (qw, qb, kvw, kvb, "linear_2")
        } else {
            let w = self.var(&format!("{from}/linear_0/weight"), &[3 * n, n])?;
            let b = self.var(&format!("{from}/linear_0/bias"), &[3 * n])?;
            (
                w[..nn].to_vec(),
                b[..n].to_vec(),
                w[nn..].to_vec(),
                b[n..].to_vec(),
                "linear_1",
            )
        };
        if kvb[..n].iter().any(|x| *x != 0.0) {
            tracing::warn!(
                variable = from,
                "non-zero key bias dropped (whisper.cpp has none; softmax is invariant to it)"
            );
        }
        self.push(format!("{to}.query.weight"), vec![n, n], qw);
        self.push(format!("{to}.query.bias"), vec![n], qb);
        self.push(format!("{to}.key.weight"), vec![n, n], kvw[..nn].to_vec());
        self.push(format!("{to}.value.weight"), vec![n, n], kvw[nn..].to_vec());
        self.push(format!("{to}.value.bias"), vec![n], kvb[n..].to_vec());
        self.copy(
            format!("{to}.out.weight"),
            &format!("{from}/{out}/weight"),
            &[n, n],
        )?;
        self.copy(
            format!("{to}.out.bias"),
            &format!("{from}/{out}/bias"),
            &[n],
        )
    }
}

/// The type of a converted model's large matrices, or an error for a
/// storage the converter does not write.
fn whisper_type(quant: Quantization) -> Result<TensorType, ConvertError> {
    quant.tensor_type().ok_or_else(|| {
        ConvertError::Unsupported(format!("Whisper models are not converted to {quant}"))
    })
}

/// The ggml type whisper.cpp's loader expects for `name` of PyTorch `shape`.
pub fn tensor_type_for(name: &str, shape: &[usize], quant: Quantization) -> TensorType {
    let always_f32 = matches!(
        name,
        "encoder.conv1.bias"
            | "encoder.conv2.bias"
            | "encoder.positional_embedding"
            | "decoder.positional_embedding"
    );
    if always_f32 || shape.len() < 2 {
        TensorType::F32
    } else if shape.len() == 2 {
        // `convert` refuses other storages before any tensor is written.
        quant.tensor_type().unwrap_or(TensorType::F16)
    } else {
        // conv kernels stay f16 in quantized files too
        TensorType::F16
    }
}

/// Converts `model` to a whisper.cpp ggml file written to `out`.
pub fn convert<W: Write>(
    model: &Ct2Model,
    assets: &Assets,
    quant: Quantization,
    out: W,
) -> Result<ConvertSummary, ConvertError> {
    let hp = hparams_of(model, quant)?;
    if hp.n_audio_state != hp.n_text_state {
        return Err(ConvertError::Unsupported(
            "encoder and decoder widths differ".into(),
        ));
    }
    let n = hp.n_audio_state as usize;
    let n_mels = hp.n_mels as usize;
    let mel = &assets.mel_filters;
    if mel.rows != n_mels {
        return Err(ConvertError::Asset {
            name: "mel filters".into(),
            detail: format!("{} filters for a model with {n_mels} mel bins", mel.rows),
        });
    }
    if assets.vocab.len() > hp.n_vocab as usize {
        return Err(ConvertError::Asset {
            name: "vocabulary".into(),
            detail: format!(
                "{} tokens for a model with n_vocab = {}",
                assets.vocab.len(),
                hp.n_vocab
            ),
        });
    }

    let mut p = Plan {
        m: model,
        n,
        out: Vec::new(),
    };
    // encoder: positional embedding (a buffer, so first), convolutions, blocks, final norm
    let ctx = hp.n_audio_ctx as usize;
    let pe = match model.get("encoder/position_encodings/encodings") {
        Ok(_) => p.var("encoder/position_encodings/encodings", &[ctx, n])?,
        Err(_) => sinusoids(ctx, n),
    };
    p.push("encoder.positional_embedding".into(), vec![ctx, n], pe);
    p.copy(
        "encoder.conv1.weight".into(),
        "encoder/conv1/weight",
        &[n, n_mels, 3],
    )?;
    p.copy("encoder.conv1.bias".into(), "encoder/conv1/bias", &[n])?;
    p.copy(
        "encoder.conv2.weight".into(),
        "encoder/conv2/weight",
        &[n, n, 3],
    )?;
    p.copy("encoder.conv2.bias".into(), "encoder/conv2/bias", &[n])?;
    for i in 0..hp.n_audio_layer {
        let (to, from) = (format!("encoder.blocks.{i}"), format!("encoder/layer_{i}"));
        p.self_attention(&to, &from)?;
        p.feed_forward(&to, &from)?;
    }
    p.layer_norm("encoder.ln_post", "encoder/layer_norm")?;
    // decoder: positional embedding (a parameter of the decoder itself), token embedding, blocks, norm
    let tctx = hp.n_text_ctx as usize;
    p.copy(
        "decoder.positional_embedding".into(),
        "decoder/position_encodings/encodings",
        &[tctx, n],
    )?;
    p.copy(
        "decoder.token_embedding.weight".into(),
        "decoder/embeddings/weight",
        &[hp.n_vocab as usize, n],
    )?;
    for i in 0..hp.n_text_layer {
        let (to, from) = (format!("decoder.blocks.{i}"), format!("decoder/layer_{i}"));
        p.self_attention(&to, &from)?;
        p.attention(
            &format!("{to}.cross_attn"),
            &format!("{from}/attention"),
            true,
        )?;
        p.layer_norm(
            &format!("{to}.cross_attn_ln"),
            &format!("{from}/attention/layer_norm"),
        )?;
        p.feed_forward(&to, &from)?;
    }
    p.layer_norm("decoder.ln", "decoder/layer_norm")?;

    let mut w = GgmlWriter::new(out, &hp, mel.rows, mel.cols, &mel.data, &assets.vocab)?;
    let count = p.out.len();
    for t in p.out {
        let ttype = tensor_type_for(&t.name, &t.shape, quant);
        // whisper.cpp wants the conv biases as [n, 1]
        let shape = if t.name == "encoder.conv1.bias" || t.name == "encoder.conv2.bias" {
            vec![t.shape[0], 1]
        } else {
            t.shape
        };
        w.tensor(&t.name, &shape, ttype, &t.data)?;
    }
    let bytes = w.written();
    w.finish()?;
    Ok(ConvertSummary {
        hparams: hp,
        tensors: count,
        bytes,
    })
}

/// Builders of tiny synthetic inputs, for this crate's tests and its users' tests.
#[doc(hidden)]
pub mod synthetic {
    use half::f16;

    use crate::ct2::{write_model, DType};

    /// Dimensions of a toy Whisper.
    #[derive(Debug, Clone, Copy)]
    pub struct Dims {
        pub n_vocab: usize,
        pub n_audio_ctx: usize,
        pub n_state: usize,
        pub n_head: usize,
        pub n_audio_layer: usize,
        pub n_text_ctx: usize,
        pub n_text_layer: usize,
        pub n_mels: usize,
    }

    impl Default for Dims {
        fn default() -> Self {
            // n_state must be a multiple of 32 for the quantized variants
            Dims {
                n_vocab: 40,
                n_audio_ctx: 6,
                n_state: 32,
                n_head: 2,
                n_audio_layer: 2,
                n_text_ctx: 5,
                n_text_layer: 1,
                n_mels: 4,
            }
        }
    }

    /// Builds a version-1 `.npy` of a C-ordered `<f4` 2-D array.
    pub fn npy(rows: usize, cols: usize, data: &[f32]) -> Vec<u8> {
        let mut header =
            format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        for x in data {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out
    }

    /// Builds an `.npz` (deflated, like `np.savez_compressed`) holding `arrays`.
    pub fn npz(arrays: &[(&str, Vec<u8>)]) -> Vec<u8> {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in arrays {
            zip.start_file(format!("{name}.npy"), opts).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    /// Builds a wheel-like zip holding `members` (name, bytes).
    pub fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in members {
            zip.start_file(*name, opts).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    /// Builds an sdist-like `.tar.gz` holding `members` (path, bytes).
    pub fn tar_gz(members: &[(&str, &[u8])]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        for (name, bytes) in members {
            let mut h = tar::Header::new_gnu();
            h.set_size(bytes.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            tar.append_data(&mut h, name, *bytes).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap()
    }

    /// A deterministic value for element `i` of the variable called `name`,
    /// so tests can tell where every number went.
    pub fn value(name: &str, i: usize) -> f32 {
        let h = name
            .bytes()
            .fold(17u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
        let v = ((h as usize).wrapping_add(i * 7919) % 2001) as f32 / 1000.0 - 1.0;
        // exactly representable in f16, so f16 round trips are exact
        f16::from_f32(v).to_f32()
    }

    /// A CTranslate2 `model.bin` with WhisperSpec's variables, f16 like the real one.
    /// With `key_bias_zero` the fused key biases are zeros, as in real exports.
    pub fn ct2_whisper(d: Dims) -> Vec<u8> {
        let n = d.n_state;
        let mut vars: Vec<(String, Vec<usize>)> = Vec::new();
        let mut add = |name: String, shape: Vec<usize>| vars.push((name, shape));
        add("encoder/conv1/weight".into(), vec![n, d.n_mels, 3]);
        add("encoder/conv1/bias".into(), vec![n]);
        add("encoder/conv2/weight".into(), vec![n, n, 3]);
        add("encoder/conv2/bias".into(), vec![n]);
        add(
            "encoder/position_encodings/encodings".into(),
            vec![d.n_audio_ctx, n],
        );
        add(
            "decoder/position_encodings/encodings".into(),
            vec![d.n_text_ctx, n],
        );
        add("decoder/embeddings/weight".into(), vec![d.n_vocab, n]);
        for side in ["encoder", "decoder"] {
            add(format!("{side}/layer_norm/gamma"), vec![n]);
            add(format!("{side}/layer_norm/beta"), vec![n]);
            let layers = if side == "encoder" {
                d.n_audio_layer
            } else {
                d.n_text_layer
            };
            for i in 0..layers {
                let l = format!("{side}/layer_{i}");
                for ln in ["self_attention", "ffn"] {
                    add(format!("{l}/{ln}/layer_norm/gamma"), vec![n]);
                    add(format!("{l}/{ln}/layer_norm/beta"), vec![n]);
                }
                add(
                    format!("{l}/self_attention/linear_0/weight"),
                    vec![3 * n, n],
                );
                add(format!("{l}/self_attention/linear_0/bias"), vec![3 * n]);
                add(format!("{l}/self_attention/linear_1/weight"), vec![n, n]);
                add(format!("{l}/self_attention/linear_1/bias"), vec![n]);
                add(format!("{l}/ffn/linear_0/weight"), vec![4 * n, n]);
                add(format!("{l}/ffn/linear_0/bias"), vec![4 * n]);
                add(format!("{l}/ffn/linear_1/weight"), vec![n, 4 * n]);
                add(format!("{l}/ffn/linear_1/bias"), vec![n]);
                if side == "decoder" {
                    add(format!("{l}/attention/layer_norm/gamma"), vec![n]);
                    add(format!("{l}/attention/layer_norm/beta"), vec![n]);
                    add(format!("{l}/attention/linear_0/weight"), vec![n, n]);
                    add(format!("{l}/attention/linear_0/bias"), vec![n]);
                    add(format!("{l}/attention/linear_1/weight"), vec![2 * n, n]);
                    add(format!("{l}/attention/linear_1/bias"), vec![2 * n]);
                    add(format!("{l}/attention/linear_2/weight"), vec![n, n]);
                    add(format!("{l}/attention/linear_2/bias"), vec![n]);
                }
            }
        }
        let mut out: Vec<(String, Vec<usize>, DType, Vec<u8>)> = vars
            .into_iter()
            .map(|(name, shape)| {
                let len: usize = shape.iter().product();
                let key_bias = name.ends_with("self_attention/linear_0/bias")
                    || name.ends_with("attention/linear_1/bias");
                let data = (0..len)
                    .flat_map(|i| {
                        // the key block: rows n..2n of the fused QKV bias, rows 0..n of the fused KV bias
                        let zero = key_bias
                            && ((name.ends_with("self_attention/linear_0/bias")
                                && (n..2 * n).contains(&i))
                                || (!name.contains("self_attention") && i < n));
                        let v = if zero { 0.0 } else { value(&name, i) };
                        f16::from_f32(v).to_le_bytes()
                    })
                    .collect();
                (name, shape, DType::F16, data)
            })
            .collect();
        for (name, v) in [
            ("encoder/num_heads", d.n_head as i16),
            ("decoder/num_heads", d.n_head as i16),
        ] {
            out.push((name.into(), vec![], DType::I16, v.to_le_bytes().to_vec()));
        }
        out.push((
            "decoder/scale_embeddings".into(),
            vec![],
            DType::I8,
            vec![0],
        ));
        out.sort_by(|a, b| a.0.cmp(&b.0));
        write_model(
            "WhisperSpec",
            3,
            &out,
            &[(
                "decoder/projection/weight".into(),
                "decoder/embeddings/weight".into(),
            )],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::synthetic::{ct2_whisper, value, Dims};
    use super::*;
    use crate::ggml::{dequantize_q8_0, read_info};

    fn assets(d: &Dims) -> Assets {
        Assets {
            mel_filters: Array2 {
                rows: d.n_mels,
                cols: 7,
                data: (0..d.n_mels * 7).map(|i| i as f32 / 10.0).collect(),
            },
            vocab: (0..d.n_vocab - 3)
                .map(|i| format!("t{i}").into_bytes())
                .collect(),
        }
    }

    fn convert_to_vec(d: Dims, q: Quantization) -> Vec<u8> {
        let bin = ct2_whisper(d);
        let m = Ct2Model::parse(&bin).unwrap();
        let mut out = Vec::new();
        let s = convert(&m, &assets(&d), q, &mut out).unwrap();
        assert_eq!(s.bytes, out.len() as u64);
        out
    }

    fn f32_at(bytes: &[u8], off: u64, i: usize) -> f32 {
        let o = off as usize + 4 * i;
        f32::from_le_bytes(bytes[o..o + 4].try_into().unwrap())
    }
    fn f16_at(bytes: &[u8], off: u64, i: usize) -> f32 {
        let o = off as usize + 2 * i;
        half::f16::from_le_bytes([bytes[o], bytes[o + 1]]).to_f32()
    }

    #[test]
    fn header_hyper_parameters_mel_and_vocabulary() {
        let d = Dims::default();
        let out = convert_to_vec(d, Quantization::F16);
        assert_eq!(&out[..4], b"lmgg", "magic 0x67676d6c little-endian");
        let info = read_info(&out[..]).unwrap();
        let hp = info.hparams;
        assert_eq!(
            [
                hp.n_vocab,
                hp.n_audio_ctx,
                hp.n_audio_state,
                hp.n_audio_head,
                hp.n_audio_layer,
                hp.n_text_ctx,
                hp.n_text_state,
                hp.n_text_head,
                hp.n_text_layer,
                hp.n_mels,
                hp.ftype
            ],
            [40, 6, 32, 2, 2, 5, 32, 2, 1, 4, 1]
        );
        assert_eq!((info.n_mel, info.n_fft), (4, 7));
        assert_eq!(info.filters, assets(&d).mel_filters.data);
        assert_eq!(info.vocab, assets(&d).vocab);
    }

    #[test]
    fn tensor_names_order_shapes_and_types() {
        let d = Dims::default();
        let out = convert_to_vec(d, Quantization::F16);
        let info = read_info(&out[..]).unwrap();
        // 5 + 15 per encoder block + 2, then 2 + 24 per decoder block + 2
        assert_eq!(info.tensors.len(), 5 + 15 * 2 + 2 + 2 + 24 + 2);
        let names: Vec<&str> = info.tensors.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            &names[..12],
            [
                "encoder.positional_embedding",
                "encoder.conv1.weight",
                "encoder.conv1.bias",
                "encoder.conv2.weight",
                "encoder.conv2.bias",
                "encoder.blocks.0.attn.query.weight",
                "encoder.blocks.0.attn.query.bias",
                "encoder.blocks.0.attn.key.weight",
                "encoder.blocks.0.attn.value.weight",
                "encoder.blocks.0.attn.value.bias",
                "encoder.blocks.0.attn.out.weight",
                "encoder.blocks.0.attn.out.bias",
            ]
        );
        assert!(
            !names.iter().any(|n| n.contains("key.bias")),
            "whisper.cpp has no key bias"
        );
        assert!(names.contains(&"decoder.blocks.0.cross_attn.value.bias"));
        assert_eq!(names.last(), Some(&"decoder.ln.bias"));
        let t = |n: &str| info.tensor(n).unwrap_or_else(|| panic!("{n} missing"));
        let expect = [
            ("encoder.positional_embedding", vec![32, 6], TensorType::F32),
            ("encoder.conv1.weight", vec![3, 4, 32], TensorType::F16),
            ("encoder.conv1.bias", vec![1, 32], TensorType::F32),
            ("encoder.conv2.weight", vec![3, 32, 32], TensorType::F16),
            ("encoder.conv2.bias", vec![1, 32], TensorType::F32),
            (
                "encoder.blocks.1.attn.query.weight",
                vec![32, 32],
                TensorType::F16,
            ),
            (
                "encoder.blocks.1.attn.query.bias",
                vec![32],
                TensorType::F32,
            ),
            (
                "encoder.blocks.1.mlp.0.weight",
                vec![32, 128],
                TensorType::F16,
            ),
            (
                "encoder.blocks.1.mlp.2.weight",
                vec![128, 32],
                TensorType::F16,
            ),
            ("encoder.blocks.1.mlp_ln.weight", vec![32], TensorType::F32),
            ("encoder.ln_post.bias", vec![32], TensorType::F32),
            ("decoder.positional_embedding", vec![32, 5], TensorType::F32),
            (
                "decoder.token_embedding.weight",
                vec![32, 40],
                TensorType::F16,
            ),
            (
                "decoder.blocks.0.cross_attn.key.weight",
                vec![32, 32],
                TensorType::F16,
            ),
            (
                "decoder.blocks.0.cross_attn_ln.bias",
                vec![32],
                TensorType::F32,
            ),
            ("decoder.ln.weight", vec![32], TensorType::F32),
        ];
        for (name, ne, ty) in expect {
            assert_eq!(t(name).ne, ne, "{name} shape");
            assert_eq!(t(name).ttype, ty, "{name} type");
        }
    }

    #[test]
    fn fused_projections_are_split_at_the_right_rows() {
        let d = Dims::default();
        let n = d.n_state;
        let out = convert_to_vec(d, Quantization::F16);
        let info = read_info(&out[..]).unwrap();
        let off = |name: &str| info.tensor(name).unwrap().offset;
        let qkv = "encoder/layer_1/self_attention/linear_0/weight";
        for (name, row0) in [("query", 0), ("key", n), ("value", 2 * n)] {
            let o = off(&format!("encoder.blocks.1.attn.{name}.weight"));
            for i in [0, 1, n * n - 1] {
                assert_eq!(f16_at(&out, o, i), value(qkv, row0 * n + i), "{name}[{i}]");
            }
        }
        let qkv_b = "encoder/layer_1/self_attention/linear_0/bias";
        let o = off("encoder.blocks.1.attn.value.bias");
        assert_eq!(f32_at(&out, o, 3), value(qkv_b, 2 * n + 3));
        let kv = "decoder/layer_0/attention/linear_1/weight";
        assert_eq!(
            f16_at(&out, off("decoder.blocks.0.cross_attn.key.weight"), 5),
            value(kv, 5)
        );
        assert_eq!(
            f16_at(&out, off("decoder.blocks.0.cross_attn.value.weight"), 5),
            value(kv, n * n + 5)
        );
        let kv_b = "decoder/layer_0/attention/linear_1/bias";
        assert_eq!(
            f32_at(&out, off("decoder.blocks.0.cross_attn.value.bias"), 2),
            value(kv_b, n + 2)
        );
        assert_eq!(
            f16_at(&out, off("decoder.blocks.0.cross_attn.out.weight"), 7),
            value("decoder/layer_0/attention/linear_2/weight", 7)
        );
        assert_eq!(
            f32_at(&out, off("decoder.blocks.0.mlp_ln.weight"), 1),
            value("decoder/layer_0/ffn/layer_norm/gamma", 1)
        );
        assert_eq!(
            f32_at(&out, off("encoder.positional_embedding"), 9),
            value("encoder/position_encodings/encodings", 9)
        );
    }

    #[test]
    fn q8_0_quantizes_only_the_2d_matrices() {
        let d = Dims::default();
        let out = convert_to_vec(d, Quantization::Q8_0);
        let info = read_info(&out[..]).unwrap();
        assert_eq!(info.hparams.ftype, 2007);
        for t in &info.tensors {
            let expected = if t.name.contains("positional_embedding")
                || t.ne.len() == 1
                || (t.name.contains("conv") && t.ne.len() == 2)
            {
                TensorType::F32
            } else if t.ne.len() == 3 {
                TensorType::F16
            } else {
                TensorType::Q8_0
            };
            assert_eq!(t.ttype, expected, "{}", t.name);
        }
        let emb = info.tensor("decoder.token_embedding.weight").unwrap();
        let o = emb.offset as usize;
        let back = dequantize_q8_0(&out[o..o + emb.nbytes as usize]);
        let src = "decoder/embeddings/weight";
        let max_err = (0..back.len())
            .map(|i| (back[i] - value(src, i)).abs())
            .fold(0f32, f32::max);
        assert!(max_err < 1.0 / 127.0, "max error {max_err}");
        assert_eq!(
            read_info(&convert_to_vec(d, Quantization::Q5_0)[..])
                .unwrap()
                .hparams
                .ftype,
            2008
        );
    }

    #[test]
    fn refuses_wrong_shapes_and_missing_variables() {
        let d = Dims::default();
        let bin = ct2_whisper(d);
        let m = Ct2Model::parse(&bin).unwrap();
        let mut a = assets(&d);
        a.mel_filters.rows = 3;
        assert!(matches!(
            convert(&m, &a, Quantization::F16, Vec::new()),
            Err(ConvertError::Asset { .. })
        ));

        let mut m2 = Ct2Model::parse(&bin).unwrap();
        m2.variables
            .remove("decoder/layer_0/attention/linear_2/bias");
        let e = convert(&m2, &assets(&d), Quantization::F16, Vec::new()).unwrap_err();
        assert!(e.to_string().contains("linear_2/bias"), "{e}");

        let mut m3 = Ct2Model::parse(&bin).unwrap();
        m3.variables
            .get_mut("encoder/layer_0/ffn/linear_1/weight")
            .unwrap()
            .shape = vec![128, 32];
        assert!(matches!(
            convert(&m3, &assets(&d), Quantization::F16, Vec::new()),
            Err(ConvertError::Shape { .. })
        ));

        let mut m4 = Ct2Model::parse(&bin).unwrap();
        m4.spec = "TransformerSpec".into();
        assert!(matches!(
            convert(&m4, &assets(&d), Quantization::F16, Vec::new()),
            Err(ConvertError::Unsupported(_))
        ));
    }

    #[test]
    fn sinusoids_match_whisper_definition() {
        let s = sinusoids(1500, 512);
        assert_eq!(s.len(), 1500 * 512);
        assert_eq!(s[0], 0.0); // sin(0)
        assert_eq!(s[256], 1.0); // cos(0)
                                 // t = 1, channel 0: sin(1 * exp(0)) = sin(1)
        assert!((s[512] - 1f32.sin()).abs() < 1e-6);
        // t = 1, last sin channel: sin(1 * 1e-4)
        assert!((s[512 + 255] - 1e-4).abs() < 1e-7);
    }
}
