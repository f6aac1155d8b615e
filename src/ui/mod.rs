//! The terminal UI.

use std::time::Duration;

use anyhow::{Result, bail};

use crate::collect::Config;

pub fn run(_config: Config, _duration: Option<Duration>) -> Result<()> {
    bail!("the terminal UI is not built yet: use --json")
}
