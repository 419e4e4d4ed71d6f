//! The jurisdictions a network names, with the names readers see.
//!
//! A jurisdiction is a code ([`Jurisdiction`]): where a charter lets a
//! verifier attest physicians, where an attestation says a physician is
//! licensed, what a tally breaks votes down by. Free text let a root
//! charter a verifier for `UK` while its physicians were attested in `GB`,
//! and a tally split one country's voters over two spellings. This is the
//! list every network names its jurisdictions from: nodes refuse an
//! unknown one from their own callers (a policy, `unknown_jurisdiction`,
//! with the nearest names suggested) and publish it (`GET
//! /v1/jurisdictions`) with the names the tallies' breakdowns show.
//!
//! The list: ISO 3166-1 alpha-2 codes for every country and territory
//! with a population (so without Antarctica, Bouvet Island, Heard and
//! McDonald Islands, South Georgia, the French Southern Territories, the
//! British Indian Ocean Territory and the US Minor Outlying Islands), plus
//! `XK` (Kosovo, the user-assigned code its institutions use); the states,
//! district and inhabited territories of the United States as ISO 3166-2
//! `US-XX` and the provinces and territories of Canada as `CA-XX`, where
//! physicians are licensed by the state or province rather than the
//! country; and `DEV`, which no country holds, for development and
//! demonstration networks (`curbside node run` with no data directory
//! charters its node for it). The United Kingdom licenses through one
//! register (`GB`), so its nations are not listed apart.
//!
//! It is not a rule of the network: events signed before the list existed,
//! or by a build with another list, stay valid wherever they travel, so no
//! two nodes can disagree about what is stored because of it. Making it one
//! would take a rules version (docs/PROTOCOL.md, Rules versions).
//!
//! ```
//! use curbside_protocol::registry;
//!
//! assert_eq!(registry::jurisdiction_name("US-CA"), Some("California, United States"));
//! assert!(!registry::is_jurisdiction("UK"));
//! assert_eq!(registry::nearest_jurisdictions("UK")[0], "GB");
//! ```

use crate::Jurisdiction;

