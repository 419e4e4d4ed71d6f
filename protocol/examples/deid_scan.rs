//! Prints what guard v2 finds in each line of standard input (or the
//! arguments): `cargo run -p curbside-protocol --example deid_scan -- TEXT`.

use std::io::BufRead as _;

use curbside_protocol::deid::v2;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let lines: Vec<String> = if args.is_empty() {
        std::io::stdin().lock().lines().map_while(Result::ok).collect()
    } else {
        args
    };
    for text in lines {
        let report = v2::scan(&text);
        println!("{text}");
        for f in &report.findings {
            println!("  refuse {:?} {:?}", f.kind, f.excerpt(&text));
        }
        for w in &report.warnings {
            println!("  warn   {:?} {:?}", w.kind, w.excerpt(&text));
        }
    }
}
