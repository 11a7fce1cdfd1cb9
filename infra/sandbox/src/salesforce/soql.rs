//! A parser for the subset of SOQL Steward's connector sends: one object, a field list or
//! COUNT(), WHERE with comparisons, LIKE, IN and AND/OR/NOT, ORDER BY, LIMIT and OFFSET.

use chrono::{DateTime, NaiveDate, Utc};

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub select: Select,
    pub from: String,
    pub cond: Option<Cond>,
    pub order: Vec<OrderItem>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Select {
    Count,
    Fields(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    pub field: String,
    pub desc: bool,
    pub nulls_last: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A relative date literal, resolved against "today" when the query runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelDate {
    Today,
    Yesterday,
    Tomorrow,
    LastNDays(u32),
    NextNDays(u32),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
    Rel(RelDate),
}

#[derive(Debug, Clone, PartialEq)]
pub enum LikeTok {
    Char(char),
    /// `_`
    One,
    /// `%`
    Many,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Cmp {
        field: String,
        op: Op,
        value: Lit,
    },
    In {
        field: String,
        negated: bool,
        values: Vec<Lit>,
    },
    Like {
        field: String,
        pattern: Vec<LikeTok>,
    },
}

/// A syntax error, reported as `MALFORMED_QUERY` with Salesforce's wording.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError(pub String);

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// Decoded value, and the raw text between the quotes (LIKE needs `\%` and `\_`).
    Str(String, String),
    Num(f64),
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
    LParen,
    RParen,
    Comma,
    Colon,
    Op(Op),
}

impl Tok {
    fn show(&self) -> String {
        match self {
            Tok::Ident(s) => s.clone(),
            Tok::Str(_, raw) => format!("'{raw}'"),
            Tok::Num(n) => n.to_string(),
            Tok::Date(d) => d.to_string(),
            Tok::DateTime(d) => d.to_rfc3339(),
            Tok::LParen => "(".into(),
            Tok::RParen => ")".into(),
            Tok::Comma => ",".into(),
            Tok::Colon => ":".into(),
            Tok::Op(op) => match op {
                Op::Eq => "=",
                Op::Ne => "!=",
                Op::Lt => "<",
                Op::Le => "<=",
                Op::Gt => ">",
                Op::Ge => ">=",
            }
            .into(),
        }
    }
}

fn unexpected(t: Option<&Tok>) -> SyntaxError {
    match t {
        Some(t) => SyntaxError(format!("unexpected token: '{}'", t.show())),
        None => SyntaxError("unexpected token: <EOF>".into()),
    }
}

fn lex(src: &str) -> Result<Vec<Tok>, SyntaxError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        match c {
            '(' => out.push(Tok::LParen),
            ')' => out.push(Tok::RParen),
            ',' => out.push(Tok::Comma),
            ':' => out.push(Tok::Colon),
            '=' => out.push(Tok::Op(Op::Eq)),
            '!' | '<' | '>' => {
                let next = chars.get(i + 1).copied();
                let (op, wide) = match (c, next) {
                    ('!', Some('=')) => (Op::Ne, true),
                    ('<', Some('>')) => (Op::Ne, true),
                    ('<', Some('=')) => (Op::Le, true),
                    ('>', Some('=')) => (Op::Ge, true),
                    ('<', _) => (Op::Lt, false),
                    ('>', _) => (Op::Gt, false),
                    _ => return Err(SyntaxError(format!("unexpected token: '{c}'"))),
                };
                out.push(Tok::Op(op));
                if wide {
                    i += 1;
                }
            }
            '\'' => {
                let (value, raw, end) = lex_string(&chars, i + 1)?;
                out.push(Tok::Str(value, raw));
                i = end;
                continue;
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while chars
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
                {
                    i += 1;
                }
                out.push(Tok::Ident(chars[start..i].iter().collect()));
                continue;
            }
            c if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' => {
                let start = i;
                i += 1;
                while chars.get(i).is_some_and(|c| {
                    c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '+')
                }) {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                out.push(lex_number_or_date(&text)?);
                continue;
            }
            _ => return Err(SyntaxError(format!("unexpected token: '{c}'"))),
        }
        i += 1;
    }
    Ok(out)
}

