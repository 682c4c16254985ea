//! A minimal, hand-written pickle reader for the benchmark files (internal).
//!
//! Why not `serde-pickle` (which the workspace declares and which *can* read these
//! files with `DeOptions::new().keep_restore_state()`)? Measured in release mode on this
//! machine it took 132 ms for one NAS-Bench-Graph `.bench` (2 MB) and 520 ms for
//! `analognasbench/data.anb` (5.6 MB) — far over the 50 ms budget — because it builds
//! a `BTreeMap` value tree and deep-copies every memo reference. It also loses
//! information we want to check: a numpy `dtype` is memoized *before* its `BUILD`, and
//! serde-pickle's memo holds the pre-BUILD copy, so the same dtype shows up once as
//! `('f8', False, True)` and once as its state tuple `(3, '<', ...)` in one file.
//!
//! This reader is a small stack machine over `&[u8]`:
//! * scalars live inline in [`Val`]; strings/bytes are ranges into the input (zero copy);
//! * containers and objects live in an arena and are referenced by index, so memo
//!   references share identity like in Python (a later `BUILD` on a memoized dtype is
//!   seen through every reference) and cost nothing to copy (no exponential blow-up on
//!   hostile inputs);
//! * every length/index is checked against the input: any corrupt, truncated or
//!   unsupported input yields a [`PickleError`] with the byte offset — never a panic,
//!   and memory stays proportional to the input size.
//!
//! Only the opcodes needed by protocol 2–4 pickles of plain data (+ numpy scalars and
//! plain class instances rebuilt through `NEWOBJ`/`BUILD`) are supported.

use std::fmt;

/// A decoding failure at byte `offset` of the pickle stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PickleError {
    pub offset: usize,
    pub what: String,
}

impl fmt::Display for PickleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.what, self.offset)
    }
}

type PResult<T> = Result<T, PickleError>;

/// A pickled value. Strings and bytes are `start..end` ranges into the input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Val {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(u32, u32),
    Bytes(u32, u32),
    /// Index into [`Pickle::objs`].
    Obj(u32),
}

/// Container / object values (arena entries).
#[derive(Debug, Clone)]
pub(crate) enum Obj {
    Tuple(Vec<Val>),
    List(Vec<Val>),
    Dict(Vec<(Val, Val)>),
    /// A module global `module.name` (both ranges into the input).
    Global {
        module: (u32, u32),
        name: (u32, u32),
    },
    /// `numpy.dtype(descr, ...)`; `order` is the byte-order char from its BUILD state
    /// (`b'='` until then).
    Dtype {
        descr: (u32, u32),
        order: u8,
    },
    /// `numpy.core.multiarray.scalar(dtype, bytes)`.
    NpScalar {
        dtype: Val,
        data: (u32, u32),
    },
    /// `cls.__new__(cls, *args)` followed by an optional `BUILD(state)`.
    Instance {
        class: Val,
        state: Option<Val>,
    },
    /// Any other `callable(*args)`, kept opaque (only a later BUILD state is kept).
    Reduced {
        state: Option<Val>,
    },
}

/// The result of unpickling: the arena, the input and the root value.
pub(crate) struct Pickle<'a> {
    pub data: &'a [u8],
    pub objs: Vec<Obj>,
    pub root: Val,
}

