//! Property tests: arbitrary server messages survive encode → decode unchanged, and
//! arbitrary bytes never make the decoder panic.

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use proptest::prelude::*;
use tb_monitor::protocol::ServerMessage;

#[path = "common/strategies.rs"]
mod strategies;

use strategies::server_message;

/// What the round trips draw from: any integer, any entity id, any text.
mod knobs {
    use proptest::prelude::*;

    pub fn i64s() -> BoxedStrategy<i64> {
        any::<i64>().boxed()
    }

    pub fn uuids() -> BoxedStrategy<u128> {
        any::<u128>().boxed()
    }

    pub fn text() -> BoxedStrategy<String> {
        prop_oneof![
            "[a-zA-Z0-9 _.-]{0,12}",
            any::<String>(),
            Just("\"quoted\" \\ back\\slash \n newline \u{1F600}".to_owned()),
        ]
        .boxed()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_server_messages_round_trip_through_json(msg in server_message()) {
        let text = msg.to_json().expect("encodes");
        let back = ServerMessage::from_json(&text)
            .unwrap_or_else(|e| panic!("decode failed: {e}\n{text}"));
        prop_assert_eq!(&back, &msg);
        // The generic serde path agrees with the fast decoder.
        let generic: ServerMessage = serde_json::from_str(&text).expect("generic decode");
        prop_assert_eq!(generic, msg);
    }

    #[test]
    fn arbitrary_text_never_panics_the_decoder(text in any::<String>()) {
        let _ = ServerMessage::from_json(&text);
    }

    #[test]
    fn mutated_messages_never_panic_the_decoder(
        msg in server_message(),
        cut in any::<proptest::sample::Index>(),
        junk in "[\\[\\]{}\":,0-9a-z\\\\]{0,8}",
    ) {
        let text = msg.to_json().expect("encodes");
        let at = cut.index(text.len() + 1);
        let at = (0..=at).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        let mutated = format!("{}{}{}", &text[..at], junk, &text[at..]);
        let _ = ServerMessage::from_json(&mutated);
    }
}
