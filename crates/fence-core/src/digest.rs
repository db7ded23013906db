//! Digest schedules: daily, weekly, monthly or cron, at wall-clock times in an IANA time zone (DST-correct), with
//! the latest fire time at or before an instant and the next one after it.

use crate::{FieldError, FieldErrors};
use jiff::{civil, tz::TimeZone, Timestamp};
use serde_json::{Map, Value};

/// A five-field cron expression (minute hour day-of-month month day-of-week), as bit sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u32,
    days: u32,
    months: u16,
    weekdays: u8,
    /// Day-of-month and day-of-week both restricted: cron matches either (Vixie semantics).
    either_day: bool,
}

/// One cron field as a bit set, and whether it restricts (Vixie cron: a field that starts with `*` does not, even
/// `*/2`, for the day-of-month/day-of-week rule). Day of week takes 0–7, both 0 and 7 being Sunday.
fn field(
    name: &str,
    spec: &str,
    min: u32,
    max: u32,
    names: &[&str],
) -> Result<(u64, bool), String> {
    let weekday = max == 6;
    let top = if weekday { 7 } else { max };
    let mut bits = 0u64;
    let restricted = !spec.starts_with('*') && !spec.starts_with('?');
    for part in spec.split(',') {
        let (lo, hi, step) = field_part(name, part, min, top, names)?;
        let mut v = lo;
        while v <= hi {
            bits |= 1 << (if weekday && v == 7 { 0 } else { v });
            match v.checked_add(step) {
                Some(n) => v = n,
                None => break,
            }
        }
    }
    Ok((bits, restricted))
}

/// One comma-separated part of a cron field: its range and step, within `min..=top`.
fn field_part(
    name: &str,
    part: &str,
    min: u32,
    top: u32,
    names: &[&str],
) -> Result<(u32, u32, u32), String> {
    let span = top - min + 1;
    let (range, step) = match part.split_once('/') {
        Some((r, s)) => match s.parse::<u32>() {
            Ok(n) if (1..=span).contains(&n) => (r, n),
            _ => {
                return Err(format!(
                    "{name}: the step in {part:?} must be a number from 1 to {span}"
                ))
            }
        },
        None => (part, 1),
    };
    let value = |s: &str| -> Result<u32, String> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
            return Ok(i as u32 + min);
        }
        if s.is_empty() {
            return Err(format!("{name}: an empty item in {part:?}"));
        }
        s.parse::<u32>()
            .map_err(|_| format!("{name}: {s:?} is not a number"))
    };
    let (lo, hi) = match range {
        "*" | "?" => (min, top),
        r => match r.split_once('-') {
            Some((a, b)) => (value(a)?, value(b)?),
            None => {
                let v = value(r)?;
                (v, if part.contains('/') { top } else { v })
            }
        },
    };
    if lo < min || hi > top || lo > hi {
        return Err(format!("{name}: {part:?} is out of range {min}-{top}"));
    }
    Ok((lo, hi, step))
}

impl Cron {
    pub fn parse(expr: &str) -> Result<Cron, String> {
        let parts: Vec<&str> = expr.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(format!(
                "{expr:?} must have five fields: minute hour day-of-month month day-of-week"
            ));
        }
        let months = [
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ];
        let days = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
        let (minutes, _) = field("minute", parts[0], 0, 59, &[])?;
        let (hours, _) = field("hour", parts[1], 0, 23, &[])?;
        let (dom, dom_r) = field("day of month", parts[2], 1, 31, &[])?;
        let (mon, _) = field("month", parts[3], 1, 12, &months)?;
        let (dow, dow_r) = field("day of week", parts[4], 0, 6, &days)?;
        Ok(Cron {
            minutes,
            hours: hours as u32,
            days: dom as u32,
            months: mon as u16,
            weekdays: dow as u8,
            either_day: dom_r && dow_r,
        })
    }

    fn day_matches(&self, d: civil::Date) -> bool {
        if self.months & (1 << d.month()) == 0 {
            return false;
        }
        let dom = self.days & (1 << d.day()) != 0;
        let dow = self.weekdays & (1 << d.weekday().to_sunday_zero_offset()) != 0;
        if self.either_day {
            dom || dow
        } else {
            dom && dow
        }
    }

    /// Matching wall-clock times of a day, in order.
    fn times(&self) -> Vec<civil::Time> {
        let mut out = Vec::new();
        for h in 0..24 {
            if self.hours & (1 << h) == 0 {
                continue;
            }
            for m in 0..60 {
                if self.minutes & (1 << m) != 0 {
                    if let Ok(t) = civil::Time::new(h as i8, m as i8, 0, 0) {
                        out.push(t);
                    }
                }
            }
        }
        out
    }

    /// The latest fire time at or before `t` (searching back up to ~4 years).
    pub fn previous(&self, t: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let times = self.times();
        let mut date = t.to_zoned(tz.clone()).date();
        for _ in 0..1500 {
            if self.day_matches(date) {
                for time in times.iter().rev() {
                    if let Ok(z) = date.to_datetime(*time).to_zoned(tz.clone()) {
                        if z.timestamp() <= t {
                            return Some(z.timestamp());
                        }
                    }
                }
            }
            date = date.yesterday().ok()?;
        }
        None
    }

    /// The first fire time strictly after `t`.
    pub fn next(&self, t: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let times = self.times();
        let mut date = t.to_zoned(tz.clone()).date();
        for _ in 0..1500 {
            if self.day_matches(date) {
                for time in &times {
                    if let Ok(z) = date.to_datetime(*time).to_zoned(tz.clone()) {
                        if z.timestamp() > t {
                            return Some(z.timestamp());
                        }
                    }
                }
            }
            date = date.tomorrow().ok()?;
        }
        None
    }
}

