//! Random event sequences through the connection machine, in both roles, under the connection
//! laws: every request answered once and in order, closes after what is owed, bounded buffers,
//! exact timers, no busy loop, liveness. The plan (handler behaviours or the peer's answers,
//! input chunking, the driver's choices, settings, shutdown) is drawn from the fuzzer's bytes;
//! the first byte picks the role.
#![no_main]

use std::time::Duration;

use arbitrary::Unstructured;
use framekit::connection::{Settings, Timeout};
use framekit::framing::delimited::Delimited;
use framekit::testing::connection::{
    check_client, check_server, Behaviour, ClientPlan, PayloadModel, Plan,
};
use framekit::FrameCodec;
use libfuzzer_sys::fuzz_target;

/// More choices than any plan's steps need (the run cycles through them).
const MAX_CHOICES: usize = 4096;

fn timeout(u: &mut Unstructured<'_>) -> Timeout {
    match u.int_in_range(0..=2u8).unwrap_or(0) {
        0 => Timeout::Never,
        1 => Timeout::After(Duration::from_millis(u.int_in_range(1..=50u64).unwrap_or(1))),
        _ => Timeout::After(Duration::MAX),
    }
}

fn settings(u: &mut Unstructured<'_>) -> Settings {
    Settings::default()
        .input_budget(u.int_in_range(8..=4096usize).unwrap_or(64))
        .high_water(u.int_in_range(1..=256usize).unwrap_or(64))
        .low_water(u.int_in_range(0..=256usize).unwrap_or(0))
        .max_in_flight(u.int_in_range(1..=8usize).unwrap_or(1))
        .idle(timeout(u))
        .exchange(timeout(u))
        .write(timeout(u))
        .frame(timeout(u))
}

/// The driver's choices: the rest of the input, two bytes each. An `Unstructured` that has run
/// out answers zeros for ever rather than an error, so the loop stops at the input's end.
fn choices(u: &mut Unstructured<'_>) -> Vec<u16> {
    let mut choices: Vec<u16> = Vec::new();
    while !u.is_empty() && choices.len() < MAX_CHOICES {
        choices.push(u.arbitrary::<u16>().unwrap_or(0));
    }
    if choices.is_empty() {
        choices.push(0);
    }
    choices
}

fn chunks(u: &mut Unstructured<'_>) -> Vec<usize> {
    (0..u.int_in_range(1..=6usize).unwrap_or(1))
        .map(|_| u.int_in_range(1..=64usize).unwrap_or(1))
        .collect()
}

fn step(u: &mut Unstructured<'_>) -> Option<usize> {
    u.arbitrary::<bool>()
        .unwrap_or(false)
        .then(|| u.int_in_range(0..=96usize).unwrap_or(0))
}

fn client_plan(u: &mut Unstructured<'_>) -> ClientPlan {
    let settings = settings(u);
    let requests = u.int_in_range(0..=32usize).unwrap_or(0);
    let tagged = u.arbitrary().unwrap_or(false);
    let chunks = chunks(u);
    let peer_closes_at = step(u);
    let reset_at = step(u);
    let close_at = step(u);
    ClientPlan {
        requests,
        tagged,
        chunks,
        choices: choices(u),
        peer_closes_at,
        reset_at,
        close_at,
        settings,
    }
}

fn plan(u: &mut Unstructured<'_>) -> Plan {
    let settings = settings(u);
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
    let chunks = chunks(u);
    let shutdown_at = step(u);
    Plan {
        behaviours,
        requests,
        chunks,
        choices: choices(u),
        shutdown_at,
        settings,
    }
}

fuzz_target!(|data: &[u8]| {
    let make = || FrameCodec::new(Delimited::newline());
    let mut u = Unstructured::new(data);
    if u.arbitrary::<bool>().unwrap_or(false) {
        let plan = client_plan(&mut u);
        if let Err(violation) = check_client(&make, PayloadModel::new(make()), &plan) {
            panic!("{violation}\n{plan:#?}");
        }
    } else {
        let plan = plan(&mut u);
        if let Err(violation) = check_server(&make, &plan) {
            panic!("{violation}\n{plan:#?}");
        }
    }
});
