//! A search: its words and filters, checked ([`SearchQuery::new`]), and
//! run against the index and the store ([`SearchIndex::search`]).
//!
//! Every word must match (in the title or the text); BM25 ranks, the
//! title counting double; among equal scores the newer comes first. The
//! cost of a search is bounded by what [`SearchQuery::new`] accepts: at
//! most [`MAX_QUERY_BYTES`] and [`MAX_WORDS`] words, a page of at most
//! [`MAX_LIMIT`] and no deeper than [`MAX_DEPTH`] results.

use std::ops::Bound;

use curbside_protocol::{EventId, HubId, Timestamp};
use std::collections::BTreeMap;

use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{IndexRecordOption, Value as _};
use tantivy::snippet::SnippetGenerator;
use tantivy::{Score, TantivyDocument, Term};

use super::analyzer;
use super::doc::{KINDS, Searchable};
use super::top::RecentTop;
use super::{SearchError, SearchIndex};
use crate::store::Store;

/// Longest query text, in bytes.
pub const MAX_QUERY_BYTES: usize = 200;
/// Most words in a query.
pub const MAX_WORDS: usize = 8;
/// Results per page when the request names no limit.
pub const DEFAULT_LIMIT: usize = 20;
/// Most results per page.
pub const MAX_LIMIT: usize = 100;
/// How deep paging goes: results past this many are not served (refine
/// the query instead). Bounds what one request can make the index rank.
pub const MAX_DEPTH: usize = 1000;
/// Characters of a snippet.
const SNIPPET_CHARS: usize = 200;
/// Characters of a snippet cut from a title (Tantivy's default).
const TITLE_SNIPPET_CHARS: usize = 150;

/// Why a search was refused: each has a stable code (`codes.rs`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// No searchable word.
    #[error("the query has no word to search for")]
    Empty,
    /// Too long.
    #[error("the query is longer than {MAX_QUERY_BYTES} bytes or {MAX_WORDS} words")]
    TooLong,
    /// A filter's value is not one the index knows.
    #[error("{0}")]
    BadFilter(String),
    /// The cursor is not one this node gave, or is past [`MAX_DEPTH`].
    #[error(
        "the cursor is not valid (use the next_cursor of a previous page, at most {MAX_DEPTH} results deep)"
    )]
    BadCursor,
}

impl QueryError {
    /// The stable code.
    pub fn code(&self) -> crate::codes::Code {
        use crate::codes::Code;
        match self {
            QueryError::Empty | QueryError::TooLong | QueryError::BadFilter(_) => Code::BadQuery,
            // A cursor is a parameter like any other (`bad_request`).
            QueryError::BadCursor => Code::BadRequest,
        }
    }
}

/// The filters of a search, as given (each optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    /// Only this hub.
    pub hub: Option<String>,
    /// Only this kind: post, case, comment or poll.
    pub kind: Option<String>,
    /// Only cases with this tag.
    pub tag: Option<String>,
    /// Only cases with this age band (`40-49`, or an age in years).
    pub age_band: Option<String>,
    /// Only cases of this sex.
    pub sex: Option<String>,
    /// Only by authors attested in this specialty.
    pub specialty: Option<String>,
    /// Only solved (true) or unsolved (false) cases.
    pub solved: Option<bool>,
    /// Only made at or after this time.
    pub since: Option<Timestamp>,
}

/// A checked search.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    /// The query's terms, analysed: all must match.
    terms: Vec<String>,
    /// Filter terms, by field name.
    filters: Vec<(&'static str, String)>,
    solved: Option<bool>,
    since: Option<Timestamp>,
    limit: usize,
    offset: usize,
}

/// One result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// What was found.
    pub found: Searchable,
    /// BM25 score.
    pub score: f32,
    /// The best fragment of its text.
    pub snippet: String,
    /// Byte ranges of `snippet` that matched.
    pub highlighted: Vec<std::ops::Range<usize>>,
}

