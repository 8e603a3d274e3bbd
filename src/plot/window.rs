//! Time windows, time zones and aggregation-interval math of the Plots view.
//!
//! All times are epoch milliseconds (`i64`). Every function is total: no input panics or
//! overflows (arithmetic saturates, zero or negative spans are allowed).
//!
//! **Time windows.** A [`TimeWindow::Realtime`] window is the last `last_ms` up to now; it is
//! sent as a `tsCmd` with `startTs = now - last` and `timeWindow = last`, fetched once and then
//! followed. [`TimeWindow::Fixed`] and [`TimeWindow::Relative`] windows are sent as one-shot
//! `historyCmd`s. Relative windows ("yesterday", "last week") are whole calendar units in the
//! display [`Zone`], so a day is 23 h or 25 h long on the days the clocks change; weeks start
//! on Monday (ISO 8601), and "today" is the whole day, up to the coming midnight.
//!
//! **Time zones.** A [`Zone`] is UTC, the system zone, or a named IANA zone. Named zones come
//! from the tz database bundled into the binary (or the system's, when it has one), so they
//! work on machines without `/usr/share/zoneinfo`. A local time that does not exist (skipped
//! by a spring-forward) or exists twice (a fall-back) resolves like `jiff`'s "compatible"
//! disambiguation: a skipped time moves forward by the gap, a repeated one takes the first
//! occurrence. Instants beyond the years -9999..=9999 are shown as the nearest one inside.
//!
//! **Aggregation intervals.** With an aggregation other than NONE, the server refuses a command
//! (and closes the socket) when `interval < 1` or when
//! `(endTs - startTs) / max(interval, 1000) > 700` (`database.ts_max_intervals`), in integer
//! division. [`interval_count`] is exactly that formula. Intervals here are whole seconds,
//! at least 1 s and at least [`min_interval`], the smallest one the server accepts. The default
//! is the window / 200 (as in the ThingsBoard web UI), never below that floor. Aggregated points
//! lie on a grid of intervals anchored at `startTs` (see [`interval_start`]).

use jiff::Timestamp;
use std::fmt::Write as _;

use jiff::ToSpan;
use jiff::civil::{Date, DateTime};
use jiff::tz::{Offset, TimeZone};

use crate::protocol::Aggregation;
use crate::settings::TimeZonePref;

/// One second.
pub const SECOND_MS: i64 = 1_000;
/// One minute.
pub const MINUTE_MS: i64 = 60 * SECOND_MS;
/// One hour.
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
/// One day of 24 hours (calendar days may be 23 h or 25 h long; see [`Relative`]).
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// The server's `database.ts_max_intervals`.
pub const MAX_INTERVALS: i64 = 700;

/// Realtime "last N" choices: 1, 5, 10, 15, 30 min, 1, 2, 5, 10, 12 h, 1, 7, 30 days.
pub const REALTIME_CHOICES: [i64; 13] = [
    MINUTE_MS,
    5 * MINUTE_MS,
    10 * MINUTE_MS,
    15 * MINUTE_MS,
    30 * MINUTE_MS,
    HOUR_MS,
    2 * HOUR_MS,
    5 * HOUR_MS,
    10 * HOUR_MS,
    12 * HOUR_MS,
    DAY_MS,
    7 * DAY_MS,
    30 * DAY_MS,
];

/// Aggregation interval choices: 1, 5, 10, 15, 30 s, 1, 2, 5, 10, 15, 30 min, 1, 2, 5, 10, 12 h,
/// 1, 7, 30 days.
pub const INTERVAL_CHOICES: [i64; 19] = [
    SECOND_MS,
    5 * SECOND_MS,
    10 * SECOND_MS,
    15 * SECOND_MS,
    30 * SECOND_MS,
    MINUTE_MS,
    2 * MINUTE_MS,
    5 * MINUTE_MS,
    10 * MINUTE_MS,
    15 * MINUTE_MS,
    30 * MINUTE_MS,
    HOUR_MS,
    2 * HOUR_MS,
    5 * HOUR_MS,
    10 * HOUR_MS,
    12 * HOUR_MS,
    DAY_MS,
    7 * DAY_MS,
    30 * DAY_MS,
];

/// Short month names for axis ticks.
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The instant `ms`, clamped to the range `jiff` represents (years -9999..=9999).
fn timestamp(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// A time zone for display, parsing and calendar ranges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    tz: TimeZone,
    /// The system zone (labelled "local time").
    local: bool,
}

impl Zone {
    /// Coordinated Universal Time.
    #[must_use]
    pub fn utc() -> Zone {
        Zone {
            tz: TimeZone::UTC,
            local: false,
        }
    }

    /// The system's time zone (`TZ`, `/etc/localtime`, …); UTC if it cannot be found.
    #[must_use]
    pub fn local() -> Zone {
        Zone {
            tz: TimeZone::try_system().unwrap_or(TimeZone::UTC),
            local: true,
        }
    }

    /// The IANA zone `iana`, e.g. `"Europe/Berlin"` (case-insensitive).
    ///
    /// # Errors
    /// A message naming `iana` when the tz database has no such zone.
    pub fn named(iana: &str) -> Result<Zone, String> {
        let name = iana.trim();
        TimeZone::get(name)
            .map(|tz| Zone { tz, local: false })
            .map_err(|_| {
                format!("unknown time zone \"{name}\" (expected an IANA name like Europe/Berlin)")
            })
    }

    /// The zone a settings choice stands for.
    #[must_use]
    pub fn from_pref(pref: TimeZonePref) -> Zone {
        match pref {
            TimeZonePref::Local => Zone::local(),
            TimeZonePref::Utc => Zone::utc(),
        }
    }

    /// `"UTC"`, `"Europe/Berlin"`, or for the system zone `"local time (Europe/Berlin)"`
    /// (`"local time"` when the system zone has no name).
    #[must_use]
    pub fn label(&self) -> String {
        match (self.local, self.tz.iana_name()) {
            (true, Some(name)) => format!("local time ({name})"),
            (true, None) => "local time".to_owned(),
            (false, Some(name)) => name.to_owned(),
            (false, None) => "UTC".to_owned(),
        }
    }

    /// The IANA name, for the protocol's `timeZoneId` (`"UTC"` for UTC; `None` for a system
    /// zone given only as rules).
    #[must_use]
    pub fn iana_name(&self) -> Option<String> {
        self.tz.iana_name().map(str::to_owned)
    }

    /// The wall-clock date and time of `ms` in this zone.
    fn civil(&self, ms: i64) -> DateTime {
        self.tz.to_datetime(timestamp(ms))
    }

