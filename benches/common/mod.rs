//! The benchmark corpus shared by `benches/decode.rs` and `benches/pipeline.rs`: typical
//! `ENTITY_DATA` live updates, generated deterministically so every run and every bench
//! works on the same bytes. Its generator ([`Lcg`]) also feeds `table.rs`, `series.rs` and
//! `plots.rs`; [`frame`] draws the headless egui frames of `table.rs` and `plots.rs`.

use std::fmt::Write as _;

#[allow(dead_code)] // only the UI benches draw frames
pub mod frame;

/// A small deterministic generator, so every run works on the same data.
pub struct Lcg(pub u64);

impl Lcg {
    /// The next 31-bit number.
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The time series keys the corpus draws from.
pub const KEYS: [&str; 6] = [
    "temperature",
    "humidity",
    "pressure",
    "batteryLevel",
    "rssi",
    "co2",
];

/// `count` `ENTITY_DATA` `update` messages of 1–2 entities with 1–3 time series keys each,
/// shaped exactly like ThingsBoard's (about 450 bytes on average). `cmdId` cycles through
/// 1–7; timestamps fall within the day after 1,700,000,000,000 ms.
pub fn corpus(count: usize) -> Vec<String> {
    let mut rng = Lcg(0x7b_6d_6f_6e);
    (0..count)
        .map(|i| {
            let mut s = format!(r#"{{"cmdId":{},"data":null,"update":["#, 1 + i % 7);
            let entities = 1 + rng.below(2);
            for e in 0..entities {
                if e > 0 {
                    s.push(',');
                }
                let id = uuid::Uuid::from_u64_pair(rng.next() << 20 | rng.next(), rng.next() << 20 | rng.next());
                write!(s, r#"{{"entityId":{{"entityType":"DEVICE","id":"{id}"}},"latest":{{"TIME_SERIES":{{"#).ok();
                let keys = 1 + rng.below(3);
                for k in 0..keys {
                    if k > 0 {
                        s.push(',');
                    }
                    let key = KEYS[usize::try_from(rng.below(KEYS.len() as u64)).unwrap_or(0)];
                    let ts = 1_700_000_000_000 + rng.below(86_400_000);
                    let value = f64::from(u32::try_from(rng.below(100_000)).unwrap_or(0)) / 100.0;
                    write!(s, r#""{key}":{{"ts":{ts},"value":"{value}"}}"#).ok();
                }
                s.push_str(r#"}},"timeseries":null,"aggLatest":null}"#);
            }
            s.push_str(r#"],"errorCode":0,"errorMsg":null,"allowedEntities":10000,"cmdUpdateType":"ENTITY_DATA"}"#);
            s
        })
        .collect()
}
