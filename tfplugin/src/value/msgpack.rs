//! msgpack codec for cty values, compatible with go-cty's `msgpack` package,
//! which is what Terraform uses for every config, plan and state it sends.
//!
//! The payload carries no types: the decoder is driven by the schema type,
//! and `dynamic` positions carry their concrete type inline as
//! `[type JSON, value]`.

use std::collections::BTreeMap;

use rmp::Marker;

use super::{AttributePath, Number, PathStep, Type, Value};

/// A msgpack payload that does not match its type, or a value that cannot be
/// encoded as its type.
#[derive(Debug, thiserror::Error)]
#[error("msgpack: {0}")]
pub struct MsgpackError(pub String);

/// Deepest nesting of arrays, maps and dynamic wrappers accepted. Real schemas
/// nest a handful of levels; the cap keeps hostile input from exhausting the
/// stack of the decoder (and of the recursive drop of the result).
const MAX_DEPTH: usize = 128;

/// The unknown value as go-cty writes it: fixext1, extension type 0, payload 0.
const UNKNOWN: [u8; 3] = [0xd4, 0x00, 0x00];

/// Decodes `bytes` as a value of type `ty`.
///
/// Nulls and unknowns may appear at any position; object attributes missing
/// from the payload decode as null. The whole input must be one value.
pub fn decode_msgpack(bytes: &[u8], ty: &Type) -> Result<Value, MsgpackError> {
    let mut dec = Decoder {
        buf: bytes,
        pos: 0,
        path: AttributePath::root(),
    };
    let value = dec.value(ty, 0)?;
    if dec.pos != bytes.len() {
        return Err(MsgpackError(format!(
            "{} unexpected bytes after the value (at offset {})",
            bytes.len() - dec.pos,
            dec.pos
        )));
    }
    Ok(value)
}

/// Encodes `value` as type `ty`.
///
/// Objects carry every attribute of their type (nil for null or absent ones),
/// as Terraform requires.
pub fn encode_msgpack(value: &Value, ty: &Type) -> Result<Vec<u8>, MsgpackError> {
    let mut enc = Encoder {
        out: Vec::new(),
        path: AttributePath::root(),
    };
    enc.value(value, ty, 0)?;
    Ok(enc.out)
}

/// A short name of a type for error messages: object attributes are left
/// out, since a schema's root object would otherwise fill the message.
pub(super) fn brief(ty: &Type) -> String {
    match ty {
        Type::Bool | Type::Number | Type::String | Type::Dynamic => ty.to_string(),
        Type::List(e) => format!("list({})", brief(e)),
        Type::Set(e) => format!("set({})", brief(e)),
        Type::Map(e) => format!("map({})", brief(e)),
        Type::Object(_) => "object".to_string(),
        Type::Tuple(elems) => format!("tuple of {} elements", elems.len()),
    }
}

/// The kind of a value with its article, for error messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Unknown => "an unknown value",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::List(_) => "a list",
        Value::Set(_) => "a set",
        Value::Map(_) => "a map",
        Value::Object(_) => "an object",
        Value::Tuple(_) => "a tuple",
        Value::Dynamic(..) => "a dynamic value",
    }
}

/// Prefixes `msg` with the attribute path it concerns (nothing at the root).
pub(super) fn at(path: &AttributePath, msg: impl std::fmt::Display) -> String {
    if path.0.is_empty() {
        msg.to_string()
    } else {
        format!("at {path}: {msg}")
    }
}

/// What a msgpack marker introduces, for error messages.
fn describe(marker: Marker) -> String {
    match marker {
        Marker::Null => "nil".into(),
        Marker::True | Marker::False => "a bool".into(),
        Marker::FixPos(_)
        | Marker::FixNeg(_)
        | Marker::U8
        | Marker::U16
        | Marker::U32
        | Marker::U64
        | Marker::I8
        | Marker::I16
        | Marker::I32
        | Marker::I64 => "an integer".into(),
        Marker::F32 | Marker::F64 => "a float".into(),
        Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => "a string".into(),
        Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => "binary data".into(),
        Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => "an array".into(),
        Marker::FixMap(_) | Marker::Map16 | Marker::Map32 => "a map".into(),
        Marker::FixExt1
        | Marker::FixExt2
        | Marker::FixExt4
        | Marker::FixExt8
        | Marker::FixExt16
        | Marker::Ext8
        | Marker::Ext16
        | Marker::Ext32 => "an extension".into(),
        Marker::Reserved => "the reserved byte 0xc1".into(),
    }
}

