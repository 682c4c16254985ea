//! A small, safe reader for the Python pickles that public datasets ship as (Planetoid, MNIST-1D, NAS-Bench-Graph).
//!
//! Why not `serde-pickle`: those files hold *objects* — `numpy.ndarray` (rebuilt through
//! `numpy.core.multiarray._reconstruct` + `BUILD` with a raw byte buffer), `numpy.dtype`, `scipy.sparse.csr_matrix`
//! (`NEWOBJ` + `BUILD` with a `__dict__`) and `collections.defaultdict` — which a data-only decoder refuses or
//! flattens. This module runs the pickle machine far enough to keep those calls as plain data
//! ([`Value::Call`], [`Value::Build`], [`Value::Global`]) and never imports or executes anything; the typed
//! decoders below ([`ndarray`], [`csr_matrix`]) then read the few object layouts we need. Opcodes of protocols 0–5
//! that these files use are supported (text protocol-0 opcodes only where trivial); anything else is an error that
//! names the opcode and its byte offset.

use crate::error::DataError;
use std::path::Path;

/// A decoded pickle value. Objects are kept as the calls that would build them.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Python 2 `str` and Python 3 `bytes`.
    Bytes(Vec<u8>),
    Str(String),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    Set(Vec<Value>),
    /// A reference to `module.name` (GLOBAL / STACK_GLOBAL). Never resolved.
    Global {
        module: String,
        name: String,
    },
    /// `func(*args)` (REDUCE, NEWOBJ).
    Call {
        func: Box<Value>,
        args: Box<Value>,
    },
    /// `obj.__setstate__(state)` (BUILD).
    Build {
        obj: Box<Value>,
        state: Box<Value>,
    },
}

impl Value {
    /// The text of a `Str` or (ASCII) `Bytes` value, e.g. a dict key of a Python 2 pickle.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            Value::Bytes(b) => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(*b as i64),
            _ => None,
        }
    }
    /// Items of a tuple or list.
    pub fn as_seq(&self) -> Option<&[Value]> {
        match self {
            Value::Tuple(v) | Value::List(v) => Some(v),
            _ => None,
        }
    }
    /// Looks `key` up in a dict (string keys, Python 2 or 3).
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(items) => items
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
    /// `(module, name)` of a global, or of the callable of a call / built call.
    pub fn class(&self) -> Option<(&str, &str)> {
        match self {
            Value::Global { module, name } => Some((module, name)),
            Value::Call { func, .. } => func.class(),
            Value::Build { obj, .. } => obj.class(),
            _ => None,
        }
    }
    fn kind(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Bytes(_) => "bytes",
            Value::Str(_) => "str",
            Value::Tuple(_) => "tuple",
            Value::List(_) => "list",
            Value::Dict(_) => "dict",
            Value::Set(_) => "set",
            Value::Global { .. } => "global",
            Value::Call { .. } => "object",
            Value::Build { .. } => "object",
        }
    }
}

/// Reads and decodes a pickle file.
pub fn read_file(path: &Path) -> Result<Value, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    parse(&bytes, path)
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    path: &'a Path,
    /// Each stack item remembers the memo slot it was stored under, so in-place changes (BUILD, SETITEMS,
    /// APPENDS…) made while it is on top of the stack also reach the memo copy.
    stack: Vec<(Value, Option<usize>)>,
    marks: Vec<usize>,
    memo: Vec<Option<Value>>,
}

/// Decodes pickle bytes; `path` is only used in error messages.
pub fn parse(data: &[u8], path: &Path) -> Result<Value, DataError> {
    let mut m = Machine {
        data,
        pos: 0,
        path,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: Vec::new(),
    };
    m.run()
}

