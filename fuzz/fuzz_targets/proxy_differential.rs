//! framekit's PROXY protocol parser against an independent one, the `ppp` crate: both accept
//! and refuse the same inputs and agree on the addresses and the header's length, except for
//! the differences `framekit_fuzz::proxy::differential` names and checks one by one.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| framekit_fuzz::proxy::differential(data));
