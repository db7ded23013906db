//! JSON trees within a memory budget. Everything Fence parses into a `serde_json::Value` from outside (request
//! bodies, imported files, one SARIF result at a time) is built through [`Bounded`], which counts what each value
//! costs as it is made and stops at the budget: ten bytes of JSON such as `{"a":0},` cost about 800 bytes parsed, so
//! an unbounded parse of a 10 MiB body of them took 810 MiB.

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::cell::Cell;

/// What one document (or one SARIF result) may cost parsed: a 10,000-finding batch of 1 KB findings costs about
/// 40 MiB.
pub const MAX_TREE: usize = 64 * 1024 * 1024;

// What a parsed value costs, with the allocator's overhead (measured on glibc: a one-entry object, its B-tree node
// and its key took about 800 bytes).
const OBJECT: usize = 800;
const ENTRY: usize = 120;
const ELEMENT: usize = 40;
const STRING: usize = 40;

/// Bytes left to spend on parsed values, and whether a parse ran out.
#[derive(Debug)]
pub struct Budget {
    max: usize,
    left: Cell<usize>,
    over: Cell<bool>,
}

impl Budget {
    pub fn new(max: usize) -> Self {
        Budget {
            max,
            left: Cell::new(max),
            over: Cell::new(false),
        }
    }

    /// Whether a parse through it stopped because the budget ran out.
    pub fn exceeded(&self) -> bool {
        self.over.get()
    }

    /// What the values built so far cost.
    pub fn spent(&self) -> usize {
        self.max - self.left.get()
    }

    /// A seed (and visitor) that builds one `Value` from this budget.
    pub fn value(&self) -> Bounded<'_> {
        Bounded(self)
    }
}

/// Why a document did not parse.
#[derive(Debug)]
pub enum ParseError {
    /// Not one JSON document.
    Syntax(serde_json::Error),
    /// Its values would cost more than the budget (the error says where parsing stopped).
    TooManyValues(serde_json::Error),
}

/// Parses `bytes` as one JSON document whose values cost at most `max` bytes; returns the value and its cost.
pub fn parse(bytes: &[u8], max: usize) -> Result<(Value, usize), ParseError> {
    let budget = Budget::new(max);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = budget
        .value()
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v));
    match parsed {
        Ok(v) => Ok((v, budget.spent())),
        Err(e) if budget.exceeded() => Err(ParseError::TooManyValues(e)),
        Err(e) => Err(ParseError::Syntax(e)),
    }
}

/// Builds a `Value` as serde_json's own deserializer does, spending its budget as it goes.
#[derive(Debug, Clone, Copy)]
pub struct Bounded<'a>(&'a Budget);

impl Bounded<'_> {
    fn spend<E: serde::de::Error>(self, cost: usize) -> Result<(), E> {
        match self.0.left.get().checked_sub(cost) {
            Some(left) => {
                self.0.left.set(left);
                Ok(())
            }
            None => {
                self.0.over.set(true);
                Err(E::custom(format!(
                    "holds too many JSON values: more than {} MiB once parsed",
                    self.0.max / 1024 / 1024
                )))
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for Bounded<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Bounded<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        self.spend(STRING + v.len())?;
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
        self.spend(STRING + v.len())?;
        Ok(Value::String(v))
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.spend(ELEMENT)?;
        let mut out = Vec::new();
        while let Some(v) = {
            self.spend(ELEMENT)?;
            seq.next_element_seed(self)?
        } {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.spend(OBJECT)?;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            self.spend(ENTRY + key.len())?;
            let value = map.next_value_seed(self)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_parse_as_serde_json_parses_them() {
        for text in [
            r#"{"findings":[{"domain":"a.example","title":"T\u00e9 \"q\"","severity":"high","cvss":9.8,"n":-3,"big":18446744073709551615,"x":null,"ok":true,"tags":["a",[],{}]}]}"#,
            "[]",
            "0",
            "\"s\"",
            r#"{"a":1,"a":2}"#,
            "  [1.5e3, -0.0, 1e-7]  ",
        ] {
            let (ours, _) = parse(text.as_bytes(), MAX_TREE).expect(text);
            let theirs: Value = serde_json::from_str(text).expect(text);
            assert_eq!(ours, theirs, "{text}");
        }
        for bad in ["", "[1,", "{\"a\":}", "[] []", "[1] x"] {
            assert!(parse(bad.as_bytes(), MAX_TREE).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn a_body_of_tiny_objects_stops_at_the_budget() {
        let bomb = format!("[{}]", vec![r#"{"a":0}"#; 200_000].join(","));
        let e = parse(bomb.as_bytes(), 10 * 1024 * 1024).expect_err("the bomb parsed");
        assert!(
            matches!(&e, ParseError::TooManyValues(e) if e.to_string().contains("too many JSON values")),
            "{e:?}"
        );
        assert!(matches!(
            parse(b"[1,", MAX_TREE),
            Err(ParseError::Syntax(_))
        ));
        // A real batch of the same size fits with room to spare.
        let batch = json!({"findings": (0..2_000).map(|i| json!({
            "domain": format!("host{i}.example.com"), "title": format!("Finding {i}"), "severity": "high",
            "cvss": 7.5, "description": "d".repeat(200), "affected_url": format!("https://host{i}.example.com/x"),
        })).collect::<Vec<_>>()});
        let text = batch.to_string();
        let (_, cost) = parse(text.as_bytes(), MAX_TREE).expect("the batch");
        assert!(
            cost < 8 * text.len(),
            "a batch of findings costs {cost} for {} bytes",
            text.len()
        );
    }
}