impl<'a> Machine<'a> {
    fn err(&self, at: usize, msg: impl Into<String>) -> DataError {
        DataError::format(
            self.path,
            format!("byte {at}"),
            format!("pickle: {}", msg.into()),
        )
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], DataError> {
        if n > self.data.len() - self.pos {
            return Err(self.err(
                self.pos,
                format!(
                    "truncated: needs {n} more bytes, {} left",
                    self.data.len() - self.pos
                ),
            ));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, DataError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, DataError> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }
    fn u32(&mut self) -> Result<u32, DataError> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn u64(&mut self) -> Result<u64, DataError> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn line(&mut self) -> Result<&'a str, DataError> {
        let start = self.pos;
        let end = self.data[start..]
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| self.err(start, "unterminated text line"))?;
        self.pos = start + end + 1;
        std::str::from_utf8(&self.data[start..start + end])
            .map_err(|_| self.err(start, "text line is not UTF-8"))
    }
    fn push(&mut self, v: Value) {
        self.stack.push((v, None));
    }
    fn pop(&mut self, at: usize) -> Result<Value, DataError> {
        // A mark above the top means the stack below it is not ours to pop.
        if self.marks.last().is_some_and(|&m| m >= self.stack.len()) {
            return Err(self.err(at, "pop across a mark"));
        }
        self.stack
            .pop()
            .map(|(v, _)| v)
            .ok_or_else(|| self.err(at, "stack underflow"))
    }
    fn pop_mark(&mut self, at: usize) -> Result<Vec<Value>, DataError> {
        let m = self
            .marks
            .pop()
            .ok_or_else(|| self.err(at, "no mark on the stack"))?;
        if m > self.stack.len() {
            return Err(self.err(at, "mark above the stack top"));
        }
        Ok(self.stack.drain(m..).map(|(v, _)| v).collect())
    }
    /// Changes the top item in place and refreshes its memo copy.
    fn modify_top(
        &mut self,
        at: usize,
        f: impl FnOnce(&mut Value) -> Result<(), String>,
    ) -> Result<(), DataError> {
        if self.marks.last().is_some_and(|&m| m >= self.stack.len()) {
            return Err(self.err(at, "no object below the mark"));
        }
        let Some((top, slot)) = self.stack.last_mut() else {
            return Err(self.err(at, "stack underflow"));
        };
        f(top).map_err(|msg| {
            DataError::format(self.path, format!("byte {at}"), format!("pickle: {msg}"))
        })?;
        if let Some(i) = *slot {
            let v = top.clone();
            self.memo[i] = Some(v);
        }
        Ok(())
    }
    fn put(&mut self, i: usize, at: usize) -> Result<(), DataError> {
        if i > 10_000_000 {
            return Err(self.err(at, format!("memo index {i} is implausible")));
        }
        if self.stack.is_empty() {
            return Err(self.err(at, "memo put on an empty stack"));
        }
        let (top, slot) = self.stack.last_mut().expect("checked non-empty");
        if self.memo.len() <= i {
            self.memo.resize(i + 1, None);
        }
        self.memo[i] = Some(top.clone());
        *slot = Some(i);
        Ok(())
    }
    fn get(&mut self, i: usize, at: usize) -> Result<(), DataError> {
        let v = self
            .memo
            .get(i)
            .cloned()
            .flatten()
            .ok_or_else(|| self.err(at, format!("memo slot {i} is empty")))?;
        self.push(v);
        Ok(())
    }
    fn bytes(&mut self, n: usize) -> Result<Value, DataError> {
        Ok(Value::Bytes(self.take(n)?.to_vec()))
    }
    fn text(&mut self, n: usize, at: usize) -> Result<Value, DataError> {
        let b = self.take(n)?;
        Ok(Value::Str(
            String::from_utf8(b.to_vec()).map_err(|_| self.err(at, "string is not UTF-8"))?,
        ))
    }

    fn run(&mut self) -> Result<Value, DataError> {
        loop {
            let at = self.pos;
            let op = self.u8().map_err(|_| self.err(at, "ended without STOP"))?;
            match op {
                0x80 => {
                    let proto = self.u8()?;
                    if proto > 5 {
                        return Err(self.err(at, format!("unsupported protocol {proto}")));
                    }
                }
                0x95 => {
                    self.u64()?; // FRAME: a length hint only
                }
                b'.' => return self.pop(at),
                b'(' => self.marks.push(self.stack.len()),
                b'0' => {
                    self.pop(at)?;
                }
                b'1' => {
                    self.pop_mark(at)?;
                }
                b'2' => {
                    let top = self
                        .stack
                        .last()
                        .cloned()
                        .ok_or_else(|| self.err(at, "DUP on an empty stack"))?;
                    self.stack.push((top.0, None));
                }
                b'N' => self.push(Value::None),
                0x88 => self.push(Value::Bool(true)),
                0x89 => self.push(Value::Bool(false)),
                b'J' => {
                    let v = self.u32()? as i32;
                    self.push(Value::Int(v as i64))
                }
                b'K' => {
                    let v = self.u8()?;
                    self.push(Value::Int(v as i64))
                }
                b'M' => {
                    let v = self.u16()?;
                    self.push(Value::Int(v as i64))
                }
                0x8a | 0x8b => {
                    let n = if op == 0x8a {
                        self.u8()? as usize
                    } else {
                        self.u32()? as usize
                    };
                    let b = self.take(n)?;
                    if n > 8 {
                        return Err(
                            self.err(at, format!("integer of {n} bytes does not fit 64 bits"))
                        );
                    }
                    let mut buf = if b.last().is_some_and(|&x| x & 0x80 != 0) {
                        [0xffu8; 8]
                    } else {
                        [0u8; 8]
                    };
                    buf[..n].copy_from_slice(b);
                    self.push(Value::Int(i64::from_le_bytes(buf)))
                }
                b'I' => {
                    let l = self.line()?;
                    let v = match l {
                        "00" => Value::Bool(false),
                        "01" => Value::Bool(true),
                        s => Value::Int(
                            s.parse()
                                .map_err(|_| self.err(at, format!("bad INT {s:?}")))?,
                        ),
                    };
                    self.push(v)
                }
                b'L' => {
                    let l = self.line()?.trim_end_matches('L');
                    let v = l
                        .parse()
                        .map_err(|_| self.err(at, format!("bad LONG {l:?}")))?;
                    self.push(Value::Int(v))
                }
                b'F' => {
                    let l = self.line()?;
                    let v = l
                        .trim()
                        .parse()
                        .map_err(|_| self.err(at, format!("bad FLOAT {l:?}")))?;
                    self.push(Value::Float(v))
                }
                b'G' => {
                    let v = f64::from_be_bytes(self.take(8)?.try_into().expect("8 bytes"));
                    self.push(Value::Float(v))
                }
                b'U' | b'C' => {
                    let n = self.u8()? as usize;
                    let v = self.bytes(n)?;
                    self.push(v)
                }
                b'T' | b'B' => {
                    let n = self.u32()? as usize;
                    let v = self.bytes(n)?;
                    self.push(v)
                }
                0x8e | 0x96 => {
                    let n = self.u64()?;
                    let n = usize::try_from(n).map_err(|_| self.err(at, "length overflow"))?;
                    let v = self.bytes(n)?;
                    self.push(v)
                }
                0x8c => {
                    let n = self.u8()? as usize;
                    let v = self.text(n, at)?;
                    self.push(v)
                }
                b'X' => {
                    let n = self.u32()? as usize;
                    let v = self.text(n, at)?;
                    self.push(v)
                }
                0x8d => {
                    let n = self.u64()?;
                    let n = usize::try_from(n).map_err(|_| self.err(at, "length overflow"))?;
                    let v = self.text(n, at)?;
                    self.push(v)
                }
                b')' => self.push(Value::Tuple(Vec::new())),
                b't' => {
                    let items = self.pop_mark(at)?;
                    self.push(Value::Tuple(items))
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.pop(at)?);
                    }
                    items.reverse();
                    self.push(Value::Tuple(items))
                }
                b']' => self.push(Value::List(Vec::new())),
                b'l' => {
                    let items = self.pop_mark(at)?;
                    self.push(Value::List(items))
                }
                b'a' => {
                    let v = self.pop(at)?;
                    self.modify_top(at, |top| match top {
                        Value::List(l) => {
                            l.push(v);
                            Ok(())
                        }
                        o => Err(format!("APPEND to a {}", o.kind())),
                    })?
                }
                b'e' => {
                    let items = self.pop_mark(at)?;
                    self.modify_top(at, |top| match top {
                        Value::List(l) => {
                            l.extend(items);
                            Ok(())
                        }
                        o => Err(format!("APPENDS to a {}", o.kind())),
                    })?
                }
                b'}' => self.push(Value::Dict(Vec::new())),
                b'd' => {
                    let items = self.pop_mark(at)?;
                    let d = pairs(items).map_err(|m| self.err(at, m))?;
                    self.push(Value::Dict(d))
                }
                b's' => {
                    let v = self.pop(at)?;
                    let k = self.pop(at)?;
                    self.modify_top(at, |top| set_items(top, vec![(k, v)]))?
                }
                b'u' => {
                    let items = self.pop_mark(at)?;
                    let d = pairs(items).map_err(|m| self.err(at, m))?;
                    self.modify_top(at, |top| set_items(top, d))?
                }
                0x8f => self.push(Value::Set(Vec::new())),
                0x90 => {
                    let items = self.pop_mark(at)?;
                    self.modify_top(at, |top| match top {
                        Value::Set(s) => {
                            s.extend(items);
                            Ok(())
                        }
                        o => Err(format!("ADDITEMS to a {}", o.kind())),
                    })?
                }
                0x91 => {
                    let items = self.pop_mark(at)?;
                    self.push(Value::Set(items))
                }
                b'c' => {
                    let module = self.line()?.to_string();
                    let name = self.line()?.to_string();
                    self.push(Value::Global { module, name })
                }
                0x93 => {
                    let name = self.pop(at)?;
                    let module = self.pop(at)?;
                    match (module, name) {
                        (Value::Str(module), Value::Str(name)) => {
                            self.push(Value::Global { module, name })
                        }
                        _ => return Err(self.err(at, "STACK_GLOBAL needs two strings")),
                    }
                }
                b'R' | 0x81 => {
                    let args = self.pop(at)?;
                    let func = self.pop(at)?;
                    self.push(Value::Call {
                        func: Box::new(func),
                        args: Box::new(args),
                    })
                }
                0x92 => {
                    let _kwargs = self.pop(at)?;
                    let args = self.pop(at)?;
                    let func = self.pop(at)?;
                    self.push(Value::Call {
                        func: Box::new(func),
                        args: Box::new(args),
                    })
                }
                b'b' => {
                    let state = self.pop(at)?;
                    self.modify_top(at, |top| {
                        let obj = std::mem::replace(top, Value::None);
                        *top = Value::Build {
                            obj: Box::new(obj),
                            state: Box::new(state),
                        };
                        Ok(())
                    })?
                }
                b'q' => {
                    let i = self.u8()? as usize;
                    self.put(i, at)?
                }
                b'r' => {
                    let i = self.u32()? as usize;
                    self.put(i, at)?
                }
                0x94 => {
                    let i = self.memo.len();
                    self.put(i, at)?
                }
                b'p' => {
                    let l = self.line()?;
                    let i = l
                        .parse()
                        .map_err(|_| self.err(at, format!("bad PUT {l:?}")))?;
                    self.put(i, at)?
                }
                b'h' => {
                    let i = self.u8()? as usize;
                    self.get(i, at)?
                }
                b'j' => {
                    let i = self.u32()? as usize;
                    self.get(i, at)?
                }
                b'g' => {
                    let l = self.line()?;
                    let i = l
                        .parse()
                        .map_err(|_| self.err(at, format!("bad GET {l:?}")))?;
                    self.get(i, at)?
                }
                other => return Err(self.err(at, format!("unsupported opcode 0x{other:02x}"))),
            }
        }
    }
}

