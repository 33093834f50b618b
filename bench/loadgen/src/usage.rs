//! What the load generator itself has spent, for the "server plus client CPU per request" the
//! server benchmark reports: user and system CPU time and context switches of every thread of
//! this process, live or exited, from one `getrusage(RUSAGE_SELF)` call.

use std::io;
use std::mem::MaybeUninit;
use std::time::Duration;

/// This process's resource usage so far.
#[derive(Clone, Copy, Debug)]
pub struct Usage {
    /// CPU time spent in user space.
    pub user: Duration,
    /// CPU time the kernel spent on the process's behalf.
    pub system: Duration,
    /// Times a thread gave up the CPU to wait (a wake-up each, later).
    pub voluntary_switches: u64,
    /// Times a thread was preempted.
    pub involuntary_switches: u64,
}

impl Usage {
    /// Reads the usage of every thread of this process.
    pub fn of_this_process() -> io::Result<Usage> {
        let mut raw = MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: getrusage writes a whole `rusage` through the pointer, which points to
        // writable, properly aligned memory of that size; it is read only when the call succeeds.
        let raw = unsafe {
            if libc::getrusage(libc::RUSAGE_SELF, raw.as_mut_ptr()) != 0 {
                return Err(io::Error::last_os_error());
            }
            raw.assume_init()
        };
        Ok(Usage {
            user: timeval(raw.ru_utime),
            system: timeval(raw.ru_stime),
            voluntary_switches: u64::try_from(raw.ru_nvcsw).unwrap_or(0),
            involuntary_switches: u64::try_from(raw.ru_nivcsw).unwrap_or(0),
        })
    }
}

fn timeval(tv: libc::timeval) -> Duration {
    let secs = u64::try_from(tv.tv_sec).unwrap_or(0);
    let micros = u64::try_from(tv.tv_usec).unwrap_or(0);
    Duration::from_secs(secs).saturating_add(Duration::from_micros(micros))
}
