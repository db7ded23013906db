//! A SARIF log read as a stream: first the log without its results (each `runs[i].results` read and dropped), then
//! each result on its own, handed over as a small JSON tree — so a 100 MB log is never one tree in memory. The log
//! without its results, and each result, may cost `json_budget::MAX_TREE` parsed.

use fence_core::json_budget::{Budget, MAX_TREE};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// Where the reader is in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// The log object.
    Root,
    /// `runs`.
    Runs,
    /// `runs[i]`.
    Run,
    /// `runs[i].results`.
    Results,
    /// Anything else.
    Other,
}

impl Level {
    /// The level of the member `key` of an object at this level.
    fn member(self, key: &str) -> Level {
        match (self, key) {
            (Level::Root, "runs") => Level::Runs,
            (Level::Run, "results") => Level::Results,
            _ => Level::Other,
        }
    }
}

fn duplicate<E: de::Error>(key: &str) -> E {
    E::custom(format!("the member {key:?} is given twice"))
}

/// The log as a JSON tree with every run's results left out: a `results` array reads as `[]` (and an object as
/// `{}`, so the error about its type still names what it was). `runs` and `results` may each appear once.
pub(super) struct Skeleton<'b>(Level, &'b Budget);

impl<'b> Skeleton<'b> {
    /// The log, its values built from `budget`.
    pub(super) fn new(budget: &'b Budget) -> Self {
        Skeleton(Level::Root, budget)
    }
}

impl<'de> DeserializeSeed<'de> for Skeleton<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        match self.0 {
            Level::Other => self.1.value().deserialize(d),
            _ => d.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for Skeleton<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_string()))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        match self.0 {
            Level::Runs => {
                let mut runs = Vec::new();
                while let Some(run) = seq.next_element_seed(Skeleton(Level::Run, self.1))? {
                    runs.push(run);
                }
                Ok(Value::Array(runs))
            }
            Level::Results => {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Value::Array(Vec::new()))
            }
            _ => self.1.value().visit_seq(seq),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        if matches!(self.0, Level::Runs | Level::Results) {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(Value::Object(Map::new()));
        }
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let level = self.0.member(&key);
            if level != Level::Other && out.contains_key(&key) {
                return Err(duplicate(&key));
            }
            let v = map.next_value_seed(Skeleton(level, self.1))?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// What the walker does with each result: `(run index, result index, result)`; an error stops the reading.
pub(super) type OnResult<'f> =
    dyn FnMut(usize, usize, Value) -> Result<(), super::ImportError> + 'f;

/// Walks the log again and hands over each result of each run, in order; the rest is skipped unread. Errors the
/// callback returns are kept in `raised` (serde only carries a message).
pub(super) struct Walker<'w, 'f> {
    level: Level,
    run: usize,
    on_result: &'w mut OnResult<'f>,
    raised: &'w mut Option<super::ImportError>,
}

impl<'w, 'f> Walker<'w, 'f> {
    pub(super) fn new(
        on_result: &'w mut OnResult<'f>,
        raised: &'w mut Option<super::ImportError>,
    ) -> Self {
        Walker {
            level: Level::Root,
            run: 0,
            on_result,
            raised,
        }
    }