impl<'a> Pickle<'a> {
    /// The string behind `v`, if it is a `str`.
    pub fn str(&self, v: Val) -> Option<&'a str> {
        match v {
            // Validated as UTF-8 when the opcode was read.
            Val::Str(s, e) => std::str::from_utf8(&self.data[s as usize..e as usize]).ok(),
            _ => None,
        }
    }

    pub fn obj(&self, v: Val) -> Option<&Obj> {
        match v {
            Val::Obj(i) => self.objs.get(i as usize),
            _ => None,
        }
    }

    pub fn dict(&self, v: Val) -> Option<&[(Val, Val)]> {
        match self.obj(v)? {
            Obj::Dict(items) => Some(items),
            _ => None,
        }
    }

    /// Items of a tuple or list.
    pub fn seq(&self, v: Val) -> Option<&[Val]> {
        match self.obj(v)? {
            Obj::Tuple(items) | Obj::List(items) => Some(items),
            _ => None,
        }
    }

    /// Last value stored under the `str` key `key` (Python dict semantics: later wins).
    pub fn get(&self, dict: &[(Val, Val)], key: &str) -> Option<Val> {
        let key = key.as_bytes();
        dict.iter()
            .rev()
            .find(
                |(k, _)| matches!(*k, Val::Str(s, e) if &self.data[s as usize..e as usize] == key),
            )
            .map(|(_, v)| *v)
    }

    /// The `__dict__` of an instance rebuilt via `NEWOBJ` + `BUILD` with a dict state.
    pub fn instance_dict(&self, v: Val) -> Option<&[(Val, Val)]> {
        match self.obj(v)? {
            Obj::Instance { state: Some(s), .. } => self.dict(*s),
            _ => None,
        }
    }

    /// `module.name` of an instance's class, for error messages.
    pub fn class_name(&self, v: Val) -> Option<String> {
        let class = match self.obj(v)? {
            Obj::Instance { class, .. } => *class,
            _ => return None,
        };
        match self.obj(class)? {
            Obj::Global { module, name } => Some(format!(
                "{}.{}",
                String::from_utf8_lossy(&self.data[module.0 as usize..module.1 as usize]),
                String::from_utf8_lossy(&self.data[name.0 as usize..name.1 as usize])
            )),
            _ => None,
        }
    }

    /// A number: Python `int`/`float`/`bool`, or a numpy scalar of a float/int dtype.
    pub fn f64(&self, v: Val) -> Option<f64> {
        match v {
            Val::Float(x) => Some(x),
            Val::Int(i) => Some(i as f64),
            Val::Bool(b) => Some(b as u8 as f64),
            Val::Obj(_) => match self.obj(v)? {
                Obj::NpScalar { dtype, data } => self.np_scalar(*dtype, *data),
                _ => None,
            },
            _ => None,
        }
    }

    fn np_scalar(&self, dtype: Val, data: (u32, u32)) -> Option<f64> {
        let (descr, order) = match self.obj(dtype)? {
            Obj::Dtype { descr, order } => (*descr, *order),
            _ => return None,
        };
        let descr = &self.data[descr.0 as usize..descr.1 as usize];
        let bytes = &self.data[data.0 as usize..data.1 as usize];
        // numpy descr may carry its own byte order prefix ('<f8').
        let (order, kind) = match descr.first() {
            Some(c @ (b'<' | b'>' | b'=' | b'|')) => {
                (if order == b'=' { *c } else { order }, &descr[1..])
            }
            _ => (order, descr),
        };
        let big = order == b'>' || (order == b'=' && cfg!(target_endian = "big"));
        macro_rules! num {
            ($t:ty) => {{
                let arr: [u8; std::mem::size_of::<$t>()] = bytes.try_into().ok()?;
                Some(
                    (if big {
                        <$t>::from_be_bytes(arr)
                    } else {
                        <$t>::from_le_bytes(arr)
                    }) as f64,
                )
            }};
        }
        match kind {
            b"f8" => num!(f64),
            b"f4" => num!(f32),
            b"i8" => num!(i64),
            b"i4" => num!(i32),
            b"u8" => num!(u64),
            b"u4" => num!(u32),
            _ => None,
        }
    }
}

// Opcodes (see CPython Lib/pickletools.py).
const MARK: u8 = b'(';
const STOP: u8 = b'.';
const POP: u8 = b'0';
const POP_MARK: u8 = b'1';
const DUP: u8 = b'2';
const BININT: u8 = b'J';
const BININT1: u8 = b'K';
const BININT2: u8 = b'M';
const NONE: u8 = b'N';
const REDUCE: u8 = b'R';
const BINUNICODE: u8 = b'X';
const APPEND: u8 = b'a';
const BUILD: u8 = b'b';
const GLOBAL: u8 = b'c';
const DICT: u8 = b'd';
const EMPTY_DICT: u8 = b'}';
const APPENDS: u8 = b'e';
const BINGET: u8 = b'h';
const LONG_BINGET: u8 = b'j';
const LIST: u8 = b'l';
const EMPTY_LIST: u8 = b']';
const BINPUT: u8 = b'q';
const LONG_BINPUT: u8 = b'r';
const SETITEM: u8 = b's';
const TUPLE: u8 = b't';
const EMPTY_TUPLE: u8 = b')';
const SETITEMS: u8 = b'u';
const BINFLOAT: u8 = b'G';
const PROTO: u8 = 0x80;
const NEWOBJ: u8 = 0x81;
const TUPLE1: u8 = 0x85;
const TUPLE2: u8 = 0x86;
const TUPLE3: u8 = 0x87;
const NEWTRUE: u8 = 0x88;
const NEWFALSE: u8 = 0x89;
const LONG1: u8 = 0x8a;
const SHORT_BINUNICODE: u8 = 0x8c;
const BINUNICODE8: u8 = 0x8d;
const BINBYTES8: u8 = 0x8e;
const STACK_GLOBAL: u8 = 0x93;
const MEMOIZE: u8 = 0x94;
const FRAME: u8 = 0x95;
const BINBYTES: u8 = b'B';
const SHORT_BINBYTES: u8 = b'C';

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    /// Offset of the opcode being executed (for errors).
    op_pos: usize,
    stack: Vec<Val>,
    marks: Vec<usize>,
    memo: Vec<Option<Val>>,
    objs: Vec<Obj>,
}