/// A channel's digest: when it fires and how it is titled.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestSchedule {
    /// "Daily", "Weekly", "Monthly" or "Scheduled" (cron).
    pub label: &'static str,
    pub cron: Cron,
    pub timezone: String,
    tz: TimeZone,
}

impl DigestSchedule {
    /// Parses a channel's `digest` object, naming bad fields as `digest.…`.
    pub fn from_json(obj: &Map<String, Value>) -> Result<DigestSchedule, FieldErrors> {
        let mut errs = FieldErrors::default();
        unknown_fields(obj, &mut errs);
        let s = |k: &str| obj.get(k).and_then(Value::as_str);
        let timezone = s("timezone").unwrap_or("UTC").to_string();
        let tz = time_zone(&timezone, &mut errs);
        let (h, m) = time_of_day(s("time"), &mut errs);
        let frequency = s("frequency").unwrap_or("daily");
        let (label, expr) = frequency_cron(obj, frequency, h, m, &mut errs);
        let cron = match Cron::parse(&expr) {
            Ok(c) => c,
            Err(e) => {
                errs.push(FieldError::new(
                    if frequency == "cron" {
                        "digest.cron"
                    } else {
                        "digest.frequency"
                    },
                    e,
                ));
                return Err(errs);
            }
        };
        errs.into_result(DigestSchedule {
            label,
            cron,
            timezone,
            tz,
        })
    }

    pub fn tz(&self) -> &TimeZone {
        &self.tz
    }

    /// The latest scheduled time at or before `t`.
    pub fn previous(&self, t: Timestamp) -> Option<Timestamp> {
        self.cron.previous(t, &self.tz)
    }

    /// The next scheduled time after `t`.
    pub fn next(&self, t: Timestamp) -> Option<Timestamp> {
        self.cron.next(t, &self.tz)
    }
}

/// Pushes an error for each key of a `digest` object that is not a digest field.
fn unknown_fields(obj: &Map<String, Value>, errs: &mut FieldErrors) {
    let known = ["frequency", "time", "weekday", "day", "cron", "timezone"];
    for k in obj.keys().filter(|k| !known.contains(&k.as_str())) {
        errs.push(FieldError::new(
            format!("digest.{k}"),
            "unknown field; expected frequency, time, weekday, day, cron or timezone",
        ));
    }
}

/// `digest.timezone` as an IANA time zone; UTC after an error.
fn time_zone(timezone: &str, errs: &mut FieldErrors) -> TimeZone {
    match TimeZone::get(timezone) {
        Ok(tz) => tz,
        Err(_) => {
            errs.push(FieldError::new(
                "digest.timezone",
                format!("{timezone:?} is not an IANA time zone such as Europe/Berlin"),
            ));
            TimeZone::UTC
        }
    }
}

/// `digest.time` (`HH:MM`, default 09:00) as hour and minute; 09:00 after an error.
fn time_of_day(time: Option<&str>, errs: &mut FieldErrors) -> (u32, u32) {
    match time
        .unwrap_or("09:00")
        .split_once(':')
        .and_then(|(h, m)| Some((h.parse::<u32>().ok()?, m.parse::<u32>().ok()?)))
    {
        Some((h, m)) if h < 24 && m < 60 => (h, m),
        _ => {
            errs.push(FieldError::new(
                "digest.time",
                "must be HH:MM such as 09:00",
            ));
            (9, 0)
        }
    }
}

