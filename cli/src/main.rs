//! `curbside`: the one command line for physicians, institutions and regulators.
//!
//! Today it offers what needs no node: checking text against the
//! de-identification guard before a case is written, and printing the
//! protocol's rejection codes. The commands of `docs/PROTOCOL.md`'s CLI
//! contract arrive with the node.

use std::io::Read as _;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use curbside_protocol::{Rejection, deid};

/// Curbside: a federated network where physicians consult each other.
#[derive(Debug, Parser)]
#[command(name = "curbside", version, about)]
struct Cli {
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check text for patient identifiers, as every node will (reads FILE, or stdin with -).
    CheckText {
        /// A file of clinical text, or `-` for standard input.
        file: String,
    },
    /// List the stable rejection codes a node can answer with.
    Codes,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::CheckText { file } => {
            let text = if file == "-" {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s).context("reading standard input")?;
                s
            } else {
                std::fs::read_to_string(&file).with_context(|| format!("reading {file}"))?
            };
            let findings = deid::scan(&text);
            if cli.json {
                let items: Vec<String> = findings
                    .iter()
                    .map(|f| {
                        format!(
                            "{{\"kind\":\"{}\",\"start\":{},\"end\":{}}}",
                            f.kind.code(),
                            f.start,
                            f.end
                        )
                    })
                    .collect();
                println!("{{\"findings\":[{}]}}", items.join(","));
            } else if findings.is_empty() {
                println!("no identifiers found");
            } else {
                for f in &findings {
                    println!(
                        "{:>6}..{:<6} {:<28} {:?}",
                        f.start,
                        f.end,
                        f.kind.describe(),
                        f.excerpt(&text)
                    );
                }
                println!("{} identifier(s): remove them before posting", findings.len());
            }
            Ok(if findings.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::Codes => {
            for code in Rejection::CODES {
                println!("{code}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
