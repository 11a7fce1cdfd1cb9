//! Countries (ISO 3166-1) and US/Canadian states, recognised however people write them
//! (`USA`, `U.S.`, `United States of America`, `Deutschland`, `Calif.`) and written back as
//! a name or a code.
//!
//! Hand-written rather than a crate: the crates that fit either need a newer Rust than the
//! workspace's or carry formal ISO names ("United Kingdom of Great Britain and Northern
//! Ireland") that no CRM user types. Names here are the short English names CRMs show.

use std::collections::HashMap;
use std::sync::LazyLock;

/// `(alpha-2, alpha-3, name, other spellings)`.
type Entry = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

#[rustfmt::skip]
pub(crate) const COUNTRIES: &[Entry] = &[
    ("AD", "AND", "Andorra", &[]),
    ("AE", "ARE", "United Arab Emirates", &["UAE", "U.A.E.", "Emirates"]),
    ("AF", "AFG", "Afghanistan", &[]),
    ("AG", "ATG", "Antigua and Barbuda", &["Antigua"]),
    ("AI", "AIA", "Anguilla", &[]),
    ("AL", "ALB", "Albania", &["Shqipëria"]),
    ("AM", "ARM", "Armenia", &[]),
    ("AO", "AGO", "Angola", &[]),
    ("AQ", "ATA", "Antarctica", &[]),
    ("AR", "ARG", "Argentina", &[]),
    ("AS", "ASM", "American Samoa", &[]),
    ("AT", "AUT", "Austria", &["Österreich", "Oesterreich"]),
    ("AU", "AUS", "Australia", &[]),
    ("AW", "ABW", "Aruba", &[]),
    ("AX", "ALA", "Åland Islands", &["Aland"]),
    ("AZ", "AZE", "Azerbaijan", &[]),
    ("BA", "BIH", "Bosnia and Herzegovina", &["Bosnia", "Bosnia-Herzegovina"]),
    ("BB", "BRB", "Barbados", &[]),
    ("BD", "BGD", "Bangladesh", &[]),
    ("BE", "BEL", "Belgium", &["Belgique", "België", "Belgien"]),
    ("BF", "BFA", "Burkina Faso", &[]),
    ("BG", "BGR", "Bulgaria", &[]),
    ("BH", "BHR", "Bahrain", &[]),
    ("BI", "BDI", "Burundi", &[]),
    ("BJ", "BEN", "Benin", &[]),
    ("BL", "BLM", "Saint Barthélemy", &["St Barts", "St Barths"]),
    ("BM", "BMU", "Bermuda", &[]),
    ("BN", "BRN", "Brunei", &["Brunei Darussalam"]),
    ("BO", "BOL", "Bolivia", &["Bolivia, Plurinational State of", "Plurinational State of Bolivia"]),
    ("BQ", "BES", "Caribbean Netherlands", &["Bonaire, Sint Eustatius and Saba", "Bonaire"]),
    ("BR", "BRA", "Brazil", &["Brasil"]),
    ("BS", "BHS", "Bahamas", &[]),
    ("BT", "BTN", "Bhutan", &[]),
    ("BV", "BVT", "Bouvet Island", &[]),
    ("BW", "BWA", "Botswana", &[]),
    ("BY", "BLR", "Belarus", &[]),
    ("BZ", "BLZ", "Belize", &[]),
    ("CA", "CAN", "Canada", &[]),
    ("CC", "CCK", "Cocos (Keeling) Islands", &["Cocos Islands", "Keeling Islands"]),
    ("CD", "COD", "Democratic Republic of the Congo", &["DRC", "DR Congo", "Congo-Kinshasa", "Congo, The Democratic Republic of the"]),
    ("CF", "CAF", "Central African Republic", &[]),
    ("CG", "COG", "Republic of the Congo", &["Congo", "Congo-Brazzaville"]),
    ("CH", "CHE", "Switzerland", &["Schweiz", "Suisse", "Svizzera"]),
    ("CI", "CIV", "Côte d'Ivoire", &["Ivory Coast"]),
    ("CK", "COK", "Cook Islands", &[]),
    ("CL", "CHL", "Chile", &[]),
    ("CM", "CMR", "Cameroon", &[]),
    ("CN", "CHN", "China", &["PRC", "People's Republic of China", "Mainland China"]),
    ("CO", "COL", "Colombia", &[]),
    ("CR", "CRI", "Costa Rica", &[]),
    ("CU", "CUB", "Cuba", &[]),
    ("CV", "CPV", "Cape Verde", &["Cabo Verde"]),
    ("CW", "CUW", "Curaçao", &[]),
    ("CX", "CXR", "Christmas Island", &[]),
    ("CY", "CYP", "Cyprus", &[]),
    ("CZ", "CZE", "Czechia", &["Czech Republic", "Česko"]),
    ("DE", "DEU", "Germany", &["Deutschland", "GER", "Federal Republic of Germany", "Allemagne"]),
    ("DJ", "DJI", "Djibouti", &[]),
    ("DK", "DNK", "Denmark", &["Danmark"]),
    ("DM", "DMA", "Dominica", &[]),
    ("DO", "DOM", "Dominican Republic", &[]),
    ("DZ", "DZA", "Algeria", &[]),
    ("EC", "ECU", "Ecuador", &[]),
    ("EE", "EST", "Estonia", &["Eesti"]),
    ("EG", "EGY", "Egypt", &[]),
    ("EH", "ESH", "Western Sahara", &[]),
    ("ER", "ERI", "Eritrea", &[]),
    ("ES", "ESP", "Spain", &["España", "Espana"]),
    ("ET", "ETH", "Ethiopia", &[]),
    ("FI", "FIN", "Finland", &["Suomi"]),
    ("FJ", "FJI", "Fiji", &[]),
    ("FK", "FLK", "Falkland Islands", &["Falklands", "Falkland Islands (Malvinas)"]),
    ("FM", "FSM", "Micronesia", &["Micronesia, Federated States of", "Federated States of Micronesia"]),
    ("FO", "FRO", "Faroe Islands", &["Faroes"]),
    ("FR", "FRA", "France", &["République française", "French Republic"]),
    ("GA", "GAB", "Gabon", &[]),
    ("GB", "GBR", "United Kingdom", &["UK", "U.K.", "Great Britain", "Britain", "England", "Scotland", "Wales", "Northern Ireland", "United Kingdom of Great Britain and Northern Ireland"]),
    ("GD", "GRD", "Grenada", &[]),
    ("GE", "GEO", "Georgia", &[]),
    ("GF", "GUF", "French Guiana", &[]),
    ("GG", "GGY", "Guernsey", &[]),
    ("GH", "GHA", "Ghana", &[]),
    ("GI", "GIB", "Gibraltar", &[]),
    ("GL", "GRL", "Greenland", &[]),
    ("GM", "GMB", "Gambia", &[]),
    ("GN", "GIN", "Guinea", &[]),
    ("GP", "GLP", "Guadeloupe", &[]),
    ("GQ", "GNQ", "Equatorial Guinea", &[]),
    ("GR", "GRC", "Greece", &["Hellas"]),
    ("GS", "SGS", "South Georgia and the South Sandwich Islands", &[]),
    ("GT", "GTM", "Guatemala", &[]),
    ("GU", "GUM", "Guam", &[]),
    ("GW", "GNB", "Guinea-Bissau", &[]),
    ("GY", "GUY", "Guyana", &[]),
    ("HK", "HKG", "Hong Kong", &["Hong Kong SAR"]),
    ("HM", "HMD", "Heard Island and McDonald Islands", &[]),
    ("HN", "HND", "Honduras", &[]),
    ("HR", "HRV", "Croatia", &["Hrvatska"]),
    ("HT", "HTI", "Haiti", &[]),
    ("HU", "HUN", "Hungary", &["Magyarország"]),
    ("ID", "IDN", "Indonesia", &[]),
    ("IE", "IRL", "Ireland", &["Eire", "Éire", "Republic of Ireland"]),
    ("IL", "ISR", "Israel", &[]),
    ("IM", "IMN", "Isle of Man", &[]),
    ("IN", "IND", "India", &["Bharat"]),
    ("IO", "IOT", "British Indian Ocean Territory", &[]),
    ("IQ", "IRQ", "Iraq", &[]),
    ("IR", "IRN", "Iran", &["Iran, Islamic Republic of", "Islamic Republic of Iran"]),
    ("IS", "ISL", "Iceland", &["Ísland"]),
    ("IT", "ITA", "Italy", &["Italia"]),
    ("JE", "JEY", "Jersey", &[]),
    ("JM", "JAM", "Jamaica", &[]),
    ("JO", "JOR", "Jordan", &[]),
    ("JP", "JPN", "Japan", &["Nippon"]),
    ("KE", "KEN", "Kenya", &[]),
    ("KG", "KGZ", "Kyrgyzstan", &[]),
    ("KH", "KHM", "Cambodia", &[]),
    ("KI", "KIR", "Kiribati", &[]),
    ("KM", "COM", "Comoros", &[]),
    ("KN", "KNA", "Saint Kitts and Nevis", &[]),
    ("KP", "PRK", "North Korea", &["Korea, Democratic People's Republic of", "Democratic People's Republic of Korea", "DPRK"]),
    ("KR", "KOR", "South Korea", &["Korea", "Korea, Republic of", "Republic of Korea"]),
    ("KW", "KWT", "Kuwait", &[]),
    ("KY", "CYM", "Cayman Islands", &["Caymans"]),
    ("KZ", "KAZ", "Kazakhstan", &[]),
    ("LA", "LAO", "Laos", &["Lao People's Democratic Republic", "Lao PDR"]),
    ("LB", "LBN", "Lebanon", &[]),
    ("LC", "LCA", "Saint Lucia", &[]),
    ("LI", "LIE", "Liechtenstein", &[]),
    ("LK", "LKA", "Sri Lanka", &[]),
    ("LR", "LBR", "Liberia", &[]),
    ("LS", "LSO", "Lesotho", &[]),
    ("LT", "LTU", "Lithuania", &["Lietuva"]),
    ("LU", "LUX", "Luxembourg", &[]),
    ("LV", "LVA", "Latvia", &["Latvija"]),
    ("LY", "LBY", "Libya", &[]),
    ("MA", "MAR", "Morocco", &[]),
    ("MC", "MCO", "Monaco", &[]),
    ("MD", "MDA", "Moldova", &["Moldova, Republic of", "Republic of Moldova"]),
    ("ME", "MNE", "Montenegro", &[]),
    ("MF", "MAF", "Saint Martin", &["Saint Martin (French part)"]),
    ("MG", "MDG", "Madagascar", &[]),
    ("MH", "MHL", "Marshall Islands", &[]),
    ("MK", "MKD", "North Macedonia", &["Macedonia"]),
    ("ML", "MLI", "Mali", &[]),
    ("MM", "MMR", "Myanmar", &["Burma"]),
    ("MN", "MNG", "Mongolia", &[]),
    ("MO", "MAC", "Macao", &["Macau"]),
    ("MP", "MNP", "Northern Mariana Islands", &[]),
    ("MQ", "MTQ", "Martinique", &[]),
    ("MR", "MRT", "Mauritania", &[]),
    ("MS", "MSR", "Montserrat", &[]),
    ("MT", "MLT", "Malta", &[]),
    ("MU", "MUS", "Mauritius", &[]),
    ("MV", "MDV", "Maldives", &[]),
    ("MW", "MWI", "Malawi", &[]),
    ("MX", "MEX", "Mexico", &["México"]),
    ("MY", "MYS", "Malaysia", &[]),
    ("MZ", "MOZ", "Mozambique", &[]),
    ("NA", "NAM", "Namibia", &[]),
    ("NC", "NCL", "New Caledonia", &[]),
    ("NE", "NER", "Niger", &[]),
    ("NF", "NFK", "Norfolk Island", &[]),
    ("NG", "NGA", "Nigeria", &[]),
    ("NI", "NIC", "Nicaragua", &[]),
    ("NL", "NLD", "Netherlands", &["Holland", "Nederland", "Netherlands, Kingdom of the"]),
    ("NO", "NOR", "Norway", &["Norge"]),
    ("NP", "NPL", "Nepal", &[]),
    ("NR", "NRU", "Nauru", &[]),
    ("NU", "NIU", "Niue", &[]),
    ("NZ", "NZL", "New Zealand", &["Aotearoa"]),
    ("OM", "OMN", "Oman", &[]),
    ("PA", "PAN", "Panama", &["Panamá"]),
    ("PE", "PER", "Peru", &[]),
    ("PF", "PYF", "French Polynesia", &[]),
    ("PG", "PNG", "Papua New Guinea", &[]),
    ("PH", "PHL", "Philippines", &[]),
    ("PK", "PAK", "Pakistan", &[]),
    ("PL", "POL", "Poland", &["Polska"]),
    ("PM", "SPM", "Saint Pierre and Miquelon", &[]),
    ("PN", "PCN", "Pitcairn Islands", &["Pitcairn"]),
    ("PR", "PRI", "Puerto Rico", &[]),
    ("PS", "PSE", "Palestine", &["Palestine, State of", "State of Palestine"]),
    ("PT", "PRT", "Portugal", &[]),
    ("PW", "PLW", "Palau", &[]),
    ("PY", "PRY", "Paraguay", &[]),
    ("QA", "QAT", "Qatar", &[]),
    ("RE", "REU", "Réunion", &[]),
    ("RO", "ROU", "Romania", &["România"]),
    ("RS", "SRB", "Serbia", &["Srbija"]),
    ("RU", "RUS", "Russia", &["Russian Federation", "Rossiya"]),
    ("RW", "RWA", "Rwanda", &[]),
    ("SA", "SAU", "Saudi Arabia", &["KSA"]),
    ("SB", "SLB", "Solomon Islands", &[]),
    ("SC", "SYC", "Seychelles", &[]),
    ("SD", "SDN", "Sudan", &[]),
    ("SE", "SWE", "Sweden", &["Sverige"]),
    ("SG", "SGP", "Singapore", &[]),
    ("SH", "SHN", "Saint Helena", &["Saint Helena, Ascension and Tristan da Cunha"]),
    ("SI", "SVN", "Slovenia", &["Slovenija"]),
    ("SJ", "SJM", "Svalbard and Jan Mayen", &[]),
    ("SK", "SVK", "Slovakia", &["Slovak Republic", "Slovensko"]),
    ("SL", "SLE", "Sierra Leone", &[]),
    ("SM", "SMR", "San Marino", &[]),
    ("SN", "SEN", "Senegal", &[]),
    ("SO", "SOM", "Somalia", &[]),
    ("SR", "SUR", "Suriname", &["Surinam"]),
    ("SS", "SSD", "South Sudan", &[]),
    ("ST", "STP", "São Tomé and Príncipe", &[]),
    ("SV", "SLV", "El Salvador", &[]),
    ("SX", "SXM", "Sint Maarten", &["Sint Maarten (Dutch part)"]),
    ("SY", "SYR", "Syria", &["Syrian Arab Republic"]),
    ("SZ", "SWZ", "Eswatini", &["Swaziland"]),
    ("TC", "TCA", "Turks and Caicos Islands", &["Turks and Caicos"]),
    ("TD", "TCD", "Chad", &[]),
    ("TF", "ATF", "French Southern Territories", &[]),
    ("TG", "TGO", "Togo", &[]),
    ("TH", "THA", "Thailand", &[]),
    ("TJ", "TJK", "Tajikistan", &[]),
    ("TK", "TKL", "Tokelau", &[]),
    ("TL", "TLS", "Timor-Leste", &["East Timor"]),
    ("TM", "TKM", "Turkmenistan", &[]),
    ("TN", "TUN", "Tunisia", &[]),
    ("TO", "TON", "Tonga", &[]),
    ("TR", "TUR", "Türkiye", &["Turkey"]),
    ("TT", "TTO", "Trinidad and Tobago", &["Trinidad"]),
    ("TV", "TUV", "Tuvalu", &[]),
    ("TW", "TWN", "Taiwan", &["Taiwan, Province of China", "Republic of China"]),
    ("TZ", "TZA", "Tanzania", &["Tanzania, United Republic of", "United Republic of Tanzania"]),
    ("UA", "UKR", "Ukraine", &["Ukraina"]),
    ("UG", "UGA", "Uganda", &[]),
    ("UM", "UMI", "United States Minor Outlying Islands", &["U.S. Outlying Islands"]),
    ("US", "USA", "United States", &["U.S.", "U.S.A.", "United States of America", "America"]),
    ("UY", "URY", "Uruguay", &[]),
    ("UZ", "UZB", "Uzbekistan", &[]),
    ("VA", "VAT", "Vatican City", &["Holy See", "Vatican", "Holy See (Vatican City State)"]),
    ("VC", "VCT", "Saint Vincent and the Grenadines", &[]),
    ("VE", "VEN", "Venezuela", &["Venezuela, Bolivarian Republic of", "Bolivarian Republic of Venezuela"]),
    ("VG", "VGB", "British Virgin Islands", &["Virgin Islands, British"]),
    ("VI", "VIR", "U.S. Virgin Islands", &["United States Virgin Islands", "Virgin Islands, U.S."]),
    ("VN", "VNM", "Vietnam", &["Viet Nam"]),
    ("VU", "VUT", "Vanuatu", &[]),
    ("WF", "WLF", "Wallis and Futuna", &[]),
    ("WS", "WSM", "Samoa", &[]),
    // Kosovo has no ISO 3166-1 code; XK/XKX are the user-assigned codes the EU, CLDR and
    // both CRMs' picklists use.
    ("XK", "XKX", "Kosovo", &[]),
    ("YE", "YEM", "Yemen", &[]),
    ("YT", "MYT", "Mayotte", &[]),
    ("ZA", "ZAF", "South Africa", &["RSA"]),
    ("ZM", "ZMB", "Zambia", &[]),
    ("ZW", "ZWE", "Zimbabwe", &[]),
];

