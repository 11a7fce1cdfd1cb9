//! Scored matching (Fellegi–Sunter): per-field agreement levels, weights learned from the
//! records themselves (u from random pairs, m by EM over blocked pairs, term-frequency
//! adjusted exact agreement), a match probability per candidate pair, and two thresholds:
//! merge, and review between them.
//!
//! - `compare`: the kinds, their levels, and each record's values prepared once.
//! - `em`: u and m estimation.
//! - `block`: blocking keys, training, and scoring every candidate pair on every core.
//! - `explain`: the notes a person reads.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::super::filter::check_field_name;
use crate::error::FieldError;

mod block;
mod compare;
mod em;
mod explain;

pub(crate) use block::{Outcome, Scored};
pub use compare::ScoreCompare;
pub(crate) use compare::Spec;

/// Default `merge_threshold`.
pub const DEFAULT_MERGE_THRESHOLD: f64 = 0.99;
/// Default `review_threshold` (or `merge_threshold` when that is lower).
pub const DEFAULT_REVIEW_THRESHOLD: f64 = 0.9;
/// Blocking keys a score may have.
pub const MAX_BLOCKING_KEYS: usize = 16;
/// Review pairs a plan shows at most (the most likely first).
pub const MAX_REVIEW_PAIRS: usize = 10_000;

/// Scored matching: each listed field compared at ordered agreement levels, each level
/// weighed by how much likelier it is between duplicates than between random records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoreConfig {
    /// The fields compared, each once.
    pub fields: Vec<ScoreField>,
    /// Pairs whose match probability is at least this are merged (0 to 1, exclusive).
    #[serde(default = "default_merge_threshold")]
    pub merge_threshold: f64,
    /// Pairs at least this likely, but below `merge_threshold`, are shown for review
    /// (default 0.9, or `merge_threshold` when lower; equal to it: no review).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_threshold: Option<f64>,
    /// Records are compared when they share every field of some key (normalized). Default:
    /// derived from the fields (see the docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocking: Option<Vec<Vec<String>>>,
    /// Learned weights to use as they are (nothing is trained): a run's `score_model`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ScoreModel>,
}

fn default_merge_threshold() -> f64 {
    DEFAULT_MERGE_THRESHOLD
}

/// One compared field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoreField {
    pub field: String,
    pub compare: ScoreCompare,
    /// `name` only: the other name field, compared crosswise (first and last name swapped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap_with: Option<String>,
    /// `phone` only: ISO alpha-2 region of numbers written without a country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_region: Option<String>,
    /// `phone` only: a field holding the record's country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region_field: Option<String>,
    /// Fields of one group describe one place (street, postcode, home phone). Two records
    /// at one place are weighed as the model learned pairs at that place to be (`given`:
    /// people of one household share a last name); otherwise the group counts once, as
    /// its strongest member. Default: `text` and `code` fields named like a part of an
    /// address other than an area (a city, a state: those count on their own; see the
    /// docs) are in `address` (or `<prefix>address`: `billing_zip` in `billingaddress`);
    /// `""`: no group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// Normalized field-name endings that name a part of a postal address (a field `text` or
/// `code` named so, e.g. `MailingPostalCode`, is in the group `<prefix>address`).
pub const PLACE_NAMES: [&str; 22] = [
    "streetaddress",
    "address1",
    "address2",
    "address3",
    "addressline1",
    "addressline2",
    "address",
    "street",
    "postalcode",
    "postcode",
    "zipcode",
    "zip",
    "city",
    "town",
    "suburb",
    "locality",
    "county",
    "state",
    "province",
    "region",
    "country",
    "countrycode",
];

/// Normalized phone field names that name a personal line (not in the address group).
pub const PERSONAL_PHONES: [&str; 3] = ["mobile", "cell", "work"];

