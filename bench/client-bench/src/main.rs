//! client-bench: one client, one redis-server, a closed loop of GET/SET with a fixed number of
//! requests in flight, and what the client process spent per request (user + system CPU from
//! `getrusage`, so the runtime's and the socket's costs count). The same load from framekit's
//! RESP client (`--client framekit`) and from the redis crate's multiplexed tokio connection
//! (`--client redis`), each on one current-thread runtime and one connection.
//!
//! ```text
//! client-bench --addr 127.0.0.1:6379 --client framekit --in-flight 16 --requests 200000
//! # client  in_flight  requests  secs  req_per_s  cpu_us_per_req  user_us  sys_us
//! ```

use std::io;
use std::mem::MaybeUninit;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Parser, ValueEnum};
use framekit::connection::Settings;
use framekit_client::{Builder, Endpoint, Reconnect};
use framekit_examples::resp_client::RespClient;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Which {
    Framekit,
    Redis,
}

#[derive(Debug, Parser)]
struct Args {
    /// The redis-server.
    #[arg(long)]
    addr: String,
    /// Which client.
    #[arg(long, value_enum)]
    client: Which,
    /// Requests in flight at once (the number of concurrent callers).
    #[arg(long, default_value_t = 16)]
    in_flight: usize,
    /// Requests in all (half SET, half GET), at most.
    #[arg(long, default_value_t = 100_000)]
    requests: usize,
    /// Stop after this many seconds even if not all requests were made.
    #[arg(long, default_value_t = 30)]
    max_secs: u64,
}

fn main() -> io::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> io::Result<()> {
    let per_caller = args.requests / args.in_flight.max(1);
    let stop = Instant::now() + Duration::from_secs(args.max_secs);
    let value = Bytes::from(vec![b'v'; 32]);
    let (done, start, before) = match args.client {
        Which::Framekit => {
            let settings = Settings::default().max_in_flight(args.in_flight.max(1));
            let builder = Builder::new(Endpoint::tcp(&args.addr))
                .pool_size(1)
                .reconnect(Reconnect::Never);
            let client = RespClient::with(builder, settings);
            client.set("warm", "up").await.map_err(io::Error::other)?;
            let start = Instant::now();
            let before = usage()?;
            let mut tasks = tokio::task::JoinSet::new();
            for caller in 0..args.in_flight {
                let client = client.clone();
                let value = value.clone();
                tasks.spawn(async move {
                    let key = Bytes::from(format!("bench:{caller}"));
                    let mut n = 0usize;
                    while n < per_caller && Instant::now() < stop {
                        if n % 2 == 0 {
                            client
                                .set(key.clone(), value.clone())
                                .await
                                .map_err(io::Error::other)?;
                        } else {
                            client.get(key.clone()).await.map_err(io::Error::other)?;
                        }
                        n += 1;
                    }
                    Ok::<usize, io::Error>(n)
                });
            }
            let done = join(tasks).await?;
            client.close().await;
            (done, start, before)
        }
        Which::Redis => {
            let redis =
                redis::Client::open(format!("redis://{}/", args.addr)).map_err(io::Error::other)?;
            let conn = redis
                .get_multiplexed_async_connection()
                .await
                .map_err(io::Error::other)?;
            let conn = Rc::new(conn);
            let start = Instant::now();
            let before = usage()?;
            let local = tokio::task::LocalSet::new();
            let done = local
                .run_until(async {
                    let mut tasks = tokio::task::JoinSet::new();
                    for caller in 0..args.in_flight {
                        let mut conn = (*conn).clone();
                        let value = value.clone();
                        tasks.spawn_local(async move {
                            let key = format!("bench:{caller}");
                            let mut n = 0usize;
                            while n < per_caller && Instant::now() < stop {
                                if n % 2 == 0 {
                                    redis::cmd("SET")
                                        .arg(&key)
                                        .arg(&value[..])
                                        .query_async::<()>(&mut conn)
                                        .await
                                        .map_err(io::Error::other)?;
                                } else {
                                    redis::cmd("GET")
                                        .arg(&key)
                                        .query_async::<Option<Vec<u8>>>(&mut conn)
                                        .await
                                        .map_err(io::Error::other)?;
                                }
                                n += 1;
                            }
                            Ok::<usize, io::Error>(n)
                        });
                    }
                    join(tasks).await
                })
                .await?;
            (done, start, before)
        }
    };
    let secs = start.elapsed().as_secs_f64();
    let after = usage()?;
    let user = after.0.saturating_sub(before.0);
    let sys = after.1.saturating_sub(before.1);
    let per_req = (user + sys).as_secs_f64() * 1e6 / done.max(1) as f64;
    println!(
        "{:?}\t{}\t{}\t{:.3}\t{:.0}\t{:.3}\t{}\t{}",
        args.client,
        args.in_flight,
        done,
        secs,
        done as f64 / secs,
        per_req,
        user.as_micros(),
        sys.as_micros()
    );
    Ok(())
}

async fn join(mut tasks: tokio::task::JoinSet<io::Result<usize>>) -> io::Result<usize> {
    let mut done = 0;
    while let Some(result) = tasks.join_next().await {
        done += result.map_err(io::Error::other)??;
    }
    Ok(done)
}

/// User and system CPU of this process so far.
fn usage() -> io::Result<(Duration, Duration)> {
    let mut raw = MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a whole `rusage` through the pointer, which points to writable,
    // aligned memory of that size; it is read only when the call succeeds.
    let raw = unsafe {
        if libc::getrusage(libc::RUSAGE_SELF, raw.as_mut_ptr()) != 0 {
            return Err(io::Error::last_os_error());
        }
        raw.assume_init()
    };
    let time = |tv: libc::timeval| {
        let secs = u64::try_from(tv.tv_sec).unwrap_or(0);
        let micros = u64::try_from(tv.tv_usec).unwrap_or(0);
        Duration::from_secs(secs).saturating_add(Duration::from_micros(micros))
    };
    Ok((time(raw.ru_utime), time(raw.ru_stime)))
}
