//! A wide-area network in user space, for benchmarks of many nodes.
//!
//! This machine's kernel has no `netem` queueing discipline, so delay and
//! jitter cannot be put on a link with `tc`. A [`Wan`] stands in for it:
//! each host is a network namespace of its own holding one TUN device
//! (`wan0`, address `10.77.X.Y/16`), and this process is the router
//! between them. A reader thread per host takes every IPv4 packet the
//! host's kernel sends out of `wan0`, looks up the host its destination
//! address belongs to, and queues it for that host after the pair's
//! one-way delay plus jitter; one delivery thread writes each packet into
//! its destination's `wan0` when it is due. Every byte a host sends is
//! counted (whole IP packets: headers, TCP acknowledgements, encryption
//! and framing included), so the counts are what a wire would carry.
//!
//! The delays come from a [`Geography`]: the institutions are placed at
//! seeded random points of a square, and a pair's one-way delay is a fixed
//! 10 ms (the two ends' access links and routers) plus up to 70 ms in
//! proportion to their distance, so every delay is between 10 and 80 ms
//! and the delays obey the triangle inequality (no detour through a third
//! host is faster than the direct link). Jitter adds up to a tenth of the
//! pair's delay to each packet, drawn uniformly; a packet is never
//! delivered before one the same host sent earlier to the same
//! destination ([`Link`]), since a real path does not reorder a TCP
//! stream's segments as independent per-packet jitter would (`netem`'s
//! default does, unless given a rate). Links have no bandwidth limit and
//! lose nothing.
//!
//! Nothing outside the namespaces the `Wan` made is touched; dropping it
//! (on a panic too) stops its threads and deletes every namespace.

use std::collections::BinaryHeap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tun_rs::{DeviceBuilder, InterruptEvent, SyncDevice};

use crate::netns;

/// WANs made by this process so far (for unique namespace names).
static WANS: AtomicU32 = AtomicU32::new(0);

/// The smallest one-way delay between two hosts.
pub const MIN_DELAY: Duration = Duration::from_millis(10);
/// The largest one-way delay between two hosts.
pub const MAX_DELAY: Duration = Duration::from_millis(80);
/// Jitter: up to this fraction of a pair's delay, added to each packet.
pub const JITTER: f64 = 0.1;

/// SplitMix64: a small, seeded, deterministic generator (the delays and
/// the jitter of a run are reproducible from its seed).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator started at `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize % n.max(1)
    }
}

/// Where the institutions are, and so the one-way delay between any two.
#[derive(Debug, Clone)]
pub struct Geography {
    points: Vec<(f64, f64)>,
}

impl Geography {
    /// `n` institutions at random points of the unit square, from `seed`.
    pub fn random(n: usize, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        Self { points: (0..n).map(|_| (rng.unit(), rng.unit())).collect() }
    }

    /// How many institutions.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The one-way delay from `a` to `b` (the same both ways): 10 ms, plus
    /// 70 ms times their distance over the square's diagonal.
    pub fn one_way(&self, a: usize, b: usize) -> Duration {
        let (pa, pb) = (self.points[a], self.points[b]);
        let distance = ((pa.0 - pb.0).powi(2) + (pa.1 - pb.1).powi(2)).sqrt();
        let spread = (MAX_DELAY - MIN_DELAY).as_secs_f64();
        MIN_DELAY + Duration::from_secs_f64(spread * distance / std::f64::consts::SQRT_2)
    }
}

/// One direction of one pair of hosts: when its last packet is due.
#[derive(Debug, Clone, Copy, Default)]
pub struct Link {
    last_due: Option<Instant>,
}

impl Link {
    /// When a packet sent `now` is delivered: after `delay` and `jitter`,
    /// but never before the packet sent on this link before it.
    pub fn schedule(&mut self, now: Instant, delay: Duration, jitter: Duration) -> Instant {
        let due = (now + delay + jitter).max(self.last_due.unwrap_or(now));
        self.last_due = Some(due);
        due
    }
}

/// A host's address on the WAN: `10.77.X.Y` for host `i`, with X.Y = i + 1.
pub fn address(i: usize) -> Ipv4Addr {
    let n = i + 1;
    Ipv4Addr::new(10, 77, (n >> 8) as u8, (n & 0xff) as u8)
}

/// The host an address belongs to, if it is one of `hosts`.
pub fn host_of(addr: [u8; 4], hosts: usize) -> Option<usize> {
    if addr[0] != 10 || addr[1] != 77 {
        return None;
    }
    let n = (usize::from(addr[2]) << 8) | usize::from(addr[3]);
    (1..=hosts).contains(&n).then(|| n - 1)
}