/// The group a field is in by default: a place part's (see `PLACE_NAMES`; not an area's,
/// `AREA_NAMES`); a `phone` not
/// named as a personal line (`PERSONAL_PHONES`) is in `address` (people of one household
/// share a home phone as they share the address); else none.
pub fn default_group(field: &str, kind: ScoreCompare) -> Option<String> {
    let n = squash(field);
    if kind == ScoreCompare::Phone {
        return (!PERSONAL_PHONES.iter().any(|p| n.contains(p))).then(|| "address".to_string());
    }
    if !matches!(kind, ScoreCompare::Text | ScoreCompare::Code) {
        return None;
    }
    let mut best: Option<&str> = None;
    for w in PLACE_NAMES {
        if n.ends_with(w) && best.is_none_or(|b| w.len() > b.len()) {
            best = Some(w);
        }
    }
    best.filter(|w| !AREA_NAMES.contains(w))
        .map(|w| format!("{}address", &n[..n.len() - w.len()]))
}

/// The learned weights: the prior probability that two random records are duplicates,
/// and per field per level the probability of the level between duplicates (`m`) and
/// between random records (`u`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoreModel {
    pub prior: f64,
    pub fields: Vec<FieldModel>,
    /// Per field of a group (a place): the share of duplicates among pairs sharing its
    /// value, and the other fields' `u` between the rest (people of one household share
    /// an address, a phone and often a last name). A pair at or near such a place is
    /// weighed by these (the most specific field's), and its group's fields count each;
    /// without: once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub given: Vec<GivenModel>,
}

/// Pairs of records that share `field`'s value: the share of them that are duplicates,
/// and the `u` of the other fields between the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GivenModel {
    pub field: String,
    pub share: f64,
    pub fields: Vec<GivenField>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GivenField {
    pub field: String,
    /// Per level, in the compare kind's order.
    pub u: Vec<f64>,
}

/// Only finite numbers in (0, 1] pass `ScoreConfig` checking, so equality is total.
impl Eq for ScoreModel {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldModel {
    pub field: String,
    /// The compare kind's levels, in its order.
    pub levels: Vec<LevelModel>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LevelModel {
    pub level: String,
    pub m: f64,
    pub u: f64,
}

impl ScoreModel {
    /// m and u per field per level, in the fields' order.
    fn tables(&self) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let m = self
            .fields
            .iter()
            .map(|f| f.levels.iter().map(|l| l.m).collect())
            .collect();
        let u = self
            .fields
            .iter()
            .map(|f| f.levels.iter().map(|l| l.u).collect())
            .collect();
        (m, u)
    }