/// Unpickle `data` (protocol 0–5 framing, the opcode subset listed in this module).
pub(crate) fn parse(data: &[u8]) -> PResult<Pickle<'_>> {
    if data.len() > u32::MAX as usize {
        return Err(PickleError {
            offset: 0,
            what: "pickle larger than 4 GiB".into(),
        });
    }
    let mut m = Machine {
        data,
        pos: 0,
        op_pos: 0,
        stack: Vec::with_capacity(64),
        marks: Vec::with_capacity(8),
        // Sized from the benchmark files (about one memo entry per 16 bytes, one
        // container/object per 24): avoids regrowing (and page-faulting) large vectors.
        memo: Vec::with_capacity(data.len() / 16),
        objs: Vec::with_capacity(data.len() / 24),
    };
    let root = m.run()?;
    Ok(Pickle {
        data,
        objs: m.objs,
        root,
    })
}

impl<'a> Machine<'a> {
    fn err<T>(&self, what: impl Into<String>) -> PResult<T> {
        Err(PickleError {
            offset: self.op_pos,
            what: what.into(),
        })
    }

    fn take(&mut self, n: usize) -> PResult<(u32, u32)> {
        let start = self.pos;
        match start.checked_add(n) {
            Some(end) if end <= self.data.len() => {
                self.pos = end;
                Ok((start as u32, end as u32))
            }
            _ => Err(PickleError {
                offset: self.op_pos,
                what: format!(
                    "truncated pickle: opcode needs {n} more bytes but only {} remain",
                    self.data.len().saturating_sub(start)
                ),
            }),
        }
    }

    fn bytes<const N: usize>(&mut self) -> PResult<[u8; N]> {
        let (s, e) = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(&self.data[s as usize..e as usize]);
        Ok(out)
    }

    fn u8(&mut self) -> PResult<u8> {
        Ok(self.bytes::<1>()?[0])
    }

    fn u32(&mut self) -> PResult<u32> {
        Ok(u32::from_le_bytes(self.bytes::<4>()?))
    }

    fn u64_len(&mut self) -> PResult<usize> {
        let n = u64::from_le_bytes(self.bytes::<8>()?);
        usize::try_from(n).or_else(|_| self.err("length does not fit in memory"))
    }

    fn line(&mut self) -> PResult<(u32, u32)> {
        let start = self.pos;
        match self.data[start..].iter().position(|&b| b == b'\n') {
            Some(n) => {
                self.pos = start + n + 1;
                Ok((start as u32, (start + n) as u32))
            }
            None => self.err("truncated pickle: unterminated text line"),
        }
    }

    fn utf8(&mut self, n: usize) -> PResult<Val> {
        let (s, e) = self.take(n)?;
        if std::str::from_utf8(&self.data[s as usize..e as usize]).is_err() {
            return self.err("string is not valid UTF-8");
        }
        Ok(Val::Str(s, e))
    }