fn pairs(items: Vec<Value>) -> Result<Vec<(Value, Value)>, String> {
    if !items.len().is_multiple_of(2) {
        return Err("odd number of dict items".into());
    }
    let mut it = items.into_iter();
    let mut out = Vec::new();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    Ok(out)
}

/// SETITEM(S) on a dict, or on a `defaultdict(...)` call (whose items we keep as the call's state).
fn set_items(top: &mut Value, items: Vec<(Value, Value)>) -> Result<(), String> {
    match top {
        Value::Dict(d) => {
            d.extend(items);
            Ok(())
        }
        Value::Call { .. } => {
            let obj = std::mem::replace(top, Value::None);
            *top = Value::Build {
                obj: Box::new(obj),
                state: Box::new(Value::Dict(items)),
            };
            Ok(())
        }
        Value::Build { state, .. } => match state.as_mut() {
            Value::Dict(d) => {
                d.extend(items);
                Ok(())
            }
            o => Err(format!(
                "SETITEMS on an object whose state is a {}",
                o.kind()
            )),
        },
        o => Err(format!("SETITEMS on a {}", o.kind())),
    }
}

/// A dense numpy array, converted to `f64` (every dtype we meet converts exactly or, for `i8`, up to 2^53).
#[derive(Clone, Debug, PartialEq)]
pub struct NdArray {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
    /// The numpy dtype string, e.g. `<f8`.
    pub dtype: String,
}

