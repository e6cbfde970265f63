//! JSON codec for cty values, compatible with go-cty's `json` package: the
//! form of raw resource state (`UpgradeResourceState`) and of
//! `terraform show -json`.
//!
//! The document is read by a small parser of our own rather than into a
//! `serde_json::Value`, because cty numbers are arbitrary precision: state
//! may hold integers beyond 64 bits or decimals no double represents, and
//! those must keep their exact literal text. serde_json (without its
//! `arbitrary_precision` feature, which would change number handling for
//! every crate in the build) rounds them to a double.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::msgpack::{at, brief, kind};
use super::{AttributePath, Number, PathStep, Type, Value};

/// A JSON document that does not match its type, or a value that cannot be
/// written as JSON.
#[derive(Debug, thiserror::Error)]
#[error("json: {0}")]
pub struct JsonError(pub String);

/// Deepest nesting of arrays and objects accepted, the same limit serde_json
/// applies, so that hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 128;

/// Decodes `bytes` as a value of type `ty`. An object attribute that is not
/// in the type is an error; one missing from the document decodes as null.
pub fn decode_json(bytes: &[u8], ty: &Type) -> Result<Value, JsonError> {
    let node = parse_document(bytes)?;
    Typed {
        path: AttributePath::root(),
        lenient: false,
    }
    .value(&node, ty)
}

/// Like [`decode_json`], but drops object attributes that are not in the
/// type, as Terraform does when it reads state written by an older schema
/// that had attributes since removed.
pub fn decode_json_lenient(bytes: &[u8], ty: &Type) -> Result<Value, JsonError> {
    let node = parse_document(bytes)?;
    Typed {
        path: AttributePath::root(),
        lenient: true,
    }
    .value(&node, ty)
}

/// Encodes `value` as type `ty`. Objects carry every attribute of their type
/// (null for absent ones); unknown values are an error, since neither state
/// nor its JSON rendering can hold them.
pub fn encode_json(value: &Value, ty: &Type) -> Result<Vec<u8>, JsonError> {
    let mut enc = Encoder {
        out: Vec::new(),
        path: AttributePath::root(),
    };
    enc.value(value, ty, 0)?;
    Ok(enc.out)
}

/// A parsed JSON document that keeps number literals verbatim.
#[derive(Debug)]
enum Node<'a> {
    Null,
    Bool(bool),
    /// The literal text, already checked against the JSON number grammar.
    Number(&'a str),
    String(String),
    Array(Vec<Node<'a>>),
    /// Members in document order; a repeated name is resolved when typed.
    Object(Vec<(String, Node<'a>)>),
}

impl Node<'_> {
    fn describe(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "a bool",
            Node::Number(_) => "a number",
            Node::String(_) => "a string",
            Node::Array(_) => "an array",
            Node::Object(_) => "an object",
        }
    }

    /// The serde_json form, for [`Type::from_json`].
    fn to_serde(&self) -> Json {
        match self {
            Node::Null => Json::Null,
            Node::Bool(b) => Json::Bool(*b),
            // Types hold no numbers, so precision is moot here: the type
            // parser only needs to see something to reject.
            Node::Number(lit) => lit
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or(Json::Null, Json::Number),
            Node::String(s) => Json::String(s.clone()),
            Node::Array(items) => Json::Array(items.iter().map(Node::to_serde).collect()),
            Node::Object(members) => Json::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_serde()))
                    .collect(),
            ),
        }
    }
}

fn parse_document(bytes: &[u8]) -> Result<Node<'_>, JsonError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| JsonError(format!("document is not valid UTF-8: {e}")))?;
    let mut p = Parser {
        text,
        bytes,
        pos: 0,
    };
    p.whitespace();
    let node = p.node(0)?;
    p.whitespace();
    if p.pos != bytes.len() {
        return Err(p.err("unexpected characters after the document"));
    }
    Ok(node)
}

