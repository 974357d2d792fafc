//! `retrace ingest --shard k/n`: which source objects one of n ingesting machines takes.
//!
//! Log and metric objects are split by a stable hash of their *stream*
//! ([`super::dedupe::stream_of`]), not of their URL: duplicate resolution drops a row
//! without an origin of its own only when an earlier object of the same stream holds it,
//! and which object is earlier must not depend on which machine commits first. With
//! every object of a stream in one shard, each shard resolves its streams as one ingest
//! would. Changes, deploys and incident events are identified by their ids across every
//! source, so all their objects (a small share of any warehouse) go to shard 1.
//!
//! What is left to timing (docs/adr/0004-sharded-ingest.md): a row that names its own
//! origin (a log line with its host) and is held by objects of two streams in two shards
//! is kept by whichever commits first, or by both if they commit at the same moment;
//! never by neither.

use std::hash::Hasher;

use crate::tables::Kind;

/// Shard `index` of `count` (1-based, as written on the command line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Parses `k/n` with 1 ≤ k ≤ n.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let (k, n) = text.trim().split_once('/').ok_or_else(|| format!("`{text}` is not k/n (e.g. 1/3)"))?;
        let number = |s: &str, what: &str| {
            s.trim().parse::<u32>().map_err(|_| format!("`{text}`: {what} `{}` is not a whole number", s.trim()))
        };
        let (index, count) = (number(k, "shard")?, number(n, "shard count")?);
        if count == 0 || index == 0 || index > count {
            return Err(format!("`{text}`: the shard must be 1 to {count} of {count} (k/n with 1 ≤ k ≤ n)"));
        }
        Ok(Shard { index, count })
    }

    /// Whether this shard ingests the objects of `kind` in `stream`.
    pub fn owns(&self, kind: Kind, stream: &str) -> bool {
        match kind {
            Kind::Logs | Kind::Metrics => Self::of(stream, self.count) == self.index,
            Kind::Changes | Kind::Deploys | Kind::Events => self.index == 1,
        }
    }

    /// The shard (1-based) of `count` that owns `stream`. FNV-1a: stable across builds,
    /// machines and releases, which `std`'s hasher is not.
    pub fn of(stream: &str, count: u32) -> u32 {
        let mut h = fnv::FnvHasher::default();
        h.write(stream.as_bytes());
        (h.finish() % u64::from(count.max(1))) as u32 + 1
    }

    /// The name its lock goes by (`shard-2-of-3`).
    pub fn lock_scope(&self) -> String {
        format!("shard-{}-of-{}", self.index, self.count)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_k_of_n_and_names_what_is_wrong() {
        assert_eq!(Shard::parse("2/3"), Ok(Shard { index: 2, count: 3 }));
        assert_eq!(Shard::parse(" 1 / 1 "), Ok(Shard { index: 1, count: 1 }));
        for (bad, says) in [
            ("3", "is not k/n"),
            ("0/3", "1 to 3 of 3"),
            ("4/3", "1 to 3 of 3"),
            ("1/0", "1 to 0 of 0"),
            ("a/3", "shard `a`"),
            ("1/x", "shard count `x`"),
            ("-1/3", "shard `-1`"),
        ] {
            let e = Shard::parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn every_stream_has_exactly_one_shard_and_they_spread() {
        let streams: Vec<String> = (0..3000).map(|i| format!("lineage:s3://logs/host-{i}/app.log")).collect();
        for n in [1u32, 2, 3, 7] {
            let mut per = vec![0usize; n as usize];
            for s in &streams {
                let owners: Vec<u32> = (1..=n).filter(|&k| Shard { index: k, count: n }.owns(Kind::Logs, s)).collect();
                assert_eq!(owners.len(), 1, "{s} of {n}: {owners:?}");
                per[owners[0] as usize - 1] += 1;
            }
            // Roughly even: each within ±20 % of its fair share.
            let fair = streams.len() / n as usize;
            assert!(per.iter().all(|&c| c * 5 >= fair * 4 && c * 5 <= fair * 6), "{n}: {per:?}");
        }
        // Id-keyed kinds all go to shard 1.
        for kind in [Kind::Changes, Kind::Deploys, Kind::Events] {
            assert!(
                Shard { index: 1, count: 3 }.owns(kind, "lineage:x")
                    && !Shard { index: 2, count: 3 }.owns(kind, "lineage:x")
            );
        }
        // Stable across builds and machines: FNV-1a, values computed independently.
        assert_eq!(Shard::of("lineage:s3://logs/host-1/app.log", 3), 1);
        assert_eq!(Shard::of("lineage:s3://logs/host-1/app.log", 7), 5);
    }
}
