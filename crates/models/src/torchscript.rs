//! The weights of a TorchScript archive (`torch.jit.save`), read without
//! Python.
//!
//! Silero VAD ships in the PyPI package `silero-vad` as a TorchScript
//! archive: a zip holding `<name>/data.pkl` (the module tree, pickled) and
//! `<name>/data/<key>` (each tensor storage's raw little-endian bytes). The
//! pickle names every parameter by its place in the module tree
//! (`_model.encoder.0.reparam_conv.weight`), which is what a converter needs.
//!
//! The pickle is read by a small stack machine that understands only the
//! opcodes PyTorch writes for a module tree and builds plain values; it runs
//! no code, imports nothing, and refuses any other opcode by name. No
//! well-kept crate reads TorchScript pickles (`serde-pickle` has no
//! persistent ids; `candle`'s reader would bring a tensor library for forty
//! lines of walking), hence this module.

use std::collections::{BTreeMap, HashMap};
use std::io::{Cursor, Read};

use crate::error::ConvertError;

/// One float tensor of the archive, contiguous, in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Every float tensor of a TorchScript archive, by dotted module path.
pub fn read_tensors(archive: &[u8]) -> Result<BTreeMap<String, Tensor>, ConvertError> {
    let bad = ConvertError::TorchScript;
    let mut zip =
        zip::ZipArchive::new(Cursor::new(archive)).map_err(|e| bad(format!("not a zip: {e}")))?;
    let pickle_name = zip
        .file_names()
        .find(|n| n.ends_with("/data.pkl") && n.matches('/').count() == 1)
        .map(str::to_owned)
        .ok_or_else(|| bad("no <name>/data.pkl".into()))?;
    let prefix = pickle_name.trim_end_matches("data.pkl").to_owned();
    let read = |zip: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &str| {
        let mut member = zip
            .by_name(name)
            .map_err(|e| bad(format!("member {name}: {e}")))?;
        let mut bytes = Vec::with_capacity(member.size() as usize);
        member
            .read_to_end(&mut bytes)
            .map_err(|e| bad(format!("member {name}: {e}")))?;
        Ok::<_, ConvertError>(bytes)
    };
    let root = Unpickler::new(&read(&mut zip, &pickle_name)?)
        .run()
        .map_err(|m| bad(format!("{pickle_name}: {m}")))?;
    let mut found = Vec::new();
    walk(&root, "", &mut found);
    let mut tensors = BTreeMap::new();
    for (path, t) in found {
        let TensorRef {
            storage,
            float,
            offset,
            shape,
            stride,
        } = t;
        if !float {
            continue;
        }
        let numel: usize = shape.iter().product();
        if numel == 0 {
            continue;
        }
        // A dimension of size 1 may have any stride (PyTorch writes 0).
        let expected = contiguous_strides(&shape);
        let contiguous = shape
            .iter()
            .zip(stride.iter().zip(&expected))
            .all(|(&n, (s, e))| n == 1 || s == e);
        if stride.len() != shape.len() || !contiguous {
            return Err(bad(format!("{path}: not contiguous ({stride:?})")));
        }
        let bytes = read(&mut zip, &format!("{prefix}data/{storage}"))?;
        let (start, end) = (offset * 4, (offset + numel) * 4);
        let raw = bytes.get(start..end).ok_or_else(|| {
            bad(format!(
                "{path}: storage {storage} holds {} bytes, the tensor needs {start}..{end}",
                bytes.len()
            ))
        })?;
        let data = raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        tensors.insert(path, Tensor { shape, data });
    }
    Ok(tensors)
}

fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * shape[i + 1];
    }
    strides
}

/// A tensor as the pickle describes it (`torch._utils._rebuild_tensor_v2`).
#[derive(Debug, Clone, PartialEq)]
struct TensorRef {
    /// The storage's key: its member is `data/<key>`.
    storage: String,
    /// A `torch.FloatStorage` (32-bit floats).
    float: bool,
    /// In elements, into the storage.
    offset: usize,
    shape: Vec<usize>,
    stride: Vec<usize>,
}

