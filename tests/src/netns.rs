//! Network namespaces a test makes for itself, to cut real links.
//!
//! A [`Lab`] is a small switched network: one "switch" namespace holding
//! two bridges (the left and the right side) joined by a trunk (a veth
//! pair), and one namespace per host, wired to its side's bridge by a veth
//! pair and given `10.77.0.N/24`. [`Lab::cut`] takes the trunk down, so the
//! two sides cannot reach each other while each side stays connected;
//! [`Lab::heal`] brings it up again. Nothing outside the lab's namespaces is
//! touched, and every namespace is deleted when the lab is dropped (on a
//! panic too); their names carry the process id and a counter, so parallel
//! runs never collide.
//!
//! Making namespaces needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) and
//! `ip` (iproute2): [`Lab::two_sides`] says why it cannot when it cannot,
//! and tests skip with that reason unless `CURBSIDE_REQUIRE_NETNS` is set.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Labs made by this process so far (for unique names).
static LABS: AtomicU32 = AtomicU32::new(0);

/// Set (to anything) to make tests fail rather than skip when network
/// namespaces cannot be made.
pub const REQUIRE_VAR: &str = "CURBSIDE_REQUIRE_NETNS";

/// One host of a lab: its namespace and address.
#[derive(Debug, Clone)]
pub struct Host {
    /// The namespace's name (`ip netns exec NAME …`).
    pub ns: String,
    /// `/run/netns/NAME`, for [`enter`].
    pub path: PathBuf,
    /// Its IPv4 address on the lab's network.
    pub ip: String,
    /// Whether it is on the left side (else the right).
    pub left: bool,
}

impl Host {
    /// A libp2p listen address on this host, at a port the OS chooses.
    pub fn listen_addr(&self) -> String {
        format!("/ip4/{}/tcp/0", self.ip)
    }
}

/// A switched network of namespaces, deleted on drop.
#[derive(Debug)]
pub struct Lab {
    switch: String,
    hosts: Vec<Host>,
    /// Every namespace made so far, deleted on drop.
    made: Vec<String>,
}

impl Lab {
    /// A lab of `left + right` hosts, the first `left` on the left side.
    /// `Err` (with the reason) only when namespaces cannot be made here at
    /// all; a failure after the first namespace was made panics (after
    /// cleaning up), since it is not the environment's fault.
    pub fn two_sides(left: usize, right: usize) -> Result<Self, String> {
        let n = LABS.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("curbside-{}-{n}", std::process::id());
        let switch = format!("{prefix}-sw");
        // The probe: can this process make a namespace at all?
        ip(&["netns", "add", &switch])
            .map_err(|e| format!("cannot make a network namespace: {e}"))?;
        let mut lab = Self { switch: switch.clone(), hosts: Vec::new(), made: vec![switch] };
        let sw = lab.switch.clone();
        run(&["-n", &sw, "link", "add", "brl", "type", "bridge"]);
        run(&["-n", &sw, "link", "add", "brr", "type", "bridge"]);
        run(&["-n", &sw, "link", "add", "trl", "type", "veth", "peer", "name", "trr"]);
        run(&["-n", &sw, "link", "set", "trl", "master", "brl"]);
        run(&["-n", &sw, "link", "set", "trr", "master", "brr"]);
        for link in ["brl", "brr", "trl", "trr"] {
            run(&["-n", &sw, "link", "set", link, "up"]);
        }
        for i in 0..left + right {
            let ns = format!("{prefix}-h{i}");
            run(&["netns", "add", &ns]);
            lab.made.push(ns.clone());
            let port = format!("p{i}");
            let is_left = i < left;
            let bridge = if is_left { "brl" } else { "brr" };
            run(&[
                "-n", &sw, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns",
                &ns,
            ]);
            run(&["-n", &sw, "link", "set", &port, "master", bridge]);
            run(&["-n", &sw, "link", "set", &port, "up"]);
            let ip_addr = format!("10.77.0.{}", i + 1);
            run(&["-n", &ns, "addr", "add", &format!("{ip_addr}/24"), "dev", "eth0"]);
            run(&["-n", &ns, "link", "set", "eth0", "up"]);
            run(&["-n", &ns, "link", "set", "lo", "up"]);
            lab.hosts.push(Host {
                path: Path::new("/run/netns").join(&ns),
                ns,
                ip: ip_addr,
                left: is_left,
            });
        }
        Ok(lab)
    }

    /// The hosts, left side first.
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// Cuts the trunk: the two sides can no longer reach each other.
    pub fn cut(&self) {
        run(&["-n", &self.switch, "link", "set", "trl", "down"]);
    }

    /// Brings the trunk up again.
    pub fn heal(&self) {
        run(&["-n", &self.switch, "link", "set", "trl", "up"]);
    }

    /// Whether a TCP connection from `from` to `to` opens within a second
    /// (something must listen there: a node's peer-to-peer port).
    pub fn reaches(&self, from: &Host, to: std::net::SocketAddr) -> bool {
        let path = from.path.clone();
        std::thread::spawn(move || {
            enter(&path);
            std::net::TcpStream::connect_timeout(&to, std::time::Duration::from_secs(1)).is_ok()
        })
        .join()
        .unwrap_or(false)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Deleting a namespace deletes its links, and a veth pair goes with
        // either end; sockets still open keep a namespace alive until they
        // close, after which the kernel frees it.
        for ns in self.made.iter().rev() {
            if let Err(e) = ip(&["netns", "del", ns]) {
                eprintln!("could not delete network namespace {ns}: {e}");
            }
        }
    }
}

/// Whether tests must fail rather than skip without namespaces.
pub fn required() -> bool {
    std::env::var_os(REQUIRE_VAR).is_some()
}

/// Moves the calling thread into the network namespace at `path`; threads
/// it starts afterwards are in it too.
pub fn enter(path: &Path) {
    let file = std::fs::File::open(path)
        .unwrap_or_else(|e| panic!("cannot open the namespace {}: {e}", path.display()));
    nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
        .unwrap_or_else(|e| panic!("cannot enter the namespace {}: {e}", path.display()));
}

/// Runs `ip ARGS`: `Err` with its stderr when it fails.
pub(crate) fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("`ip`: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("`ip {}`: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// Runs `ip ARGS` and panics if it fails (the lab's guard cleans up).
pub(crate) fn run(args: &[&str]) {
    if let Err(e) = ip(args) {
        panic!("setting up the lab: {e}");
    }
}