/// A page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The results, best first.
    pub hits: Vec<Hit>,
    /// The cursor of the next page, if there may be one.
    pub next_cursor: Option<String>,
}

fn slug(name: &str, value: &str) -> Result<String, QueryError> {
    let v = value.trim().to_ascii_lowercase();
    if v.is_empty()
        || v.len() > 40
        || !v.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(QueryError::BadFilter(format!(
            "{name} {value:?} is not a valid {name} (lowercase letters, digits and '-')"
        )));
    }
    Ok(v)
}

impl SearchQuery {
    /// Checks `text`, `filters`, `limit` (default [`DEFAULT_LIMIT`], at most
    /// [`MAX_LIMIT`]) and `cursor` (from a previous page).
    pub fn new(
        text: &str,
        filters: &Filters,
        limit: Option<usize>,
        cursor: Option<&str>,
    ) -> Result<Self, QueryError> {
        if text.len() > MAX_QUERY_BYTES {
            return Err(QueryError::TooLong);
        }
        let mut analyzer = analyzer::query_analyzer();
        let mut terms = analyzer::terms(&mut analyzer, text);
        terms.dedup();
        if terms.is_empty() {
            return Err(QueryError::Empty);
        }
        if terms.len() > MAX_WORDS {
            return Err(QueryError::TooLong);
        }
        let mut f = Vec::new();
        if let Some(hub) = &filters.hub {
            let hub = slug("hub", hub)?;
            HubId::new(&hub).map_err(|e| QueryError::BadFilter(e.to_string()))?;
            f.push(("hub", hub));
        }
        if let Some(kind) = &filters.kind {
            let k = kind.trim().to_ascii_lowercase();
            if !KINDS.iter().any(|x| x.as_str() == k) {
                return Err(QueryError::BadFilter(format!(
                    "kind {kind:?} is not one of post, case, comment, poll"
                )));
            }
            f.push(("kind", k));
        }
        if let Some(tag) = &filters.tag {
            f.push(("tag", slug("tag", tag)?));
        }
        if let Some(band) = &filters.age_band {
            let b: curbside_protocol::AgeBand =
                band.parse().map_err(|e: String| QueryError::BadFilter(e))?;
            f.push(("age_band", b.label().to_string()));
        }
        if let Some(sex) = &filters.sex {
            let s: curbside_protocol::Sex =
                sex.parse().map_err(|e: String| QueryError::BadFilter(e))?;
            f.push(("sex", super::doc::sex_name(s).to_string()));
        }
        if let Some(sp) = &filters.specialty {
            f.push(("specialty", slug("specialty", sp)?));
        }
        let limit = limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
        let offset = match cursor {
            None => 0,
            Some(c) => decode_cursor(c)?,
        };
        if offset + limit > MAX_DEPTH {
            return Err(QueryError::BadCursor);
        }
        Ok(SearchQuery {
            terms,
            filters: f,
            solved: filters.solved,
            since: filters.since,
            limit,
            offset,
        })
    }

    /// The tantivy query: every word's term, and the filters. A single word
    /// with no filter is a bare term query and several words with none a
    /// plain conjunction of terms: the shapes Tantivy ranks with
    /// block-max pruning ([`super::top`]).
    fn query(&self, index: &SearchIndex) -> Box<dyn Query> {
        let fields = &index.fields;
        let schema = index.index.schema();
        let word = |term: &String| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(fields.words, term),
                IndexRecordOption::WithFreqs,
            ))
        };
        let unfiltered = self.filters.is_empty() && self.solved.is_none() && self.since.is_none();
        if unfiltered && let [only] = self.terms.as_slice() {
            return word(only);
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> =
            self.terms.iter().map(|t| (Occur::Must, word(t))).collect();
        // Filters must match but add nothing to the score.
        let filter = |q: Box<dyn Query>| -> (Occur, Box<dyn Query>) {
            (Occur::Must, Box::new(ConstScoreQuery::new(q, 0.0)))
        };
        for (name, value) in &self.filters {
            if let Ok(field) = schema.get_field(name) {
                clauses.push(filter(Box::new(TermQuery::new(
                    Term::from_field_text(field, value),
                    IndexRecordOption::Basic,
                ))));
            }
        }
        if let Some(solved) = self.solved {
            clauses.push(filter(Box::new(TermQuery::new(
                Term::from_field_u64(fields.solved, u64::from(solved)),
                IndexRecordOption::Basic,
            ))));
        }
        if let Some(since) = self.since {
            clauses.push(filter(Box::new(RangeQuery::new(
                Bound::Included(Term::from_field_u64(fields.created_at, since.as_millis())),
                Bound::Unbounded,
            ))));
        }
        Box::new(BooleanQuery::new(clauses))
    }
}

