//! cty values.

use std::collections::BTreeMap;

use super::{AttributePath, PathStep, Type};

/// A cty number. cty numbers are arbitrary precision; integers and finite
/// doubles cover what providers exchange, and anything else keeps its exact
/// decimal text so that it round-trips unchanged.
#[derive(Debug, Clone)]
pub enum Number {
    /// A whole number that fits in 64 bits.
    Int(i64),
    /// A fractional number (or a whole one outside the i64 range).
    Float(f64),
    /// A number whose exact decimal form does not fit the above.
    Big(String),
}

impl Number {
    /// The value as f64 (lossy for big numbers).
    pub fn as_f64(&self) -> f64 {
        match self {
            Number::Int(i) => *i as f64,
            Number::Float(f) => *f,
            Number::Big(s) => s.parse().unwrap_or(f64::NAN),
        }
    }
    /// The value as i64 when it is a whole number in range.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Number::Int(i) => Some(*i),
            Number::Float(f)
                if f.fract() == 0.0 && *f >= i64::MIN as f64 && *f <= i64::MAX as f64 =>
            {
                Some(*f as i64)
            }
            Number::Float(_) => None,
            Number::Big(s) => s.parse().ok(),
        }
    }
    /// Parses a number literal in JSON syntax, the form cty writes numbers in.
    ///
    /// Whole literals in i64 range become `Int`; a fractional or exponent
    /// literal whose value is exactly a double becomes `Float`; any other
    /// literal (0.01, large integers, more digits than a double holds) is
    /// kept verbatim as `Big` so that it goes back to Terraform unchanged.
    /// `None` when `s` is not a JSON number.
    pub fn parse(s: &str) -> Option<Number> {
        let lit = Decimal::parse(s)?;
        if !lit.fractional_syntax {
            return Some(
                s.parse::<i64>()
                    .map_or_else(|_| Number::Big(s.to_string()), Number::Int),
            );
        }
        let f = match s.parse::<f64>() {
            Ok(f) if f.is_finite() => f,
            // Beyond a double's range: only the text can carry it.
            _ => return Some(Number::Big(s.to_string())),
        };
        // Only a literal whose value *is* a double may become one: Terraform
        // 1.0 compares planned and config numbers exactly, and 0.01 is not
        // the double nearest to it. Rust prints a double's exact decimal
        // expansion at a fixed precision (every double's fits in 1,100 places).
        let exact = format!("{f:.1100}");
        if Decimal::parse(&exact).map(|d| d.canonical()) != Some(lit.canonical()) {
            return Some(Number::Big(s.to_string()));
        }
        // 2^53: every whole double below it is an exact i64.
        if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
            return Some(Number::Int(f as i64));
        }
        Some(Number::Float(f))
    }

    /// Canonical form: whole floats in i64 range become `Int`.
    pub fn normalized(self) -> Number {
        match self {
            Number::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Number::Int(f as i64),
            Number::Big(s) => match s.parse::<i64>() {
                Ok(i) => Number::Int(i),
                Err(_) => Number::Big(s),
            },
            other => other,
        }
    }
}

/// A syntactically valid JSON number, split into its parts.
struct Decimal<'a> {
    negative: bool,
    int: &'a str,
    frac: &'a str,
    exp: i64,
    /// Has a fraction or an exponent, so it is not read as an integer.
    fractional_syntax: bool,
}

impl<'a> Decimal<'a> {
    /// Splits `s` per the JSON number grammar; `None` when it does not match.
    fn parse(s: &'a str) -> Option<Self> {
        let b = s.as_bytes();
        let mut i = 0;
        let negative = b.first() == Some(&b'-');
        if negative {
            i += 1;
        }
        let digits =
            |from: usize| from + b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
        let int_end = digits(i);
        let int = &s[i..int_end];
        // JSON forbids leading zeros ("012") and empty integer parts (".5").
        if int.is_empty() || (int.len() > 1 && int.starts_with('0')) {
            return None;
        }
        i = int_end;
        let mut frac = "";
        if b.get(i) == Some(&b'.') {
            let end = digits(i + 1);
            frac = &s[i + 1..end];
            if frac.is_empty() {
                return None;
            }
            i = end;
        }
        let mut exp: i64 = 0;
        let mut has_exp = false;
        if matches!(b.get(i), Some(b'e' | b'E')) {
            has_exp = true;
            i += 1;
            let exp_negative = b.get(i) == Some(&b'-');
            if matches!(b.get(i), Some(b'-' | b'+')) {
                i += 1;
            }
            let end = digits(i);
            if end == i {
                return None;
            }
            // Saturate: an exponent beyond any double only has to compare
            // unequal, and must not overflow on hostile input.
            for c in &b[i..end] {
                exp = exp
                    .saturating_mul(10)
                    .saturating_add(i64::from(c - b'0'))
                    .min(1 << 40);
            }
            if exp_negative {
                exp = -exp;
            }
            i = end;
        }
        (i == b.len()).then_some(Decimal {
            negative,
            int,
            frac,
            exp,
            fractional_syntax: has_exp || !frac.is_empty(),
        })
    }