/// A type-driven reader over one msgpack document.
struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Where the value being decoded sits, for error messages.
    path: AttributePath,
}

impl<'a> Decoder<'a> {
    fn err(&self, msg: impl std::fmt::Display) -> MsgpackError {
        MsgpackError(at(&self.path, msg))
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The next `n` bytes, bounds-checked: lengths come from the input.
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], MsgpackError> {
        if n > self.remaining() {
            return Err(self.err(format!(
                "truncated {what}: needs {n} bytes, {} left",
                self.remaining()
            )));
        }
        let buf: &'a [u8] = self.buf;
        let out = &buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn be<const N: usize>(&mut self, what: &str) -> Result<[u8; N], MsgpackError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    fn peek(&self) -> Result<Marker, MsgpackError> {
        match self.buf.get(self.pos) {
            Some(b) => Ok(Marker::from_u8(*b)),
            None => Err(self.err("unexpected end of input")),
        }
    }

    fn expected(&self, what: &str, found: Marker) -> MsgpackError {
        self.err(format!("expected {what}, found {}", describe(found)))
    }

    fn value(&mut self, ty: &Type, depth: usize) -> Result<Value, MsgpackError> {
        if depth > MAX_DEPTH {
            return Err(self.err(format!("value nested deeper than {MAX_DEPTH} levels")));
        }
        let marker = self.peek()?;
        // Any extension is an unknown: Terraform 1.6+ sends refined unknowns
        // (type 12, with a map of refinements) that we may treat as plain.
        if self.skip_ext(marker)? {
            return Ok(Value::Unknown);
        }
        if let Marker::Null = marker {
            self.pos += 1;
            return Ok(Value::Null);
        }
        match ty {
            Type::Bool => {
                self.pos += 1;
                match marker {
                    Marker::True => Ok(Value::Bool(true)),
                    Marker::False => Ok(Value::Bool(false)),
                    other => Err(self.expected("bool", other)),
                }
            }
            Type::Number => self.number(marker).map(Value::Number),
            Type::String => {
                let bytes = self.str_or_bin(marker, "string")?;
                Ok(Value::String(self.utf8(bytes)?.to_string()))
            }
            Type::List(elem) => Ok(Value::List(self.seq(marker, elem, &brief(ty), depth)?)),
            Type::Set(elem) => Ok(Value::Set(self.seq(marker, elem, &brief(ty), depth)?)),
            Type::Tuple(elems) => {
                let len = self.array_len(marker, &brief(ty))?;
                if len != elems.len() {
                    return Err(self.err(format!(
                        "expected a tuple of {} elements, found {len}",
                        elems.len()
                    )));
                }
                let mut out = Vec::with_capacity(len);
                for (i, ety) in elems.iter().enumerate() {
                    self.path.0.push(PathStep::Index(i as i64));
                    out.push(self.value(ety, depth + 1)?);
                    self.path.0.pop();
                }
                Ok(Value::Tuple(out))
            }
            Type::Map(elem) => {
                let len = self.map_len(marker, &brief(ty))?;
                let mut out = BTreeMap::new();
                for _ in 0..len {
                    let key = self.key("map key")?;
                    self.path.0.push(PathStep::Key(key.to_string()));
                    let v = self.value(elem, depth + 1)?;
                    self.path.0.pop();
                    out.insert(key.to_string(), v);
                }
                Ok(Value::Map(out))
            }
            Type::Object(attrs) => {
                let len = self.map_len(marker, "object")?;
                let mut out = BTreeMap::new();
                for _ in 0..len {
                    let key = self.key("attribute name")?;
                    let Some(aty) = attrs.get(key) else {
                        return Err(self.err(format!("unsupported attribute {key:?}")));
                    };
                    self.path.0.push(PathStep::Attr(key.to_string()));
                    let v = self.value(aty, depth + 1)?;
                    self.path.0.pop();
                    out.insert(key.to_string(), v);
                }
                for name in attrs.keys() {
                    out.entry(name.clone()).or_insert(Value::Null);
                }
                Ok(Value::Object(out))
            }
            Type::Dynamic => {
                let len = self.array_len(marker, "a dynamic value [type, value]")?;
                if len != 2 {
                    return Err(self.err(format!(
                        "a dynamic value must be a [type, value] array, found {len} elements"
                    )));
                }
                let marker = self.peek()?;
                let json = self.str_or_bin(marker, "the type of a dynamic value")?;
                let concrete = Type::from_json_bytes(json)
                    .map_err(|e| self.err(format!("dynamic value: {e}")))?;
                let inner = self.value(&concrete, depth + 1)?;
                // A wrapper that says "dynamic" adds nothing: the inner value
                // is itself null, unknown or wrapped.
                Ok(match concrete {
                    Type::Dynamic => inner,
                    concrete => Value::Dynamic(concrete, Box::new(inner)),
                })
            }
        }
    }

    /// Consumes an extension if `marker` starts one; true when it did.
    fn skip_ext(&mut self, marker: Marker) -> Result<bool, MsgpackError> {
        let payload = match marker {
            Marker::FixExt1 => 1,
            Marker::FixExt2 => 2,
            Marker::FixExt4 => 4,
            Marker::FixExt8 => 8,
            Marker::FixExt16 => 16,
            Marker::Ext8 | Marker::Ext16 | Marker::Ext32 => {
                self.pos += 1;
                match marker {
                    Marker::Ext8 => usize::from(self.be::<1>("extension length")?[0]),
                    Marker::Ext16 => usize::from(u16::from_be_bytes(self.be("extension length")?)),
                    _ => u32::from_be_bytes(self.be("extension length")?) as usize,
                }
            }
            _ => return Ok(false),
        };
        if !matches!(marker, Marker::Ext8 | Marker::Ext16 | Marker::Ext32) {
            self.pos += 1;
        }
        // One byte of extension type, then the payload.
        self.take(payload.saturating_add(1), "extension")?;
        Ok(true)
    }

    fn number(&mut self, marker: Marker) -> Result<Number, MsgpackError> {
        self.pos += 1;
        let n = match marker {
            Marker::FixPos(n) => Number::Int(i64::from(n)),
            Marker::FixNeg(n) => Number::Int(i64::from(n)),
            Marker::U8 => Number::Int(i64::from(self.be::<1>("integer")?[0])),
            Marker::U16 => Number::Int(i64::from(u16::from_be_bytes(self.be("integer")?))),
            Marker::U32 => Number::Int(i64::from(u32::from_be_bytes(self.be("integer")?))),
            Marker::U64 => {
                let u = u64::from_be_bytes(self.be("integer")?);
                i64::try_from(u).map_or_else(|_| Number::Big(u.to_string()), Number::Int)
            }
            Marker::I8 => Number::Int(i64::from(i8::from_be_bytes(self.be("integer")?))),
            Marker::I16 => Number::Int(i64::from(i16::from_be_bytes(self.be("integer")?))),
            Marker::I32 => Number::Int(i64::from(i32::from_be_bytes(self.be("integer")?))),
            Marker::I64 => Number::Int(i64::from_be_bytes(self.be("integer")?)),
            Marker::F32 | Marker::F64 => {
                let f = if let Marker::F32 = marker {
                    f64::from(f32::from_be_bytes(self.be("float")?))
                } else {
                    f64::from_be_bytes(self.be("float")?)
                };
                if !f.is_finite() {
                    return Err(self.err(format!("number {f} is not finite")));
                }
                Number::Float(f)
            }
            // go-cty sends numbers that fit neither an int nor a double
            // exactly as their decimal text.
            Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => {
                self.pos -= 1;
                let bytes = self.str_or_bin(marker, "number")?;
                let text = self.utf8(bytes)?;
                return Number::parse(text).ok_or_else(|| {
                    self.err(format!("expected a number, found the string {text:?}"))
                });
            }
            other => {
                self.pos -= 1;
                return Err(self.expected("number", other));
            }
        };
        Ok(n)
    }

    /// The bytes of a str or bin (go-cty reads either where it wants bytes).
    fn str_or_bin(&mut self, marker: Marker, what: &str) -> Result<&'a [u8], MsgpackError> {
        self.pos += 1;
        let len = match marker {
            Marker::FixStr(n) => usize::from(n),
            Marker::Str8 | Marker::Bin8 => usize::from(self.be::<1>("length")?[0]),
            Marker::Str16 | Marker::Bin16 => usize::from(u16::from_be_bytes(self.be("length")?)),
            Marker::Str32 | Marker::Bin32 => u32::from_be_bytes(self.be("length")?) as usize,
            other => {
                self.pos -= 1;
                return Err(self.expected(what, other));
            }
        };
        self.take(len, what)
    }