/// A recursive-descent JSON reader (RFC 8259, nothing more).
struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn err(&self, msg: &str) -> JsonError {
        let upto = &self.bytes[..self.pos.min(self.bytes.len())];
        let line = upto.iter().filter(|b| **b == b'\n').count() + 1;
        let column = upto.iter().rev().take_while(|b| **b != b'\n').count() + 1;
        JsonError(format!(
            "invalid JSON at line {line} column {column}: {msg}"
        ))
    }

    /// The input not read yet.
    fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or_default()
    }

    fn whitespace(&mut self) {
        while matches!(self.bytes.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn node(&mut self, depth: usize) -> Result<Node<'a>, JsonError> {
        match self.bytes.get(self.pos) {
            None => Err(self.err("unexpected end of input")),
            Some(b'n') => self.keyword("null", Node::Null),
            Some(b't') => self.keyword("true", Node::Bool(true)),
            Some(b'f') => self.keyword("false", Node::Bool(false)),
            Some(b'"') => self.string().map(Node::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'[') => {
                self.open(depth)?;
                let mut items = Vec::new();
                if self.close(b']') {
                    return Ok(Node::Array(items));
                }
                loop {
                    self.whitespace();
                    items.push(self.node(depth + 1)?);
                    self.whitespace();
                    if self.close(b']') {
                        return Ok(Node::Array(items));
                    }
                    self.expect(b',', "',' or ']'")?;
                }
            }
            Some(b'{') => {
                self.open(depth)?;
                let mut members = Vec::new();
                if self.close(b'}') {
                    return Ok(Node::Object(members));
                }
                loop {
                    self.whitespace();
                    if self.bytes.get(self.pos) != Some(&b'"') {
                        return Err(self.err("expected a member name"));
                    }
                    let name = self.string()?;
                    self.whitespace();
                    self.expect(b':', "':'")?;
                    self.whitespace();
                    members.push((name, self.node(depth + 1)?));
                    self.whitespace();
                    if self.close(b'}') {
                        return Ok(Node::Object(members));
                    }
                    self.expect(b',', "',' or '}'")?;
                }
            }
            Some(_) => Err(self.err("expected a JSON value")),
        }
    }

    /// Steps into an array or object, refusing to nest past the limit.
    fn open(&mut self, depth: usize) -> Result<(), JsonError> {
        if depth >= MAX_DEPTH {
            return Err(self.err(&format!("nested deeper than {MAX_DEPTH} levels")));
        }
        self.pos += 1;
        self.whitespace();
        Ok(())
    }

    /// Consumes `end` if it is next.
    fn close(&mut self, end: u8) -> bool {
        let found = self.bytes.get(self.pos) == Some(&end);
        if found {
            self.pos += 1;
        }
        found
    }

    fn expect(&mut self, c: u8, what: &str) -> Result<(), JsonError> {
        if self.close(c) {
            Ok(())
        } else {
            Err(self.err(&format!("expected {what}")))
        }
    }

    fn keyword(&mut self, word: &str, node: Node<'a>) -> Result<Node<'a>, JsonError> {
        if self.rest().starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(node)
        } else {
            Err(self.err("expected a JSON value"))
        }
    }

    fn number(&mut self) -> Result<Node<'a>, JsonError> {
        let start = self.pos;
        while matches!(
            self.bytes.get(self.pos),
            Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
        ) {
            self.pos += 1;
        }
        // The scan stops at ASCII bytes only, so this slice is on char
        // boundaries; `get` keeps that a checked fact rather than a panic.
        let lit = self
            .text
            .get(start..self.pos)
            .ok_or_else(|| self.err("invalid number"))?;
        if Number::parse(lit).is_none() {
            self.pos = start;
            return Err(self.err(&format!("invalid number {lit:?}")));
        }
        Ok(Node::Number(lit))
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.pos += 1; // the opening quote
        let mut out = String::new();
        loop {
            let start = self.pos;
            while matches!(self.bytes.get(self.pos), Some(c) if *c != b'"' && *c != b'\\' && *c >= 0x20)
            {
                self.pos += 1;
            }
            out.push_str(
                self.text
                    .get(start..self.pos)
                    .ok_or_else(|| self.err("invalid string"))?,
            );
            match self.bytes.get(self.pos) {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = self.escape()?;
                    out.push(c);
                }
                Some(_) => return Err(self.err("control character in string")),
            }
        }
    }

    /// The character of an escape sequence, after its backslash.
    fn escape(&mut self) -> Result<char, JsonError> {
        let Some(&c) = self.bytes.get(self.pos) else {
            return Err(self.err("unterminated string"));
        };
        self.pos += 1;
        Ok(match c {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex4()?;
                let code = match unit {
                    0xD800..=0xDBFF => {
                        // A high surrogate must pair with an escaped low one.
                        if !self.rest().starts_with(b"\\u") {
                            return Err(self.err("unpaired surrogate in string"));
                        }
                        self.pos += 2;
                        let low = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return Err(self.err("unpaired surrogate in string"));
                        }
                        0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    }
                    0xDC00..=0xDFFF => return Err(self.err("unpaired surrogate in string")),
                    unit => unit,
                };
                char::from_u32(code).ok_or_else(|| self.err("invalid \\u escape"))?
            }
            _ => {
                self.pos -= 1;
                return Err(self.err("invalid escape in string"));
            }
        })
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut code = 0;
        for _ in 0..4 {
            let digit = self
                .bytes
                .get(self.pos)
                .and_then(|c| char::from(*c).to_digit(16));
            let Some(digit) = digit else {
                return Err(self.err("invalid \\u escape"));
            };
            code = code * 16 + digit;
            self.pos += 1;
        }
        Ok(code)
    }
}