/// `(country, code, name, other spellings)`: US states, DC, territories and the armed
/// forces' postal codes; Canadian provinces and territories. No code is shared between the
/// two countries, so both can be recognised at once.
#[rustfmt::skip]
pub(crate) const STATES: &[(&str, &str, &str, &[&str])] = &[
    ("US", "AL", "Alabama", &["Ala."]),
    ("US", "AK", "Alaska", &[]),
    ("US", "AZ", "Arizona", &["Ariz."]),
    ("US", "AR", "Arkansas", &["Ark."]),
    ("US", "CA", "California", &["Calif.", "Cal."]),
    ("US", "CO", "Colorado", &["Colo."]),
    ("US", "CT", "Connecticut", &["Conn."]),
    ("US", "DE", "Delaware", &["Del."]),
    ("US", "DC", "District of Columbia", &["Washington DC", "Washington, D.C."]),
    ("US", "FL", "Florida", &["Fla."]),
    ("US", "GA", "Georgia", &[]),
    ("US", "HI", "Hawaii", &["Hawaiʻi"]),
    ("US", "ID", "Idaho", &[]),
    ("US", "IL", "Illinois", &["Ill."]),
    ("US", "IN", "Indiana", &["Ind."]),
    ("US", "IA", "Iowa", &[]),
    ("US", "KS", "Kansas", &["Kan.", "Kans."]),
    ("US", "KY", "Kentucky", &[]),
    ("US", "LA", "Louisiana", &[]),
    ("US", "ME", "Maine", &[]),
    ("US", "MD", "Maryland", &[]),
    ("US", "MA", "Massachusetts", &["Mass."]),
    ("US", "MI", "Michigan", &["Mich."]),
    ("US", "MN", "Minnesota", &["Minn."]),
    ("US", "MS", "Mississippi", &["Miss."]),
    ("US", "MO", "Missouri", &[]),
    ("US", "MT", "Montana", &["Mont."]),
    ("US", "NE", "Nebraska", &["Neb.", "Nebr."]),
    ("US", "NV", "Nevada", &["Nev."]),
    ("US", "NH", "New Hampshire", &[]),
    ("US", "NJ", "New Jersey", &[]),
    ("US", "NM", "New Mexico", &[]),
    ("US", "NY", "New York", &[]),
    ("US", "NC", "North Carolina", &[]),
    ("US", "ND", "North Dakota", &[]),
    ("US", "OH", "Ohio", &[]),
    ("US", "OK", "Oklahoma", &["Okla."]),
    ("US", "OR", "Oregon", &["Ore.", "Oreg."]),
    ("US", "PA", "Pennsylvania", &["Penn.", "Penna."]),
    ("US", "RI", "Rhode Island", &[]),
    ("US", "SC", "South Carolina", &[]),
    ("US", "SD", "South Dakota", &[]),
    ("US", "TN", "Tennessee", &["Tenn."]),
    ("US", "TX", "Texas", &["Tex."]),
    ("US", "UT", "Utah", &[]),
    ("US", "VT", "Vermont", &[]),
    ("US", "VA", "Virginia", &[]),
    ("US", "WA", "Washington", &["Wash."]),
    ("US", "WV", "West Virginia", &["W.Va.", "W. Va."]),
    ("US", "WI", "Wisconsin", &["Wis.", "Wisc."]),
    ("US", "WY", "Wyoming", &["Wyo."]),
    ("US", "AS", "American Samoa", &[]),
    ("US", "GU", "Guam", &[]),
    ("US", "MP", "Northern Mariana Islands", &[]),
    ("US", "PR", "Puerto Rico", &[]),
    ("US", "VI", "U.S. Virgin Islands", &["Virgin Islands", "US Virgin Islands"]),
    ("US", "UM", "U.S. Minor Outlying Islands", &[]),
    ("US", "AA", "Armed Forces Americas", &[]),
    ("US", "AE", "Armed Forces Europe", &[]),
    ("US", "AP", "Armed Forces Pacific", &[]),
    ("CA", "AB", "Alberta", &["Alta."]),
    ("CA", "BC", "British Columbia", &[]),
    ("CA", "MB", "Manitoba", &["Man."]),
    ("CA", "NB", "New Brunswick", &[]),
    ("CA", "NL", "Newfoundland and Labrador", &["Newfoundland", "Nfld.", "NF"]),
    ("CA", "NS", "Nova Scotia", &[]),
    ("CA", "NT", "Northwest Territories", &["N.W.T."]),
    ("CA", "NU", "Nunavut", &[]),
    ("CA", "ON", "Ontario", &["Ont."]),
    ("CA", "PE", "Prince Edward Island", &["P.E.I.", "PEI"]),
    ("CA", "QC", "Quebec", &["Québec", "Que.", "PQ"]),
    ("CA", "SK", "Saskatchewan", &["Sask."]),
    ("CA", "YT", "Yukon", &["Yukon Territory", "Y.T."]),
];

