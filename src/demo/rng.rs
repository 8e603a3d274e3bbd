//! Deterministic randomness: everything the demo tenant does follows from its seed.

/// `SplitMix64`: small, fast, and good enough for simulation.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// A float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        unit(self.next_u64())
    }

    /// An integer in `[0, n)`; 0 when `n` is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// A random UUID (v4 layout) from the stream.
    pub fn uuid(&mut self) -> uuid::Uuid {
        let hi = u128::from(self.next_u64());
        let lo = u128::from(self.next_u64());
        uuid::Builder::from_random_bytes(((hi << 64) | lo).to_be_bytes()).into_uuid()
    }
}

/// The `SplitMix64` finaliser: a good 64-bit hash of one word.
#[must_use]
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hash of several words (order matters).
#[must_use]
pub fn hash(words: &[u64]) -> u64 {
    words.iter().fold(0x51_7C_C1_B7_27_22_0A_95, |acc, w| {
        mix(acc ^ w.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    })
}

/// Maps 64 random bits to `[0, 1)`.
#[must_use]
pub fn unit(bits: u64) -> f64 {
    // 53 significant bits: exact in f64.
    #[allow(clippy::cast_precision_loss)]
    let v = (bits >> 11) as f64;
    #[allow(clippy::cast_precision_loss)]
    let scale = (1u64 << 53) as f64;
    v / scale
}

/// Hash of a string, for deriving per-key streams.
#[must_use]
pub fn hash_str(s: &str) -> u64 {
    s.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    })
}
