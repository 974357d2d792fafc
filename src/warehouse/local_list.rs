//! Listing a local source folder ourselves, entry by entry.
//!
//! object_store's `LocalFileSystem` cannot name a file whose name has a control character
//! or is not UTF-8, and its listing stream ends at the first such entry or symlink loop:
//! one odd name anywhere under `**` hid every object of the source, on every run. Here
//! each entry is judged alone: a readable file is listed (its odd name escaped for
//! display and identity, its real path kept for reading), a loop or an unreadable folder
//! is reported and skipped, and the walk goes on.

use std::collections::HashSet;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path as FsPath, PathBuf};

use chrono::{DateTime, Utc};
use globset::GlobMatcher;
use object_store::ObjectMeta;
use object_store::path::Path;

/// A listed local file: what the rest of ingest sees, and where to read it.
#[derive(Debug, Clone)]
pub struct LocalObject {
    /// `location` is the escaped path (see [`escape_name`]), relative to `/`.
    pub meta: ObjectMeta,
    pub path: PathBuf,
}

/// An entry that could not be listed, with why (its name already escaped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub name: String,
    pub reason: String,
}

/// A path's bytes as text that is safe to print and stable as an identity: control
/// characters, invalid UTF-8 and bidi/zero-width format characters become `%XX` (the
/// bytes, percent-encoded as in a URL); everything else stays as it is.
pub fn escape_name(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() || crate::display::is_invisible_format(c) {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Every file under `root` (a file or a folder; `root` itself if it is a file) whose
/// escaped path matches `glob`, sorted by path; and what could not be listed.
pub fn list(root: &FsPath, glob: Option<&GlobMatcher>) -> (Vec<LocalObject>, Vec<Skipped>) {
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    let mut ancestors = HashSet::new();
    walk(root, glob, &mut ancestors, &mut found, &mut skipped);
    found.sort_by(|a: &LocalObject, b| a.meta.location.cmp(&b.meta.location));
    skipped.sort_by(|a: &Skipped, b| a.name.cmp(&b.name));
    (found, skipped)
}

fn walk(
    path: &FsPath,
    glob: Option<&GlobMatcher>,
    ancestors: &mut HashSet<(u64, u64)>,
    found: &mut Vec<LocalObject>,
    skipped: &mut Vec<Skipped>,
) {
    use std::os::unix::fs::MetadataExt;
    let name = escape_name(path.as_os_str().as_bytes());
    let skip = |skipped: &mut Vec<Skipped>, reason: String| skipped.push(Skipped { name: name.clone(), reason });
    // Symlinks are followed, as object_store does; a dangling one is not an object.
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) if e.raw_os_error() == Some(40) => return skip(skipped, "a symbolic link that loops".into()),
        Err(e) => return skip(skipped, format!("cannot read its metadata: {e}")),
    };
    if meta.is_dir() {
        let id = (meta.dev(), meta.ino());
        if !ancestors.insert(id) {
            return skip(skipped, "a symbolic link loop (a folder that contains itself); skipped".into());
        }
        match std::fs::read_dir(path) {
            Ok(entries) => {
                for entry in entries {
                    match entry {
                        Ok(entry) => walk(&entry.path(), glob, ancestors, found, skipped),
                        Err(e) => skip(skipped, format!("cannot read an entry of this folder: {e}")),
                    }
                }
            }
            Err(e) => skip(skipped, format!("cannot read the folder: {e}")),
        }
        ancestors.remove(&id);
        return;
    }
    if !meta.is_file() {
        return;
    }
    let relative = name.trim_start_matches('/');
    // object_store's own staging files of an interrupted write (`x.parquet#1`).
    if super::layout::is_staging_file(relative) {
        return;
    }
    if glob.is_some_and(|g| !g.is_match(relative)) {
        return;
    }
    let location = Path::parse(relative).unwrap_or_else(|_| Path::from(relative));
    let last_modified: DateTime<Utc> = meta.modified().map(DateTime::from).unwrap_or_default();
    // The same ETag as object_store's LocalFileSystem, so warehouses ingested before
    // this listing see their objects as unchanged.
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::SystemTime::UNIX_EPOCH).ok())
        .unwrap_or_default()
        .as_micros();
    let e_tag = format!("{:x}-{mtime:x}-{:x}", meta.ino(), meta.len());
    found.push(LocalObject {
        meta: ObjectMeta { location, last_modified, size: meta.len(), e_tag: Some(e_tag), version: None },
        path: path.to_path_buf(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn odd_names_are_listed_and_escaped_and_loops_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let names: [&[u8]; 7] = [
            b"new\nline.log",
            b"tab\there.log",
            b"esc\x1b[31m.log",
            b"bel\x07.log",
            b"del\x7f.log",
            b"bad\xff.log",
            b"ok.log",
        ];
        std::fs::create_dir(root.join("d")).unwrap();
        for n in names {
            std::fs::write(root.join("d").join(std::ffi::OsStr::from_bytes(n)), b"x").unwrap();
        }
        std::os::unix::fs::symlink(root.join("d"), root.join("d").join("loop")).unwrap();
        std::os::unix::fs::symlink(root.join("nowhere"), root.join("d").join("dangling")).unwrap();
        let (found, skipped) = list(root, None);
        let rel: Vec<String> =
            found.iter().map(|o| o.meta.location.as_ref().rsplit('/').next().unwrap().to_string()).collect();
        assert_eq!(
            rel,
            ["bad%FF.log", "bel%07.log", "del%7F.log", "esc%1B[31m.log", "new%0Aline.log", "ok.log", "tab%09here.log"]
        );
        assert!(found.iter().all(|o| std::fs::read(&o.path).unwrap() == b"x"));
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        assert!(skipped[0].name.ends_with("/d/loop") && skipped[0].reason.contains("loop"), "{skipped:?}");
        assert!(found.iter().all(|o| !o.meta.location.as_ref().chars().any(char::is_control)));
    }

    #[test]
    fn escaping_is_visible_and_leaves_plain_text() {
        assert_eq!(escape_name("café/app.log".as_bytes()), "café/app.log");
        assert_eq!(escape_name(b"a\x1b]0;x\x07b"), "a%1B]0;x%07b");
        assert_eq!(escape_name("evil\u{202E}gol.exe".as_bytes()), "evil%E2%80%AEgol.exe");
    }
}
