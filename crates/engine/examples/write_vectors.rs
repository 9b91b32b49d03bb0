//! Writes the shared test vectors to `testdata/vectors/` (see `docs/semantics.md` section 7).
#![allow(clippy::print_stdout)]

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/vectors");
    std::fs::create_dir_all(&dir)?;
    for (name, text) in vouch_engine::vectors::render_all()? {
        std::fs::write(dir.join(&name), text)?;
        println!("wrote testdata/vectors/{name}");
    }
    Ok(())
}
