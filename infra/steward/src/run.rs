//! `steward run`: a template over a CSV file, offline. Record-by-record modules (bulk,
//! transform, validate) stream the file in chunks planned on every core and written in
//! order, so memory stays flat whatever its size; merge
//! holds the columns its rules read and then streams the file again for the result; the
//! grid applies cell edits (`--edits`); a scored merge takes a person's decisions on the
//! review pairs of an earlier preview (`--decisions`). Writes `DIR/preview.csv` in the audit layout and,
//! with `--apply`, `DIR/result.csv` (the input with the plan applied). Files appear whole
//! or not at all: each is written beside its final name and renamed when complete.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use steward_shared::Error;
use steward_shared::crm::csv::{CsvCrm, CsvStream, RowChunk, RowShape};
use steward_shared::crm::{Crm, Outcome, Record};
use steward_shared::modules::csv::AuditWriter;
use steward_shared::modules::grid::CellEdit;
use steward_shared::modules::merge::{MergeConfig, MergeInput};
use steward_shared::modules::{Action, Change, Decisions, ModuleConfig, RecordEngine};
use steward_shared::templates::{self, TemplateInput};

#[derive(clap::Args)]
pub struct RunArgs {
    /// The template, exactly as the templates API stores it: {"module", "name", "config"}.
    #[arg(long)]
    template: PathBuf,
    /// The records, one per row, with a header row.
    #[arg(long)]
    csv: PathBuf,
    /// The column holding record ids (default: the first of id, Id, ID, hs_object_id,
    /// record_id, Record ID; without one, rows are numbered).
    #[arg(long)]
    id_column: Option<String>,
    /// Where preview.csv (and result.csv) are written; created if missing.
    #[arg(long)]
    out: PathBuf,
    /// Also write result.csv with the changes applied, and outcomes in preview.csv.
    #[arg(long)]
    apply: bool,
    /// Grid only: the cell edits, a JSON list of {"id", "field", "value"}.
    #[arg(long)]
    edits: Option<PathBuf>,
    /// Merge only: decisions on an earlier preview's review pairs, a CSV with the columns
    /// `record_id`, `other_id` and `decision` (`accept` or `reject`); accepted pairs are
    /// merged, rejected ones never are.
    #[arg(long)]
    decisions: Option<PathBuf>,
    /// The CSV's delimiter: `,`, `;`, `tab` or `|` (default: sniffed from the header
    /// line among `,`, `;` and tab).
    #[arg(long, value_parser = parse_delimiter)]
    delimiter: Option<u8>,
}

fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "," | "comma" => Ok(b','),
        ";" | "semicolon" => Ok(b';'),
        "tab" | "\t" | "\\t" => Ok(b'\t'),
        "|" | "pipe" => Ok(b'|'),
        other => Err(format!(
            "`{other}` is not a delimiter: use `,`, `;`, `tab` or `|`"
        )),
    }
}

/// The file's header must have at least one field the template reads: otherwise nothing
/// could match and the run would quietly change nothing.
fn check_header(args: &RunArgs, headers: &[String], reads: &[String]) -> Result<(), Failure> {
    if reads.is_empty() || reads.iter().any(|r| headers.contains(r)) {
        return Ok(());
    }
    let list = |names: &[String]| {
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(format!(
        "{}: the header has none of the fields {} reads: expected {}; found {}{}",
        args.csv.display(),
        args.template.display(),
        list(reads),
        list(headers),
        match (headers.len(), args.delimiter) {
            (1, None) => " (one column: is the delimiter `,`, `;` or tab? see --delimiter)",
            _ => "",
        }
    )
    .into())
}

/// What a run did, printed at the end.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub scanned: u64,
    pub updates: u64,
    pub archives: u64,
    pub flagged: u64,
    /// Merge, scored: pairs left for a person to accept or reject.
    pub reviews: u64,
    /// Merge: groups merged, and the records merged into their masters (Leads included).
    pub merges: u64,
    pub merged_away: u64,
}