    fn utf8(&self, bytes: &'a [u8]) -> Result<&'a str, MsgpackError> {
        std::str::from_utf8(bytes).map_err(|e| self.err(format!("string is not valid UTF-8: {e}")))
    }

    /// A map key or attribute name.
    fn key(&mut self, what: &str) -> Result<&'a str, MsgpackError> {
        let marker = self.peek()?;
        let bytes = self.str_or_bin(marker, what)?;
        self.utf8(bytes)
    }

    fn array_len(&mut self, marker: Marker, what: &str) -> Result<usize, MsgpackError> {
        self.pos += 1;
        let len = match marker {
            Marker::FixArray(n) => usize::from(n),
            Marker::Array16 => usize::from(u16::from_be_bytes(self.be("array length")?)),
            Marker::Array32 => u32::from_be_bytes(self.be("array length")?) as usize,
            other => {
                self.pos -= 1;
                return Err(self.expected(what, other));
            }
        };
        // Every element takes at least one byte: refuse lengths the input
        // cannot hold before anything is sized by them.
        if len > self.remaining() {
            return Err(self.err(format!(
                "array of {len} elements, but only {} bytes left",
                self.remaining()
            )));
        }
        Ok(len)
    }

    fn map_len(&mut self, marker: Marker, what: &str) -> Result<usize, MsgpackError> {
        self.pos += 1;
        let len = match marker {
            Marker::FixMap(n) => usize::from(n),
            Marker::Map16 => usize::from(u16::from_be_bytes(self.be("map length")?)),
            Marker::Map32 => u32::from_be_bytes(self.be("map length")?) as usize,
            other => {
                self.pos -= 1;
                return Err(self.expected(what, other));
            }
        };
        // A key and a value take at least one byte each.
        if len > self.remaining() / 2 {
            return Err(self.err(format!(
                "map of {len} entries, but only {} bytes left",
                self.remaining()
            )));
        }
        Ok(len)
    }