/// Every jurisdiction: `(code, name)`, in byte order of code.
pub const JURISDICTIONS: &[(&str, &str)] = &[
    ("AD", "Andorra"),
    ("AE", "United Arab Emirates"),
    ("AF", "Afghanistan"),
    ("AG", "Antigua and Barbuda"),
    ("AI", "Anguilla"),
    ("AL", "Albania"),
    ("AM", "Armenia"),
    ("AO", "Angola"),
    ("AR", "Argentina"),
    ("AS", "American Samoa"),
    ("AT", "Austria"),
    ("AU", "Australia"),
    ("AW", "Aruba"),
    ("AX", "Åland Islands"),
    ("AZ", "Azerbaijan"),
    ("BA", "Bosnia and Herzegovina"),
    ("BB", "Barbados"),
    ("BD", "Bangladesh"),
    ("BE", "Belgium"),
    ("BF", "Burkina Faso"),
    ("BG", "Bulgaria"),
    ("BH", "Bahrain"),
    ("BI", "Burundi"),
    ("BJ", "Benin"),
    ("BL", "Saint Barthélemy"),
    ("BM", "Bermuda"),
    ("BN", "Brunei Darussalam"),
    ("BO", "Bolivia"),
    ("BQ", "Bonaire, Sint Eustatius and Saba"),
    ("BR", "Brazil"),
    ("BS", "Bahamas"),
    ("BT", "Bhutan"),
    ("BW", "Botswana"),
    ("BY", "Belarus"),
    ("BZ", "Belize"),
    ("CA", "Canada"),
    ("CA-AB", "Alberta, Canada"),
    ("CA-BC", "British Columbia, Canada"),
    ("CA-MB", "Manitoba, Canada"),
    ("CA-NB", "New Brunswick, Canada"),
    ("CA-NL", "Newfoundland and Labrador, Canada"),
    ("CA-NS", "Nova Scotia, Canada"),
    ("CA-NT", "Northwest Territories, Canada"),
    ("CA-NU", "Nunavut, Canada"),
    ("CA-ON", "Ontario, Canada"),
    ("CA-PE", "Prince Edward Island, Canada"),
    ("CA-QC", "Quebec, Canada"),
    ("CA-SK", "Saskatchewan, Canada"),
    ("CA-YT", "Yukon, Canada"),
    ("CC", "Cocos (Keeling) Islands"),
    ("CD", "Congo (Democratic Republic)"),
    ("CF", "Central African Republic"),
    ("CG", "Congo"),
    ("CH", "Switzerland"),
    ("CI", "Côte d'Ivoire"),
    ("CK", "Cook Islands"),
    ("CL", "Chile"),
    ("CM", "Cameroon"),
    ("CN", "China"),
    ("CO", "Colombia"),
    ("CR", "Costa Rica"),
    ("CU", "Cuba"),
    ("CV", "Cabo Verde"),
    ("CW", "Curaçao"),
    ("CX", "Christmas Island"),
    ("CY", "Cyprus"),
    ("CZ", "Czechia"),
    ("DE", "Germany"),
    ("DEV", "Development network (not a real jurisdiction)"),
    ("DJ", "Djibouti"),
    ("DK", "Denmark"),
    ("DM", "Dominica"),
    ("DO", "Dominican Republic"),
    ("DZ", "Algeria"),
    ("EC", "Ecuador"),
    ("EE", "Estonia"),
    ("EG", "Egypt"),
    ("EH", "Western Sahara"),
    ("ER", "Eritrea"),
    ("ES", "Spain"),
    ("ET", "Ethiopia"),
    ("FI", "Finland"),
    ("FJ", "Fiji"),
    ("FK", "Falkland Islands"),
    ("FM", "Micronesia"),
    ("FO", "Faroe Islands"),
    ("FR", "France"),
    ("GA", "Gabon"),
    ("GB", "United Kingdom"),
    ("GD", "Grenada"),
    ("GE", "Georgia"),
    ("GF", "French Guiana"),
    ("GG", "Guernsey"),
    ("GH", "Ghana"),
    ("GI", "Gibraltar"),
    ("GL", "Greenland"),
    ("GM", "Gambia"),
    ("GN", "Guinea"),
    ("GP", "Guadeloupe"),
    ("GQ", "Equatorial Guinea"),
    ("GR", "Greece"),
    ("GT", "Guatemala"),
    ("GU", "Guam"),
    ("GW", "Guinea-Bissau"),
    ("GY", "Guyana"),
    ("HK", "Hong Kong"),
    ("HN", "Honduras"),
    ("HR", "Croatia"),
    ("HT", "Haiti"),
    ("HU", "Hungary"),
    ("ID", "Indonesia"),
    ("IE", "Ireland"),
    ("IL", "Israel"),
    ("IM", "Isle of Man"),
    ("IN", "India"),
    ("IQ", "Iraq"),
    ("IR", "Iran"),
    ("IS", "Iceland"),
    ("IT", "Italy"),
    ("JE", "Jersey"),
    ("JM", "Jamaica"),
    ("JO", "Jordan"),
    ("JP", "Japan"),
    ("KE", "Kenya"),
    ("KG", "Kyrgyzstan"),
    ("KH", "Cambodia"),
    ("KI", "Kiribati"),
    ("KM", "Comoros"),
    ("KN", "Saint Kitts and Nevis"),
    ("KP", "Korea (Democratic People's Republic)"),
    ("KR", "Korea (Republic)"),
    ("KW", "Kuwait"),
    ("KY", "Cayman Islands"),
    ("KZ", "Kazakhstan"),
    ("LA", "Lao People's Democratic Republic"),
    ("LB", "Lebanon"),
    ("LC", "Saint Lucia"),
    ("LI", "Liechtenstein"),
    ("LK", "Sri Lanka"),
    ("LR", "Liberia"),
    ("LS", "Lesotho"),
    ("LT", "Lithuania"),
    ("LU", "Luxembourg"),
    ("LV", "Latvia"),
    ("LY", "Libya"),
    ("MA", "Morocco"),
    ("MC", "Monaco"),
    ("MD", "Moldova"),
    ("ME", "Montenegro"),
    ("MF", "Saint Martin (French part)"),
    ("MG", "Madagascar"),
    ("MH", "Marshall Islands"),
    ("MK", "North Macedonia"),
    ("ML", "Mali"),
    ("MM", "Myanmar"),
    ("MN", "Mongolia"),
    ("MO", "Macao"),
    ("MP", "Northern Mariana Islands"),
    ("MQ", "Martinique"),
    ("MR", "Mauritania"),
    ("MS", "Montserrat"),
    ("MT", "Malta"),
    ("MU", "Mauritius"),
    ("MV", "Maldives"),
    ("MW", "Malawi"),
    ("MX", "Mexico"),
    ("MY", "Malaysia"),
    ("MZ", "Mozambique"),
    ("NA", "Namibia"),
    ("NC", "New Caledonia"),
    ("NE", "Niger"),
    ("NF", "Norfolk Island"),
    ("NG", "Nigeria"),
    ("NI", "Nicaragua"),
    ("NL", "Netherlands"),
    ("NO", "Norway"),
    ("NP", "Nepal"),
    ("NR", "Nauru"),
    ("NU", "Niue"),
    ("NZ", "New Zealand"),
    ("OM", "Oman"),
    ("PA", "Panama"),
    ("PE", "Peru"),
    ("PF", "French Polynesia"),
    ("PG", "Papua New Guinea"),
    ("PH", "Philippines"),
    ("PK", "Pakistan"),
    ("PL", "Poland"),
    ("PM", "Saint Pierre and Miquelon"),
    ("PN", "Pitcairn"),
    ("PR", "Puerto Rico"),
    ("PS", "Palestine"),
    ("PT", "Portugal"),
    ("PW", "Palau"),
    ("PY", "Paraguay"),
    ("QA", "Qatar"),
    ("RE", "Réunion"),
    ("RO", "Romania"),
    ("RS", "Serbia"),
    ("RU", "Russian Federation"),
    ("RW", "Rwanda"),
    ("SA", "Saudi Arabia"),
    ("SB", "Solomon Islands"),
    ("SC", "Seychelles"),
    ("SD", "Sudan"),
    ("SE", "Sweden"),
    ("SG", "Singapore"),
    ("SH", "Saint Helena, Ascension and Tristan da Cunha"),
    ("SI", "Slovenia"),
    ("SJ", "Svalbard and Jan Mayen"),
    ("SK", "Slovakia"),
    ("SL", "Sierra Leone"),
    ("SM", "San Marino"),
    ("SN", "Senegal"),
    ("SO", "Somalia"),
    ("SR", "Suriname"),
    ("SS", "South Sudan"),
    ("ST", "Sao Tome and Principe"),
    ("SV", "El Salvador"),
    ("SX", "Sint Maarten (Dutch part)"),
    ("SY", "Syria"),
    ("SZ", "Eswatini"),
    ("TC", "Turks and Caicos Islands"),
    ("TD", "Chad"),
    ("TG", "Togo"),
    ("TH", "Thailand"),
    ("TJ", "Tajikistan"),
    ("TK", "Tokelau"),
    ("TL", "Timor-Leste"),
    ("TM", "Turkmenistan"),
    ("TN", "Tunisia"),
    ("TO", "Tonga"),
    ("TR", "Türkiye"),
    ("TT", "Trinidad and Tobago"),
    ("TV", "Tuvalu"),
    ("TW", "Taiwan"),
    ("TZ", "Tanzania"),
    ("UA", "Ukraine"),
    ("UG", "Uganda"),
    ("US", "United States"),
    ("US-AK", "Alaska, United States"),
    ("US-AL", "Alabama, United States"),
    ("US-AR", "Arkansas, United States"),
    ("US-AS", "American Samoa, United States"),
    ("US-AZ", "Arizona, United States"),
    ("US-CA", "California, United States"),
    ("US-CO", "Colorado, United States"),
    ("US-CT", "Connecticut, United States"),
    ("US-DC", "District of Columbia, United States"),
    ("US-DE", "Delaware, United States"),
    ("US-FL", "Florida, United States"),
    ("US-GA", "Georgia, United States"),
    ("US-GU", "Guam, United States"),
    ("US-HI", "Hawaii, United States"),
    ("US-IA", "Iowa, United States"),
    ("US-ID", "Idaho, United States"),
    ("US-IL", "Illinois, United States"),
    ("US-IN", "Indiana, United States"),
    ("US-KS", "Kansas, United States"),
    ("US-KY", "Kentucky, United States"),
    ("US-LA", "Louisiana, United States"),
    ("US-MA", "Massachusetts, United States"),
    ("US-MD", "Maryland, United States"),
    ("US-ME", "Maine, United States"),
    ("US-MI", "Michigan, United States"),
    ("US-MN", "Minnesota, United States"),
    ("US-MO", "Missouri, United States"),
    ("US-MP", "Northern Mariana Islands, United States"),
    ("US-MS", "Mississippi, United States"),
    ("US-MT", "Montana, United States"),
    ("US-NC", "North Carolina, United States"),
    ("US-ND", "North Dakota, United States"),
    ("US-NE", "Nebraska, United States"),
    ("US-NH", "New Hampshire, United States"),
    ("US-NJ", "New Jersey, United States"),
    ("US-NM", "New Mexico, United States"),
    ("US-NV", "Nevada, United States"),
    ("US-NY", "New York, United States"),
    ("US-OH", "Ohio, United States"),
    ("US-OK", "Oklahoma, United States"),
    ("US-OR", "Oregon, United States"),
    ("US-PA", "Pennsylvania, United States"),
    ("US-PR", "Puerto Rico, United States"),
    ("US-RI", "Rhode Island, United States"),
    ("US-SC", "South Carolina, United States"),
    ("US-SD", "South Dakota, United States"),
    ("US-TN", "Tennessee, United States"),
    ("US-TX", "Texas, United States"),
    ("US-UT", "Utah, United States"),
    ("US-VA", "Virginia, United States"),
    ("US-VI", "Virgin Islands (U.S.), United States"),
    ("US-VT", "Vermont, United States"),
    ("US-WA", "Washington, United States"),
    ("US-WI", "Wisconsin, United States"),
    ("US-WV", "West Virginia, United States"),
    ("US-WY", "Wyoming, United States"),
    ("UY", "Uruguay"),
    ("UZ", "Uzbekistan"),
    ("VA", "Holy See"),
    ("VC", "Saint Vincent and the Grenadines"),
    ("VE", "Venezuela"),
    ("VG", "Virgin Islands (British)"),
    ("VI", "Virgin Islands (U.S.)"),
    ("VN", "Viet Nam"),
    ("VU", "Vanuatu"),
    ("WF", "Wallis and Futuna"),
    ("WS", "Samoa"),
    ("XK", "Kosovo"),
    ("YE", "Yemen"),
    ("YT", "Mayotte"),
    ("ZA", "South Africa"),
    ("ZM", "Zambia"),
    ("ZW", "Zimbabwe"),
];

