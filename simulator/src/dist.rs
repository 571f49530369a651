//! Latency and timing distributions, fitted to the published Waku measurements.
//!
//! Everything is computed with +, -, *, / and sqrt only (plus a series logarithm), so samples
//! are bit-identical across platforms and libm versions. Sources are cited per constant; the
//! research note is `shared/research/waku-network-model.md` (§2 measurements, §4.3 parameters).

use serde::{Deserialize, Serialize};

use crate::rng::SimRng;

/// Natural logarithm from basic arithmetic only (platform-independent, unlike `f64::ln`, whose
/// last bit depends on the libm). Relative error below 1e-15 on normal positive inputs;
/// returns `-inf`-like large negative values for 0 and NaN for negatives.
pub fn det_ln(x: f64) -> f64 {
    if x.is_nan() || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return -745.0;
    }
    if x.is_infinite() {
        return x;
    }
    // Split x = m · 2^e with m in [1, 2), via the bit pattern (normal numbers; subnormals are
    // scaled first).
    let (mut m, mut e) = if x < f64::MIN_POSITIVE { (x * (1u64 << 54) as f64, -54i64) } else { (x, 0) };
    let bits = m.to_bits();
    e += ((bits >> 52) & 0x7ff) as i64 - 1023;
    m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    // Move m into [sqrt(1/2), sqrt(2)) so the series argument stays small (|t| <= 0.172).
    if m > std::f64::consts::SQRT_2 {
        m /= 2.0;
        e += 1;
    }
    // ln(m) = 2·atanh(t), t = (m-1)/(m+1).
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let mut term = t;
    let mut sum = 0.0;
    let mut k = 1.0;
    for _ in 0..14 {
        sum += term / k;
        term *= t2;
        k += 2.0;
    }
    2.0 * sum + e as f64 * std::f64::consts::LN_2
}

/// An exponential sample with the given mean, from a uniform `u` in `[0, 1)`.
pub fn exponential(u: f64, mean: f64) -> f64 {
    -mean * det_ln(1.0 - u)
}

/// A Pareto(α = 2) sample with scale `xm`, capped: `xm / sqrt(1 - u)`. α = 2 keeps the mean
/// finite (2·xm) while still giving a heavy tail, and needs only sqrt.
pub fn pareto2(u: f64, xm: f64, cap: f64) -> f64 {
    let s = (1.0 - u).sqrt();
    if s <= 0.0 { cap } else { (xm / s).min(cap) }
}

/// A piecewise-linear quantile function: `points` are `(cumulative probability, value)`, with
/// probabilities increasing from 0 to 1. Sampling is inverse-transform with linear
/// interpolation, i.e. a fitted empirical distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantileTable {
    /// `(p, value)` pairs, `p` strictly increasing from 0.0 to 1.0.
    pub points: Vec<(f64, f64)>,
}

impl QuantileTable {
    /// The value at cumulative probability `u`.
    pub fn quantile(&self, u: f64) -> f64 {
        let pts = &self.points;
        let Some(&(_, first)) = pts.first() else { return 0.0 };
        let mut prev = (0.0, first);
        for &(p, v) in pts {
            if u <= p {
                let span = p - prev.0;
                return if span <= 0.0 { v } else { prev.1 + (v - prev.1) * (u - prev.0) / span };
            }
            prev = (p, v);
        }
        prev.1
    }

    /// One sample.
    pub fn sample(&self, rng: &mut SimRng) -> f64 {
        self.quantile(rng.unit())
    }
}

/// One-way latency of a direct client-to-service link (store, filter, lightpush RPC legs):
/// log-normal with median 50 ms and σ = 0.6, tabulated at its quantiles (computed offline with
/// Python's `NormalDist`). Median 50 ms one-way is the "≈100 ms average RTT" of the Waku network
/// monitor (waku-network-model.md §2, "real network RTT"; §4.3 "one-way link latency").
pub fn default_link_latency() -> QuantileTable {
    QuantileTable {
        points: vec![
            (0.0, 3.9),
            (0.001, 7.8),
            (0.01, 12.4),
            (0.05, 18.6),
            (0.10, 23.2),
            (0.25, 33.4),
            (0.50, 50.0),
            (0.75, 74.9),
            (0.90, 107.9),
            (0.95, 134.1),
            (0.99, 201.9),
            (0.999, 319.3),
            (1.0, 646.1),
        ],
    }
}

