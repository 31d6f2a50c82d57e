//! The actions a problem post offers (`MATTERMOST_ACTIONS`), their button
//! ids and labels, and the downtime presets and end times a dialog may ask
//! for.
//!
//! An action's spelling is the same everywhere: in the setting
//! (`ack,downtime,recheck`), in a signed context's `action` field
//! ([`crate::ack`]), and as the button's id (Mattermost wants action ids of
//! `[A-Za-z0-9]+`). Labels are one short word so that three buttons fit a
//! phone screen side by side; at most [`MAX_VISIBLE_ACTIONS`] are shown.

use crate::limits::{DOWNTIME_MAX_SECS, DOWNTIME_MIN_SECS, MAX_VISIBLE_ACTIONS};
use crate::render::UtcTime;

/// What a button does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Acknowledge, one click, the default comment.
    Ack,
    /// Acknowledge with a comment, sticky and notify chosen in a dialog.
    Comment,
    /// Schedule a downtime: a dialog with presets and a comment.
    Downtime,
    /// A forced check now.
    Recheck,
    /// Remove the acknowledgement; offered on the post after an ack.
    Unack,
}

/// Every action, in the order a post lists them when the setting does not
/// say otherwise.
pub const ALL_ACTIONS: [Action; 5] = [
    Action::Ack,
    Action::Comment,
    Action::Downtime,
    Action::Recheck,
    Action::Unack,
];

impl Action {
    /// The setting's, the context's and the button id's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Ack => "ack",
            Action::Comment => "comment",
            Action::Downtime => "downtime",
            Action::Recheck => "recheck",
            Action::Unack => "unack",
        }
    }

    /// Parses the spelling; exact match only.
    pub fn parse(s: &str) -> Option<Action> {
        ALL_ACTIONS.iter().copied().find(|a| a.as_str() == s)
    }

    /// The button's label: one short word.
    pub fn label(self) -> &'static str {
        match self {
            Action::Ack => "Ack",
            Action::Comment => "Comment",
            Action::Downtime => "Downtime",
            Action::Recheck => "Recheck",
            Action::Unack => "Unack",
        }
    }

    /// Whether the click opens a dialog (which needs `MATTERMOST_URL`).
    pub fn needs_dialog(self) -> bool {
        matches!(self, Action::Comment | Action::Downtime)
    }

    /// Whether a second use of one button would mean something (a second
    /// acknowledgement or downtime), so each button works once.
    pub fn is_single_use(self) -> bool {
        matches!(self, Action::Ack | Action::Comment | Action::Downtime)
    }

    /// Whether the action acknowledges.
    pub fn acknowledges(self) -> bool {
        matches!(self, Action::Ack | Action::Comment)
    }
}

/// An ordered list of distinct actions, as `MATTERMOST_ACTIONS` gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionList {
    items: [Option<Action>; 5],
}

/// The default list: `ack,downtime,recheck`.
pub const DEFAULT_ACTIONS: ActionList = ActionList {
    items: [
        Some(Action::Ack),
        Some(Action::Downtime),
        Some(Action::Recheck),
        None,
        None,
    ],
};

/// Why an action list was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ActionListError {
    /// An item is not an action's spelling (1-based position).
    Unknown(usize),
    /// An action is listed twice (1-based position of the second).
    Repeated(usize),
    /// Nothing is listed.
    Empty,
}

impl core::fmt::Display for ActionListError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ActionListError::Unknown(i) => write!(
                f,
                "item {i} is not one of ack, comment, downtime, recheck, unack"
            ),
            ActionListError::Repeated(i) => write!(f, "item {i} repeats an earlier action"),
            ActionListError::Empty => f.write_str("lists no action"),
        }
    }
}