    /// `"2026-11-30 14:02:05.123"` in this zone.
    #[must_use]
    pub fn format(&self, ms: i64) -> String {
        let dt = self.civil(ms);
        format!(
            "{} {}.{:03}",
            date_text(dt),
            seconds_text(dt),
            dt.millisecond()
        )
    }

    /// ISO 8601 / RFC 3339 with the zone's offset: `"2026-11-30T14:02:05.123+01:00"`
    /// (`"+00:00"` in UTC). Offsets with seconds (local mean time before ~1900) are cut to
    /// whole minutes, and the time shown follows the offset written.
    #[must_use]
    pub fn format_iso(&self, ms: i64) -> String {
        let ts = timestamp(ms);
        let minutes = self.tz.to_offset(ts).seconds() / 60;
        let offset = Offset::from_seconds(minutes * 60).unwrap_or(Offset::UTC);
        let dt = offset.to_datetime(ts);
        let sign = if minutes < 0 { '-' } else { '+' };
        let (hours, minutes) = (minutes.abs() / 60, minutes.abs() % 60);
        format!(
            "{}T{}.{:03}{sign}{hours:02}:{minutes:02}",
            date_text(dt),
            seconds_text(dt),
            dt.millisecond()
        )
    }

    /// An axis tick label suited to the distance between ticks: `"14:02:05.120"` below 1 s,
    /// `"14:02:05"` below 1 min, `"14:02"` below 1 day (but `"Nov 30"` at local midnight),
    /// `"Nov 30"` below 28 days and `"Nov 2026"` beyond.
    #[must_use]
    pub fn format_tick(&self, ms: i64, step_ms: i64) -> String {
        let dt = self.civil(ms);
        let month = month_name(dt);
        if step_ms < SECOND_MS {
            format!("{}.{:03}", seconds_text(dt), dt.millisecond())
        } else if step_ms < MINUTE_MS {
            seconds_text(dt)
        } else if step_ms < DAY_MS && self.start_of_day(ms) != ms {
            format!("{:02}:{:02}", dt.hour(), dt.minute())
        } else if step_ms < 28 * DAY_MS {
            format!("{month} {}", dt.day())
        } else {
            format!("{month} {}", dt.year())
        }
    }

    /// `"2026-11-29 10:00"`: minutes, with seconds and milliseconds only when not zero.
    fn format_short(&self, ms: i64) -> String {
        let dt = self.civil(ms);
        let mut text = format!("{} {:02}:{:02}", date_text(dt), dt.hour(), dt.minute());
        if dt.second() != 0 || dt.millisecond() != 0 {
            let _ = write!(text, ":{:02}", dt.second());
        }
        if dt.millisecond() != 0 {
            let _ = write!(text, ".{:03}", dt.millisecond());
        }
        text
    }

    /// Reads a date and time in this zone: `"2026-11-30 14:02"`, `"2026-11-30 14:02:05"`,
    /// `"2026-11-30 14:02:05.250"`, `"2026-11-30"` (midnight), the same with `T` in place of
    /// the space, or RFC 3339 with an offset or `Z` (then this zone is not used). A local time
    /// that does not exist or exists twice (DST) resolves like `jiff`'s "compatible"
    /// disambiguation. Sub-millisecond digits are cut.
    ///
    /// # Errors
    /// A message quoting the text and showing the accepted forms.
    pub fn parse(&self, text: &str) -> Result<i64, String> {
        const FORMS: &str =
            "write it like 2026-11-30 14:02:05, 2026-11-30 or 2026-11-30T14:02:05+01:00";
        let text = text.trim();
        if text.is_empty() {
            return Err(format!("no date and time given; {FORMS}"));
        }
        if let Ok(ts) = text.parse::<Timestamp>() {
            return Ok(ts.as_millisecond());
        }
        let dt = text
            .parse::<DateTime>()
            .map_err(|err| format!("cannot read \"{text}\" as a date and time ({err}); {FORMS}"))?;
        self.tz
            .to_timestamp(dt)
            .map(Timestamp::as_millisecond)
            .map_err(|err| format!("\"{text}\" is out of the supported range of dates ({err})"))
    }

    /// The local midnight of the day containing `ms` (the first instant of that day when a
    /// DST change skips midnight).
    #[must_use]
    pub fn start_of_day(&self, ms: i64) -> i64 {
        self.day_start(self.civil(ms).date())
    }

    /// The zone's offset from UTC at `ms`, in milliseconds (positive east of Greenwich).
    #[must_use]
    pub fn offset_ms(&self, ms: i64) -> i64 {
        i64::from(self.tz.to_offset(timestamp(ms)).seconds()) * 1_000
    }

    /// The first instant of `date` in this zone, clamped to the representable range.
    fn day_start(&self, date: Date) -> i64 {
        self.tz.to_timestamp(DateTime::from(date)).map_or_else(
            |_| timestamp(if date.year() < 0 { i64::MIN } else { i64::MAX }).as_millisecond(),
            Timestamp::as_millisecond,
        )
    }
}

/// `"2026-11-30"`.
fn date_text(dt: DateTime) -> String {
    format!("{:04}-{:02}-{:02}", dt.year(), dt.month(), dt.day())
}

/// `"14:02:05"`.
fn seconds_text(dt: DateTime) -> String {
    format!("{:02}:{:02}:{:02}", dt.hour(), dt.minute(), dt.second())
}

/// `"Nov"`.
fn month_name(dt: DateTime) -> &'static str {
    usize::try_from(dt.month())
        .ok()
        .and_then(|month| MONTHS.get(month.wrapping_sub(1)))
        .copied()
        .unwrap_or("?")
}

/// History ranges relative to now, in the display zone. Weeks start on Monday (ISO).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Relative {
    /// The whole of today, up to the coming midnight.
    Today,
    /// The whole of yesterday.
    Yesterday,
    /// The whole day before yesterday.
    DayBeforeYesterday,
    /// This week, Monday to Sunday.
    ThisWeek,
    /// Last week, Monday to Sunday.
    LastWeek,
    /// The whole of this month.
    ThisMonth,
    /// The whole of last month.
    LastMonth,
    /// The whole of this year.
    ThisYear,
    /// The whole of last year.
    LastYear,
}

impl Relative {
    /// Every choice, in menu order.
    pub const ALL: [Relative; 9] = [
        Relative::Today,
        Relative::Yesterday,
        Relative::DayBeforeYesterday,
        Relative::ThisWeek,
        Relative::LastWeek,
        Relative::ThisMonth,
        Relative::LastMonth,
        Relative::ThisYear,
        Relative::LastYear,
    ];

