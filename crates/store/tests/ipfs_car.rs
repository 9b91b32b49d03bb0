//! vouch against the real `ipfs-car` (3.1.0, pinned in `interop/package-lock.json`, installed by
//! `scripts/bootstrap-interop.sh`): the same file gets the same root CID and the same blocks,
//! ipfs-car's CARs (bare and directory-wrapped) import and read back, and ipfs-car unpacks what
//! vouch exports.
#![expect(
    clippy::print_stderr,
    reason = "the CID table is the test's evidence; `--nocapture` shows it"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use vouch_primitives::unixfs::{FileEncoder, Layout};
use vouch_store::car::read_car;
use vouch_store::{Cid, Store};

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

/// The real `ipfs-car` (pinned in `interop/package-lock.json`).
fn ipfs_car() -> PathBuf {
    vouch_testkit::interop::tool(".bin/ipfs-car")
}

/// Deterministic pseudo-random bytes (xorshift64, seeded by the length).
fn contents(n: usize) -> Vec<u8> {
    let mut s = 0x9e37_79b9_7f4a_7c15u64 ^ n as u64;
    let mut v = Vec::with_capacity(n + 8);
    while v.len() < n {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        v.extend_from_slice(&s.to_le_bytes());
    }
    v.truncate(n);
    v
}

