//! Who takes part in the demo: three institutions and twelve physicians,
//! with the votes they will cast. Chosen so that the poll's breakdown has
//! groups of at least k = 5 voters (shown) and smaller ones (suppressed).

use super::nodes::Site;

/// St Mary's: chartered to verify physicians licensed in GB.
pub(crate) const ST_MARYS: usize = 0;
/// St James's: chartered to verify physicians licensed in IE.
pub(crate) const ST_JAMES: usize = 1;
/// The relay: chartered to relay only.
pub(crate) const RELAY: usize = 2;

/// The institutions, indexed by the constants above.
pub(crate) const SITES: [Site; 3] = [
    Site {
        slug: "st-marys",
        institution: "St Mary's Hospital, London",
        short: "St Mary's",
        verifies: Some("GB"),
    },
    Site {
        slug: "st-james",
        institution: "St James's Hospital, Dublin",
        short: "St James's",
        verifies: Some("IE"),
    },
    Site {
        slug: "relay",
        institution: "Irish Sea Regional Relay",
        short: "the relay",
        verifies: None,
    },
];

/// A physician of the demo.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Doctor {
    pub(crate) handle: &'static str,
    pub(crate) specialty: &'static str,
    /// The hospital that attests them (and so their jurisdiction).
    pub(crate) hospital: usize,
    /// Their vote in the poll (0-based option).
    pub(crate) vote: u8,
}

const fn doctor(
    handle: &'static str,
    specialty: &'static str,
    hospital: usize,
    vote: u8,
) -> Doctor {
    Doctor { handle, specialty, hospital, vote }
}

/// Twelve physicians: six licensed in GB, six in IE; seven cardiologists,
/// three in emergency medicine, two in general practice.
///
/// Votes: GB 5–1, IE 3–3, cardiology 5–2; emergency medicine and general
/// practice have fewer than five voters and are hidden.
pub(crate) const DOCTORS: [Doctor; 12] = [
    doctor("dr-amara", "cardiology", ST_MARYS, 0),
    doctor("dr-bennett", "cardiology", ST_MARYS, 0),
    doctor("dr-chen", "cardiology", ST_MARYS, 0),
    doctor("dr-dalton", "cardiology", ST_MARYS, 0),
    doctor("dr-evans", "emergency-medicine", ST_MARYS, 0),
    doctor("dr-fraser", "general-practice", ST_MARYS, 1),
    doctor("dr-gallagher", "cardiology", ST_JAMES, 0),
    doctor("dr-hughes", "cardiology", ST_JAMES, 1),
    doctor("dr-ibrahim", "cardiology", ST_JAMES, 1),
    doctor("dr-joyce", "emergency-medicine", ST_JAMES, 0),
    doctor("dr-kavanagh", "emergency-medicine", ST_JAMES, 0),
    doctor("dr-lynch", "general-practice", ST_JAMES, 1),
];

/// Who presents the case (through St Mary's).
pub(crate) const PRESENTER: &str = "dr-amara";
/// Who comments through St James's.
pub(crate) const COMMENTER_ST_JAMES: &str = "dr-gallagher";
/// Who comments through the relay.
pub(crate) const COMMENTER_RELAY: &str = "dr-kavanagh";
/// Who opens the poll (through the relay).
pub(crate) const POLLSTER: &str = "dr-chen";
/// Whose attestation St Mary's revokes.
pub(crate) const REVOKED: &str = "dr-fraser";
/// Who changes their vote while St James's is offline, and to which option.
pub(crate) const CHANGES_VOTE: &str = "dr-hughes";
pub(crate) const CHANGES_VOTE_TO: u8 = 0;

/// The case, de-identified: an age band, no names, no dates.
pub(crate) const CASE_TITLE: &str = "Exertional syncope in a young rower";
pub(crate) const CASE_AGE: u32 = 23;
pub(crate) const CASE_PRESENTATION: &str =
    "Two episodes of syncope at the end of hard training pieces over six weeks; no prodrome.";
pub(crate) const CASE_HISTORY: &str =
    "No family history of sudden death known. No medication. Otherwise well.";
pub(crate) const CASE_FINDINGS: &str =
    "ECG: sinus rhythm, QTc 478 ms. Echo structurally normal. Potassium 4.1 mmol/L.";
pub(crate) const CASE_QUESTION: &str =
    "Would you start a beta-blocker now, or wait for the genetic panel?";
/// A first draft's findings, naming a full date: the nodes refuse it.
pub(crate) const CASE_DRAFT_FINDINGS: &str =
    "Seen in clinic on 14/03/2025. ECG: sinus rhythm, QTc 478 ms.";

pub(crate) const COMMENT_ST_JAMES: &str = "Exercise test and a 24 h Holter first: a QTc of 478 ms at rest may shorten or lengthen on exertion, and that changes the answer.";
pub(crate) const COMMENT_RELAY: &str = "From the emergency side: no driving or competitive rowing until this is settled, whatever you decide about the beta-blocker.";
pub(crate) const COMMENT_OUTAGE: &str =
    "Update: the exercise test showed QTc prolongation in recovery. Genetic panel sent.";

pub(crate) const POLL_QUESTION: &str =
    "For this patient: start a beta-blocker now, or wait for the genetic panel?";
pub(crate) const POLL_OPTIONS: [&str; 2] = ["Start a beta-blocker now", "Wait for the panel"];

pub(crate) const REVOKED_POST_TITLE: &str = "Still here";
pub(crate) const REVOKED_POST_BODY: &str = "Posting after my licence was suspended.";
