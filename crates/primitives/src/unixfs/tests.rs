use super::*;
use crate::cid::Codec;
use std::collections::BTreeMap;

fn bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s as u8
        })
        .collect()
}

fn encode(layout: Layout, data: &[u8], write_size: usize) -> (Cid, BTreeMap<Cid, Vec<u8>>) {
    let mut enc = FileEncoder::new(layout);
    let mut blocks = BTreeMap::new();
    for piece in data.chunks(write_size.max(1)) {
        for b in enc.write(piece) {
            blocks.insert(b.cid, b.bytes);
        }
    }
    let (root, last) = enc.finish();
    for b in last {
        blocks.insert(b.cid, b.bytes);
    }
    (root, blocks)
}

fn read(root: &Cid, blocks: &BTreeMap<Cid, Vec<u8>>, limits: &Limits) -> Result<Vec<u8>, DagError> {
    let mut out = Vec::new();
    read_file::<()>(
        root,
        limits,
        &mut |c| blocks.get(c).cloned().ok_or(()),
        &mut |b| {
            out.extend_from_slice(b);
            Ok(())
        },
    )
    .map_err(|e| match e {
        ReadError::Dag(d) => d,
        ReadError::Source(()) => panic!("missing block"),
    })?;
    Ok(out)
}

/// Root CIDs printed by `ipfs-car pack --no-wrap` (ipfs-car 3.1.0) for files of zero bytes.
#[test]
fn matches_ipfs_car_on_zeros() {
    assert_eq!(
        file_cid(&[]).to_string(),
        "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    );
    assert_eq!(
        file_cid(&vec![0u8; CHUNK_SIZE + 1]).to_string(),
        "bafybeihd4yzq7n5umhjngdum4r6k2to7egxfkf2jz6thvwzf6djus22cmq"
    );
}

#[test]
fn one_chunk_files_keep_their_raw_cid() {
    for n in [0, 1, 1000, CHUNK_SIZE] {
        let d = bytes(n, 7);
        assert_eq!(Cid::of_file(&d), Cid::of(&d), "{n} bytes");
    }
    assert_eq!(
        Cid::of_file(&bytes(CHUNK_SIZE + 1, 7)).codec(),
        Codec::DagPb
    );
}

/// A tiny layout exercises every shape of the balanced tree: each size reads back, the root is
/// the same however the bytes are fed, and the tree has the expected height.
#[test]
fn small_layout_round_trips_every_shape() {
    let layout = Layout {
        chunk_size: 4,
        max_links: 3,
    };
    for n in 0..150usize {
        let d = bytes(n, n as u64);
        let (root, blocks) = encode(layout, &d, 1);
        let (root2, _) = encode(layout, &d, 5);
        assert_eq!(root, root2, "{n}");
        assert_eq!(read(&root, &blocks, &Limits::default()).unwrap(), d, "{n}");
        let leaves = n.div_ceil(4).max(1);
        let raw = blocks.keys().filter(|c| c.codec() == Codec::Raw).count();
        assert!(raw <= leaves, "{n}");
        if leaves == 1 {
            assert_eq!(root.codec(), Codec::Raw);
        } else {
            // A balanced tree of height h holds up to 3^h leaves.
            let height = (1..).find(|&h| 3usize.pow(h) >= leaves).unwrap();
            let mut depth = 0;
            let mut c = root;
            while c.codec() == Codec::DagPb {
                c = links(&c, &blocks[&c]).unwrap()[0];
                depth += 1;
            }
            assert_eq!(depth, height, "{n}");
        }
    }
}

#[test]
fn rejects_lies_depth_and_size() {
    let layout = Layout {
        chunk_size: 4,
        max_links: 3,
    };
    let d = bytes(40, 1);
    let (root, mut blocks) = encode(layout, &d, 40);
    assert!(matches!(
        read(
            &root,
            &blocks,
            &Limits {
                max_size: 39,
                ..Limits::default()
            }
        ),
        Err(DagError::TooLarge { size: 40, .. })
    ));
    assert!(matches!(
        read(
            &root,
            &blocks,
            &Limits {
                max_depth: 1,
                ..Limits::default()
            }
        ),
        Err(DagError::TooDeep { limit: 1 })
    ));
    // A block swapped for other bytes under the same CID.
    let leaf = *blocks.keys().find(|c| c.codec() == Codec::Raw).unwrap();
    blocks.insert(leaf, b"evil".to_vec());
    assert!(matches!(
        read(&root, &blocks, &Limits::default()),
        Err(DagError::BlockHash { .. })
    ));

    // A node whose blocksizes lie about a child, and a bomb of 1000 links to one leaf.
    let leaf = Cid::of(b"abcd");
    let mut blocks = BTreeMap::from([(leaf, b"abcd".to_vec())]);
    let node = |n: usize, bs: u64| {
        PbNode {
            links: vec![
                PbLink {
                    cid: leaf,
                    name: Some(String::new()),
                    tsize: Some(4)
                };
                n
            ],
            data: Some(
                UnixfsData {
                    kind: NodeType::File,
                    data: None,
                    filesize: Some(bs * n as u64),
                    blocksizes: vec![bs; n],
                }
                .encode(),
            ),
        }
        .encode()
    };
    let liar = node(2, 3);
    let liar_cid = Cid::of_block(Codec::DagPb, &liar);
    blocks.insert(liar_cid, liar);
    assert!(matches!(
        read(&liar_cid, &blocks, &Limits::default()),
        Err(DagError::Size { .. })
    ));
    let bomb = node(1000, 4);
    let bomb_cid = Cid::of_block(Codec::DagPb, &bomb);
    blocks.insert(bomb_cid, bomb);
    assert_eq!(
        read(&bomb_cid, &blocks, &Limits::default()).unwrap().len(),
        4000
    );
    assert!(matches!(
        read(
            &bomb_cid,
            &blocks,
            &Limits {
                max_blocks: 100,
                ..Limits::default()
            }
        ),
        Err(DagError::Size { .. })
    ));

    // A chain of 40 single-link nodes is over the default depth.
    let mut c = leaf;
    for _ in 0..40 {
        let n = PbNode {
            links: vec![PbLink {
                cid: c,
                name: None,
                tsize: None,
            }],
            data: Some(
                UnixfsData {
                    kind: NodeType::File,
                    data: None,
                    filesize: Some(4),
                    blocksizes: vec![4],
                }
                .encode(),
            ),
        }
        .encode();
        c = Cid::of_block(Codec::DagPb, &n);
        blocks.insert(c, n);
    }
    assert!(matches!(
        read(&c, &blocks, &Limits::default()),
        Err(DagError::TooDeep { limit: 32 })
    ));

    // A directory is not a file, and says so.
    let dir = PbNode {
        links: vec![PbLink {
            cid: leaf,
            name: Some("a".into()),
            tsize: Some(4),
        }],
        data: Some(
            UnixfsData {
                kind: NodeType::Directory,
                data: None,
                filesize: None,
                blocksizes: vec![],
            }
            .encode(),
        ),
    }
    .encode();
    let dir_cid = Cid::of_block(Codec::DagPb, &dir);
    blocks.insert(dir_cid, dir.clone());
    assert!(matches!(
        read(&dir_cid, &blocks, &Limits::default()),
        Err(DagError::NotAFile { .. })
    ));
    let entries = directory_entries(&dir_cid, &dir).unwrap().unwrap();
    assert_eq!((entries[0].name.as_str(), entries[0].cid), ("a", leaf));
}

/// Arbitrary bytes through the decoders: errors, never panics.
#[test]
fn decoders_never_panic_on_mutations() {
    let (root, blocks) = encode(
        Layout {
            chunk_size: 4,
            max_links: 3,
        },
        &bytes(30, 3),
        30,
    );
    let seed = blocks[&root].clone();
    let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    for _ in 0..5000 {
        let mut m = seed.clone();
        for _ in 0..1 + next() % 4 {
            if m.is_empty() {
                break;
            }
            let i = (next() % m.len() as u64) as usize;
            match next() % 4 {
                0 => m[i] ^= 1 << (next() % 8),
                1 => m[i] = next() as u8,
                2 => m.insert(i, next() as u8),
                _ => m.truncate(i),
            }
        }
        if let Ok(n) = PbNode::decode(&m) {
            assert_eq!(PbNode::decode(&n.encode()).unwrap(), n);
            if let Some(d) = &n.data {
                let _ = UnixfsData::decode(d);
            }
        }
        let _ = UnixfsData::decode(&m);
    }
}
