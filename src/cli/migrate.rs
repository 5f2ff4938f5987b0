//! `handbook migrate`: apply pending database migrations and exit.

use handbook::config::Settings;

pub fn run(settings: &Settings) -> anyhow::Result<()> {
    let db = super::open(settings, 1)?;
    println!("{} is up to date", db.url().display());
    Ok(())
}