impl Summary {
    fn add(&mut self, other: &Summary) {
        self.scanned += other.scanned;
        self.updates += other.updates;
        self.archives += other.archives;
        self.flagged += other.flagged;
        self.reviews += other.reviews;
        self.merges += other.merges;
        self.merged_away += other.merged_away;
    }
}

type Failure = Box<dyn std::error::Error>;

/// Every problem of an `Error::Invalid`, one per line, prefixed with the file.
fn explain(file: &Path, e: Error) -> Failure {
    match e {
        Error::Invalid { errors, .. } if !errors.is_empty() => errors
            .iter()
            .map(|fe| format!("{}: {}: {}", file.display(), fe.pointer, fe.detail))
            .collect::<Vec<_>>()
            .join("\n")
            .into(),
        e => format!("{}: {e}", file.display()).into(),
    }
}

fn read_template(path: &Path) -> Result<ModuleConfig, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the template {}: {e}", path.display()))?;
    let de = &mut serde_json::Deserializer::from_str(&text);
    let input: TemplateInput = serde_path_to_error::deserialize(de).map_err(|e| {
        let (pointer, msg) = steward_shared::http::serde_problem(e.path(), &e.inner().to_string());
        format!(
            "{}: {}: {msg}",
            path.display(),
            if pointer.is_empty() { "/" } else { &pointer }
        )
    })?;
    let (_, config) = templates::validate(&input).map_err(|e| explain(path, e))?;
    Ok(config)
}

/// A file written under a temporary name, renamed into place by `commit`.
struct Staged {
    tmp: PathBuf,
    dest: PathBuf,
}

impl Staged {
    fn create(dest: PathBuf) -> Result<(Self, BufWriter<File>), Failure> {
        let tmp = dest.with_extension("csv.partial");
        let f = File::create(&tmp).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        Ok((Staged { tmp, dest }, BufWriter::with_capacity(1 << 20, f)))
    }

    fn commit(self) -> Result<(), Failure> {
        std::fs::rename(&self.tmp, &self.dest)
            .map_err(|e| format!("cannot move {} into place: {e}", self.dest.display()).into())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        // After a failure the partial file goes; after commit there is nothing to remove.
        let _ = std::fs::remove_file(&self.tmp);
    }
}

/// The file under a buffered writer, what it held written.
fn unbuffered(w: BufWriter<File>) -> Result<File, Failure> {
    w.into_inner().map_err(|e| e.into_error().into())
}

fn flush<W: Write>(w: W, name: &Path) -> Result<(), Failure> {
    let mut w = w;
    w.flush()
        .map_err(|e| format!("writing {}: {e}", name.display()).into())
}

pub async fn run(args: RunArgs) -> Result<(), Failure> {
    let summary = execute(&args).await?;
    let merges = match summary.merges {
        0 => String::new(),
        n => format!("{n} merges of {} duplicates, ", summary.merged_away),
    };
    let reviews = match summary.reviews {
        0 => String::new(),
        1 => ", 1 pair to review".to_string(),
        n => format!(", {n} pairs to review"),
    };
    println!(
        "scanned {} records: {merges}{} updates, {} archives, {} flagged{reviews}; {}{}",
        summary.scanned,
        summary.updates,
        summary.archives,
        summary.flagged,
        args.out.join("preview.csv").display(),
        if args.apply {
            format!(", {}", args.out.join("result.csv").display())
        } else {
            String::new()
        }
    );
    Ok(())
}

pub async fn execute(args: &RunArgs) -> Result<Summary, Failure> {
    let config = read_template(&args.template)?;
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    if args.decisions.is_some() && !matches!(config, ModuleConfig::Merge(_)) {
        return Err("--decisions is for merge templates only".into());
    }
    match &config {
        ModuleConfig::Grid(_) => grid(args, &config).await,
        ModuleConfig::Merge(c) => {
            if args.edits.is_some() {
                return Err("--edits is for grid templates only".into());
            }
            merge(args, c)
        }
        _ => {
            if args.edits.is_some() {
                return Err("--edits is for grid templates only".into());
            }
            stream(args, &config)
        }
    }
}

