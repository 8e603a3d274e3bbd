//! Believable telemetry as a pure function of (seed, device, key, time).
//!
//! Nothing is stored: a point at time `t` is computed when asked for, so seven days of
//! history for 10 000 devices cost no memory. Points exist on a fixed grid (`period_ms`);
//! a device has dropouts (missing 10-minute windows) and some devices go offline for a
//! while every few hours.

use super::rng::{hash, hash_str, unit};

/// How a signal evolves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// `base + daily * sin(day phase) + noise`, with rare spikes.
    Wave {
        /// Mean value.
        base: f64,
        /// Amplitude of the daily cycle.
        daily: f64,
        /// Amplitude of the uniform noise.
        noise: f64,
        /// Size of a spike (added on about 0.2 % of the points).
        spike: f64,
    },
    /// A counter growing by `per_hour` (with noise in the rate), e.g. energy in kWh.
    Counter {
        /// Mean growth per hour.
        per_hour: f64,
    },
}

/// One telemetry key of a device profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Signal {
    /// Telemetry key.
    pub key: &'static str,
    /// How it evolves.
    pub shape: Shape,
    /// Decimals kept; 0 renders a whole number like Java's `Long`.
    pub decimals: u32,
}

const fn wave(
    key: &'static str,
    base: f64,
    daily: f64,
    noise: f64,
    spike: f64,
    decimals: u32,
) -> Signal {
    Signal {
        key,
        shape: Shape::Wave {
            base,
            daily,
            noise,
            spike,
        },
        decimals,
    }
}

const THERMOSTAT: &[Signal] = &[
    wave("temperature", 21.5, 2.5, 0.4, 14.0, 2),
    wave("humidity", 45.0, 8.0, 2.0, 20.0, 1),
    wave("batteryLevel", 86.0, 0.0, 1.5, 0.0, 0),
];
const WATER_PUMP: &[Signal] = &[
    wave("pressure", 3.2, 0.4, 0.15, -2.4, 2),
    wave("flowRate", 12.0, 5.0, 0.8, 9.0, 2),
    wave("vibration", 0.8, 0.1, 0.2, 4.0, 3),
];
const ENERGY_METER: &[Signal] = &[
    wave("power", 4.2, 2.8, 0.5, 6.0, 3),
    Signal {
        key: "energy",
        shape: Shape::Counter { per_hour: 4.2 },
        decimals: 2,
    },
    wave("voltage", 230.0, 3.0, 1.2, -25.0, 1),
];
const GATEWAY: &[Signal] = &[
    wave("rssi", -67.0, 4.0, 3.0, -20.0, 0),
    wave("connectedDevices", 12.0, 2.0, 1.0, 0.0, 0),
    wave("cpuLoad", 35.0, 15.0, 6.0, 50.0, 1),
];

/// The device profiles of the demo tenant.
pub const DEVICE_PROFILES: [&str; 4] = ["thermostat", "water-pump", "energy-meter", "gateway"];

/// The telemetry keys of a device profile (none for unknown profiles).
#[must_use]
pub fn profile_signals(profile: &str) -> &'static [Signal] {
    match profile {
        "thermostat" => THERMOSTAT,
        "water-pump" => WATER_PUMP,
        "energy-meter" => ENERGY_METER,
        "gateway" => GATEWAY,
        _ => &[],
    }
}

const DAY_MS: f64 = 86_400_000.0;
const DROPOUT_WINDOW_MS: i64 = 600_000;
const OFFLINE_CYCLE_MS: i64 = 4 * 3_600_000;
const OFFLINE_SPAN_MS: i64 = 20 * 60_000;

/// The stream of one device: its seed-mixed hash and whether it goes offline regularly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceStream {
    /// Hash of (tenant seed, device).
    pub hash: u64,
    /// Whether this device goes offline for 20 minutes every 4 hours.
    pub flaky: bool,
}

impl DeviceStream {
    /// Whether the device reports nothing at `t_ms` (a dropout window or an offline spell).
    #[must_use]
    pub fn silent_at(&self, t_ms: i64) -> bool {
        self.offline_at(t_ms) || self.dropout_at(t_ms)
    }

    /// Whether a flaky device is in an offline spell at `t_ms`.
    #[must_use]
    pub fn offline_at(&self, t_ms: i64) -> bool {
        if !self.flaky {
            return false;
        }
        let offset = i64::try_from(self.hash % (OFFLINE_CYCLE_MS as u64)).unwrap_or(0);
        (t_ms + offset).rem_euclid(OFFLINE_CYCLE_MS) < OFFLINE_SPAN_MS
    }

    /// Whether `t_ms` falls in one of the device's missing 10-minute windows (about 1 %).
    #[must_use]
    pub fn dropout_at(&self, t_ms: i64) -> bool {
        let window = t_ms.div_euclid(DROPOUT_WINDOW_MS);
        #[allow(clippy::cast_sign_loss)]
        let w = window as u64;
        unit(hash(&[self.hash, 0xD0, w])) < 0.01
    }

    /// The value of `signal` at `t_ms` (ignores silence; ask [`Self::silent_at`] first).
    #[must_use]
    pub fn value(&self, signal: &Signal, t_ms: i64) -> f64 {
        let key = hash_str(signal.key);
        #[allow(clippy::cast_sign_loss)]
        let tick = t_ms as u64;
        let r = |salt: u64| unit(hash(&[self.hash, key, salt, tick]));
        let raw = match signal.shape {
            Shape::Wave {
                base,
                daily,
                noise,
                spike,
            } => {
                let phase = unit(hash(&[self.hash, key, 0xF0])) * std::f64::consts::TAU;
                #[allow(clippy::cast_precision_loss)]
                let day = (t_ms as f64 / DAY_MS) * std::f64::consts::TAU;
                let own_base = base * (0.9 + 0.2 * unit(hash(&[self.hash, key, 0xBA])));
                let spiked = if r(2) < 0.002 { spike } else { 0.0 };
                own_base + daily * (day + phase).sin() + noise * (r(1) * 2.0 - 1.0) + spiked
            }
            Shape::Counter { per_hour } => {
                #[allow(clippy::cast_precision_loss)]
                let hours = t_ms as f64 / 3_600_000.0;
                let own_rate = per_hour * (0.8 + 0.4 * unit(hash(&[self.hash, key, 0xC0])));
                own_rate * hours + 0.05 * r(1)
            }
        };
        round_to(raw, signal.decimals)
    }
}

fn round_to(v: f64, decimals: u32) -> f64 {
    let f = 10f64.powi(i32::try_from(decimals).unwrap_or(0));
    (v * f).round() / f
}

/// Renders a sample as ThingsBoard would: a whole number like Java's `Long.toString`,
/// anything else like `Double.toString`.
#[must_use]
pub fn render(signal: &Signal, v: f64) -> String {
    if signal.decimals == 0 {
        #[allow(clippy::cast_possible_truncation)]
        let whole = v.round() as i64;
        whole.to_string()
    } else {
        crate::protocol::format_java_double(v)
    }
}
