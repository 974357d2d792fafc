//! Pseudo-random numbers for the randomised tests (xorshift64): cases vary over a wide
//! range yet repeat run to run, so a failure names a case that can be replayed.

/// The generator's values, one per call.
pub fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

/// Values below the bound each call passes.
pub fn below_from(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut next = xorshift(seed);
    move |n| next() % n
}