fn count(summary: &mut Summary, c: &Change) {
    match c.action {
        Action::Update | Action::Create => summary.updates += 1,
        Action::Merge {
            ref duplicate_ids, ..
        } => {
            summary.merges += 1;
            summary.merged_away += duplicate_ids.len() as u64;
        }
        Action::ConvertLead { .. } => summary.merged_away += 1,
        Action::Archive => summary.archives += 1,
        Action::Flag => summary.flagged += 1,
        Action::Review { .. } => summary.reviews += 1,
    }
}

/// A change's outcome when applied to the file: written (the file takes every write), or
/// none for a flag, which is a report and writes nothing — `skipped` in the CSV, as the
/// server's runs say of it.
fn file_outcome(apply: bool, c: &Change, id: &str) -> Option<Outcome> {
    (apply && !c.action.writes_nothing()).then(|| Outcome::ok(id.to_string()))
}

/// Bytes of input rows handed to a planning thread at a time: enough that handing over
/// costs little against planning them, small enough that memory stays flat.
const CHUNK_BYTES: usize = 1 << 18;

/// What planning one chunk of rows gave: its preview and result rows, ready to write.
struct Planned {
    preview: Vec<u8>,
    result: Vec<u8>,
    summary: Summary,
}

type ChunkFailure = Box<dyn std::error::Error + Send + Sync>;

/// What every planning thread shares.
struct Planner<'a> {
    engine: &'a dyn RecordEngine,
    shape: &'a RowShape,
    columns: &'a [String],
    apply: bool,
    /// result.csv's width, and the column of each field a change may set.
    width: usize,
    index: &'a HashMap<String, usize>,
}

impl Planner<'_> {
    /// The preview and result rows of one chunk, in row order.
    fn plan(&self, chunk: RowChunk) -> Result<Planned, ChunkFailure> {
        let chunk = chunk.into_text(self.shape)?;
        let mut preview =
            AuditWriter::continuing(Vec::with_capacity(CHUNK_BYTES), self.columns, self.apply)?;
        let mut result = self
            .apply
            .then(|| result_writer(Vec::with_capacity(CHUNK_BYTES + CHUNK_BYTES / 4)));
        let mut summary = Summary::default();
        let mut cells = Vec::with_capacity(self.width);
        // (result column, index of the field change that sets it) of one record.
        let mut sets: Vec<(usize, usize)> = Vec::new();
        let mut record = Record::default();
        let mut line = csv::ByteRecord::new();
        for i in 0..chunk.len() {
            chunk.cells(i, &mut cells);
            self.shape
                .fill(&mut record, &cells, chunk.first() + i as u64)?;
            summary.scanned += 1;
            let change = self.engine.plan(&record);
            if let Some(c) = &change {
                count(&mut summary, c);
                preview.write_change(c, file_outcome(self.apply, c, &record.id).as_ref())?;
            }
            let Some(out) = result.as_mut() else {
                continue;
            };
            sets.clear();
            match &change {
                Some(c) if c.action == Action::Archive => continue,
                Some(c) if c.action == Action::Update => {
                    sets.extend(
                        c.fields
                            .iter()
                            .enumerate()
                            .filter_map(|(k, f)| self.index.get(&f.field).map(|&col| (col, k))),
                    );
                }
                _ => {}
            }
            let cell = |col: usize| match sets.iter().rfind(|(c, _)| *c == col) {
                Some(&(_, k)) => change
                    .as_ref()
                    .map_or("", |c| c.fields[k].after.as_deref().unwrap_or_default()),
                None => cells.get(col).copied().unwrap_or_default(),
            };
            // One record for csv's fast path (see `AuditWriter::write_row`).
            line.clear();
            for col in 0..self.width {
                line.push_field(cell(col).as_bytes());
            }
            out.write_byte_record(&line)?;
        }
        Ok(Planned {
            preview: preview.finish()?,
            result: match result {
                Some(out) => out.into_inner().map_err(|e| e.into_error())?,
                None => Vec::new(),
            },
            summary,
        })
    }
}

