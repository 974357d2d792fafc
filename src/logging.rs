//! Diagnostics on stderr via `tracing`: `-q` errors only, default warnings, `-v` debug, `-vv` trace.
//! Colours only on a terminal (and never with `NO_COLOR`): stderr redirected to a file or
//! a CI log gets plain text.

use std::io::IsTerminal;

use tracing::Level;

pub fn init(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => Level::ERROR,
        (false, 0) => Level::WARN,
        (false, 1) => Level::DEBUG,
        (false, _) => Level::TRACE,
    };
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_target(false)
        .without_time()
        .try_init();
}
