//! `wire_enum!`: string enums that survive values this version does not know.
//!
//! ThingsBoard adds `EntityType` and `NotificationType` values in most releases. A client
//! that rejected a whole message because of one new enum name would go blind after a server
//! upgrade, so every wire enum gets an `Unknown(String)` variant that keeps the name and
//! encodes it back unchanged. Known names decode without allocating.

/// Declares a string-valued wire enum with an `Unknown(String)` fallback variant.
///
/// Generates `as_str`, `from_wire`, `KNOWN` (every known variant in declaration order),
/// `is_known`, `Display`, `FromStr` (infallible) and serde impls that read and write the
/// wire name.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A name this version of tb-monitor does not know, kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// Every variant this version knows, in declaration order.
            pub const KNOWN: &'static [$name] = &[ $( $name::$variant, )+ ];

            /// The name on the wire.
            #[must_use]
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )+
                    $name::Unknown(name) => name.as_str(),
                }
            }

            /// Maps a wire name to its variant; unknown names become `Unknown`.
            #[must_use]
            pub fn from_wire(name: &str) -> Self {
                match name {
                    $( $wire => $name::$variant, )+
                    other => $name::Unknown(other.to_owned()),
                }
            }

            /// Whether this is a variant this version knows.
            #[must_use]
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Unknown(_))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self::from_wire(s))
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct WireVisitor;
                impl ::serde::de::Visitor<'_> for WireVisitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " name"))
                    }
                    fn visit_str<E: ::serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        Ok($name::from_wire(v))
                    }
                }
                deserializer.deserialize_str(WireVisitor)
            }
        }
    };
}

pub(crate) use wire_enum;
