//! ITU-T G.711 mu-law and A-law, the telephone network's 8-bit companding.
//!
//! Why our own code rather than a crate: `hound` refuses WAV format tags 6
//! (A-law) and 7 (mu-law); the table is a few lines of arithmetic fixed by
//! the ITU standard since 1972, and we also need the *encoder* (to simulate
//! a telephone line for evaluation and to build the fixtures), which the
//! decoder crates do not offer. Both directions are tested exhaustively
//! against each other over all 256 codes.

const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 32635;

/// One mu-law byte to a 16-bit linear sample (range -32124..=32124).
pub fn ulaw_decode(code: u8) -> i16 {
    let u = !code;
    let exponent = (u >> 4) & 0x07;
    let mantissa = i32::from(u & 0x0F);
    let magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
    if u & 0x80 != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

/// A 16-bit linear sample to mu-law (segment search, as in G.711's reference code).
pub fn ulaw_encode(sample: i16) -> u8 {
    let mut s = i32::from(sample);
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    s = s.min(ULAW_CLIP) + ULAW_BIAS;
    let mut exponent = 7u8;
    let mut mask = 0x4000;
    while exponent > 0 && s & mask == 0 {
        exponent -= 1;
        mask >>= 1;
    }
    let mantissa = ((s >> (exponent + 3)) & 0x0F) as u8;
    !(sign | (exponent << 4) | mantissa)
}

/// One A-law byte to a 16-bit linear sample (range -32256..=32256).
pub fn alaw_decode(code: u8) -> i16 {
    let a = code ^ 0x55;
    let exponent = (a >> 4) & 0x07;
    let mantissa = i32::from(a & 0x0F);
    let magnitude = if exponent == 0 {
        (mantissa << 4) + 8
    } else {
        ((mantissa << 4) + 0x108) << (exponent - 1)
    };
    // In A-law a set sign bit means positive.
    if a & 0x80 != 0 {
        magnitude as i16
    } else {
        -magnitude as i16
    }
}

/// A 16-bit linear sample to A-law (segment search, as in the reference
/// `g711.c` distributed with the standard's software tools).
pub fn alaw_encode(sample: i16) -> u8 {
    const SEG_END: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];
    let mut pcm = i32::from(sample) >> 3;
    let mask = if pcm >= 0 {
        0xD5
    } else {
        pcm = -pcm - 1;
        0x55
    };
    let Some(seg) = SEG_END.iter().position(|&end| pcm <= end) else {
        return 0x7F ^ mask;
    };
    let shift = if seg < 2 { 1 } else { seg };
    let code = ((seg as u8) << 4) | ((pcm >> shift) & 0x0F) as u8;
    code ^ mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_round_trips_every_code() {
        for code in 0..=255u8 {
            let linear = ulaw_decode(code);
            // 0x7F is "negative zero": it decodes to 0, which encodes as 0xFF.
            let expected = if code == 0x7F { 0xFF } else { code };
            assert_eq!(
                ulaw_encode(linear),
                expected,
                "code {code:#04x} -> {linear}"
            );
        }
        assert_eq!(ulaw_decode(0xFF), 0);
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(ulaw_decode(0x00), -32124);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
    }

    #[test]
    fn alaw_round_trips_every_code() {
        for code in 0..=255u8 {
            let linear = alaw_decode(code);
            assert_eq!(alaw_encode(linear), code, "code {code:#04x} -> {linear}");
        }
        assert_eq!(alaw_decode(0xD5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(alaw_decode(0xAA), 32256);
        assert_eq!(alaw_encode(i16::MIN), 0x2A);
    }

    #[test]
    fn companding_error_is_small_relative_to_level() {
        for s in (-32000i32..32000).step_by(97) {
            let s = s as i16;
            for (enc, dec) in [
                (ulaw_encode as fn(i16) -> u8, ulaw_decode as fn(u8) -> i16),
                (alaw_encode, alaw_decode),
            ] {
                let back = dec(enc(s));
                let err = (i32::from(back) - i32::from(s)).abs();
                assert!(
                    err <= (i32::from(s).abs() / 16).max(16),
                    "{s} -> {back} (error {err})"
                );
            }
        }
    }
}