impl ActionList {
    /// Parses `ack, downtime,recheck` (blanks around items ignored, empty
    /// items skipped, case-insensitive).
    pub fn parse(s: &str) -> Result<ActionList, ActionListError> {
        let mut list = ActionList { items: [None; 5] };
        let mut n = 0;
        for (i, item) in s.split(',').map(str::trim).enumerate() {
            if item.is_empty() {
                continue;
            }
            let action = ALL_ACTIONS
                .iter()
                .copied()
                .find(|a| a.as_str().eq_ignore_ascii_case(item))
                .ok_or(ActionListError::Unknown(i + 1))?;
            if list.contains(action) {
                return Err(ActionListError::Repeated(i + 1));
            }
            if let Some(slot) = list.items.get_mut(n) {
                *slot = Some(action);
                n += 1;
            }
        }
        if n == 0 {
            return Err(ActionListError::Empty);
        }
        Ok(list)
    }

    /// Whether `a` is listed.
    pub fn contains(&self, a: Action) -> bool {
        self.items.contains(&Some(a))
    }

    /// The listed actions in order.
    pub fn iter(&self) -> impl Iterator<Item = Action> + '_ {
        self.items.iter().flatten().copied()
    }

    /// How many are listed.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether none is listed (never, for a parsed list).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buttons a post in `phase` shows, in order, at most
    /// [`MAX_VISIBLE_ACTIONS`]; `dialogs` says whether actions that open a
    /// dialog can be offered (`MATTERMOST_URL` is set).
    ///
    /// A problem post offers the list without `unack`; once acknowledged,
    /// `unack` comes first and `ack`/`comment` go; in downtime the
    /// downtime button goes.
    pub fn offered(&self, phase: Phase, dialogs: bool) -> [Option<Action>; MAX_VISIBLE_ACTIONS] {
        let mut out = [None; MAX_VISIBLE_ACTIONS];
        let first = match phase {
            Phase::Acknowledged => Some(Action::Unack),
            _ => None,
        };
        let rest = self.iter().filter(|a| match (phase, a) {
            (_, Action::Unack) => false,
            (Phase::Acknowledged, a) if a.acknowledges() => false,
            (Phase::InDowntime, Action::Downtime) => false,
            (_, a) if a.needs_dialog() => dialogs,
            _ => true,
        });
        for (slot, a) in out.iter_mut().zip(first.into_iter().chain(rest)) {
            *slot = Some(a);
        }
        out
    }
}

/// Where a problem post stands, for [`ActionList::offered`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Posted, nothing done yet (or an acknowledgement removed).
    Open,
    /// Acknowledged from Mattermost.
    Acknowledged,
    /// In a downtime scheduled from Mattermost.
    InDowntime,
}

/// A downtime length the dialog offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DowntimePreset {
    /// One hour.
    OneHour,
    /// Four hours.
    FourHours,
    /// One day.
    OneDay,
    /// Until the time in the dialog's `until` field.
    Until,
}

/// The presets in the order the dialog lists them.
pub const DOWNTIME_PRESETS: [DowntimePreset; 4] = [
    DowntimePreset::OneHour,
    DowntimePreset::FourHours,
    DowntimePreset::OneDay,
    DowntimePreset::Until,
];

impl DowntimePreset {
    /// The select option's value.
    pub fn value(self) -> &'static str {
        match self {
            DowntimePreset::OneHour => "1h",
            DowntimePreset::FourHours => "4h",
            DowntimePreset::OneDay => "1d",
            DowntimePreset::Until => "until",
        }
    }

    /// The select option's text.
    pub fn text(self) -> &'static str {
        match self {
            DowntimePreset::OneHour => "1 hour",
            DowntimePreset::FourHours => "4 hours",
            DowntimePreset::OneDay => "1 day",
            DowntimePreset::Until => "Until the time below",
        }
    }

    /// Parses an option value; exact match only (anything else is an
    /// unknown preset, whatever the client sent).
    pub fn parse(s: &str) -> Option<DowntimePreset> {
        DOWNTIME_PRESETS.iter().copied().find(|p| p.value() == s)
    }

    fn seconds(self) -> Option<u64> {
        match self {
            DowntimePreset::OneHour => Some(3600),
            DowntimePreset::FourHours => Some(4 * 3600),
            DowntimePreset::OneDay => Some(86_400),
            DowntimePreset::Until => None,
        }
    }
}