    /// The elements of a list or set.
    fn seq(
        &mut self,
        marker: Marker,
        elem: &Type,
        what: &str,
        depth: usize,
    ) -> Result<Vec<Value>, MsgpackError> {
        let len = self.array_len(marker, what)?;
        let mut out = Vec::with_capacity(len);
        for i in 0..len {
            self.path.0.push(PathStep::Index(i as i64));
            out.push(self.value(elem, depth + 1)?);
            self.path.0.pop();
        }
        Ok(out)
    }
}

/// A type-driven writer of one msgpack document.
struct Encoder {
    out: Vec<u8>,
    /// Where the value being encoded sits, for error messages.
    path: AttributePath,
}

/// Writes to a `Vec` cannot fail; this keeps the types honest without a panic.
fn written<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<(), MsgpackError> {
    r.map(|_| ())
        .map_err(|e| MsgpackError(format!("write failed: {e}")))
}

impl Encoder {
    fn err(&self, msg: impl std::fmt::Display) -> MsgpackError {
        MsgpackError(at(&self.path, msg))
    }

    fn len32(&self, len: usize) -> Result<u32, MsgpackError> {
        u32::try_from(len)
            .map_err(|_| self.err(format!("a length of {len} exceeds msgpack's limit")))
    }

    /// A str, length-checked first: rmp would silently truncate the length.
    fn str(&mut self, s: &str) -> Result<(), MsgpackError> {
        self.len32(s.len())?;
        written(rmp::encode::write_str(&mut self.out, s))
    }

    fn mismatch(&self, value: &Value, ty: &Type) -> MsgpackError {
        self.err(format!("cannot encode {} as {}", kind(value), brief(ty)))
    }

