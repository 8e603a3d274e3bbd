//! Entity ids: `{"entityType":"DEVICE","id":"<uuid>"}` everywhere on the wire.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::enums::{EntityAlias, EntityType};

/// The id ThingsBoard uses for "no customer" / "no tenant" placeholders.
pub const NULL_UUID: Uuid = Uuid::from_u128(0x1381_4000_1dd2_11b2_8080_8080_8080_8080);

/// A typed entity id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityId {
    /// What kind of entity this is.
    pub entity_type: EntityType,
    /// The entity's UUID.
    pub id: Uuid,
}

impl EntityId {
    /// An id of the given type.
    #[must_use]
    pub fn new(entity_type: EntityType, id: Uuid) -> Self {
        Self { entity_type, id }
    }

    /// A device id.
    #[must_use]
    pub fn device(id: Uuid) -> Self {
        Self::new(EntityType::Device, id)
    }

    /// An asset id.
    #[must_use]
    pub fn asset(id: Uuid) -> Self {
        Self::new(EntityType::Asset, id)
    }

    /// A user id.
    #[must_use]
    pub fn user(id: Uuid) -> Self {
        Self::new(EntityType::User, id)
    }

    /// A customer id.
    #[must_use]
    pub fn customer(id: Uuid) -> Self {
        Self::new(EntityType::Customer, id)
    }

    /// Whether this is ThingsBoard's `NULL_UUID` placeholder (e.g. "no customer").
    #[must_use]
    pub fn is_null(&self) -> bool {
        self.id == NULL_UUID
    }
}

impl std::fmt::Display for EntityId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.entity_type, self.id)
    }
}

/// The type part of an id that filters accept: a real entity type or a `CURRENT_*` alias.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EntityTypeOrAlias {
    /// A concrete entity type.
    Entity(EntityType),
    /// An alias resolved by the server for the current user.
    Alias(EntityAlias),
}

impl EntityTypeOrAlias {
    /// The name on the wire.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            EntityTypeOrAlias::Entity(t) => t.as_str(),
            EntityTypeOrAlias::Alias(a) => a.as_str(),
        }
    }

    /// Maps a wire name: alias names become `Alias`, everything else an [`EntityType`].
    #[must_use]
    pub fn from_wire(name: &str) -> Self {
        match EntityAlias::from_wire(name) {
            EntityAlias::Unknown(_) => EntityTypeOrAlias::Entity(EntityType::from_wire(name)),
            alias => EntityTypeOrAlias::Alias(alias),
        }
    }
}

impl Serialize for EntityTypeOrAlias {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EntityTypeOrAlias {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Ok(Self::from_wire(&name))
    }
}

/// An id in an entity filter: a concrete entity, or an alias such as `CURRENT_CUSTOMER`
/// whose `id` is optional (the default customer).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AliasEntityId {
    /// Entity type or alias.
    pub entity_type: EntityTypeOrAlias,
    /// The entity's UUID; optional for aliases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
}

impl From<EntityId> for AliasEntityId {
    fn from(id: EntityId) -> Self {
        Self {
            entity_type: EntityTypeOrAlias::Entity(id.entity_type),
            id: Some(id.id),
        }
    }
}

impl AliasEntityId {
    /// An alias id, e.g. the current customer.
    #[must_use]
    pub fn alias(alias: EntityAlias) -> Self {
        Self {
            entity_type: EntityTypeOrAlias::Alias(alias),
            id: None,
        }
    }
}
