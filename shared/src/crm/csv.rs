//! A CSV file as a CRM: records come from an input file, and every change is written to an
//! output file (the whole resulting table, replaced atomically), so any module can run
//! offline on an export without touching a real CRM.

use async_trait::async_trait;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::{
    ApiUsage, Clause, Crm, CrmError, CrmKind, CrmResult, CrmUser, Field, FieldType, Filter,
    Identity, LeadConvert, LeadConvertOutcome, MergeGroup, MergeOutcome, ObjectSchema, Op, Outcome,
    Properties, Record, ScanPage, ScanRequest, Update,
};

/// Column names taken as the record id, in order of preference.
const ID_COLUMNS: &[&str] = &["id", "Id", "ID", "hs_object_id", "record_id", "Record ID"];
const PAGE: usize = 1000;

struct Table {
    columns: Vec<String>,
    /// Records in file order; ids unique.
    rows: Vec<Record>,
    index: HashMap<String, usize>,
    next_id: u64,
}

pub struct CsvCrm {
    object: String,
    id_column: String,
    output: PathBuf,
    table: Mutex<Table>,
    calls: AtomicU64,
}

/// A column's type as its values show it: a number when every value is a plain decimal
/// (`12000`, `-3.5`, `12000.00`), so that `12000` and `12000.00` are one value to the
/// modules, as they are to a CRM's number field; text otherwise. Leading zeros, a `+`,
/// exponents and thousands separators keep a column text: postcodes, phone numbers and
/// ids that look numeric must never compare as numbers.
fn column_type(rows: &[Record], column: &str) -> FieldType {
    let plain_decimal = |v: &str| {
        let digits = v.strip_prefix('-').unwrap_or(v);
        let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
        !int.is_empty()
            && !frac.is_empty()
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.bytes().all(|b| b.is_ascii_digit())
            && (int == "0" || !int.starts_with('0'))
    };
    let mut any = false;
    for v in rows
        .iter()
        .filter_map(|r| r.properties.get(column).and_then(|v| v.as_deref()))
        .filter(|v| !v.is_empty())
    {
        if !plain_decimal(v) {
            return FieldType::Text;
        }
        any = true;
    }
    if any {
        FieldType::Number
    } else {
        FieldType::Text
    }
}

/// A problem with the file itself: said as such, never as the CRM's refusal.
fn rejected(path: &Path, line: u64, what: impl std::fmt::Display) -> CrmError {
    CrmError::File(format!("{} line {line}: {what}", path.display()))
}

/// The delimiters `sniff_delimiter` recognizes.
pub const DELIMITERS: [u8; 3] = [b',', b';', b'\t'];

/// The delimiter of a CSV file, from its header line: whichever of `,` `;` and tab occurs
/// most outside quotes (a comma when none does, or on a tie with it).
pub fn sniff_delimiter(input: &Path) -> CrmResult<u8> {
    use std::io::{BufRead, Read};
    let file = std::fs::File::open(input)
        .map_err(|e| CrmError::File(format!("{}: {e}", input.display())))?;
    let mut line = Vec::new();
    std::io::BufReader::new(file)
        .take(1 << 20)
        .read_until(b'\n', &mut line)
        .map_err(|e| CrmError::File(format!("{}: {e}", input.display())))?;
    Ok(delimiter_of(&line))
}

