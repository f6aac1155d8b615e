//! One module a view: its rows, sort columns and rendering.

pub mod detail;
pub mod files;
pub mod processes;
pub mod syscalls;
