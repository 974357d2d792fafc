//! A kind's column names and aliases → (column, priority): the lookup every field of
//! every record makes.
//!
//! The names are a few dozen short, fixed strings, so the table is open addressing over
//! a hash of the key's length and three of its bytes, and a hit is confirmed by
//! comparing at most two overlapping words. A general hash map (foldhash over every
//! byte, a group probe, then `memcmp`) was 5 % of a JSON Lines ingest's instructions at
//! nine lookups per line.

/// Name → (column, priority) for a fixed set of names.
#[derive(Clone)]
pub struct NameIndex {
    slots: Box<[Slot]>,
    mask: usize,
}

#[derive(Clone, Copy)]
struct Slot {
    name: &'static str,
    /// `usize::MAX` marks an empty slot (the empty string is a name like any other).
    column: usize,
    priority: usize,
}

const EMPTY: Slot = Slot { name: "", column: usize::MAX, priority: 0 };

impl NameIndex {
    /// An index of `entries`; a later entry of a name replaces the earlier one, as a
    /// map's `insert` does.
    pub fn new(entries: impl IntoIterator<Item = (&'static str, usize, usize)>) -> Self {
        let entries: Vec<_> = entries.into_iter().collect();
        // At most a quarter full: a miss (an attribute, most fields of some formats)
        // usually ends at the first empty slot.
        let size = (entries.len() * 4).next_power_of_two().max(16);
        let mut index = NameIndex { slots: vec![EMPTY; size].into_boxed_slice(), mask: size - 1 };
        for (name, column, priority) in entries {
            assert!(column != usize::MAX, "column index out of range");
            let mut i = slot_of(name) & index.mask;
            while index.slots[i].column != usize::MAX && index.slots[i].name != name {
                i = (i + 1) & index.mask;
            }
            index.slots[i] = Slot { name, column, priority };
        }
        index
    }

    /// The column and priority of `key`, if it is one of the names.
    pub fn get(&self, key: &str) -> Option<(usize, usize)> {
        let mut i = slot_of(key) & self.mask;
        loop {
            let slot = &self.slots[i];
            if slot.column == usize::MAX {
                return None;
            }
            if same(slot.name.as_bytes(), key.as_bytes()) {
                return Some((slot.column, slot.priority));
            }
            i = (i + 1) & self.mask;
        }
    }
}

/// Where a name's probe starts: its length and its first, middle and last bytes, mixed
/// by one multiplication (the high bits, the best mixed, are the ones kept).
fn slot_of(name: &str) -> usize {
    let b = name.as_bytes();
    let Some((&first, &last)) = b.first().zip(b.last()) else {
        return 0;
    };
    let word = b.len() as u64 | u64::from(first) << 16 | u64::from(b[b.len() / 2]) << 32 | u64::from(last) << 48;
    (word.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as usize
}

/// Byte equality, with the lengths first and at most two overlapping word compares for
/// names up to 16 bytes (no call into `memcmp` for a five-byte key).
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0 => true,
        1..4 => a == b,
        4..8 => word4(a, 0) == word4(b, 0) && word4(a, n - 4) == word4(b, n - 4),
        8..=16 => word8(a, 0) == word8(b, 0) && word8(a, n - 8) == word8(b, n - 8),
        _ => a == b,
    }
}

fn word4(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("four bytes"))
}

fn word8(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("eight bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Every kind's names, and keys near them (one byte changed, longer, shorter, other
    /// case, empty, multi-byte), answer as a `HashMap` of the same entries does.
    #[test]
    fn answers_as_a_hash_map() {
        use crate::tables::Kind;
        for kind in [Kind::Logs, Kind::Metrics, Kind::Changes, Kind::Deploys, Kind::Events] {
            let spec = crate::ingest::kinds::spec(kind);
            let mut entries = Vec::new();
            for (col, c) in spec.columns.iter().enumerate() {
                entries.push((c.name, col, 0));
                entries.extend(c.aliases.iter().enumerate().map(|(i, a)| (*a, col, i + 1)));
            }
            let mut map = HashMap::new();
            for &(name, col, prio) in &entries {
                map.insert(name, (col, prio));
            }
            let index = NameIndex::new(entries.iter().copied());
            let mut keys: Vec<String> = vec![String::new(), "é".into(), "ts\u{e9}".into(), "a".repeat(40)];
            for &(name, _, _) in &entries {
                keys.push(name.into());
                keys.push(name.to_uppercase());
                keys.push(format!("{name}_"));
                keys.push(format!("_{name}"));
                keys.push(String::from_utf8_lossy(&name.as_bytes()[..name.len() - 1]).into_owned());
                for at in 0..name.len() {
                    let mut b = name.as_bytes().to_vec();
                    b[at] ^= 0x01;
                    keys.push(String::from_utf8_lossy(&b).into_owned());
                }
            }
            for key in &keys {
                assert_eq!(index.get(key), map.get(key.as_str()).copied(), "{kind:?}: {key:?}");
            }
        }
    }

    #[test]
    fn the_empty_name_and_long_names() {
        let long = "resource.attributes.service.instance.id";
        let index = NameIndex::new([("", 0, 0), (long, 1, 2), ("x", 2, 0)]);
        assert_eq!(index.get(""), Some((0, 0)));
        assert_eq!(index.get(long), Some((1, 2)));
        assert_eq!(index.get("resource.attributes.service.instance.ix"), None);
        assert_eq!(index.get("x"), Some((2, 0)));
        assert_eq!(index.get("y"), None);
        assert!(NameIndex::new([]).get("ts").is_none());
    }

    /// Many names with the same length and end bytes all stay reachable (long probes).
    #[test]
    fn colliding_names() {
        let names: Vec<&'static str> = (0..200).map(|i| &*Box::leak(format!("k{:03}z", i).into_boxed_str())).collect();
        let index = NameIndex::new(names.iter().enumerate().map(|(i, n)| (*n, i, 0)));
        for (i, n) in names.iter().enumerate() {
            assert_eq!(index.get(n), Some((i, 0)));
        }
        assert_eq!(index.get("k200z"), None);
    }

    /// The byte comparison agrees with slice equality for every length up to 24.
    #[test]
    fn same_is_equality() {
        for n in 0..24 {
            let a: Vec<u8> = (0..n as u8).map(|i| b'a' + i).collect();
            assert!(same(&a, &a.clone()));
            for at in 0..n {
                let mut b = a.clone();
                b[at] = b'#';
                assert!(!same(&a, &b), "length {n}, byte {at}");
            }
            assert!(!same(&a, &a[..n.saturating_sub(1)]) || n == 0);
        }
    }
}