    fn value(&mut self, value: &Value, ty: &Type, depth: usize) -> Result<(), MsgpackError> {
        if depth > MAX_DEPTH {
            return Err(self.err(format!("value nested deeper than {MAX_DEPTH} levels")));
        }
        match (value, ty) {
            (Value::Null, _) => written(rmp::encode::write_nil(&mut self.out)),
            (Value::Unknown, _) => {
                self.out.extend_from_slice(&UNKNOWN);
                Ok(())
            }
            // The type a value was decoded with only matters where the schema
            // leaves the type open.
            (Value::Dynamic(_, inner), ty) if !matches!(ty, Type::Dynamic) => {
                self.value(inner, ty, depth + 1)
            }
            (Value::Dynamic(Type::Dynamic, inner), Type::Dynamic) => {
                self.value(inner, ty, depth + 1)
            }
            (Value::Dynamic(concrete, inner), Type::Dynamic) => {
                self.dynamic(concrete, inner, depth)
            }
            (known, Type::Dynamic) => self.dynamic(&known.infer_type(), known, depth),
            (Value::Bool(b), Type::Bool) => written(rmp::encode::write_bool(&mut self.out, *b)),
            (Value::Number(n), Type::Number) => self.number(n),
            (Value::String(s), Type::String) => self.str(s),
            (Value::List(items), Type::List(elem)) | (Value::Set(items), Type::Set(elem)) => {
                let len = self.len32(items.len())?;
                written(rmp::encode::write_array_len(&mut self.out, len))?;
                for (i, item) in items.iter().enumerate() {
                    self.path.0.push(PathStep::Index(i as i64));
                    self.value(item, elem, depth + 1)?;
                    self.path.0.pop();
                }
                Ok(())
            }
            (Value::Tuple(items), Type::Tuple(elems)) => {
                if items.len() != elems.len() {
                    return Err(self.err(format!(
                        "cannot encode a tuple of {} elements as a tuple of {}",
                        items.len(),
                        elems.len()
                    )));
                }
                let len = self.len32(items.len())?;
                written(rmp::encode::write_array_len(&mut self.out, len))?;
                for (i, (item, ety)) in items.iter().zip(elems).enumerate() {
                    self.path.0.push(PathStep::Index(i as i64));
                    self.value(item, ety, depth + 1)?;
                    self.path.0.pop();
                }
                Ok(())
            }
            (Value::Map(entries), Type::Map(elem)) => {
                let len = self.len32(entries.len())?;
                written(rmp::encode::write_map_len(&mut self.out, len))?;
                for (k, v) in entries {
                    self.str(k)?;
                    self.path.0.push(PathStep::Key(k.clone()));
                    self.value(v, elem, depth + 1)?;
                    self.path.0.pop();
                }
                Ok(())
            }
            (Value::Object(values), Type::Object(attrs)) => {
                if let Some(extra) = values.keys().find(|k| !attrs.contains_key(*k)) {
                    return Err(self.err(format!("attribute {extra:?} is not in the object type")));
                }
                let len = self.len32(attrs.len())?;
                written(rmp::encode::write_map_len(&mut self.out, len))?;
                // Terraform wants every attribute, absent ones as nil.
                for (name, aty) in attrs {
                    self.str(name)?;
                    self.path.0.push(PathStep::Attr(name.clone()));
                    self.value(values.get(name).unwrap_or(&Value::Null), aty, depth + 1)?;
                    self.path.0.pop();
                }
                Ok(())
            }
            (value, ty) => Err(self.mismatch(value, ty)),
        }
    }

    /// `[type JSON, value]`, the form of a known value at a dynamic position.
    fn dynamic(
        &mut self,
        concrete: &Type,
        inner: &Value,
        depth: usize,
    ) -> Result<(), MsgpackError> {
        written(rmp::encode::write_array_len(&mut self.out, 2))?;
        // go-cty writes the type as bin (and reads str or bin).
        written(rmp::encode::write_bin(
            &mut self.out,
            &concrete.to_json_bytes(),
        ))?;
        self.value(inner, concrete, depth + 1)
    }

