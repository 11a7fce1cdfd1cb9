//! Ports: the narrow traits the domain talks to, each with an AWS adapter and an embedded
//! adapter (the latter behind the `embedded` feature).

pub mod blobs;
pub mod items;
pub mod mail;
pub mod scheduler;
pub mod secrets;

pub use blobs::{Blob, BlobStore, BlobWriter, Upload};
pub use items::{Condition, Index, Item, ItemStore, Page, Query, WriteOp};
pub use mail::{Attachment, Email, Mailer};
pub use scheduler::{ScheduleSpec, Scheduler};
pub use secrets::Secrets;
