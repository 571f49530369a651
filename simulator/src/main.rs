//! `status-1to1-sim` (the CLI lands in a later commit).

fn main() {}
