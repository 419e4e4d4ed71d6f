//! A ready-made federation for tests, benchmarks, fuzzing and examples:
//! a root, a verifying node, physicians, and a [`MemoryTrust`] that holds
//! what they have said. Keys come from fixed seeds, so runs are repeatable.
//!
//! ```
//! use curbside_protocol::{testkit::Federation, validate, Arrival};
//! let mut fed = Federation::new();
//! let dr = fed.physician("dr-ada");
//! let post = fed.post(&dr, "Hyponatraemia after marathon");
//! assert!(validate(&post, fed.view(), Arrival::live(fed.now())).is_ok());
//! ```
//!
//! Not for production: it panics when a step that should succeed fails,
//! which is what a test wants.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use crate::{
    Attestation, AttestationRequest, Body, Charter, Comment, Event, Genesis, Handle, HubId,
    Jurisdiction, LicenceOpening, MemoryTrust, NetworkId, Poll, Post, SecretKey, SignedEvent,
    Specialty, Timestamp, Vote, ids::sha256, validate,
};

/// 2026-01-01T00:00:00Z: when test networks are founded.
pub const EPOCH: Timestamp = Timestamp::from_millis(1_767_225_600_000);

/// A small federation held in memory.
#[derive(Debug)]
pub struct Federation {
    root: SecretKey,
    verifier: SecretKey,
    view: MemoryTrust,
    clock: Timestamp,
    /// The verifier's audit log so far.
    log: crate::merkle::Frontier,
}

/// A key derived from a name, so tests can refer to "dr-a" twice.
pub fn key(name: &str) -> SecretKey {
    SecretKey::from_seed(&sha256(&[b"curbside/testkit/", name.as_bytes()]))
}

impl Default for Federation {
    fn default() -> Self {
        Self::new()
    }
}

impl Federation {
    /// A network with one root and one node chartered to verify in `GB` and `DEV`.
    pub fn new() -> Self {
        let root = key("root");
        let genesis = Genesis::new("Test network", vec![root.public()], EPOCH);
        let mut fed = Self {
            root,
            verifier: key("verifier"),
            view: MemoryTrust::new(genesis),
            clock: EPOCH.plus_millis(60_000),
            log: crate::merkle::Frontier::new(),
        };
        let verifier = fed.verifier.public();
        let charter = fed.charter(&verifier, &["GB", "DEV"]);
        fed.accept(&charter);
        fed
    }

    /// The network id.
    pub fn network(&self) -> NetworkId {
        crate::TrustView::network_id(&self.view)
    }

    /// What the federation has accepted so far.
    pub fn view(&self) -> &MemoryTrust {
        &self.view
    }

    /// What the federation has accepted, to change by hand (for instance
    /// to record a fork a node would have detected).
    pub fn view_mut(&mut self) -> &mut MemoryTrust {
        &mut self.view
    }

    /// The root key.
    pub fn root(&self) -> &SecretKey {
        &self.root
    }

    /// The verifying node's key.
    pub fn verifier(&self) -> &SecretKey {
        &self.verifier
    }

    /// A moment just after the latest event: "now" for validation.
    pub fn now(&self) -> Timestamp {
        self.clock.plus_millis(1_000)
    }

    /// The time the next event will carry; advances by 1 ms per event.
    pub fn tick(&mut self) -> Timestamp {
        self.clock = self.clock.plus_millis(1);
        self.clock
    }

    /// Moves the clock forward.
    pub fn advance(&mut self, ms: u64) {
        self.clock = self.clock.plus_millis(ms);
    }

    /// Signs `body` by `author` at the next tick.
    pub fn sign(&mut self, author: &SecretKey, body: Body) -> SignedEvent {
        let at = self.tick();
        self.sign_at(author, at, body)
    }

    /// Signs `body` by `author` at `at`.
    pub fn sign_at(&self, author: &SecretKey, at: Timestamp, body: Body) -> SignedEvent {
        Event::new(self.network(), author.public(), at, body).sign(author).expect("author's key")
    }

    /// Validates `event` and records it; panics if it is not accepted.
    pub fn accept(&mut self, event: &SignedEvent) {
        let accepted = validate(event, &self.view, crate::Arrival::live(self.now()))
            .unwrap_or_else(|e| panic!("{} was not accepted: {e}", event.kind()));
        self.view.insert(&accepted.to_verified());
    }