/// Other names people type for a listed jurisdiction: `(alias, code)`,
/// uppercase. Only suggestions: an alias is not itself a jurisdiction.
const ALIASES: &[(&str, &str)] = &[
    ("EL", "GR"),
    ("ENGLAND", "GB"),
    ("GB-ENG", "GB"),
    ("GB-NIR", "GB"),
    ("GB-SCT", "GB"),
    ("GB-WLS", "GB"),
    ("GREAT BRITAIN", "GB"),
    ("HOLLAND", "NL"),
    ("NORTHERN IRELAND", "GB"),
    ("SCOTLAND", "GB"),
    ("UK", "GB"),
    ("USA", "US"),
    ("WALES", "GB"),
];

/// Whether `code` names a listed jurisdiction.
pub fn is_jurisdiction(code: &str) -> bool {
    jurisdiction_name(code).is_some()
}

/// The name of the listed jurisdiction `code`.
pub fn jurisdiction_name(code: &str) -> Option<&'static str> {
    JURISDICTIONS.binary_search_by(|(c, _)| (*c).cmp(code)).ok().map(|i| JURISDICTIONS[i].1)
}

/// What a reader sees for `jurisdiction`: its name if listed, else the code.
pub fn name_or_code(jurisdiction: &Jurisdiction) -> &str {
    jurisdiction_name(jurisdiction.as_str()).unwrap_or(jurisdiction.as_str())
}

