//! `status-1to1-sim`: run, replay, sweep and minimize deterministic simulations.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use status_1to1_sim::minimize::{self, Scenario};
use status_1to1_sim::report;
use status_1to1_sim::scenario::{Overrides, Preset, ScenarioConfig, ScenarioSpec};
use status_1to1_sim::world::{self, Progress, RunOptions, RunReport};

#[derive(Debug, Parser)]
#[command(
    name = "status-1to1-sim",
    version,
    about = "Deterministic simulator: many virtual Status 1:1 chat devices over a lossy Waku network",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Without a subcommand: `run` with these arguments.
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one scenario (the default).
    Run(RunArgs),
    /// Reproduce a run from its seed (same flags as the original run), or a scenario file.
    Replay(ReplayArgs),
    /// Run a range of seeds, each with a swarm configuration; shard across machines with --shard.
    Sweep(SweepArgs),
    /// Shrink a failing run's fault schedule and knobs; writes a scenario file.
    Minimize(MinimizeArgs),
}

#[derive(Debug, Clone, Args)]
struct ScenarioArgs {
    /// Scenario size.
    #[arg(long, value_enum)]
    preset: Option<Preset>,
    /// Draw the fault mix, device mix and graph from the seed (TigerBeetle swarm testing).
    #[arg(long)]
    swarm: bool,
    #[command(flatten)]
    overrides: Overrides,
    /// Plant a bug in every stand-in node (none, skip-duplicate-check, accept-unauthenticated,
    /// deliver-before-persist, publish-before-persist, no-retransmit).
    #[cfg(feature = "mutants")]
    #[arg(long)]
    mutant: Option<status_1to1_sim::standin::Mutation>,
}

impl ScenarioArgs {
    fn spec(&self, default: Preset) -> ScenarioSpec {
        ScenarioSpec { preset: self.preset.unwrap_or(default), swarm: self.swarm, overrides: self.overrides.clone() }
    }

    /// Flags outside the spec that a replay command must repeat.
    fn extra_args(&self) -> String {
        #[cfg(feature = "mutants")]
        if let Some(m) = self.mutant {
            return format!(" --mutant {}", m.name());
        }
        String::new()
    }
}

#[derive(Debug, Clone, Args)]
struct OutputArgs {
    /// Write an SVG report (latency histogram and CDF, delivery over time).
    #[arg(long)]
    report: Option<PathBuf>,
    /// Write the full trace as JSON lines.
    #[arg(long)]
    trace: Option<PathBuf>,
    /// Print the summary as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Keep running after the first violation.
    #[arg(long)]
    keep_going: bool,
}

#[derive(Debug, Clone, Args)]
struct RunArgs {
    /// Root seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[command(flatten)]
    scenario: ScenarioArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Clone, Args)]
struct ReplayArgs {
    /// The seed of the run to reproduce.
    #[arg(required_unless_present = "scenario_file")]
    seed: Option<u64>,
    /// Replay a scenario file written by `minimize` instead.
    #[arg(long = "scenario", value_name = "FILE")]
    scenario_file: Option<PathBuf>,
    #[command(flatten)]
    scenario: ScenarioArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Clone, Args)]
struct SweepArgs {
    /// Seeds A..B (end exclusive) or A..=B.
    #[arg(long, value_parser = parse_seed_range)]
    seeds: (u64, u64),
    /// Run only seeds whose index is i modulo n ("i/n"), so n machines share a sweep.
    #[arg(long, value_parser = parse_shard)]
    shard: Option<(u64, u64)>,
    /// Use the preset configuration for every seed instead of a swarm configuration.
    #[arg(long)]
    no_swarm: bool,
    /// Worker threads (each simulation stays single-threaded and deterministic).
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    #[command(flatten)]
    scenario: ScenarioArgs,
}

