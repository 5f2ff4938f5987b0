//! The `handbook` binary: parses the command line and runs the verb (each in `cli/`).

use std::process::ExitCode;

use clap::Parser;

mod cli;

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
