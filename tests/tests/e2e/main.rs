//! The end-to-end tests, one module per area, built as one test binary:
//! each area links libp2p, sled and the node, so one binary links them once
//! (eighteen binaries linked them eighteen times).
//!
//! Run one area with its module path as the filter:
//!
//! ```text
//! cargo test -p curbside-tests --test e2e story::
//! cargo test -p curbside-tests --test e2e partition::a_partitioned -- --nocapture
//! ```

mod access;
mod admission;
mod api;
mod attestations;
mod audit;
mod audit_cli;
mod backup;
mod cli;
mod cli_kit;
mod crash;
mod demo;
mod deploy;
mod docs;
mod edits;
mod federation;
mod fetch;
mod guard;
mod hostile;
mod inbox;
mod mentions;
mod moderation;
mod nofork;
mod operator;
mod operators;
mod outcomes;
mod partition;
mod powercut;
mod regulator;
mod retraction;
mod search;
mod story;
mod strangers;
mod submissions;
mod time;
mod typing;
mod walkthroughs;