/// The label and cron expression of a `digest.frequency`, at `h:m` for the fixed frequencies.
fn frequency_cron(
    obj: &Map<String, Value>,
    frequency: &str,
    h: u32,
    m: u32,
    errs: &mut FieldErrors,
) -> (&'static str, String) {
    let s = |k: &str| obj.get(k).and_then(Value::as_str);
    match frequency {
        "daily" => ("Daily", format!("{m} {h} * * *")),
        "weekly" => {
            let wd = weekday(s("weekday"), errs);
            ("Weekly", format!("{m} {h} * * {wd}"))
        }
        "monthly" => {
            let day = month_day(obj.get("day"), errs);
            ("Monthly", format!("{m} {h} {day} * *"))
        }
        "cron" => match s("cron") {
            Some(c) => ("Scheduled", c.to_string()),
            None => {
                errs.push(FieldError::new(
                    "digest.cron",
                    "is required with frequency \"cron\", e.g. \"0 9 * * 1-5\"",
                ));
                ("Scheduled", "0 9 * * *".into())
            }
        },
        other => {
            errs.push(FieldError::new(
                "digest.frequency",
                format!("unknown frequency {other:?}; expected daily, weekly, monthly or cron"),
            ));
            ("Daily", "0 9 * * *".into())
        }
    }
}

/// `digest.weekday` (default mon) cut to its first three letters, lower-case; an error when it is no weekday.
fn weekday(weekday: Option<&str>, errs: &mut FieldErrors) -> String {
    let wd = weekday.unwrap_or("mon").to_ascii_lowercase();
    let wd = wd.get(..3).unwrap_or("");
    if !["mon", "tue", "wed", "thu", "fri", "sat", "sun"].contains(&wd) {
        errs.push(FieldError::new(
            "digest.weekday",
            "must be mon, tue, wed, thu, fri, sat or sun",
        ));
    }
    wd.to_string()
}