/// The source and destination of an IPv4 packet, if it is one.
pub fn ipv4_ends(packet: &[u8]) -> Option<([u8; 4], [u8; 4])> {
    if packet.len() < 20 || packet[0] >> 4 != 4 {
        return None;
    }
    let src = packet[12..16].try_into().ok()?;
    let dst = packet[16..20].try_into().ok()?;
    Some((src, dst))
}

/// A packet waiting for its time.
#[derive(Debug)]
struct Queued {
    due: Instant,
    seq: u64,
    to: usize,
    bytes: Vec<u8>,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    /// Reversed: the heap's top is the packet due first.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.due, other.seq).cmp(&(self.due, self.seq))
    }
}

/// What the router's threads share.
#[derive(Debug)]
struct Router {
    geography: Geography,
    queue: Mutex<(BinaryHeap<Queued>, u64)>,
    wake: Condvar,
    /// `links[from * n + to]`, with the jitter's generator.
    links: Mutex<(Vec<Link>, Rng)>,
    stop: AtomicBool,
    sent: Vec<AtomicU64>,
    received: Vec<AtomicU64>,
    /// Largest lateness of a delivery past its due time, in microseconds.
    late_us: AtomicU64,
    /// Deliveries over 5 ms past their due time.
    late: AtomicU64,
}

impl Router {
    fn route(&self, from: usize, packet: &[u8]) {
        let n = self.geography.len();
        let Some((_, dst)) = ipv4_ends(packet) else { return };
        let Some(to) = host_of(dst, n) else { return };
        if to == from {
            return;
        }
        self.sent[from].fetch_add(packet.len() as u64, Ordering::Relaxed);
        let now = Instant::now();
        let delay = self.geography.one_way(from, to);
        let due = {
            let mut links = self.links.lock().unwrap_or_else(|p| p.into_inner());
            let jitter = delay.mul_f64(JITTER * links.1.unit());
            links.0[from * n + to].schedule(now, delay, jitter)
        };
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        queue.1 += 1;
        let seq = queue.1;
        let first = queue.0.peek().is_none_or(|top| due < top.due);
        queue.0.push(Queued { due, seq, to, bytes: packet.to_vec() });
        drop(queue);
        if first {
            self.wake.notify_one();
        }
    }