fn delimiter_of(header: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in header {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(i) = DELIMITERS.iter().position(|d| *d == b) {
            counts[i] += 1;
        }
    }
    let mut best = 0;
    for i in 1..DELIMITERS.len() {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    DELIMITERS[best]
}

/// Opens a CSV file for reading: checks its header (names present and unique; spaces
/// around a name are dropped) and finds the id column (`id_column`, or the first of
/// `ID_COLUMNS` present; None numbers rows). `delimiter` None: sniffed from the header.
fn open_reader(
    input: &Path,
    id_column: Option<&str>,
    delimiter: Option<u8>,
) -> CrmResult<(::csv::Reader<std::fs::File>, Vec<String>, Option<usize>)> {
    let delimiter = match delimiter {
        Some(d) => d,
        None => sniff_delimiter(input)?,
    };
    let mut reader = ::csv::ReaderBuilder::new()
        .flexible(false)
        .delimiter(delimiter)
        .from_path(input)
        .map_err(|e| CrmError::File(format!("{}: {e}", input.display())))?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| rejected(input, 1, e))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
        .collect();
    if headers.iter().any(String::is_empty) {
        return Err(rejected(input, 1, "a column has no name"));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = headers.iter().find(|h| !seen.insert(h.as_str())) {
        return Err(rejected(input, 1, format!("column `{dup}` appears twice")));
    }
    let id_col = match id_column {
        Some(name) => Some(
            headers
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| rejected(input, 1, format!("there is no id column `{name}`")))?,
        ),
        None => ID_COLUMNS
            .iter()
            .find_map(|c| headers.iter().position(|h| h == c)),
    };
    Ok((reader, headers, id_col))
}

/// A CSV file read a record at a time, or a chunk of rows at a time, in constant memory
/// whatever its size: what `steward run` streams through the record-by-record modules.
/// Records carry only the columns asked for; the raw row is kept for writing the result.
/// Chunks (`next_chunk`) are made records on other threads (`RowShape::fill`).
pub struct CsvStream {
    reader: ::csv::Reader<std::fs::File>,
    headers: Vec<String>,
    shape: RowShape,
    row: ::csv::StringRecord,
    raw: ::csv::ByteRecord,
    rows: u64,
}

/// How a row of one file becomes a record: its id column (or row numbers) and the
/// columns records carry. Shared by every thread that turns rows into records.
#[derive(Debug, Clone)]
pub struct RowShape {
    path: PathBuf,
    id_col: Option<usize>,
    /// (column index, name) of the properties records carry, by name.
    wanted: Vec<(usize, String)>,
}

impl RowShape {
    /// Row `number` (the first row after the header is 1) as a record.
    pub fn record(&self, row: &[&str], number: u64) -> CrmResult<Record> {
        let mut record = Record::default();
        self.fill(&mut record, row, number)?;
        Ok(record)
    }

    /// `record` made row `number`, reusing its strings: a thread turning many rows into
    /// records allocates little once its record has held a row.
    pub fn fill(&self, record: &mut Record, row: &[&str], number: u64) -> CrmResult<()> {
        record.id.clear();
        match self.id_col {
            Some(i) => record
                .id
                .push_str(row.get(i).copied().unwrap_or_default().trim()),
            None => {
                use std::fmt::Write;
                let _ = write!(record.id, "{number}");
            }
        }
        if record.id.is_empty() {
            return Err(self.rejected(number, "the id cell is empty"));
        }
        // `wanted` is in the map's (name) order: the values are filled walking both.
        let same_keys = record.properties.len() == self.wanted.len()
            && record
                .properties
                .keys()
                .zip(&self.wanted)
                .all(|(k, (_, name))| k == name);
        if !same_keys {
            record.properties = self
                .wanted
                .iter()
                .map(|(_, name)| (name.clone(), None))
                .collect();
        }
        for (slot, (i, _)) in record.properties.values_mut().zip(&self.wanted) {
            let v = row.get(*i).copied().unwrap_or_default();
            match (slot.as_mut(), v.is_empty()) {
                (_, true) => *slot = None,
                (Some(old), false) => {
                    old.clear();
                    old.push_str(v);
                }
                (None, false) => *slot = Some(v.to_string()),
            }
        }
        record.created_at = None;
        record.updated_at = None;
        Ok(())
    }

    /// An error about row `number`, naming its line (the header is line 1).
    pub fn rejected(&self, number: u64, what: impl std::fmt::Display) -> CrmError {
        rejected(&self.path, number + 1, what)
    }
}

/// Consecutive rows of a file, read on one thread and made records on another: the
/// fields' bytes in one buffer, so a chunk costs a few allocations, not one per cell.
/// Cells are checked as text on the thread that takes the chunk (`into_text`).
#[derive(Debug)]
pub struct RowChunk {
    /// The number of its first row (`RowShape::record`'s numbering).
    first: u64,
    width: usize,
    rows: usize,
    data: Vec<u8>,
    /// Where each field ends in `data`, `width` per row.
    ends: Vec<usize>,
}