/// Index into `COUNTRIES` by code and name exactly as the table writes them: the common
/// case of a value already clean is found without building a key.
static COUNTRY_EXACT: LazyLock<HashMap<&'static str, usize>> = LazyLock::new(|| {
    let mut map = HashMap::new();
    for (i, (a2, a3, name, _)) in COUNTRIES.iter().enumerate() {
        map.extend([(*a2, i), (*a3, i), (*name, i)]);
    }
    map
});

/// Index into `STATES` by code and name exactly as the table writes them.
static STATE_EXACT: LazyLock<HashMap<&'static str, usize>> = LazyLock::new(|| {
    let mut map = HashMap::new();
    for (i, (_, code, name, _)) in STATES.iter().enumerate() {
        map.extend([(*code, i), (*name, i)]);
    }
    map
});

/// Index into `COUNTRIES` by lowercased alpha-2 and alpha-3 code.
static COUNTRY_CODES: LazyLock<HashMap<String, usize>> = LazyLock::new(|| {
    let mut map = HashMap::new();
    for (i, (a2, a3, _, _)) in COUNTRIES.iter().enumerate() {
        map.insert(a2.to_ascii_lowercase(), i);
        map.insert(a3.to_ascii_lowercase(), i);
    }
    map
});

/// Index into `COUNTRIES` by the `key` of each name and other spelling.
static COUNTRY_NAMES: LazyLock<HashMap<String, usize>> = LazyLock::new(|| {
    let mut map = HashMap::new();
    for (i, (_, _, name, aliases)) in COUNTRIES.iter().enumerate() {
        for spelling in std::iter::once(name).chain(aliases.iter()) {
            map.insert(key(spelling), i);
        }
    }
    map
});

