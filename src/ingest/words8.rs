//! The first byte of a kind in a slice, looked for eight bytes at a time in a `u64`
//! (SWAR), without `unsafe`: string and name scans are most of a line's bytes, and a
//! byte-at-a-time loop over them cost more than the rest of the scan.
//!
//! A mark is a byte's high bit. Each marker below marks its true hits exactly; a borrow
//! out of a true hit can only mark bytes after it, so the lowest mark of any union of
//! markers is a true hit.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Marks the bytes of `x` equal to `byte`.
pub fn equal(x: u64, byte: u8) -> u64 {
    let y = x ^ (ONES * u64::from(byte));
    y.wrapping_sub(ONES) & !y & HIGHS
}

/// Marks the bytes of `x` below `n` (`n` at most 0x80).
pub fn below(x: u64, n: u8) -> u64 {
    x.wrapping_sub(ONES * u64::from(n)) & !x & HIGHS
}

/// Marks the bytes of `x` above 0x7F.
pub fn high(x: u64) -> u64 {
    x & HIGHS
}

/// The index of the first byte of `b` that `marks` marks in its eight-byte word, or, in
/// the last bytes that fill no word, that `is` accepts (the same bytes, one at a time).
pub fn first(b: &[u8], marks: impl Fn(u64) -> u64, is: impl Fn(u8) -> bool) -> Option<usize> {
    let mut i = 0;
    while let Some(word) = b.get(i..i + 8) {
        let hits = marks(u64::from_le_bytes(word.try_into().expect("eight bytes")));
        if hits != 0 {
            return Some(i + (hits.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b[i..].iter().position(|&c| is(c)).map(|p| i + p)
}