    /// (negative, significant digits, power of ten) with `value = digits * 10^power`;
    /// equal for equal values, with zero unsigned.
    fn canonical(&self) -> (bool, String, i64) {
        let all: String = self.int.chars().chain(self.frac.chars()).collect();
        let trimmed = all.trim_start_matches('0');
        let significant = trimmed.trim_end_matches('0');
        if significant.is_empty() {
            return (false, String::new(), 0);
        }
        let dropped = (trimmed.len() - significant.len()) as i64;
        let power = self
            .exp
            .saturating_sub(self.frac.len() as i64)
            .saturating_add(dropped);
        (self.negative, significant.to_string(), power)
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Self) -> bool {
        match (self.clone().normalized(), other.clone().normalized()) {
            (Number::Int(a), Number::Int(b)) => a == b,
            (Number::Big(a), Number::Big(b)) => a == b,
            (a, b) => a.as_f64() == b.as_f64(),
        }
    }
}

impl std::fmt::Display for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Number::Int(i) => write!(f, "{i}"),
            Number::Float(x) => write!(f, "{x}"),
            Number::Big(s) => f.write_str(s),
        }
    }
}

/// A cty value. Nulls and unknowns are untyped here: their type always comes
/// from the schema position they occupy.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// `null`, also the default: an absent value.
    #[default]
    Null,
    /// A value not known until apply.
    Unknown,
    /// A bool.
    Bool(bool),
    /// A number.
    Number(Number),
    /// A string.
    String(String),
    /// A list.
    List(Vec<Value>),
    /// A set; element order carries no meaning.
    Set(Vec<Value>),
    /// A map.
    Map(BTreeMap<String, Value>),
    /// An object.
    Object(BTreeMap<String, Value>),
    /// A tuple.
    Tuple(Vec<Value>),
    /// A value in a `dynamic` position, with the concrete type it has.
    Dynamic(Type, Box<Value>),
}