    fn at(&mut self, level: Level, run: usize) -> Walker<'_, 'f> {
        Walker {
            level,
            run,
            on_result: &mut *self.on_result,
            raised: &mut *self.raised,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Walker<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        match self.level {
            Level::Other => d.deserialize_ignored_any(IgnoredAny).map(|_| ()),
            _ => d.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for Walker<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        match self.level {
            Level::Runs => {
                let mut i = 0;
                while seq.next_element_seed(self.at(Level::Run, i))?.is_some() {
                    i += 1;
                }
            }
            Level::Results => {
                let mut j = 0;
                while let Some(result) = seq.next_element_seed(Budget::new(MAX_TREE).value())? {
                    if let Err(e) = (self.on_result)(self.run, j, result) {
                        *self.raised = Some(e);
                        return Err(de::Error::custom("the import stopped"));
                    }
                    j += 1;
                }
            }
            _ => while seq.next_element::<IgnoredAny>()?.is_some() {},
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        if !matches!(self.level, Level::Root | Level::Run) {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(());
        }
        let run = self.run;
        while let Some(key) = map.next_key::<String>()? {
            let level = self.level.member(&key);
            map.next_value_seed(self.at(level, run))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn skeleton(text: &str) -> Result<Value, serde_json::Error> {
        let budget = Budget::new(MAX_TREE);
        Skeleton::new(&budget).deserialize(&mut serde_json::Deserializer::from_str(text))
    }

    /// 100,000 one-member objects: under a megabyte of JSON, about 80 MB parsed.
    fn tiny_objects() -> String {
        format!("[{}]", vec![r#"{"a":0}"#; 100_000].join(","))
    }

    #[test]
    fn the_log_and_each_result_stop_at_the_budget() {
        let rules = format!(
            r#"{{"runs": [{{"tool": {{"driver": {{"rules": {}}}}}}}]}}"#,
            tiny_objects()
        );
        let e = skeleton(&rules).expect_err("the rules parsed");
        assert!(e.to_string().contains("too many JSON values"), "{e}");
        let results = format!(
            r#"{{"runs": [{{"results": [{{"ok": 1}}, {}]}}]}}"#,
            tiny_objects()
        );
        let mut seen = 0;
        let mut raised = None;
        let mut f = |_: usize, _: usize, _: Value| {
            seen += 1;
            Ok(())
        };
        let e = Walker::new(&mut f, &mut raised)
            .deserialize(&mut serde_json::Deserializer::from_str(&results))
            .expect_err("the result parsed");
        assert!(e.to_string().contains("too many JSON values"), "{e}");
        assert_eq!(seen, 1, "the result before it was handed over");
    }

    #[test]
    fn the_skeleton_is_the_log_without_its_results() {
        let log = json!({
            "version": "2.1.0",
            "runs": [
                {"results": [{"message": {"text": "a"}}, 1], "tool": {"driver": {"name": "T", "rules": [{"id": "r"}]}}},
                {"tool": {"driver": {"name": "U"}}, "results": {"not": "a list"}},
                {"tool": {"driver": {"name": "V"}}, "results": null}
            ],
            "properties": {"results": [1, 2]}
        });
        let got = skeleton(&log.to_string()).expect("skeleton");
        assert_eq!(got["runs"][0]["results"], json!([]));
        assert_eq!(got["runs"][0]["tool"], log["runs"][0]["tool"]);
        assert_eq!(got["runs"][1]["results"], json!({}));
        assert_eq!(got["runs"][2]["results"], Value::Null);
        // Only a run's own `results` is left out.
        assert_eq!(got["properties"], log["properties"]);
        assert_eq!(
            skeleton("[1, {\"runs\": 2}]").expect("array"),
            json!([1, {"runs": 2}])
        );
        assert!(skeleton(r#"{"runs": [], "runs": []}"#).is_err());
        assert!(skeleton(r#"{"runs": [{"results": [], "results": []}]}"#).is_err());
    }

    #[test]
    fn the_walker_hands_over_each_result_in_order() {
        let log = r#"{"runs": [{"results": [{"a": 1}, {"b": 2}], "tool": {"results": [9]}}, {"x": []},
            {"results": [3]}], "results": [7]}"#;
        let mut seen = Vec::new();
        let mut raised = None;
        let mut f = |run: usize, i: usize, v: Value| {
            seen.push((run, i, v));
            Ok(())
        };
        Walker::new(&mut f, &mut raised)
            .deserialize(&mut serde_json::Deserializer::from_str(log))
            .expect("walk");
        assert_eq!(
            seen,
            [
                (0, 0, json!({"a": 1})),
                (0, 1, json!({"b": 2})),
                (2, 0, json!(3))
            ]
        );
    }
}