    fn number(&mut self, n: &Number) -> Result<(), MsgpackError> {
        match n {
            Number::Int(i) => written(rmp::encode::write_sint(&mut self.out, *i)),
            Number::Float(f) => {
                if !f.is_finite() {
                    return Err(self.err(format!("number {f} is not finite")));
                }
                // go-cty prefers the int form for whole numbers; -2^63 <= f < 2^63.
                if f.fract() == 0.0
                    && *f >= -9_223_372_036_854_775_808.0
                    && *f < 9_223_372_036_854_775_808.0
                {
                    written(rmp::encode::write_sint(&mut self.out, *f as i64))
                } else {
                    // A double such as 0.01 is not the decimal a user writes:
                    // send the shortest decimal that reads back as it, as text,
                    // so Terraform holds the same exact number the config and
                    // the state JSON give it (Terraform 1.0 compares exactly).
                    let text = format!("{f}");
                    match Number::parse(&text) {
                        Some(Number::Float(_)) | None => {
                            written(rmp::encode::write_f64(&mut self.out, *f))
                        }
                        Some(_) => self.str(&text),
                    }
                }
            }
            Number::Big(text) => match Number::parse(text) {
                Some(Number::Int(i)) => written(rmp::encode::write_sint(&mut self.out, i)),
                // Text keeps digits a double would lose; Terraform parses it.
                Some(_) => self.str(text),
                None => Err(self.err(format!("{text:?} is not a decimal number"))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect()
    }

    fn id_name() -> Type {
        Type::object([("id", Type::String), ("name", Type::String)])
    }

    #[test]
    fn object_with_unknown_attribute() {
        let bytes = hex("82 a2 69 64 d4 00 00 a4 6e 61 6d 65 a1 78");
        let value = Value::object([("id", Value::Unknown), ("name", Value::string("x"))]);
        assert_eq!(decode_msgpack(&bytes, &id_name()).unwrap(), value);
        assert_eq!(encode_msgpack(&value, &id_name()).unwrap(), bytes);
    }

    #[test]
    fn nil_and_absent_attributes() {
        // {id: nil, name: "x"}
        let bytes = hex("82 a2 69 64 c0 a4 6e 61 6d 65 a1 78");
        let value = Value::object([("id", Value::Null), ("name", Value::string("x"))]);
        assert_eq!(decode_msgpack(&bytes, &id_name()).unwrap(), value);
        // An attribute left out of the value is written as nil.
        let partial = Value::object([("name", Value::string("x"))]);
        assert_eq!(encode_msgpack(&partial, &id_name()).unwrap(), bytes);
        // ...and one left out of the payload decodes as null.
        let only_name = hex("81 a4 6e 61 6d 65 a1 78");
        assert_eq!(decode_msgpack(&only_name, &id_name()).unwrap(), value);
    }

    #[test]
    fn refined_unknown_is_unknown() {
        // ext8, 6 bytes, type 12, payload {1: true, 2: 1} (refinements).
        let bytes = hex("c7 05 0c 82 01 c3 02 01");
        assert_eq!(
            decode_msgpack(&bytes, &Type::String).unwrap(),
            Value::Unknown
        );
        let obj = hex("81 a2 69 64 c7 05 0c 82 01 c3 02 01");
        assert_eq!(
            decode_msgpack(&obj, &id_name()).unwrap().get("id"),
            &Value::Unknown
        );
        // fixext4 of another type and an ext32 are unknown too.
        assert_eq!(
            decode_msgpack(&hex("d6 05 01 02 03 04"), &Type::Number).unwrap(),
            Value::Unknown
        );
        assert_eq!(
            decode_msgpack(&hex("c9 00 00 00 01 07 00"), &Type::Bool).unwrap(),
            Value::Unknown
        );
        assert!(decode_msgpack(&hex("c7 05 0c 82 01"), &Type::String).is_err());
    }

    #[test]
    fn dynamic_values() {
        // ["string" as bin, "x"]
        let mut bytes = hex("92 c4 08");
        bytes.extend_from_slice(b"\"string\"");
        bytes.extend(hex("a1 78"));
        let value = Value::Dynamic(Type::String, Box::new(Value::string("x")));
        assert_eq!(decode_msgpack(&bytes, &Type::Dynamic).unwrap(), value);
        assert_eq!(encode_msgpack(&value, &Type::Dynamic).unwrap(), bytes);
        // A plain value at a dynamic position is wrapped with its inferred type.
        assert_eq!(
            encode_msgpack(&Value::string("x"), &Type::Dynamic).unwrap(),
            bytes
        );
        // The type may come as str too.
        let mut as_str = hex("92 a8");
        as_str.extend_from_slice(b"\"string\"");
        as_str.extend(hex("a1 78"));
        assert_eq!(decode_msgpack(&as_str, &Type::Dynamic).unwrap(), value);
        // Null and unknown appear unwrapped.
        assert_eq!(
            decode_msgpack(&hex("c0"), &Type::Dynamic).unwrap(),
            Value::Null
        );
        assert_eq!(
            decode_msgpack(&hex("d4 00 00"), &Type::Dynamic).unwrap(),
            Value::Unknown
        );
        assert_eq!(
            encode_msgpack(&Value::Unknown, &Type::Dynamic).unwrap(),
            hex("d4 00 00")
        );
        // A dynamic value at a typed position encodes its inner value.
        assert_eq!(encode_msgpack(&value, &Type::String).unwrap(), hex("a1 78"));
    }

    #[test]
    fn dynamic_list_round_trips() {
        let ty = Type::list(Type::Number);
        let value = Value::Dynamic(
            ty,
            Box::new(Value::List(vec![Value::int(1), Value::Unknown])),
        );
        let bytes = encode_msgpack(&value, &Type::Dynamic).unwrap();
        let mut expected = hex("92 c4 11");
        expected.extend_from_slice(br#"["list","number"]"#);
        expected.extend(hex("92 01 d4 00 00"));
        assert_eq!(bytes, expected);
        assert_eq!(decode_msgpack(&bytes, &Type::Dynamic).unwrap(), value);
    }

    #[test]
    fn numbers() {
        let n = |bytes: &str| decode_msgpack(&hex(bytes), &Type::Number).unwrap();
        assert_eq!(n("05"), Value::int(5));
        assert_eq!(n("ff"), Value::int(-1));
        assert_eq!(n("d3 80 00 00 00 00 00 00 00"), Value::int(i64::MIN));
        assert_eq!(
            n("cf ff ff ff ff ff ff ff ff"),
            Value::Number(Number::Big("18446744073709551615".into()))
        );
        assert_eq!(n("cb 3f f8 00 00 00 00 00 00"), Value::float(1.5));
        assert_eq!(n("ca 3f c0 00 00"), Value::float(1.5));
        // go-cty's text form of numbers no double holds exactly.
        let big = Value::Number(Number::Big("0.1000000000000000000001".into()));
        let mut text = vec![0xa0 + 24];
        text.extend_from_slice(b"0.1000000000000000000001");
        assert_eq!(decode_msgpack(&text, &Type::Number).unwrap(), big);
        assert_eq!(encode_msgpack(&big, &Type::Number).unwrap(), text);
        assert!(decode_msgpack(&hex("a3 61 62 63"), &Type::Number).is_err());
        assert!(decode_msgpack(&hex("cb 7f f0 00 00 00 00 00 00"), &Type::Number).is_err());
        assert!(decode_msgpack(&hex("cb 7f f8 00 00 00 00 00 00"), &Type::Number).is_err());

        let e = |v: Value| encode_msgpack(&v, &Type::Number).unwrap();
        assert_eq!(e(Value::int(1)), hex("01"));
        assert_eq!(e(Value::int(-33)), hex("d0 df"));
        assert_eq!(e(Value::int(300)), hex("cd 01 2c"));
        assert_eq!(e(Value::float(2.0)), hex("02"));
        assert_eq!(e(Value::float(0.5)), hex("cb 3f e0 00 00 00 00 00 00"));
        // 0.01 is not a double's exact value: it travels as the text a user writes.
        assert_eq!(e(Value::float(0.01)), hex("a4 30 2e 30 31"));
        assert_eq!(e(Value::Number(Number::Big("42".into()))), hex("2a"));
        assert!(encode_msgpack(&Value::float(f64::NAN), &Type::Number).is_err());
        assert!(encode_msgpack(&Value::Number(Number::Big("1x".into())), &Type::Number).is_err());
    }

    #[test]
    fn collections() {
        let ty = Type::object([
            ("list", Type::list(Type::String)),
            ("map", Type::map(Type::Bool)),
            ("set", Type::set(Type::Number)),
            ("tuple", Type::Tuple(vec![Type::String, Type::Number])),
        ]);
        let value = Value::object([
            ("list", Value::List(vec![Value::string("a"), Value::Null])),
            (
                "map",
                Value::Map([("k".to_string(), Value::Bool(true))].into()),
            ),
            ("set", Value::Set(vec![Value::int(1), Value::int(2)])),
            (
                "tuple",
                Value::Tuple(vec![Value::string("t"), Value::int(3)]),
            ),
        ]);
        let bytes = encode_msgpack(&value, &ty).unwrap();
        let mut expected = vec![0x84];
        expected.extend(hex("a4 6c 69 73 74 92 a1 61 c0"));
        expected.extend(hex("a3 6d 61 70 81 a1 6b c3"));
        expected.extend(hex("a3 73 65 74 92 01 02"));
        expected.extend(hex("a5 74 75 70 6c 65 92 a1 74 03"));
        assert_eq!(bytes, expected);
        assert_eq!(decode_msgpack(&bytes, &ty).unwrap(), value);
    }

    #[test]
    fn errors_name_the_path() {
        let ty = Type::object([(
            "local",
            Type::object([("command", Type::list(Type::String))]),
        )]);
        // {local: {command: ["a", 1]}}
        let bytes = hex("81 a5 6c 6f 63 61 6c 81 a7 63 6f 6d 6d 61 6e 64 92 a1 61 01");
        let err = decode_msgpack(&bytes, &ty).unwrap_err().to_string();
        assert!(
            err.contains("at local.command[1]: expected string, found an integer"),
            "{err}"
        );

        let err = decode_msgpack(&hex("81 a3 66 6f 6f c0"), &id_name())
            .unwrap_err()
            .to_string();
        assert!(err.contains("unsupported attribute \"foo\""), "{err}");

        let value = Value::object([("id", Value::Bool(true))]);
        let err = encode_msgpack(&value, &id_name()).unwrap_err().to_string();
        assert!(
            err.contains("at id: cannot encode a bool as string"),
            "{err}"
        );

        let err = encode_msgpack(&Value::object([("nope", Value::Null)]), &id_name())
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"nope\""), "{err}");
    }

    #[test]
    fn rejects_malformed_input() {
        let s = Type::String;
        assert!(decode_msgpack(&[], &s).is_err());
        assert!(decode_msgpack(&hex("a1 78 00"), &s)
            .unwrap_err()
            .to_string()
            .contains("unexpected bytes"));
        assert!(decode_msgpack(&hex("a5 78"), &s).is_err());
        assert!(decode_msgpack(&hex("a2 c3 28"), &s).is_err());
        assert!(decode_msgpack(&hex("c1"), &s).is_err());
        // A huge declared length with nothing behind it fails before allocating.
        let list = Type::list(Type::String);
        assert!(decode_msgpack(&hex("dd ff ff ff ff"), &list).is_err());
        assert!(decode_msgpack(&hex("df ff ff ff ff"), &Type::map(Type::String)).is_err());
        assert!(decode_msgpack(&hex("db ff ff ff ff 61"), &s).is_err());
        // Tuple length must match.
        let tuple = Type::Tuple(vec![Type::String]);
        assert!(decode_msgpack(&hex("92 a0 a0"), &tuple).is_err());
        // Dynamic values must be pairs with a valid type.
        assert!(decode_msgpack(&hex("91 a0"), &Type::Dynamic).is_err());
        assert!(decode_msgpack(&hex("92 a3 61 62 63 c0"), &Type::Dynamic).is_err());
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        // 100_000 nested arrays against a list type 200 levels deep.
        let mut ty = Type::Dynamic;
        for _ in 0..200 {
            ty = Type::list(ty);
        }
        let bytes = vec![0x91; 100_000];
        assert!(decode_msgpack(&bytes, &ty)
            .unwrap_err()
            .to_string()
            .contains("nested deeper"));
        // Nested dynamic wrappers of type "dynamic".
        let mut bytes = Vec::new();
        for _ in 0..10_000 {
            bytes.extend(hex("92 a9"));
            bytes.extend_from_slice(b"\"dynamic\"");
        }
        bytes.push(0xc0);
        assert!(decode_msgpack(&bytes, &Type::Dynamic).is_err());
    }

    #[test]
    fn deepest_accepted_input_fits_a_test_thread_stack() {
        // The worst case the limits allow: dynamic wrappers almost to the cap,
        // the last carrying a type JSON at serde_json's own nesting limit.
        let mut bytes = Vec::new();
        for _ in 0..MAX_DEPTH - 2 {
            bytes.extend(hex("92 a9"));
            bytes.extend_from_slice(b"\"dynamic\"");
        }
        let deep_type = format!("{}\"string\"{}", "[\"list\",".repeat(126), "]".repeat(126));
        bytes.extend(hex("92 da"));
        bytes.extend((deep_type.len() as u16).to_be_bytes());
        bytes.extend_from_slice(deep_type.as_bytes());
        let mut ok = bytes.clone();
        ok.extend(hex("91 c0"));
        assert!(matches!(
            decode_msgpack(&ok, &Type::Dynamic).unwrap(),
            Value::Dynamic(_, _)
        ));
        // Runs on a 2 MiB test thread in an unoptimised build.
        bytes.extend(hex("91 91 91 c0"));
        let err = decode_msgpack(&bytes, &Type::Dynamic)
            .unwrap_err()
            .to_string();
        assert!(err.contains("nested deeper"), "{err}");
    }
}