fn bad(path: &Path, what: &str, msg: impl Into<String>) -> DataError {
    DataError::format(path, what.to_string(), msg.into())
}

/// Decodes a `numpy.ndarray` pickled by `ndarray.__reduce__`: `_reconstruct(ndarray, (0,), b'b')` then
/// `BUILD (version, shape, dtype, is_fortran, raw_bytes)`. `what` names the array in errors (e.g. `key 'x'`).
pub fn ndarray(v: &Value, path: &Path, what: &str) -> Result<NdArray, DataError> {
    let Value::Build { obj, state } = v else {
        return Err(bad(
            path,
            what,
            format!("expected a numpy array, found a {}", v.kind()),
        ));
    };
    match obj.class() {
        Some((m, "_reconstruct")) if m.starts_with("numpy") => {}
        other => {
            return Err(bad(
                path,
                what,
                format!("expected a numpy array, found an object of {other:?}"),
            ))
        }
    }
    let st = state
        .as_seq()
        .ok_or_else(|| bad(path, what, "numpy array state is not a tuple"))?;
    if st.len() != 5 {
        return Err(bad(
            path,
            what,
            format!("numpy array state has {} fields, expected 5", st.len()),
        ));
    }
    let shape: Vec<usize> = st[1]
        .as_seq()
        .ok_or_else(|| bad(path, what, "numpy shape is not a tuple"))?
        .iter()
        .map(|d| d.as_int().and_then(|d| usize::try_from(d).ok()))
        .collect::<Option<_>>()
        .ok_or_else(|| bad(path, what, "numpy shape holds a non-integer"))?;
    let fortran = st[3].as_int().unwrap_or(0) != 0;
    let (kind, size, big) = dtype(&st[2], path, what)?;
    let raw = match &st[4] {
        Value::Bytes(b) => b,
        Value::Str(s) => s.as_bytes(),
        o => {
            return Err(bad(
                path,
                what,
                format!(
                    "numpy data is a {} (object arrays are not supported)",
                    o.kind()
                ),
            ))
        }
    };
    let n: usize = shape.iter().product();
    if raw.len() != n * size {
        return Err(bad(
            path,
            what,
            format!(
                "numpy data has {} bytes, shape {shape:?} needs {}",
                raw.len(),
                n * size
            ),
        ));
    }
    let mut data: Vec<f64> = raw
        .chunks_exact(size)
        .map(|c| {
            let mut b = [0u8; 8];
            b[..size].copy_from_slice(c);
            if big {
                b[..size].reverse();
            }
            match (kind, size) {
                ('f', 8) => f64::from_le_bytes(b),
                ('f', 4) => f32::from_le_bytes(b[..4].try_into().expect("4")) as f64,
                ('i', 8) => i64::from_le_bytes(b) as f64,
                ('i', 4) => i32::from_le_bytes(b[..4].try_into().expect("4")) as f64,
                ('i', 2) => i16::from_le_bytes(b[..2].try_into().expect("2")) as f64,
                ('i', 1) => b[0] as i8 as f64,
                ('u', 8) => u64::from_le_bytes(b) as f64,
                ('u', 4) => u32::from_le_bytes(b[..4].try_into().expect("4")) as f64,
                ('u', 2) => u16::from_le_bytes(b[..2].try_into().expect("2")) as f64,
                ('u', 1) | ('b', 1) => b[0] as f64,
                _ => f64::NAN,
            }
        })
        .collect();
    if fortran && shape.len() == 2 {
        let (r, c) = (shape[0], shape[1]);
        let mut t = vec![0.0; n];
        for i in 0..r {
            for j in 0..c {
                t[i * c + j] = data[j * r + i];
            }
        }
        data = t;
    } else if fortran && shape.len() > 2 {
        return Err(bad(
            path,
            what,
            "Fortran-ordered arrays of rank > 2 are not supported",
        ));
    }
    Ok(NdArray {
        shape,
        data,
        dtype: format!("{}{kind}{size}", if big { '>' } else { '<' }),
    })
}