/// Why a downtime's end could not be decided. Each is answered with the
/// dialog's own `errors`, naming the element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DowntimeError {
    /// `preset` is not one of [`DOWNTIME_PRESETS`].
    UnknownPreset,
    /// `until` is empty although the preset asks for it.
    MissingUntil,
    /// `until` is neither `HH:MM` nor `YYYY-MM-DD HH:MM`.
    BadUntil,
    /// The end is less than [`DOWNTIME_MIN_SECS`] away (or past).
    TooSoon,
    /// The end is more than [`DOWNTIME_MAX_SECS`] away.
    TooFar,
}

impl DowntimeError {
    /// The dialog element the error belongs to.
    pub fn element(self) -> &'static str {
        match self {
            DowntimeError::UnknownPreset => "preset",
            _ => "until",
        }
    }
}

/// The end of a downtime starting `now` (unix seconds): the preset's
/// length, or the `until` time in UTC (`HH:MM` is its next occurrence,
/// `YYYY-MM-DD HH:MM` a date; a trailing ` UTC` is allowed). The length
/// must be within [`DOWNTIME_MIN_SECS`]..=[`DOWNTIME_MAX_SECS`].
pub fn downtime_end(preset: &str, until: &str, now: u64) -> Result<u64, DowntimeError> {
    let preset = DowntimePreset::parse(preset).ok_or(DowntimeError::UnknownPreset)?;
    let end = match preset.seconds() {
        Some(s) => now.saturating_add(s),
        None => parse_until(until.trim(), now)?,
    };
    let len = end.checked_sub(now).ok_or(DowntimeError::TooSoon)?;
    if len < DOWNTIME_MIN_SECS {
        return Err(DowntimeError::TooSoon);
    }
    if len > DOWNTIME_MAX_SECS {
        return Err(DowntimeError::TooFar);
    }
    Ok(end)
}

fn parse_until(s: &str, now: u64) -> Result<u64, DowntimeError> {
    if s.is_empty() {
        return Err(DowntimeError::MissingUntil);
    }
    let s = s.strip_suffix("UTC").map(str::trim_end).unwrap_or(s);
    let (date, time) = match s.split_once(' ') {
        Some((d, t)) => (Some(d), t.trim()),
        None => (None, s),
    };
    let (hour, minute) = parse_hh_mm(time).ok_or(DowntimeError::BadUntil)?;
    match date {
        Some(d) => {
            let mut parts = d.split('-');
            let (Some(y), Some(m), Some(dd), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(DowntimeError::BadUntil);
            };
            if y.len() != 4 || m.len() != 2 || dd.len() != 2 {
                return Err(DowntimeError::BadUntil);
            }
            let t = UtcTime {
                year: digits(y).ok_or(DowntimeError::BadUntil)?,
                month: digits(m)
                    .and_then(|v| u8::try_from(v).ok())
                    .ok_or(DowntimeError::BadUntil)?,
                day: digits(dd)
                    .and_then(|v| u8::try_from(v).ok())
                    .ok_or(DowntimeError::BadUntil)?,
                hour,
                minute,
                second: 0,
            };
            t.to_unix().ok_or(DowntimeError::BadUntil)
        }
        None => {
            let today = UtcTime::from_unix(now);
            let t = UtcTime {
                hour,
                minute,
                second: 0,
                ..today
            };
            let at = t.to_unix().ok_or(DowntimeError::BadUntil)?;
            // The next occurrence: a time already past today means tomorrow.
            Ok(if at <= now {
                at.saturating_add(86_400)
            } else {
                at
            })
        }
    }
}

fn parse_hh_mm(s: &str) -> Option<(u8, u8)> {
    let (h, m) = s.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h = u8::try_from(digits(h)?).ok()?;
    let m = u8::try_from(digits(m)?).ok()?;
    (h < 24 && m < 60).then_some((h, m))
}

fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip_and_labels_are_short() {
        for a in ALL_ACTIONS {
            assert_eq!(Action::parse(a.as_str()), Some(a));
            assert!(a.as_str().bytes().all(|b| b.is_ascii_alphanumeric()));
            assert!(a.label().len() <= 8, "{a:?}");
        }
        assert_eq!(Action::parse("Ack"), None);
    }

    #[test]
    fn lists_parse_in_order_and_refuse_mistakes() {
        let l = ActionList::parse(" ack, Comment ,recheck,").unwrap();
        let got: Vec<Action> = l.iter().collect();
        assert_eq!(got, [Action::Ack, Action::Comment, Action::Recheck]);
        assert_eq!(
            ActionList::parse("ack,nope"),
            Err(ActionListError::Unknown(2))
        );
        assert_eq!(
            ActionList::parse("ack,ack"),
            Err(ActionListError::Repeated(2))
        );
        assert_eq!(ActionList::parse(" , "), Err(ActionListError::Empty));
        assert_eq!(
            ActionList::parse("ack,downtime,recheck"),
            Ok(DEFAULT_ACTIONS)
        );
    }

    #[test]
    fn offered_buttons_follow_the_phase_and_stop_at_three() {
        let all = ActionList::parse("ack,comment,downtime,recheck,unack").unwrap();
        let offered =
            |p, d| -> Vec<Action> { all.offered(p, d).iter().flatten().copied().collect() };
        assert_eq!(
            offered(Phase::Open, true),
            [Action::Ack, Action::Comment, Action::Downtime]
        );
        assert_eq!(offered(Phase::Open, false), [Action::Ack, Action::Recheck]);
        assert_eq!(
            offered(Phase::Acknowledged, true),
            [Action::Unack, Action::Downtime, Action::Recheck]
        );
        assert_eq!(
            offered(Phase::InDowntime, true),
            [Action::Ack, Action::Comment, Action::Recheck]
        );
        let d: Vec<Action> = DEFAULT_ACTIONS
            .offered(Phase::Acknowledged, false)
            .iter()
            .flatten()
            .copied()
            .collect();
        assert_eq!(d, [Action::Unack, Action::Recheck]);
    }

    const NOW: u64 = 1_764_284_400; // 2025-11-27 23:00:00 UTC

    #[test]
    fn presets_and_until_give_the_end() {
        assert_eq!(downtime_end("1h", "", NOW), Ok(NOW + 3600));
        assert_eq!(downtime_end("4h", "ignored", NOW), Ok(NOW + 4 * 3600));
        assert_eq!(downtime_end("1d", "", NOW), Ok(NOW + 86_400));
        // 23:30 today; 06:00 is tomorrow's.
        assert_eq!(downtime_end("until", "23:30", NOW), Ok(NOW + 1800));
        assert_eq!(downtime_end("until", "06:00 UTC", NOW), Ok(NOW + 7 * 3600));
        assert_eq!(
            downtime_end("until", "2025-11-29 12:00", NOW),
            Ok(NOW + 37 * 3600)
        );
    }

    #[test]
    fn unknown_presets_and_out_of_range_ends_are_refused() {
        assert_eq!(
            downtime_end("2h", "", NOW),
            Err(DowntimeError::UnknownPreset)
        );
        assert_eq!(downtime_end("", "", NOW), Err(DowntimeError::UnknownPreset));
        assert_eq!(
            downtime_end("until", " ", NOW),
            Err(DowntimeError::MissingUntil)
        );
        for bad in [
            "25:00",
            "12:60",
            "noon",
            "1200",
            "2025-13-01 10:00",
            "2025-02-30 10:00",
            "12:5",
        ] {
            assert_eq!(
                downtime_end("until", bad, NOW),
                Err(DowntimeError::BadUntil),
                "{bad}"
            );
        }
        assert_eq!(
            downtime_end("until", "23:02", NOW),
            Err(DowntimeError::TooSoon)
        );
        assert_eq!(
            downtime_end("until", "2025-11-27 22:00", NOW),
            Err(DowntimeError::TooSoon)
        );
        assert_eq!(
            downtime_end("until", "2031-01-01 00:00", NOW),
            Err(DowntimeError::TooFar)
        );
        assert_eq!(DowntimeError::UnknownPreset.element(), "preset");
        assert_eq!(DowntimeError::TooFar.element(), "until");
        // Saturating: a `now` at the end of time cannot overflow.
        assert!(downtime_end("1d", "", u64::MAX).is_err());
    }
}
