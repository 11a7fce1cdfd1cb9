//! Countries with the spellings CRMs see for them, and cities with their state and the
//! area codes that serve them, so a phone number is valid and agrees with the address.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cc {
    Us,
    Ca,
    Gb,
    De,
    Fr,
    Au,
}

pub struct Country {
    pub cc: Cc,
    /// Calling code without `+`.
    pub dial: &'static str,
    /// Spellings of the country seen in CRM data; the first is the canonical English name.
    pub forms: &'static [&'static str],
    /// Relative share of records in this country.
    pub weight: u32,
    /// Top-level domains companies here use, with weights.
    pub tlds: &'static [(&'static str, u32)],
    /// Legal-form suffixes of company names here, with weights (`""` = none).
    pub suffixes: &'static [(&'static str, u32)],
    /// Mobile number plans: (leading national digits, digits that follow).
    pub mobiles: &'static [(&'static str, u8)],
}

/// One area code: `(code, how the subscriber number may start, subscriber length)`. The
/// starts are single digits (`"2345"`) or `|`-separated prefixes (`"92|93"`); all ranges
/// were checked against libphonenumber's metadata for validity in the region.
pub type Area = (&'static str, &'static str, u8);

pub struct Place {
    pub cc: Cc,
    pub city: &'static str,
    /// Other spellings of the city (exonyms, abbreviations, without accents).
    pub city_alt: &'static [&'static str],
    /// State/province/region code, `""` where CRMs don't use one.
    pub state_code: &'static str,
    /// State names; the first is the canonical one, others are alternative spellings.
    pub state_names: &'static [&'static str],
    pub areas: &'static [Area],
}

pub const COUNTRIES: &[Country] = &[
    Country {
        cc: Cc::Us,
        dial: "1",
        forms: &[
            "United States",
            "USA",
            "US",
            "U.S.A.",
            "U.S.",
            "United States of America",
            "united states",
            "usa",
        ],
        weight: 55,
        tlds: &[("com", 82), ("io", 6), ("co", 4), ("net", 5), ("us", 3)],
        suffixes: &[
            ("", 34),
            ("Inc", 16),
            ("Inc.", 18),
            ("LLC", 16),
            ("Corp", 5),
            ("Corp.", 5),
            ("Co.", 4),
            ("Corporation", 2),
        ],
        mobiles: &[],
    },
    Country {
        cc: Cc::Ca,
        dial: "1",
        forms: &["Canada", "CA", "CAN", "canada", "CANADA"],
        weight: 9,
        tlds: &[("ca", 55), ("com", 45)],
        suffixes: &[
            ("", 35),
            ("Inc.", 30),
            ("Ltd", 12),
            ("Ltd.", 10),
            ("Corp.", 8),
            ("Inc", 5),
        ],
        mobiles: &[],
    },
    Country {
        cc: Cc::Gb,
        dial: "44",
        forms: &[
            "United Kingdom",
            "UK",
            "GB",
            "Great Britain",
            "U.K.",
            "united kingdom",
            "England",
        ],
        weight: 12,
        tlds: &[("co.uk", 60), ("com", 35), ("uk", 5)],
        suffixes: &[
            ("", 30),
            ("Ltd", 35),
            ("Ltd.", 12),
            ("Limited", 15),
            ("PLC", 8),
        ],
        mobiles: &[("71", 8), ("72", 8), ("73", 8), ("74", 8)],
    },
    Country {
        cc: Cc::De,
        dial: "49",
        forms: &["Germany", "Deutschland", "DE", "GER", "germany", "DEU"],
        weight: 10,
        tlds: &[("de", 75), ("com", 25)],
        suffixes: &[("", 20), ("GmbH", 55), ("AG", 15), ("GmbH & Co. KG", 10)],
        mobiles: &[
            ("151", 8),
            ("152", 8),
            ("157", 8),
            ("160", 7),
            ("170", 7),
            ("171", 7),
            ("172", 7),
            ("176", 8),
        ],
    },
    Country {
        cc: Cc::Fr,
        dial: "33",
        forms: &["France", "FR", "FRA", "france", "République française"],
        weight: 7,
        tlds: &[("fr", 65), ("com", 35)],
        suffixes: &[
            ("", 30),
            ("SA", 25),
            ("S.A.", 10),
            ("SAS", 25),
            ("SARL", 10),
        ],
        mobiles: &[
            ("61", 7),
            ("62", 7),
            ("64", 7),
            ("65", 7),
            ("66", 7),
            ("67", 7),
            ("68", 7),
            ("75", 7),
            ("76", 7),
            ("77", 7),
            ("78", 7),
        ],
    },
    Country {
        cc: Cc::Au,
        dial: "61",
        forms: &["Australia", "AU", "AUS", "australia", "Aus"],
        weight: 7,
        tlds: &[("com.au", 70), ("com", 30)],
        suffixes: &[("", 30), ("Pty Ltd", 45), ("Pty. Ltd.", 12), ("Ltd", 13)],
        mobiles: &[("40", 7), ("41", 7), ("42", 7), ("43", 7), ("46", 7)],
    },
];