/// Reads a quoted string starting after the opening quote; returns (value, raw, index after).
fn lex_string(chars: &[char], mut i: usize) -> Result<(String, String, usize), SyntaxError> {
    let mut value = String::new();
    let mut raw = String::new();
    loop {
        let Some(&c) = chars.get(i) else {
            return Err(SyntaxError(
                "unexpected token: <EOF> (unterminated string)".into(),
            ));
        };
        match c {
            '\'' => return Ok((value, raw, i + 1)),
            '\\' => {
                let Some(&e) = chars.get(i + 1) else {
                    return Err(SyntaxError(
                        "unexpected token: <EOF> (unterminated string)".into(),
                    ));
                };
                raw.push('\\');
                raw.push(e);
                value.push(match e {
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    '\'' | '"' | '\\' | '%' | '_' => e,
                    _ => {
                        return Err(SyntaxError(format!(
                            "Invalid string literal '\\{e}'. Illegal character sequence"
                        )));
                    }
                });
                i += 2;
            }
            _ => {
                raw.push(c);
                value.push(c);
                i += 1;
            }
        }
    }
}

fn lex_number_or_date(text: &str) -> Result<Tok, SyntaxError> {
    let bad = || SyntaxError(format!("unexpected token: '{text}'"));
    let b = text.as_bytes();
    let looks_like_date = b.len() >= 10 && b.get(4) == Some(&b'-') && b.get(7) == Some(&b'-');
    if looks_like_date {
        if text.len() == 10 {
            return NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(Tok::Date)
                .map_err(|_| bad());
        }
        // SOQL also accepts `+hhmm` offsets; RFC 3339 wants `+hh:mm`.
        let normalized = match text.len().checked_sub(5).and_then(|k| text.get(k..)) {
            Some(tail)
                if (tail.starts_with('+') || tail.starts_with('-')) && !tail.contains(':') =>
            {
                format!("{}{}:{}", &text[..text.len() - 5], &tail[..3], &tail[3..])
            }
            _ => text.to_string(),
        };
        return DateTime::parse_from_rfc3339(&normalized)
            .map(|d| Tok::DateTime(d.with_timezone(&Utc)))
            .map_err(|_| bad());
    }
    text.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .map(Tok::Num)
        .ok_or_else(bad)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    /// Nesting of NOT and parentheses, bounded so a hostile query cannot exhaust the stack.
    depth: usize,
}

