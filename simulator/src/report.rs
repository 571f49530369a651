//! Human-facing output: the summary table and a hand-written SVG report.

use std::fmt::Write as _;

use crate::world::RunReport;

/// One row per hostile kind: injected, handled, rejected, answered (answer messages).
fn hostile_rows(h: &crate::hostile::HostileStats) -> Vec<(&'static str, String)> {
    use crate::hostile::HostileKind;
    let mut rows =
        vec![("hostile: stranger identities", format!("{} ({} stranger errors)", h.identities, h.stranger_errors))];
    for kind in HostileKind::ALL {
        let c = h.of(kind);
        let label = match kind {
            HostileKind::Stranger => "hostile strangers: sent/handled/rej/ans",
            HostileKind::BigBundle => "hostile big bundles: sent/handled/rej/ans",
            HostileKind::Reflection => "hostile reflections: sent/handled/rej/ans",
            HostileKind::Burst => "hostile burst junk: sent/handled/rej/ans",
            HostileKind::Other => "other adversary msgs: handled/rej/ans",
        };
        let value = if kind == HostileKind::Other {
            format!("{} / {} / {} ({} msgs)", c.handled, c.rejected, c.answered, c.answers)
        } else {
            format!("{} / {} / {} / {} ({} msgs)", c.injected, c.handled, c.rejected, c.answered, c.answers)
        };
        rows.push((label, value));
    }
    rows
}

/// The summary table. `wall_secs` is measured by the caller (the library never reads a clock).
pub fn summary(r: &RunReport, wall_secs: Option<f64>) -> String {
    let m = &r.metrics;
    let h = &m.latency_ms;
    let mut rows: Vec<(&str, String)> = vec![
        ("seed", r.seed.to_string()),
        ("users / devices", format!("{} / {}", r.users, r.devices)),
        ("virtual time", r.end.to_string()),
        ("messages issued", m.issued.to_string()),
        ("deliveries owed / done", format!("{} / {}", r.owed, r.completed)),
        ("delivery ratio", format!("{:.4}", r.delivery_ratio())),
        (
            "latency p50 / p90 / p99 / max",
            format!("{} / {} / {} / {} ms", h.quantile(0.5), h.quantile(0.9), h.quantile(0.99), h.max()),
        ),
        ("duplicates suppressed", m.duplicates_suppressed.to_string()),
        ("retransmissions", m.retransmissions.to_string()),
        ("rejected (forged/tampered/misaddressed)", m.rejected.to_string()),
        ("crashes / restarts", format!("{} / {}", m.crashes, m.restarts)),
        ("fault events", r.fault_events.to_string()),
        (
            "lost: partition / random / down",
            format!("{} / {} / {}", r.net.lost_partition, r.net.lost_random, r.net.lost_receiver_down),
        ),
        (
            "store: archived / bad-ts / queries ok / failed",
            format!(
                "{} / {} / {} / {}",
                r.net.archived, r.net.archive_bad_timestamp, r.net.store_ok, r.net.store_failed
            ),
        ),
        ("lightpush ok / failed", format!("{} / {}", r.net.lightpush_ok, r.net.lightpush_failed)),
        (
            "adversary drop / tamper / inject",
            format!("{} / {} / {}", r.net.adv_dropped, r.net.adv_tampered, r.net.adv_injected),
        ),
        ("answers to the adversary", m.answers_to_strangers.to_string()),
        (
            "invariant checks passed",
            format!("{} ({} violations)", r.checks.saturating_sub(r.violation_count), r.violation_count),
        ),
        ("events", m.events.to_string()),
        ("memory per device", format!("{} B (max {} B)", r.memory.per_device_bytes, r.memory.max_device_bytes)),
        ("trace hash", r.trace_hex()),
    ];
    let hostile = r.hostile.as_ref().map(hostile_rows).unwrap_or_default();
    let at = rows.len() - 4;
    rows.splice(at..at, hostile);
    if let Some(w) = wall_secs {
        rows.insert(rows.len() - 1, ("events/s (wall)", format!("{:.0}", m.events as f64 / w.max(1e-9))));
        rows.insert(rows.len() - 1, ("wall time", format!("{w:.2} s")));
    }
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (k, v) in rows {
        let _ = writeln!(out, "  {k:<width$}  {v}");
    }
    out
}

/// An SVG report: latency histogram, latency CDF, and issued vs delivered over time.
pub fn svg(r: &RunReport) -> String {
    let (w, h) = (900.0, 720.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="20" y="24" font-size="16">status-1to1-sim seed {} — {} users, {} devices, delivery ratio {:.4}, trace {}</text>
"#,
        r.seed,
        r.users,
        r.devices,
        r.delivery_ratio(),
        &r.trace_hex()[..16]
    );
    latency_panels(&mut s, r);
    timeline_panel(&mut s, r);
    s.push_str("</svg>\n");
    s
}

