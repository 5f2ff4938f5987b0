//! The `handbook` binary: parses the command line and runs the verb (each in `cli/`).

use std::process::ExitCode;

use clap::Parser;

mod cli;

/// jemalloc rather than the C library's allocator. A held live-sync poll is mostly memory that actix-http allocates
/// per connection and per request and barely writes (two 8 KiB buffers, a 6.5 KiB header table); jemalloc keeps no
/// header inside such blocks, so their untouched pages stay unmapped. 10,000 held polls: +173 MB of RSS against
/// +207 MB with glibc's allocator (BENCHMARKS.md, issue 19).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    // Everything the service writes (database, WAL, keys, attachments, backups) is for its own user only; the
    // files module sets these modes explicitly too.
    // SAFETY: umask only sets the process's file-mode mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
    let cli = cli::Cli::parse();
    handbook::telemetry::init(&cli.settings);
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