/// A chunk whose cells are all text.
#[derive(Debug)]
pub struct TextChunk {
    first: u64,
    width: usize,
    rows: usize,
    text: String,
    ends: Vec<usize>,
}

impl RowChunk {
    /// The rows as text, checked once for the whole chunk; an error names the first cell
    /// that is not UTF-8 (its row's line and its column).
    pub fn into_text(self, shape: &RowShape) -> CrmResult<TextChunk> {
        let RowChunk {
            first,
            width,
            rows,
            data,
            ends,
        } = self;
        let bad_cell = |data: &[u8], ends: &[usize]| {
            let mut start = 0;
            for (k, &end) in ends.iter().enumerate() {
                if let Err(e) = std::str::from_utf8(&data[start..end]) {
                    let (row, column) = (k / width.max(1), k % width.max(1) + 1);
                    return shape.rejected(
                        first + row as u64,
                        format!("column {column} is not valid UTF-8 ({e})"),
                    );
                }
                start = end;
            }
            shape.rejected(first, "a cell is not valid UTF-8")
        };
        let text = match String::from_utf8(data) {
            Ok(text) => text,
            Err(e) => return Err(bad_cell(e.as_bytes(), &ends)),
        };
        // Valid as a whole, yet a cell might end inside a character the next one finishes.
        if !ends.iter().all(|&end| text.is_char_boundary(end)) {
            return Err(bad_cell(text.as_bytes(), &ends));
        }
        Ok(TextChunk {
            first,
            width,
            rows,
            text,
            ends,
        })
    }
}

impl TextChunk {
    /// The number of its first row (`RowShape::record`'s numbering).
    pub fn first(&self) -> u64 {
        self.first
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Row `i`'s cells, into `cells` (cleared first).
    pub fn cells<'a>(&'a self, i: usize, cells: &mut Vec<&'a str>) {
        cells.clear();
        let ends = &self.ends[i * self.width..(i + 1) * self.width];
        let mut start = match i * self.width {
            0 => 0,
            at => self.ends[at - 1],
        };
        for &end in ends {
            // Every end is a character boundary (checked by `into_text`).
            cells.push(self.text.get(start..end).unwrap_or_default());
            start = end;
        }
    }
}

impl CsvStream {
    /// Opens `input`; records will carry the columns named in `properties` that exist.
    /// `delimiter` None: sniffed from the header line.
    pub fn open(
        input: &Path,
        id_column: Option<&str>,
        delimiter: Option<u8>,
        properties: &[String],
    ) -> CrmResult<Self> {
        let (reader, headers, id_col) = open_reader(input, id_column, delimiter)?;
        let mut wanted: Vec<(usize, String)> = properties
            .iter()
            .filter_map(|p| {
                headers
                    .iter()
                    .position(|h| h == p)
                    .filter(|i| Some(*i) != id_col)
                    .map(|i| (i, p.clone()))
            })
            .collect();
        // In the order of a record's properties (by name), once each.
        wanted.sort_by(|a, b| a.1.cmp(&b.1));
        wanted.dedup_by(|a, b| a.1 == b.1);
        Ok(CsvStream {
            reader,
            headers,
            shape: RowShape {
                path: input.to_path_buf(),
                id_col,
                wanted,
            },
            row: ::csv::StringRecord::new(),
            raw: ::csv::ByteRecord::new(),
            rows: 0,
        })
    }

    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    pub fn id_column(&self) -> Option<usize> {
        self.shape.id_col
    }

    /// How this file's rows become records.
    pub fn shape(&self) -> &RowShape {
        &self.shape
    }

    /// The next record and its raw row, or None at the end.
    pub fn next_record(&mut self) -> CrmResult<Option<(Record, &::csv::StringRecord)>> {
        let more = self
            .reader
            .read_record(&mut self.row)
            .map_err(|e| self.shape.rejected(self.rows + 1, e))?;
        if !more {
            return Ok(None);
        }
        self.rows += 1;
        let cells: Vec<&str> = self.row.iter().collect();
        let record = self.shape.record(&cells, self.rows)?;
        Ok(Some((record, &self.row)))
    }

