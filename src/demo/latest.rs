//! Latest time series values per entity and key (what `latestCmd` and key filters read).

use std::collections::{BTreeMap, HashMap};

use crate::protocol::{EntityId, TsValue};

/// The newest value of every time series key of every entity.
#[derive(Debug, Clone, Default)]
pub struct LatestStore {
    map: HashMap<EntityId, BTreeMap<String, TsValue>>,
}

impl LatestStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The latest value of `key` of `entity`.
    #[must_use]
    pub fn get(&self, entity: &EntityId, key: &str) -> Option<&TsValue> {
        self.map.get(entity)?.get(key)
    }

    /// Every key of `entity` with its latest value, sorted by key.
    #[must_use]
    pub fn entity(&self, entity: &EntityId) -> Option<&BTreeMap<String, TsValue>> {
        self.map.get(entity)
    }

    /// Records `value` as the latest of `key` if it is not older than the current one.
    /// Returns whether the latest value changed.
    pub fn offer(&mut self, entity: &EntityId, key: &str, value: TsValue) -> bool {
        let keys = self.map.entry(entity.clone()).or_default();
        match keys.get(key) {
            Some(cur) if cur.ts > value.ts || *cur == value => false,
            _ => {
                keys.insert(key.to_owned(), value);
                true
            }
        }
    }

    /// Deletes `key` of `entity`; returns whether it existed.
    pub fn delete(&mut self, entity: &EntityId, key: &str) -> bool {
        self.map
            .get_mut(entity)
            .is_some_and(|keys| keys.remove(key).is_some())
    }
}
