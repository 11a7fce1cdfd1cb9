//! AWS EventBridge Scheduler schedule expressions (`rate`, `at`, `cron`), checked with AWS's own rules
//! so a bad schedule is refused before AWS sees it, and evaluated to fire times for the in-process scheduler.

use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Largest `rate` value accepted. AWS documents no maximum; this cap (about 1.9 years in
/// minutes, 2,700 years in days) keeps every later computation far from overflow.
pub const MAX_RATE_VALUE: u32 = 1_000_000;

/// The year range AWS allows in the cron year field; it also bounds every cron search.
const MIN_YEAR: i32 = 1970;
const MAX_YEAR: i32 = 2199;

/// Longest piece of user input quoted back in an error message, in characters as shown
/// (escapes included).
const QUOTE_LIMIT: usize = 40;

/// Why an expression or time zone was rejected; `message` names the part at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExprError {
    pub message: String,
}

impl ExprError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// Unit of a `rate(...)` expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateUnit {
    Minutes,
    Hours,
    Days,
}

impl RateUnit {
    fn minutes(self) -> i64 {
        match self {
            Self::Minutes => 1,
            Self::Hours => 60,
            Self::Days => 24 * 60,
        }
    }

    fn singular(self) -> &'static str {
        match self {
            Self::Minutes => "minute",
            Self::Hours => "hour",
            Self::Days => "day",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Self::Minutes => "minutes",
            Self::Hours => "hours",
            Self::Days => "days",
        }
    }

    /// AWS insists on the grammatical number matching the value.
    fn word_for(self, value: u32) -> &'static str {
        if value == 1 {
            self.singular()
        } else {
            self.plural()
        }
    }
}

/// A parsed schedule expression. `Display` gives the canonical text (the form to send to AWS).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ScheduleExpression {
    /// `rate(value unit)`. Kept as value and unit rather than a duration so that
    /// `rate(60 minutes)` is shown back as written, not as `rate(1 hour)`.
    Rate { value: u32, unit: RateUnit },
    /// `at(yyyy-mm-ddThh:mm:ss)`: a wall-clock time in the schedule's time zone.
    At(NaiveDateTime),
    /// `cron(minutes hours day-of-month month day-of-week year)`.
    Cron(CronExpr),
}

impl ScheduleExpression {
    /// Parses an expression. Whitespace around it, inside the parentheses and between
    /// cron fields is tolerated; `to_string()` gives the strict form AWS expects.
    pub fn parse(s: &str) -> Result<Self, ExprError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ExprError::new("schedule expression is empty"));
        }
        let Some(open) = s.find('(') else {
            for kind in ["rate", "cron", "at"] {
                if s.starts_with(kind) {
                    return Err(ExprError::new(format!(
                        "missing '(' after \"{kind}\" in {}",
                        quote(s)
                    )));
                }
            }
            return Err(ExprError::new(format!(
                "schedule expression {} must be rate(...), cron(...) or at(...)",
                quote(s)
            )));
        };
        // '(' is ASCII, so both indices fall on character boundaries.
        let kind = &s[..open];
        let rest = &s[open + 1..];
        if !matches!(kind, "rate" | "cron" | "at") {
            let trimmed = kind.trim_end();
            if matches!(trimmed, "rate" | "cron" | "at") {
                return Err(ExprError::new(format!(
                    "no space is allowed between \"{trimmed}\" and '('"
                )));
            }
            return Err(ExprError::new(format!(
                "unknown schedule type {} before '(' (expected rate, cron or at)",
                quote(kind)
            )));
        }
        let Some(close) = rest.find(')') else {
            return Err(ExprError::new(format!(
                "missing closing ')' in {kind}(...)"
            )));
        };
        let inner = &rest[..close];
        let trailing = &rest[close + 1..];
        if !trailing.is_empty() {
            return Err(ExprError::new(format!(
                "unexpected text after ')': {}",
                quote(trailing)
            )));
        }
        match kind {
            "rate" => parse_rate(inner),
            "at" => parse_at(inner).map(Self::At),
            _ => CronExpr::parse_fields(inner).map(Self::Cron),
        }
    }

    /// The first fire time strictly after `after`. Cron and `at` are evaluated in `tz`;
    /// `rate` ignores it. `None` when there is no further fire time: an `at` in the past,
    /// or a cron that cannot match again before the end of 2199.
    ///
    /// Daylight saving: a wall-clock time that does not exist (spring forward) fires at
    /// the first instant after the gap; one that happens twice (fall back) fires once, at
    /// the earlier instant.
    pub fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        match self {
            // AWS anchors a rate at the schedule's creation or start date, which this
            // module does not know. Anchoring at the Unix epoch instead makes the answer
            // depend only on the expression: restarts and repeated previews agree, and
            // `rate(1 hour)` fires on the hour, `rate(1 day)` at 00:00 UTC. Callers that
            // know the real anchor can use `next_rate_after` directly.
            Self::Rate { value, unit } => {
                next_rate_after(rate_duration(*value, *unit), DateTime::UNIX_EPOCH, after)
            }
            Self::At(local) => resolve_local(tz, *local).filter(|t| *t > after),
            Self::Cron(cron) => cron.next_after(after, tz),
        }
    }

    /// Up to `n` successive fire times after `after`, strictly increasing.
    pub fn upcoming(&self, after: DateTime<Utc>, tz: Tz, n: usize) -> Vec<DateTime<Utc>> {
        let mut times = Vec::new();
        let mut cursor = after;
        while times.len() < n {
            match self.next_after(cursor, tz) {
                Some(t) => {
                    times.push(t);
                    cursor = t;
                }
                None => break,
            }
        }
        times
    }

    /// For `rate` expressions, the interval between fire times.
    pub fn every(&self) -> Option<Duration> {
        match self {
            Self::Rate { value, unit } => Some(rate_duration(*value, *unit)),
            _ => None,
        }
    }

    /// The shortest time between two successive fire times, on the wall clock: a rate's
    /// interval; for a cron, the closest two of its times of day, or the last time of one
    /// day and the first of the next when it fires on two days in a row. `None` for `at`
    /// and a cron that fires at most once. (A daylight-saving jump can bring one pair of
    /// fires closer once a year: not counted.)
    pub fn shortest_gap(&self) -> Option<Duration> {
        match self {
            Self::Rate { .. } => self.every(),
            Self::At(_) => None,
            Self::Cron(cron) => cron.shortest_gap(),
        }
    }
}

impl fmt::Display for ScheduleExpression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rate { value, unit } => write!(f, "rate({value} {})", unit.word_for(*value)),
            Self::At(local) => write!(f, "at({})", local.format("%Y-%m-%dT%H:%M:%S")),
            Self::Cron(cron) => write!(f, "cron({cron})"),
        }
    }
}

impl FromStr for ScheduleExpression {
    type Err = ExprError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Stored and sent as its canonical text, so a stored schedule is always one AWS accepts.
impl Serialize for ScheduleExpression {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ScheduleExpression {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Parses an IANA time zone name such as `Europe/London` or `UTC` (exact spelling, as AWS requires).
pub fn parse_timezone(s: &str) -> Result<Tz, ExprError> {
    let name = s.trim();
    if name.is_empty() {
        return Err(ExprError::new("time zone is empty"));
    }
    name.parse::<Tz>().map_err(|_| {
        ExprError::new(format!(
            "unknown time zone {} (expected an IANA name such as Europe/London)",
            quote(name)
        ))
    })
}

/// The first `anchor + k * every` strictly after `after`, for any integer `k` (so an
/// anchor in the future still yields the earlier slots). `None` when `every` is not
/// positive or the result is beyond chrono's range.
pub fn next_rate_after(
    every: Duration,
    anchor: DateTime<Utc>,
    after: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    // i128 nanoseconds: chrono's own nanosecond count is i64 and overflows after 292 years.
    let nanos =
        |d: Duration| i128::from(d.num_seconds()) * 1_000_000_000 + i128::from(d.subsec_nanos());
    let step = nanos(every);
    if step <= 0 {
        return None;
    }
    let elapsed = nanos(after.signed_duration_since(anchor));
    let k = elapsed.div_euclid(step).checked_add(1)?;
    let offset = k.checked_mul(step)?;
    let secs = i64::try_from(offset.div_euclid(1_000_000_000)).ok()?;
    let subsec = u32::try_from(offset.rem_euclid(1_000_000_000)).ok()?;
    anchor.checked_add_signed(Duration::new(secs, subsec)?)
}

fn rate_duration(value: u32, unit: RateUnit) -> Duration {
    // Cannot overflow (u32 x 1440 minutes), but a saturating fallback costs nothing.
    Duration::try_minutes(i64::from(value) * unit.minutes()).unwrap_or(Duration::MAX)
}

fn parse_rate(inner: &str) -> Result<ScheduleExpression, ExprError> {
    let parts: Vec<&str> = inner.split_whitespace().collect();
    let [value_text, unit_text] = parts[..] else {
        return Err(ExprError::new(format!(
            "rate(...) needs a value and a unit, e.g. rate(5 minutes), found {}",
            quote(inner.trim())
        )));
    };
    if !value_text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ExprError::new(format!(
            "rate value {} is not a positive whole number",
            quote(value_text)
        )));
    }
    // All digits: the only possible parse failure is overflow.
    let value = match value_text.parse::<u64>() {
        Ok(v) if v <= u64::from(MAX_RATE_VALUE) => u32::try_from(v).unwrap_or(MAX_RATE_VALUE),
        _ => {
            return Err(ExprError::new(format!(
                "rate value {} is too large (maximum {MAX_RATE_VALUE})",
                quote_plain(value_text)
            )));
        }
    };
    if value == 0 {
        return Err(ExprError::new("rate value must be at least 1, found 0"));
    }
    let (unit, singular) = match unit_text {
        "minute" => (RateUnit::Minutes, true),
        "minutes" => (RateUnit::Minutes, false),
        "hour" => (RateUnit::Hours, true),
        "hours" => (RateUnit::Hours, false),
        "day" => (RateUnit::Days, true),
        "days" => (RateUnit::Days, false),
        _ => {
            return Err(ExprError::new(format!(
                "rate unit {} is not one of minute, minutes, hour, hours, day, days",
                quote(unit_text)
            )));
        }
    };
    if value == 1 && !singular {
        return Err(ExprError::new(format!(
            "rate value 1 needs the singular unit \"{}\", not \"{unit_text}\"",
            unit.singular()
        )));
    }
    if value > 1 && singular {
        return Err(ExprError::new(format!(
            "rate value {value} needs the plural unit \"{}\", not \"{unit_text}\"",
            unit.plural()
        )));
    }
    Ok(ScheduleExpression::Rate { value, unit })
}

fn parse_at(inner: &str) -> Result<NaiveDateTime, ExprError> {
    let text = inner.trim();
    let bytes = text.as_bytes();
    // Checked byte by byte, so no slicing of possibly non-ASCII input is needed.
    let shape_ok = bytes.len() == 19
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b'T',
            13 | 16 => *b == b':',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok {
        return Err(ExprError::new(format!(
            "at(...) needs a date-time like at(2030-01-31T09:30:00) (yyyy-mm-ddThh:mm:ss), found {}",
            quote(text)
        )));
    }
    let number = |from: usize, to: usize| {
        bytes[from..to]
            .iter()
            .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'))
    };
    let (year, month, day) = (number(0, 4), number(5, 7), number(8, 10));
    let (hour, minute, second) = (number(11, 13), number(14, 16), number(17, 19));
    let date = i32::try_from(year)
        .ok()
        .and_then(|y| NaiveDate::from_ymd_opt(y, month, day))
        .ok_or_else(|| {
            ExprError::new(format!(
                "at(...): {year:04}-{month:02}-{day:02} is not a valid date"
            ))
        })?;
    let time = NaiveTime::from_hms_opt(hour, minute, second).ok_or_else(|| {
        ExprError::new(format!(
            "at(...): {hour:02}:{minute:02}:{second:02} is not a valid time"
        ))
    })?;
    Ok(NaiveDateTime::new(date, time))
}

/// A parsed `cron(...)` expression. Its `Display` is the six fields, space-separated, upper-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CronExpr {
    /// Normalised fields joined by single spaces, kept so `Display` shows names and steps
    /// as the user wrote them.
    text: String,
    minutes: ValueSet<1>,
    hours: ValueSet<1>,
    days_of_month: DayOfMonth,
    months: ValueSet<1>,
    days_of_week: DayOfWeek,
    years: ValueSet<4>,
}

