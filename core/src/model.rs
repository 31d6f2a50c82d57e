//! The notification model: what a monitoring core tells us about one alert.
//!
//! Values come straight from the core's macros (`$NOTIFICATIONTYPE$`,
//! `$HOSTSTATEID$`, ...). Nothing here rejects input: an unknown
//! notification type or state id still renders, as given.

/// Whether the alert is about a host or a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A host alert (`--type Host`).
    Host,
    /// A service alert (`--type Service`).
    Service,
}

/// The `$NOTIFICATIONTYPE$` macro.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationType<'a> {
    /// `PROBLEM`
    Problem,
    /// `RECOVERY`
    Recovery,
    /// `ACKNOWLEDGEMENT`
    Acknowledgement,
    /// `FLAPPINGSTART`
    FlappingStart,
    /// `FLAPPINGSTOP`
    FlappingStop,
    /// `FLAPPINGDISABLED`
    FlappingDisabled,
    /// `DOWNTIMESTART`
    DowntimeStart,
    /// `DOWNTIMEEND`
    DowntimeEnd,
    /// `DOWNTIMECANCELLED`
    DowntimeCancelled,
    /// `CUSTOM`
    Custom,
    /// Anything else, rendered as given (untrusted text).
    Other(&'a str),
}

impl<'a> NotificationType<'a> {
    /// Every named type, in the order the core documents them.
    pub const ALL: [NotificationType<'static>; 10] = [
        NotificationType::Problem,
        NotificationType::Recovery,
        NotificationType::Acknowledgement,
        NotificationType::FlappingStart,
        NotificationType::FlappingStop,
        NotificationType::FlappingDisabled,
        NotificationType::DowntimeStart,
        NotificationType::DowntimeEnd,
        NotificationType::DowntimeCancelled,
        NotificationType::Custom,
    ];

    /// Icinga 2's names for types Nagios spells differently (its
    /// `$notification.type$`: `FlappingEnd`, `DowntimeRemoved`); the other
    /// Icinga 2 names equal the Nagios ones but for case.
    const ICINGA_2_NAMES: [(&'static str, NotificationType<'static>); 2] = [
        ("FLAPPINGEND", NotificationType::FlappingStop),
        ("DOWNTIMEREMOVED", NotificationType::DowntimeCancelled),
    ];

    /// Parses the macro value; case-insensitive, surrounding blanks ignored.
    /// Icinga 2's `FlappingEnd` and `DowntimeRemoved` are the Nagios
    /// `FLAPPINGSTOP` and `DOWNTIMECANCELLED`. Unknown values become
    /// [`NotificationType::Other`] with the trimmed text.
    pub fn parse(value: &'a str) -> Self {
        let v = value.trim();
        for t in Self::ALL {
            if v.eq_ignore_ascii_case(t.as_str()) {
                return t;
            }
        }
        for (name, t) in Self::ICINGA_2_NAMES {
            if v.eq_ignore_ascii_case(name) {
                return t;
            }
        }
        NotificationType::Other(v)
    }

    /// The macro spelling (`PROBLEM`, ...), or the given text for `Other`.
    pub fn as_str(&self) -> &'a str {
        match self {
            NotificationType::Problem => "PROBLEM",
            NotificationType::Recovery => "RECOVERY",
            NotificationType::Acknowledgement => "ACKNOWLEDGEMENT",
            NotificationType::FlappingStart => "FLAPPINGSTART",
            NotificationType::FlappingStop => "FLAPPINGSTOP",
            NotificationType::FlappingDisabled => "FLAPPINGDISABLED",
            NotificationType::DowntimeStart => "DOWNTIMESTART",
            NotificationType::DowntimeEnd => "DOWNTIMEEND",
            NotificationType::DowntimeCancelled => "DOWNTIMECANCELLED",
            NotificationType::Custom => "CUSTOM",
            NotificationType::Other(s) => s,
        }
    }
}

/// A state as the core reports it, already interpreted for the [`Kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Host 0.
    Up,
    /// Host 1.
    Down,
    /// Host 2.
    Unreachable,
    /// Service 0.
    Ok,
    /// Service 1.
    Warning,
    /// Service 2.
    Critical,
    /// Service 3.
    Unknown,
    /// An id outside the documented range, or no id at all (an empty macro).
    Invalid,
}

