//! Steward's library: the domain, module engines, ports with their AWS and embedded
//! adapters, and the HTTP plumbing every Lambda function and `steward serve` share.

pub mod api;
pub mod app;
pub mod automation;
pub mod aws;
pub mod clock;
pub mod config;
pub mod console;
pub mod crm;
pub mod crm_schema;
pub mod crypto;
#[cfg(feature = "embedded")]
pub mod embedded;
pub mod error;
pub mod http;
pub mod identity;
pub mod ids;
pub mod keys;
pub mod lambda;
pub mod local_files;
pub mod modules;
pub mod openapi;
pub mod ports;
pub mod recipes;
pub mod reports;
pub mod runs;
pub mod schedule_expr;
pub mod schedules;
pub mod schema;
pub mod stream;
pub mod telemetry;
pub mod templates;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tls;
pub mod wiring;

pub use app::Services;
pub use error::{Error, Result};

#[cfg(test)]
mod names {
    use strum::VariantArray;

    /// Each enum's name (strum's, for messages, keys and URLs) is its wire name (serde's),
    /// for every variant: the two derive from one case rule each, and must agree.
    fn same<T: VariantArray + serde::Serialize + Copy + Into<&'static str>>() -> usize {
        for v in T::VARIANTS {
            let wire = serde_json::to_value(v).unwrap();
            let name: &'static str = (*v).into();
            assert_eq!(wire, serde_json::Value::from(name));
        }
        T::VARIANTS.len()
    }

    #[test]
    fn enum_names_are_their_wire_names() {
        use crate::{crm::CrmKind, identity, modules::Module, runs};
        assert_eq!(same::<Module>(), 5);
        assert_eq!(same::<CrmKind>(), 3);
        assert_eq!(same::<identity::Role>(), 3);
        assert_eq!(same::<identity::Permission>(), 3);
        assert_eq!(same::<runs::Status>(), 7);
        assert_eq!(same::<runs::Mode>(), 2);
        assert_eq!(same::<runs::Trigger>(), 5);
        use crate::modules::{csv, filter, merge};
        assert_eq!(same::<csv::RowAction>(), 7);
        assert_eq!(same::<csv::Status>(), 3);
        assert_eq!(same::<filter::Operator>(), 12);
        assert_eq!(same::<filter::ValueType>(), 4);
        assert_eq!(same::<merge::Compare>(), 5);
        assert_eq!(same::<merge::Normalizer>(), 9);
        assert_eq!(same::<merge::ScoreCompare>(), 7);
        assert_eq!(Module::Merge.name(), "merge");
        assert_eq!(runs::Status::Succeeded.name(), "succeeded");
        assert_eq!(identity::crm_name(CrmKind::HubSpot), "hubspot");
        assert_eq!(identity::parse_crm("salesforce"), Some(CrmKind::Salesforce));
        assert_eq!(identity::parse_crm("csv"), None);
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// The `.rs` files under `dir`, at any depth; a missing `dir` fails the test.
    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|x| x == "rs") {
                out.push(path);
            }
        }
    }

    /// The domain modules name neither Lambda's HTTP types nor an AWS SDK (#18): requests
    /// are read and responses made at the edge (`http`, the functions), and AWS is reached
    /// through the ports' adapters.
    #[test]
    fn domain_modules_name_no_lambda_http_nor_aws_sdk() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        for dir in ["identity", "runs", "modules"] {
            rust_files(&src.join(dir), &mut files);
        }
        for file in ["templates.rs", "schedules.rs", "reports.rs"] {
            files.push(src.join(file));
        }
        let mut offenders = Vec::new();
        for file in &files {
            let text =
                std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            for (n, line) in text.lines().enumerate() {
                if line.contains("lambda_http") || line.contains("aws_sdk_") {
                    let at = file.strip_prefix(&src).unwrap_or(file);
                    offenders.push(format!("src/{}:{}: {}", at.display(), n + 1, line.trim()));
                }
            }
        }
        assert!(files.len() > 20, "only {} files read", files.len());
        assert!(
            offenders.is_empty(),
            "domain modules must not name lambda_http or aws_sdk_*:\n{}",
            offenders.join("\n")
        );
    }
}