impl fmt::Display for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl CronExpr {
    fn parse_fields(inner: &str) -> Result<Self, ExprError> {
        let parts: Vec<String> = inner
            .split_whitespace()
            .map(str::to_ascii_uppercase)
            .collect();
        let Ok(fields) = <[String; 6]>::try_from(parts) else {
            let count = inner.split_whitespace().count();
            return Err(ExprError::new(format!(
                "cron(...) needs exactly 6 fields (minutes hours day-of-month month day-of-week year), found {count}"
            )));
        };
        let minutes = MINUTES.parse_plain(&fields[0])?;
        let hours = HOURS.parse_plain(&fields[1])?;
        let days_of_month = parse_day_of_month(&fields[2])?;
        let months = MONTH.parse_plain(&fields[3])?;
        let days_of_week = parse_day_of_week(&fields[4])?;
        let years = YEAR.parse_plain(&fields[5])?;
        match (&days_of_month, &days_of_week) {
            (DayOfMonth::Any, DayOfWeek::Any) => {
                return Err(ExprError::new(
                    "cron: day-of-month and day-of-week are both '?'; exactly one of them must be '?'",
                ));
            }
            (DayOfMonth::Any, _) | (_, DayOfWeek::Any) => {}
            _ => {
                return Err(ExprError::new(format!(
                    "cron: day-of-month ({}) and day-of-week ({}) are both set; AWS needs one of them to be '?'",
                    quote(&fields[2]),
                    quote(&fields[4])
                )));
            }
        }
        Ok(Self {
            text: fields.join(" "),
            minutes,
            hours,
            days_of_month,
            months,
            days_of_week,
            years,
        })
    }

    fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        // Local-to-UTC resolution (earlier instant for repeated times, end of gap for
        // missing ones) never goes backwards, so no local time before `after`'s own
        // wall-clock time can map past `after`: the search can start there.
        let start = after.with_timezone(&tz).naive_local();
        let mut date = start.date().max(NaiveDate::from_ymd_opt(MIN_YEAR, 1, 1)?);
        // Walks day by day but jumps over whole years and months that cannot match, so
        // even an expression that never fires gives up after at most 230 years of its months.
        loop {
            let year = date.year();
            if year > MAX_YEAR {
                return None;
            }
            if !self.years.contains_year(year) {
                let next = (year + 1..=MAX_YEAR).find(|y| self.years.contains_year(*y))?;
                date = NaiveDate::from_ymd_opt(next, 1, 1)?;
                continue;
            }
            let month = date.month();
            if !self.months.contains(month) {
                date = match (month + 1..=12).find(|m| self.months.contains(*m)) {
                    Some(m) => NaiveDate::from_ymd_opt(year, m, 1)?,
                    None => NaiveDate::from_ymd_opt(year + 1, 1, 1)?,
                };
                continue;
            }
            if self.days_of_month.matches(date)
                && self.days_of_week.matches(date)
                && let Some(t) = self.first_time_on(date, start, after, tz)
            {
                return Some(t);
            }
            date = date.succ_opt()?;
        }
    }

    fn shortest_gap(&self) -> Option<Duration> {
        let times: Vec<i64> = (0..24u32)
            .filter(|h| self.hours.contains(*h))
            .flat_map(|h| {
                (0..60u32)
                    .filter(|m| self.minutes.contains(*m))
                    .map(move |m| i64::from(h * 60 + m))
            })
            .collect();
        let (first, last) = (*times.first()?, *times.last()?);
        let within = times.windows(2).map(|w| w[1] - w[0]).min();
        let across = self
            .fires_on_consecutive_days()
            .then_some(first + 24 * 60 - last);
        within
            .into_iter()
            .chain(across)
            .min()
            .map(Duration::minutes)
    }

    fn matches_date(&self, date: NaiveDate) -> bool {
        self.years.contains_year(date.year())
            && self.months.contains(date.month())
            && self.days_of_month.matches(date)
            && self.days_of_week.matches(date)
    }

    /// Whether two days in a row both match. Searched over the years the year field allows,
    /// at least eight of them and one leap year when there is one: every pattern of
    /// weekdays, month ends and leap days the other fields can pick shows up in those.
    fn fires_on_consecutive_days(&self) -> bool {
        let mut leap = false;
        let years = (MIN_YEAR..=MAX_YEAR).filter(|y| self.years.contains_year(*y));
        for (seen, year) in years.enumerate() {
            if seen >= 8 && leap {
                return false;
            }
            leap |= days_in_month(year, 2) == 29;
            let (Some(mut day), Some(end)) = (
                NaiveDate::from_ymd_opt(year, 1, 1),
                NaiveDate::from_ymd_opt(year, 12, 31),
            ) else {
                return false;
            };
            while day <= end {
                let Some(next) = day.succ_opt() else {
                    return false;
                };
                if self.matches_date(day) && self.matches_date(next) {
                    return true;
                }
                day = next;
            }
        }
        false
    }

    fn first_time_on(
        &self,
        date: NaiveDate,
        start: NaiveDateTime,
        after: DateTime<Utc>,
        tz: Tz,
    ) -> Option<DateTime<Utc>> {
        for hour in (0..24).filter(|h| self.hours.contains(*h)) {
            for minute in (0..60).filter(|m| self.minutes.contains(*m)) {
                let Some(local) = date.and_hms_opt(hour, minute, 0) else {
                    continue;
                };
                if local < start {
                    continue;
                }
                // The check against `after` matters on the repeated hour of a fall-back
                // day: the second pass maps to instants already behind us.
                if let Some(t) = resolve_local(tz, local)
                    && t > after
                {
                    return Some(t);
                }
            }
        }
        None
    }
}

/// Maps a wall-clock time to an instant: the earlier one when the time occurs twice,
/// the first instant after the gap when it does not occur at all.
fn resolve_local(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Some(a.min(b).with_timezone(&Utc)),
        LocalResult::None => end_of_gap(tz, local),
    }
}

/// The instant at which local clocks jumped over `local`. chrono-tz does not expose
/// transitions, so this bisects on UTC seconds: ±26 hours covers every UTC offset in the
/// tz database (historic ones reach about ±16 hours), and 18 steps suffice.
fn end_of_gap(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    const WINDOW: i64 = 26 * 3600;
    let target = local.and_utc().timestamp();
    let mut before = target.checked_sub(WINDOW)?;
    let mut past = target.checked_add(WINDOW)?;
    while past - before > 1 {
        let mid = before + (past - before) / 2;
        let wall = DateTime::from_timestamp(mid, 0)?
            .with_timezone(&tz)
            .naive_local();
        if wall > local {
            past = mid;
        } else {
            before = mid;
        }
    }
    DateTime::from_timestamp(past, 0)
}

/// A set of at most `64 * N` consecutive integers starting at `min`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ValueSet<const N: usize> {
    min: u32,
    bits: [u64; N],
}

impl<const N: usize> ValueSet<N> {
    fn empty(min: u32) -> Self {
        Self { min, bits: [0; N] }
    }

    fn single(min: u32, value: u32) -> Self {
        let mut set = Self::empty(min);
        set.insert(value);
        set
    }

    fn slot(&self, value: u32) -> Option<(usize, u64)> {
        let index = usize::try_from(value.checked_sub(self.min)?).ok()?;
        (index < 64 * N).then(|| (index / 64, 1u64 << (index % 64)))
    }

    fn insert(&mut self, value: u32) {
        if let Some((word, bit)) = self.slot(value) {
            self.bits[word] |= bit;
        }
    }

    fn contains(&self, value: u32) -> bool {
        self.slot(value)
            .is_some_and(|(word, bit)| self.bits[word] & bit != 0)
    }

