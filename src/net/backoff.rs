//! Reconnect delays: capped exponential backoff with full jitter.
//!
//! The delay before attempt `n` is uniform in `[0, min(cap, base · 2^n)]` ("full jitter"), so
//! a fleet of laptops that lost the same server does not come back in lock-step. The caller
//! resets the backoff only once the first message arrives on a new socket: a server that
//! accepts and then closes at once (a session limit, 1008) keeps backing off instead of
//! looping every second, the failure mode ThingsBoard's own UI had before 2026.
//!
//! A close that says the server is full (a session limit) is not fixed by trying sooner: the
//! delay after one ([`Backoff::next_long_delay`]) is uniform in `[cap / 2, cap]` whatever the
//! attempt, so a client locked out makes at most about two attempts a minute (three when
//! the jitter lands on both bounds) instead of eight on the doubling ramp.
//!
//! ```
//! use std::time::Duration;
//! use tb_monitor::net::backoff::Backoff;
//!
//! let mut b = Backoff::new(Duration::from_secs(1), Duration::from_mins(1));
//! assert_eq!(b.ceiling(), Duration::from_secs(1));
//! let first = b.next_delay();
//! assert!(first <= Duration::from_secs(1));
//! assert_eq!(b.ceiling(), Duration::from_secs(2));
//! b.reset();
//! assert_eq!(b.attempt(), 0);
//! ```

use std::time::Duration;

/// Capped exponential backoff with full jitter.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
    rng: SplitMix64,
}

impl Backoff {
    /// A backoff starting at `base` and doubling up to `cap`.
    #[must_use]
    pub fn new(base: Duration, cap: Duration) -> Self {
        Self::with_seed(base, cap, seed_from_clock())
    }

    /// The same with a fixed jitter seed (tests).
    #[must_use]
    pub fn with_seed(base: Duration, cap: Duration, seed: u64) -> Self {
        Self {
            base,
            cap: cap.max(base),
            attempt: 0,
            rng: SplitMix64(seed),
        }
    }

    /// How many delays were handed out since the last reset.
    #[must_use]
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The upper bound of the next delay: `min(cap, base · 2^attempt)`.
    #[must_use]
    pub fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.attempt.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The delay before the next attempt (uniform in `[0, ceiling]`), and counts it.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        self.jitter(ceiling)
    }

    /// The delay after a close saying the server is full (a session limit): uniform in
    /// `[cap / 2, cap]`, counted like [`Backoff::next_delay`] (the ceiling keeps doubling for
    /// the attempts after it).
    pub fn next_long_delay(&mut self) -> Duration {
        self.attempt = self.attempt.saturating_add(1);
        let floor = self.cap / 2;
        floor + self.jitter(self.cap.saturating_sub(floor))
    }

    /// Uniform in `[0, max]`.
    fn jitter(&mut self, max: Duration) -> Duration {
        let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(self.rng.next() % nanos.saturating_add(1))
    }

    /// Back to the first delay (after a message arrived on a new socket).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// A tiny, well-mixed PRNG for jitter (no crypto needed, no dependency).
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn seed_from_clock() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    // Truncation is fine: any bits make a seed.
    #[allow(clippy::cast_possible_truncation)]
    let low = nanos as u64;
    low ^ u64::from(std::process::id()).rotate_left(32)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn the_ceiling_doubles_from_the_base_up_to_the_cap() {
        let mut b = Backoff::with_seed(S, Duration::from_mins(1), 1);
        let ceilings: Vec<u64> = (0..9)
            .map(|_| {
                let c = b.ceiling().as_secs();
                b.next_delay();
                c
            })
            .collect();
        assert_eq!(ceilings, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    #[test]
    fn every_delay_lies_between_zero_and_its_ceiling_and_they_are_spread() {
        let mut b = Backoff::with_seed(S, Duration::from_mins(1), 7);
        for _ in 0..6 {
            b.next_delay();
        }
        let delays: Vec<Duration> = (0..1000)
            .map(|_| {
                let d = b.next_delay();
                assert!(d <= Duration::from_mins(1));
                d
            })
            .collect();
        let mean = delays.iter().sum::<Duration>() / 1000;
        // Uniform in [0, 60 s]: the mean is near 30 s.
        assert!(
            mean > Duration::from_secs(25) && mean < Duration::from_secs(35),
            "{mean:?}"
        );
    }

    #[test]
    fn reset_starts_again_from_the_base() {
        let mut b = Backoff::with_seed(S, Duration::from_mins(1), 3);
        for _ in 0..5 {
            b.next_delay();
        }
        b.reset();
        assert_eq!(b.attempt(), 0);
        assert_eq!(b.ceiling(), S);
    }

    #[test]
    fn after_a_session_limit_the_delay_is_between_half_the_cap_and_the_cap_from_the_first_attempt()
    {
        let cap = Duration::from_mins(1);
        let mut b = Backoff::with_seed(S, cap, 11);
        let delays: Vec<Duration> = (0..1000).map(|_| b.next_long_delay()).collect();
        assert!(
            delays.iter().all(|d| *d >= cap / 2 && *d <= cap),
            "{:?}",
            delays.iter().min()
        );
        let mean = delays.iter().sum::<Duration>() / 1000;
        assert!(
            mean > Duration::from_secs(42) && mean < Duration::from_secs(48),
            "spread over [30 s, 60 s]: {mean:?}"
        );
        assert_eq!(b.attempt(), 1000, "counted like any attempt");
        // Attempts per minute of lock-out, starting with one at once: at most 3.
        let mut b = Backoff::with_seed(S, cap, 5);
        for _ in 0..100 {
            let (mut t, mut attempts) = (Duration::ZERO, 1);
            loop {
                t += b.next_long_delay();
                if t > cap {
                    break;
                }
                attempts += 1;
            }
            assert!(attempts <= 3, "{attempts}");
        }
    }

    #[test]
    fn a_huge_attempt_count_never_overflows() {
        let mut b = Backoff::with_seed(S, Duration::from_mins(1), 3);
        b.attempt = u32::MAX - 1;
        assert_eq!(b.ceiling(), Duration::from_mins(1));
        b.next_delay();
        b.next_delay();
        assert_eq!(b.attempt(), u32::MAX);
    }
}
