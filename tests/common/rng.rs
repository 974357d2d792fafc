//! The random numbers the generated suites draw (`evaluation`, `sweeps`).

use chrono::Duration;

/// Deterministic randomness for generated test data: splitmix64, whose stream never
/// changes (unlike a crate's default generator), so a case replays from its seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn u01(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.u01()
    }
    /// Log-uniform: as likely to land in [1, 2) as in [2, 4).
    pub fn log_range(&mut self, lo: f64, hi: f64) -> f64 {
        (lo.ln() + (hi.ln() - lo.ln()) * self.u01()).exp()
    }
    pub fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.u01() < p
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.next() as usize % items.len()]
    }
    pub fn minutes(&mut self, lo: f64, hi: f64) -> Duration {
        Duration::seconds((self.range(lo, hi) * 60.0) as i64)
    }
    /// A Poisson count (Knuth for small means, a normal approximation above 30).
    pub fn poisson(&mut self, mean: f64) -> f64 {
        if mean <= 0.0 {
            return 0.0;
        }
        if mean > 30.0 {
            let (u1, u2) = (self.u01().max(1e-12), self.u01());
            let n = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            return (mean + n * mean.sqrt()).round().max(0.0);
        }
        let (limit, mut p, mut k) = ((-mean).exp(), 1.0, 0.0);
        loop {
            p *= self.u01();
            if p <= limit {
                return k;
            }
            k += 1.0;
        }
    }
}