/// A cursor: the offset of the next page, opaque to callers.
fn encode_cursor(offset: usize) -> String {
    format!("o{offset:x}")
}

fn decode_cursor(cursor: &str) -> Result<usize, QueryError> {
    cursor
        .strip_prefix('o')
        .filter(|h| h.len() <= 8)
        .and_then(|h| usize::from_str_radix(h, 16).ok())
        .filter(|o| *o < MAX_DEPTH)
        .ok_or(QueryError::BadCursor)
}

impl SearchIndex {
    /// Runs `q`: the page it asks for, each hit checked against `store`
    /// (an event the store no longer holds, or hidden by its operator, is
    /// left out) and given a snippet from the store's copy.
    pub fn search(&self, store: &Store, q: &SearchQuery) -> Result<Page, SearchError> {
        let searcher = self.reader.searcher();
        let query = q.query(self);
        // One more than the page, to know whether another follows.
        let collector = RecentTop::new(q.limit + 1, q.offset, "created_at");
        let found = searcher.search(&*query, &collector)?;
        let more = found.len() > q.limit;
        // Snippets are cut from the store's text with the index's analyzer,
        // rarer words weighing more in the choice of fragment (as Tantivy's
        // own snippets weigh them).
        let mut weights = BTreeMap::new();
        for term in &q.terms {
            let df = searcher.doc_freq(&Term::from_field_text(self.fields.words, term))?;
            if df > 0 {
                weights.insert(term.clone(), 1.0 / (1.0 + df as Score));
            }
        }
        let title_snippets = SnippetGenerator::new(
            weights.clone(),
            analyzer::index_analyzer(),
            self.fields.words,
            TITLE_SNIPPET_CHARS,
        );
        let text_snippets = SnippetGenerator::new(
            weights,
            analyzer::index_analyzer(),
            self.fields.words,
            SNIPPET_CHARS,
        );
        let mut hits = Vec::with_capacity(q.limit);
        for ranked in found.into_iter().take(q.limit) {
            let score = ranked.score;
            let doc: TantivyDocument = searcher.doc(ranked.address)?;
            let Some(id) = doc
                .get_first(self.fields.id)
                .and_then(|v| v.as_str())
                .and_then(|s| s.parse::<EventId>().ok())
            else {
                continue;
            };
            // The second line of defence: what the store no longer holds
            // (retracted, taken down) or hides is never shown.
            if store.events().is_hidden(&id) {
                continue;
            }
            // An edited event is shown as its edit in force (`Searchable::of`
            // keeps the original's id).
            let (event, hub) = match store.events().get_with_hub(&id)? {
                Some(found) => found,
                None => match store.events().edit_in_force(&id)? {
                    Some(edit) => {
                        let hub = store.events().hub_of(&id)?;
                        (edit, hub)
                    }
                    None => continue,
                },
            };
            let Some(found) = Searchable::of(&event, hub) else { continue };
            let mut snippet = text_snippets.snippet(&found.text);
            if snippet.highlighted().is_empty() {
                let t = title_snippets.snippet(&found.title);
                if !t.highlighted().is_empty() || snippet.fragment().is_empty() {
                    snippet = t;
                }
            }
            hits.push(Hit {
                found,
                score,
                snippet: snippet.fragment().to_string(),
                highlighted: snippet.highlighted().to_vec(),
            });
        }
        let next = q.offset + q.limit;
        let next_cursor = (more && next < MAX_DEPTH).then(|| encode_cursor(next));
        Ok(Page { hits, next_cursor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_bounded() {
        let none = Filters::default();
        assert_eq!(SearchQuery::new("  ,; ", &none, None, None).unwrap_err(), QueryError::Empty);
        let long = "word ".repeat(50);
        assert_eq!(SearchQuery::new(&long, &none, None, None).unwrap_err(), QueryError::TooLong);
        let many = "a b c d e f g h i";
        assert_eq!(SearchQuery::new(many, &none, None, None).unwrap_err(), QueryError::TooLong);
        let q = SearchQuery::new("chest pain", &none, Some(10_000), None).unwrap();
        assert_eq!(q.limit, MAX_LIMIT);
        assert_eq!(SearchQuery::new("x", &none, None, None).unwrap().limit, DEFAULT_LIMIT);
    }

    #[test]
    fn cursors_are_checked_and_bounded_in_depth() {
        let none = Filters::default();
        let q = SearchQuery::new("x", &none, Some(20), Some(&encode_cursor(40))).unwrap();
        assert_eq!(q.offset, 40);
        for bad in ["", "40", "ozz", "o123456789", &encode_cursor(MAX_DEPTH)] {
            assert_eq!(
                SearchQuery::new("x", &none, None, Some(bad)).unwrap_err(),
                QueryError::BadCursor,
                "{bad}"
            );
        }
        // A page that would reach past the depth is refused.
        let deep = encode_cursor(MAX_DEPTH - 10);
        assert_eq!(
            SearchQuery::new("x", &none, Some(20), Some(&deep)).unwrap_err(),
            QueryError::BadCursor
        );
    }

    #[test]
    fn filters_are_checked() {
        let bad = |f: Filters| SearchQuery::new("x", &f, None, None).unwrap_err();
        assert!(matches!(
            bad(Filters { kind: Some("vote".into()), ..Default::default() }),
            QueryError::BadFilter(_)
        ));
        assert!(matches!(
            bad(Filters { sex: Some("q".into()), ..Default::default() }),
            QueryError::BadFilter(_)
        ));
        assert!(matches!(
            bad(Filters { hub: Some("Bad Hub!".into()), ..Default::default() }),
            QueryError::BadFilter(_)
        ));
        let q = SearchQuery::new(
            "x",
            &Filters { age_band: Some("47".into()), sex: Some("F".into()), ..Default::default() },
            None,
            None,
        )
        .unwrap();
        assert!(q.filters.contains(&("age_band", "40-49".into())));
        assert!(q.filters.contains(&("sex", "female".into())));
    }
}

/// A `since` as the API and the CLI take it: a date `YYYY-MM-DD` (from
/// its midnight, UTC) or milliseconds since the epoch.
pub fn parse_since(text: &str) -> Result<Timestamp, QueryError> {
    let bad = || {
        QueryError::BadFilter(format!(
            "since {text:?} is not a date YYYY-MM-DD or milliseconds since 1970"
        ))
    };
    let t = text.trim();
    if !t.is_empty() && t.len() <= 16 && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse().map(Timestamp::from_millis).map_err(|_| bad());
    }
    let mut parts = t.splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let (y, m, d): (i64, i64, i64) = (
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    );
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400_000).map(Timestamp::from_millis).map_err(|_| bad())
}

#[cfg(test)]
mod since_tests {
    use super::*;

    #[test]
    fn dates_and_milliseconds() {
        assert_eq!(parse_since("1970-01-01").unwrap().as_millis(), 0);
        assert_eq!(parse_since("2024-03-01").unwrap().as_millis(), 1_709_251_200_000);
        assert_eq!(parse_since("1709251200000").unwrap().as_millis(), 1_709_251_200_000);
        for bad in ["", "yesterday", "2024-13-01", "2024-1", "-5"] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }
}