    /// The delivery thread: writes each packet into its host when due.
    fn deliver(&self, devices: &[Arc<SyncDevice>]) {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        while !self.stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            match queue.0.peek().map(|top| top.due) {
                Some(due) if due <= now => {
                    let Some(packet) = queue.0.pop() else { continue };
                    drop(queue);
                    let late = now.duration_since(packet.due).as_micros() as u64;
                    self.late_us.fetch_max(late, Ordering::Relaxed);
                    if late > 5_000 {
                        self.late.fetch_add(1, Ordering::Relaxed);
                    }
                    // A full or vanished device loses the packet, as a
                    // congested link would; TCP sends it again.
                    if devices[packet.to].send(&packet.bytes).is_ok() {
                        self.received[packet.to]
                            .fetch_add(packet.bytes.len() as u64, Ordering::Relaxed);
                    }
                    queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
                }
                Some(due) => {
                    queue = self
                        .wake
                        .wait_timeout(queue, due - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
                None => {
                    queue = self
                        .wake
                        .wait_timeout(queue, Duration::from_millis(100))
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
        }
    }
}

/// One host of a [`Wan`].
#[derive(Debug, Clone)]
pub struct WanHost {
    /// The namespace's name.
    pub ns: String,
    /// `/run/netns/NAME`, for [`netns::enter`].
    pub path: PathBuf,
    /// Its address.
    pub ip: Ipv4Addr,
}

impl WanHost {
    /// A libp2p TCP listen address on this host, at a port the OS chooses.
    pub fn listen_addr(&self) -> String {
        format!("/ip4/{}/tcp/0", self.ip)
    }
}

/// Hosts in namespaces of their own, joined by this process as a router
/// with each pair's delay and jitter. Deleted on drop.
pub struct Wan {
    hosts: Vec<WanHost>,
    made: Vec<String>,
    router: Arc<Router>,
    interrupt: Arc<InterruptEvent>,
    threads: Vec<JoinHandle<()>>,
}

impl Wan {
    /// A WAN of one host per institution of `geography`, jitter drawn from
    /// `seed`. `Err` (with the reason) when namespaces or TUN devices
    /// cannot be made here; a failure after the first was made panics
    /// (after cleaning up).
    pub fn new(geography: Geography, seed: u64) -> Result<Self, String> {
        let n = geography.len();
        let id = WANS.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("curbside-{}-w{id}", std::process::id());
        let router = Arc::new(Router {
            queue: Mutex::new((BinaryHeap::new(), 0)),
            wake: Condvar::new(),
            links: Mutex::new((vec![Link::default(); n * n], Rng::new(seed))),
            stop: AtomicBool::new(false),
            sent: (0..n).map(|_| AtomicU64::new(0)).collect(),
            received: (0..n).map(|_| AtomicU64::new(0)).collect(),
            late_us: AtomicU64::new(0),
            late: AtomicU64::new(0),
            geography,
        });
        let interrupt = Arc::new(InterruptEvent::new().map_err(|e| format!("an event: {e}"))?);
        let mut wan =
            Self { hosts: Vec::new(), made: Vec::new(), router, interrupt, threads: Vec::new() };
        let mut devices = Vec::with_capacity(n);
        for i in 0..n {
            let ns = format!("{prefix}-h{i}");
            if let Err(e) = netns::ip(&["netns", "add", &ns]) {
                if i == 0 {
                    return Err(format!("cannot make a network namespace: {e}"));
                }
                panic!("making namespace {ns}: {e}");
            }
            wan.made.push(ns.clone());
            let path = Path::new("/run/netns").join(&ns);
            let device = match tun_in(&path) {
                Ok(device) => device,
                Err(e) if i == 0 => return Err(format!("cannot make a TUN device: {e}")),
                Err(e) => panic!("making the TUN device of {ns}: {e}"),
            };
            let ip = address(i);
            netns::run(&["-n", &ns, "addr", "add", &format!("{ip}/16"), "dev", "wan0"]);
            netns::run(&["-n", &ns, "link", "set", "wan0", "up"]);
            netns::run(&["-n", &ns, "link", "set", "lo", "up"]);
            devices.push(Arc::new(device));
            wan.hosts.push(WanHost { ns, path, ip });
        }
        let devices = Arc::new(devices);
        for i in 0..n {
            let (router, interrupt, devices) =
                (wan.router.clone(), wan.interrupt.clone(), devices.clone());
            let thread = std::thread::Builder::new()
                .name(format!("wan-read-{i}"))
                .spawn(move || read_host(i, &devices[i], &router, &interrupt))
                .map_err(|e| e.to_string())?;
            wan.threads.push(thread);
        }
        let router = wan.router.clone();
        let thread = std::thread::Builder::new()
            .name("wan-deliver".into())
            .spawn(move || router.deliver(&devices))
            .map_err(|e| e.to_string())?;
        wan.threads.push(thread);
        Ok(wan)
    }

    /// The hosts, in the geography's order.
    pub fn hosts(&self) -> &[WanHost] {
        &self.hosts
    }

    /// The geography (for the delay between two hosts).
    pub fn geography(&self) -> &Geography {
        &self.router.geography
    }

    /// Bytes each host has sent to the others so far.
    pub fn sent(&self) -> Vec<u64> {
        self.router.sent.iter().map(|c| c.load(Ordering::Relaxed)).collect()
    }

    /// Bytes delivered to each host so far.
    pub fn received(&self) -> Vec<u64> {
        self.router.received.iter().map(|c| c.load(Ordering::Relaxed)).collect()
    }

    /// The latest any packet was delivered past its due time so far: how
    /// far the router itself fell behind (it shares the CPU with the nodes).
    pub fn worst_lateness(&self) -> Duration {
        Duration::from_micros(self.router.late_us.load(Ordering::Relaxed))
    }

    /// How many deliveries were over 5 ms late so far.
    pub fn late_deliveries(&self) -> u64 {
        self.router.late.load(Ordering::Relaxed)
    }

    /// Gives the router's threads a real-time priority (`chrt -f`), so the
    /// load of the nodes and of anything else on the machine delays
    /// packets as little as possible; whether it could.
    pub fn realtime(&self) -> bool {
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return false };
        let mut all = true;
        for task in tasks.flatten() {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if comm.starts_with("wan-") {
                let tid = task.file_name().to_string_lossy().to_string();
                let set = std::process::Command::new("chrt")
                    .args(["-f", "-p", "20", &tid])
                    .output()
                    .is_ok_and(|o| o.status.success());
                all &= set;
            }
        }
        all
    }
}

impl std::fmt::Debug for Wan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wan").field("hosts", &self.hosts).finish_non_exhaustive()
    }
}

