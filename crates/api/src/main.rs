use clap::Parser;

/// jemalloc rather than the system allocator: under a long mixed load glibc's malloc
/// keeps the freed memory of its per-thread arenas (the request workers and the blocking
/// pool's short-lived threads) fragmented and resident, so a server's memory grows by
/// about a MiB a minute while its live heap stays flat; jemalloc returns it
/// (`docs/benchmarks.md`, the soak).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    match api::cli::run(api::cli::Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
