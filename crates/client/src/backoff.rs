//! The delay between reconnection attempts.

use std::time::Duration;

/// Exponential backoff with jitter, as socket.io-client's `Backoff`: attempt
/// `n` waits `min(max, base·2ⁿ ± factor·base·2ⁿ)`.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    base_ms: f64,
    max_ms: f64,
    jitter: f64,
    attempts: u32,
}

impl Backoff {
    pub(crate) fn new(base: Duration, max: Duration, jitter: f64) -> Self {
        Self {
            base_ms: base.as_secs_f64() * 1000.0,
            max_ms: max.as_secs_f64() * 1000.0,
            jitter: jitter.clamp(0.0, 1.0),
            attempts: 0,
        }
    }

    /// How many delays were handed out since the last reset.
    pub(crate) fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Starts over after a successful connection.
    pub(crate) fn reset(&mut self) {
        self.attempts = 0;
    }

    /// The next delay; counts one attempt.
    pub(crate) fn duration(&mut self) -> Duration {
        // 2^31 times any base is past any maximum: stop growing there.
        let exponent = self.attempts.min(31);
        self.attempts = self.attempts.saturating_add(1);
        let mut ms = self.base_ms * f64::from(1u32 << exponent);
        if self.jitter > 0.0 {
            let rand: f64 = rand::random();
            let deviation = (rand * self.jitter * ms).floor();
            ms = if rand::random::<bool>() {
                ms - deviation
            } else {
                ms + deviation
            };
        }
        Duration::from_secs_f64(ms.clamp(0.0, self.max_ms) / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_maximum() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(5), 0.0);
        let delays: Vec<_> = (0..5).map(|_| b.duration().as_millis()).collect();
        assert_eq!(delays, [1000, 2000, 4000, 5000, 5000]);
        assert_eq!(b.attempts(), 5);
        b.reset();
        assert_eq!(b.duration(), Duration::from_secs(1));
    }

    #[test]
    fn jitter_stays_within_the_factor() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(5), 0.5);
        for _ in 0..100 {
            b.reset();
            let d = b.duration().as_millis();
            assert!((500..=1500).contains(&d), "{d}");
        }
        for _ in 0..40 {
            assert!(b.duration() <= Duration::from_secs(5));
        }
    }
}
