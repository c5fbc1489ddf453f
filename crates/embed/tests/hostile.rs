//! Damaged and foreign files are refused with an error naming the file,
//! never a panic: missing, empty, truncated anywhere, wrong magic, absurd
//! dimensions, and bytes overwritten in the header, tokenizer and directory.

mod common;

use std::path::Path;

use recueil_embed::{EmbedError, Role, SentenceModel};

/// A header with the given hyper-parameters and nothing after it.
fn header(magic: &[u8; 4], dims: [i32; 7]) -> Vec<u8> {
    let mut b = magic.to_vec();
    b.extend(1u32.to_le_bytes());
    for d in dims {
        b.extend(d.to_le_bytes());
    }
    b.extend(1e-12f32.to_le_bytes());
    b.extend(32i32.to_le_bytes());
    b
}

const E5_DIMS: [i32; 7] = [384, 12, 12, 1536, 250_037, 512, 2];

/// Writes `bytes` to a file and loads it: it must be refused.
fn refused(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.bin");
    std::fs::write(&path, bytes).unwrap();
    match SentenceModel::load(&path) {
        Ok(_) => panic!("a damaged file was accepted"),
        Err(e @ EmbedError::Format { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains(&path.display().to_string()), "{msg}");
            assert!(msg.contains("recueil models fetch e5-small"), "{msg}");
            msg
        }
        Err(e) => panic!("unexpected error {e}"),
    }
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let e = SentenceModel::load(Path::new("/nonexistent/e5-small-q4.bin")).unwrap_err();
    assert!(matches!(e, EmbedError::Io { .. }), "{e}");
    assert!(
        e.to_string().contains("/nonexistent/e5-small-q4.bin"),
        "{e}"
    );
}

#[test]
fn empty_and_foreign_files_are_refused() {
    assert!(refused(b"").contains("truncated"));
    assert!(refused(b"E5").contains("truncated"));
    assert!(refused(&header(b"GGUF", E5_DIMS)).contains("magic"));
    assert!(refused(b"{\"not\": \"a model\"}").contains("magic"));
}

#[test]
fn absurd_dimensions_are_refused_before_anything_is_allocated() {
    let cases: [(usize, i32, &str); 6] = [
        (0, 1_000_000_000, "hidden size"),
        (0, -384, "hidden size"),
        (1, 0, "number of layers"),
        (3, i32::MAX, "feed-forward"),
        (4, i32::MAX, "vocabulary size"),
        (5, 100_000, "number of positions"),
    ];
    for (i, value, what) in cases {
        let mut dims = E5_DIMS;
        dims[i] = value;
        let msg = refused(&header(b"E5S1", dims));
        assert!(msg.contains(what), "{msg}");
    }
    // right dimensions, then a piece count beyond the vocabulary
    let mut b = header(b"E5S1", E5_DIMS);
    b.extend(i32::MAX.to_le_bytes());
    assert!(refused(&b).contains("number of pieces"));
    // then a plausible count but nothing behind it
    let mut b = header(b"E5S1", E5_DIMS);
    for v in [250_002i32, 0, 2, 1, 3] {
        b.extend(v.to_le_bytes());
    }
    b.extend(u64::MAX.to_le_bytes());
    assert!(refused(&b).contains("truncated"));
}

#[test]
fn the_real_file_truncated_anywhere_is_refused() {
    let bytes = std::fs::read(common::model_path()).unwrap();
    // header, tokenizer offsets, pieces, normaliser, directory, tensor data
    for len in [8, 40, 100_000, 3_000_000, 4_634_000, 4_638_000, 30_000_000] {
        let msg = refused(&bytes[..len]);
        assert!(msg.contains("truncated"), "{len}: {msg}");
    }
    let msg = refused(&bytes[..bytes.len() - 1]);
    assert!(msg.contains("truncated: tensor `l11.oln.b`"), "{msg}");
}

#[test]
fn overwritten_bytes_are_refused_or_harmless() {
    let bytes = std::fs::read(common::model_path()).unwrap();
    let origin = Path::new("corrupt.bin");
    let mut refused = 0;
    // every 4-byte field of the header and the start of the tokenizer, then
    // a spread over the offsets, scores, normaliser and directory
    let spots = (0..80)
        .step_by(4)
        .chain((100..4_638_248).step_by(397_301))
        .chain((4_632_300..4_638_248).step_by(541));
    for at in spots {
        for pattern in [[0xff; 4], [0x00; 4], [0x7f, 0xff, 0xff, 0xff]] {
            let mut b = bytes.clone();
            b[at..at + 4].copy_from_slice(&pattern);
            match SentenceModel::from_bytes(b, origin) {
                Err(e) => {
                    assert!(e.to_string().contains("corrupt.bin"), "{e}");
                    refused += 1;
                }
                // a changed score, id or value: the model still runs
                Ok(m) => {
                    let v = m.embed("Le loyer est trop cher, ﬁnalement.", Role::Query);
                    assert_eq!(v.len(), recueil_embed::DIMENSION);
                }
            }
        }
    }
    assert!(refused > 40, "only {refused} refused");
}
