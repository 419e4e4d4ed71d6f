//! Prints the golden test vectors of `docs/PROTOCOL.md`.
//!
//! ```text
//! cargo run -p curbside-protocol --example vectors
//! ```

fn main() {
    for (name, value) in curbside_protocol::testkit::vectors() {
        println!("{name}:\n{value}\n");
    }
}