/// Index into `STATES` by lowercased code and by the `key` of each name and spelling.
static STATE_KEYS: LazyLock<HashMap<String, usize>> = LazyLock::new(|| {
    let mut map = HashMap::new();
    for (i, (_, code, name, aliases)) in STATES.iter().enumerate() {
        map.insert(code.to_ascii_lowercase(), i);
        for spelling in std::iter::once(name).chain(aliases.iter()) {
            map.insert(key(spelling), i);
        }
    }
    map
});

/// The index of the country `value` names, in any of its spellings.
pub(crate) fn country(value: &str) -> Option<usize> {
    if let Some(&i) = COUNTRY_EXACT.get(value) {
        return Some(i);
    }
    let value = value.trim();
    if (2..=3).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_alphabetic())
        && let Some(&i) = COUNTRY_CODES.get(&value.to_ascii_lowercase())
    {
        return Some(i);
    }
    let k = key(value);
    COUNTRY_NAMES
        .get(&k)
        .or_else(|| COUNTRY_CODES.get(&k))
        .copied()
}

/// The index of the US state or Canadian province `value` names, when it is in `countries`.
pub(crate) fn state(value: &str, countries: &[&str]) -> Option<usize> {
    let value = value.trim();
    let i = match STATE_EXACT.get(value) {
        Some(&i) => i,
        None if value.len() == 2 && value.bytes().all(|b| b.is_ascii_alphabetic()) => {
            *STATE_KEYS.get(&value.to_ascii_lowercase())?
        }
        None => *STATE_KEYS.get(&key(value))?,
    };
    countries.contains(&STATES[i].0).then_some(i)
}