impl State {
    /// Interprets a `$HOSTSTATEID$` / `$SERVICESTATEID$` value for `kind`.
    /// Blanks are ignored; anything unparsable or out of range is
    /// [`State::Invalid`], never an error.
    pub fn from_id(kind: Kind, id: &str) -> Self {
        match (kind, id.trim()) {
            (Kind::Host, "0") => State::Up,
            (Kind::Host, "1") => State::Down,
            (Kind::Host, "2") => State::Unreachable,
            (Kind::Service, "0") => State::Ok,
            (Kind::Service, "1") => State::Warning,
            (Kind::Service, "2") => State::Critical,
            (Kind::Service, "3") => State::Unknown,
            _ => State::Invalid,
        }
    }

    /// Display name as the original module shows it (`Up`, `Critical`, ...).
    pub fn name(self) -> &'static str {
        match self {
            State::Up => "Up",
            State::Down => "Down",
            State::Unreachable => "Unreachable",
            State::Ok => "Ok",
            State::Warning => "Warning",
            State::Critical => "Critical",
            State::Unknown => "Unknown",
            State::Invalid => "Unknown state",
        }
    }

    /// True for UP and OK: the states that never get an Acknowledge button.
    pub fn is_ok(self) -> bool {
        matches!(self, State::Up | State::Ok)
    }
}

/// One alert, borrowed from the caller's strings. All text is untrusted.
#[derive(Debug, Clone, Copy)]
pub struct Notification<'a> {
    /// Host or service alert.
    pub kind: Kind,
    /// `$NOTIFICATIONTYPE$`.
    pub notification_type: NotificationType<'a>,
    /// `$HOSTSTATEID$` or `$SERVICESTATEID$`, interpreted.
    pub state: State,
    /// `$HOSTNAME$` (a UUID in openITCOCKPIT).
    pub host_uuid: &'a str,
    /// `$HOSTDISPLAYNAME$`; empty means "use `host_uuid`".
    pub host_name: &'a str,
    /// `$HOSTADDRESS$`; may be empty.
    pub host_address: &'a str,
    /// `$SERVICEDESC$` (a UUID in openITCOCKPIT); empty for host alerts.
    pub service_uuid: &'a str,
    /// `$SERVICEDISPLAYNAME$`; empty means "use `service_uuid`".
    pub service_name: &'a str,
    /// `$HOSTOUTPUT$` / `$SERVICEOUTPUT$`.
    pub output: &'a str,
    /// `$LONGHOSTOUTPUT$` / `$LONGSERVICEOUTPUT$`.
    pub long_output: &'a str,
    /// `$NOTIFICATIONAUTHOR$` (set for ACKNOWLEDGEMENT, DOWNTIME*, CUSTOM).
    pub ack_author: &'a str,
    /// `$NOTIFICATIONCOMMENT$`.
    pub ack_comment: &'a str,
    /// When the event happened, unix seconds (UTC).
    pub event_time: u64,
}

impl<'a> Notification<'a> {
    /// The host name to show: the display name, else the UUID.
    pub fn host_label(&self) -> &'a str {
        if self.host_name.trim().is_empty() {
            self.host_uuid
        } else {
            self.host_name
        }
    }

    /// The service name to show: the display name, else the UUID.
    pub fn service_label(&self) -> &'a str {
        if self.service_name.trim().is_empty() {
            self.service_uuid
        } else {
            self.service_name
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icinga_2_type_names_are_the_nagios_types() {
        for (given, want) in [
            ("FlappingEnd", NotificationType::FlappingStop),
            (" FLAPPINGEND ", NotificationType::FlappingStop),
            ("DowntimeRemoved", NotificationType::DowntimeCancelled),
            ("downtimeremoved", NotificationType::DowntimeCancelled),
            ("FlappingStart", NotificationType::FlappingStart),
            ("Problem", NotificationType::Problem),
        ] {
            assert_eq!(NotificationType::parse(given), want, "{given:?}");
        }
        assert_eq!(
            NotificationType::parse("FlappingEnded"),
            NotificationType::Other("FlappingEnded")
        );
    }
}
