//! Random event sequences through the connection machine (server role) under the connection
//! laws: every request answered once and in order, closes after what is owed, bounded buffers,
//! exact timers, no busy loop, liveness. The plan (handler behaviours, input chunking, the
//! driver's choices, settings, shutdown) is drawn from the fuzzer's bytes.
#![no_main]

use std::time::Duration;

use arbitrary::Unstructured;
use framekit::connection::{Settings, Timeout};
use framekit::framing::delimited::Delimited;
use framekit::testing::connection::{check_server, Behaviour, Plan};
use framekit::FrameCodec;
use libfuzzer_sys::fuzz_target;

fn timeout(u: &mut Unstructured<'_>) -> Timeout {
    match u.int_in_range(0..=2u8).unwrap_or(0) {
        0 => Timeout::Never,
        1 => Timeout::After(Duration::from_millis(u.int_in_range(1..=50u64).unwrap_or(1))),
        _ => Timeout::After(Duration::MAX),
    }
}

fn plan(data: &[u8]) -> Plan {
    let mut u = Unstructured::new(data);
    let settings = Settings::default()
        .input_budget(u.int_in_range(8..=4096usize).unwrap_or(64))
        .high_water(u.int_in_range(1..=256usize).unwrap_or(64))
        .low_water(u.int_in_range(0..=256usize).unwrap_or(0))
        .max_in_flight(u.int_in_range(1..=8usize).unwrap_or(1))
        .idle(timeout(&mut u))
        .exchange(timeout(&mut u))
        .write(timeout(&mut u));
    let behaviours = (0..u.int_in_range(1..=8usize).unwrap_or(1))
        .map(|_| match u.int_in_range(0..=5u8).unwrap_or(0) {
            0 => Behaviour::Now,
            1 => Behaviour::Later,
            2 => Behaviour::Parts(u.int_in_range(1..=5u8).unwrap_or(1)),
            3 => Behaviour::Close,
            4 => Behaviour::Fail,
            _ => Behaviour::Never,
        })
        .collect();
    let requests = u.int_in_range(0..=32usize).unwrap_or(0);
    let chunks = (0..u.int_in_range(1..=6usize).unwrap_or(1))
        .map(|_| u.int_in_range(1..=64usize).unwrap_or(1))
        .collect();
    let shutdown_at = u
        .arbitrary::<bool>()
        .unwrap_or(false)
        .then(|| u.int_in_range(0..=64usize).unwrap_or(0));
    let mut choices: Vec<u16> = Vec::new();
    while let Ok(choice) = u.arbitrary::<u16>() {
        choices.push(choice);
    }
    if choices.is_empty() {
        choices.push(0);
    }
    Plan {
        behaviours,
        requests,
        chunks,
        choices,
        shutdown_at,
        settings,
    }
}

fuzz_target!(|data: &[u8]| {
    let plan = plan(data);
    if let Err(violation) = check_server(&|| FrameCodec::new(Delimited::newline()), &plan) {
        panic!("{violation}\n{plan:#?}");
    }
});
