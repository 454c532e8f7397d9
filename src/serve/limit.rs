//! A per-address rate limit: a token bucket for each client address, refilled at `per_minute`, holding at
//! most `burst` extra submissions. In memory, per receiver: behind a load balancer each receiver limits alone.

use std::collections::HashMap;
use std::sync::Mutex;

pub struct Limiter {
    per_ms: f64,
    capacity: f64,
    buckets: Mutex<HashMap<String, (f64, i64)>>,
}

/// Buckets kept before the full ones are dropped.
const MAX_BUCKETS: usize = 100_000;

impl Limiter {
    /// `per_minute` 0: no limit.
    pub fn new(per_minute: u32, burst: u32) -> Limiter {
        Limiter {
            per_ms: f64::from(per_minute) / 60_000.0,
            capacity: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one submission from `key`'s bucket at `now`; `Err(ms)`: none left, the next in `ms`.
    pub fn take(&self, key: &str, now: i64) -> Result<(), i64> {
        if self.per_ms == 0.0 {
            return Ok(());
        }
        let mut b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if b.len() >= MAX_BUCKETS {
            // Full buckets are the same as no bucket.
            let (per_ms, cap) = (self.per_ms, self.capacity);
            b.retain(|_, (tokens, at)| (*tokens + (now - *at) as f64 * per_ms) < cap);
        }
        let (tokens, at) = b.entry(key.to_string()).or_insert((self.capacity, now));
        *tokens = (*tokens + (now - *at).max(0) as f64 * self.per_ms).min(self.capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / self.per_ms).ceil() as i64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket() {
        let l = Limiter::new(60, 3);
        for _ in 0..3 {
            assert_eq!(l.take("a", 0), Ok(()));
        }
        assert_eq!(l.take("a", 0), Err(1000));
        assert_eq!(l.take("b", 0), Ok(()), "another address has its own bucket");
        assert_eq!(l.take("a", 1000), Ok(()), "one a second comes back");
        assert!(l.take("a", 1000).is_err());
        assert_eq!(Limiter::new(0, 0).take("a", 0), Ok(()));
    }
}