/// result.csv's writer: data for re-import, not a report, so values are written as they
/// are (no formula neutralization).
fn result_writer<W: Write>(w: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .buffer_capacity(steward_shared::modules::csv::WRITE_BUFFER)
        .from_writer(w)
}

/// `input`'s rows in chunks, each made a `T` by `plan` on one of the cores' threads, and
/// given to `take` in the file's order. Chunk k goes to thread k % threads and comes back
/// from it in turn, so the order needs no reordering buffer; at most two chunks per
/// thread are in flight, so memory stays flat. A row's error stops the read, after the
/// chunks before it (an error earlier in the file comes first).
fn in_chunks<T: Send>(
    input: &mut CsvStream,
    plan: impl Fn(RowChunk) -> Result<T, ChunkFailure> + Sync,
    mut take: impl FnMut(T) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    std::thread::scope(|s| -> Result<(), Failure> {
        let (mut to, mut from) = (Vec::new(), Vec::new());
        for _ in 0..threads {
            let (send_chunk, chunks) = std::sync::mpsc::channel::<RowChunk>();
            let (send_planned, planned) = std::sync::mpsc::channel();
            let plan = &plan;
            s.spawn(move || {
                for chunk in chunks {
                    if send_planned.send(plan(chunk)).is_err() {
                        break;
                    }
                }
            });
            to.push(send_chunk);
            from.push(planned);
        }
        let in_flight = 2 * threads;
        let receive = |k: usize| -> Result<T, Failure> {
            from[k % threads]
                .recv()
                .map_err(|_| "a planning thread stopped".into())
                .and_then(|planned| planned.map_err(|e| -> Failure { e }))
        };
        let (mut sent, mut written) = (0usize, 0usize);
        loop {
            if sent - written == in_flight {
                take(receive(written)?)?;
                written += 1;
            }
            let chunk = match input.next_chunk(CHUNK_BYTES) {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) => {
                    while written < sent {
                        take(receive(written)?)?;
                        written += 1;
                    }
                    return Err(e.into());
                }
            };
            if to[sent % threads].send(chunk).is_err() {
                break;
            }
            sent += 1;
        }
        while written < sent {
            take(receive(written)?)?;
            written += 1;
        }
        Ok(())
    })
}

/// Bulk, transform, validate: streamed. The file is read in chunks of rows, planned on
/// every core (each thread turns its chunks into preview and result rows), and written
/// in order; at most a few chunks per thread are in flight, so memory stays flat.
fn stream(args: &RunArgs, config: &ModuleConfig) -> Result<Summary, Failure> {
    let engine = config.engine().map_err(|e| explain(&args.template, e))?;
    let mut input = CsvStream::open(
        &args.csv,
        args.id_column.as_deref(),
        args.delimiter,
        &engine.reads(),
    )?;
    check_header(args, input.headers(), &engine.reads())?;
    let columns = engine.columns();
    let preview_path = args.out.join("preview.csv");
    let (preview_file, w) = Staged::create(preview_path.clone())?;
    // The header through its writer, then chunks' rows straight to the file: they come
    // in large buffers already, and copying them through a BufWriter only costs time.
    let mut preview = unbuffered(AuditWriter::new(w, &columns, args.apply)?.finish()?)?;

    // result.csv: the input's columns, then any the plan adds (e.g. a name split).
    let mut header: Vec<String> = input.headers().to_vec();
    for c in &columns {
        if !header.contains(c) {
            header.push(c.clone());
        }
    }
    let index: HashMap<String, usize> = header
        .iter()
        .enumerate()
        .map(|(i, h)| (h.clone(), i))
        .collect();
    let result_path = args.out.join("result.csv");
    let mut result = match args.apply {
        true => {
            let (staged, w) = Staged::create(result_path.clone())?;
            let mut out = result_writer(w);
            out.write_record(&header)?;
            let w = out
                .into_inner()
                .map_err(|e| format!("writing {}: {e}", result_path.display()))?;
            Some((staged, unbuffered(w)?))
        }
        false => None,
    };

    let shape = input.shape().clone();
    let planner = Planner {
        engine: engine.as_ref(),
        shape: &shape,
        columns: &columns,
        apply: args.apply,
        width: header.len(),
        index: &index,
    };
    let mut summary = Summary::default();
    in_chunks(
        &mut input,
        |chunk| planner.plan(chunk),
        |planned| {
            preview
                .write_all(&planned.preview)
                .map_err(|e| format!("writing {}: {e}", preview_path.display()))?;
            if let Some((_, w)) = result.as_mut() {
                w.write_all(&planned.result)
                    .map_err(|e| format!("writing {}: {e}", result_path.display()))?;
            }
            summary.add(&planned.summary);
            Ok(())
        },
    )?;

    flush(preview, &preview_path)?;
    if let Some((staged, w)) = result {
        flush(w, &result_path)?;
        staged.commit()?;
    }
    preview_file.commit()?;
    Ok(summary)
}