/// Reads a parsed document as a value of a type.
struct Typed {
    /// Where the value being decoded sits, for error messages.
    path: AttributePath,
    /// Drop object attributes the type does not have.
    lenient: bool,
}

impl Typed {
    fn err(&self, msg: impl std::fmt::Display) -> JsonError {
        JsonError(at(&self.path, msg))
    }

    fn expected(&self, ty: &Type, node: &Node<'_>) -> JsonError {
        self.err(format!("expected {}, found {}", brief(ty), node.describe()))
    }

    fn value(&mut self, node: &Node<'_>, ty: &Type) -> Result<Value, JsonError> {
        if let Node::Null = node {
            return Ok(Value::Null);
        }
        // Primitives convert among each other as go-cty's decoder allows, so
        // state written when an attribute had another primitive type still reads.
        match (ty, node) {
            (Type::Bool, Node::Bool(b)) => Ok(Value::Bool(*b)),
            (Type::Bool, Node::String(s)) if s == "true" || s == "false" => {
                Ok(Value::Bool(s == "true"))
            }
            (Type::Number, Node::Number(lit)) => Number::parse(lit)
                .map(Value::Number)
                .ok_or_else(|| self.err(format!("invalid number {lit:?}"))),
            (Type::Number, Node::String(s)) => Number::parse(s)
                .map(Value::Number)
                .ok_or_else(|| self.err(format!("expected a number, found the string {s:?}"))),
            (Type::String, Node::String(s)) => Ok(Value::String(s.clone())),
            (Type::String, Node::Number(lit)) => Ok(Value::String((*lit).to_string())),
            (Type::String, Node::Bool(b)) => Ok(Value::String(b.to_string())),
            (Type::List(elem), Node::Array(items)) => Ok(Value::List(self.seq(items, elem)?)),
            (Type::Set(elem), Node::Array(items)) => Ok(Value::Set(self.seq(items, elem)?)),
            (Type::Tuple(elems), Node::Array(items)) => {
                if items.len() != elems.len() {
                    return Err(self.err(format!(
                        "expected a tuple of {} elements, found {}",
                        elems.len(),
                        items.len()
                    )));
                }
                let mut out = Vec::with_capacity(items.len());
                for (i, (item, ety)) in items.iter().zip(elems).enumerate() {
                    self.path.0.push(PathStep::Index(i as i64));
                    out.push(self.value(item, ety)?);
                    self.path.0.pop();
                }
                Ok(Value::Tuple(out))
            }
            (Type::Map(elem), Node::Object(members)) => {
                let mut out = BTreeMap::new();
                for (key, node) in members {
                    self.path.0.push(PathStep::Key(key.clone()));
                    let v = self.value(node, elem)?;
                    self.path.0.pop();
                    out.insert(key.clone(), v);
                }
                Ok(Value::Map(out))
            }
            (Type::Object(attrs), Node::Object(members)) => {
                let mut out = BTreeMap::new();
                for (name, node) in members {
                    let Some(aty) = attrs.get(name) else {
                        if self.lenient {
                            continue;
                        }
                        return Err(self.err(format!("unsupported attribute {name:?}")));
                    };
                    self.path.0.push(PathStep::Attr(name.clone()));
                    let v = self.value(node, aty)?;
                    self.path.0.pop();
                    out.insert(name.clone(), v);
                }
                for name in attrs.keys() {
                    out.entry(name.clone()).or_insert(Value::Null);
                }
                Ok(Value::Object(out))
            }
            (Type::Dynamic, Node::Object(members)) => self.dynamic(members),
            (ty, node) => Err(self.expected(ty, node)),
        }
    }