/// End-to-end relay (gossipsub) delivery delay from a publisher to one subscriber.
///
/// Fitted to the 1000-node nwaku shadow runs (D=6, 150 ms RTT, RLN 0.15 s generation simulated),
/// waku-org/research `rln-delay-simulations/raw/paper_latency_2kb_v2.txt` as summarised in
/// waku-network-model.md §2: 2 kB messages arrive in four clusters at ≈366/440/518/597 ms holding
/// 5.3/28.1/56.3/10.3 % of deliveries (read as hop counts), min 356, p50 518, p95 597, max 604 ms.
/// The model is that hop mixture with a small symmetric jitter, plus a size term and an optional
/// heavy tail for congested or backgrounded peers (§4.4 item 2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelayLatency {
    /// Probability of each hop class.
    pub hop_weights: Vec<f64>,
    /// Centre of each hop class in milliseconds.
    pub hop_centers_ms: Vec<f64>,
    /// Half-width of the triangular jitter around a class centre.
    pub jitter_ms: f64,
    /// Milliseconds removed from every sample: 0 keeps the measured RLN proof generation
    /// (150 ms, Vac's simulated cost) inside the delay; 150 models a network without RLN.
    pub minus_ms: f64,
    /// Multiplier on the whole delay (sweep ×0.1 … ×5, §4.3).
    pub scale: f64,
    /// Extra delay by serialized size: `(bytes, ms)` points, linear in between. From the same raw
    /// data: 10 kB p50 equals 2 kB (518 ms), 25 kB p50 773 ms (+255), 100 kB p50 918 ms (+400);
    /// extrapolated linearly to the 150 KiB limit.
    pub size_points: Vec<(f64, f64)>,
}

impl Default for RelayLatency {
    fn default() -> Self {
        Self {
            hop_weights: vec![0.053, 0.281, 0.563, 0.103],
            hop_centers_ms: vec![366.0, 440.0, 518.0, 597.0],
            jitter_ms: 10.0,
            minus_ms: 0.0,
            scale: 1.0,
            size_points: vec![(0.0, 0.0), (10_240.0, 0.0), (25_600.0, 255.0), (102_400.0, 400.0), (153_600.0, 497.0)],
        }
    }
}

impl RelayLatency {
    /// One delay sample in milliseconds for a message of `size` serialized bytes.
    pub fn sample_ms(&self, rng: &mut SimRng, size: usize) -> f64 {
        let pick = rng.unit();
        let mut acc = 0.0;
        let mut center = self.hop_centers_ms.last().copied().unwrap_or(0.0);
        for (w, c) in self.hop_weights.iter().zip(&self.hop_centers_ms) {
            acc += w;
            if pick < acc {
                center = *c;
                break;
            }
        }
        // Triangular jitter: sum of two uniforms, centred.
        let jitter = (rng.unit() + rng.unit() - 1.0) * self.jitter_ms;
        let base = (center + jitter + self.size_term_ms(size) - self.minus_ms).max(1.0);
        base * self.scale
    }

    fn size_term_ms(&self, size: usize) -> f64 {
        let x = size as f64;
        let pts = &self.size_points;
        for pair in pts.windows(2) {
            let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
            if x <= x1 {
                return if x1 <= x0 { y1 } else { y0 + (y1 - y0) * (x - x0).max(0.0) / (x1 - x0) };
            }
        }
        pts.last().map_or(0.0, |p| p.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn det_ln_matches_std_closely() {
        for &x in &[1e-300, 1e-10, 0.001, 0.5, 0.7, 1.0, 1.5, 2.0, 10.0, 12345.678, 1e300] {
            let (a, b): (f64, f64) = (det_ln(x), x.ln());
            assert!((a - b).abs() <= 1e-13 * b.abs().max(1.0), "{x}: {a} vs {b}");
        }
        assert!(det_ln(-1.0).is_nan());
    }

    #[test]
    fn exponential_mean_is_close() {
        let mut r = SimRng::new(3, "exp", 0);
        let n = 20_000;
        let mean: f64 = (0..n).map(|_| exponential(r.unit(), 10.0)).sum::<f64>() / n as f64;
        assert!((mean - 10.0).abs() < 0.5, "{mean}");
    }

    #[test]
    fn relay_latency_reproduces_published_percentiles() {
        let model = RelayLatency::default();
        let mut r = SimRng::new(5, "lat", 0);
        let mut xs: Vec<f64> = (0..20_000).map(|_| model.sample_ms(&mut r, 2_000)).collect();
        xs.sort_by(f64::total_cmp);
        let q = |p: f64| xs[((xs.len() - 1) as f64 * p) as usize];
        // Published: min 356, p50 518, p95 597, max 604 ms.
        assert!((q(0.0) - 356.0).abs() < 15.0, "min {}", q(0.0));
        assert!((q(0.5) - 518.0).abs() < 10.0, "p50 {}", q(0.5));
        assert!((q(0.95) - 597.0).abs() < 10.0, "p95 {}", q(0.95));
        assert!(q(1.0) <= 607.0, "max {}", q(1.0));
        let big = model.sample_ms(&mut r, 100 * 1024);
        assert!(big > 700.0, "100 kB sample {big}");
    }

    #[test]
    fn link_latency_median_is_fifty_ms() {
        let t = default_link_latency();
        assert_eq!(t.quantile(0.5), 50.0);
        assert!((t.quantile(0.375) - 41.7).abs() < 0.1);
        assert_eq!(t.quantile(1.0), 646.1);
        assert_eq!(t.quantile(0.0), 3.9);
    }

    #[test]
    fn pareto_is_capped() {
        assert_eq!(pareto2(0.0, 1_000.0, 30_000.0), 1_000.0);
        assert_eq!(pareto2(0.999_999_999, 1_000.0, 30_000.0), 30_000.0);
    }
}