/// Salesforce's ceiling on a SOQL statement's length.
const MAX_QUERY_CHARS: usize = 100_000;
const MAX_DEPTH: usize = 64;
/// Largest N of LAST_N_DAYS / NEXT_N_DAYS accepted (keeps date arithmetic in range).
const MAX_N_DAYS: u64 = 100_000;

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn peek_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        let hit = self.peek_kw(kw);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), SyntaxError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(unexpected(self.peek()))
        }
    }

    fn expect(&mut self, t: Tok) -> Result<(), SyntaxError> {
        if self.peek() == Some(&t) {
            self.pos += 1;
            Ok(())
        } else {
            Err(unexpected(self.peek()))
        }
    }

    /// A field name: an identifier that is not a reserved word.
    fn field(&mut self) -> Result<String, SyntaxError> {
        match self.peek() {
            Some(Tok::Ident(s)) if !is_reserved(s) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            other => Err(unexpected(other)),
        }
    }

    fn unsigned(&mut self) -> Result<u64, SyntaxError> {
        match self.next() {
            Some(Tok::Num(n)) if n >= 0.0 && n.fract() == 0.0 && n <= 1e15 => Ok(n as u64),
            other => Err(unexpected(other.as_ref())),
        }
    }

    fn query(&mut self) -> Result<Query, SyntaxError> {
        self.expect_kw("SELECT")?;
        let select = self.select_list()?;
        self.expect_kw("FROM")?;
        let from = self.field()?;
        if from.contains('.') {
            return Err(SyntaxError(format!("unexpected token: '{from}'")));
        }
        let cond = if self.eat_kw("WHERE") {
            Some(self.cond()?)
        } else {
            None
        };
        let mut order = Vec::new();
        if self.eat_kw("ORDER") {
            self.expect_kw("BY")?;
            loop {
                order.push(self.order_item()?);
                if self.peek() == Some(&Tok::Comma) {
                    self.pos += 1;
                } else {
                    break;
                }
            }
        }
        let limit = if self.eat_kw("LIMIT") {
            Some(self.unsigned()?)
        } else {
            None
        };
        let offset = if self.eat_kw("OFFSET") {
            Some(self.unsigned()?)
        } else {
            None
        };
        if self.peek().is_some() {
            return Err(unexpected(self.peek()));
        }
        Ok(Query {
            select,
            from,
            cond,
            order,
            limit,
            offset,
        })
    }

    fn select_list(&mut self) -> Result<Select, SyntaxError> {
        if self.peek_kw("COUNT") && self.toks.get(self.pos + 1) == Some(&Tok::LParen) {
            self.pos += 2;
            if self.peek() != Some(&Tok::RParen) {
                return Err(SyntaxError(
                    "aggregate functions other than COUNT() are not supported by the sandbox"
                        .into(),
                ));
            }
            self.pos += 1;
            return Ok(Select::Count);
        }
        let mut fields = Vec::new();
        loop {
            if self.peek() == Some(&Tok::LParen) {
                return Err(SyntaxError(
                    "relationship subqueries are not supported by the sandbox".into(),
                ));
            }
            let f = self.field()?;
            if self.peek() == Some(&Tok::LParen) {
                return Err(SyntaxError(format!(
                    "unexpected token: '{f}(' (functions are not supported)"
                )));
            }
            if fields.iter().any(|g: &String| g.eq_ignore_ascii_case(&f)) {
                return Err(SyntaxError(format!("duplicate field selected: {f}")));
            }
            fields.push(f);
            if self.peek() == Some(&Tok::Comma) {
                self.pos += 1;
            } else {
                break;
            }
        }
        Ok(Select::Fields(fields))
    }

    fn order_item(&mut self) -> Result<OrderItem, SyntaxError> {
        let field = self.field()?;
        let desc = if self.eat_kw("DESC") {
            true
        } else {
            self.eat_kw("ASC");
            false
        };
        // Salesforce sorts nulls first by default, whatever the direction.
        let mut nulls_last = false;
        if self.eat_kw("NULLS") {
            if self.eat_kw("LAST") {
                nulls_last = true;
            } else {
                self.expect_kw("FIRST")?;
            }
        }
        Ok(OrderItem {
            field,
            desc,
            nulls_last,
        })
    }

    /// SOQL makes AND and OR at one level an error: mixing them needs parentheses.
    fn cond(&mut self) -> Result<Cond, SyntaxError> {
        let first = self.unary()?;
        let joiner = if self.peek_kw("AND") {
            "AND"
        } else if self.peek_kw("OR") {
            "OR"
        } else {
            return Ok(first);
        };
        let mut items = vec![first];
        while self.eat_kw(joiner) {
            items.push(self.unary()?);
        }
        if self.peek_kw("AND") || self.peek_kw("OR") {
            return Err(unexpected(self.peek()));
        }
        Ok(if joiner == "AND" {
            Cond::And(items)
        } else {
            Cond::Or(items)
        })
    }

    fn unary(&mut self) -> Result<Cond, SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(SyntaxError("the WHERE clause is nested too deeply".into()));
        }
        let c = if self.eat_kw("NOT") {
            Cond::Not(Box::new(self.unary()?))
        } else if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let c = self.cond()?;
            self.expect(Tok::RParen)?;
            c
        } else {
            self.comparison()?
        };
        self.depth -= 1;
        Ok(c)
    }

    fn comparison(&mut self) -> Result<Cond, SyntaxError> {
        let field = self.field()?;
        if let Some(Tok::Op(op)) = self.peek() {
            let op = *op;
            self.pos += 1;
            let value = self.literal()?;
            return Ok(Cond::Cmp { field, op, value });
        }
        if self.eat_kw("LIKE") {
            return match self.next() {
                Some(Tok::Str(_, raw)) => Ok(Cond::Like {
                    field,
                    pattern: like_pattern(&raw),
                }),
                other => Err(unexpected(other.as_ref())),
            };
        }
        let negated = self.eat_kw("NOT");
        if self.eat_kw("IN") {
            self.expect(Tok::LParen)?;
            if self.peek_kw("SELECT") {
                return Err(SyntaxError(
                    "semi-join subqueries are not supported by the sandbox".into(),
                ));
            }
            let mut values = vec![self.literal()?];
            while self.peek() == Some(&Tok::Comma) {
                self.pos += 1;
                values.push(self.literal()?);
            }
            self.expect(Tok::RParen)?;
            return Ok(Cond::In {
                field,
                negated,
                values,
            });
        }
        Err(unexpected(self.peek()))
    }

    fn literal(&mut self) -> Result<Lit, SyntaxError> {
        let t = self.next();
        Ok(match t {
            Some(Tok::Str(v, _)) => Lit::Str(v),
            Some(Tok::Num(n)) => Lit::Num(n),
            Some(Tok::Date(d)) => Lit::Date(d),
            Some(Tok::DateTime(d)) => Lit::DateTime(d),
            Some(Tok::Ident(ref s)) => match s.to_ascii_uppercase().as_str() {
                "NULL" => Lit::Null,
                "TRUE" => Lit::Bool(true),
                "FALSE" => Lit::Bool(false),
                "TODAY" => Lit::Rel(RelDate::Today),
                "YESTERDAY" => Lit::Rel(RelDate::Yesterday),
                "TOMORROW" => Lit::Rel(RelDate::Tomorrow),
                "LAST_N_DAYS" | "NEXT_N_DAYS" => {
                    self.expect(Tok::Colon)?;
                    let n = self.unsigned()?;
                    if n > MAX_N_DAYS {
                        return Err(SyntaxError(format!(
                            "N of {s} must be at most {MAX_N_DAYS}"
                        )));
                    }
                    let n = u32::try_from(n).map_err(|_| unexpected(t.as_ref()))?;
                    if s.eq_ignore_ascii_case("LAST_N_DAYS") {
                        Lit::Rel(RelDate::LastNDays(n))
                    } else {
                        Lit::Rel(RelDate::NextNDays(n))
                    }
                }
                _ => return Err(unexpected(t.as_ref())),
            },
            other => return Err(unexpected(other.as_ref())),
        })
    }
}

