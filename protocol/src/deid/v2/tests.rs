use super::*;
use crate::deid::IdentifierKind::*;

#[test]
fn the_issue_examples_are_refused() {
    let found = scan("Mrs. Eleanor Whitfield, 71").findings;
    assert_eq!(found.first().map(|f| f.kind), Some(PersonName));
}