/// A spelling-insensitive key: lowercase, accents folded, punctuation and the words
/// "the", "and", "of" dropped, "St" read as "Saint". `U.S.A.`, `usa` -> `usa`;
/// `Côte d'Ivoire` -> `cotedivoire`; `Trinidad & Tobago` -> `trinidadtobago`.
pub(crate) fn key(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        match word.as_str() {
            "" | "the" | "and" | "of" => {}
            "st" => out.push_str("saint"),
            w => out.push_str(w),
        }
        word.clear();
    };
    for c in value.chars() {
        if c.is_alphanumeric() {
            for l in c.to_lowercase() {
                fold(l, &mut word);
            }
        } else if !super::names::is_mark(c) && !matches!(c, '\'' | '\u{2019}' | '\u{02BB}') {
            // An apostrophe joins (d'Ivoire, Hawaiʻi); anything else separates words.
            flush(&mut word, &mut out);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Pushes `c` without its accent (`é` -> `e`, `ß` -> `ss`, `æ` -> `ae`).
fn fold(c: char, out: &mut String) {
    let plain = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'ć' | 'č' | 'ĉ' => 'c',
        'ď' | 'đ' => 'd',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => 'e',
        'ğ' | 'ģ' => 'g',
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => 'i',
        'ķ' => 'k',
        'ł' | 'ľ' | 'ļ' | 'ĺ' => 'l',
        'ñ' | 'ń' | 'ň' | 'ņ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => 'o',
        'ř' | 'ŕ' => 'r',
        'ś' | 'š' | 'ş' | 'ș' => 's',
        'ť' | 'ţ' | 'ț' => 't',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' => 'u',
        'ý' | 'ÿ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        'ß' => return out.push_str("ss"),
        'æ' => return out.push_str("ae"),
        'œ' => return out.push_str("oe"),
        'þ' => return out.push_str("th"),
        other => other,
    };
    out.push(plain);
}