    fn seq(&mut self, items: &[Node<'_>], elem: &Type) -> Result<Vec<Value>, JsonError> {
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            self.path.0.push(PathStep::Index(i as i64));
            out.push(self.value(item, elem)?);
            self.path.0.pop();
        }
        Ok(out)
    }

    /// `{"value": ..., "type": ...}`, a value at a dynamic position.
    fn dynamic(&mut self, members: &[(String, Node<'_>)]) -> Result<Value, JsonError> {
        let (mut value, mut type_json) = (None, None);
        for (name, node) in members {
            match name.as_str() {
                "value" => value = Some(node),
                "type" => type_json = Some(node),
                other => return Err(self.err(format!("invalid key {other:?} in a dynamic value"))),
            }
        }
        let type_json = type_json.ok_or_else(|| self.err("dynamic value is missing \"type\""))?;
        let value = value.ok_or_else(|| self.err("dynamic value is missing \"value\""))?;
        let concrete = Type::from_json(&type_json.to_serde())
            .map_err(|e| self.err(format!("dynamic value: {e}")))?;
        let inner = self.value(value, &concrete)?;
        Ok(match concrete {
            Type::Dynamic => inner,
            concrete => Value::Dynamic(concrete, Box::new(inner)),
        })
    }
}

/// Writes a value as JSON text of a type.
struct Encoder {
    out: Vec<u8>,
    /// Where the value being encoded sits, for error messages.
    path: AttributePath,
}

impl Encoder {
    fn err(&self, msg: impl std::fmt::Display) -> JsonError {
        JsonError(at(&self.path, msg))
    }

    /// A JSON string, escaped by serde_json.
    fn string(&mut self, s: &str) -> Result<(), JsonError> {
        serde_json::to_writer(&mut self.out, s).map_err(|e| JsonError(format!("write failed: {e}")))
    }

    fn value(&mut self, value: &Value, ty: &Type, depth: usize) -> Result<(), JsonError> {
        // Deeper output would be refused by our own decoder.
        if depth > MAX_DEPTH {
            return Err(self.err(format!("value nested deeper than {MAX_DEPTH} levels")));
        }
        match (value, ty) {
            (Value::Unknown, _) => Err(self.err("an unknown value cannot be written as JSON")),
            (Value::Null, _) => {
                self.out.extend_from_slice(b"null");
                Ok(())
            }
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
            (Value::Bool(b), Type::Bool) => {
                self.out
                    .extend_from_slice(if *b { b"true" } else { b"false" });
                Ok(())
            }
            (Value::Number(n), Type::Number) => self.number(n),
            (Value::String(s), Type::String) => self.string(s),
            (Value::List(items), Type::List(elem)) | (Value::Set(items), Type::Set(elem)) => {
                self.out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    self.path.0.push(PathStep::Index(i as i64));
                    self.value(item, elem, depth + 1)?;
                    self.path.0.pop();
                }
                self.out.push(b']');
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
                self.out.push(b'[');
                for (i, (item, ety)) in items.iter().zip(elems).enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    self.path.0.push(PathStep::Index(i as i64));
                    self.value(item, ety, depth + 1)?;
                    self.path.0.pop();
                }
                self.out.push(b']');
                Ok(())
            }
            (Value::Map(entries), Type::Map(elem)) => {
                self.out.push(b'{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    self.string(k)?;
                    self.out.push(b':');
                    self.path.0.push(PathStep::Key(k.clone()));
                    self.value(v, elem, depth + 1)?;
                    self.path.0.pop();
                }
                self.out.push(b'}');
                Ok(())
            }
            (Value::Object(values), Type::Object(attrs)) => {
                if let Some(extra) = values.keys().find(|k| !attrs.contains_key(*k)) {
                    return Err(self.err(format!("attribute {extra:?} is not in the object type")));
                }
                self.out.push(b'{');
                for (i, (name, aty)) in attrs.iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    self.string(name)?;
                    self.out.push(b':');
                    self.path.0.push(PathStep::Attr(name.clone()));
                    self.value(values.get(name).unwrap_or(&Value::Null), aty, depth + 1)?;
                    self.path.0.pop();
                }
                self.out.push(b'}');
                Ok(())
            }
            (value, ty) => Err(self.err(format!("cannot encode {} as {}", kind(value), brief(ty)))),
        }
    }

    /// `{"value": ..., "type": ...}`, in go-cty's member order.
    fn dynamic(&mut self, concrete: &Type, inner: &Value, depth: usize) -> Result<(), JsonError> {
        self.out.extend_from_slice(b"{\"value\":");
        self.value(inner, concrete, depth + 1)?;
        self.out.extend_from_slice(b",\"type\":");
        self.out.extend_from_slice(&concrete.to_json_bytes());
        self.out.push(b'}');
        Ok(())
    }

    fn number(&mut self, n: &Number) -> Result<(), JsonError> {
        match n {
            Number::Int(i) => self.out.extend_from_slice(i.to_string().as_bytes()),
            Number::Float(f) => {
                if !f.is_finite() {
                    return Err(self.err(format!("number {f} is not finite")));
                }
                // Whole numbers print as integers, as go-cty prints them.
                if f.fract() == 0.0
                    && *f >= -9_223_372_036_854_775_808.0
                    && *f < 9_223_372_036_854_775_808.0
                {
                    self.out
                        .extend_from_slice((*f as i64).to_string().as_bytes());
                } else {
                    // Shortest digits that read back as the same double.
                    serde_json::to_writer(&mut self.out, f)
                        .map_err(|e| JsonError(format!("write failed: {e}")))?;
                }
            }
            Number::Big(text) => {
                if Number::parse(text).is_none() {
                    return Err(self.err(format!("{text:?} is not a decimal number")));
                }
                self.out.extend_from_slice(text.as_bytes());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_name() -> Type {
        Type::object([("id", Type::String), ("name", Type::String)])
    }

    #[test]
    fn object_round_trip() {
        let value = Value::object([("id", Value::Null), ("name", Value::string("x"))]);
        let json = encode_json(&value, &id_name()).unwrap();
        assert_eq!(json, br#"{"id":null,"name":"x"}"#);
        assert_eq!(decode_json(&json, &id_name()).unwrap(), value);
        assert_eq!(
            decode_json(br#" { "name" : "x" } "#, &id_name()).unwrap(),
            value
        );
    }

    #[test]
    fn unknown_attributes_strict_and_lenient() {
        let doc = br#"{"id":"1","name":"x","removed":[1,2]}"#;
        let err = decode_json(doc, &id_name()).unwrap_err().to_string();
        assert!(err.contains("unsupported attribute \"removed\""), "{err}");
        let value = decode_json_lenient(doc, &id_name()).unwrap();
        assert_eq!(
            value,
            Value::object([("id", Value::string("1")), ("name", Value::string("x"))])
        );
        // Nested objects are lenient too.
        let ty = Type::object([("inner", id_name())]);
        let doc = br#"{"inner":{"id":"1","gone":true}}"#;
        assert!(decode_json(doc, &ty).is_err());
        assert_eq!(
            decode_json_lenient(doc, &ty)
                .unwrap()
                .get("inner")
                .get("id"),
            &Value::string("1")
        );
    }

    #[test]
    fn numbers_keep_their_precision() {
        let n = |s: &str| decode_json(s.as_bytes(), &Type::Number).unwrap();
        assert_eq!(n("42"), Value::int(42));
        assert_eq!(n("-9223372036854775808"), Value::int(i64::MIN));
        assert_eq!(n("1.5"), Value::float(1.5));
        assert_eq!(n("1e3"), Value::int(1000));
        let big = "123456789012345678901234567890";
        assert!(matches!(n(big), Value::Number(Number::Big(s)) if s == big));
        let precise = "0.1000000000000000000001";
        assert!(matches!(n(precise), Value::Number(Number::Big(s)) if s == precise));
        assert!(matches!(n("1e400"), Value::Number(Number::Big(s)) if s == "1e400"));
        for text in [big, precise, "1e400"] {
            let v = n(text);
            assert_eq!(encode_json(&v, &Type::Number).unwrap(), text.as_bytes());
        }
        assert_eq!(
            encode_json(&Value::float(2.0), &Type::Number).unwrap(),
            b"2"
        );
        assert_eq!(
            encode_json(&Value::float(0.1), &Type::Number).unwrap(),
            b"0.1"
        );
        assert!(encode_json(&Value::float(f64::INFINITY), &Type::Number).is_err());
        for bad in ["01", "1.", ".5", "+1", "1e", "--1", "0x10", "NaN"] {
            assert!(decode_json(bad.as_bytes(), &Type::Number).is_err(), "{bad}");
        }
    }

    #[test]
    fn primitive_conversions() {
        assert_eq!(
            decode_json(br#""12""#, &Type::Number).unwrap(),
            Value::int(12)
        );
        assert_eq!(
            decode_json(br#""true""#, &Type::Bool).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            decode_json(b"12.5", &Type::String).unwrap(),
            Value::string("12.5")
        );
        assert_eq!(
            decode_json(b"false", &Type::String).unwrap(),
            Value::string("false")
        );
        assert!(decode_json(br#""yes""#, &Type::Bool).is_err());
    }

    #[test]
    fn dynamic_values() {
        let value = Value::Dynamic(
            Type::list(Type::String),
            Box::new(Value::List(vec![Value::string("a")])),
        );
        let json = encode_json(&value, &Type::Dynamic).unwrap();
        assert_eq!(json, br#"{"value":["a"],"type":["list","string"]}"#);
        assert_eq!(decode_json(&json, &Type::Dynamic).unwrap(), value);
        assert_eq!(decode_json(b"null", &Type::Dynamic).unwrap(), Value::Null);
        assert!(decode_json(br#"{"value":1}"#, &Type::Dynamic).is_err());
        assert!(decode_json(br#"{"type":"number"}"#, &Type::Dynamic).is_err());
        assert!(decode_json(br#"{"value":1,"type":"number","x":1}"#, &Type::Dynamic).is_err());
        assert!(decode_json(br#"{"value":1,"type":"nope"}"#, &Type::Dynamic).is_err());
    }

    #[test]
    fn strings_and_escapes() {
        let s = |doc: &str| decode_json(doc.as_bytes(), &Type::String);
        assert_eq!(
            s(r#""a\"b\\c\/\n\t\u00e9\ud83d\ude00""#).unwrap(),
            Value::string("a\"b\\c/\n\té😀")
        );
        assert!(s(r#""\ud83d""#).is_err());
        assert!(s(r#""\ude00""#).is_err());
        assert!(s(r#""\x""#).is_err());
        assert!(s(r#""\u12"#).is_err());
        assert!(s("\"a\nb\"").is_err());
        assert!(s("\"abc").is_err());
        let tricky = Value::string("quote\" back\\ nl\n ctl\u{1} é");
        let json = encode_json(&tricky, &Type::String).unwrap();
        assert_eq!(decode_json(&json, &Type::String).unwrap(), tricky);
    }

    #[test]
    fn unknown_cannot_be_encoded() {
        let value = Value::object([("id", Value::Unknown)]);
        let err = encode_json(&value, &id_name()).unwrap_err().to_string();
        assert!(err.contains("at id: an unknown value"), "{err}");
    }

    #[test]
    fn errors_name_the_path() {
        let ty = Type::object([("tags", Type::map(Type::list(Type::Number)))]);
        let err = decode_json(br#"{"tags":{"a":[1,"x"]}}"#, &ty)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(r#"at tags["a"][1]: expected a number, found the string "x""#),
            "{err}"
        );
        let err = decode_json(b"{\"tags\":\n[}", &ty).unwrap_err().to_string();
        assert!(err.contains("line 2 column 2"), "{err}");
    }

    #[test]
    fn malformed_documents() {
        let ty = Type::list(Type::Dynamic);
        for bad in [
            "",
            "[",
            "[1,]",
            "[1 2]",
            "{}",
            "nul",
            "[] x",
            "{\"a\" 1}",
            "\u{1}",
        ] {
            assert!(decode_json(bad.as_bytes(), &ty).is_err(), "{bad:?}");
        }
        assert!(decode_json(&[0xff], &Type::String).is_err());
        let deep = "[".repeat(100_000);
        let err = decode_json(deep.as_bytes(), &ty).unwrap_err().to_string();
        assert!(err.contains("nested deeper"), "{err}");
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        let mut nested = Type::String;
        for _ in 0..MAX_DEPTH {
            nested = Type::list(nested);
        }
        assert!(decode_json(ok.as_bytes(), &nested).is_ok());
    }
}