    /// The next rows, about `bytes` of them (at least one row), or None at the end. Only
    /// the CSV syntax is checked here; cells are checked as text by `RowChunk::into_text`.
    pub fn next_chunk(&mut self, bytes: usize) -> CrmResult<Option<RowChunk>> {
        let width = self.headers.len();
        let mut chunk = RowChunk {
            first: self.rows + 1,
            width,
            rows: 0,
            data: Vec::with_capacity(bytes + bytes / 8),
            ends: Vec::new(),
        };
        while chunk.data.len() < bytes {
            let more = self
                .reader
                .read_byte_record(&mut self.raw)
                .map_err(|e| self.shape.rejected(self.rows + 1, e))?;
            if !more {
                break;
            }
            self.rows += 1;
            chunk.rows += 1;
            for cell in &self.raw {
                chunk.data.extend_from_slice(cell);
                chunk.ends.push(chunk.data.len());
            }
        }
        Ok((chunk.rows > 0).then_some(chunk))
    }
}

impl CsvCrm {
    /// Reads `input`; changes go to `output` (which may be the same path). Records without
    /// an id column are numbered by row (`1`, `2`, ...).
    pub fn open(input: &Path, output: &Path, object: &str) -> CrmResult<Self> {
        Self::open_with(input, output, object, None, None)
    }

