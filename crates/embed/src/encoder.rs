//! The BERT encoder of multilingual-e5-small: embeddings, 12 post-LayerNorm
//! transformer layers, mean pooling.

use crate::format::{Q4Matrix, Tensors, FFN, HEADS, HIDDEN, LAYERS, MAX_POSITIONS};
use crate::q4::{matmul, MulAdd};

const HEAD_DIM: usize = HIDDEN / HEADS;

/// A linear layer: Q4_0 weights (out x in) and an f32 bias.
struct Linear {
    weight: Q4Matrix,
    bias: Vec<f32>,
}

/// LayerNorm's scale and shift.
struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: Norm,
    ff_in: Linear,
    ff_out: Linear,
    out_norm: Norm,
}

/// The weights, kept as the file's bytes (Q4_0 matrices are read in place)
/// plus f32 copies of the small tensors.
pub(crate) struct Encoder {
    file: Vec<u8>,
    word: Q4Matrix,
    /// Position embeddings, `MAX_POSITIONS` x `HIDDEN`.
    position: Vec<f32>,
    /// The embedding of token type 0 (the only one e5 uses).
    token_type: Vec<f32>,
    emb_norm: Norm,
    layers: Vec<Layer>,
    eps: f32,
}

impl Encoder {
    /// Takes the tensors of the directory, checking each one's type and shape.
    pub fn new(
        file: Vec<u8>,
        tensors: &Tensors,
        vocab: usize,
        type_vocab: usize,
        eps: f32,
    ) -> Result<Self, String> {
        let f = |name: &str, n: usize| tensors.f32s(&file, name, n);
        let linear = |prefix: &str, rows: usize, cols: usize| -> Result<Linear, String> {
            Ok(Linear {
                weight: tensors.q4(&format!("{prefix}.w"), rows, cols)?,
                bias: f(&format!("{prefix}.b"), rows)?,
            })
        };
        let norm = |prefix: &str| -> Result<Norm, String> {
            Ok(Norm {
                gamma: f(&format!("{prefix}.w"), HIDDEN)?,
                beta: f(&format!("{prefix}.b"), HIDDEN)?,
            })
        };
        let layers = (0..LAYERS)
            .map(|l| {
                Ok(Layer {
                    query: linear(&format!("l{l}.q"), HIDDEN, HIDDEN)?,
                    key: linear(&format!("l{l}.k"), HIDDEN, HIDDEN)?,
                    value: linear(&format!("l{l}.v"), HIDDEN, HIDDEN)?,
                    attn_out: linear(&format!("l{l}.ao"), HIDDEN, HIDDEN)?,
                    attn_norm: norm(&format!("l{l}.aln"))?,
                    ff_in: linear(&format!("l{l}.fi"), FFN, HIDDEN)?,
                    ff_out: linear(&format!("l{l}.fo"), HIDDEN, FFN)?,
                    out_norm: norm(&format!("l{l}.oln"))?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let mut token_type = f("emb.type", type_vocab * HIDDEN)?;
        token_type.truncate(HIDDEN);
        Ok(Encoder {
            word: tensors.q4("emb.word", vocab, HIDDEN)?,
            position: f("emb.pos", MAX_POSITIONS * HIDDEN)?,
            token_type,
            emb_norm: norm("emb.ln")?,
            layers,
            eps,
            file,
        })
    }

    /// `y = x W^T + b` for `tokens` rows of `x`.
    fn linear(&self, lin: &Linear, x: &[f32], y: &mut [f32], tokens: usize) {
        let w = &lin.weight;
        matmul(
            &self.file[w.bytes.clone()],
            w.rows,
            w.cols,
            &lin.bias,
            x,
            y,
            tokens,
        );
    }

    /// The mean over all tokens of the last layer's hidden states for `ids`
    /// (at most [`MAX_POSITIONS`] ids, `<s>` and `</s>` included). Position
    /// ids count from 0: this model was trained BERT-style, not with
    /// RoBERTa's padding offset.
    pub fn mean_hidden(&self, ids: &[u32]) -> Vec<f32> {
        let n = ids.len();
        assert!((1..=MAX_POSITIONS).contains(&n), "window of {n} tokens");
        let mut x = vec![0.0f32; n * HIDDEN];
        let word_row = self.word.row_bytes();
        for (t, (&id, row)) in ids.iter().zip(x.chunks_exact_mut(HIDDEN)).enumerate() {
            let start = self.word.bytes.start + id as usize * word_row;
            crate::q4::dequantise_row(&self.file[start..start + word_row], row);
            let pos = &self.position[t * HIDDEN..(t + 1) * HIDDEN];
            for ((v, p), ty) in row.iter_mut().zip(pos).zip(&self.token_type) {
                *v += p + ty;
            }
        }
        layer_norm(&mut x, None, &self.emb_norm, self.eps);

        let mut q = vec![0.0f32; n * HIDDEN];
        let mut k = vec![0.0f32; n * HIDDEN];
        let mut v = vec![0.0f32; n * HIDDEN];
        let mut ctx = vec![0.0f32; n * HIDDEN];
        let mut out = vec![0.0f32; n * HIDDEN];
        let mut mid = vec![0.0f32; n * FFN];
        for layer in &self.layers {
            self.linear(&layer.query, &x, &mut q, n);
            self.linear(&layer.key, &x, &mut k, n);
            self.linear(&layer.value, &x, &mut v, n);
            attention(&q, &k, &v, &mut ctx, n);
            self.linear(&layer.attn_out, &ctx, &mut out, n);
            layer_norm(&mut x, Some(&out), &layer.attn_norm, self.eps);

            self.linear(&layer.ff_in, &x, &mut mid, n);
            mid.iter_mut().for_each(|m| *m = gelu(*m));
            self.linear(&layer.ff_out, &mid, &mut out, n);
            layer_norm(&mut x, Some(&out), &layer.out_norm, self.eps);
        }

        let mut mean = vec![0.0f32; HIDDEN];
        for row in x.chunks_exact(HIDDEN) {
            mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
        }
        let inv = 1.0 / n as f32;
        mean.iter_mut().for_each(|m| *m *= inv);
        mean
    }
}

/// Multi-head self-attention over all `n` tokens (one text, no padding, so
/// no mask): `ctx = softmax(q k^T / sqrt(d)) v` for each head. Uses AVX2 and
/// FMA when the CPU has them.
fn attention(q: &[f32], k: &[f32], v: &[f32], ctx: &mut [f32], n: usize) {
    #[cfg(target_arch = "x86_64")]
    if crate::q4::has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        unsafe { attention_avx2(q, k, v, ctx, n) };
        return;
    }
    attention_with::<crate::q4::Separate>(q, k, v, ctx, n)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn attention_avx2(q: &[f32], k: &[f32], v: &[f32], ctx: &mut [f32], n: usize) {
    attention_with::<crate::q4::Fused>(q, k, v, ctx, n)
}

/// The attention itself. Each head's keys are first transposed
/// (`HEAD_DIM` x `n`), so that a token's scores against all keys are built
/// as `HEAD_DIM` multiply-adds over contiguous rows of `n`, which vectorise,
/// instead of `n` short dot products each ending in a horizontal sum.
#[inline(always)]
fn attention_with<M: MulAdd>(q: &[f32], k: &[f32], v: &[f32], ctx: &mut [f32], n: usize) {
    let scale = 1.0 / (HEAD_DIM as f32).sqrt();
    let mut keys = vec![0.0f32; HEAD_DIM * n];
    let mut scores = vec![0.0f32; n];
    for h in 0..HEADS {
        let head = h * HEAD_DIM;
        for s in 0..n {
            for e in 0..HEAD_DIM {
                keys[e * n + s] = k[s * HIDDEN + head + e];
            }
        }
        for t in 0..n {
            let qh = &q[t * HIDDEN + head..t * HIDDEN + head + HEAD_DIM];
            scores.fill(0.0);
            for (e, &qe) in qh.iter().enumerate() {
                let qe = qe * scale;
                let row = &keys[e * n..(e + 1) * n];
                for (sc, &kv) in scores.iter_mut().zip(row) {
                    *sc = M::mul_add(qe, kv, *sc);
                }
            }
            let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0.0;
            for p in scores.iter_mut() {
                *p = (*p - max).exp();
                sum += *p;
            }
            let inv = 1.0 / sum;
            let mut out = [0.0f32; HEAD_DIM];
            for (s, &p) in scores.iter().enumerate() {
                let p = p * inv;
                let vh = &v[s * HIDDEN + head..s * HIDDEN + head + HEAD_DIM];
                for (o, &vv) in out.iter_mut().zip(vh) {
                    *o = M::mul_add(p, vv, *o);
                }
            }
            ctx[t * HIDDEN + head..t * HIDDEN + head + HEAD_DIM].copy_from_slice(&out);
        }
    }
}

/// `x = LayerNorm(x + residual)` row by row (BERT's post-LayerNorm).
fn layer_norm(x: &mut [f32], residual: Option<&[f32]>, norm: &Norm, eps: f32) {
    for (t, row) in x.chunks_exact_mut(HIDDEN).enumerate() {
        if let Some(r) = residual {
            row.iter_mut()
                .zip(&r[t * HIDDEN..(t + 1) * HIDDEN])
                .for_each(|(x, r)| *x += r);
        }
        let mean = row.iter().sum::<f32>() / HIDDEN as f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / HIDDEN as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, g), b) in row.iter_mut().zip(&norm.gamma).zip(&norm.beta) {
            *v = (*v - mean) * inv * g + b;
        }
    }
}

/// The exact GELU BERT uses, `x/2 (1 + erf(x/sqrt 2))` (not the tanh
/// approximation).
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + libm::erff(x * std::f32::consts::FRAC_1_SQRT_2))
}
