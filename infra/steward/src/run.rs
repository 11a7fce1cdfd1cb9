//! `steward run`: a template over a CSV file, offline. Record-by-record modules (bulk,
//! transform, validate) stream the file, so memory stays flat whatever its size; the grid
//! applies cell edits (`--edits`). Writes `DIR/preview.csv` in the audit layout and, with
//! `--apply`, `DIR/result.csv` (the input with the plan applied). Files appear whole or
//! not at all: each is written beside its final name and renamed when complete.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use steward::Error;
use steward::crm::csv::{CsvCrm, CsvStream};
use steward::crm::{Crm, Outcome};
use steward::modules::csv::AuditWriter;
use steward::modules::grid::CellEdit;
use steward::modules::{Action, Change, ModuleConfig};
use steward::templates::{self, TemplateInput};

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
}

/// What a run did, printed at the end.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub scanned: u64,
    pub updates: u64,
    pub archives: u64,
    pub flagged: u64,
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
        let (pointer, msg) = steward::http::serde_problem(e.path(), &e.inner().to_string());
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

fn flush<W: Write>(w: W, name: &Path) -> Result<(), Failure> {
    let mut w = w;
    w.flush()
        .map_err(|e| format!("writing {}: {e}", name.display()).into())
}

pub async fn run(args: RunArgs) -> Result<(), Failure> {
    let summary = execute(&args).await?;
    println!(
        "scanned {} records: {} updates, {} archives, {} flagged; {}{}",
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
    match &config {
        ModuleConfig::Grid(_) => grid(args, &config).await,
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
        Action::Update | Action::Create | Action::Merge { .. } => summary.updates += 1,
        Action::Archive => summary.archives += 1,
        Action::Flag => summary.flagged += 1,
    }
}

/// Bulk, transform, validate: one record at a time.
fn stream(args: &RunArgs, config: &ModuleConfig) -> Result<Summary, Failure> {
    let engine = config.engine().map_err(|e| explain(&args.template, e))?;
    let mut input = CsvStream::open(&args.csv, args.id_column.as_deref(), &engine.reads())?;
    let columns = engine.columns();
    let preview_path = args.out.join("preview.csv");
    let (preview_file, w) = Staged::create(preview_path.clone())?;
    let mut preview = AuditWriter::new(w, &columns, args.apply)?;

    // result.csv: the input's columns, then any the plan adds (e.g. a name split).
    let mut header: Vec<String> = input.headers().to_vec();
    for c in &columns {
        if !header.contains(c) {
            header.push(c.clone());
        }
    }
    let index: std::collections::HashMap<String, usize> = header
        .iter()
        .enumerate()
        .map(|(i, h)| (h.clone(), i))
        .collect();
    let result_path = args.out.join("result.csv");
    let mut result = match args.apply {
        true => {
            let (staged, w) = Staged::create(result_path.clone())?;
            let mut out = csv::Writer::from_writer(w);
            // Data for re-import, not a report: values are written as they are.
            out.write_record(&header)?;
            Some((staged, out))
        }
        false => None,
    };

    let mut summary = Summary::default();
    let mut row_out: Vec<String> = Vec::with_capacity(header.len());
    while let Some((record, raw)) = input.next_record()? {
        summary.scanned += 1;
        let change = engine.plan(&record);
        if let Some(c) = &change {
            count(&mut summary, c);
            let outcome = args.apply.then(|| Outcome::ok(record.id.clone()));
            preview.write_change(c, outcome.as_ref())?;
        }
        if let Some((_, out)) = result.as_mut() {
            if matches!(change.as_ref().map(|c| &c.action), Some(Action::Archive)) {
                continue;
            }
            row_out.clear();
            row_out.extend(raw.iter().map(str::to_string));
            row_out.resize(header.len(), String::new());
            if let Some(c) = &change
                && c.action == Action::Update
            {
                for f in &c.fields {
                    if let Some(&i) = index.get(&f.field) {
                        row_out[i] = f.after.clone().unwrap_or_default();
                    }
                }
            }
            out.write_record(&row_out)?;
        }
    }
    let w = preview.finish()?;
    flush(w, &preview_path)?;
    if let Some((staged, out)) = result {
        let w = out
            .into_inner()
            .map_err(|e| format!("writing {}: {e}", result_path.display()))?;
        flush(w, &result_path)?;
        staged.commit()?;
    }
    preview_file.commit()?;
    Ok(summary)
}

/// Grid: cell edits against the file's records, type-checked against its describe.
async fn grid(args: &RunArgs, config: &ModuleConfig) -> Result<Summary, Failure> {
    let Some(edits_path) = &args.edits else {
        return Err("a grid template needs --edits FILE (a JSON list of {\"id\", \"field\", \"value\"})".into());
    };
    let text = std::fs::read_to_string(edits_path)
        .map_err(|e| format!("cannot read {}: {e}", edits_path.display()))?;
    let de = &mut serde_json::Deserializer::from_str(&text);
    let edits: Vec<CellEdit> = serde_path_to_error::deserialize(de).map_err(|e| {
        let (pointer, msg) = steward::http::serde_problem(e.path(), &e.inner().to_string());
        format!("{}: {pointer}: {msg}", edits_path.display())
    })?;
    let result_path = args.out.join("result.csv");
    let crm = CsvCrm::open_with(
        &args.csv,
        &result_path.with_extension("csv.partial"),
        config.object(),
        args.id_column.as_deref(),
    )?;
    let schema = crm.describe(config.object()).await?;
    let records = steward::crm::scan_all(
        &crm,
        &steward::crm::ScanRequest {
            object: config.object().to_string(),
            properties: vec![],
            filter: None,
        },
    )
    .await?;
    let changes = steward::modules::grid::plan_edits(&schema, &records, &edits).map_err(|errors| {
        explain(
            edits_path,
            Error::Invalid {
                detail: String::new(),
                errors,
            },
        )
    })?;
    let columns: Vec<String> = {
        let mut c: Vec<String> = Vec::new();
        for ch in &changes {
            for f in &ch.fields {
                if !c.contains(&f.field) {
                    c.push(f.field.clone());
                }
            }
        }
        c
    };
    let mut outcomes = vec![None; changes.len()];
    if args.apply {
        let updates: Vec<steward::crm::Update> = changes
            .iter()
            .map(|c| steward::crm::Update {
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
