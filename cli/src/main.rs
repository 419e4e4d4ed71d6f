//! `curbside`: the one command line for physicians, institutions and regulators.
//!
//! It founds networks and charters nodes (roots), runs nodes and attests
//! physicians (institutions), and — for physicians — keeps a pseudonymous
//! key on this device, signs posts, cases, comments, polls and votes here,
//! and reads through a node with a session. `cli/README.md` is the guide;
//! the names of commands and flags are a contract (see the design).
//!
//! Exit codes: 0 success; 1 a refusal (the node refused, or the
//! de-identification guard found something); 2 a usage or environment
//! error (bad flags, missing files, no node answering).

mod agent;
mod args;
mod authors;
mod bodytext;
mod casefile;
mod checks;
mod client;
mod commands;
mod duration;
mod error;
mod home;
mod ids;
mod keystore;
mod oneline;
mod output;
mod session;

use std::process::ExitCode;

use clap::Parser as _;

/// The allocator of the program that runs a node. sled 0.34 allocates and
/// frees page copies on every key it writes, on the writer's thread and on
/// its I/O threads; glibc's malloc serializes those threads on its arena
/// locks. With mimalloc the store writes about twice as fast on two loaded
/// cores (docs/BENCHMARKS.md, issue 3). Chosen here, in the binary, not in
/// the `curbside-node` library: a program that embeds a node picks its own
/// allocator (the benchmarks pick this one, to measure what ships).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let json = cli.json;
    match commands::run(cli) {
        Ok(code) => code,
        // A closed pipe (`curbside codes | head`) is the reader's choice, not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            if json && !output::json_printed() {
                // Scripts asked for JSON: the error is JSON too, on stdout
                // (unless the command already answered in JSON).
                let answer = serde_json::json!({
                    "error": { "code": error::code(&e), "message": format!("{e:#}") }
                });
                println!("{answer}");
            }
            eprintln!("error: {e:#}");
            ExitCode::from(error::exit_code(&e))
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