/// What the pickle builds: plain data, objects with their state, tensors.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    /// `module.name`, as GLOBAL gives it; never resolved.
    Global(String),
    /// An instance of a class (a module), with the state BUILD gave it.
    Object(String, Box<Value>),
    /// A persistent id (PyTorch's storage references).
    Persistent(Box<Value>),
    Tensor(TensorRef),
    /// Any other call, kept opaque.
    Call(String),
    Mark,
}

/// Collects the tensors of a module tree, by dotted attribute path.
fn walk(value: &Value, path: &str, out: &mut Vec<(String, TensorRef)>) {
    match value {
        Value::Object(_, state) => walk(state, path, out),
        Value::Dict(items) => {
            for (k, v) in items {
                if let Value::Str(name) = k {
                    let child = if path.is_empty() {
                        name.clone()
                    } else {
                        format!("{path}.{name}")
                    };
                    walk(v, &child, out);
                }
            }
        }
        Value::Tensor(t) => out.push((path.to_owned(), t.clone())),
        _ => {}
    }
}

struct Unpickler<'a> {
    bytes: &'a [u8],
    at: usize,
    stack: Vec<Value>,
    memo: HashMap<u32, Value>,
}

impl<'a> Unpickler<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Unpickler {
            bytes,
            at: 0,
            stack: Vec::new(),
            memo: HashMap::new(),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| format!("truncated at byte {}", self.at))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn line(&mut self) -> Result<String, String> {
        let rest = &self.bytes[self.at..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| format!("truncated at byte {} (unterminated line)", self.at))?;
        let s = String::from_utf8_lossy(&rest[..n]).into_owned();
        self.at += n + 1;
        Ok(s)
    }

    fn pop(&mut self) -> Result<Value, String> {
        self.stack.pop().ok_or_else(|| "stack underflow".to_owned())
    }

    /// The values above the topmost mark, which is removed.
    fn pop_mark(&mut self) -> Result<Vec<Value>, String> {
        let m = self
            .stack
            .iter()
            .rposition(|v| *v == Value::Mark)
            .ok_or("no mark on the stack")?;
        let items = self.stack.split_off(m + 1);
        self.stack.pop();
        Ok(items)
    }

    fn top(&mut self) -> Result<&mut Value, String> {
        self.stack
            .last_mut()
            .ok_or_else(|| "empty stack".to_owned())
    }

    fn run(mut self) -> Result<Value, String> {
        loop {
            let at = self.at;
            let op = self.take(1)?[0];
            match op {
                0x80 => {
                    self.take(1)?; // PROTO
                }
                0x95 => {
                    self.take(8)?; // FRAME
                }
                b'.' => return self.pop(),
                b'(' => self.stack.push(Value::Mark),
                b'N' => self.stack.push(Value::None),
                0x88 => self.stack.push(Value::Bool(true)),
                0x89 => self.stack.push(Value::Bool(false)),
                b'K' => {
                    let v = self.take(1)?[0];
                    self.stack.push(Value::Int(v.into()));
                }
                b'M' => {
                    let b = self.take(2)?;
                    self.stack
                        .push(Value::Int(u16::from_le_bytes([b[0], b[1]]).into()));
                }
                b'J' => {
                    let v = self.u32()? as i32;
                    self.stack.push(Value::Int(v.into()));
                }
                0x8a => {
                    // LONG1: a little-endian two's-complement integer.
                    let n = self.take(1)?[0] as usize;
                    let b = self.take(n)?;
                    if n > 8 {
                        return Err(format!("integer of {n} bytes at byte {at}"));
                    }
                    let mut v: i64 = 0;
                    for (i, &x) in b.iter().enumerate() {
                        v |= i64::from(x) << (8 * i);
                    }
                    if n > 0 && n < 8 && b[n - 1] & 0x80 != 0 {
                        v -= 1i64 << (8 * n);
                    }
                    self.stack.push(Value::Int(v));
                }
                b'G' => {
                    let b = self.take(8)?;
                    let v = f64::from_be_bytes(b.try_into().expect("8 bytes"));
                    self.stack.push(Value::Float(v));
                }
                b'X' => {
                    let n = self.u32()? as usize;
                    let s = String::from_utf8_lossy(self.take(n)?).into_owned();
                    self.stack.push(Value::Str(s));
                }
                0x8c => {
                    let n = self.take(1)?[0] as usize;
                    let s = String::from_utf8_lossy(self.take(n)?).into_owned();
                    self.stack.push(Value::Str(s));
                }
                b')' => self.stack.push(Value::Tuple(Vec::new())),
                b']' => self.stack.push(Value::List(Vec::new())),
                b'}' => self.stack.push(Value::Dict(Vec::new())),
                b't' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Tuple(items));
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    let at = self.stack.len().checked_sub(n).ok_or("stack underflow")?;
                    let items = self.stack.split_off(at);
                    self.stack.push(Value::Tuple(items));
                }
                b'e' | b'a' => {
                    let items = if op == b'e' {
                        self.pop_mark()?
                    } else {
                        vec![self.pop()?]
                    };
                    match self.top()? {
                        Value::List(list) => list.extend(items),
                        other => return Err(format!("append to {other:?} at byte {at}")),
                    }
                }
                b'u' | b's' => {
                    let items = if op == b'u' {
                        self.pop_mark()?
                    } else {
                        let v = self.pop()?;
                        let k = self.pop()?;
                        vec![k, v]
                    };
                    if items.len() % 2 != 0 {
                        return Err(format!("odd number of dict items at byte {at}"));
                    }
                    let Value::Dict(dict) = self.top()? else {
                        return Err(format!("set items on a non-dict at byte {at}"));
                    };
                    let mut it = items.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        dict.push((k, v));
                    }
                }
                b'q' => {
                    let k = self.take(1)?[0].into();
                    let v = self.top()?.clone();
                    self.memo.insert(k, v);
                }
                b'r' => {
                    let k = self.u32()?;
                    let v = self.top()?.clone();
                    self.memo.insert(k, v);
                }
                0x94 => {
                    let k = self.memo.len() as u32;
                    let v = self.top()?.clone();
                    self.memo.insert(k, v);
                }
                b'h' | b'j' => {
                    let k = if op == b'h' {
                        self.take(1)?[0].into()
                    } else {
                        self.u32()?
                    };
                    let v = self
                        .memo
                        .get(&k)
                        .cloned()
                        .ok_or_else(|| format!("memo {k} unset at byte {at}"))?;
                    self.stack.push(v);
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.stack.push(Value::Global(format!("{module}.{name}")));
                }
                b'Q' => {
                    let pid = self.pop()?;
                    self.stack.push(Value::Persistent(Box::new(pid)));
                }
                0x81 => {
                    let _args = self.pop()?;
                    let class = match self.pop()? {
                        Value::Global(g) => g,
                        other => return Err(format!("NEWOBJ of {other:?} at byte {at}")),
                    };
                    self.stack.push(Value::Object(class, Box::new(Value::None)));
                }
                b'b' => {
                    let state = self.pop()?;
                    // BUILD on anything but a module (a tensor's hooks)
                    // changes nothing a converter reads.
                    if let Value::Object(_, s) = self.top()? {
                        **s = state;
                    }
                }
                b'R' => {
                    let args = match self.pop()? {
                        Value::Tuple(a) => a,
                        other => return Err(format!("REDUCE with {other:?} at byte {at}")),
                    };
                    let func = match self.pop()? {
                        Value::Global(g) => g,
                        other => return Err(format!("REDUCE of {other:?} at byte {at}")),
                    };
                    let value =
                        reduce(&func, args).map_err(|m| format!("{func} at byte {at}: {m}"))?;
                    self.stack.push(value);
                }
                other => {
                    return Err(format!(
                        "opcode 0x{other:02x} at byte {at} is not one a module tree uses"
                    ))
                }
            }
        }
    }
}