fn is_reserved(s: &str) -> bool {
    const RESERVED: &[&str] = &[
        "AND", "ASC", "BY", "DESC", "EXCLUDES", "FIRST", "FROM", "GROUP", "HAVING", "IN",
        "INCLUDES", "LAST", "LIKE", "LIMIT", "NOT", "NULL", "NULLS", "OFFSET", "OR", "ORDER",
        "SELECT", "WHERE", "WITH", "TRUE", "FALSE", "USING", "FOR",
    ];
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s))
}

/// `%` and `_` are wildcards unless escaped as `\%` and `\_`.
fn like_pattern(raw: &str) -> Vec<LikeTok> {
    let mut out = Vec::new();
    let mut it = raw.chars();
    while let Some(c) = it.next() {
        match c {
            '%' => out.push(LikeTok::Many),
            '_' => out.push(LikeTok::One),
            '\\' => {
                let e = it.next().unwrap_or('\\');
                out.push(LikeTok::Char(match e {
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    other => other,
                }));
            }
            c => out.push(LikeTok::Char(c)),
        }
    }
    out
}

/// Whether `text` matches a LIKE pattern, case-insensitively (as Salesforce's LIKE does).
pub fn like_matches(pattern: &[LikeTok], text: &str) -> bool {
    let t: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    let p: Vec<LikeTok> = pattern
        .iter()
        .map(|tok| match tok {
            LikeTok::Char(c) => LikeTok::Char(c.to_lowercase().next().unwrap_or(*c)),
            other => other.clone(),
        })
        .collect();
    // Classic wildcard matching with backtracking to the last `%`.
    let (mut ti, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(LikeTok::Many) => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(LikeTok::One) => {
                pi += 1;
                ti += 1;
            }
            Some(LikeTok::Char(c)) if t.get(ti) == Some(c) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi.min(p.len())..].iter().all(|tok| *tok == LikeTok::Many)
}