impl Value {
    /// A string value.
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }
    /// A whole-number value.
    pub fn int(i: i64) -> Value {
        Value::Number(Number::Int(i))
    }
    /// A fractional-number value.
    pub fn float(f: f64) -> Value {
        Value::Number(Number::Float(f))
    }
    /// An object value from name/value pairs.
    pub fn object<I, S>(attrs: I) -> Value
    where
        I: IntoIterator<Item = (S, Value)>,
        S: Into<String>,
    {
        Value::Object(attrs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// The value seen through a `Dynamic` wrapper.
    pub fn inner(&self) -> &Value {
        match self {
            Value::Dynamic(_, v) => v.inner(),
            v => v,
        }
    }
    /// True for `null`.
    pub fn is_null(&self) -> bool {
        matches!(self.inner(), Value::Null)
    }
    /// True for an unknown value (not for a known value containing unknowns).
    pub fn is_unknown(&self) -> bool {
        matches!(self.inner(), Value::Unknown)
    }
    /// True when no part of the value is unknown.
    pub fn is_wholly_known(&self) -> bool {
        match self.inner() {
            Value::Unknown => false,
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => {
                v.iter().all(Value::is_wholly_known)
            }
            Value::Map(m) | Value::Object(m) => m.values().all(Value::is_wholly_known),
            _ => true,
        }
    }
    /// The attribute `name` of an object, or `Null` when absent or not an object.
    pub fn get(&self, name: &str) -> &Value {
        static NULL: Value = Value::Null;
        match self.inner() {
            Value::Object(m) | Value::Map(m) => m.get(name).unwrap_or(&NULL),
            _ => &NULL,
        }
    }
    /// Mutable access to an object attribute, inserting null when absent.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        match self {
            Value::Object(m) | Value::Map(m) => {
                Some(m.entry(name.to_string()).or_insert(Value::Null))
            }
            Value::Dynamic(_, v) => v.get_mut(name),
            _ => None,
        }
    }
    /// Sets an object attribute; a no-op on non-objects.
    pub fn set(&mut self, name: &str, value: Value) {
        if let Some(slot) = self.get_mut(name) {
            *slot = value;
        }
    }
    /// The value at a path, or `Null` when the path leads nowhere.
    pub fn at(&self, path: &AttributePath) -> &Value {
        static NULL: Value = Value::Null;
        let mut cur = self;
        for step in &path.0 {
            cur = match (step, cur.inner()) {
                (PathStep::Attr(n) | PathStep::Key(n), Value::Object(m) | Value::Map(m)) => {
                    match m.get(n) {
                        Some(v) => v,
                        None => return &NULL,
                    }
                }
                (PathStep::Index(i), Value::List(v) | Value::Tuple(v) | Value::Set(v)) => {
                    match usize::try_from(*i).ok().and_then(|i| v.get(i)) {
                        Some(v) => v,
                        None => return &NULL,
                    }
                }
                _ => return &NULL,
            };
        }
        cur
    }
    /// The string, if this is a known string.
    pub fn as_str(&self) -> Option<&str> {
        match self.inner() {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    /// The bool, if this is a known bool.
    pub fn as_bool(&self) -> Option<bool> {
        match self.inner() {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    /// The number, if this is a known number.
    pub fn as_number(&self) -> Option<&Number> {
        match self.inner() {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }
    /// The number as i64, if whole.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number().and_then(Number::as_i64)
    }
    /// The number as f64.
    pub fn as_f64(&self) -> Option<f64> {
        self.as_number().map(Number::as_f64)
    }
    /// The elements of a list, set or tuple.
    pub fn as_seq(&self) -> Option<&[Value]> {
        match self.inner() {
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => Some(v),
            _ => None,
        }
    }
    /// The entries of a map or object.
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self.inner() {
            Value::Map(m) | Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// A type that describes this value, for values in `dynamic` positions
    /// that were built by a provider rather than decoded. Empty collections
    /// and nulls describe themselves as `dynamic`.
    pub fn infer_type(&self) -> Type {
        match self {
            Value::Null | Value::Unknown => Type::Dynamic,
            Value::Bool(_) => Type::Bool,
            Value::Number(_) => Type::Number,
            Value::String(_) => Type::String,
            Value::List(v) => Type::list(v.first().map_or(Type::Dynamic, Value::infer_type)),
            Value::Set(v) => Type::set(v.first().map_or(Type::Dynamic, Value::infer_type)),
            Value::Map(m) => Type::map(m.values().next().map_or(Type::Dynamic, Value::infer_type)),
            Value::Object(m) => {
                Type::Object(m.iter().map(|(k, v)| (k.clone(), v.infer_type())).collect())
            }
            Value::Tuple(v) => Type::Tuple(v.iter().map(Value::infer_type).collect()),
            Value::Dynamic(t, _) => t.clone(),
        }
    }

    /// Sets compare as sets: order of elements is ignored.
    pub fn semantically_equal(&self, other: &Value) -> bool {
        match (self.inner(), other.inner()) {
            (Value::Set(a), Value::Set(b)) => {
                a.len() == b.len()
                    && a.iter().all(|x| b.iter().any(|y| x.semantically_equal(y)))
                    && b.iter().all(|y| a.iter().any(|x| x.semantically_equal(y)))
            }
            (Value::List(a), Value::List(b)) | (Value::Tuple(a), Value::Tuple(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.semantically_equal(y))
            }
            (Value::Map(a), Value::Map(b)) | (Value::Object(a), Value::Object(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, x)| b.get(k).is_some_and(|y| x.semantically_equal(y)))
            }
            (a, b) => a == b,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::int(i)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(o: Option<T>) -> Value {
        o.map_or(Value::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_parse_picks_the_faithful_form() {
        let p = |s: &str| Number::parse(s);
        assert!(matches!(p("42"), Some(Number::Int(42))));
        assert!(matches!(p("-0"), Some(Number::Int(0))));
        assert!(matches!(p("1e3"), Some(Number::Int(1000))));
        assert!(matches!(p("2.50"), Some(Number::Float(f)) if f == 2.5));
        assert!(matches!(p("1e20"), Some(Number::Float(f)) if f == 1e20));
        // Exact integers beyond i64, and digits beyond a double, keep their text.
        assert!(
            matches!(p("9223372036854775808"), Some(Number::Big(s)) if s == "9223372036854775808")
        );
        assert!(matches!(p("0.10000000000000001"), Some(Number::Big(_))));
        // Not a double's exact value: Terraform 1.0 would see 0.01 != float64(0.01).
        assert!(matches!(p("0.01"), Some(Number::Big(s)) if s == "0.01"));
        assert!(matches!(p("0.015625"), Some(Number::Float(f)) if f == 0.015625));
        assert!(matches!(p("1e-400"), Some(Number::Big(_))));
        assert!(matches!(
            p("1e99999999999999999999999"),
            Some(Number::Big(_))
        ));
        for bad in [
            "", "-", "01", "1.", ".1", "+1", "1e", "1e+", "0x1", "1_000", " 1", "inf", "NaN",
        ] {
            assert!(p(bad).is_none(), "{bad:?}");
        }
    }
}
