//! Silero VAD in whisper.cpp's ggml format, from the TorchScript archive of
//! the PyPI package `silero-vad`.
//!
//! whisper.cpp (1.8) runs Silero VAD itself (`whisper_vad_init_from_file`)
//! from a ggml file whose layout its loader fixes: a header (magic, model
//! type, version, window and context sizes, layer dimensions), then each
//! tensor (dimensions, name, type, little-endian data). The 16 kHz model of
//! the archive is written: its four convolution blocks (f16 weights, f32
//! biases), the LSTM cell (f32) and the last convolution (f16 weight), then
//! the STFT basis (f16). The layout follows whisper.cpp's own converter, so
//! whisper.cpp's loader checks every name and shape on load.

use std::collections::BTreeMap;
use std::io::Write;

use half::f16;

use crate::error::ConvertError;
use crate::torchscript::Tensor;

/// Samples per VAD frame at 16 kHz, and the context carried between frames.
const WINDOW: i32 = 512;
const CONTEXT: i32 = 64;
/// The encoder's four convolutions: (in, out) channels, kernel 3.
const ENCODER: [(usize, usize); 4] = [(129, 128), (128, 64), (64, 64), (64, 128)];
const KERNEL: usize = 3;
const LSTM: usize = 128;

/// What was written.
#[derive(Debug, Clone, PartialEq)]
pub struct SileroSummary {
    pub tensors: usize,
    pub parameters: usize,
}