/// Columns read as a record's creation and last modification times (HubSpot's, then
/// Salesforce's names).
const CREATED_COLUMNS: &[&str] = &["createdate", "hs_createdate", "CreatedDate", "created_at"];
const MODIFIED_COLUMNS: &[&str] = &[
    "lastmodifieddate",
    "hs_lastmodifieddate",
    "LastModifiedDate",
    "SystemModstamp",
    "updated_at",
];

/// A CSV cell as a time: RFC 3339, Salesforce's `2024-01-31T09:00:00.000+0000`,
/// `2024-01-31 09:00:00`, a date, or epoch milliseconds (HubSpot exports).
fn time(cell: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
    let v = cell.trim();
    if v.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(t.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(v, f) {
            return Some(t.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    }
    match v.parse::<i64>() {
        Ok(ms) if v.len() >= 12 => DateTime::from_timestamp_millis(ms),
        _ => None,
    }
}

/// Merge: every record's compared columns in memory, one plan over all of them, then the
/// file streamed again for the result (duplicates left out, masters updated).
fn merge(args: &RunArgs, config: &MergeConfig) -> Result<Summary, Failure> {
    let engine = config.engine().map_err(|errors| {
        explain(
            &args.template,
            Error::Invalid {
                detail: String::new(),
                errors,
            },
        )
    })?;
    if let Some(leads) = engine.lead_object() {
        return Err(format!(
            "{}: cross_object matches {leads} records against {}: run it against the CRM, \
             which holds both (steward run reads one CSV file)",
            args.template.display(),
            engine.object()
        )
        .into());
    }
    steward_shared::modules::merge::lap("start");
    // Only the id from the stream: the engine's columns are read from the raw row. The
    // rows are made records on every core, in pieces appended in the file's order.
    let mut input_csv = CsvStream::open(&args.csv, args.id_column.as_deref(), args.delimiter, &[])?;
    let headers = input_csv.headers().to_vec();
    check_header(args, &headers, &engine.reads())?;
    let column = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| headers.iter().position(|h| h == n))
    };
    let (created_col, modified_col) = (column(CREATED_COLUMNS), column(MODIFIED_COLUMNS));
    let mut input = engine.input();
    // The column of each of the input's fields.
    let at: Vec<Option<usize>> = input
        .fields()
        .iter()
        .map(|f| headers.iter().position(|h| h == f))
        .collect();
    let shape = input_csv.shape().clone();
    let read = |chunk: RowChunk| -> Result<MergeInput, ChunkFailure> {
        let chunk = chunk.into_text(&shape)?;
        let mut piece = engine.input();
        piece.reserve(chunk.len());
        let (mut cells, mut record) = (Vec::with_capacity(headers.len()), Record::default());
        for i in 0..chunk.len() {
            chunk.cells(i, &mut cells);
            shape.fill(&mut record, &cells, chunk.first() + i as u64)?;
            let cell = |i: Option<usize>| i.and_then(|i| cells.get(i).copied()).unwrap_or_default();
            piece.push_row(
                &record.id,
                time(cell(created_col)),
                time(cell(modified_col)),
                |k| cell(at[k]),
            );
        }
        Ok(piece)
    };
    let mut pieces = Vec::new();
    in_chunks(&mut input_csv, read, |piece| {
        pieces.push(piece);
        Ok(())
    })?;
    input.append(&pieces);
    drop(pieces);
    drop(input_csv);
    let scanned = input.len() as u64;
    steward_shared::modules::merge::lap("read");
    let decisions = match &args.decisions {
        Some(path) => read_decisions(path)?,
        None => Decisions::default(),
    };
    let plan = engine.plan_with(&input, &decisions);
    drop(input);
    steward_shared::modules::merge::lap("planned");

    let columns = engine.columns();
    let preview_path = args.out.join("preview.csv");
    let (preview_file, w) = Staged::create(preview_path.clone())?;
    let mut preview = AuditWriter::new(w, &columns, args.apply)?;
    let mut summary = Summary {
        scanned,
        ..Summary::default()
    };
    for c in &plan.plan.changes {
        count(&mut summary, c);
        let id = c.id.as_deref().unwrap_or_default();
        preview.write_change(c, file_outcome(args.apply, c, id).as_ref())?;
    }
    let w = preview.finish()?;
    flush(w, &preview_path)?;
    steward_shared::modules::merge::lap("written");

    if args.apply {
        let mut gone: HashSet<&str> = HashSet::new();
        let mut masters: HashMap<&str, &Change> = HashMap::new();
        for c in &plan.plan.changes {
            if let Action::Merge { duplicate_ids, .. } = &c.action {
                gone.extend(duplicate_ids.iter().map(String::as_str));
                if let Some(id) = c.id.as_deref() {
                    masters.insert(id, c);
                }
            }
        }
        let index: HashMap<&str, usize> = headers
            .iter()
            .enumerate()
            .map(|(i, h)| (h.as_str(), i))
            .collect();
        let result_path = args.out.join("result.csv");
        let (staged, w) = Staged::create(result_path.clone())?;
        let mut out = csv::Writer::from_writer(w);
        out.write_record(&headers)?;
        let mut again = CsvStream::open(&args.csv, args.id_column.as_deref(), args.delimiter, &[])?;
        let mut row_out: Vec<String> = Vec::with_capacity(headers.len());
        while let Some((record, raw)) = again.next_record()? {
            if gone.contains(record.id.as_str()) {
                continue;
            }
            match masters.get(record.id.as_str()) {
                None => out.write_record(raw)?,
                Some(c) => {
                    row_out.clear();
                    row_out.extend(raw.iter().map(str::to_string));
                    row_out.resize(headers.len(), String::new());
                    for f in &c.fields {
                        if let Some(&i) = index.get(f.field.as_str()) {
                            row_out[i] = f.after.clone().unwrap_or_default();
                        }
                    }
                    out.write_record(&row_out)?;
                }
            }
        }
        let w = out
            .into_inner()
            .map_err(|e| format!("writing {}: {e}", result_path.display()))?;
        flush(w, &result_path)?;
        staged.commit()?;
    }
    preview_file.commit()?;
    Ok(summary)
}