/// `ipfs-car pack FILE [--no-wrap] --output CAR`; returns the root CID it prints.
fn pack(bin: &Path, file: &Path, car: &Path, wrap: bool) -> Cid {
    let mut cmd = Command::new(bin);
    cmd.arg("pack").arg(file);
    if !wrap {
        cmd.arg("--no-wrap");
    }
    let out = cmd.arg("--output").arg(car).output().unwrap();
    assert!(
        out.status.success(),
        "ipfs-car pack failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

fn blocks(car: &[u8]) -> BTreeMap<Cid, Vec<u8>> {
    read_car(car, 4 << 20).unwrap().blocks.into_iter().collect()
}

#[test]
fn same_cids_blocks_and_files_as_ipfs_car() {
    let bin = ipfs_car();
    let dir = tempfile::tempdir().unwrap();
    for (label, n) in [
        ("0 B", 0),
        ("1 B", 1),
        ("256 KiB", 256 * KIB),
        ("1 MiB + 1", MIB + 1),
        ("50 MiB", 50 * MIB),
    ] {
        let data = contents(n);
        let file = dir.path().join(format!("file-{n}.bin"));
        std::fs::write(&file, &data).unwrap();

        // Same root CID: ipfs-car, the pure function, and the store.
        let bare = dir.path().join(format!("{n}.car"));
        let theirs = pack(&bin, &file, &bare, false);
        let store = Store::open(dir.path().join(format!("store-{n}"))).unwrap();
        let ours = store.put_file(&file).unwrap();
        eprintln!("{label:>10} ({n} bytes): ipfs-car {theirs}  vouch {ours}");
        assert_eq!(ours, theirs, "{label}: root CID differs from ipfs-car's");
        assert_eq!(Cid::of_file(&data), theirs, "{label}");

        // Same blocks, byte for byte (ipfs-car writes leaves first, vouch the root first).
        let their_car = std::fs::read(&bare).unwrap();
        let mut our_car = Vec::new();
        store.export_car(&[ours], &mut our_car).unwrap();
        assert_eq!(
            blocks(&our_car),
            blocks(&their_car),
            "{label}: blocks differ"
        );
        assert_eq!(read_car(&their_car, 4 << 20).unwrap().roots, vec![theirs]);

        // ipfs-car's bare CAR imports into an empty store and reads back.
        let fresh = Store::open(dir.path().join(format!("bare-{n}"))).unwrap();
        let report = fresh.import_car(their_car.as_slice(), 4 << 20).unwrap();
        assert_eq!(report.roots, vec![theirs]);
        assert!(report.missing_roots.is_empty() && report.incomplete_roots.is_empty());
        assert_eq!(report.files.len(), 1);
        assert_eq!(report.files[0].cid, theirs);
        assert!(
            fresh.get(&theirs).unwrap() == data,
            "{label}: bare CAR reads back"
        );

        // `ipfs-car pack > file.car` writes no roots in the header: the root is still found.
        let piped = Command::new(&bin)
            .arg("pack")
            .arg(&file)
            .arg("--no-wrap")
            .output()
            .unwrap();
        assert!(piped.status.success());
        let fresh = Store::open(dir.path().join(format!("piped-{n}"))).unwrap();
        let report = fresh.import_car(piped.stdout.as_slice(), 4 << 20).unwrap();
        assert!(report.roots.is_empty());
        assert_eq!(report.files.len(), 1, "{label}");
        assert_eq!(
            report.files[0].cid, theirs,
            "{label}: root of a rootless CAR"
        );

        // ipfs-car's default CAR wraps the file in a directory: the file is found by name.
        let wrapped = dir.path().join(format!("{n}.wrapped.car"));
        let dir_cid = pack(&bin, &file, &wrapped, true);
        let fresh = Store::open(dir.path().join(format!("wrapped-{n}"))).unwrap();
        let report = fresh
            .import_car(std::fs::read(&wrapped).unwrap().as_slice(), 4 << 20)
            .unwrap();
        assert_eq!(report.roots, vec![dir_cid]);
        assert!(report.missing_roots.is_empty() && report.incomplete_roots.is_empty());
        assert_eq!(report.files.len(), 1, "{label}");
        assert_eq!(report.files[0].name, format!("file-{n}.bin"));
        assert_eq!(report.files[0].cid, theirs);
        assert!(
            fresh.get(&theirs).unwrap() == data,
            "{label}: wrapped CAR reads back"
        );
        assert!(fresh.get(&dir_cid).is_err(), "a directory is not a file");

        // ipfs-car unpacks vouch's CAR to the same bytes.
        let ours_path = dir.path().join(format!("{n}.vouch.car"));
        std::fs::write(&ours_path, &our_car).unwrap();
        let unpacked = dir.path().join(format!("{n}.unpacked"));
        let out = Command::new(&bin)
            .arg("unpack")
            .arg(&ours_path)
            .arg("--output")
            .arg(&unpacked)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{label}: ipfs-car unpack of vouch's CAR failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            std::fs::read(&unpacked).unwrap() == data,
            "{label}: ipfs-car unpacks vouch's CAR to other bytes"
        );
    }
}

/// ipfs-car's 1024-link nodes only stack past 1 GiB, so the tree shape is checked against the
/// same `@ipld/unixfs` balanced layout ipfs-car runs, at 4-byte chunks and 3 links per node:
/// 0..150 bytes covers one leaf, one node, and trees four levels deep with partial groups.
#[test]
fn tree_shape_matches_ipld_unixfs_at_small_width() {
    let bin = ipfs_car();
    // <interop>/node_modules/.bin/ipfs-car -> <interop>, where `node -e` resolves its imports.
    let interop = bin.ancestors().nth(3).unwrap().to_owned();
    let script = r#"
import * as UnixFS from '@ipld/unixfs'
import { withMaxChunkSize } from '@ipld/unixfs/file/chunker/fixed'
import { withWidth } from '@ipld/unixfs/file/layout/balanced'
import * as raw from 'multiformats/codecs/raw'
const settings = UnixFS.configure({ fileChunkEncoder: raw, smallFileEncoder: raw,
  chunker: withMaxChunkSize(4), fileLayout: withWidth(3) })
const out = []
for (let n = 0; n < 150; n++) {
  const bytes = new Uint8Array(n).map((_, i) => (i * 31 + n) & 255)
  const { readable, writable } = new TransformStream({}, UnixFS.withCapacity())
  const w = UnixFS.createWriter({ writable, settings })
  const f = UnixFS.createFileWriter(w)
  const drain = (async () => { const r = readable.getReader(); while (!(await r.read()).done); })()
  await f.write(bytes)
  const link = await f.close()
  await w.close()
  await drain
  out.push(`${link.cid}`)
}
console.log(out.join('\n'))
"#;
    let out = Command::new("node")
        .current_dir(&interop)
        .args(["--input-type=module", "-e", script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "@ipld/unixfs probe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<Cid> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(theirs.len(), 150);
    let layout = Layout {
        chunk_size: 4,
        max_links: 3,
    };
    for (n, want) in theirs.iter().enumerate() {
        let data: Vec<u8> = (0..n).map(|i| ((i * 31 + n) & 255) as u8).collect();
        let mut enc = FileEncoder::new(layout);
        drop(enc.write(&data));
        assert_eq!(enc.finish().0, *want, "{n} bytes");
    }
}
