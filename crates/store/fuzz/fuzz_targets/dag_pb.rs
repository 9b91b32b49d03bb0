//! The dag-pb and UnixFS decoders must never panic on arbitrary bytes; a node that decodes
//! re-encodes to a node that decodes the same; a DAG walk over blocks the input declares never
//! panics. Run: `cargo +nightly fuzz run dag_pb -- -max_total_time=60`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vouch_primitives::unixfs::{Limits, PbNode, UnixfsData, directory_entries, read_file};
use vouch_primitives::{Cid, Codec};

fuzz_target!(|data: &[u8]| {
    let _ = UnixfsData::decode(data);
    if let Ok(node) = PbNode::decode(data) {
        assert_eq!(PbNode::decode(&node.encode()).as_ref(), Ok(&node));
        if let Some(d) = &node.data {
            let _ = UnixfsData::decode(d);
        }
    }
    // The input as a root block whose links point back at itself or at nothing.
    let root = Cid::of_block(Codec::DagPb, data);
    let _ = directory_entries(&root, data);
    let _ = read_file::<()>(
        &root,
        &Limits::default(),
        &mut |c| if *c == root { Ok(data.to_vec()) } else { Err(()) },
        &mut |_| Ok(()),
    );
});