    /// The menu label.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Relative::Today => "Today",
            Relative::Yesterday => "Yesterday",
            Relative::DayBeforeYesterday => "Day before yesterday",
            Relative::ThisWeek => "This week",
            Relative::LastWeek => "Last week",
            Relative::ThisMonth => "This month",
            Relative::LastMonth => "Last month",
            Relative::ThisYear => "This year",
            Relative::LastYear => "Last year",
        }
    }

    /// The calendar range containing (or before) `now_ms` in `zone`.
    fn resolve(self, now_ms: i64, zone: &Zone) -> Span {
        let today = zone.civil(now_ms).date();
        let monday =
            today.saturating_sub(i64::from(today.weekday().to_monday_zero_offset()).days());
        let month = today.first_of_month();
        let year = today.first_of_year();
        let (start, end) = match self {
            Relative::Today => (today, today.saturating_add(1.day())),
            Relative::Yesterday => (today.saturating_sub(1.day()), today),
            Relative::DayBeforeYesterday => (
                today.saturating_sub(2.days()),
                today.saturating_sub(1.day()),
            ),
            Relative::ThisWeek => (monday, monday.saturating_add(1.week())),
            Relative::LastWeek => (monday.saturating_sub(1.week()), monday),
            Relative::ThisMonth => (month, month.saturating_add(1.month())),
            Relative::LastMonth => (month.saturating_sub(1.month()), month),
            Relative::ThisYear => (year, year.saturating_add(1.year())),
            Relative::LastYear => (year.saturating_sub(1.year()), year),
        };
        Span::new(zone.day_start(start), zone.day_start(end))
    }
}

/// A resolved time range [`start_ms`, `end_ms`) (`end_ms >= start_ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// The first instant.
    pub start_ms: i64,
    /// The end, excluded.
    pub end_ms: i64,
}

impl Span {
    /// The range between `a` and `b`, in either order.
    #[must_use]
    pub fn new(a: i64, b: i64) -> Span {
        Span {
            start_ms: a.min(b),
            end_ms: a.max(b),
        }
    }

    /// The length (saturating).
    #[must_use]
    pub fn len_ms(&self) -> i64 {
        self.end_ms.saturating_sub(self.start_ms)
    }

    /// Whether `ms` lies in [`start_ms`, `end_ms`).
    #[must_use]
    pub fn contains(&self, ms: i64) -> bool {
        (self.start_ms..self.end_ms).contains(&ms)
    }
}

/// The time window of the Plots view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TimeWindow {
    /// The last `last_ms`, following now (tsCmd: fetched, then subscribed).
    Realtime {
        /// The length of the window.
        last_ms: i64,
    },
    /// A fixed range (historyCmd: fetched once).
    Fixed {
        /// The start.
        start_ms: i64,
        /// The end.
        end_ms: i64,
    },
    /// A calendar range relative to now (historyCmd), e.g. yesterday: whole calendar units
    /// (today = the whole day).
    Relative(Relative),
}

impl Default for TimeWindow {
    /// The last hour.
    fn default() -> Self {
        TimeWindow::Realtime { last_ms: HOUR_MS }
    }
}

impl TimeWindow {
    /// Whether the window follows now.
    #[must_use]
    pub fn is_realtime(&self) -> bool {
        matches!(self, TimeWindow::Realtime { .. })
    }

    /// The range the window covers at `now_ms`: realtime `[now - last, now]` (a negative
    /// `last` counts as 0), fixed ranges ordered, relative ones by calendar in `zone`.
    #[must_use]
    pub fn resolve(&self, now_ms: i64, zone: &Zone) -> Span {
        match *self {
            TimeWindow::Realtime { last_ms } => Span {
                start_ms: now_ms.saturating_sub(last_ms.max(0)),
                end_ms: now_ms,
            },
            TimeWindow::Fixed { start_ms, end_ms } => Span::new(start_ms, end_ms),
            TimeWindow::Relative(relative) => relative.resolve(now_ms, zone),
        }
    }

    /// `"Last 1 hour"`, `"Yesterday"`, `"2026-11-29 10:00 – 2026-11-29 12:00"`.
    #[must_use]
    pub fn label(&self, zone: &Zone) -> String {
        match *self {
            TimeWindow::Realtime { last_ms } => format!("Last {}", format_duration(last_ms)),
            TimeWindow::Fixed { start_ms, end_ms } => {
                let span = Span::new(start_ms, end_ms);
                format!(
                    "{} – {}",
                    zone.format_short(span.start_ms),
                    zone.format_short(span.end_ms)
                )
            }
            TimeWindow::Relative(relative) => relative.label().to_owned(),
        }
    }
}

/// A duration in the largest unit that divides it exactly: `"1 min"`, `"5 min"`, `"1 hour"`,
/// `"2 hours"`, `"7 days"`, `"90 s"`, `"1500 ms"`; zero or negative is `"0 s"`.
#[must_use]
pub fn format_duration(ms: i64) -> String {
    const UNITS: [(i64, &str, &str); 4] = [
        (DAY_MS, "day", "days"),
        (HOUR_MS, "hour", "hours"),
        (MINUTE_MS, "min", "min"),
        (SECOND_MS, "s", "s"),
    ];
    if ms <= 0 {
        return "0 s".to_owned();
    }
    UNITS.iter().find(|(unit, ..)| ms % unit == 0).map_or_else(
        || format!("{ms} ms"),
        |&(unit, one, many)| {
            let count = ms / unit;
            format!("{count} {}", if count == 1 { one } else { many })
        },
    )
}

/// Aggregation function choice of the Plots view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum AggFn {
    /// Raw points.
    #[default]
    None,
    /// Average per interval.
    Avg,
    /// Minimum per interval.
    Min,
    /// Maximum per interval.
    Max,
    /// Sum per interval.
    Sum,
    /// Number of points per interval.
    Count,
}

impl AggFn {
    /// Every choice, in menu order.
    pub const ALL: [AggFn; 6] = [
        AggFn::None,
        AggFn::Avg,
        AggFn::Min,
        AggFn::Max,
        AggFn::Sum,
        AggFn::Count,
    ];

