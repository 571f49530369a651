//! Settings shared by the benches: short measurement windows (the build machines have two cores
//! shared with other work), and the message sizes every table uses.

#![allow(dead_code)] // each bench binary uses part of this module

use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};

/// Plaintext sizes of the message benches.
pub const SIZES: [usize; 2] = [256, 4096];

/// A benchmark group with the project's sampling settings (overridable on the command line).
pub fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(30).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    g
}

/// The ChaCha20-Poly1305 input length of a Noise transport message of `len` plaintext bytes
/// (PKCS#7 padding to a multiple of 248).
pub const fn noise_padded_len(len: usize) -> usize {
    len + status_1to1::noise::padding::padding_len(len)
}