/// `digest.day` (default 1), a day of the month from 1 to 28; 1 after an error.
fn month_day(day: Option<&Value>, errs: &mut FieldErrors) -> u64 {
    match day {
        None | Some(Value::Null) => 1,
        Some(v) => match v.as_u64() {
            Some(d) if (1..=28).contains(&d) => d,
            _ => {
                errs.push(FieldError::new(
                    "digest.day",
                    "must be a day of the month from 1 to 28 (every month has it)",
                ));
                1
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    fn schedule(v: Value) -> DigestSchedule {
        DigestSchedule::from_json(v.as_object().expect("object")).expect("valid")
    }

    #[test]
    fn daily_at_nine_in_berlin_across_both_dst_changes() {
        let d =
            schedule(json!({"frequency": "daily", "time": "09:00", "timezone": "Europe/Berlin"}));
        // Winter: 09:00 CET = 08:00Z; summer: 09:00 CEST = 07:00Z.
        assert_eq!(
            d.next(at("2026-03-28T12:00:00Z")),
            Some(at("2026-03-29T07:00:00Z")),
            "the day DST starts"
        );
        assert_eq!(
            d.next(at("2026-10-24T12:00:00Z")),
            Some(at("2026-10-25T08:00:00Z")),
            "the day DST ends"
        );
        assert_eq!(
            d.previous(at("2026-01-10T07:59:00Z")),
            Some(at("2026-01-09T08:00:00Z"))
        );
        assert_eq!(
            d.previous(at("2026-01-10T08:00:00Z")),
            Some(at("2026-01-10T08:00:00Z")),
            "inclusive"
        );
    }

    #[test]
    fn weekly_monthly_and_cron_schedules() {
        let w = schedule(
            json!({"frequency": "weekly", "weekday": "mon", "time": "09:00", "timezone": "America/New_York"}),
        );
        assert_eq!(
            w.next(at("2026-11-25T12:00:00Z")),
            Some(at("2026-11-30T14:00:00Z"))
        );
        let m =
            schedule(json!({"frequency": "monthly", "day": 1, "time": "09:00", "timezone": "UTC"}));
        assert_eq!(
            m.next(at("2026-01-31T10:00:00Z")),
            Some(at("2026-02-01T09:00:00Z"))
        );
        assert_eq!(
            m.previous(at("2026-03-15T00:00:00Z")),
            Some(at("2026-03-01T09:00:00Z"))
        );
        let c = schedule(json!({"frequency": "cron", "cron": "0 9 * * 1-5", "timezone": "UTC"}));
        assert_eq!(
            c.next(at("2026-11-27T10:00:00Z")),
            Some(at("2026-11-30T09:00:00Z")),
            "Friday → Monday"
        );
        let leap = schedule(json!({"frequency": "cron", "cron": "30 6 29 2 *", "timezone": "UTC"}));
        assert_eq!(
            leap.next(at("2026-03-01T00:00:00Z")),
            Some(at("2028-02-29T06:30:00Z")),
            "Feb 29 only in leap years"
        );
        let month_end =
            schedule(json!({"frequency": "cron", "cron": "0 18 28-31 * *", "timezone": "UTC"}));
        assert_eq!(
            month_end.next(at("2026-02-28T19:00:00Z")),
            Some(at("2026-03-28T18:00:00Z"))
        );
    }

    #[test]
    fn bad_digest_settings_name_their_field() {
        for (v, field) in [
            (json!({"frequency": "hourly"}), "digest.frequency"),
            (
                json!({"frequency": "weekly", "weekday": "someday"}),
                "digest.weekday",
            ),
            (json!({"frequency": "monthly", "day": 31}), "digest.day"),
            (
                json!({"frequency": "cron", "cron": "61 * * * *"}),
                "digest.cron",
            ),
            (json!({"frequency": "cron"}), "digest.cron"),
            (json!({"time": "9am"}), "digest.time"),
            (json!({"timezone": "Nowhere/Land"}), "digest.timezone"),
        ] {
            let e = DigestSchedule::from_json(v.as_object().expect("object")).expect_err("invalid");
            assert_eq!(e.first().map(|e| e.field.as_str()), Some(field), "{v}");
        }
    }

    #[test]
    fn cron_is_vixie_cron() {
        let refused = [
            ("0 9 * * 8", "day of week"),
            ("60 * * * *", "minute"),
            ("* 24 * * *", "hour"),
            ("0 9 0 * *", "day of month"),
            ("0 9 * 13 *", "month"),
            ("*/61 * * * *", "minute"),
            ("0/4294967295 * * * *", "minute"),
            ("1,,2 * * * *", "minute"),
            ("0 9 * * 5-3", "day of week"),
        ];
        for (expr, field) in refused {
            let e = Cron::parse(expr).expect_err(expr);
            assert!(e.starts_with(field), "{expr}: {e}");
        }
        // Weekday 7 is Sunday, like 0.
        let sunday = Cron::parse("0 9 * * 7").expect("parses");
        assert_eq!(sunday, Cron::parse("0 9 * * 0").expect("parses"));
        assert_eq!(
            Cron::parse("0 9 * * 5-7").expect("parses"),
            Cron::parse("0 9 * * 0,5,6").expect("parses")
        );
        let tz = TimeZone::UTC;
        let t = |s: &str| s.parse::<Timestamp>().expect("time");
        // Both day fields restricted: either matching fires (the 1st of December 2026 is a Tuesday).
        let either = Cron::parse("0 9 1 * 5").expect("parses");
        assert_eq!(
            either.next(t("2026-11-30T10:00:00Z"), &tz),
            Some(t("2026-12-01T09:00:00Z"))
        );
        assert_eq!(
            either.next(t("2026-12-01T10:00:00Z"), &tz),
            Some(t("2026-12-04T09:00:00Z"))
        );
        // `*/2` counts as unrestricted, so both must match: Fridays on odd days (Dec 4 is even, Dec 11 odd)…
        let star_step = Cron::parse("0 9 */2 * 5").expect("parses");
        assert_eq!(
            star_step.next(t("2026-12-01T10:00:00Z"), &tz),
            Some(t("2026-12-11T09:00:00Z"))
        );
        assert_eq!(
            star_step.next(t("2026-12-11T10:00:00Z"), &tz),
            Some(t("2026-12-25T09:00:00Z"))
        );
        // …while the same days written as a range restrict, so either fires: an odd day (Dec 3) or a Friday.
        let range_step = Cron::parse("0 9 1-31/2 * 5").expect("parses");
        assert_eq!(
            range_step.next(t("2026-12-01T10:00:00Z"), &tz),
            Some(t("2026-12-03T09:00:00Z"))
        );
        assert_eq!(
            range_step.next(t("2026-12-03T10:00:00Z"), &tz),
            Some(t("2026-12-04T09:00:00Z"))
        );
    }
}