/// The calls a module tree's pickle makes, as values.
fn reduce(func: &str, mut args: Vec<Value>) -> Result<Value, String> {
    match func {
        "torch._utils._rebuild_tensor_v2" => {
            if args.len() < 4 {
                return Err(format!("{} arguments", args.len()));
            }
            let stride = ints(&args[3])?;
            let shape = ints(&args[2])?;
            let offset = match args[1] {
                Value::Int(o) if o >= 0 => o as usize,
                ref other => return Err(format!("offset {other:?}")),
            };
            let Value::Persistent(pid) = &args[0] else {
                return Err("the storage is not a persistent id".into());
            };
            let Value::Tuple(pid) = pid.as_ref() else {
                return Err("the storage id is not a tuple".into());
            };
            match pid.as_slice() {
                [Value::Str(kind), Value::Global(class), Value::Str(key), ..]
                    if kind == "storage" =>
                {
                    Ok(Value::Tensor(TensorRef {
                        storage: key.clone(),
                        float: class == "torch.FloatStorage",
                        offset,
                        shape,
                        stride,
                    }))
                }
                other => Err(format!("storage id {other:?}")),
            }
        }
        "collections.OrderedDict" => Ok(Value::Dict(Vec::new())),
        "torch.jit._pickle.build_intlist"
        | "torch.jit._pickle.build_floatlist"
        | "torch.jit._pickle.build_boollist"
        | "torch.jit._pickle.build_tensorlist" => match args.pop() {
            Some(list @ Value::List(_)) => Ok(list),
            other => Err(format!("argument {other:?}")),
        },
        _ => Ok(Value::Call(func.to_owned())),
    }
}