/// `numpy.dtype(spec, align, copy)` with optional BUILD state `(3, byteorder, …)`: (kind, item size, big endian).
fn dtype(v: &Value, path: &Path, what: &str) -> Result<(char, usize, bool), DataError> {
    let (call, state) = match v {
        Value::Build { obj, state } => (obj.as_ref(), Some(state.as_ref())),
        other => (other, None),
    };
    let Value::Call { args, .. } = call else {
        return Err(bad(path, what, "numpy dtype is not a dtype object"));
    };
    let spec = args
        .as_seq()
        .and_then(|a| a.first())
        .and_then(Value::as_str)
        .ok_or_else(|| bad(path, what, "numpy dtype has no type string"))?;
    let mut chars = spec.trim_start_matches(['<', '>', '=', '|']).chars();
    let kind = chars.next().unwrap_or('?');
    let size: usize = chars.as_str().parse().unwrap_or(0);
    let supported = matches!(
        (kind, size),
        ('f', 4 | 8) | ('i' | 'u', 1 | 2 | 4 | 8) | ('b', 1)
    );
    if !supported {
        return Err(bad(path, what, format!("unsupported numpy dtype {spec:?}")));
    }
    let big = spec.starts_with('>')
        || state
            .and_then(|s| s.as_seq())
            .and_then(|s| s.get(1))
            .and_then(Value::as_str)
            == Some(">");
    Ok((kind, size, big))
}