    /// A charter for `node` by the root, valid for a year (not yet accepted).
    pub fn charter(&mut self, node: &crate::PublicKey, verify: &[&str]) -> SignedEvent {
        let at = self.tick();
        let root = self.root.clone();
        self.sign_at(
            &root,
            at,
            Body::Charter(Charter {
                node: *node,
                institution: "Test Hospital".into(),
                verify: verify.iter().map(|j| Jurisdiction::new(*j).unwrap()).collect(),
                valid_until: at.plus_days(365),
            }),
        )
    }

    /// An attestation of `subject` by the verifier (not yet accepted).
    pub fn attestation(
        &mut self,
        subject: &SecretKey,
        handle: &str,
        specialties: &[&str],
        jurisdiction: &str,
    ) -> SignedEvent {
        let requested_at = self.tick();
        let request = AttestationRequest::new(
            self.network(),
            subject,
            Handle::new(handle).unwrap(),
            requested_at,
        );
        let jurisdiction = Jurisdiction::new(jurisdiction).unwrap();
        let opening = LicenceOpening {
            salt: crate::Digest::from_bytes(sha256(&[handle.as_bytes()])),
            jurisdiction: jurisdiction.clone(),
            licence: format!("LIC-{handle}"),
        };
        let verifier = self.verifier.clone();
        self.sign(
            &verifier,
            Body::Attestation(Attestation {
                subject: request.subject,
                handle: request.handle,
                specialties: specialties.iter().map(|s| Specialty::new(*s).unwrap()).collect(),
                jurisdiction,
                licence_commitment: opening.commitment(),
                valid_until: requested_at.plus_days(365),
                requested_at,
                possession: request.signature,
            }),
        )
    }

    /// A physician attested in general practice in `GB`.
    pub fn physician(&mut self, handle: &str) -> SecretKey {
        self.physician_with(handle, &["general-practice"], "GB")
    }

    /// A physician attested with these specialties and jurisdiction.
    pub fn physician_with(
        &mut self,
        handle: &str,
        specialties: &[&str],
        jurisdiction: &str,
    ) -> SecretKey {
        let dr = key(handle);
        let att = self.attestation(&dr, handle, specialties, jurisdiction);
        self.accept(&att);
        self.log(&att);
        dr
    }

    /// Appends `entry` (an attestation or revocation the verifier issued,
    /// already accepted) to the verifier's audit log, as a verifying node
    /// does before publishing it: signs and accepts the new tree head, and
    /// records the entry as logged. Returns the head.
    pub fn log(&mut self, entry: &SignedEvent) -> SignedEvent {
        self.log.push(crate::merkle::leaf_hash(entry.id().as_bytes())).unwrap();
        let verifier = self.verifier.clone();
        let head = self.sign(
            &verifier,
            Body::TreeHead(crate::TreeHead {
                size: self.log.size(),
                root: crate::Digest::from_bytes(self.log.root()),
            }),
        );
        self.accept(&head);
        self.view.log_checked(verifier.public(), [entry.id()], self.now());
        head
    }

    /// A post by `author` in `general` (not yet accepted).
    pub fn post(&mut self, author: &SecretKey, title: &str) -> SignedEvent {
        self.sign(
            author,
            Body::Post(Post {
                hub: HubId::new("general").unwrap(),
                title: title.into(),
                body:
                    "Seen in clinic today: HbA1c 7.2%, BP 120/80, eGFR 45. Thoughts on next steps?"
                        .into(),
            }),
        )
    }

    /// A comment by `author` on `parent` (not yet accepted).
    pub fn comment(&mut self, author: &SecretKey, parent: &SignedEvent, body: &str) -> SignedEvent {
        self.sign(author, Body::Comment(Comment { parent: parent.id(), body: body.into() }))
    }

    /// A poll with these options, closing in a day (not yet accepted).
    pub fn poll(&mut self, author: &SecretKey, options: &[&str], eligible: &[&str]) -> SignedEvent {
        let closes_at = self.clock.plus_days(1);
        self.sign(
            author,
            Body::Poll(Poll {
                hub: HubId::new("general").unwrap(),
                question: "First-line treatment?".into(),
                options: options.iter().map(|o| o.to_string()).collect(),
                closes_at,
                eligible: eligible.iter().map(|s| Specialty::new(*s).unwrap()).collect(),
            }),
        )
    }