    fn pop(&mut self) -> PResult<Val> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return self.err("stack underflow (corrupt pickle)");
        }
        Ok(self.stack.pop().unwrap_or(Val::None))
    }

    fn top_mut(&mut self) -> PResult<&mut Val> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return self.err("stack underflow (corrupt pickle)");
        }
        let n = self.stack.len();
        Ok(&mut self.stack[n - 1])
    }

    fn pop_mark(&mut self) -> PResult<Vec<Val>> {
        match self.marks.pop() {
            Some(m) if m <= self.stack.len() => Ok(self.stack.split_off(m)),
            _ => self.err("no MARK on the stack (corrupt pickle)"),
        }
    }

    fn new_obj(&mut self, o: Obj) -> Val {
        self.objs.push(o);
        Val::Obj((self.objs.len() - 1) as u32)
    }

    fn obj_mut(&mut self, v: Val) -> Option<&mut Obj> {
        match v {
            Val::Obj(i) => self.objs.get_mut(i as usize),
            _ => None,
        }
    }

    fn put(&mut self, idx: usize) -> PResult<()> {
        let v = *self.top_mut()?;
        // A memo index can never sensibly exceed the number of opcodes.
        if idx > self.data.len() {
            return self.err(format!("memo index {idx} out of range"));
        }
        if idx >= self.memo.len() {
            self.memo.resize(idx + 1, None);
        }
        self.memo[idx] = Some(v);
        Ok(())
    }

    fn get(&mut self, idx: usize) -> PResult<()> {
        match self.memo.get(idx).copied().flatten() {
            Some(v) => {
                self.stack.push(v);
                Ok(())
            }
            None => self.err(format!(
                "memo index {idx} was never stored (corrupt pickle)"
            )),
        }
    }

    fn global_is(&self, v: Val, module: &[&str], name: &str) -> bool {
        match v {
            Val::Obj(i) => match self.objs.get(i as usize) {
                Some(Obj::Global { module: m, name: n }) => {
                    let m = &self.data[m.0 as usize..m.1 as usize];
                    &self.data[n.0 as usize..n.1 as usize] == name.as_bytes()
                        && module.iter().any(|x| x.as_bytes() == m)
                }
                _ => false,
            },
            _ => false,
        }
    }

    fn run(&mut self) -> PResult<Val> {
        loop {
            self.op_pos = self.pos;
            let Some(&op) = self.data.get(self.pos) else {
                return self.err("truncated pickle: no STOP opcode before end of data");
            };
            self.pos += 1;
            match op {
                PROTO => {
                    let p = self.u8()?;
                    if p > 5 {
                        return self.err(format!("unsupported pickle protocol {p}"));
                    }
                }
                FRAME => {
                    // Framing is only a read-ahead hint; the frame content is ordinary opcodes.
                    let n = self.u64_len()?;
                    if n > self.data.len() - self.pos {
                        return self.err("truncated pickle: frame extends past end of data");
                    }
                }
                STOP => {
                    let v = self.pop()?;
                    return Ok(v);
                }
                MARK => self.marks.push(self.stack.len()),
                POP => {
                    self.pop()?;
                }
                POP_MARK => {
                    self.pop_mark()?;
                }
                DUP => {
                    let v = *self.top_mut()?;
                    self.stack.push(v);
                }
                NONE => self.stack.push(Val::None),
                NEWTRUE => self.stack.push(Val::Bool(true)),
                NEWFALSE => self.stack.push(Val::Bool(false)),
                BININT => {
                    let v = i32::from_le_bytes(self.bytes::<4>()?);
                    self.stack.push(Val::Int(v as i64));
                }
                BININT1 => {
                    let v = self.u8()?;
                    self.stack.push(Val::Int(v as i64));
                }
                BININT2 => {
                    let v = u16::from_le_bytes(self.bytes::<2>()?);
                    self.stack.push(Val::Int(v as i64));
                }
                LONG1 => {
                    let n = self.u8()? as usize;
                    let (s, e) = self.take(n)?;
                    let b = &self.data[s as usize..e as usize];
                    if n > 8 {
                        return self.err("integer wider than 64 bits is not supported");
                    }
                    // little-endian two's complement, sign-extended
                    let mut buf = if b.last().is_some_and(|&x| x & 0x80 != 0) {
                        [0xffu8; 8]
                    } else {
                        [0u8; 8]
                    };
                    buf[..n].copy_from_slice(b);
                    self.stack.push(Val::Int(i64::from_le_bytes(buf)));
                }
                BINFLOAT => {
                    let v = f64::from_be_bytes(self.bytes::<8>()?);
                    self.stack.push(Val::Float(v));
                }
                SHORT_BINUNICODE => {
                    let n = self.u8()? as usize;
                    let v = self.utf8(n)?;
                    self.stack.push(v);
                }
                BINUNICODE => {
                    let n = self.u32()? as usize;
                    let v = self.utf8(n)?;
                    self.stack.push(v);
                }
                BINUNICODE8 => {
                    let n = self.u64_len()?;
                    let v = self.utf8(n)?;
                    self.stack.push(v);
                }
                SHORT_BINBYTES => {
                    let n = self.u8()? as usize;
                    let (s, e) = self.take(n)?;
                    self.stack.push(Val::Bytes(s, e));
                }
                BINBYTES => {
                    let n = self.u32()? as usize;
                    let (s, e) = self.take(n)?;
                    self.stack.push(Val::Bytes(s, e));
                }
                BINBYTES8 => {
                    let n = self.u64_len()?;
                    let (s, e) = self.take(n)?;
                    self.stack.push(Val::Bytes(s, e));
                }
                EMPTY_TUPLE => {
                    let v = self.new_obj(Obj::Tuple(Vec::new()));
                    self.stack.push(v);
                }
                TUPLE1 | TUPLE2 | TUPLE3 => {
                    let n = (op - TUPLE1 + 1) as usize;
                    let mut items = vec![Val::None; n];
                    for i in (0..n).rev() {
                        items[i] = self.pop()?;
                    }
                    let v = self.new_obj(Obj::Tuple(items));
                    self.stack.push(v);
                }
                TUPLE => {
                    let items = self.pop_mark()?;
                    let v = self.new_obj(Obj::Tuple(items));
                    self.stack.push(v);
                }
                EMPTY_LIST => {
                    let v = self.new_obj(Obj::List(Vec::new()));
                    self.stack.push(v);
                }
                LIST => {
                    let items = self.pop_mark()?;
                    let v = self.new_obj(Obj::List(items));
                    self.stack.push(v);
                }
                EMPTY_DICT => {
                    let v = self.new_obj(Obj::Dict(Vec::new()));
                    self.stack.push(v);
                }
                DICT => {
                    let items = self.pop_mark()?;
                    let pairs = self.pairs(items)?;
                    let v = self.new_obj(Obj::Dict(pairs));
                    self.stack.push(v);
                }
                APPEND => {
                    let item = self.pop()?;
                    let target = *self.top_mut()?;
                    match self.obj_mut(target) {
                        Some(Obj::List(l)) => l.push(item),
                        _ => return self.err("APPEND to something that is not a list"),
                    }
                }
                APPENDS => {
                    let items = self.pop_mark()?;
                    let target = *self.top_mut()?;
                    match self.obj_mut(target) {
                        Some(Obj::List(l)) => l.extend(items),
                        _ => return self.err("APPENDS to something that is not a list"),
                    }
                }
                SETITEM => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    let target = *self.top_mut()?;
                    match self.obj_mut(target) {
                        Some(Obj::Dict(d)) => d.push((k, v)),
                        _ => return self.err("SETITEM on something that is not a dict"),
                    }
                }
                SETITEMS => {
                    // Move the items straight from the stack into the dict (no temporary Vec).
                    let m = match self.marks.pop() {
                        Some(m) if m <= self.stack.len() => m,
                        _ => return self.err("no MARK on the stack (corrupt pickle)"),
                    };
                    if (self.stack.len() - m) & 1 == 1 {
                        return self.err("odd number of items for a dict");
                    }
                    // The dict sits just below the mark.
                    let floor = self.marks.last().copied().unwrap_or(0);
                    if m <= floor {
                        return self.err("stack underflow (corrupt pickle)");
                    }
                    let Val::Obj(i) = self.stack[m - 1] else {
                        return self.err("SETITEMS on something that is not a dict");
                    };
                    match self.objs.get_mut(i as usize) {
                        Some(Obj::Dict(d)) => {
                            d.extend(self.stack[m..].chunks_exact(2).map(|c| (c[0], c[1])))
                        }
                        _ => return self.err("SETITEMS on something that is not a dict"),
                    }
                    self.stack.truncate(m);
                }
                BINPUT => {
                    let i = self.u8()? as usize;
                    self.put(i)?;
                }
                LONG_BINPUT => {
                    let i = self.u32()? as usize;
                    self.put(i)?;
                }
                MEMOIZE => {
                    let i = self.memo.len();
                    self.put(i)?;
                }
                BINGET => {
                    let i = self.u8()? as usize;
                    self.get(i)?;
                }
                LONG_BINGET => {
                    let i = self.u32()? as usize;
                    self.get(i)?;
                }
                GLOBAL => {
                    let module = self.line()?;
                    let name = self.line()?;
                    let v = self.new_obj(Obj::Global { module, name });
                    self.stack.push(v);
                }
                STACK_GLOBAL => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Val::Str(ms, me), Val::Str(ns, ne)) => {
                            let v = self.new_obj(Obj::Global {
                                module: (ms, me),
                                name: (ns, ne),
                            });
                            self.stack.push(v);
                        }
                        _ => return self.err("STACK_GLOBAL needs two strings"),
                    }
                }
                REDUCE => {
                    let args = self.pop()?;
                    let func = self.pop()?;
                    let v = self.reduce(func, args)?;
                    self.stack.push(v);
                }
                NEWOBJ => {
                    let _args = self.pop()?;
                    let class = self.pop()?;
                    let v = self.new_obj(Obj::Instance { class, state: None });
                    self.stack.push(v);
                }
                BUILD => {
                    let state = self.pop()?;
                    let target = *self.top_mut()?;
                    let order = self.dtype_order_from_state(state);
                    match self.obj_mut(target) {
                        Some(Obj::Instance { state: s, .. })
                        | Some(Obj::Reduced { state: s, .. }) => *s = Some(state),
                        Some(Obj::Dtype { order: o, .. }) => match order {
                            Some(b) => *o = b,
                            None => {
                                return self.err(
                                    "numpy dtype BUILD state is not (version, byteorder, ...)",
                                )
                            }
                        },
                        _ => return self.err("BUILD on a value that is not an object"),
                    }
                }
                other => {
                    return self.err(format!(
                        "unsupported or corrupt pickle opcode 0x{other:02x}"
                    ));
                }
            }
        }
    }

    fn pairs(&self, items: Vec<Val>) -> PResult<Vec<(Val, Val)>> {
        if items.len() & 1 == 1 {
            return self.err("odd number of items for a dict");
        }
        Ok(items.chunks_exact(2).map(|c| (c[0], c[1])).collect())
    }

    /// numpy dtype `__setstate__` state: `(version, byteorder, ...)`.
    fn dtype_order_from_state(&self, state: Val) -> Option<u8> {
        let Val::Obj(i) = state else { return None };
        let Some(Obj::Tuple(items)) = self.objs.get(i as usize) else {
            return None;
        };
        match items.get(1) {
            Some(Val::Str(s, e)) if e - s == 1 => Some(self.data[*s as usize]),
            _ => None,
        }
    }

    fn reduce(&mut self, func: Val, args: Val) -> PResult<Val> {
        let (a0, a1) = match self.obj_mut(args) {
            Some(Obj::Tuple(t)) => (t.first().copied(), t.get(1).copied()),
            _ => return self.err("REDUCE arguments are not a tuple"),
        };
        if self.global_is(func, &["numpy"], "dtype") {
            return match a0 {
                Some(Val::Str(s, e)) => Ok(self.new_obj(Obj::Dtype {
                    descr: (s, e),
                    order: b'=',
                })),
                _ => self.err("numpy.dtype(...) without a type string"),
            };
        }
        if self.global_is(
            func,
            &["numpy.core.multiarray", "numpy._core.multiarray"],
            "scalar",
        ) {
            return match (a0, a1) {
                (Some(dtype), Some(Val::Bytes(s, e))) => Ok(self.new_obj(Obj::NpScalar {
                    dtype,
                    data: (s, e),
                })),
                // numpy pickles object scalars as latin-1 str; not needed here.
                _ => self.err("numpy scalar(...) without (dtype, bytes) arguments"),
            };
        }
        Ok(self.new_obj(Obj::Reduced { state: None }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // pickle.dumps({'a': [1, 2.5, None, True, -3, 2**40, -2**40], 'b': (b'xy', -3, 'é'),
    //               'c': {'k': False}}, protocol=P)
    const P2: &[u8] = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01]q\x02(K\x01G@\x04\x00\x00\x00\x00\x00\x00N\x88J\xfd\xff\xff\xff\x8a\x06\x00\x00\x00\x00\x00\x01\x8a\x06\x00\x00\x00\x00\x00\xffeX\x01\x00\x00\x00bq\x03c_codecs\nencode\nq\x04X\x02\x00\x00\x00xyq\x05X\x06\x00\x00\x00latin1q\x06\x86q\x07Rq\x08J\xfd\xff\xff\xffX\x02\x00\x00\x00\xc3\xa9q\t\x87q\nX\x01\x00\x00\x00cq\x0b}q\x0cX\x01\x00\x00\x00kq\r\x89su.";
    const P4: &[u8] = b"\x80\x04\x95P\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01a\x94]\x94(K\x01G@\x04\x00\x00\x00\x00\x00\x00N\x88J\xfd\xff\xff\xff\x8a\x06\x00\x00\x00\x00\x00\x01\x8a\x06\x00\x00\x00\x00\x00\xffe\x8c\x01b\x94C\x02xy\x94J\xfd\xff\xff\xff\x8c\x02\xc3\xa9\x94\x87\x94\x8c\x01c\x94}\x94\x8c\x01k\x94\x89su.";

    #[test]
    fn small_values() {
        for data in [P2, P4] {
            let p = parse(data).unwrap();
            let d = p.dict(p.root).unwrap();
            let a = p.seq(p.get(d, "a").unwrap()).unwrap();
            let nums: Vec<Option<f64>> = a.iter().map(|v| p.f64(*v)).collect();
            let t = 2f64.powi(40);
            assert_eq!(
                nums,
                [
                    Some(1.0),
                    Some(2.5),
                    None,
                    Some(1.0),
                    Some(-3.0),
                    Some(t),
                    Some(-t)
                ]
            );
            assert_eq!(a[2], Val::None);
            let b = p.seq(p.get(d, "b").unwrap()).unwrap();
            assert_eq!(b.len(), 3);
            assert_eq!(p.f64(b[1]), Some(-3.0));
            assert_eq!(p.str(b[2]), Some("é"));
            let c = p.dict(p.get(d, "c").unwrap()).unwrap();
            assert_eq!(p.get(c, "k"), Some(Val::Bool(false)));
        }
    }

    #[test]
    fn numpy_scalars() {
        // numpy 2.4: pickle.dumps([np.float64(0.1), np.float32(1.5), np.int64(-7),
        //                          np.array([2.5], dtype='>f8')[0], np.float64(0.1)], protocol=3)
        // (`numpy._core.multiarray.scalar`; the dtype is memoized before its BUILD and
        // reused through the memo afterwards).
        let data = b"\x80\x03]q\x00(cnumpy._core.multiarray\nscalar\nq\x01cnumpy\ndtype\nq\x02X\x02\x00\x00\x00f8q\x03\x89\x88\x87q\x04Rq\x05(K\x03X\x01\x00\x00\x00<q\x06NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x07bC\x08\x9a\x99\x99\x99\x99\x99\xb9?q\x08\x86q\tRq\nh\x01h\x02X\x02\x00\x00\x00f4q\x0b\x89\x88\x87q\x0cRq\r(K\x03h\x06NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x0ebC\x04\x00\x00\xc0?q\x0f\x86q\x10Rq\x11h\x01h\x02X\x02\x00\x00\x00i8q\x12\x89\x88\x87q\x13Rq\x14(K\x03h\x06NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x15bC\x08\xf9\xff\xff\xff\xff\xff\xff\xffq\x16\x86q\x17Rq\x18h\x01h\x05C\x08\x00\x00\x00\x00\x00\x00\x04@q\x19\x86q\x1aRq\x1bh\x01h\x05C\x08\x9a\x99\x99\x99\x99\x99\xb9?q\x1c\x86q\x1dRq\x1ee.";
        let p = parse(data).unwrap();
        let v: Vec<Option<f64>> = p.seq(p.root).unwrap().iter().map(|x| p.f64(*x)).collect();
        assert_eq!(v, [Some(0.1), Some(1.5), Some(-7.0), Some(2.5), Some(0.1)]);
        // The memoized dtype object saw its BUILD: byte order '<'.
        let orders: Vec<u8> = p
            .objs
            .iter()
            .filter_map(|o| {
                if let Obj::Dtype { order, .. } = o {
                    Some(*order)
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(orders, b"<<<");
    }

    #[test]
    fn truncation_and_garbage_never_panic() {
        for data in [P2, P4] {
            for n in 0..data.len() {
                assert!(parse(&data[..n]).is_err(), "prefix {n}");
            }
            for i in 0..data.len() {
                for b in [
                    0u8, 0x28, 0x2e, 0x71, 0x68, 0x6a, 0x72, 0xff, 0x95, 0x8d, 0x62, 0x52, 0x81,
                ] {
                    let mut d = data.to_vec();
                    d[i] = b;
                    let _ = parse(&d);
                }
            }
        }
    }
}
