//! Free text -> `deid::scan` and `deid::first_identifier`.
//!
//! Checks: nothing panics; every finding is a non-empty range inside the
//! text on `char` boundaries; findings are sorted by position and do not
//! overlap; and `first_identifier` agrees with `scan().first()` (the fast
//! path validation uses must decide exactly as the full scan the CLI shows).
#![no_main]

use curbside_protocol::deid;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let findings = deid::scan(text);
    for f in &findings {
        assert!(f.start < f.end, "empty or inverted finding {f:?}");
        assert!(f.end <= text.len(), "finding {f:?} past the end ({} bytes)", text.len());
        assert!(text.is_char_boundary(f.start), "finding {f:?} starts inside a char");
        assert!(text.is_char_boundary(f.end), "finding {f:?} ends inside a char");
        assert_eq!(f.excerpt(text), &text[f.start..f.end]);
    }
    for pair in findings.windows(2) {
        assert!(pair[0].end <= pair[1].start, "unsorted or overlapping: {pair:?}");
    }
    let first = deid::first_identifier(text);
    assert_eq!(first.as_ref(), findings.first(), "first_identifier disagrees with scan");
});