    /// The root's raise of the rules to `version` from now, accepted.
    pub fn raise_rules(&mut self, version: u16) -> SignedEvent {
        let at = self.tick();
        let change = crate::rules::RulesChange { version, effective_at: at };
        let event = self.sign_at(&self.root.clone(), at, Body::Rules(change));
        self.accept(&event);
        event
    }

    /// The root's appointment of `moderator` for `hub` (`None`: every
    /// hub) for a year, accepted.
    pub fn appoint(&mut self, moderator: &crate::PublicKey, hub: Option<&str>) -> SignedEvent {
        let at = self.tick();
        let body = Body::Appointment(crate::Appointment {
            moderator: *moderator,
            hub: hub.map(|h| HubId::new(h).unwrap()),
            valid_until: at.plus_days(365),
        });
        let event = self.sign_at(&self.root.clone(), at, body);
        self.accept(&event);
        event
    }

    /// `moderator`'s takedown of `target` (in `general`) for PHI (not yet accepted).
    pub fn take_down(&mut self, moderator: &SecretKey, target: &SignedEvent) -> SignedEvent {
        let parent = match target.body() {
            Body::Comment(c) => Some(c.parent),
            Body::Vote(v) => Some(v.poll),
            _ => None,
        };
        let body = Body::Takedown(crate::Takedown {
            target: target.id(),
            target_kind: target.kind(),
            target_author: *target.author(),
            target_created_at: target.created_at(),
            parent,
            hub: HubId::new("general").unwrap(),
            reason: crate::TakedownReason::Phi,
            note: String::new(),
        });
        self.sign(moderator, body)
    }

    /// `author`'s retraction of `target` (not yet accepted).
    pub fn retract(&mut self, author: &SecretKey, target: &SignedEvent) -> SignedEvent {
        self.sign(author, Body::Retraction(crate::Retraction::of(target, "")))
    }

    /// A case by `author` in `general` (not yet accepted).
    pub fn case(&mut self, author: &SecretKey, title: &str) -> SignedEvent {
        self.sign(
            author,
            Body::Case(crate::Case {
                hub: HubId::new("general").unwrap(),
                title: title.into(),
                age: crate::AgeBand::Age40To49,
                sex: crate::Sex::Female,
                presentation: "Two weeks of exertional chest tightness.".into(),
                history: String::new(),
                findings: "ECG normal at rest; troponin negative.".into(),
                question: "Stress test or CT coronary angiography?".into(),
                tags: Vec::new(),
            }),
        )
    }

    /// `author`'s outcome of `case` (not yet accepted).
    pub fn outcome(
        &mut self,
        author: &SecretKey,
        case: &SignedEvent,
        diagnosis: &str,
    ) -> SignedEvent {
        let body =
            crate::Outcome { case: case.id(), diagnosis: diagnosis.into(), text: String::new() };
        self.sign(author, Body::Outcome(body))
    }

    /// `author`'s accept of `comment` in the thread of `thread` (not yet accepted).
    pub fn accept_answer(
        &mut self,
        author: &SecretKey,
        comment: &SignedEvent,
        thread: &SignedEvent,
    ) -> SignedEvent {
        let body = crate::Accept { comment: comment.id(), thread: thread.id() };
        self.sign(author, Body::Accept(body))
    }

    /// `author`'s answer `option` to `poll`, dated `at` (not yet accepted).
    pub fn poll_answer(
        &self,
        author: &SecretKey,
        poll: &SignedEvent,
        option: u8,
        at: Timestamp,
    ) -> SignedEvent {
        self.sign_at(author, at, Body::PollAnswer(crate::PollAnswer { poll: poll.id(), option }))
    }

    /// `author`'s edit of the post, case or comment `original`, its text
    /// (a post's body, a case's presentation, a comment's body) replaced
    /// by `text` (not yet accepted).
    pub fn edit(&mut self, author: &SecretKey, original: &SignedEvent, text: &str) -> SignedEvent {
        let content = match original.body() {
            Body::Post(p) => crate::Revision::Post(Post { body: text.into(), ..p.clone() }),
            Body::Case(c) => {
                crate::Revision::Case(crate::Case { presentation: text.into(), ..c.clone() })
            }
            Body::Comment(c) => {
                crate::Revision::Comment(Comment { body: text.into(), ..c.clone() })
            }
            other => panic!("a {} cannot be edited", other.kind()),
        };
        let edit = crate::Edit::of(original, content).expect("an editable kind");
        self.sign(author, Body::Edit(edit))
    }

