//! `steward sandbox`: the sandbox CRM as a process of its own, for trying Steward (and any
//! HubSpot/Salesforce tool) against seeded dirty data, faults and real rate limits.

use std::path::PathBuf;

use steward_sandbox::{Faults, RetryAfter, Sandbox, SandboxConfig};

#[derive(clap::Args, Clone)]
pub struct SandboxArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8090)]
    pub port: u16,
    /// Keep the sandbox's data (records, users, ids, the tokens it issued) in this file:
    /// restored at start, on the port it had unless that is taken, and saved as it changes.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Seed of the data generator: the same seed gives the same records.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Records per main object (contacts, companies / Contact, Account, Lead).
    #[arg(long, default_value_t = 1000)]
    pub records: usize,
    /// Share of records that are dirty duplicates of another (0 to 1).
    #[arg(long, default_value_t = 0.2)]
    pub duplicate_rate: f64,
    /// Write the ground-truth duplicate clusters here (JSON lines).
    #[arg(long)]
    pub ground_truth: Option<PathBuf>,
    /// Salesforce's authorize page answers OAUTH_APP_BLOCKED (as when an admin blocks the app).
    #[arg(long)]
    pub salesforce_app_blocked: bool,
    /// Share of API requests answered 429.
    #[arg(long, default_value_t = 0.0)]
    pub rate_429: f64,
    /// Share of API requests answered 5xx.
    #[arg(long, default_value_t = 0.0)]
    pub rate_5xx: f64,
    /// Latency added to every API request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Share of API requests whose connection is dropped.
    #[arg(long, default_value_t = 0.0)]
    pub drop_rate: f64,
    /// Injected 5xx come from a gateway in front of the CRM: 502/504 HTML pages.
    #[arg(long)]
    pub gateway_html: bool,
    /// HubSpot requests a public OAuth app (as Steward connects) may send per 10 s per
    /// account; private-app tokens have their own bucket of 190.
    #[arg(long, default_value_t = steward_shared::crm::limits::hubspot::BURST_OAUTH)]
    pub hubspot_burst: u32,
    /// How HubSpot's 429s say when to come back: `seconds`, `http-date` or `absent`.
    #[arg(long, value_enum, default_value_t = RetryAfterArg::Seconds)]
    pub retry_after: RetryAfterArg,
    /// Milliseconds before a HubSpot write shows in search (its index lags, as HubSpot's
    /// does); 0 makes search see writes at once.
    #[arg(long, default_value_t = steward_sandbox::config::DEFAULT_SEARCH_LAG_MS)]
    pub search_lag_ms: u64,
}

/// `--retry-after`'s values.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum RetryAfterArg {
    Seconds,
    HttpDate,
    Absent,
}

impl From<RetryAfterArg> for RetryAfter {
    fn from(a: RetryAfterArg) -> Self {
        match a {
            RetryAfterArg::Seconds => RetryAfter::Seconds,
            RetryAfterArg::HttpDate => RetryAfter::HttpDate,
            RetryAfterArg::Absent => RetryAfter::Absent,
        }
    }
}

impl SandboxArgs {
    /// `steward serve --demo`'s sandbox: every default of `steward sandbox` (HubSpot's
    /// public-app limit, its search lag), on a free port.
    pub fn demo() -> Self {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Defaults {
            #[command(flatten)]
            args: SandboxArgs,
        }
        let mut args = Defaults::parse_from(["steward-sandbox"]).args;
        args.port = 0;
        args
    }

    pub fn config(&self) -> Result<SandboxConfig, String> {
        for (name, v) in [
            ("--duplicate-rate", self.duplicate_rate),
            ("--rate-429", self.rate_429),
            ("--rate-5xx", self.rate_5xx),
            ("--drop-rate", self.drop_rate),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{name} must be between 0 and 1, not {v}"));
            }
        }
        Ok(SandboxConfig {
            seed: self.seed,
            records: self.records,
            duplicate_rate: self.duplicate_rate,
            faults: Faults {
                rate_429: self.rate_429,
                rate_5xx: self.rate_5xx,
                latency_ms: self.latency_ms,
                drop_rate: self.drop_rate,
                gateway_html: self.gateway_html,
            },
            salesforce_app_blocked: self.salesforce_app_blocked,
            ground_truth: self.ground_truth.clone(),
            hubspot: steward_sandbox::HubSpotLimits {
                burst: self.hubspot_burst,
                retry_after: self.retry_after.into(),
                search_lag_ms: self.search_lag_ms,
                ..Default::default()
            },
            ..SandboxConfig::default()
        })
    }
}

pub async fn start(args: &SandboxArgs) -> Result<Sandbox, Box<dyn std::error::Error>> {
    let sandbox = match &args.state {
        Some(file) => Sandbox::start_persistent(args.config()?, args.port, file).await?,
        None => Sandbox::start_on(args.config()?, args.port).await?,
    };
    println!(
        "sandbox CRM on {} (HubSpot API {}, Salesforce {}; client id {}, secret {})",
        sandbox.url,
        sandbox.hubspot_base(),
        sandbox.salesforce_base(),
        steward_sandbox::CLIENT_ID,
        steward_sandbox::CLIENT_SECRET,
    );
    Ok(sandbox)
}