pub fn parse(src: &str) -> Result<Query, SyntaxError> {
    if src.chars().count() > MAX_QUERY_CHARS {
        return Err(SyntaxError(format!(
            "SOQL statements cannot be longer than {MAX_QUERY_CHARS} characters"
        )));
    }
    let toks = lex(src)?;
    Parser {
        toks,
        pos: 0,
        depth: 0,
    }
    .query()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(field: &str, op: Op, value: Lit) -> Cond {
        Cond::Cmp {
            field: field.into(),
            op,
            value,
        }
    }

    #[test]
    fn parses_the_connectors_keyset_query() {
        let q = parse(
            "SELECT Id, CreatedDate, LastModifiedDate, Email, Phone FROM Contact \
             WHERE (Email != null AND Id > '0035g0000000001AAA') ORDER BY Id ASC",
        )
        .unwrap();
        assert_eq!(
            q.select,
            Select::Fields(
                vec!["Id", "CreatedDate", "LastModifiedDate", "Email", "Phone"]
                    .into_iter()
                    .map(String::from)
                    .collect()
            )
        );
        assert_eq!(q.from, "Contact");
        assert_eq!(
            q.cond,
            Some(Cond::And(vec![
                cmp("Email", Op::Ne, Lit::Null),
                cmp("Id", Op::Gt, Lit::Str("0035g0000000001AAA".into())),
            ]))
        );
        assert_eq!(
            q.order,
            vec![OrderItem {
                field: "Id".into(),
                desc: false,
                nulls_last: false
            }]
        );
        assert_eq!(q.limit, None);
    }

    #[test]
    fn keywords_are_case_insensitive_and_all_clauses_parse() {
        let q = parse(
            "select count() from Lead where not (Status = 'Open' or IsConverted = true) \
             and Amount >= -1.5 and Email not in ('a@x.com', 'b@x.com') and Name like 'Ac\\_me%' \
             order by Name desc nulls last, Id limit 10 offset 5",
        )
        .unwrap();
        assert_eq!(q.select, Select::Count);
        let Some(Cond::And(items)) = q.cond else {
            panic!("{:?}", q.cond)
        };
        assert_eq!(items.len(), 4);
        assert!(
            matches!(&items[0], Cond::Not(inner) if matches!(**inner, Cond::Or(ref v) if v.len() == 2))
        );
        assert_eq!(items[1], cmp("Amount", Op::Ge, Lit::Num(-1.5)));
        assert!(matches!(&items[2], Cond::In { negated: true, values, .. } if values.len() == 2));
        assert_eq!(
            items[3],
            Cond::Like {
                field: "Name".into(),
                pattern: vec![
                    LikeTok::Char('A'),
                    LikeTok::Char('c'),
                    LikeTok::Char('_'),
                    LikeTok::Char('m'),
                    LikeTok::Char('e'),
                    LikeTok::Many
                ]
            }
        );
        assert_eq!(q.order.len(), 2);
        assert!(q.order[0].desc && q.order[0].nulls_last);
        assert_eq!((q.limit, q.offset), (Some(10), Some(5)));
    }

    #[test]
    fn literals() {
        let q = parse(
            "SELECT Id FROM Contact WHERE CreatedDate > 2026-01-02T03:04:05Z AND CloseDate = 2026-03-01 \
             AND LastModifiedDate < 2026-01-01T00:00:00.000+0100 AND Name = 'O\\'Brien \\\\ x' \
             AND CreatedDate = LAST_N_DAYS:30 AND IsDeleted = FALSE AND CreatedDate <> TODAY",
        )
        .unwrap();
        let Some(Cond::And(items)) = q.cond else {
            panic!()
        };
        assert_eq!(
            items[0],
            cmp(
                "CreatedDate",
                Op::Gt,
                Lit::DateTime("2026-01-02T03:04:05Z".parse().unwrap())
            )
        );
        assert_eq!(
            items[1],
            cmp(
                "CloseDate",
                Op::Eq,
                Lit::Date(NaiveDate::from_ymd_opt(2026, 3, 1).unwrap())
            )
        );
        assert_eq!(
            items[2],
            cmp(
                "LastModifiedDate",
                Op::Lt,
                Lit::DateTime("2025-12-31T23:00:00Z".parse().unwrap())
            )
        );
        assert_eq!(
            items[3],
            cmp("Name", Op::Eq, Lit::Str("O'Brien \\ x".into()))
        );
        assert_eq!(
            items[4],
            cmp("CreatedDate", Op::Eq, Lit::Rel(RelDate::LastNDays(30)))
        );
        assert_eq!(items[5], cmp("IsDeleted", Op::Eq, Lit::Bool(false)));
        assert_eq!(
            items[6],
            cmp("CreatedDate", Op::Ne, Lit::Rel(RelDate::Today))
        );
    }

    #[test]
    fn malformed_queries_are_rejected() {
        for bad in [
            "",
            "SELECT FROM Contact",
            "SELECT Id Contact",
            "SELECT Id, FROM Contact",
            "SELECT Id FROM Contact WHERE",
            "SELECT Id FROM Contact WHERE Email = 'x' AND Phone = 'y' OR Name = 'z'",
            "SELECT Id FROM Contact WHERE (Email = 'x'",
            "SELECT Id FROM Contact WHERE Email = 'unterminated",
            "SELECT Id FROM Contact WHERE Email = 'bad \\q escape'",
            "SELECT Id FROM Contact LIMIT -1",
            "SELECT Id FROM Contact LIMIT 10 ORDER BY Id",
            "SELECT Id, Id FROM Contact",
            "SELECT COUNT(Id) FROM Contact",
            "SELECT Id FROM Contact WHERE Email = :bind",
            "SELECT Id FROM Contact GROUP BY Id",
            "SELECT Id FROM Contact WHERE Id IN (SELECT ContactId FROM Foo)",
            "SELECT Id FROM Contact WHERE CreatedDate > 2026-13-01T00:00:00Z",
            "SELECT Id FROM Contact extra",
            "SELECT Id FROM Contact WHERE CreatedDate = LAST_N_DAYS:4000000000",
        ] {
            assert!(parse(bad).is_err(), "accepted: {bad}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!(
            "SELECT Id FROM Contact WHERE {}Email = 'x'{}",
            "(".repeat(10_000),
            ")".repeat(10_000)
        );
        assert!(parse(&deep).is_err());
        let nots = format!(
            "SELECT Id FROM Contact WHERE {}Email = 'x'",
            "NOT ".repeat(10_000)
        );
        assert!(parse(&nots).is_err());
        let fine = format!(
            "SELECT Id FROM Contact WHERE {}Email = 'x'{}",
            "(".repeat(20),
            ")".repeat(20)
        );
        assert!(parse(&fine).is_ok());
    }

    #[test]
    fn like_matching() {
        let p = |s: &str| like_pattern(s);
        assert!(like_matches(&p("ac%"), "ACME Corp"));
        assert!(like_matches(&p("%corp"), "Acme CORP"));
        assert!(like_matches(&p("a_me"), "acme"));
        assert!(!like_matches(&p("a_me"), "acmee"));
        assert!(like_matches(&p("%"), ""));
        assert!(like_matches(&p("100\\%"), "100%"));
        assert!(!like_matches(&p("100\\%"), "1000"));
        assert!(like_matches(&p("%a%b%"), "xxaxxbxx"));
        assert!(!like_matches(&p("%a%b%"), "xxbxxaxx"));
    }
}