/// A CSR sparse matrix as pickled by scipy (`csr_matrix.__dict__` with `_shape`, `data`, `indices`, `indptr`).
#[derive(Clone, Debug, PartialEq)]
pub struct Csr {
    pub rows: usize,
    pub cols: usize,
    pub indptr: Vec<usize>,
    pub indices: Vec<usize>,
    pub data: Vec<f64>,
}

impl Csr {
    /// Dense row-major `f32` copy.
    pub fn to_dense(&self) -> Vec<f32> {
        let mut out = vec![0f32; self.rows * self.cols];
        for r in 0..self.rows {
            for k in self.indptr[r]..self.indptr[r + 1] {
                out[r * self.cols + self.indices[k]] += self.data[k] as f32;
            }
        }
        out
    }
}

/// Decodes a pickled `scipy.sparse.csr_matrix` (any scipy version: `scipy.sparse.csr` or `scipy.sparse._csr`).
pub fn csr_matrix(v: &Value, path: &Path, what: &str) -> Result<Csr, DataError> {
    let Value::Build { obj, state } = v else {
        return Err(bad(
            path,
            what,
            format!("expected a scipy sparse matrix, found a {}", v.kind()),
        ));
    };
    match obj.class() {
        Some((m, n)) if m.starts_with("scipy.sparse") && n.contains("csr") => {}
        other => {
            return Err(bad(
                path,
                what,
                format!("expected a scipy CSR matrix, found an object of {other:?}"),
            ))
        }
    }
    let field = |k: &str| {
        state
            .get(k)
            .ok_or_else(|| bad(path, what, format!("CSR matrix has no `{k}`")))
    };
    let shape = field("_shape")?
        .as_seq()
        .and_then(|s| Some((s.first()?.as_int()?, s.get(1)?.as_int()?)))
        .ok_or_else(|| bad(path, what, "CSR `_shape` is not a pair of integers"))?;
    let (rows, cols) = (shape.0.max(0) as usize, shape.1.max(0) as usize);
    let to_idx = |a: NdArray, name: &str| -> Result<Vec<usize>, DataError> {
        a.data
            .iter()
            .map(|&x| {
                if x >= 0.0 && x.fract() == 0.0 {
                    Ok(x as usize)
                } else {
                    Err(())
                }
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| {
                bad(
                    path,
                    what,
                    format!("CSR `{name}` holds a negative or fractional index"),
                )
            })
    };
    let indptr = to_idx(
        ndarray(field("indptr")?, path, &format!("{what} indptr"))?,
        "indptr",
    )?;
    let indices = to_idx(
        ndarray(field("indices")?, path, &format!("{what} indices"))?,
        "indices",
    )?;
    let data = ndarray(field("data")?, path, &format!("{what} data"))?.data;
    if indptr.len() != rows + 1 || indices.len() != data.len() || indptr.last() != Some(&data.len())
    {
        return Err(bad(
            path,
            what,
            "CSR arrays are inconsistent (indptr length or last entry)",
        ));
    }
    if indptr.windows(2).any(|w| w[0] > w[1]) || indices.iter().any(|&c| c >= cols) {
        return Err(bad(
            path,
            what,
            "CSR indptr decreases or a column index is out of range",
        ));
    }
    Ok(Csr {
        rows,
        cols,
        indptr,
        indices,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_protocol_2_dict_with_memo_and_lists() {
        // pickle.dumps({'a': [1, 2], 'b': (3.5, None)}, protocol=2)
        let bytes: &[u8] =
            b"\x80\x02}q\x00(U\x01aq\x01]q\x02(K\x01K\x02eU\x01bq\x03G@\x0c\x00\x00\x00\x00\x00\x00N\x86q\x04u.";
        let v = parse(bytes, Path::new("mem")).unwrap();
        assert_eq!(
            v.get("a"),
            Some(&Value::List(vec![Value::Int(1), Value::Int(2)]))
        );
        assert_eq!(
            v.get("b"),
            Some(&Value::Tuple(vec![Value::Float(3.5), Value::None]))
        );
    }

    #[test]
    fn truncated_input_names_the_byte() {
        let e = parse(b"\x80\x02}q\x00(U\x05ab", Path::new("x.pkl"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x.pkl: byte 8: pickle: truncated"), "{e}");
        let e = parse(b"\x80\x02\xff", Path::new("x.pkl"))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "x.pkl: byte 2: pickle: unsupported opcode 0xff");
    }
}