fn ints(v: &Value) -> Result<Vec<usize>, String> {
    match v {
        Value::Tuple(items) | Value::List(items) => items
            .iter()
            .map(|x| match x {
                Value::Int(i) if *i >= 0 => Ok(*i as usize),
                other => Err(format!("dimension {other:?}")),
            })
            .collect(),
        other => Err(format!("dimensions {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pickle as PyTorch writes a module with one float parameter.
    fn module_pickle() -> Vec<u8> {
        let mut p = vec![0x80, 2];
        p.extend(b"c__torch__.m\nM\nq\x00)\x81}(X\x04\x00\x00\x00conv");
        p.extend(b"c__torch__.m\nConv\n)\x81}(X\x06\x00\x00\x00weight");
        p.extend(b"ctorch._utils\n_rebuild_tensor_v2\n(");
        p.extend(b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x06tQ");
        p.extend(b"K\x01(K\x02K\x02t(K\x02K\x01t\x89ccollections\nOrderedDict\n)RtR");
        p.extend(b"q\x01X\x04\x00\x00\x00bias");
        p.extend(b"h\x01ub"); // the same tensor again, by memo
        p.extend(b"X\x08\x00\x00\x00trainingM\x10\x27ub.");
        p
    }

    fn archive(pickle: &[u8], storage: &[f32]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut out);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        zip.start_file("m/data.pkl", opts).unwrap();
        std::io::Write::write_all(&mut zip, pickle).unwrap();
        zip.start_file("m/data/0", opts).unwrap();
        let bytes: Vec<u8> = storage.iter().flat_map(|x| x.to_le_bytes()).collect();
        std::io::Write::write_all(&mut zip, &bytes).unwrap();
        zip.finish().unwrap();
        out.into_inner()
    }

    #[test]
    fn a_module_trees_float_tensors_are_read_by_path() {
        let data = [9.0, 1.0, 2.0, 3.0, 4.0, 9.0];
        let tensors = read_tensors(&archive(&module_pickle(), &data)).unwrap();
        let names: Vec<&str> = tensors.keys().map(String::as_str).collect();
        assert_eq!(names, ["conv.bias", "conv.weight"]);
        assert_eq!(
            tensors["conv.weight"],
            Tensor {
                shape: vec![2, 2],
                data: vec![1.0, 2.0, 3.0, 4.0]
            }
        );
    }

    #[test]
    fn what_is_not_a_module_tree_is_refused_by_name() {
        let data = [0.0; 6];
        let err = |pickle: &[u8]| {
            read_tensors(&archive(pickle, &data))
                .unwrap_err()
                .to_string()
        };
        // Truncated.
        let whole = module_pickle();
        let cut = err(&whole[..whole.len() / 2]);
        assert!(cut.contains("m/data.pkl: truncated"), "{cut}");
        // An opcode a module tree never uses (INST, which runs code).
        assert!(err(b"\x80\x02i os\nsystem\n.").contains("opcode 0x69"));
        // A storage too short for its tensor.
        let short = read_tensors(&archive(&module_pickle(), &[1.0, 2.0])).unwrap_err();
        assert!(short.to_string().contains("holds 8 bytes"), "{short}");
        // Not a zip at all.
        assert!(read_tensors(b"not a zip")
            .unwrap_err()
            .to_string()
            .contains("not a zip"));
    }
}