/// Writes the 16 kHz Silero VAD model of `tensors` (from
/// [`crate::torchscript::read_tensors`]) as a whisper.cpp VAD model.
/// `version` is the package's (`6.2.3`), recorded in the header.
pub fn write_vad(
    tensors: &BTreeMap<String, Tensor>,
    version: &str,
    w: &mut dyn Write,
) -> Result<SileroSummary, ConvertError> {
    let parts: Vec<i32> = version
        .split('.')
        .map(|p| p.parse::<i32>())
        .collect::<Result<Vec<i32>, _>>()
        .ok()
        .filter(|p| p.len() == 3)
        .ok_or_else(|| ConvertError::TorchScript(format!("version `{version}` is not x.y.z")))?;
    let get = |name: &str, shape: &[usize]| -> Result<&Tensor, ConvertError> {
        let full = format!("_model.{name}");
        let t = tensors
            .get(&full)
            .ok_or_else(|| ConvertError::MissingVariable(full.clone()))?;
        if t.shape != shape {
            return Err(ConvertError::Shape {
                name: full,
                expected: shape.to_vec(),
                actual: t.shape.clone(),
            });
        }
        Ok(t)
    };
    let int = |w: &mut dyn Write, v: i32| w.write_all(&v.to_le_bytes());
    int(w, 0x6767_6d6c)?;
    let kind = b"silero-16k";
    int(w, kind.len() as i32)?;
    w.write_all(kind)?;
    for p in &parts {
        int(w, *p)?;
    }
    int(w, WINDOW)?;
    int(w, CONTEXT)?;
    int(w, ENCODER.len() as i32)?;
    for (i, o) in ENCODER {
        int(w, i as i32)?;
        int(w, o as i32)?;
        int(w, KERNEL as i32)?;
    }
    int(w, LSTM as i32)?; // LSTM input
    int(w, LSTM as i32)?; // LSTM hidden
    int(w, LSTM as i32)?; // last convolution in
    int(w, 1)?; // and out

    let mut summary = SileroSummary {
        tensors: 0,
        parameters: 0,
    };
    // (name, torch shape, ggml dimensions innermost first, f16)
    let mut plan: Vec<(String, Vec<usize>, Vec<usize>, bool)> = Vec::new();
    for (k, (i, o)) in ENCODER.iter().enumerate() {
        plan.push((
            format!("encoder.{k}.reparam_conv.weight"),
            vec![*o, *i, KERNEL],
            vec![KERNEL, *i, *o],
            true,
        ));
        plan.push((
            format!("encoder.{k}.reparam_conv.bias"),
            vec![*o],
            vec![*o],
            false,
        ));
    }
    for (name, shape) in [
        ("decoder.rnn.weight_ih", vec![4 * LSTM, LSTM]),
        ("decoder.rnn.weight_hh", vec![4 * LSTM, LSTM]),
        ("decoder.rnn.bias_ih", vec![4 * LSTM]),
        ("decoder.rnn.bias_hh", vec![4 * LSTM]),
    ] {
        let dims = shape.iter().rev().copied().collect();
        plan.push((name.to_owned(), shape, dims, false));
    }
    // The last convolution (1 output, kernel 1) is stored squeezed, as
    // whisper.cpp's loader expects: a vector of 128, and a bias with no
    // dimension.
    plan.push((
        "decoder.decoder.2.weight".into(),
        vec![1, LSTM, 1],
        vec![LSTM],
        true,
    ));
    plan.push(("decoder.decoder.2.bias".into(), vec![1], vec![], false));
    plan.push((
        "stft.forward_basis_buffer".into(),
        vec![258, 1, 256],
        vec![256, 1, 258],
        true,
    ));
    for (name, shape, dims, half) in plan {
        let t = get(&name, &shape)?;
        let full = format!("_model.{name}");
        int(w, dims.len() as i32)?;
        int(w, full.len() as i32)?;
        int(w, i32::from(half))?;
        for d in &dims {
            int(w, *d as i32)?;
        }
        w.write_all(full.as_bytes())?;
        if half {
            for x in &t.data {
                w.write_all(&f16::from_f32(*x).to_le_bytes())?;
            }
        } else {
            for x in &t.data {
                w.write_all(&x.to_le_bytes())?;
            }
        }
        summary.tensors += 1;
        summary.parameters += t.data.len();
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(skip: Option<&str>) -> BTreeMap<String, Tensor> {
        let mut shapes: Vec<(String, Vec<usize>)> = Vec::new();
        for (k, (i, o)) in ENCODER.iter().enumerate() {
            shapes.push((format!("encoder.{k}.reparam_conv.weight"), vec![*o, *i, 3]));
            shapes.push((format!("encoder.{k}.reparam_conv.bias"), vec![*o]));
        }
        for n in ["weight_ih", "weight_hh"] {
            shapes.push((format!("decoder.rnn.{n}"), vec![512, 128]));
        }
        for n in ["bias_ih", "bias_hh"] {
            shapes.push((format!("decoder.rnn.{n}"), vec![512]));
        }
        shapes.push(("decoder.decoder.2.weight".into(), vec![1, 128, 1]));
        shapes.push(("decoder.decoder.2.bias".into(), vec![1]));
        shapes.push(("stft.forward_basis_buffer".into(), vec![258, 1, 256]));
        shapes
            .into_iter()
            .filter(|(n, _)| Some(n.as_str()) != skip)
            .map(|(n, shape)| {
                let data = vec![0.5; shape.iter().product()];
                (format!("_model.{n}"), Tensor { shape, data })
            })
            .collect()
    }

    #[test]
    fn the_header_and_every_tensor_are_written_as_whisper_cpp_reads_them() {
        let mut out = Vec::new();
        let s = write_vad(&model(None), "6.2.3", &mut out).unwrap();
        assert_eq!(s.tensors, 15);
        let int = |at: usize| i32::from_le_bytes(out[at..at + 4].try_into().unwrap());
        assert_eq!(int(0), 0x6767_6d6c);
        assert_eq!(&out[8..18], b"silero-16k");
        assert_eq!((int(18), int(22), int(26)), (6, 2, 3));
        assert_eq!((int(30), int(34), int(38)), (512, 64, 4));
        // The first tensor: 3 dimensions, f16, [3, 129, 128].
        let first = 38 + 4 + 12 * 4 + 16;
        assert_eq!((int(first), int(first + 8)), (3, 1));
        assert_eq!(
            (int(first + 12), int(first + 16), int(first + 20)),
            (3, 129, 128)
        );
        // Every parameter once, f16 for the 6 convolutions, f32 otherwise.
        let f16_params =
            128 * 129 * 3 + 64 * 128 * 3 + 64 * 64 * 3 + 128 * 64 * 3 + 128 + 258 * 256;
        let f32_params = s.parameters - f16_params;
        let names: usize = 15 * 12 + model(None).keys().map(String::len).sum::<usize>();
        // Encoder weights 3 dims and biases 1 (x4), LSTM 2+2+1+1, last
        // convolution 1 and its bias none, STFT basis 3.
        let dims = 4 * (3 + 1) + (2 + 2 + 1 + 1) + 1 + 3;
        assert_eq!(
            out.len(),
            first + names + 4 * dims + 2 * f16_params + 4 * f32_params
        );
    }

    #[test]
    fn a_missing_or_misshapen_tensor_is_named() {
        let missing = write_vad(
            &model(Some("decoder.rnn.bias_hh")),
            "6.2.3",
            &mut Vec::new(),
        );
        assert!(missing
            .unwrap_err()
            .to_string()
            .contains("_model.decoder.rnn.bias_hh"));
        let mut m = model(None);
        m.get_mut("_model.encoder.1.reparam_conv.bias")
            .unwrap()
            .shape = vec![65];
        let err = write_vad(&m, "6.2.3", &mut Vec::new()).unwrap_err();
        assert!(
            err.to_string().contains("encoder.1.reparam_conv.bias"),
            "{err}"
        );
        assert!(write_vad(&model(None), "6.2", &mut Vec::new()).is_err());
    }
}