    /// The model of `prior`, `m` and `u` per field per level, and `given`: per place field
    /// (an index), the `u` of every field between records sharing its value.
    fn build(
        prior: f64,
        names: &[String],
        specs: &[Spec],
        m: &[Vec<f64>],
        u: &[Vec<f64>],
        given: &[Given],
    ) -> Self {
        ScoreModel {
            prior: round(prior),
            fields: names
                .iter()
                .zip(specs)
                .enumerate()
                .map(|(f, (name, s))| FieldModel {
                    field: name.clone(),
                    levels: s
                        .kind
                        .levels()
                        .iter()
                        .enumerate()
                        .map(|(l, level)| LevelModel {
                            level: level.to_string(),
                            m: round(m[f][l]).min(1.0),
                            u: round(u[f][l]).min(1.0),
                        })
                        .collect(),
                })
                .collect(),
            given: given
                .iter()
                .map(|g| GivenModel {
                    field: names[g.field].clone(),
                    share: round(g.share).min(1.0),
                    fields: (0..names.len())
                        .filter(|&f| f != g.field)
                        .map(|f| GivenField {
                            field: names[f].clone(),
                            u: g.u[f].iter().map(|&x| round(x).min(1.0)).collect(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// What pairs sharing a place field's value (`field`, an index) taught: the share of
/// duplicates among them and every field's `u` between the others.
pub(crate) struct Given {
    pub field: usize,
    pub share: f64,
    pub u: Vec<Vec<f64>>,
}

/// A probability rounded to six decimals, or six significant digits when below 0.001.
fn round(x: f64) -> f64 {
    if x >= 1e-3 {
        (x * 1e6).round() / 1e6
    } else {
        let scale = 10f64.powi(5 - x.log10().floor() as i32);
        ((x * scale).round() / scale).max(f64::MIN_POSITIVE)
    }
}

/// A compiled score.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scorer {
    pub specs: Vec<Spec>,
    pub names: Vec<String>,
    /// Blocking keys.
    pub keys: Vec<Key>,
    /// The keys were derived (no `blocking`): where the records allow, they are loosened
    /// (`block::loosened`).
    pub derived: bool,
    /// Groups of two or more fields that count once (indices into `specs`), and names.
    pub groups: Vec<Vec<usize>>,
    pub group_names: Vec<String>,
    pub merge: f64,
    pub review: f64,
    pub model: Option<ScoreModel>,
}

/// Log2 odds of a probability.
pub(crate) fn bits(p: f64) -> f64 {
    (p / (1.0 - p)).log2()
}

/// The probability of log2 odds.
pub(crate) fn probability(bits: f64) -> f64 {
    1.0 / (1.0 + (-bits).exp2())
}

/// The `PLACE_NAMES` that name an area (a town, a region) rather than a place: such
/// fields are compared but block nothing by default (a town and a first name pair
/// thousands of strangers).
pub const AREA_NAMES: &[&str] = PLACE_NAMES.split_at(12).1;

/// Whether a field is named as an area (`AREA_NAMES`).
pub(crate) fn is_area(field: &str) -> bool {
    let n = squash(field);
    AREA_NAMES.iter().any(|a| n.ends_with(a))
}

/// A field name as `PLACE_NAMES` are written: ASCII letters and digits, lowercase.
fn squash(field: &str) -> String {
    field
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A blocking key: records sharing the values of every field (name fields in either
/// order) and, when `prefixes` is not empty, the first two letters of one of those name
/// fields (either, crosswise too: swapped or mistyped names still share them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key {
    pub fields: Vec<usize>,
    pub prefixes: Vec<usize>,
    /// A loosened key (`block::loosened`) finds candidates but no EM session trains on
    /// its pairs: blocked on a postcode alone, households would pass for duplicates.
    pub loose: bool,
}

impl Key {
    pub(crate) fn of(fields: Vec<usize>) -> Self {
        Self {
            fields,
            prefixes: Vec::new(),
            loose: false,
        }
    }

    pub(crate) fn loose(field: usize) -> Self {
        Self {
            loose: true,
            ..Self::of(vec![field])
        }
    }
}

/// The blocking keys derived from the fields: each `email` and `phone` field alone; the
/// `name` fields together; each `date` field with the first two letters of either name
/// (a shared birth date finds the pair whatever else happened to the names) and each
/// `code` field in no group alone (an id); each other field (`date` and `code` without
/// name fields, `code` in a group, `company`, `text`, in that order) with each `name`
/// field, or alone when there is no name field, except fields named as an area
/// (`AREA_NAMES`). At most `MAX_BLOCKING_KEYS`, in that order.
pub(crate) fn derived_keys(specs: &[Spec], names: &[String], grouped: &[bool]) -> Vec<Key> {
    let of = |k: ScoreCompare| -> Vec<usize> {
        (0..specs.len()).filter(|&i| specs[i].kind == k).collect()
    };
    let people = of(ScoreCompare::Name);
    let mut keys: Vec<Key> = Vec::new();
    for k in [ScoreCompare::Email, ScoreCompare::Phone] {
        keys.extend(of(k).into_iter().map(|i| Key::of(vec![i])));
    }
    let mut rest = Vec::new();
    if people.is_empty() {
        rest.extend(of(ScoreCompare::Date));
    } else {
        keys.push(Key::of(people.clone()));
        keys.extend(of(ScoreCompare::Date).into_iter().map(|i| Key {
            fields: vec![i],
            prefixes: people.clone(),
            loose: false,
        }));
    }
    for i in of(ScoreCompare::Code) {
        if !grouped[i] && !people.is_empty() {
            keys.push(Key::of(vec![i]));
        } else {
            rest.push(i);
        }
    }
    rest.extend(of(ScoreCompare::Company));
    rest.extend(of(ScoreCompare::Text));
    for i in rest.into_iter().filter(|&i| !is_area(&names[i])) {
        if people.is_empty() {
            keys.push(Key::of(vec![i]));
        } else {
            keys.extend(people.iter().map(|&n| Key::of(vec![i, n])));
        }
    }
    keys.truncate(MAX_BLOCKING_KEYS);
    keys
}

/// Checks `score` and compiles it; `add` registers a field the engine reads and gives its
/// index. None (with `errors` added) when something is wrong.
pub(crate) fn compile(
    score: &ScoreConfig,
    add: &mut dyn FnMut(&str) -> usize,
    errors: &mut Vec<FieldError>,
) -> Option<Scorer> {
    let before = errors.len();
    let at = "/config/score";
    if score.fields.is_empty() {
        errors.push(FieldError::new(
            format!("{at}/fields"),
            "needs at least one field: {\"field\": \"email\", \"compare\": \"email\"}",
        ));
    }
    let position = |name: &str| score.fields.iter().position(|f| f.field == name);
    let mut specs = Vec::with_capacity(score.fields.len());
    for (i, f) in score.fields.iter().enumerate() {
        let here = format!("{at}/fields/{i}");
        check_field_name(&format!("{here}/field"), &f.field, errors);
        if position(&f.field) != Some(i) {
            errors.push(FieldError::new(
                format!("{here}/field"),
                format!("`{}` is listed twice: compare each field once", f.field),
            ));
        }
        let only = |errors: &mut Vec<FieldError>, key: &str, present: bool, who: &str| {
            if present {
                errors.push(FieldError::new(
                    format!("{here}/{key}"),
                    format!("only `compare: {who}` takes `{key}`"),
                ));
            }
        };
        let phone = f.compare == ScoreCompare::Phone;
        only(
            errors,
            "swap_with",
            f.swap_with.is_some() && f.compare != ScoreCompare::Name,
            "name",
        );
        only(
            errors,
            "default_region",
            f.default_region.is_some() && !phone,
            "phone",
        );
        only(
            errors,
            "region_field",
            f.region_field.is_some() && !phone,
            "phone",
        );
        let mut spec = Spec::new(f.compare, add(&f.field));
        if let Some(other) = &f.swap_with
            && f.compare == ScoreCompare::Name
        {
            match position(other) {
                Some(j) if j != i && score.fields[j].compare == ScoreCompare::Name => {
                    spec.swap = Some(j);
                }
                Some(j) if j == i => errors.push(FieldError::new(
                    format!("{here}/swap_with"),
                    "names this field itself: give the other name field",
                )),
                _ => errors.push(FieldError::new(
                    format!("{here}/swap_with"),
                    format!("`{other}` is not a `compare: name` field of this list"),
                )),
            }
        }
        if phone {
            let default = match f.default_region.as_deref() {
                Some(code) => match crate::modules::transform::phone::Region::parse(code) {
                    Some(r) => Some(r),
                    None => {
                        errors.push(FieldError::new(
                            format!("{here}/default_region"),
                            crate::modules::transform::unknown_region(code),
                        ));
                        None
                    }
                },
                None => None,
            };
            let region = f.region_field.as_deref().map(|r| {
                check_field_name(&format!("{here}/region_field"), r, errors);
                add(r)
            });
            spec.norm = super::normalize::Norm::Phone {
                default,
                region_field: region,
                quick: true,
            };
            spec.region = region;
        }
        specs.push(spec);
    }
    // Groups: named explicitly or by default; only groups of two or more fields matter.
    let mut group_names: Vec<String> = Vec::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, f) in score.fields.iter().enumerate() {
        let name = match &f.group {
            Some(g) => {
                let ok = g.len() <= 64
                    && g.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if !ok {
                    errors.push(FieldError::new(
                        format!("{at}/fields/{i}/group"),
                        format!(
                            "{g:?} is not a group name: letters, digits, `_` or `-`, at most \
                             64 (\"\" for no group)"
                        ),
                    ));
                }
                (!g.is_empty()).then(|| g.clone())
            }
            None => default_group(&f.field, f.compare),
        };
        if let Some(name) = name {
            match group_names.iter().position(|g| *g == name) {
                Some(j) => groups[j].push(i),
                None => {
                    group_names.push(name);
                    groups.push(vec![i]);
                }
            }
        }
    }
    let (groups, group_names): (Vec<Vec<usize>>, Vec<String>) = groups
        .into_iter()
        .zip(group_names)
        .filter(|(g, _)| g.len() > 1)
        .unzip();
    let merge = score.merge_threshold;
    if !(merge > 0.0 && merge < 1.0) {
        errors.push(FieldError::new(
            format!("{at}/merge_threshold"),
            format!(
                "{merge} is not a probability between 0 and 1 (exclusive); 0.99 is a good start"
            ),
        ));
    }
    let review = score
        .review_threshold
        .unwrap_or(DEFAULT_REVIEW_THRESHOLD.min(merge));
    if !(review > 0.0 && review < 1.0) {
        errors.push(FieldError::new(
            format!("{at}/review_threshold"),
            format!("{review} is not a probability between 0 and 1 (exclusive)"),
        ));
    } else if review > merge {
        errors.push(FieldError::new(
            format!("{at}/review_threshold"),
            format!("{review} is above merge_threshold ({merge}): it must be at most that"),
        ));
    }
    let keys = match &score.blocking {
        None => None,
        Some(keys) => {
            if keys.is_empty() {
                errors.push(FieldError::new(
                    format!("{at}/blocking"),
                    "needs at least one key (or leave `blocking` out to derive it)",
                ));
            }
            if keys.len() > MAX_BLOCKING_KEYS {
                errors.push(FieldError::new(
                    format!("{at}/blocking"),
                    format!("at most {MAX_BLOCKING_KEYS} keys"),
                ));
            }
            let mut out = Vec::new();
            for (k, key) in keys.iter().enumerate() {
                if key.is_empty() {
                    errors.push(FieldError::new(
                        format!("{at}/blocking/{k}"),
                        "needs at least one field",
                    ));
                }
                let mut idx = Vec::new();
                for (j, name) in key.iter().enumerate() {
                    match position(name) {
                        Some(i) if !idx.contains(&i) => idx.push(i),
                        Some(_) => errors.push(FieldError::new(
                            format!("{at}/blocking/{k}/{j}"),
                            format!("`{name}` is in this key twice"),
                        )),
                        None => errors.push(FieldError::new(
                            format!("{at}/blocking/{k}/{j}"),
                            format!("`{name}` is not one of the score's fields"),
                        )),
                    }
                }
                out.push(Key::of(idx));
            }
            Some(out)
        }
    };
    if let Some(model) = &score.model {
        check_model(model, score, errors);
    }
    if errors.len() > before {
        return None;
    }
    let grouped: Vec<bool> = (0..specs.len())
        .map(|f| groups.iter().any(|g| g.contains(&f)))
        .collect();
    let names: Vec<String> = score.fields.iter().map(|f| f.field.clone()).collect();
    let derived = keys.is_none();
    let keys = keys.unwrap_or_else(|| derived_keys(&specs, &names, &grouped));
    Some(Scorer {
        derived,
        groups,
        group_names,
        names,
        specs,
        keys,
        merge,
        review,
        model: score.model.clone(),
    })
}

fn check_model(model: &ScoreModel, score: &ScoreConfig, errors: &mut Vec<FieldError>) {
    let at = "/config/score/model";
    let p = model.prior;
    if !(p > 0.0 && p < 1.0) {
        errors.push(FieldError::new(
            format!("{at}/prior"),
            format!("{p} is not a probability between 0 and 1 (exclusive)"),
        ));
    }
    if model.fields.len() != score.fields.len() {
        errors.push(FieldError::new(
            format!("{at}/fields"),
            format!(
                "has {} fields, the score {}: a model fits the fields it was learned on \
                 (remove `model` to learn it again)",
                model.fields.len(),
                score.fields.len()
            ),
        ));
    }
    for (i, (fm, f)) in model.fields.iter().zip(&score.fields).enumerate() {
        let here = format!("{at}/fields/{i}");
        if fm.field != f.field {
            errors.push(FieldError::new(
                format!("{here}/field"),
                format!(
                    "is `{}` where the score's field {i} is `{}`",
                    fm.field, f.field
                ),
            ));
        }
        let levels = f.compare.levels();
        if !check_level_count(
            &format!("{here}/levels"),
            f.compare,
            fm.levels.len(),
            errors,
        ) {
            continue;
        }
        for (j, (l, name)) in fm.levels.iter().zip(levels).enumerate() {
            let lat = format!("{here}/levels/{j}");
            if l.level != *name {
                errors.push(FieldError::new(
                    format!("{lat}/level"),
                    format!(
                        "is `{}` where `compare: {}` has `{name}`",
                        l.level,
                        f.compare.name()
                    ),
                ));
            }
            for (key, v) in [("m", l.m), ("u", l.u)] {
                check_probability(&format!("{lat}/{key}"), v, errors);
            }
        }
    }
    let field = |name: &str| score.fields.iter().find(|f| f.field == name);
    for (i, g) in model.given.iter().enumerate() {
        let here = format!("{at}/given/{i}");
        match field(&g.field) {
            None => errors.push(FieldError::new(
                format!("{here}/field"),
                format!("`{}` is not one of the score's fields", g.field),
            )),
            Some(_) if model.given[..i].iter().any(|x| x.field == g.field) => {
                errors.push(FieldError::new(
                    format!("{here}/field"),
                    format!("`{}` is given twice", g.field),
                ));
            }
            Some(_) => {}
        }
        check_probability(&format!("{here}/share"), g.share, errors);
        for (j, gf) in g.fields.iter().enumerate() {
            let fat = format!("{here}/fields/{j}");
            let Some(f) = field(&gf.field).filter(|_| gf.field != g.field) else {
                errors.push(FieldError::new(
                    format!("{fat}/field"),
                    format!(
                        "`{}` is not one of the score's other fields (than `{}`)",
                        gf.field, g.field
                    ),
                ));
                continue;
            };
            check_level_count(&format!("{fat}/u"), f.compare, gf.u.len(), errors);
            for (l, &v) in gf.u.iter().enumerate() {
                check_probability(&format!("{fat}/u/{l}"), v, errors);
            }
        }
    }
}

/// Whether a model gives `kind`'s number of levels (an error at `at` if not).
fn check_level_count(at: &str, kind: ScoreCompare, n: usize, errors: &mut Vec<FieldError>) -> bool {
    let levels = kind.levels();
    if n != levels.len() {
        errors.push(FieldError::new(
            at,
            format!(
                "`compare: {}` has {} levels ({}), not {n}",
                kind.name(),
                levels.len(),
                levels.join(", ")
            ),
        ));
    }
    n == levels.len()
}

fn check_probability(at: &str, v: f64, errors: &mut Vec<FieldError>) {
    if !(v > 0.0 && v <= 1.0) {
        errors.push(FieldError::new(
            at,
            format!("{v} is not a probability above 0 and at most 1"),
        ));
    }
}

#[cfg(test)]
mod tests;