impl Drop for Wan {
    fn drop(&mut self) {
        self.router.stop.store(true, Ordering::Relaxed);
        let _ = self.interrupt.trigger();
        self.router.wake.notify_all();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        for ns in self.made.iter().rev() {
            if let Err(e) = netns::ip(&["netns", "del", ns]) {
                eprintln!("could not delete network namespace {ns}: {e}");
            }
        }
    }
}

/// A TUN device named `wan0` made inside the namespace at `path` (from a
/// thread that enters it: a device belongs to the namespace it was made
/// in, and its descriptor stays usable from anywhere).
fn tun_in(path: &Path) -> std::io::Result<SyncDevice> {
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        netns::enter(&path);
        let device = DeviceBuilder::new().name("wan0").build_sync()?;
        device.set_nonblocking(true)?;
        Ok(device)
    })
    .join()
    .unwrap_or_else(|_| Err(std::io::Error::other("the thread making the device panicked")))
}

/// A reader thread: routes every packet host `i` sends until stopped.
fn read_host(i: usize, device: &SyncDevice, router: &Router, interrupt: &InterruptEvent) {
    let mut buf = vec![0u8; 65_536];
    while !router.stop.load(Ordering::Relaxed) {
        match device.recv_intr(&mut buf, interrupt) {
            Ok(len) => router.route(i, &buf[..len]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) if router.stop.load(Ordering::Relaxed) => return,
            Err(e) => {
                eprintln!("wan: reading host {i}'s device: {e}");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_lie_between_10_and_80_ms_and_obey_the_triangle_inequality() {
        let g = Geography::random(64, 7);
        let mut seen = (Duration::MAX, Duration::ZERO);
        for a in 0..64 {
            assert_eq!(g.one_way(a, a), MIN_DELAY);
            for b in 0..64 {
                let d = g.one_way(a, b);
                assert_eq!(d, g.one_way(b, a));
                assert!((MIN_DELAY..=MAX_DELAY).contains(&d), "{d:?}");
                seen = (seen.0.min(d), seen.1.max(d));
                for c in 0..64 {
                    assert!(d <= g.one_way(a, c) + g.one_way(c, b));
                }
            }
        }
        // The seeded square spreads them across the range.
        assert!(seen.1 > Duration::from_millis(60), "{seen:?}");
        // And the same seed gives the same network.
        assert_eq!(Geography::random(64, 7).one_way(3, 9), g.one_way(3, 9));
    }

    #[test]
    fn a_link_adds_delay_and_jitter_but_never_reorders() {
        let t0 = Instant::now();
        let mut link = Link::default();
        let delay = Duration::from_millis(40);
        let first = link.schedule(t0, delay, Duration::from_millis(4));
        assert_eq!(first, t0 + Duration::from_millis(44));
        // Sent 1 ms later with no jitter: would be due earlier; it waits.
        let second = link.schedule(t0 + Duration::from_millis(1), delay, Duration::ZERO);
        assert_eq!(second, first);
        let third = link.schedule(t0 + Duration::from_millis(10), delay, Duration::ZERO);
        assert_eq!(third, t0 + Duration::from_millis(50));
    }

    #[test]
    fn addresses_name_their_hosts() {
        for i in [0, 1, 254, 255, 256, 499] {
            assert_eq!(host_of(address(i).octets(), 500), Some(i));
        }
        assert_eq!(host_of(address(64).octets(), 64), None);
        assert_eq!(host_of([10, 77, 0, 0], 64), None);
        assert_eq!(host_of([127, 0, 0, 1], 64), None);
        let mut packet = vec![0x45u8; 40];
        packet[12..16].copy_from_slice(&[10, 77, 0, 1]);
        packet[16..20].copy_from_slice(&[10, 77, 0, 2]);
        assert_eq!(ipv4_ends(&packet), Some(([10, 77, 0, 1], [10, 77, 0, 2])));
        packet[0] = 0x60;
        assert_eq!(ipv4_ends(&packet), None);
    }

    #[test]
    fn the_generator_is_uniform_enough_and_seeded() {
        let mut rng = Rng::new(1);
        let draws: Vec<f64> = (0..10_000).map(|_| rng.unit()).collect();
        assert!(draws.iter().all(|u| (0.0..1.0).contains(u)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
        assert_eq!(Rng::new(1).next_u64(), Rng::new(1).next_u64());
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }
}
