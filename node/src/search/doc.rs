//! What of an event is searchable, and how it is laid out in the index.
//!
//! The index keeps no text: only terms, and the id and time of each
//! document. A result's snippet is made from the event as the store holds
//! it then ([`Searchable::of`] again), so the index never holds a copy of
//! what a physician wrote, and an event the store no longer holds cannot
//! be shown.

use curbside_protocol::{Authority, Body, EventId, HubId, Kind, Sex, Timestamp, VerifiedEvent};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};

use super::analyzer::MEDICAL;

/// Bytes of an event id that the index's deletion key keeps: 128 bits,
/// so that two stored events sharing a key (one's retraction then taking
/// the other's document with it) would take about 2^64 hashes to make.
pub const KEY_BYTES: usize = 16;

/// The kinds searched, and the names the API and the CLI use for them.
pub const KINDS: [Kind; 4] = [Kind::Post, Kind::Case, Kind::Comment, Kind::Poll];

/// The searchable parts of a post, case, comment or poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Searchable {
    /// The event.
    pub id: EventId,
    /// Post, case, comment or poll.
    pub kind: Kind,
    /// Its hub (a comment's, its thread's), if known.
    pub hub: Option<HubId>,
    /// A title or a poll's question (weighted above the rest).
    pub title: String,
    /// Every other text field, one per line (a case's presentation,
    /// history, findings, question and tags; a poll's options).
    pub text: String,
    /// A case's tags.
    pub tags: Vec<String>,
    /// A case's age band label (`40-49`).
    pub age_band: Option<&'static str>,
    /// A case's sex.
    pub sex: Option<&'static str>,
    /// The author's attested specialties.
    pub specialties: Vec<String>,
    /// The author's handle, for display.
    pub author: Option<String>,
    /// When it was made.
    pub created_at: Timestamp,
    /// A case with an outcome. Always false until outcome events exist:
    /// see [`Searchable::solved`].
    pub solved: bool,
}

/// The name of a sex as the API and the index spell it.
pub fn sex_name(sex: Sex) -> &'static str {
    match sex {
        Sex::Female => "female",
        Sex::Male => "male",
        Sex::Intersex => "intersex",
        Sex::Unspecified => "unspecified",
    }
}

impl Searchable {
    /// The searchable parts of `event`, if it is a post, case, comment or
    /// poll; `thread_hub` is a comment's thread's hub, when known.
    pub fn of(event: &VerifiedEvent, thread_hub: Option<HubId>) -> Option<Self> {
        let (specialties, author) = match event.authority() {
            Authority::Physician(att) => (
                att.specialties.iter().map(|s| s.as_str().to_string()).collect(),
                Some(att.handle.as_str().to_string()),
            ),
            _ => (Vec::new(), None),
        };
        // An edit is searchable as the original it replaces: under the
        // original's id, kind and time, with the edit's content (the
        // original's document gives way to it: `SearchIndex::apply_one`).
        let edited;
        let (id, kind, created_at, body) = match event.body() {
            Body::Edit(e) => {
                edited = e.content.to_body();
                (e.target, e.content.kind(), e.target_created_at, &edited)
            }
            body => (event.id(), event.kind(), event.created_at(), body),
        };
        let mut s = Searchable {
            id,
            kind,
            hub: None,
            title: String::new(),
            text: String::new(),
            tags: Vec::new(),
            age_band: None,
            sex: None,
            specialties,
            author,
            created_at,
            solved: false,
        };
        match body {
            Body::Post(p) => {
                s.hub = Some(p.hub.clone());
                s.title.clone_from(&p.title);
                s.text.clone_from(&p.body);
            }
            Body::Case(c) => {
                s.hub = Some(c.hub.clone());
                s.title.clone_from(&c.title);
                s.tags = c.tags.iter().map(|t| t.as_str().to_string()).collect();
                s.text = [&c.presentation, &c.history, &c.findings, &c.question]
                    .into_iter()
                    .map(String::as_str)
                    .chain(s.tags.iter().map(String::as_str))
                    .filter(|t| !t.is_empty())
                    .collect::<Vec<_>>()
                    .join("\n");
                s.age_band = Some(c.age.label());
                s.sex = Some(sex_name(c.sex));
            }
            Body::Comment(c) => {
                s.hub = thread_hub;
                s.text.clone_from(&c.body);
            }
            Body::Poll(p) => {
                s.hub = Some(p.hub.clone());
                s.title.clone_from(&p.question);
                s.text = p.options.join("\n");
            }
            _ => return None,
        }
        Some(s)
    }