/// The listed jurisdictions nearest to `typed` (at most three, nearest
/// first): the code itself typed in lowercase, an alias's code, then those
/// whose code or name is most alike (Jaro–Winkler, ignoring case), then
/// those whose name contains it.
pub fn nearest_jurisdictions(typed: &str) -> Vec<&'static str> {
    let upper = typed.trim().to_uppercase();
    let lower = typed.trim().to_lowercase();
    let mut out: Vec<&'static str> = JURISDICTIONS
        .iter()
        .map(|(code, _)| *code)
        .filter(|code| *code == upper)
        .chain(ALIASES.iter().filter(|(alias, _)| *alias == upper).map(|(_, code)| *code))
        .collect();
    // Two letters are too few to be alike by spelling: "UK" is as near
    // "UA" as "UG". Short input is matched only as a code or an alias.
    if upper.chars().count() > 2 {
        let mut scored: Vec<(f64, &'static str)> = JURISDICTIONS
            .iter()
            .map(|(code, name)| {
                let name = name.to_lowercase();
                // "California" against "California, United States" and
                // against "california" alone.
                let place = name.split(',').next().unwrap_or(&name);
                let by_code = strsim::jaro_winkler(&upper, code);
                let by_name =
                    strsim::jaro_winkler(&lower, &name).max(strsim::jaro_winkler(&lower, place));
                let contains = lower.len() > 3 && name.contains(lower.as_str());
                (by_code.max(by_name) + if contains { 0.5 } else { 0.0 }, *code)
            })
            .filter(|(score, _)| *score >= 0.85)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
        for (_, code) in scored {
            if !out.contains(&code) {
                out.push(code);
            }
        }
    }
    out.dedup();
    out.truncate(3);
    out
}