/// Decisions on review pairs from a CSV (`record_id,other_id,decision`, any column order,
/// more columns ignored, so a preview's review rows with a `decision` column added read
/// too). Rows are counted as a spreadsheet shows them: the header is row 1.
fn read_decisions(path: &Path) -> Result<Decisions, Failure> {
    let file = File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
    let headers = reader
        .headers()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .clone();
    let col = |name: &str| -> Result<usize, Failure> {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                format!(
                    "{}: no `{name}` column: a decisions file has the columns record_id, \
                     other_id and decision (accept or reject)",
                    path.display()
                )
                .into()
            })
    };
    let (a, b, d) = (col("record_id")?, col("other_id")?, col("decision")?);
    let mut out = Decisions::default();
    for (i, row) in reader.records().enumerate() {
        let at = i + 2;
        let row = row.map_err(|e| format!("{} row {at}: {e}", path.display()))?;
        let cell = |k: usize| row.get(k).map(str::trim).unwrap_or_default();
        let (x, y) = (cell(a), cell(b));
        if x.is_empty() && y.is_empty() && cell(d).is_empty() {
            continue;
        }
        if x.is_empty() || y.is_empty() || x == y {
            return Err(format!(
                "{} row {at}: record_id and other_id must name two different records",
                path.display()
            )
            .into());
        }
        let pair = [x.to_string(), y.to_string()];
        match cell(d).to_ascii_lowercase().as_str() {
            "accept" | "accepted" => out.accept.push(pair),
            "reject" | "rejected" => out.reject.push(pair),
            other => {
                return Err(format!(
                    "{} row {at}: decision `{other}` is not accept or reject",
                    path.display()
                )
                .into());
            }
        }
    }
    Ok(out)
}