    /// The menu label.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            AggFn::None => "None (raw)",
            AggFn::Avg => "Average",
            AggFn::Min => "Minimum",
            AggFn::Max => "Maximum",
            AggFn::Sum => "Sum",
            AggFn::Count => "Count",
        }
    }

    /// The protocol's aggregation.
    #[must_use]
    pub fn to_wire(self) -> Aggregation {
        match self {
            AggFn::None => Aggregation::None,
            AggFn::Avg => Aggregation::Avg,
            AggFn::Min => Aggregation::Min,
            AggFn::Max => Aggregation::Max,
            AggFn::Sum => Aggregation::Sum,
            AggFn::Count => Aggregation::Count,
        }
    }

    /// Whether this is raw data (no aggregation).
    #[must_use]
    pub fn is_none(self) -> bool {
        self == AggFn::None
    }
}

/// The server's interval count: `span / max(interval, 1000)` in integer division (it refuses
/// more than [`MAX_INTERVALS`]).
#[must_use]
pub fn interval_count(span_ms: i64, interval_ms: i64) -> i64 {
    span_ms / interval_ms.max(SECOND_MS)
}

/// `ms` rounded up to whole seconds (saturating).
fn ceil_seconds(ms: i64) -> i64 {
    let seconds = ms / SECOND_MS + i64::from(ms % SECOND_MS > 0);
    seconds.saturating_mul(SECOND_MS)
}

/// `ms` rounded to the nearest whole second (half up, saturating).
fn round_seconds(ms: i64) -> i64 {
    let seconds = ms.div_euclid(SECOND_MS) + i64::from(ms.rem_euclid(SECOND_MS) >= SECOND_MS / 2);
    seconds.saturating_mul(SECOND_MS)
}

/// The smallest whole-second interval (at least 1 s) the server accepts for `span_ms`:
/// `span / interval <= 700` holds exactly when `interval > span / 701`.
#[must_use]
pub fn min_interval(span_ms: i64) -> i64 {
    ceil_seconds(span_ms.max(0) / (MAX_INTERVALS + 1) + 1).max(SECOND_MS)
}

/// The default interval: `span / 200` rounded to whole seconds, never below [`min_interval`].
#[must_use]
pub fn default_interval(span_ms: i64) -> i64 {
    round_seconds(span_ms.max(0) / 200).max(min_interval(span_ms))
}

/// `requested_ms` made valid for `span_ms`: whole seconds, at least [`min_interval`], at most
/// the span (but at least 1 s).
#[must_use]
pub fn clamp_interval(span_ms: i64, requested_ms: i64) -> i64 {
    let upper = (span_ms / SECOND_MS * SECOND_MS).max(SECOND_MS);
    // Both bounds are whole seconds, so rounding after clamping stays inside them.
    round_seconds(requested_ms.clamp(min_interval(span_ms), upper))
}

/// The [`INTERVAL_CHOICES`] valid for `span_ms` (at least [`min_interval`], at most the span);
/// `[min_interval(span)]` when none is.
#[must_use]
pub fn interval_choices(span_ms: i64) -> Vec<i64> {
    let min = min_interval(span_ms);
    let choices: Vec<i64> = INTERVAL_CHOICES
        .into_iter()
        .filter(|&choice| choice >= min && choice <= span_ms)
        .collect();
    if choices.is_empty() {
        vec![min]
    } else {
        choices
    }
}

