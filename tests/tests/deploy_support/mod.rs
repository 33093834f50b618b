//! What the deployment tests share: certificates made at test time ([`certs`]) and the example
//! binaries run as processes next to real clients ([`process`]).
#![allow(dead_code)] // each test file uses its own subset

pub mod certs;
pub mod process;