#[derive(Debug, Clone, Args)]
struct MinimizeArgs {
    /// The failing seed.
    seed: u64,
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Where to write the minimized scenario.
    #[arg(long, default_value = "minimized-scenario.json")]
    out: PathBuf,
    /// Largest number of candidate runs.
    #[arg(long, default_value_t = 300)]
    max_runs: usize,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => cmd_run(&cli.run),
        Some(Command::Run(a)) => cmd_run(&a),
        Some(Command::Replay(a)) => cmd_replay(&a),
        Some(Command::Sweep(a)) => cmd_sweep(&a),
        Some(Command::Minimize(a)) => cmd_minimize(&a),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Wall-clock time, for the events/s figure only: it never feeds the simulation.
#[allow(clippy::disallowed_methods)]
fn wall_now() -> Instant {
    Instant::now()
}

fn execute(cfg: ScenarioConfig, opts: RunOptions, scenario: &ScenarioArgs) -> RunReport {
    #[cfg(feature = "mutants")]
    if let Some(m) = scenario.mutant {
        return status_1to1_sim::run::run_mutant(cfg, m, opts);
    }
    let _ = scenario;
    status_1to1_sim::run(cfg, opts)
}

fn progress_bar(len: u64, template: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

fn run_one(
    cfg: ScenarioConfig,
    schedule: Option<status_1to1_sim::faults::FaultSchedule>,
    scenario: &ScenarioArgs,
    output: &OutputArgs,
) -> Result<(RunReport, f64), String> {
    let end_ms = cfg.fault_phase_ms + cfg.catchup_ms;
    let bar = progress_bar(end_ms / 1_000, "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} virtual s {msg}");
    let tick = bar.clone();
    let trace_sink: Option<Box<dyn std::io::Write>> = match &output.trace {
        Some(path) => {
            let f = std::fs::File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
            Some(Box::new(std::io::BufWriter::new(f)))
        }
        None => None,
    };
    let opts = RunOptions {
        stop_on_violation: !output.keep_going,
        trace_sink,
        schedule,
        adversary: None,
        progress: Some(Box::new(move |p: Progress| {
            tick.set_position(p.now.as_millis() / 1_000);
            tick.set_message(format!("{} events, {} violations", p.events, p.violations));
        })),
    };
    let start = wall_now();
    let report = execute(cfg, opts, scenario);
    let wall = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    if let Some(e) = &report.trace_error {
        return Err(format!("writing the trace failed: {e}"));
    }
    Ok((report, wall))
}

fn print_outcome(
    report: &RunReport,
    wall: f64,
    spec: Option<(&ScenarioSpec, String)>,
    output: &OutputArgs,
) -> Result<bool, String> {
    if output.json {
        println!("{}", json_summary(report, wall));
    } else {
        print!("{}", report::summary(report, Some(wall)));
    }
    if let Some(path) = &output.report {
        std::fs::write(path, report::svg(report)).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("report written to {}", path.display());
    }
    if report.passed() {
        eprintln!("all invariants held; trace hash {}", report.trace_hex());
        return Ok(true);
    }
    eprintln!("\n{} invariant violation(s); first ones:", report.violation_count);
    for v in report.violations.iter().take(10) {
        eprintln!("  - {v}");
    }
    if let Some((spec, extra)) = spec {
        let replay = format!("{}{extra}", status_1to1_sim::replay_command(report.seed, spec));
        eprintln!("\nreplay:   {replay}");
        eprintln!("minimize: {}", replay.replacen(" replay ", " minimize ", 1));
    }
    Ok(false)
}

fn cmd_run(a: &RunArgs) -> Result<bool, String> {
    let spec = a.scenario.spec(Preset::Default);
    let cfg = spec.config(a.seed);
    eprintln!(
        "seed {} · {} users · {} of faults + {} catch-up · {:?} node · key exchange {:?} · suite {:?}",
        a.seed,
        cfg.workload.users,
        status_1to1_sim::scenario::format_duration_ms(cfg.fault_phase_ms),
        status_1to1_sim::scenario::format_duration_ms(cfg.catchup_ms),
        cfg.node,
        cfg.key_exchange,
        cfg.suite
    );
    let h = &cfg.faults.hostile;
    if h.is_active() {
        eprintln!(
            "hostile: {} victim(s) · {} strangers, {:.0} texts/h each ({:.0}% fresh) · {:.0} big bundles/h of {} \
             installations · reflect {:.0}% · {:.0} store bursts/h of {}",
            h.victims,
            h.strangers,
            h.stranger_texts_per_hour,
            100.0 * h.fresh_share,
            h.big_bundles_per_hour,
            h.bundle_installations,
            100.0 * h.reflect,
            h.bursts_per_hour,
            h.burst_messages
        );
    }
    let (report, wall) = run_one(cfg, None, &a.scenario, &a.output)?;
    print_outcome(&report, wall, Some((&spec, a.scenario.extra_args())), &a.output)
}

fn cmd_replay(a: &ReplayArgs) -> Result<bool, String> {
    if let Some(path) = &a.scenario_file {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let s: Scenario = serde_json::from_str(&text).map_err(|e| format!("bad scenario file: {e}"))?;
        let (report, wall) = run_one(s.config, Some(s.schedule), &a.scenario, &a.output)?;
        return print_outcome(&report, wall, None, &a.output);
    }
    let seed = a.seed.ok_or("a seed or --scenario FILE is required")?;
    let spec = a.scenario.spec(Preset::Default);
    let (report, wall) = run_one(spec.config(seed), None, &a.scenario, &a.output)?;
    print_outcome(&report, wall, Some((&spec, a.scenario.extra_args())), &a.output)
}

struct SeedResult {
    seed: u64,
    passed: bool,
    events: u64,
    first: Option<String>,
}

fn cmd_sweep(a: &SweepArgs) -> Result<bool, String> {
    let mut spec = a.scenario.spec(Preset::Small);
    spec.swarm = !a.no_swarm;
    let (lo, hi) = a.seeds;
    let (i, n) = a.shard.unwrap_or((0, 1));
    let seeds: Vec<u64> = (lo..hi).filter(|s| (s - lo) % n == i).collect();
    let bar = progress_bar(seeds.len() as u64, "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} seeds {msg}");
    let start = wall_now();
    let jobs = a.jobs.clamp(1, 64);
    let chunks: Vec<Vec<u64>> = (0..jobs).map(|j| seeds.iter().copied().skip(j).step_by(jobs).collect()).collect();
    let mut results: Vec<SeedResult> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let (spec, bar, scenario) = (spec.clone(), bar.clone(), a.scenario.clone());
                scope.spawn(move || {
                    chunk
                        .into_iter()
                        .map(|seed| {
                            let r = execute(spec.config(seed), RunOptions::default(), &scenario);
                            bar.inc(1);
                            SeedResult {
                                seed,
                                passed: r.passed(),
                                events: r.metrics.events,
                                first: r.violations.first().map(ToString::to_string),
                            }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    bar.finish_and_clear();
    results.sort_by_key(|r| r.seed);
    let wall = start.elapsed().as_secs_f64();
    let failed: Vec<&SeedResult> = results.iter().filter(|r| !r.passed).collect();
    let events: u64 = results.iter().map(|r| r.events).sum();
    println!(
        "sweep {lo}..{hi} shard {i}/{n}: {} seeds, {} passed, {} failed, {events} events in {wall:.1} s ({:.0} events/s)",
        results.len(),
        results.len() - failed.len(),
        failed.len(),
        events as f64 / wall.max(1e-9)
    );
    for r in &failed {
        println!("FAIL seed {}: {}", r.seed, r.first.as_deref().unwrap_or("?"));
        println!("  replay: {}{}", status_1to1_sim::replay_command(r.seed, &spec), a.scenario.extra_args());
    }
    Ok(failed.is_empty())
}

fn cmd_minimize(a: &MinimizeArgs) -> Result<bool, String> {
    let spec = a.scenario.spec(Preset::Default);
    let cfg = spec.config(a.seed);
    let schedule = world::schedule_for(&cfg);
    let scenario = Scenario { config: cfg, schedule };
    let bar = progress_bar(a.max_runs as u64, "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} runs");
    let args = a.scenario.clone();
    let mut runner = |s: &Scenario| {
        bar.inc(1);
        execute(s.config.clone(), RunOptions { schedule: Some(s.schedule.clone()), ..RunOptions::default() }, &args)
    };
    let result = minimize::minimize(scenario, &mut runner, a.max_runs);
    bar.finish_and_clear();
    let Some(m) = result else {
        println!("seed {} does not fail: nothing to minimize", a.seed);
        return Ok(true);
    };
    let json = serde_json::to_string_pretty(&m.scenario).map_err(|e| e.to_string())?;
    std::fs::write(&a.out, json).map_err(|e| format!("cannot write {}: {e}", a.out.display()))?;
    println!(
        "{:?} still reproduces with {} of {} fault events, fault phase {} ({} runs)",
        m.kind,
        m.scenario.schedule.len(),
        m.original_events,
        status_1to1_sim::scenario::format_duration_ms(m.scenario.config.fault_phase_ms),
        m.runs
    );
    println!("replay: status-1to1-sim replay --scenario {}{}", a.out.display(), a.scenario.extra_args());
    Ok(false)
}

fn json_summary(r: &RunReport, wall: f64) -> serde_json::Value {
    let h = &r.metrics.latency_ms;
    serde_json::json!({
        "seed": r.seed,
        "trace_hash": r.trace_hex(),
        "users": r.users,
        "devices": r.devices,
        "issued": r.metrics.issued,
        "owed": r.owed,
        "completed": r.completed,
        "delivery_ratio": r.delivery_ratio(),
        "latency_ms": {"p50": h.quantile(0.5), "p90": h.quantile(0.9), "p99": h.quantile(0.99), "max": h.max()},
        "duplicates_suppressed": r.metrics.duplicates_suppressed,
        "retransmissions": r.metrics.retransmissions,
        "checks": r.checks,
        "violations": r.violations,
        "violation_count": r.violation_count,
        "events": r.metrics.events,
        "peak_queue": r.metrics.peak_queue,
        "wall_s": wall,
        "events_per_s": r.metrics.events as f64 / wall.max(1e-9),
        "memory_per_device_bytes": r.memory.per_device_bytes,
        "memory_max_device_bytes": r.memory.max_device_bytes,
        "archived_messages": r.memory.archived_messages,
        "checker_bytes": r.memory.checker_bytes,
        "net": r.net,
    })
}

fn parse_seed_range(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("expected A..B or A..=B, got {s:?}");
    let (a, b) = s.split_once("..").ok_or_else(bad)?;
    let lo: u64 = a.parse().map_err(|_| bad())?;
    let hi: u64 = match b.strip_prefix('=') {
        Some(b) => b.parse::<u64>().map_err(|_| bad())?.checked_add(1).ok_or_else(bad)?,
        None => b.parse().map_err(|_| bad())?,
    };
    if hi <= lo { Err(bad()) } else { Ok((lo, hi)) }
}

fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("expected i/n with i < n, got {s:?}");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (u64, u64) = (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if n == 0 || i >= n { Err(bad()) } else { Ok((i, n)) }
}