/// Why a jurisdiction was refused: not listed, with the nearest names.
pub fn unknown_jurisdiction_message(typed: &str) -> String {
    let nearest = nearest_jurisdictions(typed);
    if nearest.is_empty() {
        format!(
            "{typed:?} is not a jurisdiction this network names (GET /v1/jurisdictions, or `curbside jurisdictions`, lists them)"
        )
    } else {
        let named: Vec<String> = nearest
            .iter()
            .map(|code| format!("{code} ({})", jurisdiction_name(code).unwrap_or_default()))
            .collect();
        format!(
            "{typed:?} is not a jurisdiction this network names; did you mean {}? (`curbside jurisdictions` lists them all)",
            named.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_unique_and_every_code_is_a_valid_jurisdiction() {
        assert!(JURISDICTIONS.windows(2).all(|w| w[0].0 < w[1].0), "sorted, no duplicates");
        for (code, name) in JURISDICTIONS {
            assert!(Jurisdiction::new(*code).is_ok(), "{code}");
            assert!(!name.is_empty());
        }
        for (alias, code) in ALIASES {
            assert!(is_jurisdiction(code), "{alias} points at {code}, which is not listed");
            assert!(!is_jurisdiction(alias), "{alias} is listed itself");
        }
        assert_eq!(JURISDICTIONS.iter().filter(|(c, _)| c.starts_with("US-")).count(), 56);
        assert_eq!(JURISDICTIONS.iter().filter(|(c, _)| c.starts_with("CA-")).count(), 13);
    }

    /// What the code, its tests, the demo and the README name stays valid:
    /// the development network's `DEV` above all.
    #[test]
    fn the_jurisdictions_the_project_uses_are_listed() {
        for code in ["DEV", "GB", "IE", "US", "US-CA", "FR", "CA-ON", "US-DC", "US-PR"] {
            assert!(is_jurisdiction(code), "{code}");
        }
    }

    #[test]
    fn what_people_mistype_gets_the_jurisdiction_they_meant_first() {
        for (typed, meant) in [
            ("UK", "GB"),
            ("uk", "GB"),
            ("gb", "GB"),
            ("us-ca", "US-CA"),
            ("USA", "US"),
            ("California", "US-CA"),
            ("Ontario", "CA-ON"),
            ("Ireland", "IE"),
            ("Scotland", "GB"),
            ("Germany", "DE"),
            ("france", "FR"),
            ("US-CAL", "US-CA"),
            ("New York", "US-NY"),
            ("dev", "DEV"),
        ] {
            let nearest = nearest_jurisdictions(typed);
            assert_eq!(nearest.first(), Some(&meant), "{typed}: {nearest:?}");
            assert!(nearest.len() <= 3);
        }
        assert!(nearest_jurisdictions("QQ").is_empty());
        assert!(nearest_jurisdictions("zzzz qqqq").is_empty());
    }

    #[test]
    fn the_message_names_the_nearest_with_their_names() {
        let message = unknown_jurisdiction_message("UK");
        assert!(message.contains("did you mean GB (United Kingdom)"), "{message}");
        let none = unknown_jurisdiction_message("QQ");
        assert!(none.contains("GET /v1/jurisdictions"), "{none}");
    }
}