pub async fn run(args: SandboxArgs) -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = start(&args).await?;
    tokio::signal::ctrl_c().await?;
    sandbox.stop().await?;
    Ok(())
}

#[derive(clap::Args)]
pub struct ExportArgs {
    /// Seed of the data generator: the same seed gives the same records.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// How many contacts (duplicates included).
    #[arg(long, default_value_t = 1000)]
    records: usize,
    /// Share of the records that are dirty duplicates of another one.
    #[arg(long, default_value_t = 0.2)]
    duplicate_rate: f64,
    /// The CSV file to write (HubSpot contact property names as columns).
    #[arg(long)]
    out: PathBuf,
    /// Also write the true duplicate clusters of these contacts, one JSON list of CSV ids
    /// per line (clusters of two or more).
    #[arg(long)]
    ground_truth: Option<PathBuf>,
    /// Also write the households among these contacts: distinct people at one address
    /// under one last name (never to be merged), one JSON list of CSV ids per line.
    #[arg(long)]
    households: Option<PathBuf>,
}

/// `steward sandbox-export`: the sandbox's generated contacts as a CSV file, the input of
/// offline runs and benchmarks.
pub fn export(args: ExportArgs) -> Result<(), Box<dyn std::error::Error>> {
    let (data, households) = steward_sandbox::generator::generate_with_households(
        args.seed,
        args.records,
        args.duplicate_rate,
    );
    let file = std::fs::File::create(&args.out)?;
    let mut w = csv::Writer::from_writer(std::io::BufWriter::with_capacity(1 << 20, file));
    w.write_record([
        "id",
        "firstname",
        "lastname",
        "email",
        "phone",
        "company",
        "jobtitle",
        "city",
        "state",
        "country",
        "date_of_birth",
        "zip",
        "address",
        "createdate",
        "lastmodifieddate",
    ])?;
    // Dated as the sandbox's CRMs date them: created `created_secs_ago` before
    // 2026-01-01T00:00:00Z, last modified halfway from then to that instant.
    let reference = chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default();
    let stamp =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    for (i, p) in data.people.iter().enumerate() {
        let id = (i + 1).to_string();
        let cell = |v: &Option<String>| v.clone().unwrap_or_default();
        let ago = i64::try_from(p.created_secs_ago).unwrap_or(0);
        let created = reference - chrono::Duration::seconds(ago);
        let modified = created + chrono::Duration::seconds(ago / 2);
        w.write_record([
            id,
            cell(&p.first_name),
            cell(&p.last_name),
            cell(&p.email),
            cell(&p.phone),
            cell(&p.company),
            cell(&p.job_title),
            cell(&p.city),
            cell(&p.state),
            cell(&p.country),
            cell(&p.date_of_birth),
            cell(&p.postcode),
            cell(&p.address),
            stamp(created),
            stamp(modified),
        ])?;
    }
    w.flush()?;
    let ids: std::collections::HashMap<&str, usize> = data
        .people
        .iter()
        .enumerate()
        .map(|(i, p)| (p.key.as_str(), i + 1))
        .collect();
    // One JSON list of CSV ids per line, for lists of two or more.
    let write_lists = |path: &PathBuf,
                       lists: &mut dyn Iterator<Item = &Vec<String>>|
     -> Result<(), Box<dyn std::error::Error>> {
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        for keys in lists {
            let members: Vec<String> = keys
                .iter()
                .filter_map(|k| ids.get(k.as_str()).map(|i| i.to_string()))
                .collect();
            if members.len() > 1 {
                std::io::Write::write_all(
                    &mut out,
                    format!("{}\n", serde_json::to_string(&members)?).as_bytes(),
                )?;
            }
        }
        std::io::Write::flush(&mut out)?;
        Ok(())
    };
    if let Some(path) = &args.ground_truth {
        let mut people = data
            .clusters
            .iter()
            .filter(|c| c.kind == "person")
            .map(|c| &c.keys);
        write_lists(path, &mut people)?;
    }
    if let Some(path) = &args.households {
        write_lists(path, &mut households.iter())?;
    }
    println!(
        "{} contacts written to {}",
        data.people.len(),
        args.out.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: SandboxArgs,
    }

    #[test]
    fn the_sandbox_and_the_demo_enforce_hubspots_public_app_limit_and_search_lag() {
        let plain = Cli::parse_from(["steward-sandbox"])
            .args
            .config()
            .expect("config");
        let demo = SandboxArgs::demo().config().expect("config");
        for c in [&plain, &demo] {
            assert_eq!(c.hubspot.burst, 110, "a public OAuth app's 110 / 10 s");
            assert_eq!(c.hubspot.window_ms, 10_000);
            assert!(c.hubspot.search_lag_ms >= 1_000, "search lags writes");
            assert_eq!(c.hubspot, SandboxConfig::default().hubspot);
        }
        assert_eq!(demo.seed, plain.seed);
        let told = Cli::parse_from([
            "steward-sandbox",
            "--retry-after",
            "absent",
            "--search-lag-ms",
            "0",
            "--gateway-html",
        ])
        .args
        .config()
        .expect("config");
        assert_eq!(told.hubspot.retry_after, RetryAfter::Absent);
        assert_eq!(told.hubspot.search_lag_ms, 0);
        assert!(told.faults.gateway_html);
    }
}