    /// As `open`, with the id column named (else the first of `ID_COLUMNS` present) and
    /// the delimiter given (else sniffed from the header line).
    pub fn open_with(
        input: &Path,
        output: &Path,
        object: &str,
        id_column: Option<&str>,
        delimiter: Option<u8>,
    ) -> CrmResult<Self> {
        let (mut reader, headers, id_col) = open_reader(input, id_column, delimiter)?;
        let id_column = id_col.map_or("id".to_string(), |i| headers[i].clone());
        let mut table = Table {
            columns: headers
                .iter()
                .filter(|h| Some(*h) != id_col.map(|i| &headers[i]))
                .cloned()
                .collect(),
            rows: Vec::new(),
            index: HashMap::new(),
            next_id: 1,
        };
        for (n, row) in reader.records().enumerate() {
            let line = n as u64 + 2;
            let row = row.map_err(|e| rejected(input, line, e))?;
            let id = match id_col {
                Some(i) => row.get(i).unwrap_or_default().trim().to_string(),
                None => (n + 1).to_string(),
            };
            if id.is_empty() {
                return Err(rejected(
                    input,
                    line,
                    format!("the `{id_column}` cell is empty"),
                ));
            }
            if table.index.contains_key(&id) {
                return Err(rejected(input, line, format!("id `{id}` appears twice")));
            }
            let properties = headers
                .iter()
                .zip(row.iter())
                .enumerate()
                .filter(|(i, _)| Some(*i) != id_col)
                .map(|(_, (h, v))| (h.clone(), Some(v.to_string()).filter(|v| !v.is_empty())))
                .collect();
            if let Ok(num) = id.parse::<u64>() {
                table.next_id = table.next_id.max(num + 1);
            }
            table.index.insert(id.clone(), table.rows.len());
            table.rows.push(Record {
                id,
                properties,
                created_at: None,
                updated_at: None,
            });
        }
        Ok(Self {
            object: object.to_string(),
            id_column,
            output: output.to_path_buf(),
            table: Mutex::new(table),
            calls: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check_object(&self, object: &str) -> CrmResult<()> {
        if object == self.object {
            Ok(())
        } else {
            Err(CrmError::NotFound(format!(
                "object `{object}` (this file holds `{}`)",
                self.object
            )))
        }
    }

    /// Writes the whole table to the output file: temp file, then rename.
    fn save(&self, t: &Table) -> CrmResult<()> {
        let io =
            |e: std::io::Error| CrmError::File(format!("writing {}: {e}", self.output.display()));
        let tmp = self.output.with_extension("csv.tmp");
        {
            let mut w = ::csv::Writer::from_path(&tmp)
                .map_err(|e| CrmError::File(format!("writing {}: {e}", self.output.display())))?;
            let mut header = vec![self.id_column.clone()];
            header.extend(t.columns.iter().cloned());
            w.write_record(&header)
                .map_err(|e| CrmError::File(format!("writing {}: {e}", self.output.display())))?;
            for r in &t.rows {
                let mut row = vec![r.id.clone()];
                row.extend(
                    t.columns
                        .iter()
                        .map(|c| r.properties.get(c).cloned().flatten().unwrap_or_default()),
                );
                w.write_record(&row).map_err(|e| {
                    CrmError::File(format!("writing {}: {e}", self.output.display()))
                })?;
            }
            w.flush().map_err(io)?;
        }
        std::fs::rename(&tmp, &self.output).map_err(io)
    }

    fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
}

fn compare(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
        _ => a.to_lowercase().cmp(&b.to_lowercase()),
    }
}

fn clause_matches(r: &Record, c: &Clause) -> bool {
    let value = if c.property == "id" || c.property == "hs_object_id" || c.property == "Id" {
        Some(r.id.as_str())
    } else {
        r.properties.get(&c.property).and_then(|v| v.as_deref())
    };
    let first = c.values.first().map(String::as_str).unwrap_or_default();
    match (c.op, value) {
        (Op::HasProperty, v) => v.is_some(),
        (Op::NotHasProperty, v) => v.is_none(),
        (Op::Neq, None) => true,
        (Op::NotIn, None) => true,
        (_, None) => false,
        (Op::Eq, Some(v)) => compare(v, first).is_eq(),
        (Op::Neq, Some(v)) => !compare(v, first).is_eq(),
        (Op::Lt, Some(v)) => compare(v, first).is_lt(),
        (Op::Lte, Some(v)) => compare(v, first).is_le(),
        (Op::Gt, Some(v)) => compare(v, first).is_gt(),
        (Op::Gte, Some(v)) => compare(v, first).is_ge(),
        (Op::In, Some(v)) => c.values.iter().any(|x| compare(v, x).is_eq()),
        (Op::NotIn, Some(v)) => !c.values.iter().any(|x| compare(v, x).is_eq()),
    }
}

fn filter_matches(r: &Record, f: &Filter) -> bool {
    f.any_of.is_empty()
        || f.any_of
            .iter()
            .any(|g| g.iter().all(|c| clause_matches(r, c)))
}

fn project(r: &Record, properties: &[String]) -> Record {
    if properties.is_empty() {
        return r.clone();
    }
    Record {
        properties: properties
            .iter()
            .map(|p| (p.clone(), r.properties.get(p).cloned().flatten()))
            .collect(),
        ..r.clone()
    }
}

#[async_trait]
impl Crm for CsvCrm {
    fn kind(&self) -> CrmKind {
        CrmKind::Csv
    }

    fn objects(&self) -> &'static [&'static str] {
        &[]
    }

    async fn identity(&self) -> CrmResult<Identity> {
        Ok(Identity {
            crm: CrmKind::Csv,
            org_id: format!("csv:{}", self.output.display()),
            user_id: "local".into(),
            email: "local@steward.local".into(),
            name: None,
            active: true,
        })
    }

    async fn list_users(&self) -> CrmResult<Vec<CrmUser>> {
        Ok(Vec::new())
    }

    async fn describe(&self, object: &str) -> CrmResult<ObjectSchema> {
        self.check_object(object)?;
        self.count();
        let t = self.lock();
        let mut fields = vec![Field {
            name: self.id_column.clone(),
            label: self.id_column.clone(),
            field_type: FieldType::Id,
            writable: false,
            options: Vec::new(),
            unique: true,
        }];
        fields.extend(t.columns.iter().map(|c| Field {
            name: c.clone(),
            label: c.clone(),
            field_type: column_type(&t.rows, c),
            writable: true,
            options: Vec::new(),
            unique: false,
        }));
        Ok(ObjectSchema {
            object: object.to_string(),
            fields,
        })
    }

    async fn scan_page(&self, request: &ScanRequest, cursor: Option<&str>) -> CrmResult<ScanPage> {
        self.check_object(&request.object)?;
        self.count();
        let start: usize = match cursor {
            Some(c) => c
                .parse()
                .map_err(|_| CrmError::Rejected(format!("bad cursor `{c}`")))?,
            None => 0,
        };
        let t = self.lock();
        let mut records = Vec::new();
        let mut i = start;
        while i < t.rows.len() && records.len() < PAGE {
            let r = &t.rows[i];
            if request.filter.as_ref().is_none_or(|f| filter_matches(r, f)) {
                records.push(project(r, &request.properties));
            }
            i += 1;
        }
        Ok(ScanPage {
            records,
            cursor: (i < t.rows.len()).then(|| i.to_string()),
        })
    }

    async fn batch_read(
        &self,
        object: &str,
        ids: &[String],
        properties: &[String],
    ) -> CrmResult<Vec<Record>> {
        self.check_object(object)?;
        self.count();
        let t = self.lock();
        Ok(ids
            .iter()
            .filter_map(|id| t.index.get(id).map(|&i| project(&t.rows[i], properties)))
            .collect())
    }

    async fn batch_create(&self, object: &str, records: &[Properties]) -> CrmResult<Vec<Outcome>> {
        self.check_object(object)?;
        self.count();
        let mut t = self.lock();
        let mut out = Vec::with_capacity(records.len());
        for props in records {
            for k in props.keys() {
                if !t.columns.contains(k) {
                    t.columns.push(k.clone());
                }
            }
            let id = t.next_id.to_string();
            t.next_id += 1;
            let at = t.rows.len();
            t.index.insert(id.clone(), at);
            t.rows.push(Record {
                id: id.clone(),
                properties: props.clone(),
                created_at: Some(chrono::Utc::now()),
                updated_at: None,
            });
            out.push(Outcome::ok(id));
        }
        self.save(&t)?;
        Ok(out)
    }

    async fn batch_update(&self, object: &str, updates: &[Update]) -> CrmResult<Vec<Outcome>> {
        self.check_object(object)?;
        self.count();
        let mut t = self.lock();
        let mut out = Vec::with_capacity(updates.len());
        for u in updates {
            let Some(&i) = t.index.get(&u.id) else {
                out.push(Outcome::failed(
                    Some(u.id.clone()),
                    "NOT_FOUND",
                    "no record with this id",
                ));
                continue;
            };
            if let Some(bad) = u.properties.keys().find(|k| **k == self.id_column) {
                out.push(Outcome::failed(
                    Some(u.id.clone()),
                    "READ_ONLY",
                    format!("`{bad}` cannot be changed"),
                ));
                continue;
            }
            for k in u.properties.keys() {
                if !t.columns.contains(k) {
                    t.columns.push(k.clone());
                }
            }
            let row = &mut t.rows[i];
            row.properties.extend(u.properties.clone());
            row.updated_at = Some(chrono::Utc::now());
            out.push(Outcome::ok(u.id.clone()));
        }
        self.save(&t)?;
        Ok(out)
    }

    async fn batch_archive(&self, object: &str, ids: &[String]) -> CrmResult<Vec<Outcome>> {
        self.check_object(object)?;
        self.count();
        let mut t = self.lock();
        let doomed: std::collections::HashSet<&String> = ids.iter().collect();
        let out = ids
            .iter()
            .map(|id| match t.index.contains_key(id) {
                true => Outcome::ok(id.clone()),
                false => Outcome::failed(Some(id.clone()), "NOT_FOUND", "no record with this id"),
            })
            .collect();
        t.rows.retain(|r| !doomed.contains(&r.id));
        t.index = t
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.clone(), i))
            .collect();
        self.save(&t)?;
        Ok(out)
    }

    /// The primary keeps its values; its empty fields take the duplicates' values in order;
    /// the duplicates are removed.
    async fn merge(&self, object: &str, groups: &[MergeGroup]) -> CrmResult<Vec<MergeOutcome>> {
        self.check_object(object)?;
        self.count();
        let mut t = self.lock();
        let mut out = Vec::new();
        for g in groups {
            let missing: Vec<&String> = std::iter::once(&g.primary_id)
                .chain(&g.duplicate_ids)
                .filter(|id| !t.index.contains_key(*id))
                .collect();
            if !missing.is_empty() || g.duplicate_ids.contains(&g.primary_id) {
                out.push(MergeOutcome {
                    primary_id: g.primary_id.clone(),
                    surviving_id: None,
                    merged_ids: Vec::new(),
                    error: Some(super::RecordError {
                        code: "INVALID_GROUP".into(),
                        message: format!("unknown or repeated ids: {missing:?}"),
                    }),
                });
                continue;
            }
            let dups: Vec<Record> = g
                .duplicate_ids
                .iter()
                .map(|id| t.rows[t.index[id]].clone())
                .collect();
            let pi = t.index[&g.primary_id];
            for d in &dups {
                for (k, v) in &d.properties {
                    let slot = t.rows[pi].properties.entry(k.clone()).or_insert(None);
                    if slot.is_none() {
                        *slot = v.clone();
                    }
                }
            }
            let doomed: std::collections::HashSet<&String> = g.duplicate_ids.iter().collect();
            t.rows.retain(|r| !doomed.contains(&r.id));
            t.index = t
                .rows
                .iter()
                .enumerate()
                .map(|(i, r)| (r.id.clone(), i))
                .collect();
            out.push(MergeOutcome {
                primary_id: g.primary_id.clone(),
                surviving_id: Some(g.primary_id.clone()),
                merged_ids: g.duplicate_ids.clone(),
                error: None,
            });
        }
        self.save(&t)?;
        Ok(out)
    }

    async fn convert_leads(&self, _converts: &[LeadConvert]) -> CrmResult<Vec<LeadConvertOutcome>> {
        Err(CrmError::Unsupported(
            "lead conversion needs Salesforce".into(),
        ))
    }

    fn api_usage(&self) -> ApiUsage {
        ApiUsage {
            calls: self.calls.load(Ordering::Relaxed),
            used_today: None,
            daily_limit: None,
            burst_limit: 0,
            burst_window: Duration::ZERO,
            retries: 0,
            throttled: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::scan_all;

    fn file(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join("in.csv");
        std::fs::write(&p, text).unwrap();
        p
    }

    fn scan(object: &str, filter: Option<Filter>) -> ScanRequest {
        ScanRequest {
            object: object.into(),
            properties: Vec::new(),
            filter,
        }
    }

    #[tokio::test]
    async fn a_file_is_scanned_filtered_changed_and_written_out() {
        let dir = tempfile::tempdir().unwrap();
        let input = file(
            dir.path(),
            "id,name,email,amount\n1,JOHN smith,j@x.co,10\n2,Ann,,250\n3,Bob,b@x.co,30\n",
        );
        let output = dir.path().join("out.csv");
        let crm = CsvCrm::open(&input, &output, "contacts").unwrap();
        let all = scan_all(&crm, &scan("contacts", None)).await.unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[1].properties["email"], None);
        let big = scan_all(
            &crm,
            &scan(
                "contacts",
                Some(Filter::all(vec![Clause::new("amount", Op::Gt, &["25"])])),
            ),
        )
        .await
        .unwrap();
        assert_eq!(
            big.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["2", "3"]
        );
        let missing_email = scan_all(
            &crm,
            &scan(
                "contacts",
                Some(Filter::all(vec![Clause::new(
                    "email",
                    Op::NotHasProperty,
                    &[],
                )])),
            ),
        )
        .await
        .unwrap();
        assert_eq!(missing_email.len(), 1);

        let out = crm
            .batch_update(
                "contacts",
                &[
                    Update {
                        id: "1".into(),
                        properties: [("name".to_string(), Some("John Smith".to_string()))].into(),
                    },
                    Update {
                        id: "9".into(),
                        properties: Properties::new(),
                    },
                ],
            )
            .await
            .unwrap();
        assert!(out[0].error.is_none());
        assert_eq!(out[1].error.as_ref().unwrap().code, "NOT_FOUND");
        let merged = crm
            .merge(
                "contacts",
                &[MergeGroup {
                    primary_id: "2".into(),
                    duplicate_ids: vec!["3".into()],
                }],
            )
            .await
            .unwrap();
        assert_eq!(merged[0].surviving_id.as_deref(), Some("2"));
        let written = std::fs::read_to_string(&output).unwrap();
        assert_eq!(
            written,
            "id,name,email,amount\n1,John Smith,j@x.co,10\n2,Ann,b@x.co,250\n"
        );
        assert_eq!(
            std::fs::read_to_string(&input).unwrap().lines().count(),
            4,
            "input untouched"
        );
    }

    #[tokio::test]
    async fn describe_types_plain_decimal_columns_as_numbers_and_the_rest_as_text() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("o.csv");
        let text = "id,amount,zip,phone,score,name,empty\n\
                    1,12000.00,02139,+14155550132,1e3,Ann,\n\
                    2,-3.5,94105,4155550199,2,Bo,\n\
                    3,,10001,,0.5,Cy,\n";
        let crm = CsvCrm::open(&file(dir.path(), text), &out, "c").unwrap();
        let schema = crm.describe("c").await.unwrap();
        let types: Vec<(&str, FieldType)> = schema
            .fields
            .iter()
            .map(|f| (f.name.as_str(), f.field_type.clone()))
            .collect();
        assert_eq!(
            types,
            [
                ("id", FieldType::Id),
                ("amount", FieldType::Number),
                ("zip", FieldType::Text),
                ("phone", FieldType::Text),
                ("score", FieldType::Text),
                ("name", FieldType::Text),
                ("empty", FieldType::Text),
            ]
        );
    }

    #[test]
    fn bad_files_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("o.csv");
        for (text, needle) in [
            ("id,a\n1,x\n1,y\n", "line 3: id `1` appears twice"),
            ("id,a\n1,x,extra\n", "line 2"),
            ("id,a,a\n1,x,y\n", "column `a` appears twice"),
            ("id,a\n,x\n", "line 2: the `id` cell is empty"),
        ] {
            let err = CsvCrm::open(&file(dir.path(), text), &out, "c")
                .err()
                .expect(text);
            assert!(err.to_string().contains(needle), "{err} lacks {needle}");
            assert!(!err.to_string().contains("CRM"), "a file is no CRM: {err}");
        }
    }

    #[tokio::test]
    async fn delimiters_are_sniffed_and_header_names_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("o.csv");
        for text in [
            "id; name ;city\n1;Ann, Jr;Lisbon\n",
            "id\t name \tcity\n1\tAnn, Jr\tLisbon\n",
            " id , name,city\n1,\"Ann, Jr\",Lisbon\n",
        ] {
            let crm = CsvCrm::open(&file(dir.path(), text), &out, "c").unwrap();
            let all = scan_all(&crm, &scan("c", None)).await.unwrap();
            assert_eq!(all.len(), 1, "{text:?}");
            assert_eq!(all[0].id, "1", "{text:?}");
            assert_eq!(
                all[0].properties.get("name"),
                Some(&Some("Ann, Jr".to_string())),
                "{text:?}"
            );
        }
        assert_eq!(
            delimiter_of(b"\"a;b\",c"),
            b',',
            "quoted delimiters do not count"
        );
        assert_eq!(delimiter_of(b"single"), b',');
    }

    #[tokio::test]
    async fn rows_without_ids_are_numbered_and_paged() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from("name\n");
        for i in 0..2500 {
            text.push_str(&format!("n{i}\n"));
        }
        let crm = CsvCrm::open(&file(dir.path(), &text), &dir.path().join("o.csv"), "c").unwrap();
        let first = crm.scan_page(&scan("c", None), None).await.unwrap();
        assert_eq!(first.records.len(), PAGE);
        assert_eq!(first.records[0].id, "1");
        let all = scan_all(&crm, &scan("c", None)).await.unwrap();
        assert_eq!(all.len(), 2500);
        assert!(matches!(
            crm.scan_page(&scan("other", None), None).await,
            Err(CrmError::NotFound(_))
        ));
    }
}
