//! What a subscription last reported: the value, when it changed, the last error, and a
//! version that views cache on.
//!
//! * `Stamp` is the bookkeeping every subscription's state keeps (the entity and alarm
//!   pages, the notification inbox): a message with a non-zero `errorCode` sets the last
//!   error and changes nothing else; a successful one clears it.
//! * [`Reported`] adds the one value that each message replaces, which is all a count or a
//!   flag holds: [`EntityCount`](super::entities::EntityCount),
//!   [`AlarmCount`](super::alarms::AlarmCount) and
//!   [`AlarmStatusFlag`](super::alarms::AlarmStatusFlag) are `Reported` values, and the
//!   unread count of the notifications keeps one too.

use super::entities::SubscriptionError;
use crate::protocol::{
    AlarmCountUpdate, AlarmDataUpdate, AlarmStatusUpdate, EntityCountUpdate, EntityDataUpdate,
    NO_ERROR, UnreadNotificationsCountUpdate, UnreadNotificationsUpdate,
};

/// When a subscription's state last changed, the last error the server reported for it, and
/// a version that increments on every visible change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Stamp {
    updated_at_ms: Option<i64>,
    last_error: Option<SubscriptionError>,
    version: u64,
}

impl Stamp {
    /// Records the error (`errorCode`, `errorMsg`; see [`ErrorFields::error`]) of a message
    /// received at `received_at_ms` when it reports one, and returns whether it did; the
    /// caller then leaves its state alone.
    pub(crate) fn error(&mut self, (code, text): (i32, Option<&str>), received_at_ms: i64) -> bool {
        if code == NO_ERROR {
            return false;
        }
        self.last_error = Some(SubscriptionError::new(code, text, received_at_ms));
        self.touch(received_at_ms);
        true
    }

    /// A successful message received at `received_at_ms`: clears the error, marks a change.
    pub(crate) fn success(&mut self, received_at_ms: i64) {
        self.last_error = None;
        self.touch(received_at_ms);
    }

    /// A visible change brought by a message received at `received_at_ms`.
    pub(crate) fn touch(&mut self, received_at_ms: i64) {
        self.version = self.version.wrapping_add(1);
        self.updated_at_ms = Some(received_at_ms);
    }

    /// A visible change no message brought (the user dismissed something, a reset).
    pub(crate) fn bump(&mut self) {
        self.version = self.version.wrapping_add(1);
    }

    /// Forgets the error for a fresh subscription; a visible change.
    pub(crate) fn reset(&mut self) {
        self.last_error = None;
        self.bump();
    }

    /// Local time of the last change brought by a message (epoch ms).
    pub(crate) fn updated_at_ms(&self) -> Option<i64> {
        self.updated_at_ms
    }

    /// The last error the server reported, until a successful message clears it.
    pub(crate) fn last_error(&self) -> Option<&SubscriptionError> {
        self.last_error.as_ref()
    }

    /// Increments on every visible change.
    pub(crate) fn version(&self) -> u64 {
        self.version
    }
}

/// A server message's `errorCode` and `errorMsg`, which every v2 message carries.
pub trait ErrorFields {
    /// The wire `errorCode` (`NO_ERROR` for a success) and `errorMsg`.
    fn error(&self) -> (i32, Option<&str>);
}

/// A message that reports one value or an error: what [`Reported::apply`] takes.
pub trait Report: ErrorFields {
    /// The value a successful message carries.
    type Value;

    /// The value the message carries (meaningless when it reports an error).
    fn value(&self) -> Self::Value;
}

/// Implements [`ErrorFields`] for the messages of the listed
/// [`ServerMessage`](crate::protocol::ServerMessage) variants, and, for the tests,
/// [`wire::Kind`] to pick them out of a decoded message.
macro_rules! messages {
    ($($variant:ident($message:ty)),* $(,)?) => {$(
        impl ErrorFields for $message {
            fn error(&self) -> (i32, Option<&str>) {
                (self.error_code, self.error_msg.as_deref())
            }
        }

        #[cfg(test)]
        impl wire::Kind for $message {
            fn pick(
                message: crate::protocol::ServerMessage,
            ) -> Result<Self, crate::protocol::ServerMessage> {
                match message {
                    crate::protocol::ServerMessage::$variant(m) => Ok(m),
                    other => Err(other),
                }
            }
        }
    )*};
}

messages!(
    EntityData(EntityDataUpdate),
    EntityCount(EntityCountUpdate),
    AlarmData(AlarmDataUpdate),
    AlarmCount(AlarmCountUpdate),
    AlarmStatus(AlarmStatusUpdate),
    Notifications(UnreadNotificationsUpdate),
    NotificationsCount(UnreadNotificationsCountUpdate),
);

macro_rules! report {
    ($($message:ty => $field:ident: $value:ty),* $(,)?) => {$(
        impl Report for $message {
            type Value = $value;

            fn value(&self) -> $value {
                self.$field
            }
        }
    )*};
}

