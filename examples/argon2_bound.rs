//! The Argon2id bound of `scripts/bench-login.sh`: how many password hashes per second this
//! machine can compute with the server's parameters on every core, with the same `argon2`
//! crate Verity uses. A sign-in checks one password, so this is the ceiling for sign-ins/s.
//!
//! ```text
//! argon2_bound [--seconds 5] [--threads N] [--memory-kib M] [--iterations T] [--parallelism P]
//! ```
//!
//! Threads default to the number of cores, parameters to Verity's defaults
//! (`verity::config::Security::default()`: m=19456 KiB, t=2, p=1). Each thread allocates its
//! memory blocks once and hashes in a loop (as the server's block pool does), so the figure
//! is pure hashing. Prints `ARGON2_BOUND <hashes/s> <threads> <m> <t> <p> <hashes> <seconds>`.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Block, Params, Version};
use clap::Parser;

#[derive(Parser)]
#[command(about = "Argon2id hashes per second on every core")]
struct Args {
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Default: one per core.
    #[arg(long)]
    threads: Option<usize>,
    #[arg(long)]
    memory_kib: Option<u32>,
    #[arg(long)]
    iterations: Option<u32>,
    #[arg(long)]
    parallelism: Option<u32>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let defaults = verity::config::Security::default();
    let params = Params::new(
        args.memory_kib.unwrap_or(defaults.argon2_memory_kib),
        args.iterations.unwrap_or(defaults.argon2_iterations),
        args.parallelism.unwrap_or(defaults.argon2_parallelism),
        None,
    )
    .map_err(|e| anyhow::anyhow!("invalid Argon2 parameters: {e}"))?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let run_for = Duration::from_secs_f64(args.seconds);
    let start = Arc::new(Barrier::new(threads + 1));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (params, start) = (params.clone(), start.clone());
            std::thread::spawn(move || {
                let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
                let mut blocks = vec![Block::default(); params.block_count()];
                let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
                let salt = verity::crypto::random_bytes(16);
                start.wait();
                let began = Instant::now();
                let mut hashes = 0u64;
                while began.elapsed() < run_for {
                    let password = format!("bench password {t} {hashes}");
                    argon
                        .hash_password_into_with_memory(
                            password.as_bytes(),
                            &salt,
                            &mut out,
                            &mut blocks,
                        )
                        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?;
                    hashes += 1;
                }
                anyhow::Ok((hashes, began.elapsed()))
            })
        })
        .collect();
    start.wait();
    let (mut hashes, mut rate) = (0u64, 0.0f64);
    let mut longest = Duration::ZERO;
    for w in workers {
        let (n, took) = w
            .join()
            .map_err(|_| anyhow::anyhow!("a hashing thread panicked"))??;
        hashes += n;
        // Each thread's own rate: a thread whose last hash ran past the deadline isn't penalised.
        rate += n as f64 / took.as_secs_f64();
        longest = longest.max(took);
    }
    println!(
        "ARGON2_BOUND {rate:.1} {threads} {} {} {} {hashes} {:.2}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        longest.as_secs_f64()
    );
    Ok(())
}