fn axes(s: &mut String, x: f64, y: f64, w: f64, h: f64, title: &str, xlabel: &str) {
    let _ = writeln!(s, r##"<text x="{x}" y="{}" font-size="14">{title}</text>"##, y - 8.0);
    let _ = writeln!(s, r##"<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="none" stroke="#888"/>"##);
    let _ = writeln!(s, r##"<text x="{}" y="{}" text-anchor="middle">{xlabel}</text>"##, x + w / 2.0, y + h + 28.0);
}

fn latency_panels(s: &mut String, r: &RunReport) {
    let hist = &r.metrics.latency_ms;
    let buckets: Vec<(u64, u64)> = hist.buckets().collect();
    let (x0, y0, pw, ph) = (60.0, 60.0, 370.0, 240.0);
    axes(s, x0, y0, pw, ph, "Latency histogram (log x)", "ms");
    axes(s, x0 + 450.0, y0, pw, ph, "Latency CDF (log x)", "ms");
    if buckets.is_empty() {
        return;
    }
    let max_v = hist.max().max(2) as f64;
    let lx = |v: u64| (det_log2((v.max(1)) as f64) / det_log2(max_v)).clamp(0.0, 1.0);
    let max_c = buckets.iter().map(|b| b.1).max().unwrap_or(1) as f64;
    for (i, (v, c)) in buckets.iter().enumerate() {
        let next = buckets.get(i + 1).map_or(*v as f64 * 1.07 + 1.0, |b| b.0 as f64);
        let xa = x0 + lx(*v) * pw;
        let xb = x0 + (det_log2(next.max(1.0)) / det_log2(max_v)).clamp(0.0, 1.0) * pw;
        let bh = *c as f64 / max_c * ph;
        let _ = writeln!(
            s,
            r##"<rect x="{xa:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}" fill="#4a7fb5"/>"##,
            y0 + ph - bh,
            (xb - xa).max(1.0)
        );
    }
    let total = hist.count().max(1) as f64;
    let mut acc = 0u64;
    let mut pts = String::new();
    for (v, c) in &buckets {
        acc += c;
        let _ = write!(pts, "{:.1},{:.1} ", x0 + 450.0 + lx(*v) * pw, y0 + ph - acc as f64 / total * ph);
    }
    let _ = writeln!(s, r##"<polyline points="{pts}" fill="none" stroke="#c0392b" stroke-width="2"/>"##);
    for q in [0.5, 0.9, 0.99] {
        let v = hist.quantile(q);
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" fill="#c0392b">p{} {v} ms</text>"##,
            x0 + 460.0,
            y0 + 16.0 + 16.0 * (q * 10.0).round(),
            q * 100.0
        );
    }
    for tick in [1u64, 10, 100, 1_000, 10_000, 100_000] {
        if (tick as f64) <= max_v {
            for base in [x0, x0 + 450.0] {
                let _ = writeln!(
                    s,
                    r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#555">{tick}</text>"##,
                    base + lx(tick) * pw,
                    y0 + ph + 14.0
                );
            }
        }
    }
}

fn timeline_panel(s: &mut String, r: &RunReport) {
    let (x0, y0, pw, ph) = (60.0, 400.0, 820.0, 250.0);
    let bucket_s = r.metrics.timeline_bucket_ms / 1_000;
    axes(
        s,
        x0,
        y0,
        pw,
        ph,
        &format!("Messages issued (grey) and delivered to installations (blue) per {bucket_s} s"),
        "virtual time (s)",
    );
    let t = &r.metrics.timeline;
    if t.is_empty() {
        return;
    }
    let max_c = t.iter().map(|(a, b)| (*a).max(*b)).max().unwrap_or(1).max(1) as f64;
    let n = t.len() as f64;
    // The axis spans the whole run, including the quiet end of the catch-up window.
    let total_s = (n * bucket_s as f64).max(r.end.as_millis() as f64 / 1_000.0).max(1.0);
    let line = |f: &dyn Fn(&(u64, u64)) -> u64| {
        t.iter()
            .enumerate()
            .map(|(i, v)| {
                let x = x0 + (i as f64 + 0.5) * bucket_s as f64 / total_s * pw;
                format!("{x:.1},{:.1}", y0 + ph - f(v) as f64 / max_c * ph)
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let _ = writeln!(s, r##"<polyline points="{}" fill="none" stroke="#999" stroke-width="1.5"/>"##, line(&|v| v.0));
    let _ = writeln!(s, r##"<polyline points="{}" fill="none" stroke="#2a6fdb" stroke-width="1.5"/>"##, line(&|v| v.1));
    let step = nice_step(total_s / 6.0);
    let mut tick = 0.0;
    while tick <= total_s {
        let x = x0 + tick / total_s * pw;
        let _ = writeln!(
            s,
            r##"<text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#555">{tick:.0}</text>"##,
            y0 + ph + 14.0
        );
        tick += step;
    }
    let fault_end_s = r.fault_end.as_millis() as f64 / 1_000.0;
    if fault_end_s > 0.0 && fault_end_s < total_s {
        let x = x0 + fault_end_s / total_s * pw;
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{y0}" x2="{x:.1}" y2="{:.1}" stroke="#2e8b57" stroke-dasharray="4 3"/>"##,
            y0 + ph
        );
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" fill="#2e8b57" text-anchor="end">faults stop, catch-up →</text>"##,
            x - 4.0,
            y0 + 28.0
        );
    }
    let _ = writeln!(s, r##"<text x="{:.1}" y="{:.1}" fill="#555">max {max_c:.0}</text>"##, x0 + 4.0, y0 + 14.0);
}

/// A 1-2-5 step at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if !raw.is_finite() || raw <= 1.0 {
        return 1.0;
    }
    let mut step = 1.0;
    loop {
        for m in [1.0, 2.0, 5.0] {
            if step * m >= raw {
                return step * m;
            }
        }
        step *= 10.0;
    }
}

/// log2 for plotting (only affects pixels, never the simulation).
fn det_log2(x: f64) -> f64 {
    crate::dist::det_ln(x) / std::f64::consts::LN_2
}