const NANP: &str = "23456789";

/// One line per city reads better than rustfmt's one line per field.
#[rustfmt::skip]
pub const PLACES: &[Place] = &[
    // United States.
    Place { cc: Cc::Us, city: "New York", city_alt: &["New York City", "NYC"], state_code: "NY", state_names: &["New York"], areas: &[("212", NANP, 7), ("646", NANP, 7), ("917", NANP, 7)] },
    Place { cc: Cc::Us, city: "Brooklyn", city_alt: &[], state_code: "NY", state_names: &["New York"], areas: &[("718", NANP, 7), ("347", NANP, 7)] },
    Place { cc: Cc::Us, city: "Buffalo", city_alt: &[], state_code: "NY", state_names: &["New York"], areas: &[("716", NANP, 7)] },
    Place { cc: Cc::Us, city: "Los Angeles", city_alt: &["LA"], state_code: "CA", state_names: &["California", "Calif."], areas: &[("213", NANP, 7), ("310", NANP, 7), ("323", NANP, 7)] },
    Place { cc: Cc::Us, city: "San Francisco", city_alt: &["SF"], state_code: "CA", state_names: &["California", "Calif."], areas: &[("415", NANP, 7), ("628", NANP, 7)] },
    Place { cc: Cc::Us, city: "San Jose", city_alt: &[], state_code: "CA", state_names: &["California", "Calif."], areas: &[("408", NANP, 7), ("669", NANP, 7)] },
    Place { cc: Cc::Us, city: "San Diego", city_alt: &[], state_code: "CA", state_names: &["California", "Calif."], areas: &[("619", NANP, 7), ("858", NANP, 7)] },
    Place { cc: Cc::Us, city: "Sacramento", city_alt: &[], state_code: "CA", state_names: &["California", "Calif."], areas: &[("916", NANP, 7)] },
    Place { cc: Cc::Us, city: "Chicago", city_alt: &[], state_code: "IL", state_names: &["Illinois"], areas: &[("312", NANP, 7), ("773", NANP, 7), ("872", NANP, 7)] },
    Place { cc: Cc::Us, city: "Houston", city_alt: &[], state_code: "TX", state_names: &["Texas"], areas: &[("713", NANP, 7), ("281", NANP, 7), ("832", NANP, 7)] },
    Place { cc: Cc::Us, city: "Dallas", city_alt: &[], state_code: "TX", state_names: &["Texas"], areas: &[("214", NANP, 7), ("469", NANP, 7), ("972", NANP, 7)] },
    Place { cc: Cc::Us, city: "Austin", city_alt: &[], state_code: "TX", state_names: &["Texas"], areas: &[("512", NANP, 7), ("737", NANP, 7)] },
    Place { cc: Cc::Us, city: "San Antonio", city_alt: &[], state_code: "TX", state_names: &["Texas"], areas: &[("210", NANP, 7)] },
    Place { cc: Cc::Us, city: "Phoenix", city_alt: &[], state_code: "AZ", state_names: &["Arizona"], areas: &[("602", NANP, 7), ("480", NANP, 7)] },
    Place { cc: Cc::Us, city: "Philadelphia", city_alt: &["Phila."], state_code: "PA", state_names: &["Pennsylvania"], areas: &[("215", NANP, 7), ("267", NANP, 7)] },
    Place { cc: Cc::Us, city: "Pittsburgh", city_alt: &[], state_code: "PA", state_names: &["Pennsylvania"], areas: &[("412", NANP, 7)] },
    Place { cc: Cc::Us, city: "Seattle", city_alt: &[], state_code: "WA", state_names: &["Washington"], areas: &[("206", NANP, 7)] },
    Place { cc: Cc::Us, city: "Portland", city_alt: &[], state_code: "OR", state_names: &["Oregon"], areas: &[("503", NANP, 7), ("971", NANP, 7)] },
    Place { cc: Cc::Us, city: "Denver", city_alt: &[], state_code: "CO", state_names: &["Colorado"], areas: &[("303", NANP, 7), ("720", NANP, 7)] },
    Place { cc: Cc::Us, city: "Boston", city_alt: &[], state_code: "MA", state_names: &["Massachusetts", "Mass."], areas: &[("617", NANP, 7), ("857", NANP, 7)] },
    Place { cc: Cc::Us, city: "Atlanta", city_alt: &[], state_code: "GA", state_names: &["Georgia"], areas: &[("404", NANP, 7), ("470", NANP, 7), ("678", NANP, 7)] },
    Place { cc: Cc::Us, city: "Miami", city_alt: &[], state_code: "FL", state_names: &["Florida"], areas: &[("786", NANP, 7)] },
    Place { cc: Cc::Us, city: "Tampa", city_alt: &[], state_code: "FL", state_names: &["Florida"], areas: &[("813", NANP, 7)] },
    Place { cc: Cc::Us, city: "Orlando", city_alt: &[], state_code: "FL", state_names: &["Florida"], areas: &[("407", NANP, 7)] },
    Place { cc: Cc::Us, city: "Charlotte", city_alt: &[], state_code: "NC", state_names: &["North Carolina"], areas: &[("704", NANP, 7), ("980", NANP, 7)] },
    Place { cc: Cc::Us, city: "Raleigh", city_alt: &[], state_code: "NC", state_names: &["North Carolina"], areas: &[("919", NANP, 7), ("984", NANP, 7)] },
    Place { cc: Cc::Us, city: "Nashville", city_alt: &[], state_code: "TN", state_names: &["Tennessee"], areas: &[("615", NANP, 7)] },
    Place { cc: Cc::Us, city: "Minneapolis", city_alt: &[], state_code: "MN", state_names: &["Minnesota"], areas: &[("612", NANP, 7)] },
    Place { cc: Cc::Us, city: "Detroit", city_alt: &[], state_code: "MI", state_names: &["Michigan"], areas: &[("313", NANP, 7)] },
    Place { cc: Cc::Us, city: "Columbus", city_alt: &[], state_code: "OH", state_names: &["Ohio"], areas: &[("614", NANP, 7)] },
    Place { cc: Cc::Us, city: "Cleveland", city_alt: &[], state_code: "OH", state_names: &["Ohio"], areas: &[("216", NANP, 7)] },
    Place { cc: Cc::Us, city: "Indianapolis", city_alt: &[], state_code: "IN", state_names: &["Indiana"], areas: &[("317", NANP, 7)] },
    Place { cc: Cc::Us, city: "Kansas City", city_alt: &[], state_code: "MO", state_names: &["Missouri"], areas: &[("816", NANP, 7)] },
    Place { cc: Cc::Us, city: "St. Louis", city_alt: &["Saint Louis", "St Louis"], state_code: "MO", state_names: &["Missouri"], areas: &[("314", NANP, 7)] },
    Place { cc: Cc::Us, city: "Salt Lake City", city_alt: &["SLC"], state_code: "UT", state_names: &["Utah"], areas: &[("801", NANP, 7), ("385", NANP, 7)] },
    Place { cc: Cc::Us, city: "Las Vegas", city_alt: &[], state_code: "NV", state_names: &["Nevada"], areas: &[("702", NANP, 7)] },
    Place { cc: Cc::Us, city: "Baltimore", city_alt: &[], state_code: "MD", state_names: &["Maryland"], areas: &[("410", NANP, 7), ("443", NANP, 7)] },
    Place { cc: Cc::Us, city: "Washington", city_alt: &["Washington DC", "Washington, D.C."], state_code: "DC", state_names: &["District of Columbia"], areas: &[("202", NANP, 7)] },
    Place { cc: Cc::Us, city: "New Orleans", city_alt: &[], state_code: "LA", state_names: &["Louisiana"], areas: &[("504", NANP, 7)] },
    Place { cc: Cc::Us, city: "Milwaukee", city_alt: &[], state_code: "WI", state_names: &["Wisconsin"], areas: &[("414", NANP, 7)] },
    Place { cc: Cc::Us, city: "Newark", city_alt: &[], state_code: "NJ", state_names: &["New Jersey"], areas: &[("973", NANP, 7), ("862", NANP, 7)] },
    Place { cc: Cc::Us, city: "Hartford", city_alt: &[], state_code: "CT", state_names: &["Connecticut"], areas: &[("860", NANP, 7)] },
    Place { cc: Cc::Us, city: "Richmond", city_alt: &[], state_code: "VA", state_names: &["Virginia"], areas: &[("804", NANP, 7)] },
    Place { cc: Cc::Us, city: "Omaha", city_alt: &[], state_code: "NE", state_names: &["Nebraska"], areas: &[("402", NANP, 7)] },
    Place { cc: Cc::Us, city: "Louisville", city_alt: &[], state_code: "KY", state_names: &["Kentucky"], areas: &[("502", NANP, 7)] },
    Place { cc: Cc::Us, city: "Honolulu", city_alt: &[], state_code: "HI", state_names: &["Hawaii"], areas: &[("808", NANP, 7)] },
    // Canada.
    Place { cc: Cc::Ca, city: "Toronto", city_alt: &[], state_code: "ON", state_names: &["Ontario", "Ont."], areas: &[("416", NANP, 7), ("647", NANP, 7), ("437", NANP, 7)] },
    Place { cc: Cc::Ca, city: "Ottawa", city_alt: &[], state_code: "ON", state_names: &["Ontario", "Ont."], areas: &[("613", NANP, 7), ("343", NANP, 7)] },
    Place { cc: Cc::Ca, city: "Mississauga", city_alt: &[], state_code: "ON", state_names: &["Ontario", "Ont."], areas: &[("905", NANP, 7), ("289", NANP, 7)] },
    Place { cc: Cc::Ca, city: "Montréal", city_alt: &["Montreal"], state_code: "QC", state_names: &["Quebec", "Québec"], areas: &[("514", NANP, 7), ("438", NANP, 7)] },
    Place { cc: Cc::Ca, city: "Québec City", city_alt: &["Quebec City", "Québec"], state_code: "QC", state_names: &["Quebec", "Québec"], areas: &[("418", NANP, 7), ("581", NANP, 7)] },
    Place { cc: Cc::Ca, city: "Vancouver", city_alt: &[], state_code: "BC", state_names: &["British Columbia"], areas: &[("604", NANP, 7), ("778", NANP, 7)] },
    Place { cc: Cc::Ca, city: "Calgary", city_alt: &[], state_code: "AB", state_names: &["Alberta"], areas: &[("403", NANP, 7), ("587", NANP, 7)] },
    Place { cc: Cc::Ca, city: "Edmonton", city_alt: &[], state_code: "AB", state_names: &["Alberta"], areas: &[("780", NANP, 7), ("587", NANP, 7)] },
    Place { cc: Cc::Ca, city: "Winnipeg", city_alt: &[], state_code: "MB", state_names: &["Manitoba"], areas: &[("204", NANP, 7), ("431", NANP, 7)] },
    Place { cc: Cc::Ca, city: "Halifax", city_alt: &[], state_code: "NS", state_names: &["Nova Scotia"], areas: &[("902", NANP, 7), ("782", NANP, 7)] },
    // United Kingdom: regions have no codes CRMs use, so the state is the nation or blank.
    Place { cc: Cc::Gb, city: "London", city_alt: &[], state_code: "", state_names: &["England"], areas: &[("20", "378", 8)] },
    Place { cc: Cc::Gb, city: "Manchester", city_alt: &[], state_code: "", state_names: &["England"], areas: &[("161", "2345789", 7)] },
    Place { cc: Cc::Gb, city: "Birmingham", city_alt: &[], state_code: "", state_names: &["England"], areas: &[("121", "234567", 7)] },
    Place { cc: Cc::Gb, city: "Leeds", city_alt: &[], state_code: "", state_names: &["England"], areas: &[("113", "2345", 7)] },
    Place { cc: Cc::Gb, city: "Bristol", city_alt: &[], state_code: "", state_names: &["England"], areas: &[("117", "923", 7)] },
    Place { cc: Cc::Gb, city: "Edinburgh", city_alt: &[], state_code: "", state_names: &["Scotland"], areas: &[("131", "2345", 7)] },
    Place { cc: Cc::Gb, city: "Glasgow", city_alt: &[], state_code: "", state_names: &["Scotland"], areas: &[("141", "2345", 7)] },
    Place { cc: Cc::Gb, city: "Cardiff", city_alt: &["Caerdydd"], state_code: "", state_names: &["Wales"], areas: &[("29", "2", 8)] },
    // Germany.
    Place { cc: Cc::De, city: "Berlin", city_alt: &[], state_code: "BE", state_names: &["Berlin"], areas: &[("30", "2345678", 8)] },
    Place { cc: Cc::De, city: "Hamburg", city_alt: &[], state_code: "HH", state_names: &["Hamburg"], areas: &[("40", "2345678", 8)] },
    Place { cc: Cc::De, city: "München", city_alt: &["Munich", "Muenchen"], state_code: "BY", state_names: &["Bayern", "Bavaria"], areas: &[("89", "2345678", 8)] },
    Place { cc: Cc::De, city: "Frankfurt am Main", city_alt: &["Frankfurt"], state_code: "HE", state_names: &["Hessen", "Hesse"], areas: &[("69", "2345678", 8)] },
    Place { cc: Cc::De, city: "Köln", city_alt: &["Cologne", "Koeln"], state_code: "NW", state_names: &["Nordrhein-Westfalen", "North Rhine-Westphalia", "NRW"], areas: &[("221", "2345789", 7)] },
    Place { cc: Cc::De, city: "Düsseldorf", city_alt: &["Dusseldorf", "Duesseldorf"], state_code: "NW", state_names: &["Nordrhein-Westfalen", "North Rhine-Westphalia", "NRW"], areas: &[("211", "2345789", 7)] },
    Place { cc: Cc::De, city: "Stuttgart", city_alt: &[], state_code: "BW", state_names: &["Baden-Württemberg", "Baden-Wuerttemberg"], areas: &[("711", "2345789", 7)] },
    Place { cc: Cc::De, city: "Leipzig", city_alt: &[], state_code: "SN", state_names: &["Sachsen", "Saxony"], areas: &[("341", "2345789", 7)] },
    Place { cc: Cc::De, city: "Hannover", city_alt: &["Hanover"], state_code: "NI", state_names: &["Niedersachsen", "Lower Saxony"], areas: &[("511", "2345789", 7)] },
    // France: regions are written out or left blank.
    Place { cc: Cc::Fr, city: "Paris", city_alt: &[], state_code: "", state_names: &["Île-de-France", "Ile-de-France"], areas: &[("1", "4", 8)] },
    Place { cc: Cc::Fr, city: "Lyon", city_alt: &["Lyons"], state_code: "", state_names: &["Auvergne-Rhône-Alpes"], areas: &[("4", "7", 8)] },
    Place { cc: Cc::Fr, city: "Marseille", city_alt: &["Marseilles"], state_code: "", state_names: &["Provence-Alpes-Côte d'Azur", "PACA"], areas: &[("4", "9", 8)] },
    Place { cc: Cc::Fr, city: "Toulouse", city_alt: &[], state_code: "", state_names: &["Occitanie"], areas: &[("5", "6", 8)] },
    Place { cc: Cc::Fr, city: "Bordeaux", city_alt: &[], state_code: "", state_names: &["Nouvelle-Aquitaine"], areas: &[("5", "5", 8)] },
    Place { cc: Cc::Fr, city: "Lille", city_alt: &[], state_code: "", state_names: &["Hauts-de-France"], areas: &[("3", "2", 8)] },
    Place { cc: Cc::Fr, city: "Nantes", city_alt: &[], state_code: "", state_names: &["Pays de la Loire"], areas: &[("2", "4", 8)] },
    Place { cc: Cc::Fr, city: "Strasbourg", city_alt: &[], state_code: "", state_names: &["Grand Est"], areas: &[("3", "8", 8)] },
    // Australia.
    Place { cc: Cc::Au, city: "Sydney", city_alt: &[], state_code: "NSW", state_names: &["New South Wales"], areas: &[("2", "89", 8)] },
    Place { cc: Cc::Au, city: "Melbourne", city_alt: &[], state_code: "VIC", state_names: &["Victoria"], areas: &[("3", "89", 8)] },
    Place { cc: Cc::Au, city: "Brisbane", city_alt: &[], state_code: "QLD", state_names: &["Queensland"], areas: &[("7", "3", 8)] },
    Place { cc: Cc::Au, city: "Perth", city_alt: &[], state_code: "WA", state_names: &["Western Australia"], areas: &[("8", "92|93|94|95|96", 8)] },
    Place { cc: Cc::Au, city: "Adelaide", city_alt: &[], state_code: "SA", state_names: &["South Australia"], areas: &[("8", "8", 8)] },
    Place { cc: Cc::Au, city: "Canberra", city_alt: &[], state_code: "ACT", state_names: &["Australian Capital Territory"], areas: &[("2", "6", 8)] },
    Place { cc: Cc::Au, city: "Hobart", city_alt: &[], state_code: "TAS", state_names: &["Tasmania"], areas: &[("3", "61|62", 8)] },
];

pub fn country(cc: Cc) -> &'static Country {
    match cc {
        Cc::Us => &COUNTRIES[0],
        Cc::Ca => &COUNTRIES[1],
        Cc::Gb => &COUNTRIES[2],
        Cc::De => &COUNTRIES[3],
        Cc::Fr => &COUNTRIES[4],
        Cc::Au => &COUNTRIES[5],
    }
}