    /// A vote (not yet accepted).
    pub fn vote(&mut self, voter: &SecretKey, poll: &SignedEvent, option: u8) -> SignedEvent {
        self.sign(voter, Body::Vote(Vote { poll: poll.id(), option }))
    }
}

/// The value `doc` (docs/PROTOCOL.md) publishes under the heading
/// `**name**`: the first ```` ```text ```` block after it, with the line
/// breaks that wrap long hex runs removed.
pub fn published(doc: &str, name: &str) -> Option<String> {
    let heading = format!("**{name}**");
    let after = &doc[doc.find(&heading)? + heading.len()..];
    let block = &after[after.find("```text\n")? + "```text\n".len()..];
    let block = &block[..block.find("```")?];
    Some(block.lines().map(str::trim).collect::<Vec<_>>().join(""))
}

/// The golden vectors published in `docs/PROTOCOL.md`, as `(name, hex or text)`.
///
/// Keys are RFC 8032's test keys 1 (root) and 2 (physician), so anyone can
/// reproduce them with any ed25519 library. A test checks that the document
/// contains every value exactly; `cargo run -p curbside-protocol --example
/// vectors` prints them.
pub fn vectors() -> Vec<(&'static str, String)> {
    let seed = |h: &str| -> [u8; 32] { hex::decode(h).unwrap().try_into().unwrap() };
    let root = SecretKey::from_seed(&seed(
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    ));
    let dr = SecretKey::from_seed(&seed(
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    ));
    let mut genesis = Genesis::new("Curbside test vectors", vec![root.public()], EPOCH);
    genesis.hubs.truncate(2);
    let network = genesis.network_id();
    let post = Event::new(
        network,
        dr.public(),
        EPOCH.plus_millis(60_000),
        Body::Post(Post {
            hub: HubId::new("general").unwrap(),
            title: "Hyponatraemia after a marathon".into(),
            body: "Na 128 mmol/L, urine osmolality 620 mOsm/kg. Next step?".into(),
        }),
    )
    .sign(&dr)
    .unwrap();
    let vote = Event::new(
        network,
        dr.public(),
        EPOCH.plus_millis(120_000),
        Body::Vote(Vote { poll: post.id(), option: 1 }),
    )
    .sign(&dr)
    .unwrap();
    let request = AttestationRequest::new(
        network,
        &dr,
        Handle::new("dr-vector").unwrap(),
        EPOCH.plus_millis(30_000),
    );
    let opening = LicenceOpening {
        salt: crate::Digest::from_bytes([0x11; 32]),
        jurisdiction: Jurisdiction::new("GB").unwrap(),
        licence: "1234567".into(),
    };
    let rules = Event::new(
        network,
        root.public(),
        EPOCH.plus_millis(180_000),
        Body::Rules(crate::rules::RulesChange {
            version: 2,
            effective_at: EPOCH.plus_millis(3_600_000),
        }),
    )
    .sign(&root)
    .unwrap();
    let retraction = Event::new(
        network,
        dr.public(),
        EPOCH.plus_millis(240_000),
        Body::Retraction(crate::event::Retraction::of(&post, "posted in the wrong hub")),
    )
    .sign(&dr)
    .unwrap();
    let appointment = Event::new(
        network,
        root.public(),
        EPOCH.plus_millis(300_000),
        Body::Appointment(crate::event::Appointment {
            moderator: dr.public(),
            hub: Some(HubId::new("general").unwrap()),
            valid_until: EPOCH.plus_days(365),
        }),
    )
    .sign(&root)
    .unwrap();
    let takedown = Event::new(
        network,
        dr.public(),
        EPOCH.plus_millis(360_000),
        Body::Takedown(crate::event::Takedown {
            target: post.id(),
            target_kind: crate::Kind::Post,
            target_author: dr.public(),
            target_created_at: post.event().created_at,
            parent: None,
            hub: HubId::new("general").unwrap(),
            reason: crate::event::TakedownReason::Phi,
            note: "names the patient".into(),
        }),
    )
    .sign(&dr)
    .unwrap();
    // Rules 3: the physician's case, their outcome of it, their accept of
    // a reply in its thread, and their answer to a poll after it closed.
    let case = Event::new(
        network,
        dr.public(),
        EPOCH.plus_millis(420_000),
        Body::Case(crate::Case {
            hub: HubId::new("general").unwrap(),
            title: "Exertional chest tightness".into(),
            age: crate::AgeBand::Age40To49,
            sex: crate::Sex::Female,
            presentation: "Two weeks of chest tightness on stairs.".into(),
            history: String::new(),
            findings: "Resting ECG normal.".into(),
            question: "CTCA or stress test?".into(),
            tags: Vec::new(),
        }),
    )
    .sign(&dr)
    .unwrap();
    let reply = Event::new(
        network,
        dr.public(),
        EPOCH.plus_millis(480_000),
        Body::Comment(Comment { parent: case.id(), body: "CTCA first.".into() }),
    )
    .sign(&dr)
    .unwrap();
    let outcome = Event::new(
        network,
        dr.public(),
        EPOCH.plus_millis(540_000),
        Body::Outcome(crate::Outcome {
            case: case.id(),
            diagnosis: "Stable angina".into(),
            text: "70% LAD stenosis on CTCA.".into(),
        }),
    )
    .sign(&dr)
    .unwrap();
    let accept = Event::new(
        network,
        dr.public(),
        EPOCH.plus_millis(600_000),
        Body::Accept(crate::Accept { comment: reply.id(), thread: case.id() }),
    )
    .sign(&dr)
    .unwrap();
    let answer = Event::new(
        network,
        dr.public(),
        EPOCH.plus_millis(660_000),
        Body::PollAnswer(crate::PollAnswer { poll: post.id(), option: 1 }),
    )
    .sign(&dr)
    .unwrap();
    // Rules 4: the physician's edit of the post above: a corrected text.
    let Body::Post(original) = post.body().clone() else { unreachable!("the post vector") };
    let edit = Event::new(
        network,
        dr.public(),
        EPOCH.plus_millis(720_000),
        Body::Edit(
            crate::Edit::of(
                &post,
                crate::Revision::Post(Post {
                    body: "Na 126 mmol/L, urine osmolality 620 mOsm/kg. Next step?".into(),
                    ..original
                }),
            )
            .expect("a post is editable"),
        ),
    )
    .sign(&dr)
    .unwrap();
    let mut current = Genesis::current("Curbside test vectors", vec![root.public()], EPOCH);
    current.hubs.truncate(2);
    let sig_hex = |e: &SignedEvent| e.signature().to_string();
    vec![
        ("root public key", root.public().to_string()),
        ("physician public key", dr.public().to_string()),
        ("genesis bytes", hex::encode(genesis.to_bytes())),
        ("network id", network.to_string()),
        ("post event bytes", hex::encode(post.event().to_bytes())),
        ("post id", post.id().to_string()),
        ("post signature", sig_hex(&post)),
        ("vote signed bytes", hex::encode(vote.to_bytes())),
        ("vote id", vote.id().to_string()),
        ("attestation request", request.to_text()),
        ("licence commitment", opening.commitment().to_string()),
        ("rules event bytes", hex::encode(rules.event().to_bytes())),
        ("rules id", rules.id().to_string()),
        ("format 2 genesis bytes", hex::encode(current.to_bytes())),
        ("retraction event bytes", hex::encode(retraction.event().to_bytes())),
        ("retraction id", retraction.id().to_string()),
        ("appointment event bytes", hex::encode(appointment.event().to_bytes())),
        ("appointment id", appointment.id().to_string()),
        ("takedown event bytes", hex::encode(takedown.event().to_bytes())),
        ("takedown id", takedown.id().to_string()),
        ("case id", case.id().to_string()),
        ("case reply id", reply.id().to_string()),
        ("outcome event bytes", hex::encode(outcome.event().to_bytes())),
        ("outcome id", outcome.id().to_string()),
        ("accept event bytes", hex::encode(accept.event().to_bytes())),
        ("accept id", accept.id().to_string()),
        ("poll answer event bytes", hex::encode(answer.event().to_bytes())),
        ("poll answer id", answer.id().to_string()),
        ("edit event bytes", hex::encode(edit.event().to_bytes())),
        ("edit id", edit.id().to_string()),
    ]
}

/// SplitMix64: a small seeded generator for benchmark and test data, so
/// runs are repeatable and need no dependency.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A number from `lo` to `hi`, both included (`lo` <= `hi`).
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// 32 random bytes.
    pub fn bytes32(&mut self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for chunk in out.chunks_exact_mut(8) {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        out
    }
}
