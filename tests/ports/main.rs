//! Port contract suites: the same test code against the AWS adapters (on moto) and the
//! embedded adapters. An adapter that passes here can replace the other.

mod blobs;
mod items;
mod local;
mod mail;
mod scheduler;
mod secrets;
mod wiring;
