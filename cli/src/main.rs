//! `curbside`: the one command line for physicians, institutions and regulators.
//!
//! Today it offers what needs no node: checking text against the
//! de-identification guard before a case is written, and printing the
//! protocol's rejection codes. The commands of `docs/PROTOCOL.md`'s CLI
//! contract arrive with the node.

mod keystore;

use std::io::{Read as _, Write as _};
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
        // A closed pipe (`curbside codes | head`) is the reader's choice, not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
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
                writeln!(out, "{{\"findings\":[{}]}}", items.join(","))?;
            } else if findings.is_empty() {
                writeln!(out, "no identifiers found")?;
            } else {
                let width = findings.iter().map(|f| f.kind.describe().len()).max().unwrap_or(0);
                for f in &findings {
                    let at = format!("{}..{}", f.start, f.end);
                    writeln!(
                        out,
                        "  {at:<12} {:<width$}  {:?}",
                        f.kind.describe(),
                        f.excerpt(&text)
                    )?;
                }
                writeln!(out, "{} identifier(s): remove them before posting", findings.len())?;
            }
            Ok(if findings.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::Codes => {
            for code in Rejection::CODES {
                writeln!(out, "{code}")?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
