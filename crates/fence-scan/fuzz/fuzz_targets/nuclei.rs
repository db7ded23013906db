//! Fuzzes the nuclei JSON lines importer: any input gives findings or an error, never a panic; see `common` for what an
//! accepted input must satisfy.
#![no_main]

mod common;

use fence_scan::import::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::check(Format::Nuclei, data));