/// The start of the interval containing `ts` on the grid anchored at `anchor_ms`
/// (`anchor + k * interval`, floor division, so also before the anchor). An interval below
/// 1 ms counts as 1 ms; a start below `i64::MIN` saturates.
#[must_use]
pub fn interval_start(anchor_ms: i64, interval_ms: i64, ts: i64) -> i64 {
    let interval = i128::from(interval_ms.max(1));
    let offset = i128::from(ts) - i128::from(anchor_ms);
    let start = i128::from(anchor_ms) + offset.div_euclid(interval) * interval;
    i64::try_from(start).unwrap_or(i64::MIN)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// An RFC 3339 instant in epoch ms.
    fn at(rfc3339: &str) -> i64 {
        rfc3339.parse::<Timestamp>().unwrap().as_millisecond()
    }

    fn zone(name: &str) -> Zone {
        Zone::named(name).unwrap()
    }

    const EXTREMES: [i64; 9] = [
        i64::MIN,
        i64::MIN + 1,
        -DAY_MS,
        -1,
        0,
        1,
        DAY_MS,
        i64::MAX - 1,
        i64::MAX,
    ];

    // ---- interval math ----

    #[test]
    fn the_offset_follows_daylight_saving_time() {
        let berlin = Zone::named("Europe/Berlin").unwrap();
        let winter = berlin.parse("2026-01-15 12:00").unwrap();
        let summer = berlin.parse("2026-07-15 12:00").unwrap();
        assert_eq!(berlin.offset_ms(winter), HOUR_MS);
        assert_eq!(berlin.offset_ms(summer), 2 * HOUR_MS);
        assert_eq!(Zone::utc().offset_ms(summer), 0);
        assert_eq!(
            Zone::named("Asia/Kolkata").unwrap().offset_ms(summer),
            5 * HOUR_MS + 30 * MINUTE_MS
        );
        let _ = Zone::utc().offset_ms(i64::MIN);
    }

    #[test]
    fn interval_count_is_the_servers_integer_formula_with_a_one_second_floor() {
        assert_eq!(interval_count(700_000, 1_000), 700);
        assert_eq!(interval_count(700_999, 1_000), 700);
        assert_eq!(interval_count(701_000, 1_000), 701);
        assert_eq!(
            interval_count(700_000, 1),
            700,
            "intervals below 1 s count as 1 s"
        );
        assert_eq!(interval_count(-5_000, 1_000), -5);
        assert_eq!(interval_count(i64::MAX, i64::MIN), i64::MAX / 1_000);
    }

    #[test]
    fn min_interval_sits_exactly_at_the_700_interval_boundary() {
        // 700 intervals of 1 s fit exactly; one more millisecond of 1 s intervals still does.
        assert_eq!(min_interval(700_000), 1_000);
        assert_eq!(min_interval(700_999), 1_000);
        assert_eq!(min_interval(701_000), 2_000);
        // 1 day / 700 = 123.4 s -> 124 s, and 123 s gives 702 intervals.
        assert_eq!(min_interval(DAY_MS), 124_000);
        assert_eq!(interval_count(DAY_MS, 123_000), 702);
        assert_eq!(interval_count(DAY_MS, 124_000), 696);
        // Integer division: k seconds serve every span below 701 * k seconds.
        assert_eq!(min_interval(701 * 60_000 - 1), 60_000);
        assert_eq!(interval_count(701 * 60_000 - 1, 60_000), 700);
        assert_eq!(min_interval(701 * 60_000), 61_000);
    }

    #[test]
    fn default_interval_of_one_hour_is_18_seconds() {
        assert_eq!(default_interval(HOUR_MS), 18_000);
        assert_eq!(default_interval(DAY_MS), 432_000);
        assert_eq!(default_interval(10 * SECOND_MS), 1_000, "never below 1 s");
        assert_eq!(default_interval(0), 1_000);
    }

    #[test]
    fn interval_choices_for_an_hour_run_from_6_seconds_up_to_the_hour() {
        assert_eq!(min_interval(HOUR_MS), 6_000);
        assert_eq!(
            interval_choices(HOUR_MS),
            [
                10_000,
                15_000,
                30_000,
                MINUTE_MS,
                2 * MINUTE_MS,
                5 * MINUTE_MS,
                10 * MINUTE_MS,
                15 * MINUTE_MS,
                30 * MINUTE_MS,
                HOUR_MS
            ]
        );
    }

    #[test]
    fn interval_choices_fall_back_to_the_minimum_when_no_choice_fits() {
        assert_eq!(interval_choices(500), [1_000]);
        assert_eq!(interval_choices(0), [1_000]);
        assert_eq!(interval_choices(-HOUR_MS), [1_000]);
        // 100 years: even 30 days gives more than 700 intervals.
        let century = 36_525 * DAY_MS;
        assert_eq!(interval_choices(century), [min_interval(century)]);
    }

    #[test]
    fn clamp_interval_rounds_to_seconds_and_stays_within_limit_and_span() {
        assert_eq!(clamp_interval(HOUR_MS, 1_400), 6_000);
        assert_eq!(clamp_interval(HOUR_MS, 20_400), 20_000);
        assert_eq!(clamp_interval(HOUR_MS, 20_500), 21_000);
        assert_eq!(clamp_interval(HOUR_MS, 2 * HOUR_MS), HOUR_MS);
        assert_eq!(
            clamp_interval(1_500, 5_000),
            1_000,
            "the upper bound is whole seconds too"
        );
        assert_eq!(clamp_interval(0, 5_000), 1_000);
        assert_eq!(clamp_interval(-1, -1), 1_000);
    }

    #[test]
    fn interval_start_floors_on_the_anchored_grid_also_before_the_anchor() {
        assert_eq!(interval_start(1_000, 10_000, 1_000), 1_000);
        assert_eq!(interval_start(1_000, 10_000, 10_999), 1_000);
        assert_eq!(interval_start(1_000, 10_000, 11_000), 11_000);
        assert_eq!(interval_start(1_000, 10_000, 999), -9_000);
        assert_eq!(interval_start(1_000, 10_000, -9_000), -9_000);
        assert_eq!(
            interval_start(1_000, 0, 1_234),
            1_234,
            "an interval below 1 ms counts as 1 ms"
        );
        assert_eq!(
            interval_start(i64::MAX, 10, i64::MIN),
            i64::MIN,
            "saturates below i64::MIN"
        );
    }

    #[test]
    fn interval_functions_are_total_for_extreme_inputs() {
        for span in EXTREMES {
            let min = min_interval(span);
            assert!(min >= 1_000 && min % 1_000 == 0, "{span}: {min}");
            assert!(interval_count(span, min) <= MAX_INTERVALS, "{span}");
            assert!(default_interval(span) >= min, "{span}");
            assert!(!interval_choices(span).is_empty());
            for other in EXTREMES {
                let _ = interval_count(span, other);
                let clamped = clamp_interval(span, other);
                assert!(
                    clamped >= min && interval_count(span, clamped) <= MAX_INTERVALS,
                    "{span} {other}"
                );
                let start = interval_start(span, other, other);
                assert!(start <= other, "{span} {other}");
                let _ = format_duration(other);
            }
        }
    }

    proptest! {
        #[test]
        fn min_interval_is_the_smallest_whole_second_within_700_intervals(span in SECOND_MS..20 * 366 * DAY_MS) {
            let min = min_interval(span);
            prop_assert_eq!(min % SECOND_MS, 0);
            prop_assert!(interval_count(span, min) <= MAX_INTERVALS);
            prop_assert!(min == SECOND_MS || interval_count(span, min - SECOND_MS) > MAX_INTERVALS);
        }

        #[test]
        fn default_interval_is_about_a_200th_and_never_below_the_minimum(span in SECOND_MS..20 * 366 * DAY_MS) {
            let interval = default_interval(span);
            prop_assert_eq!(interval % SECOND_MS, 0);
            prop_assert!(interval >= min_interval(span));
            prop_assert!(interval_count(span, interval) <= MAX_INTERVALS);
            if span >= 200 * SECOND_MS {
                prop_assert!((interval - span / 200).abs() <= SECOND_MS / 2);
            }
        }

        #[test]
        fn every_interval_choice_satisfies_the_limit_and_fits_the_span(span in SECOND_MS..20 * 366 * DAY_MS) {
            let choices = interval_choices(span);
            prop_assert!(!choices.is_empty());
            for &choice in &choices {
                prop_assert!(interval_count(span, choice) <= MAX_INTERVALS, "{} in {}", choice, span);
                prop_assert!(choice >= min_interval(span));
                prop_assert!(choices.len() == 1 || choice <= span);
            }
        }

        #[test]
        fn clamped_intervals_are_accepted_by_the_server(span in 0..20 * 366 * DAY_MS, requested in any::<i64>()) {
            let interval = clamp_interval(span, requested);
            prop_assert_eq!(interval % SECOND_MS, 0);
            prop_assert!(interval >= 1 && interval_count(span, interval) <= MAX_INTERVALS);
            prop_assert!(interval <= span.max(SECOND_MS));
        }

        #[test]
        fn interval_start_is_on_the_grid_and_within_one_interval(anchor in any::<i32>(), interval in 1..DAY_MS, ts in any::<i32>()) {
            let (anchor, ts) = (i64::from(anchor) * 1_000, i64::from(ts) * 1_000);
            let start = interval_start(anchor, interval, ts);
            prop_assert!(start <= ts && ts - start < interval);
            prop_assert_eq!((start - anchor).rem_euclid(interval), 0);
        }
    }

    #[test]
    fn format_duration_uses_the_largest_exact_unit() {
        let cases = [
            (1_000, "1 s"),
            (90_000, "90 s"),
            (1_500, "1500 ms"),
            (MINUTE_MS, "1 min"),
            (5 * MINUTE_MS, "5 min"),
            (90 * MINUTE_MS, "90 min"),
            (HOUR_MS, "1 hour"),
            (2 * HOUR_MS, "2 hours"),
            (DAY_MS, "1 day"),
            (7 * DAY_MS, "7 days"),
            (0, "0 s"),
            (-5_000, "0 s"),
            (i64::MIN, "0 s"),
            (i64::MAX, "9223372036854775807 ms"),
        ];
        for (ms, text) in cases {
            assert_eq!(format_duration(ms), text, "{ms}");
        }
    }

    #[test]
    fn agg_fn_maps_to_the_wire_names() {
        let wire: Vec<Aggregation> = AggFn::ALL.into_iter().map(AggFn::to_wire).collect();
        assert_eq!(
            wire,
            [
                Aggregation::None,
                Aggregation::Avg,
                Aggregation::Min,
                Aggregation::Max,
                Aggregation::Sum,
                Aggregation::Count
            ]
        );
        assert!(AggFn::default().is_none() && !AggFn::Avg.is_none());
        assert_eq!(AggFn::None.label(), "None (raw)");
        assert_eq!(AggFn::Avg.label(), "Average");
    }

    // ---- zones and formatting ----

    #[test]
    fn zones_have_labels_and_iana_names() {
        assert_eq!(Zone::utc().label(), "UTC");
        assert_eq!(Zone::utc().iana_name().as_deref(), Some("UTC"));
        assert_eq!(zone("europe/berlin").label(), "Europe/Berlin");
        assert_eq!(
            zone("Europe/Berlin").iana_name().as_deref(),
            Some("Europe/Berlin")
        );
        assert!(Zone::local().label().starts_with("local time"));
        assert_eq!(Zone::from_pref(TimeZonePref::Utc), Zone::utc());
        assert!(
            Zone::from_pref(TimeZonePref::Local)
                .label()
                .starts_with("local time")
        );
    }

    #[test]
    fn an_unknown_zone_name_is_refused_with_the_name_in_the_message() {
        let err = Zone::named("Mars/Olympus_Mons").unwrap_err();
        assert!(
            err.contains("unknown time zone \"Mars/Olympus_Mons\""),
            "{err}"
        );
        assert!(Zone::named("").is_err());
    }

    #[test]
    fn format_and_format_iso_in_utc_and_berlin_summer_and_winter() {
        let winter = at("2026-11-30T13:02:05.123Z");
        let summer = at("2026-07-01T12:00:00.007Z");
        let berlin = zone("Europe/Berlin");
        assert_eq!(Zone::utc().format(winter), "2026-11-30 13:02:05.123");
        assert_eq!(
            Zone::utc().format_iso(winter),
            "2026-11-30T13:02:05.123+00:00"
        );
        assert_eq!(berlin.format(winter), "2026-11-30 14:02:05.123");
        assert_eq!(berlin.format_iso(winter), "2026-11-30T14:02:05.123+01:00");
        assert_eq!(berlin.format(summer), "2026-07-01 14:00:00.007");
        assert_eq!(berlin.format_iso(summer), "2026-07-01T14:00:00.007+02:00");
        assert_eq!(
            zone("America/New_York").format_iso(winter),
            "2026-11-30T08:02:05.123-05:00"
        );
        assert_eq!(
            zone("Asia/Kolkata").format_iso(winter),
            "2026-11-30T18:32:05.123+05:30"
        );
    }

    #[test]
    fn format_iso_cuts_local_mean_time_offsets_to_minutes() {
        // Berlin used +00:53:28 before 1893.
        let ms = at("1890-01-01T00:00:00Z");
        assert_eq!(
            zone("Europe/Berlin").format_iso(ms),
            "1890-01-01T00:53:00.000+00:53"
        );
        assert_eq!(
            zone("Europe/Berlin").parse("1890-01-01T00:53:00+00:53"),
            Ok(ms)
        );
    }

    #[test]
    fn format_tick_picks_the_label_for_each_step() {
        let berlin = zone("Europe/Berlin");
        let ms = at("2026-11-30T13:02:05.123Z");
        let midnight = at("2026-11-29T23:00:00Z");
        let cases = [
            (ms, 100, "14:02:05.123"),
            (ms, 999, "14:02:05.123"),
            (ms, SECOND_MS, "14:02:05"),
            (ms, 30 * SECOND_MS, "14:02:05"),
            (ms, MINUTE_MS, "14:02"),
            (ms, 6 * HOUR_MS, "14:02"),
            (midnight, 6 * HOUR_MS, "Nov 30"),
            (midnight, MINUTE_MS, "Nov 30"),
            (midnight, SECOND_MS, "00:00:00"),
            (ms, DAY_MS, "Nov 30"),
            (ms, 7 * DAY_MS, "Nov 30"),
            (ms, 28 * DAY_MS, "Nov 2026"),
            (ms, 365 * DAY_MS, "Nov 2026"),
        ];
        for (tick, step, text) in cases {
            assert_eq!(berlin.format_tick(tick, step), text, "step {step}");
        }
        assert_eq!(Zone::utc().format_tick(midnight, HOUR_MS), "23:00");
    }

    #[test]
    fn formatting_and_day_starts_are_total_for_extreme_instants() {
        let zones = [
            Zone::utc(),
            zone("Pacific/Kiritimati"),
            zone("Etc/GMT+12"),
            zone("Europe/Berlin"),
        ];
        for zone in &zones {
            for ms in EXTREMES {
                assert!(!zone.format(ms).is_empty());
                assert!(!zone.format_iso(ms).is_empty());
                for step in EXTREMES {
                    assert!(!zone.format_tick(ms, step).is_empty());
                }
                let _ = zone.start_of_day(ms);
                for relative in Relative::ALL {
                    let span = TimeWindow::Relative(relative).resolve(ms, zone);
                    assert!(span.start_ms <= span.end_ms);
                }
                for other in EXTREMES {
                    for window in [
                        TimeWindow::Realtime { last_ms: other },
                        TimeWindow::Fixed {
                            start_ms: ms,
                            end_ms: other,
                        },
                    ] {
                        let span = window.resolve(ms, zone);
                        assert!(span.start_ms <= span.end_ms && span.len_ms() >= 0);
                        assert!(!window.label(zone).is_empty());
                    }
                }
            }
        }
        assert_eq!(Zone::utc().format(i64::MAX), "9999-12-30 22:00:00.999");
    }

    // ---- parsing ----

    #[test]
    fn parse_accepts_the_documented_forms() {
        let berlin = zone("Europe/Berlin");
        let cases = [
            ("2026-11-30 14:02", "2026-11-30T13:02:00Z"),
            ("2026-11-30 14:02:05", "2026-11-30T13:02:05Z"),
            ("2026-11-30 14:02:05.250", "2026-11-30T13:02:05.250Z"),
            ("2026-11-30", "2026-11-29T23:00:00Z"),
            ("2026-11-30T14:02", "2026-11-30T13:02:00Z"),
            ("2026-11-30T14:02:05", "2026-11-30T13:02:05Z"),
            ("2026-11-30T14:02:05.250", "2026-11-30T13:02:05.250Z"),
            ("  2026-11-30 14:02  ", "2026-11-30T13:02:00Z"),
            ("2026-11-30T14:02:05Z", "2026-11-30T14:02:05Z"),
            ("2026-11-30T14:02:05.5-03:00", "2026-11-30T17:02:05.5Z"),
            ("2026-07-01 14:00", "2026-07-01T12:00:00Z"),
        ];
        for (text, expected) in cases {
            assert_eq!(berlin.parse(text), Ok(at(expected)), "{text}");
        }
    }

    #[test]
    fn parse_round_trips_format_and_format_iso() {
        let berlin = zone("Europe/Berlin");
        let mut ms = at("1970-01-01T00:00:00Z") - 12_345;
        // Every ~37 h 11 min for 60 years, off the repeated hour of the autumn change.
        while ms < at("2030-01-01T00:00:00Z") {
            assert_eq!(
                berlin.parse(&berlin.format_iso(ms)),
                Ok(ms),
                "{}",
                berlin.format_iso(ms)
            );
            assert_eq!(Zone::utc().parse(&Zone::utc().format(ms)), Ok(ms));
            let local = berlin.format(ms);
            let back = berlin.parse(&local).unwrap();
            assert!(back == ms || back == ms - HOUR_MS, "{local}");
            ms += 37 * HOUR_MS + 11 * MINUTE_MS + 7_001;
        }
    }

    #[test]
    fn parse_rejects_garbage_with_a_clear_message() {
        for text in [
            "garbage",
            "",
            "   ",
            "2026-02-30",
            "30.11.2026",
            "2026-11-30 25:00",
        ] {
            let err = Zone::utc().parse(text).unwrap_err();
            assert!(
                err.contains("2026-11-30 14:02:05"),
                "the message shows an accepted form: {err}"
            );
            if !text.trim().is_empty() {
                assert!(
                    err.contains(&format!("\"{}\"", text.trim())),
                    "the message quotes the text: {err}"
                );
            }
        }
    }

    #[test]
    fn parse_moves_the_nonexistent_spring_forward_time_forward_by_the_gap() {
        // 2026-03-29 02:30 does not exist in Berlin (02:00 CET -> 03:00 CEST); compatible
        // reads it with the offset before the gap: 01:30 UTC = 03:30 CEST.
        let berlin = zone("Europe/Berlin");
        assert_eq!(
            berlin.parse("2026-03-29 02:30"),
            Ok(at("2026-03-29T01:30:00Z"))
        );
        assert_eq!(
            berlin.format(at("2026-03-29T01:30:00Z")),
            "2026-03-29 03:30:00.000"
        );
        // The repeated 02:30 of 2026-10-25 takes the first (summer time) occurrence.
        assert_eq!(
            berlin.parse("2026-10-25 02:30"),
            Ok(at("2026-10-25T00:30:00Z"))
        );
    }

    #[test]
    fn start_of_day_is_local_midnight() {
        let berlin = zone("Europe/Berlin");
        assert_eq!(
            berlin.start_of_day(at("2026-11-30T13:02:05Z")),
            at("2026-11-29T23:00:00Z")
        );
        assert_eq!(
            berlin.start_of_day(at("2026-11-29T23:00:00Z")),
            at("2026-11-29T23:00:00Z")
        );
        assert_eq!(
            berlin.start_of_day(at("2026-11-29T22:59:59.999Z")),
            at("2026-11-28T23:00:00Z")
        );
        assert_eq!(
            Zone::utc().start_of_day(at("2026-11-30T13:02:05Z")),
            at("2026-11-30T00:00:00Z")
        );
        // Santiago skips midnight on 2026-09-06: the day starts at 01:00 local.
        let santiago = zone("America/Santiago");
        assert_eq!(
            santiago.start_of_day(at("2026-09-06T12:00:00Z")),
            at("2026-09-06T04:00:00Z")
        );
    }

    // ---- time windows ----

    fn yesterday(zone: &Zone, now: &str) -> Span {
        TimeWindow::Relative(Relative::Yesterday).resolve(at(now), zone)
    }

    #[test]
    fn yesterday_spans_23_hours_on_the_day_after_spring_forward_in_berlin() {
        let span = yesterday(&zone("Europe/Berlin"), "2026-03-30T10:00:00Z");
        assert_eq!(
            span,
            Span::new(at("2026-03-28T23:00:00Z"), at("2026-03-29T22:00:00Z"))
        );
        assert_eq!(span.len_ms(), 23 * HOUR_MS);
    }

    #[test]
    fn yesterday_spans_25_hours_on_the_day_after_fall_back_in_berlin() {
        let span = yesterday(&zone("Europe/Berlin"), "2026-10-26T10:00:00Z");
        assert_eq!(
            span,
            Span::new(at("2026-10-24T22:00:00Z"), at("2026-10-25T23:00:00Z"))
        );
        assert_eq!(span.len_ms(), 25 * HOUR_MS);
    }

    #[test]
    fn yesterday_spans_23_and_25_hours_after_the_new_york_changes() {
        let new_york = zone("America/New_York");
        assert_eq!(
            yesterday(&new_york, "2026-03-09T17:00:00Z").len_ms(),
            23 * HOUR_MS
        );
        assert_eq!(
            yesterday(&new_york, "2026-11-02T17:00:00Z").len_ms(),
            25 * HOUR_MS
        );
        assert_eq!(
            yesterday(&new_york, "2026-11-03T17:00:00Z").len_ms(),
            24 * HOUR_MS
        );
        // 2026-11-02 03:00 UTC is still Nov 1 in New York: yesterday is Oct 31.
        assert_eq!(
            yesterday(&new_york, "2026-11-02T03:00:00Z"),
            Span::new(at("2026-10-31T04:00:00Z"), at("2026-11-01T04:00:00Z"))
        );
    }

    #[test]
    fn today_is_the_whole_day_and_day_before_yesterday_precedes_yesterday() {
        let berlin = zone("Europe/Berlin");
        let now = at("2026-11-30T13:02:05Z");
        let today = TimeWindow::Relative(Relative::Today).resolve(now, &berlin);
        assert_eq!(
            today,
            Span::new(at("2026-11-29T23:00:00Z"), at("2026-11-30T23:00:00Z"))
        );
        assert!(today.contains(now) && !today.contains(today.end_ms));
        let yesterday = TimeWindow::Relative(Relative::Yesterday).resolve(now, &berlin);
        let before = TimeWindow::Relative(Relative::DayBeforeYesterday).resolve(now, &berlin);
        assert_eq!(
            (before.end_ms, yesterday.end_ms),
            (yesterday.start_ms, today.start_ms)
        );
        assert_eq!(before.len_ms(), DAY_MS);
    }

    #[test]
    fn last_week_starts_on_a_monday_at_local_midnight() {
        for name in [
            "Europe/Berlin",
            "America/New_York",
            "Pacific/Auckland",
            "UTC",
        ] {
            let zone = zone(name);
            // Every ~13 h through 2026, so every weekday and both DST changes are covered.
            let mut now = at("2026-01-01T00:00:00Z");
            while now < at("2027-01-01T00:00:00Z") {
                let this = TimeWindow::Relative(Relative::ThisWeek).resolve(now, &zone);
                let last = TimeWindow::Relative(Relative::LastWeek).resolve(now, &zone);
                for span in [this, last] {
                    let start = zone.tz.to_datetime(timestamp(span.start_ms));
                    assert_eq!(
                        start.weekday(),
                        jiff::civil::Weekday::Monday,
                        "{name} {}",
                        zone.format(now)
                    );
                    assert_eq!(zone.start_of_day(span.start_ms), span.start_ms);
                    assert!((span.len_ms() - 7 * DAY_MS).abs() <= HOUR_MS);
                }
                assert_eq!(last.end_ms, this.start_ms);
                assert!(this.contains(now), "{name} {}", zone.format(now));
                now += 13 * HOUR_MS + 17 * MINUTE_MS;
            }
        }
    }

    #[test]
    fn this_week_of_a_sunday_started_the_monday_before() {
        let span = TimeWindow::Relative(Relative::ThisWeek)
            .resolve(at("2026-11-29T20:00:00Z"), &Zone::utc());
        assert_eq!(
            span,
            Span::new(at("2026-11-23T00:00:00Z"), at("2026-11-30T00:00:00Z"))
        );
    }

    #[test]
    fn this_month_of_a_february_has_28_or_29_days() {
        let berlin = zone("Europe/Berlin");
        let month = |now| TimeWindow::Relative(Relative::ThisMonth).resolve(at(now), &berlin);
        assert_eq!(
            month("2026-02-14T12:00:00Z"),
            Span::new(at("2026-01-31T23:00:00Z"), at("2026-02-28T23:00:00Z"))
        );
        assert_eq!(month("2028-02-29T12:00:00Z").len_ms(), 29 * DAY_MS);
        let last =
            TimeWindow::Relative(Relative::LastMonth).resolve(at("2026-03-01T12:00:00Z"), &berlin);
        assert_eq!(last.len_ms(), 28 * DAY_MS);
    }

    #[test]
    fn last_year_and_this_year_are_whole_calendar_years_in_the_zone() {
        let berlin = zone("Europe/Berlin");
        let now = at("2026-06-15T12:00:00Z");
        let last = TimeWindow::Relative(Relative::LastYear).resolve(now, &berlin);
        assert_eq!(
            last,
            Span::new(at("2024-12-31T23:00:00Z"), at("2025-12-31T23:00:00Z"))
        );
        let this = TimeWindow::Relative(Relative::ThisYear).resolve(now, &Zone::utc());
        assert_eq!(
            this,
            Span::new(at("2026-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z"))
        );
        // New Year's Eve 23:30 UTC is already the next year in Berlin.
        let last =
            TimeWindow::Relative(Relative::LastYear).resolve(at("2025-12-31T23:30:00Z"), &berlin);
        assert_eq!(last.start_ms, at("2024-12-31T23:00:00Z"));
        assert_eq!(last.len_ms(), 365 * DAY_MS);
    }

    #[test]
    fn realtime_and_fixed_windows_resolve_without_the_calendar() {
        let now = at("2026-11-30T13:00:00Z");
        let utc = Zone::utc();
        assert_eq!(
            TimeWindow::default().resolve(now, &utc),
            Span::new(now - HOUR_MS, now)
        );
        assert!(TimeWindow::default().is_realtime());
        assert_eq!(
            TimeWindow::Realtime { last_ms: -5 }.resolve(now, &utc),
            Span::new(now, now)
        );
        let fixed = TimeWindow::Fixed {
            start_ms: now,
            end_ms: now - HOUR_MS,
        };
        assert_eq!(fixed.resolve(0, &utc), Span::new(now - HOUR_MS, now));
        assert!(!fixed.is_realtime());
    }

    #[test]
    fn window_labels_read_naturally() {
        let berlin = zone("Europe/Berlin");
        assert_eq!(TimeWindow::default().label(&berlin), "Last 1 hour");
        assert_eq!(
            TimeWindow::Realtime {
                last_ms: 7 * DAY_MS
            }
            .label(&berlin),
            "Last 7 days"
        );
        assert_eq!(
            TimeWindow::Relative(Relative::Yesterday).label(&berlin),
            "Yesterday"
        );
        let fixed = TimeWindow::Fixed {
            start_ms: at("2026-11-29T11:00:00Z"),
            end_ms: at("2026-11-29T09:00:00Z"),
        };
        assert_eq!(fixed.label(&berlin), "2026-11-29 10:00 – 2026-11-29 12:00");
        let odd = TimeWindow::Fixed {
            start_ms: at("2026-11-29T09:00:05Z"),
            end_ms: at("2026-11-29T11:00:00.250Z"),
        };
        assert_eq!(
            odd.label(&berlin),
            "2026-11-29 10:00:05 – 2026-11-29 12:00:00.250"
        );
    }

    #[test]
    fn time_windows_round_trip_through_toml() {
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        struct Holder {
            window: TimeWindow,
        }
        let mut windows = vec![
            TimeWindow::default(),
            TimeWindow::Realtime { last_ms: i64::MAX },
            TimeWindow::Fixed {
                start_ms: -1_234,
                end_ms: at("2026-11-30T13:00:00Z"),
            },
        ];
        windows.extend(Relative::ALL.map(TimeWindow::Relative));
        for window in windows {
            let text = toml::to_string(&Holder { window }).unwrap();
            let back: Holder = toml::from_str(&text).unwrap();
            assert_eq!(back.window, window, "{text}");
        }
    }
}