    /// Marks a case solved. Where outcomes come in: when the store holds
    /// an outcome for a case, the indexer (told of the outcome event by
    /// the observer, like any other) reads the case again, calls this, and
    /// replaces its document (`delete_term` of its id, then
    /// `add_document`), as `SearchIndex::apply_one` does with `replace`.
    pub fn solved(mut self, solved: bool) -> Self {
        self.solved = solved;
        self
    }
}

/// The index's fields.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// The event id, hex, stored (not indexed): what a hit names.
    pub id: Field,
    /// The first [`KEY_BYTES`] bytes of the event id, indexed: the term a
    /// deletion or a replacement goes by. Not the hex id: every document
    /// adds a term of its own to the term dictionary, whose finite-state
    /// transducer Tantivy builds again at every commit and merge, and that
    /// cost grows with the bytes a key does not share with its neighbour
    /// (the profile of the search benchmark had it as the indexer's
    /// largest single item).
    pub key: Field,
    /// `post`, `case`, `comment`, `poll`.
    pub kind: Field,
    /// The hub.
    pub hub: Field,
    /// Tags (a case's).
    pub tag: Field,
    /// A case's age band label.
    pub age_band: Field,
    /// A case's sex.
    pub sex: Field,
    /// The author's specialties.
    pub specialty: Field,
    /// 1 once a case is solved (its author's outcome is in force).
    pub solved: Field,
    /// `created_at` in milliseconds (the `since` filter and the recency
    /// tie-break), a fast field only: a range query over a fast field
    /// reads the column, so indexing it would only add a term of its own
    /// for nearly every document to the term dictionary.
    pub created_at: Field,
    /// The words of the title (or question) and of the rest of the text,
    /// in one field: the title twice, so that a word of the title counts
    /// double, then the text. One field, because a query is then a plain
    /// conjunction of terms, the only shape whose ranking Tantivy can
    /// prune (block-max WAND): a word sought in title *or* text is a
    /// nested disjunction, every match of which is scored.
    pub words: Field,
}

impl Fields {
    /// The schema, and its fields.
    pub fn schema() -> (Schema, Fields) {
        let mut b = Schema::builder();
        // Positions are not kept: queries are bags of words (no phrases),
        // and positions would be about a third of the index.
        let analysed = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(MEDICAL)
                .set_index_option(IndexRecordOption::WithFreqs),
        );
        let fields = Fields {
            id: b.add_text_field("id", STORED),
            key: b.add_bytes_field("key", INDEXED),
            kind: b.add_text_field("kind", STRING),
            hub: b.add_text_field("hub", STRING),
            tag: b.add_text_field("tag", STRING),
            age_band: b.add_text_field("age_band", STRING),
            sex: b.add_text_field("sex", STRING),
            specialty: b.add_text_field("specialty", STRING),
            solved: b.add_u64_field("solved", INDEXED),
            created_at: b.add_u64_field("created_at", FAST),
            words: b.add_text_field("words", analysed),
        };
        (b.build(), fields)
    }

    /// The term of event `id` in [`Fields::key`].
    pub fn key_of(id: &EventId) -> [u8; KEY_BYTES] {
        let mut key = [0; KEY_BYTES];
        key.copy_from_slice(&id.as_bytes()[..KEY_BYTES]);
        key
    }

    /// The term that deletes or replaces the document of event `id`.
    pub fn key_term(&self, id: &EventId) -> tantivy::Term {
        tantivy::Term::from_field_bytes(self.key, &Self::key_of(id))
    }

    /// `s` as an index document.
    pub fn document(&self, s: &Searchable) -> tantivy::TantivyDocument {
        let mut d = tantivy::TantivyDocument::default();
        d.add_text(self.id, s.id.to_string());
        d.add_bytes(self.key, &Self::key_of(&s.id)[..]);
        d.add_text(self.kind, s.kind.as_str());
        if let Some(hub) = &s.hub {
            d.add_text(self.hub, hub.as_str());
        }
        for t in &s.tags {
            d.add_text(self.tag, t);
        }
        if let Some(a) = s.age_band {
            d.add_text(self.age_band, a);
        }
        if let Some(x) = s.sex {
            d.add_text(self.sex, x);
        }
        for sp in &s.specialties {
            d.add_text(self.specialty, sp);
        }
        d.add_u64(self.solved, u64::from(s.solved));
        d.add_u64(self.created_at, s.created_at.as_millis());
        if !s.title.is_empty() {
            d.add_text(self.words, &s.title);
            d.add_text(self.words, &s.title);
        }
        if !s.text.is_empty() {
            d.add_text(self.words, &s.text);
        }
        d
    }
}
