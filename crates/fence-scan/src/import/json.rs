//! Reading untrusted JSON with locations: parsing documents and lines, and typed field access whose errors name the path.

use super::{ImportError, ImportErrorKind};
use serde_json::{Map, Value};

/// A place in the input: an optional 1-based line (JSON lines) and a JSON path within it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Loc {
    line: Option<usize>,
    path: String,
}

impl Loc {
    /// The root of a whole-document input.
    pub(crate) fn root() -> Self {
        Loc::default()
    }

    /// The root of one line of a JSON-lines input.
    pub(crate) fn line(n: usize) -> Self {
        Loc {
            line: Some(n),
            path: String::new(),
        }
    }

    /// A member of the object at this place: `runs[0]` + `results` is `runs[0].results`.
    pub(crate) fn key(&self, key: &str) -> Self {
        let path = if key.is_empty() {
            self.path.clone()
        } else if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        };
        Loc {
            line: self.line,
            path,
        }
    }

    /// An element of the array at this place: `runs` + 0 is `runs[0]`.
    pub(crate) fn index(&self, i: usize) -> Self {
        Loc {
            line: self.line,
            path: format!("{}[{i}]", self.path),
        }
    }

    /// An error at this place.
    pub(crate) fn error(&self, message: impl Into<String>) -> ImportError {
        ImportError::new(ImportErrorKind::Invalid, self.to_string(), message)
    }
}

impl std::fmt::Display for Loc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.path.is_empty()) {
            (Some(n), true) => write!(f, "line {n}"),
            (Some(n), false) => write!(f, "line {n}: {}", self.path),
            (None, true) => f.write_str("input"),
            (None, false) => f.write_str(&self.path),
        }
    }
}

/// Parses one JSON document. Syntax errors are reported at the line where parsing stopped (`line 17`), with the column
/// in the message; for JSON-lines input `line` is the document's own line number, used instead.
/// Its values may cost `json_budget::MAX_TREE` parsed (a file of tiny objects is refused, not built).
pub(crate) fn parse(bytes: &[u8], line: Option<usize>) -> Result<Value, ImportError> {
    use fence_core::json_budget::{parse, ParseError, MAX_TREE};
    match parse(bytes, MAX_TREE) {
        Ok((v, _)) => Ok(v),
        Err(ParseError::Syntax(e) | ParseError::TooManyValues(e)) => Err(syntax_error(&e, line)),
    }
}

/// A JSON syntax error at the line where reading stopped (or at `line`, a JSON-lines input's own line number).
pub(crate) fn syntax_error(e: &serde_json::Error, line: Option<usize>) -> ImportError {
    let text = e.to_string();
    let what = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(m, _)| m);
    let n = line.unwrap_or(e.line()).max(1);
    ImportError::new(
        ImportErrorKind::Malformed,
        format!("line {n}"),
        format!("not valid JSON: {what} (column {})", e.column()),
    )
}

/// The object at `loc`, or an error saying it must be one.
pub(crate) fn as_object<'a>(
    v: &'a Value,
    loc: &Loc,
) -> Result<&'a Map<String, Value>, ImportError> {
    v.as_object()
        .ok_or_else(|| loc.error(format!("must be a JSON object, not {}", kind(v))))
}

/// The array at `loc`, or an error saying it must be one.
pub(crate) fn as_array<'a>(v: &'a Value, loc: &Loc) -> Result<&'a Vec<Value>, ImportError> {
    v.as_array()
        .ok_or_else(|| loc.error(format!("must be a JSON array, not {}", kind(v))))
}

/// A name for a value's JSON type, for messages.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Typed access to the members of one object at a known place. Absent and `null` members read as `None`; members
/// present with another type than the format allows are errors naming the member.
#[derive(Clone)]
pub(crate) struct Obj<'a> {
    pub(crate) map: &'a Map<String, Value>,
    pub(crate) loc: Loc,
}

impl<'a> Obj<'a> {
    pub(crate) fn new(map: &'a Map<String, Value>, loc: Loc) -> Self {
        Obj { map, loc }
    }

    /// The object at `loc`, or an error saying it must be one.
    pub(crate) fn of(v: &'a Value, loc: Loc) -> Result<Self, ImportError> {
        Ok(Obj::new(as_object(v, &loc)?, loc))
    }

    /// The member object, if present.
    pub(crate) fn child(&self, key: &str) -> Result<Option<Obj<'a>>, ImportError> {
        Ok(self.opt_obj(key)?.map(|m| Obj::new(m, self.at(key))))
    }

    /// The member, unless absent or null.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub(crate) fn at(&self, key: &str) -> Loc {
        self.loc.key(key)
    }

    fn wrong(&self, key: &str, want: &str, v: &Value) -> ImportError {
        self.at(key)
            .error(format!("must be {want}, not {}", kind(v)))
    }

    pub(crate) fn opt_str(&self, key: &str) -> Result<Option<&'a str>, ImportError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.wrong(key, "a string", v)),
        }
    }

    /// A string that must be present and not blank.
    pub(crate) fn req_str(&self, key: &str) -> Result<&'a str, ImportError> {
        match self.opt_str(key)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            Some(_) => Err(self.at(key).error("must not be empty")),
            None => Err(self.at(key).error("is required")),
        }
    }

    pub(crate) fn opt_obj(&self, key: &str) -> Result<Option<&'a Map<String, Value>>, ImportError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(v) => Err(self.wrong(key, "an object", v)),
        }
    }

    pub(crate) fn opt_array(&self, key: &str) -> Result<Option<&'a Vec<Value>>, ImportError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(v) => Err(self.wrong(key, "an array", v)),
        }
    }

    /// An array index, where SARIF's `-1` means absent.
    pub(crate) fn opt_index(&self, key: &str) -> Result<Option<usize>, ImportError> {
        match self.get(key) {
            Some(v) if v.as_i64() == Some(-1) => Ok(None),
            _ => Ok(self
                .opt_u64(key)?
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX))),
        }
    }

    /// A non-negative integer.
    pub(crate) fn opt_u64(&self, key: &str) -> Result<Option<u64>, ImportError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.wrong(key, "a non-negative integer", v)),
        }
    }

    /// A number, also accepted as a numeric string (`"9.8"`); a string that is not a number reads as `None`.
    pub(crate) fn opt_score(&self, key: &str) -> Result<Option<f64>, ImportError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(Value::String(s)) => Ok(s.trim().parse::<f64>().ok()),
            Some(v) => Err(self.wrong(key, "a number", v)),
        }
    }

    /// A list of strings, also accepted as a single string (`"a,b"` is split on commas when `split` is set).
    pub(crate) fn opt_strings(&self, key: &str, split: bool) -> Result<Vec<&'a str>, ImportError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::String(s)) if split => Ok(s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()),
            Some(Value::String(s)) => Ok(vec![s.as_str()]),
            Some(Value::Array(items)) => {
                let at = self.at(key);
                items
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(i, v)| {
                        v.as_str().ok_or_else(|| {
                            at.index(i)
                                .error(format!("must be a string, not {}", kind(v)))
                        })
                    })
                    .collect()
            }
            Some(v) => Err(self.wrong(key, "an array of strings", v)),
        }
    }

    /// The `text` of a SARIF-style message object member (`{"text": "…"}`).
    pub(crate) fn text_of(&self, key: &str) -> Result<Option<&'a str>, ImportError> {
        match self.opt_obj(key)? {
            None => Ok(None),
            Some(m) => Obj::new(m, self.at(key)).opt_str("text"),
        }
    }
}