report! {
    EntityCountUpdate => count: i64,
    AlarmCountUpdate => count: i64,
    AlarmStatusUpdate => active: bool,
}

/// The last value one subscription reported, with when it last heard from the server, the
/// last error and a version.
///
/// A success replaces the value and clears the error; an error keeps the last value. Every
/// message, success or error, moves `updated_at_ms` and `version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported<T> {
    value: Option<T>,
    stamp: Stamp,
}

impl<T> Default for Reported<T> {
    fn default() -> Self {
        Self {
            value: None,
            stamp: Stamp::default(),
        }
    }
}

impl<T> Reported<T> {
    /// Nothing reported yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one message received at `received_at_ms` (local epoch ms): its wire `code` and
    /// `message` (`errorCode`, `errorMsg`) and the `value` it carries. Returns whether it was
    /// a success (`code` is `NO_ERROR`), that is, whether `value` was kept.
    pub fn record(
        &mut self,
        code: i32,
        message: Option<&str>,
        value: T,
        received_at_ms: i64,
    ) -> bool {
        if self.stamp.error((code, message), received_at_ms) {
            return false;
        }
        self.value = Some(value);
        self.stamp.success(received_at_ms);
        true
    }

    /// Applies one message that reports this kind of value (`COUNT_DATA`,
    /// `ALARM_COUNT_DATA`, `ALARM_STATUS`) received at `received_at_ms`.
    pub fn apply<M: Report<Value = T>>(&mut self, message: &M, received_at_ms: i64) {
        let (code, text) = message.error();
        self.record(code, text, message.value(), received_at_ms);
    }

    /// A visible change no message brought, to what its owner keeps beside the value (the
    /// list of an inbox).
    pub(crate) fn bump(&mut self) {
        self.stamp.bump();
    }

    /// Forgets the value and the error, for a fresh subscription; a visible change.
    pub(crate) fn reset(&mut self) {
        self.value = None;
        self.stamp.reset();
    }

    /// The last value received; `None` before the first success.
    #[must_use]
    pub fn value(&self) -> Option<&T> {
        self.value.as_ref()
    }

    /// Local time of the last message, success or error (epoch ms).
    #[must_use]
    pub fn updated_at_ms(&self) -> Option<i64> {
        self.stamp.updated_at_ms()
    }

    /// The last error, cleared by the next success.
    #[must_use]
    pub fn last_error(&self) -> Option<&SubscriptionError> {
        self.stamp.last_error()
    }

    /// Increments on every message (and on a reset).
    #[must_use]
    pub fn version(&self) -> u64 {
        self.stamp.version()
    }
}

impl Reported<i64> {
    /// The last count received; `None` before the first.
    #[must_use]
    pub fn count(&self) -> Option<i64> {
        self.value
    }
}

/// Test support shared by the store's tests: server messages from their JSON.
#[cfg(test)]
pub(crate) mod wire {
    use crate::protocol::ServerMessage;

    /// A kind of server message: what one [`ServerMessage`] variant carries.
    pub(crate) trait Kind: Sized {
        /// The message if it is of this kind, else the message itself.
        fn pick(message: ServerMessage) -> Result<Self, ServerMessage>;
    }

    /// The text of the server message fixture `tests/fixtures/server/<name>.json`.
    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!("../../tests/fixtures/server/", $name, ".json"))
        };
    }
    pub(crate) use fixture;

    /// Decodes `json` as a server message of kind `M`; panics on any other.
    pub(crate) fn decode<M: Kind>(json: &str) -> M {
        M::pick(ServerMessage::from_json(json).unwrap())
            .unwrap_or_else(|other| panic!("not {}: {other:?}", std::any::type_name::<M>()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_success_replaces_the_value_and_an_error_keeps_it() {
        let mut count = Reported::<i64>::new();
        assert_eq!((count.count(), count.version()), (None, 0));
        assert!(count.record(NO_ERROR, None, 4, 10));
        assert!(!count.record(3, None, 0, 11));
        assert_eq!(count.count(), Some(4));
        assert_eq!(count.last_error().map(|e| e.code), Some(3));
        assert_eq!((count.updated_at_ms(), count.version()), (Some(11), 2));
        assert!(count.record(NO_ERROR, Some("ignored"), 5, 12));
        assert_eq!((count.value(), count.last_error()), (Some(&5), None));
    }

    #[test]
    fn a_reset_forgets_the_value_and_the_error_but_not_the_time() {
        let mut count = Reported::<i64>::new();
        count.record(NO_ERROR, None, 4, 10);
        count.record(1, None, 0, 11);
        count.reset();
        assert_eq!((count.count(), count.last_error()), (None, None));
        assert_eq!((count.updated_at_ms(), count.version()), (Some(11), 3));
    }
}