/// Grid: cell edits against the file's records, type-checked against its describe.
async fn grid(args: &RunArgs, config: &ModuleConfig) -> Result<Summary, Failure> {
    let Some(edits_path) = &args.edits else {
        return Err(
            "a grid template needs --edits FILE (a JSON list of {\"id\", \"field\", \"value\"})"
                .into(),
        );
    };
    let text = std::fs::read_to_string(edits_path)
        .map_err(|e| format!("cannot read {}: {e}", edits_path.display()))?;
    let de = &mut serde_json::Deserializer::from_str(&text);
    let edits: Vec<CellEdit> = serde_path_to_error::deserialize(de).map_err(|e| {
        let (pointer, msg) = steward_shared::http::serde_problem(e.path(), &e.inner().to_string());
        format!("{}: {pointer}: {msg}", edits_path.display())
    })?;
    let result_path = args.out.join("result.csv");
    let crm = CsvCrm::open_with(
        &args.csv,
        &result_path.with_extension("csv.partial"),
        config.object(),
        args.id_column.as_deref(),
        args.delimiter,
    )?;
    let schema = crm.describe(config.object()).await?;
    let records = steward_shared::crm::scan_all(
        &crm,
        &steward_shared::crm::ScanRequest {
            object: config.object().to_string(),
            properties: vec![],
            filter: None,
        },
    )
    .await?;
    let changes =
        steward_shared::modules::grid::plan_edits(&schema, &records, &edits).map_err(|errors| {
            explain(
                edits_path,
                Error::Invalid {
                    detail: String::new(),
                    errors,
                },
            )
        })?;
    let columns =
        steward_shared::modules::plan::field_columns(changes.iter().flat_map(|c| &c.fields));
    let mut outcomes = vec![None; changes.len()];
    if args.apply {
        let updates: Vec<steward_shared::crm::Update> = changes
            .iter()
            .map(|c| steward_shared::crm::Update {
                id: c.id.clone().unwrap_or_default(),
                properties: c.writes(),
            })
            .collect();
        if !updates.is_empty() {
            let results = crm.batch_update(config.object(), &updates).await?;
            for (slot, o) in outcomes.iter_mut().zip(results) {
                *slot = Some(o);
            }
        }
        // The file connector wrote the whole table beside result.csv; unchanged, it wrote
        // nothing and the result is the input.
        let partial = result_path.with_extension("csv.partial");
        if partial.exists() {
            std::fs::rename(&partial, &result_path)?;
        } else {
            std::fs::copy(&args.csv, &result_path)?;
        }
    }
    let preview_path = args.out.join("preview.csv");
    let (staged, w) = Staged::create(preview_path.clone())?;
    let mut preview = AuditWriter::new(w, &columns, args.apply)?;
    let mut summary = Summary {
        scanned: records.len() as u64,
        ..Summary::default()
    };
    for (c, o) in changes.iter().zip(&outcomes) {
        count(&mut summary, c);
        preview.write_change(c, o.as_ref())?;
    }
    flush(preview.finish()?, &preview_path)?;
    staged.commit()?;
    Ok(summary)
}