    fn contains_year(&self, year: i32) -> bool {
        u32::try_from(year).is_ok_and(|y| self.contains(y))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum DayOfMonth {
    /// `?`
    Any,
    Days(ValueSet<1>),
    /// `L`
    Last,
    /// `LW`
    LastWeekday,
    /// `nW`
    NearestWeekday(u32),
}

impl DayOfMonth {
    fn matches(&self, date: NaiveDate) -> bool {
        let day = date.day();
        let last = days_in_month(date.year(), date.month());
        match self {
            Self::Any => true,
            Self::Days(set) => set.contains(day),
            Self::Last => day == last,
            Self::LastWeekday => {
                let last_weekday = match weekday_of(date, last) {
                    Some(7) => last - 1,
                    Some(1) => last - 2,
                    _ => last,
                };
                day == last_weekday
            }
            // AWS only says "the weekday closest to"; its cron dialect is Quartz's, which never
            // leaves the month: 1W on a Saturday is Monday the 3rd, 31W on a Sunday Friday the 29th.
            Self::NearestWeekday(target) => {
                if *target > last {
                    return false;
                }
                let nearest = match weekday_of(date, *target) {
                    Some(7) if *target == 1 => 3,
                    Some(7) => target - 1,
                    Some(1) if *target == last => target - 2,
                    Some(1) => target + 1,
                    _ => *target,
                };
                day == nearest
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum DayOfWeek {
    /// `?`
    Any,
    Days(ValueSet<1>),
    /// `nL`: the last such weekday of the month.
    Last(u32),
    /// `n#k`: the k-th such weekday of the month.
    Nth {
        weekday: u32,
        nth: u32,
    },
}

impl DayOfWeek {
    fn matches(&self, date: NaiveDate) -> bool {
        let weekday = date.weekday().number_from_sunday();
        let day = date.day();
        match self {
            Self::Any => true,
            Self::Days(set) => set.contains(weekday),
            Self::Last(w) => weekday == *w && day + 7 > days_in_month(date.year(), date.month()),
            Self::Nth { weekday: w, nth } => weekday == *w && (day - 1) / 7 + 1 == *nth,
        }
    }
}

/// AWS numbering: 1 = Sunday ... 7 = Saturday.
fn weekday_of(date: NaiveDate, day: u32) -> Option<u32> {
    date.with_day(day).map(|d| d.weekday().number_from_sunday())
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

struct Field {
    number: usize,
    name: &'static str,
    min: u32,
    max: u32,
    /// Names for `min`, `min + 1`, ...
    names: &'static [&'static str],
}

const MINUTES: Field = Field {
    number: 1,
    name: "minutes",
    min: 0,
    max: 59,
    names: &[],
};
const HOURS: Field = Field {
    number: 2,
    name: "hours",
    min: 0,
    max: 23,
    names: &[],
};
const DAY_OF_MONTH: Field = Field {
    number: 3,
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: Field = Field {
    number: 4,
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ],
};
const DAY_OF_WEEK: Field = Field {
    number: 5,
    name: "day-of-week",
    min: 1,
    max: 7,
    names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
};
const YEAR: Field = Field {
    number: 6,
    name: "year",
    min: MIN_YEAR as u32,
    max: MAX_YEAR as u32,
    names: &[],
};

impl Field {
    fn error(&self, message: impl fmt::Display) -> ExprError {
        ExprError::new(format!(
            "cron field {} ({}): {message}",
            self.number, self.name
        ))
    }

    /// A field that allows only the common wildcards (everything but day-of-month and day-of-week).
    fn parse_plain<const N: usize>(&self, text: &str) -> Result<ValueSet<N>, ExprError> {
        if text.contains('?') {
            return Err(self.error("'?' is only allowed in day-of-month or day-of-week"));
        }
        if text.contains('#') {
            return Err(self.error("'#' is only allowed in day-of-week"));
        }
        if self.names.is_empty() && (text.contains('L') || text.contains('W')) {
            return Err(self.error(format!(
                "{}: 'L' and 'W' are only allowed in day-of-month or day-of-week",
                quote(text)
            )));
        }
        self.parse_list(text)
    }

    /// Comma-separated items, each `*`, `v`, `a-b`, optionally followed by `/step`.
    fn parse_list<const N: usize>(&self, text: &str) -> Result<ValueSet<N>, ExprError> {
        let mut set = ValueSet::empty(self.min);
        for item in text.split(',') {
            if item.is_empty() {
                return Err(self.error(format!("empty item in list {}", quote(text))));
            }
            let (range, step) = match item.split_once('/') {
                Some((range, step)) => (range, Some(self.parse_step(step, item)?)),
                None => (item, None),
            };
            let (start, end) = if range == "*" {
                (self.min, self.max)
            } else if let Some((a, b)) = range.split_once('-') {
                if a.is_empty() || b.is_empty() {
                    return Err(self.error(format!("range {} is missing a bound", quote(range))));
                }
                let (start, end) = (self.parse_value(a)?, self.parse_value(b)?);
                // Quartz lets some ranges wrap around (FRI-MON); AWS documents no such thing,
                // so a reversed range is more likely a mistake than an intent.
                if start > end {
                    return Err(self.error(format!(
                        "range {} runs backwards (the start is after the end)",
                        quote(range)
                    )));
                }
                (start, end)
            } else if range.is_empty() {
                return Err(self.error(format!("{} has no value before '/'", quote(item))));
            } else {
                let value = self.parse_value(range)?;
                // `5/10` means "from 5, every 10": the range runs to the field's end.
                (value, if step.is_some() { self.max } else { value })
            };
            let step = step.unwrap_or(1);
            let mut value = start;
            loop {
                set.insert(value);
                match value.checked_add(step) {
                    Some(next) if next <= end => value = next,
                    _ => break,
                }
            }
        }
        Ok(set)
    }

    fn parse_step(&self, step: &str, item: &str) -> Result<u32, ExprError> {
        let valid = !step.is_empty() && step.bytes().all(|b| b.is_ascii_digit());
        match step.parse::<u32>() {
            Ok(n) if valid && n >= 1 => Ok(n),
            _ => Err(self.error(format!(
                "the step after '/' in {} must be a whole number of at least 1",
                quote(item)
            ))),
        }
    }

    fn parse_value(&self, token: &str) -> Result<u32, ExprError> {
        if token.is_empty() {
            return Err(self.error("a value is missing"));
        }
        if token.bytes().all(|b| b.is_ascii_digit()) {
            return match token.parse::<u32>() {
                Ok(v) if (self.min..=self.max).contains(&v) => Ok(v),
                _ => Err(self.error(format!(
                    "{} is out of range {}-{}",
                    quote_plain(token),
                    self.min,
                    self.max
                ))),
            };
        }
        if let Some(index) = self
            .names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(token))
        {
            // At most 12 names, so the index always fits.
            return Ok(self.min + u32::try_from(index).unwrap_or(0));
        }
        match (self.names.first(), self.names.last()) {
            (Some(first), Some(last)) => Err(self.error(format!(
                "{} is not a number or a name ({first}-{last})",
                quote(token)
            ))),
            _ => Err(self.error(format!("{} is not a number", quote(token)))),
        }
    }
}

/// Rejects `?`, `L`, `W` and `#` mixed into a list, where AWS gives them no meaning.
fn check_special_alone(field: &Field, text: &str, specials: &[char]) -> Result<(), ExprError> {
    if text.contains(',')
        && let Some(c) = specials.iter().find(|c| text.contains(**c))
    {
        return Err(field.error(format!(
            "{}: '{c}' can't be combined with other values in a list",
            quote(text)
        )));
    }
    Ok(())
}

fn parse_day_of_month(text: &str) -> Result<DayOfMonth, ExprError> {
    let field = &DAY_OF_MONTH;
    check_special_alone(field, text, &['?', 'L', 'W'])?;
    match text {
        "?" => return Ok(DayOfMonth::Any),
        "L" => return Ok(DayOfMonth::Last),
        "LW" => return Ok(DayOfMonth::LastWeekday),
        _ => {}
    }
    if text.contains('#') {
        return Err(field.error("'#' is only allowed in day-of-week"));
    }
    if text.contains('?') {
        return Err(field.error("'?' must be the whole field"));
    }
    if let Some(day) = text.strip_suffix('W')
        && !day.is_empty()
        && day.bytes().all(|b| b.is_ascii_digit())
    {
        return Ok(DayOfMonth::NearestWeekday(field.parse_value(day)?));
    }
    if text.contains('L') || text.contains('W') {
        return Err(field.error(format!(
            "{}: 'L' and 'W' are only allowed as L, LW or a day followed by W (e.g. 15W)",
            quote(text)
        )));
    }
    Ok(DayOfMonth::Days(field.parse_list(text)?))
}

fn parse_day_of_week(text: &str) -> Result<DayOfWeek, ExprError> {
    let field = &DAY_OF_WEEK;
    check_special_alone(field, text, &['?', 'L', '#'])?;
    match text {
        "?" => return Ok(DayOfWeek::Any),
        // As in Quartz, `L` on its own is simply the last day of the week: every Saturday.
        "L" => return Ok(DayOfWeek::Days(ValueSet::single(field.min, field.max))),
        _ => {}
    }
    if text.contains('?') {
        return Err(field.error("'?' must be the whole field"));
    }
    if let Some((day, nth)) = text.split_once('#') {
        let weekday = field.parse_value(day)?;
        let nth = match nth.parse::<u32>() {
            Ok(n) if (1..=5).contains(&n) && nth.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => {
                return Err(field.error(format!(
                    "the occurrence after '#' in {} must be 1-5",
                    quote(text)
                )));
            }
        };
        return Ok(DayOfWeek::Nth { weekday, nth });
    }
    // No day name ends in L, so a trailing L always means "last".
    if let Some(day) = text.strip_suffix('L') {
        if day.contains(['-', '/', '*']) {
            return Err(field.error(format!(
                "{}: 'L' follows a single day (e.g. 6L for the last Friday)",
                quote(text)
            )));
        }
        return Ok(DayOfWeek::Last(field.parse_value(day)?));
    }
    if text.contains('L') {
        return Err(field.error(format!(
            "{}: 'L' is only allowed alone or after a day (e.g. 6L)",
            quote(text)
        )));
    }
    if text.contains('W') && !DAY_OF_WEEK.names.iter().any(|n| text.contains(n)) {
        return Err(field.error("'W' is only allowed in day-of-month"));
    }
    Ok(DayOfWeek::Days(field.parse_list(text)?))
}

/// User text for an error message: quoted with escapes, shortened so that at most
/// `QUOTE_LIMIT` characters of it are shown, escapes included (a character shown as
/// `\u{10ffff}` counts as ten), so odd input cannot make a message long.
fn quote(text: &str) -> String {
    // `char::escape_debug` is never narrower than the escape `str`'s `Debug` uses (it also
    // escapes `'`, which `str` shows as is).
    format!(
        "{:?}",
        shorten(text, |c| match c {
            '\'' => 1,
            _ => c.escape_debug().count(),
        })
    )
}

/// Like `quote` but without quotation marks, for numbers.
fn quote_plain(text: &str) -> String {
    shorten(text, |_| 1)
}

/// The longest start of `text` whose characters, measured by `width`, fit in
/// `QUOTE_LIMIT`, followed by '…' when something was cut off.
fn shorten(text: &str, width: impl Fn(char) -> usize) -> String {
    let mut used = 0;
    for (i, c) in text.char_indices() {
        used += width(c);
        if used > QUOTE_LIMIT {
            return format!("{}…", &text[..i]);
        }
    }
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn parse(s: &str) -> ScheduleExpression {
        match ScheduleExpression::parse(s) {
            Ok(e) => e,
            Err(e) => panic!("{s:?} should parse: {e}"),
        }
    }

    fn error(s: &str) -> String {
        match ScheduleExpression::parse(s) {
            Ok(e) => panic!("{s:?} should be rejected, parsed as {e}"),
            Err(e) => e.message,
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        match DateTime::parse_from_rfc3339(s) {
            Ok(t) => t.with_timezone(&Utc),
            Err(e) => panic!("bad test time {s}: {e}"),
        }
    }

    fn next(expr: &str, after: &str, tz: Tz) -> Option<DateTime<Utc>> {
        parse(expr).next_after(utc(after), tz)
    }

    fn upcoming(expr: &str, after: &str, tz: Tz, n: usize) -> Vec<String> {
        parse(expr)
            .upcoming(utc(after), tz, n)
            .iter()
            .map(|t| t.to_rfc3339())
            .collect()
    }

    const NY: Tz = chrono_tz::America::New_York;
    const UTC: Tz = chrono_tz::UTC;

    #[test]
    fn every_form_parses_and_round_trips() {
        for text in [
            "rate(1 minute)",
            "rate(5 minutes)",
            "rate(1 hour)",
            "rate(12 hours)",
            "rate(1 day)",
            "rate(7 days)",
            "rate(1000000 minutes)",
            "at(2030-01-31T09:30:00)",
            "at(2024-02-29T00:00:00)",
            "cron(0 12 * * ? *)",
            "cron(0/15 * * * ? *)",
            "cron(*/5 8-17 ? * MON-FRI *)",
            "cron(5-30/10 0,12 1,15 JAN-MAR,DEC ? 2024-2030/2)",
            "cron(0 9 ? * MON-FRI *)",
            "cron(0 0 L * ? *)",
            "cron(0 0 LW * ? *)",
            "cron(0 0 15W * ? *)",
            "cron(0 0 ? * L *)",
            "cron(0 0 ? * 6L *)",
            "cron(0 0 ? * FRIL *)",
            "cron(0 0 ? * 3#2 *)",
            "cron(0 0 ? * TUE#2 *)",
            "cron(59 23 31 12 ? 2199)",
            "cron(0 0 1 * ? 1970)",
        ] {
            let expr = parse(text);
            assert_eq!(expr.to_string(), text);
            assert_eq!(parse(&expr.to_string()), expr, "{text}");
        }
    }

    #[test]
    fn lenient_spacing_and_names_canonicalise() {
        let expr = parse("  cron( 0   12 ? jan  mon-fri *  )\t");
        assert_eq!(expr.to_string(), "cron(0 12 ? JAN MON-FRI *)");
        assert_eq!(parse("rate(  5   minutes )").to_string(), "rate(5 minutes)");
        assert_eq!(
            parse(" at( 2030-01-31T09:30:00 ) ").to_string(),
            "at(2030-01-31T09:30:00)"
        );
        assert_eq!(
            parse("cron(0 0 lw * ? *)").to_string(),
            "cron(0 0 LW * ? *)"
        );
    }

    #[test]
    fn rejections_say_what_is_wrong() {
        let cases = [
            ("", "schedule expression is empty"),
            ("   ", "schedule expression is empty"),
            (
                "every(5 minutes)",
                "unknown schedule type \"every\" before '(' (expected rate, cron or at)",
            ),
            (
                "hello",
                "schedule expression \"hello\" must be rate(...), cron(...) or at(...)",
            ),
            (
                "cron 0 12 * * ? *",
                "missing '(' after \"cron\" in \"cron 0 12 * * ? *\"",
            ),
            (
                "cron (0 12 * * ? *)",
                "no space is allowed between \"cron\" and '('",
            ),
            ("rate(5 minutes", "missing closing ')' in rate(...)"),
            ("rate(5 minutes) now", "unexpected text after ')': \" now\""),
            ("cron(0 12 * * ? *))", "unexpected text after ')': \")\""),
            (
                "cron(0 12 * * MON *)",
                "cron: day-of-month (\"*\") and day-of-week (\"MON\") are both set; AWS needs one of them to be '?'",
            ),
            (
                "cron(0 12 ? * ? *)",
                "cron: day-of-month and day-of-week are both '?'; exactly one of them must be '?'",
            ),
            (
                "cron(0 25 * * ? *)",
                "cron field 2 (hours): 25 is out of range 0-23",
            ),
            (
                "cron(60 0 * * ? *)",
                "cron field 1 (minutes): 60 is out of range 0-59",
            ),
            (
                "cron(0 0 0 * ? *)",
                "cron field 3 (day-of-month): 0 is out of range 1-31",
            ),
            (
                "cron(0 0 32 * ? *)",
                "cron field 3 (day-of-month): 32 is out of range 1-31",
            ),
            (
                "cron(0 0 1 13 ? *)",
                "cron field 4 (month): 13 is out of range 1-12",
            ),
            (
                "cron(0 0 ? * 8 *)",
                "cron field 5 (day-of-week): 8 is out of range 1-7",
            ),
            (
                "cron(0 0 ? * 0 *)",
                "cron field 5 (day-of-week): 0 is out of range 1-7",
            ),
            (
                "cron(0 0 1 * ? 1969)",
                "cron field 6 (year): 1969 is out of range 1970-2199",
            ),
            (
                "cron(0 0 1 * ? 2200)",
                "cron field 6 (year): 2200 is out of range 1970-2199",
            ),
            (
                "cron(0 0 1 * ? 99999999999999999999)",
                "cron field 6 (year): 99999999999999999999 is out of range 1970-2199",
            ),
            (
                "cron(0 0 1 FOO ? *)",
                "cron field 4 (month): \"FOO\" is not a number or a name (JAN-DEC)",
            ),
            (
                "cron(0 0 ? * MONDAY *)",
                "cron field 5 (day-of-week): \"MONDAY\" is not a number or a name (SUN-SAT)",
            ),
            (
                "cron(x 0 1 * ? *)",
                "cron field 1 (minutes): \"X\" is not a number",
            ),
            (
                "cron(0 ? 1 * ? *)",
                "cron field 2 (hours): '?' is only allowed in day-of-month or day-of-week",
            ),
            (
                "cron(0 0 L * ? L)",
                "cron field 6 (year): \"L\": 'L' and 'W' are only allowed in day-of-month or day-of-week",
            ),
            (
                "cron(0 0 1#2 * ? *)",
                "cron field 3 (day-of-month): '#' is only allowed in day-of-week",
            ),
            (
                "cron(0 0 ? * 3#6 *)",
                "cron field 5 (day-of-week): the occurrence after '#' in \"3#6\" must be 1-5",
            ),
            (
                "cron(0 0 ? * 3#0 *)",
                "cron field 5 (day-of-week): the occurrence after '#' in \"3#0\" must be 1-5",
            ),
            (
                "cron(0 0 32W * ? *)",
                "cron field 3 (day-of-month): 32 is out of range 1-31",
            ),
            (
                "cron(0 0 L,15 * ? *)",
                "cron field 3 (day-of-month): \"L,15\": 'L' can't be combined with other values in a list",
            ),
            (
                "cron(0 0 ? * 2,6L *)",
                "cron field 5 (day-of-week): \"2,6L\": 'L' can't be combined with other values in a list",
            ),
            (
                "cron(0/0 0 1 * ? *)",
                "cron field 1 (minutes): the step after '/' in \"0/0\" must be a whole number of at least 1",
            ),
            (
                "cron(*/ 0 1 * ? *)",
                "cron field 1 (minutes): the step after '/' in \"*/\" must be a whole number of at least 1",
            ),
            (
                "cron(30-10 0 1 * ? *)",
                "cron field 1 (minutes): range \"30-10\" runs backwards (the start is after the end)",
            ),
            (
                "cron(5- 0 1 * ? *)",
                "cron field 1 (minutes): range \"5-\" is missing a bound",
            ),
            (
                "cron(1,,2 0 1 * ? *)",
                "cron field 1 (minutes): empty item in list \"1,,2\"",
            ),
            (
                "cron(0 12 * * ?)",
                "cron(...) needs exactly 6 fields (minutes hours day-of-month month day-of-week year), found 5",
            ),
            (
                "cron(0 0 12 * * ? *)",
                "cron(...) needs exactly 6 fields (minutes hours day-of-month month day-of-week year), found 7",
            ),
            (
                "cron()",
                "cron(...) needs exactly 6 fields (minutes hours day-of-month month day-of-week year), found 0",
            ),
            (
                "rate(5 weeks)",
                "rate unit \"weeks\" is not one of minute, minutes, hour, hours, day, days",
            ),
            (
                "rate(5 Minutes)",
                "rate unit \"Minutes\" is not one of minute, minutes, hour, hours, day, days",
            ),
            (
                "rate(1 minutes)",
                "rate value 1 needs the singular unit \"minute\", not \"minutes\"",
            ),
            (
                "rate(5 minute)",
                "rate value 5 needs the plural unit \"minutes\", not \"minute\"",
            ),
            (
                "rate(2 day)",
                "rate value 2 needs the plural unit \"days\", not \"day\"",
            ),
            (
                "rate(1 hours)",
                "rate value 1 needs the singular unit \"hour\", not \"hours\"",
            ),
            ("rate(0 minutes)", "rate value must be at least 1, found 0"),
            (
                "rate(-5 minutes)",
                "rate value \"-5\" is not a positive whole number",
            ),
            (
                "rate(1.5 hours)",
                "rate value \"1.5\" is not a positive whole number",
            ),
            (
                "rate(1000001 minutes)",
                "rate value 1000001 is too large (maximum 1000000)",
            ),
            (
                "rate(99999999999999999999999 minutes)",
                "rate value 99999999999999999999999 is too large (maximum 1000000)",
            ),
            (
                "rate(5)",
                "rate(...) needs a value and a unit, e.g. rate(5 minutes), found \"5\"",
            ),
            (
                "rate(5 minutes extra)",
                "rate(...) needs a value and a unit, e.g. rate(5 minutes), found \"5 minutes extra\"",
            ),
            (
                "at(2030-01-31 09:30:00)",
                "at(...) needs a date-time like at(2030-01-31T09:30:00) (yyyy-mm-ddThh:mm:ss), found \"2030-01-31 09:30:00\"",
            ),
            (
                "at(2030-01-31T09:30)",
                "at(...) needs a date-time like at(2030-01-31T09:30:00) (yyyy-mm-ddThh:mm:ss), found \"2030-01-31T09:30\"",
            ),
            (
                "at(2023-02-29T09:30:00)",
                "at(...): 2023-02-29 is not a valid date",
            ),
            (
                "at(2030-01-31T24:00:00)",
                "at(...): 24:00:00 is not a valid time",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(error(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn timezones() {
        assert_eq!(parse_timezone("America/New_York"), Ok(NY));
        assert_eq!(parse_timezone(" UTC "), Ok(UTC));
        assert_eq!(
            parse_timezone("Mars/Olympus").map_err(|e| e.message),
            Err(
                "unknown time zone \"Mars/Olympus\" (expected an IANA name such as Europe/London)"
                    .into()
            )
        );
        assert_eq!(
            parse_timezone("").map_err(|e| e.message),
            Err("time zone is empty".into())
        );
    }

    #[test]
    fn noon_in_new_york_across_spring_forward() {
        // 2024-03-10 is the US change: noon is 17:00Z before it and 16:00Z after.
        assert_eq!(
            upcoming("cron(0 12 * * ? *)", "2024-03-08T18:00:00Z", NY, 3),
            [
                "2024-03-09T17:00:00+00:00",
                "2024-03-10T16:00:00+00:00",
                "2024-03-11T16:00:00+00:00",
            ]
        );
    }

    #[test]
    fn missing_local_time_fires_at_end_of_gap() {
        // 02:30 does not exist on 2024-03-10 in New York; clocks jump 02:00 EST -> 03:00 EDT (07:00Z).
        assert_eq!(
            upcoming("cron(30 2 * * ? *)", "2024-03-09T12:00:00Z", NY, 3),
            [
                "2024-03-10T07:00:00+00:00",
                "2024-03-11T06:30:00+00:00",
                "2024-03-12T06:30:00+00:00",
            ]
        );
        // Several gap times collapse into one firing, then the schedule carries on.
        assert_eq!(
            upcoming("cron(0/30 2-3 * * ? *)", "2024-03-10T06:00:00Z", NY, 3),
            [
                "2024-03-10T07:00:00+00:00",
                "2024-03-10T07:30:00+00:00",
                "2024-03-11T06:00:00+00:00",
            ]
        );
        assert_eq!(
            next("at(2024-03-10T02:30:00)", "2024-01-01T00:00:00Z", NY),
            Some(utc("2024-03-10T07:00:00Z"))
        );
    }

    #[test]
    fn repeated_local_time_fires_once_at_earlier_instant() {
        // 01:30 happens twice on 2024-11-03 in New York: 05:30Z (EDT) and 06:30Z (EST).
        assert_eq!(
            upcoming("cron(30 1 * * ? *)", "2024-11-02T12:00:00Z", NY, 2),
            ["2024-11-03T05:30:00+00:00", "2024-11-04T06:30:00+00:00"]
        );
        // Starting inside the second pass of the hour does not repeat times already fired.
        assert_eq!(
            next("cron(0/15 * * * ? *)", "2024-11-03T06:20:00Z", NY),
            Some(utc("2024-11-03T07:00:00Z"))
        );
    }

    #[test]
    fn skipped_day_and_half_hour_shifts() {
        // Samoa skipped 2011-12-30 entirely (UTC-10 to UTC+14): its noon fires when the gap
        // ends, at midnight starting the 31st.
        assert_eq!(
            upcoming(
                "cron(0 12 * * ? *)",
                "2011-12-29T00:00:00Z",
                chrono_tz::Pacific::Apia,
                3
            ),
            [
                "2011-12-29T22:00:00+00:00",
                "2011-12-30T10:00:00+00:00",
                "2011-12-30T22:00:00+00:00",
            ]
        );
        // Lord Howe moves its clocks by 30 minutes: 02:00-02:29 on 2024-10-06 does not exist.
        assert_eq!(
            next(
                "cron(15 2 * * ? *)",
                "2024-10-05T12:00:00Z",
                chrono_tz::Australia::Lord_Howe
            ),
            Some(utc("2024-10-05T15:30:00Z"))
        );
    }

    #[test]
    fn local_resolution_never_goes_backwards() {
        for tz in [
            NY,
            chrono_tz::Australia::Lord_Howe,
            chrono_tz::Pacific::Apia,
        ] {
            let mut local = NaiveDate::from_ymd_opt(2011, 1, 1)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .expect("valid start");
            let mut previous: Option<DateTime<Utc>> = None;
            for _ in 0..(366 * 24 * 6) {
                let t = resolve_local(tz, local).expect("every local time resolves");
                // Never earlier than asked for: missing times move forward, not back.
                assert!(t.with_timezone(&tz).naive_local() >= local, "{tz} {local}");
                if let Some(p) = previous {
                    assert!(t >= p, "{tz}: {local} resolved to {t}, before {p}");
                }
                previous = Some(t);
                local += Duration::minutes(10);
            }
        }
    }

    #[test]
    fn every_fifteen_minutes() {
        assert_eq!(
            upcoming("cron(0/15 * * * ? *)", "2024-05-01T10:07:00Z", UTC, 4),
            [
                "2024-05-01T10:15:00+00:00",
                "2024-05-01T10:30:00+00:00",
                "2024-05-01T10:45:00+00:00",
                "2024-05-01T11:00:00+00:00",
            ]
        );
        // Strictly after: exactly on a fire time gives the next one.
        assert_eq!(
            next("cron(0/15 * * * ? *)", "2024-05-01T10:15:00Z", UTC),
            Some(utc("2024-05-01T10:30:00Z"))
        );
        assert_eq!(
            next("cron(5-30/10 * * * ? *)", "2024-05-01T10:26:00Z", UTC),
            Some(utc("2024-05-01T11:05:00Z"))
        );
    }

    #[test]
    fn weekdays_at_nine() {
        // 2024-05-03 is a Friday.
        assert_eq!(
            upcoming("cron(0 9 ? * MON-FRI *)", "2024-05-03T10:00:00Z", UTC, 2),
            ["2024-05-06T09:00:00+00:00", "2024-05-07T09:00:00+00:00"]
        );
        assert_eq!(
            next("cron(0 9 ? * MON-FRI *)", "2024-05-03T10:00:00Z", NY),
            Some(utc("2024-05-03T13:00:00Z"))
        );
    }

    #[test]
    fn last_day_of_month() {
        assert_eq!(
            upcoming("cron(0 0 L * ? *)", "2024-02-01T00:00:00Z", UTC, 3),
            [
                "2024-02-29T00:00:00+00:00",
                "2024-03-31T00:00:00+00:00",
                "2024-04-30T00:00:00+00:00",
            ]
        );
        // June 2024 ends on a Sunday.
        assert_eq!(
            next("cron(0 0 LW * ? *)", "2024-06-01T00:00:00Z", UTC),
            Some(utc("2024-06-28T00:00:00Z"))
        );
    }

    #[test]
    fn last_friday_and_second_tuesday() {
        assert_eq!(
            upcoming("cron(0 0 ? * 6L *)", "2024-05-01T00:00:00Z", UTC, 2),
            ["2024-05-31T00:00:00+00:00", "2024-06-28T00:00:00+00:00"]
        );
        assert_eq!(
            upcoming("cron(0 0 ? * 3#2 *)", "2024-05-01T00:00:00Z", UTC, 2),
            ["2024-05-14T00:00:00+00:00", "2024-06-11T00:00:00+00:00"]
        );
        // L alone in day-of-week is Saturday; 2024-05-04 is the first Saturday of May.
        assert_eq!(
            upcoming("cron(0 0 ? * L *)", "2024-05-01T00:00:00Z", UTC, 2),
            ["2024-05-04T00:00:00+00:00", "2024-05-11T00:00:00+00:00"]
        );
        // A fifth Monday only exists in some months: April 2024 has none, July does.
        assert_eq!(
            next("cron(0 0 ? * 2#5 *)", "2024-04-01T00:00:00Z", UTC),
            Some(utc("2024-04-29T00:00:00Z"))
        );
        assert_eq!(
            next("cron(0 0 ? * 2#5 *)", "2024-05-01T00:00:00Z", UTC),
            Some(utc("2024-07-29T00:00:00Z"))
        );
    }

    #[test]
    fn nearest_weekday() {
        // 2024-06-15 is a Saturday: Friday the 14th.
        assert_eq!(
            next("cron(0 0 15W * ? *)", "2024-06-01T00:00:00Z", UTC),
            Some(utc("2024-06-14T00:00:00Z"))
        );
        // 2024-09-15 is a Sunday: Monday the 16th.
        assert_eq!(
            next("cron(0 0 15W * ? *)", "2024-09-01T00:00:00Z", UTC),
            Some(utc("2024-09-16T00:00:00Z"))
        );
        // 2024-06-01 is a Saturday: the month is not left, so Monday the 3rd.
        assert_eq!(
            next("cron(0 0 1W * ? *)", "2024-05-31T12:00:00Z", UTC),
            Some(utc("2024-06-03T00:00:00Z"))
        );
        // 2024-03-31 is a Sunday: Friday the 29th. April has no 31st, so May 31 (a Friday) is next.
        assert_eq!(
            upcoming("cron(0 0 31W * ? *)", "2024-03-01T00:00:00Z", UTC, 2),
            ["2024-03-29T00:00:00+00:00", "2024-05-31T00:00:00+00:00"]
        );
    }

    #[test]
    fn impossible_or_exhausted_cron_returns_none_quickly() {
        for (expr, after) in [
            ("cron(0 0 30 2 ? *)", "2024-01-01T00:00:00Z"),
            ("cron(0 0 31 4,6,9,11 ? *)", "1970-01-01T00:00:00Z"),
            ("cron(0 0 ? 2 2#5 2023-2027)", "2021-01-01T00:00:00Z"),
            ("cron(0 0 1 * ? 2020-2025)", "2026-01-01T00:00:00Z"),
            ("cron(0 0 1 * ? *)", "2200-01-01T00:00:00Z"),
        ] {
            let started = Instant::now();
            assert_eq!(next(expr, after, NY), None, "{expr}");
            assert!(
                started.elapsed().as_secs_f64() < 2.0,
                "{expr} took {:?}",
                started.elapsed()
            );
        }
        // Feb 2024 has a fifth Thursday (29th), so the year list is not yet exhausted.
        assert_eq!(
            next("cron(0 0 ? 2 5#5 2023-2027)", "2021-01-01T00:00:00Z", UTC),
            Some(utc("2024-02-29T00:00:00Z"))
        );
        assert_eq!(
            next("cron(0 0 1 1 ? 2199)", "2100-06-01T00:00:00Z", UTC),
            Some(utc("2199-01-01T00:00:00Z"))
        );
        assert_eq!(
            next("cron(0 0 1 1 ? *)", "1900-06-01T00:00:00Z", UTC),
            Some(utc("1970-01-01T00:00:00Z"))
        );
    }

    #[test]
    fn rate_is_anchored_at_the_epoch() {
        assert_eq!(
            upcoming("rate(5 minutes)", "2024-01-01T00:01:30Z", NY, 3),
            [
                "2024-01-01T00:05:00+00:00",
                "2024-01-01T00:10:00+00:00",
                "2024-01-01T00:15:00+00:00",
            ]
        );
        assert_eq!(
            next("rate(5 minutes)", "2024-01-01T00:05:00Z", UTC),
            Some(utc("2024-01-01T00:10:00Z"))
        );
        assert_eq!(
            next("rate(1 day)", "2024-01-01T13:00:00Z", NY),
            Some(utc("2024-01-02T00:00:00Z"))
        );
        assert_eq!(
            next("rate(7 minutes)", "1969-12-31T23:59:00Z", UTC),
            Some(utc("1970-01-01T00:00:00Z"))
        );
        assert_eq!(parse("rate(2 hours)").every(), Some(Duration::hours(2)));
        assert_eq!(
            next_rate_after(
                Duration::zero(),
                DateTime::UNIX_EPOCH,
                utc("2024-01-01T00:00:00Z")
            ),
            None
        );
        let anchor = utc("2024-01-01T00:00:10Z");
        assert_eq!(
            next_rate_after(Duration::minutes(10), anchor, utc("2023-12-31T23:55:00Z")),
            Some(anchor)
        );
        assert_eq!(
            next_rate_after(Duration::minutes(10), anchor, utc("2024-01-01T00:00:10Z")),
            Some(utc("2024-01-01T00:10:10Z"))
        );
    }

    #[test]
    fn at_in_future_and_past() {
        assert_eq!(
            next("at(2030-01-31T09:30:00)", "2024-01-01T00:00:00Z", NY),
            Some(utc("2030-01-31T14:30:00Z"))
        );
        assert_eq!(
            upcoming("at(2030-01-31T09:30:00)", "2024-01-01T00:00:00Z", UTC, 5),
            ["2030-01-31T09:30:00+00:00"]
        );
        assert_eq!(
            next("at(2020-01-31T09:30:00)", "2024-01-01T00:00:00Z", UTC),
            None
        );
        // Strictly after: the fire instant itself is already past.
        assert_eq!(
            next("at(2030-01-31T09:30:00)", "2030-01-31T09:30:00Z", UTC),
            None
        );
    }

    #[test]
    fn upcoming_is_strictly_increasing() {
        for expr in [
            "cron(0/15 * * * ? *)",
            "cron(0 9 ? * MON-FRI *)",
            "cron(0 0 L * ? *)",
            "cron(30 1 * * ? *)",
            "cron(0/30 2-3 * * ? *)",
            "rate(5 minutes)",
        ] {
            let times = parse(expr).upcoming(utc("2024-03-09T00:00:00Z"), NY, 5);
            assert_eq!(times.len(), 5, "{expr}");
            assert!(times.windows(2).all(|w| w[0] < w[1]), "{expr}: {times:?}");
            assert!(times[0] > utc("2024-03-09T00:00:00Z"));
        }
        let times = parse("cron(30 1 * * ? *)").upcoming(utc("2024-10-30T00:00:00Z"), NY, 7);
        assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
    }

    #[test]
    fn serde_uses_canonical_text() {
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error as DeError, StrDeserializer};
        let de: StrDeserializer<'_, DeError> = " rate( 5  minutes) ".into_deserializer();
        let expr = ScheduleExpression::deserialize(de).map_err(|e| e.to_string());
        assert_eq!(expr, Ok(parse("rate(5 minutes)")));
        let de: StrDeserializer<'_, DeError> = "rate(5 minute)".into_deserializer();
        let err = ScheduleExpression::deserialize(de).map_err(|e| e.to_string());
        assert_eq!(
            err,
            Err("rate value 5 needs the plural unit \"minutes\", not \"minute\"".into())
        );
        assert_eq!(
            "cron(0 12 * * ? *)".parse::<ScheduleExpression>(),
            Ok(parse("cron(0 12 * * ? *)"))
        );
    }

    /// xorshift64: deterministic pseudo-randomness without a dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % n as u64).unwrap_or(0)
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len())]
        }
    }

    #[test]
    fn never_panics_on_grammar_soup() {
        // '|'-separated so the alphabet stays readable after rustfmt.
        let pieces: Vec<&str> = "rate(|cron(|at(|(|)| |  |\t|0|1|2|5|7|9|12|15|31|59|60|1970|2024|\
             2199|4294967296|99999999999999999999|*|?|/|-|,|L|W|LW|#|T|:|minute|minutes|hour|\
             days|JAN|feb|DEC|SUN|mon|FRI|SAT|é|日本|\u{0}|-1|+1|2024-03-10T02:30:00|\
             2024-02-30T00:00:00"
            .split('|')
            .collect();
        // Per-field pools, mostly valid, so that many generated crons parse.
        let field_pools: Vec<Vec<&str>> = [
            "*|0|5|59|*/5|0/15|5-30/10|1,3,5|0-59/7|60|x|é",
            "*|0|2|9|23|8-17|*/6|0,12|1-3|24|-1",
            "*|1|15|29|30|31|L|LW|15W|1W|31W|1-7|*/10|32|L,1|0W",
            "*|1|2|FEB|JAN-MAR|4,6,9,11|*/3|dec|13|JUN-JAN",
            "*|1|7|MON-FRI|L|6L|FRIL|3#2|2#5|5#5|sun,sat|8|1W|#",
            "*|2024|2199|1970-2199/7|2020-2030|2025/2|1970|1969|日本",
        ]
        .iter()
        .map(|pool| pool.split('|').collect())
        .collect();
        const ZONES: &[Tz] = &[
            chrono_tz::UTC,
            chrono_tz::America::New_York,
            chrono_tz::Europe::London,
            chrono_tz::Australia::Lord_Howe,
            chrono_tz::Pacific::Apia,
            chrono_tz::Asia::Kathmandu,
            chrono_tz::America::Sao_Paulo,
        ];
        const ROUNDS: usize = 6000;
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut parsed = 0;
        for round in 0..ROUNDS {
            let text = match round % 4 {
                0 => (0..rng.below(12))
                    .map(|_| rng.pick(&pieces))
                    .collect::<String>(),
                1 => {
                    // Mostly six fields with exactly one '?', so that many inputs parse
                    // and reach the evaluator.
                    let mut fields: Vec<&str> =
                        field_pools.iter().map(|pool| rng.pick(pool)).collect();
                    match rng.below(8) {
                        0 => {}
                        1..=3 => fields[2] = "?",
                        _ => fields[4] = "?",
                    }
                    match rng.below(10) {
                        0 => {
                            fields.pop();
                        }
                        1 => fields.push("*"),
                        _ => {}
                    }
                    format!("cron({})", fields.join(rng.pick(&[" ", "  "])))
                }
                2 => format!(
                    "rate({} {})",
                    rng.pick(&["1", "2", "5", "59", "1000000", "1000001", "0", "01", "x"]),
                    rng.pick(&["minute", "minutes", "hour", "hours", "day", "days", "week"])
                ),
                _ => format!(
                    "{}{} {}{}",
                    rng.pick(&["rate(", "at(", "cron("]),
                    rng.pick(&pieces),
                    rng.pick(&pieces),
                    rng.pick(&[")", "", ") x", "))"])
                ),
            };
            let Ok(expr) = ScheduleExpression::parse(&text) else {
                continue;
            };
            parsed += 1;
            assert_eq!(
                ScheduleExpression::parse(&expr.to_string()).as_ref(),
                Ok(&expr),
                "round trip of {text:?}"
            );
            let offset = i64::try_from(rng.next() % 9_000_000_000).unwrap_or(0) - 1_000_000_000;
            let Some(after) = DateTime::from_timestamp(offset, 0) else {
                continue;
            };
            let tz = ZONES[rng.below(ZONES.len())];
            let times = expr.upcoming(after, tz, 3);
            assert!(times.windows(2).all(|w| w[0] < w[1]), "{text:?}: {times:?}");
            assert!(times.iter().all(|t| *t > after), "{text:?}");
        }
        assert!(
            parsed > ROUNDS / 10,
            "only {parsed} inputs parsed; the generator is too noisy"
        );
    }

    #[test]
    fn quotes_stay_short_when_escaped() {
        // Plain text is cut at QUOTE_LIMIT characters, as before.
        let long = "x".repeat(QUOTE_LIMIT + 5);
        assert_eq!(quote(&long), format!("\"{}…\"", "x".repeat(QUOTE_LIMIT)));
        assert_eq!(
            quote(&long[..QUOTE_LIMIT]),
            format!("{:?}", &long[..QUOTE_LIMIT])
        );
        assert_eq!(quote("it's"), "\"it's\"");
        // Escapes count as shown: four `\u{10ffff}` fill the 40 characters.
        let wide = "\u{10ffff}".repeat(QUOTE_LIMIT);
        assert_eq!(quote(&wide), format!("\"{}…\"", "\\u{10ffff}".repeat(4)));
        let message = error(&format!("rate({wide})"));
        assert!(message.chars().count() < 120, "{message}");
    }

    #[test]
    fn the_shortest_gap_of_a_cron_is_its_closest_two_fires_not_only_a_rates() {
        let gap = |e: &str| parse(e).shortest_gap().map(|d| d.num_minutes());
        assert_eq!(gap("rate(5 minutes)"), Some(5));
        assert_eq!(gap("rate(2 hours)"), Some(120));
        assert_eq!(gap("cron(0/5 * * * ? *)"), Some(5));
        assert_eq!(gap("cron(*/5 * * * ? *)"), Some(5));
        assert_eq!(gap("cron(0,10,50 9 * * ? *)"), Some(10));
        assert_eq!(gap("cron(* 9 ? * MON *)"), Some(1));
        // 23:55 one day and 00:05 the next: ten minutes apart across midnight.
        assert_eq!(gap("cron(5,55 0,23 * * ? *)"), Some(10));
        // ...but not when the days are not consecutive (Mondays only).
        assert_eq!(gap("cron(5,55 0,23 ? * MON *)"), Some(50));
        // The last day of a month and the first of the next.
        assert_eq!(gap("cron(30 0,23 1,31 * ? *)"), Some(60));
        assert_eq!(gap("cron(30 0,23 1,15 * ? *)"), Some(23 * 60));
        assert_eq!(gap("cron(0 9 * * ? *)"), Some(24 * 60));
        assert_eq!(gap("cron(0 9 ? * MON-FRI *)"), Some(24 * 60));
        assert_eq!(gap("cron(0 9 ? * MON *)"), None);
        assert_eq!(gap("cron(0 9 1 1 ? 2030)"), None);
        assert_eq!(gap("at(2030-01-01T09:00:00)"), None);
        // Never closer than the fires themselves are.
        for e in [
            "cron(0/5 * * * ? *)",
            "cron(5,55 0,23 * * ? *)",
            "cron(30 0,23 1,31 * ? *)",
            "cron(0 9 ? * MON-FRI *)",
            "cron(15 8,12 ? * 2#1 *)",
        ] {
            let times = parse(e).upcoming(utc("2026-01-01T00:00:00Z"), UTC, 400);
            let seen = times.windows(2).map(|w| w[1] - w[0]).min().unwrap();
            let gap = parse(e).shortest_gap().unwrap();
            assert!(gap <= seen, "{e}: {gap} but fires {seen} apart");
        }
    }

    /// Property tests (proptest) that run as ordinary unit tests, a few hundred cases each.
    mod fuzz {
        use super::*;
        use chrono::Timelike;
        use proptest::prelude::*;
        use proptest::sample::select;

        /// Zones checked for every parsed expression: no DST, hour-long DST, 30-minute DST.
        const ZONES: [Tz; 3] = [
            chrono_tz::UTC,
            chrono_tz::America::New_York,
            chrono_tz::Australia::Lord_Howe,
        ];

        /// Upper bound on an error message, in characters: a fixed sentence (at most about
        /// 110 characters) plus at most two quotes of `QUOTE_LIMIT` shown characters, their
        /// quotation marks and a '…' each.
        const MAX_MESSAGE_CHARS: usize = 120 + 2 * (QUOTE_LIMIT + 3);

        fn config() -> ProptestConfig {
            ProptestConfig {
                cases: 384,
                failure_persistence: None,
                ..ProptestConfig::default()
            }
        }

        fn owned(items: &[&'static str]) -> BoxedStrategy<String> {
            select(items.to_vec()).prop_map(String::from).boxed()
        }

        /// An instant between 1938 and 2207, with a random sub-second part.
        fn instant() -> impl Strategy<Value = DateTime<Utc>> {
            (-1_000_000_000_i64..7_500_000_000, 0_u32..1_000_000_000)
                .prop_filter_map("in chrono's range", |(secs, nanos)| {
                    DateTime::from_timestamp(secs, nanos)
                })
        }

        /// Whitespace of every kind the parser might meet, possibly none.
        fn space() -> impl Strategy<Value = String> {
            prop_oneof![
                4 => Just(String::new()),
                4 => Just(" ".to_string()),
                2 => "[ \t\n\r\u{a0}\u{2003}\u{3000}\u{b}\u{c}]{1,4}",
            ]
        }

        /// Numbers valid and not: zero, negative, huge, long digit runs, other notations.
        fn number() -> BoxedStrategy<String> {
            prop_oneof![
                3 => (0_u32..100).prop_map(|n| n.to_string()),
                1 => (1900_u32..2300).prop_map(|n| n.to_string()),
                1 => any::<u32>().prop_map(|n| n.to_string()),
                1 => any::<u64>().prop_map(|n| n.to_string()),
                1 => any::<i64>().prop_map(|n| n.to_string()),
                1 => "[0-9]{1,80}",
                1 => owned(&[
                    "0", "00", "007", "-0", "-1", "+1", "1.5", "1e3", "0x10", "1_000",
                    "1000000", "1000001", "4294967295", "4294967296",
                    "18446744073709551616", "\u{663}", "\u{ff11}",
                ]),
            ]
            .boxed()
        }

        fn rate_unit() -> BoxedStrategy<String> {
            owned(&[
                "minute", "minutes", "hour", "hours", "day", "days", "Minutes", "MINUTE", "minuts",
                "min", "mins", "hr", "hrs", "week", "weeks", "dayss", "s", "", "minute,",
                "minutes)",
            ])
        }

        fn prefix() -> BoxedStrategy<String> {
            owned(&[
                "rate(", "cron(", "at(", "rate (", "cron\t(", "RATE(", "Cron(", "rate", "cron",
                "at", "(", "", "every(", "rate((", "é(",
            ])
        }

        fn suffix() -> BoxedStrategy<String> {
            owned(&[")", ")", ")", "", "))", ") x", ")(", ")\n", " )", ")\u{0}"])
        }

        /// `rate(value unit)` with each part possibly wrong.
        fn near_rate() -> impl Strategy<Value = String> {
            // Mostly a valid value with the unit in the matching number, so many inputs parse.
            let valid = (
                prop_oneof![1 => Just(1_u32), 2 => 2_u32..=MAX_RATE_VALUE],
                select(vec![RateUnit::Minutes, RateUnit::Hours, RateUnit::Days]),
            )
                .prop_map(|(v, u)| (v.to_string(), u.word_for(v).to_string()));
            (
                prop_oneof![4 => Just("rate(".to_string()), 1 => prefix()],
                space(),
                prop_oneof![1 => valid, 1 => (number(), rate_unit())],
                prop_oneof![4 => Just(" ".to_string()), 1 => space()],
                space(),
                prop_oneof![4 => Just(")".to_string()), 1 => suffix()],
            )
                .prop_map(|(p, s1, (n, u), s2, s3, e)| format!("{p}{s1}{n}{s2}{u}{s3}{e}"))
        }

        /// `at(yyyy-mm-ddThh:mm:ss)` with out-of-range parts and wrong separators.
        fn near_at() -> impl Strategy<Value = String> {
            let part = |range: std::ops::Range<u32>, width: usize| {
                prop_oneof![
                    6 => range.prop_map(move |n| format!("{n:0width$}")),
                    1 => number(),
                ]
            };
            (
                (part(1960..2210, 4), part(0..14, 2), part(0..33, 2)),
                (part(0..26, 2), part(0..62, 2), part(0..62, 2)),
                prop_oneof![8 => Just("-"), 1 => Just("/"), 1 => Just("")],
                prop_oneof![8 => Just("T"), 1 => Just(" "), 1 => Just("t")],
                space(),
                prop_oneof![8 => Just(")".to_string()), 1 => suffix()],
            )
                .prop_map(|((y, mo, d), (h, mi, s), dash, t, sp, end)| {
                    format!("at({sp}{y}{dash}{mo}{dash}{d}{t}{h}:{mi}:{s}{sp}{end}")
                })
        }

        /// One item of a cron list built from all of the syntax, valid or not.
        fn cron_junk_field() -> impl Strategy<Value = String> {
            let atom = prop_oneof![
                owned(&[
                    "*", "?", "L", "W", "LW", "l", "w", "#", "-", "/", ",", "MON", "FRI", "SUN",
                    "SAT", "mon", "JAN", "dec", "MONDAY", "JANUARY", "MON-FRI", "JAN-MAR", "FRIL",
                    "TUE#2", "15W", "6L", "3#2", "", "日本", "\u{0}",
                ]),
                number(),
            ];
            let sep = owned(&["", "", "-", "/", ",", "#", "L", "W"]);
            prop::collection::vec((atom, sep), 1..4)
                .prop_map(|parts| parts.into_iter().map(|(a, s)| a + &s).collect::<String>())
        }

        /// A syntactically valid list for a plain field (values, names, ranges, steps).
        fn cron_list(min: u32, max: u32, names: &'static [&'static str]) -> BoxedStrategy<String> {
            let value = if names.is_empty() {
                (min..=max).prop_map(|v| v.to_string()).boxed()
            } else {
                prop_oneof![
                    (min..=max).prop_map(|v| v.to_string()),
                    select(names.to_vec()).prop_map(String::from),
                ]
                .boxed()
            };
            let item = prop_oneof![
                2 => Just("*".to_string()),
                4 => value.clone(),
                2 => (value.clone(), value.clone()).prop_map(|(a, b)| format!("{a}-{b}")),
                1 => (value.clone(), 1_u32..80).prop_map(|(a, s)| format!("{a}/{s}")),
                1 => (1_u32..80).prop_map(|s| format!("*/{s}")),
                1 => (value.clone(), value, 1_u32..30)
                    .prop_map(|(a, b, s)| format!("{a}-{b}/{s}")),
            ];
            prop::collection::vec(item, 1..3)
                .prop_map(|items| items.join(","))
                .boxed()
        }

        fn day_of_month() -> BoxedStrategy<String> {
            prop_oneof![
                4 => cron_list(1, 31, &[]),
                1 => owned(&["L", "LW", "lw"]),
                1 => (0_u32..34).prop_map(|d| format!("{d}W")),
            ]
            .boxed()
        }

        fn day_of_week() -> BoxedStrategy<String> {
            let name = select(DAY_OF_WEEK.names.to_vec()).prop_map(String::from);
            let day = prop_oneof![(0_u32..9).prop_map(|d| d.to_string()), name];
            prop_oneof![
                4 => cron_list(1, 7, DAY_OF_WEEK.names),
                1 => Just("L".to_string()),
                1 => day.clone().prop_map(|d| format!("{d}L")),
                1 => (day, 0_u32..7).prop_map(|(d, n)| format!("{d}#{n}")),
            ]
            .boxed()
        }

        /// Six mostly valid cron fields with exactly one `?`, then sometimes broken: a field
        /// dropped, added or replaced by junk, or the other day field also set or `?`.
        fn near_cron() -> impl Strategy<Value = String> {
            let fields = (
                cron_list(0, 59, &[]),
                cron_list(0, 23, &[]),
                day_of_month(),
                cron_list(1, 12, MONTH.names),
                day_of_week(),
                prop_oneof![
                    3 => Just("*".to_string()),
                    2 => cron_list(1965, 2205, &[]),
                ],
            );
            (
                fields,
                0_u8..12,
                (0_usize..6, cron_junk_field()),
                prop::collection::vec(space(), 7),
                prop_oneof![8 => Just(")".to_string()), 1 => suffix()],
            )
                .prop_map(
                    |((mi, h, dom, mo, dow, y), shape, (at, junk), spaces, end)| {
                        let mut fields = vec![mi, h, dom, mo, dow, y];
                        match shape {
                            0..=4 => fields[2] = "?".to_string(),
                            5..=8 => fields[4] = "?".to_string(),
                            9 => {
                                fields.remove(at);
                            }
                            10 => fields.insert(at, junk),
                            _ => fields[at] = junk,
                        }
                        let mut text = format!("cron({}", spaces[0]);
                        for (i, field) in fields.iter().enumerate() {
                            if i > 0 {
                                // Fields need at least one separating space.
                                text.push(' ');
                                text.push_str(&spaces[i % 6 + 1]);
                            }
                            text.push_str(field);
                        }
                        text.push_str(&spaces[6]);
                        text.push_str(&end);
                        text
                    },
                )
        }

        /// Fragments of the grammar glued together at random.
        fn soup() -> impl Strategy<Value = String> {
            let fragment = prop_oneof![
                prefix(),
                suffix(),
                number(),
                rate_unit(),
                cron_junk_field(),
                space(),
                owned(&["T", ":", "-", "2024-03-10T02:30:00", "2024-02-30T00:00:00"]),
            ];
            prop::collection::vec(fragment, 0..14).prop_map(|parts| parts.concat())
        }

        /// Anything at all: arbitrary Unicode (control characters included) and long digit runs.
        fn arbitrary_text() -> impl Strategy<Value = String> {
            let chars = |len: std::ops::Range<usize>| {
                prop::collection::vec(any::<char>(), len)
                    .prop_map(|chars| chars.into_iter().collect::<String>())
            };
            // Characters that an error message must escape, some into ten characters.
            let awkward_char = || {
                select(vec![
                    '\u{0}',
                    '\n',
                    '\u{1b}',
                    '\u{7f}',
                    '\u{85}',
                    '\u{200b}',
                    '\u{2028}',
                    '\u{feff}',
                    '\u{e0080}',
                    '\u{10ffff}',
                    '"',
                    '\\',
                    '\'',
                    '\u{301}',
                ])
            };
            let awkward = prop_oneof![
                prop::collection::vec(prop_oneof![1 => any::<char>(), 2 => awkward_char()], 30..90)
                    .prop_map(|chars| chars.into_iter().collect::<String>()),
                // One character repeated past the quote limit: the widest escapes in a row.
                (awkward_char(), 35_usize..70).prop_map(|(c, n)| c.to_string().repeat(n)),
            ];
            prop_oneof![
                any::<String>(),
                chars(0..120),
                (prefix(), "[0-9]{30,400}", space(), rate_unit(), suffix())
                    .prop_map(|(p, d, s, u, e)| format!("{p}{d}{s}{u}{e}")),
                (prefix(), chars(0..120), suffix()).prop_map(|(p, c, e)| format!("{p}{c}{e}")),
                (prefix(), awkward, prop::option::of(rate_unit()), suffix())
                    .prop_map(|(p, a, unit, e)| format!("{p}{a} {}{e}", unit.unwrap_or_default())),
            ]
        }

        fn check_message(message: &str, input: &str) -> Result<(), TestCaseError> {
            prop_assert!(!message.is_empty(), "empty message for {:?}", input);
            prop_assert!(
                !message
                    .chars()
                    .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')),
                "message for {:?} is not a single clean line: {:?}",
                input,
                message
            );
            prop_assert!(
                message.chars().count() < MAX_MESSAGE_CHARS,
                "message for {:?} is {} characters long: {:?}",
                input,
                message.chars().count(),
                message
            );
            Ok(())
        }

        /// The properties every input must satisfy, whether it parses or not.
        fn check_input(input: &str, now: DateTime<Utc>) -> Result<(), TestCaseError> {
            let expr = match ScheduleExpression::parse(input) {
                Ok(expr) => expr,
                Err(e) => {
                    prop_assert_eq!(e.to_string(), e.message.clone());
                    return check_message(&e.message, input);
                }
            };
            let canonical = expr.to_string();
            let reparsed = ScheduleExpression::parse(&canonical);
            prop_assert_eq!(
                reparsed.as_ref(),
                Ok(&expr),
                "{:?} printed as {:?}",
                input,
                canonical
            );
            for tz in ZONES {
                let first = expr.next_after(now, tz);
                let times = expr.upcoming(now, tz, 5);
                prop_assert_eq!(times.first().copied(), first, "{} in {}", canonical, tz);
                prop_assert!(
                    times.iter().all(|t| *t > now),
                    "{} in {} after {}: {:?}",
                    canonical,
                    tz,
                    now,
                    times
                );
                prop_assert!(
                    times.windows(2).all(|w| w[0] < w[1]),
                    "{} in {} after {}: {:?}",
                    canonical,
                    tz,
                    now,
                    times
                );
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(config())]

            #[test]
            fn fuzz_parse_arbitrary_text_never_panics(input in arbitrary_text(), now in instant()) {
                check_input(&input, now)?;
            }

            #[test]
            fn fuzz_parse_never_panics_and_round_trips(
                input in prop_oneof![1 => near_rate(), 1 => near_at(), 3 => near_cron(), 1 => soup()],
                now in instant(),
            ) {
                check_input(&input, now)?;
            }

            #[test]
            fn fuzz_parse_timezone_never_panics(
                input in prop_oneof![
                    any::<String>(),
                    prop::collection::vec(any::<char>(), 0..80)
                        .prop_map(|chars| chars.into_iter().collect::<String>()),
                    owned(&[
                        "UTC", "utc", " Europe/London ", "Europe/london", "America/New_York",
                        "Australia/Lord_Howe", "Etc/GMT+5", "GMT", "EST5EDT", "Mars/Olympus",
                        "/", "Europe/", "../../etc/passwd",
                    ]),
                ]
            ) {
                match parse_timezone(&input) {
                    Ok(tz) => prop_assert_eq!(parse_timezone(tz.name()), Ok(tz)),
                    Err(e) => check_message(&e.message, &input)?,
                }
            }

            #[test]
            fn fuzz_rate_fires_exactly_every_interval(
                value in 1_u32..=1000,
                unit in select(vec![RateUnit::Minutes, RateUnit::Hours, RateUnit::Days]),
                padding in space(),
                now in instant(),
            ) {
                let text = format!("rate({padding}{value} {}{padding})", unit.word_for(value));
                let expr = ScheduleExpression::parse(&text)
                    .map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
                prop_assert_eq!(&expr, &ScheduleExpression::Rate { value, unit });
                let step = Duration::minutes(i64::from(value) * unit.minutes());
                prop_assert_eq!(expr.every(), Some(step));
                for tz in ZONES {
                    let times = expr.upcoming(now, tz, 5);
                    prop_assert_eq!(times.len(), 5);
                    prop_assert!(times[0] > now && times[0] - now <= step, "{} after {}: {:?}", text, now, times);
                    // Anchored at the epoch: every fire time is a whole number of steps from it.
                    prop_assert_eq!(times[0].timestamp().rem_euclid(step.num_seconds()), 0);
                    prop_assert_eq!(times[0].timestamp_subsec_nanos(), 0);
                    for pair in times.windows(2) {
                        prop_assert_eq!(pair[1] - pair[0], step, "{}: {:?}", text, times);
                    }
                }
            }

            #[test]
            fn fuzz_cron_fires_at_its_minute_and_hour(
                minute in 0_u32..60,
                hour in 0_u32..24,
                // 1970 to 2190, so five daily fire times always fit before the end of 2199.
                secs in 0_i64..6_900_000_000,
                nanos in 0_u32..1_000_000_000,
            ) {
                let text = format!("cron({minute} {hour} * * ? *)");
                let expr = ScheduleExpression::parse(&text)
                    .map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
                let now = DateTime::from_timestamp(secs, nanos)
                    .ok_or_else(|| TestCaseError::reject("out of range"))?;
                let times = expr.upcoming(now, UTC, 5);
                prop_assert_eq!(times.len(), 5);
                prop_assert!(times[0] > now && times[0] - now <= Duration::days(1), "{} after {}: {:?}", text, now, times);
                for t in &times {
                    prop_assert_eq!((t.hour(), t.minute(), t.second(), t.nanosecond()), (hour, minute, 0, 0), "{}: {}", text, t);
                }
                for pair in times.windows(2) {
                    prop_assert_eq!(pair[1] - pair[0], Duration::days(1), "{}: {:?}", text, times);
                }
            }
        }
    }
}
