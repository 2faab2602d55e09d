//! A seeded simulation in the spirit of TigerBeetle's VOPR and FoundationDB's simulation
//! tests: one seed draws a run (the weather: index lag, how often faults strike, the holdout;
//! then a sequence of operations over a few customers and a clock of its own, each with the
//! seed of its faults), the run goes through the use cases over any store, and the invariants
//! of [`check`] judge what it left. A failing seed prints itself, the shortest sequence of its
//! operations that still fails (operations are dropped while the failure stays) and how to
//! replay it; the same seed always runs the same way.
//!
//! An adapter runs it from a test target without the libtest harness, so it takes its own
//! arguments (`harness = false` in its Cargo.toml):
//!
//! ```ignore
//! fn main() {
//!     boomerang_store_contract::sim::main(fresh_store, boomerang_store_contract::sim::Bounds { seeds: 300, ops: 40, shrink_runs: 300 });
//! }
//! ```
//!
//! and `cargo test -p <crate> --test simulation -- --seed N` replays seed N with its trace
//! (`BOOMERANG_SEED=N` does the same when the arguments cannot be passed); `--seeds N` and
//! `--first S` choose how many seeds and where to start, `--jobs N` how many threads run them,
//! `--shrink N` how many runs a failing seed may spend shrinking.

mod check;
mod plan;
mod schedule;
mod messenger;
mod world;

use std::fmt::Write as _;
use std::future::Future;
use std::time::Instant;

use fastrand::Rng;

pub use plan::{Action, Op, Weather, POPULATION};
pub use world::{program, World, START};

use crate::{Fixture, StoreFactory};

/// How much a test target runs by default.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Seeds per run of the target.
    pub seeds: u64,
    /// Operations per seed.
    pub ops: usize,
    /// Most runs spent shrinking one failing seed.
    pub shrink_runs: usize,
}

/// The weather and operations of a seed.
pub fn draw(seed: u64, ops: usize) -> (Weather, Vec<Op>) {
    let mut rng = Rng::with_seed(seed);
    let weather = Weather::draw(&mut rng);
    (weather, plan::operations(&mut rng, ops))
}

/// What one run left: the invariants it broke, its trace and what it went through.
pub struct Run {
    pub violations: Vec<String>,
    pub log: Vec<String>,
    pub figures: Figures,
}

/// What runs went through, summed: shows the invariants had something to judge.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    pub ops: usize,
    /// Operations that met an injected fault, processes that died mid-operation.
    pub faulted: usize,
    pub crashes: usize,
    /// Decisions recorded (by final status), messages the providers accepted, gift points credited.
    pub decisions: std::collections::BTreeMap<boomerang_core::domain::triggers::OutcomeStatus, usize>,
    pub messages: usize,
    pub gift_points: u64,
    /// Surveys asked, answers stored, survey messages delivered (links, invitations, alerts).
    pub surveys: usize,
    pub answers: usize,
    pub survey_messages: usize,
}

impl Figures {
    fn add(&mut self, o: &Figures) {
        self.ops += o.ops;
        self.faulted += o.faulted;
        self.crashes += o.crashes;
        for (status, n) in &o.decisions {
            *self.decisions.entry(*status).or_default() += n;
        }
        self.messages += o.messages;
        self.gift_points += o.gift_points;
        self.surveys += o.surveys;
        self.answers += o.answers;
        self.survey_messages += o.survey_messages;
    }
}

/// Runs `ops` under `weather` on a fresh store and checks the invariants.
pub async fn run(factory: &impl StoreFactory, weather: Weather, ops: &[Op]) -> Run {
    let fixture: Fixture = factory.fresh().await;
    let mut world = World::new(fixture.store.clone(), fixture.ledger_rows(), weather);
    for op in ops {
        world.step(op).await;
    }
    let mut violations = std::mem::take(&mut world.violations);
    violations.extend(world.messenger.violations.lock().expect("lock").drain(..));
    let mut seen = check::Seen::default();
    match check::invariants(&world, &mut seen).await {
        Ok(found) => violations.extend(found),
        Err(e) => violations.push(format!("the checks could not read the store: {e}")),
    }
    let figures = Figures {
        ops: ops.len(),
        faulted: world.faulted,
        crashes: world.crashes,
        decisions: seen.decisions.clone(),
        messages: world.messenger.delivered.lock().expect("lock").len(),
        gift_points: seen.gift_points,
        surveys: seen.surveys,
        answers: seen.answers,
        survey_messages: seen.survey_messages,
    };
    let mut log = world.log;
    log.extend(seen.ended.iter().map(|line| format!("at the end: {line}")));
    Run { violations, log, figures }
}

/// A seed that broke an invariant, with the shortest sequence found that still does.
pub struct Failure {
    pub seed: u64,
    pub weather: Weather,
    pub shortest: Vec<Op>,
    pub run: Run,
}

impl Failure {
    pub fn report(&self, replay: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "seed {} FAILED ({:?})", self.seed, self.weather);
        for v in &self.run.violations {
            let _ = writeln!(out, "  broken: {v}");
        }
        let _ = writeln!(out, "  shortest failing sequence ({} operations), as it ran:", self.shortest.len());
        for line in &self.run.log {
            let _ = writeln!(out, "    {line}");
        }
        let _ = writeln!(out, "  replay: {replay} --seed {}", self.seed);
        out
    }
}

/// Runs one seed; on a broken invariant, shrinks its sequence by dropping operations (halves,
/// quarters, ... single ones) while it still fails, within `bounds.shrink_runs` runs.
pub async fn check_seed(factory: &impl StoreFactory, seed: u64, bounds: Bounds) -> Result<Run, Box<Failure>> {
    let (weather, ops) = draw(seed, bounds.ops);
    let first = run(factory, weather, &ops).await;
    if first.violations.is_empty() {
        return Ok(first);
    }
    let (mut shortest, mut last) = (ops, first);
    let mut budget = bounds.shrink_runs;
    let mut chunk = shortest.len() / 2;
    while chunk >= 1 && budget > 0 {
        let mut start = 0;
        let mut dropped = false;
        while start < shortest.len() && budget > 0 {
            let mut candidate = shortest.clone();
            candidate.drain(start..(start + chunk).min(shortest.len()));
            budget -= 1;
            let tried = run(factory, weather, &candidate).await;
            if tried.violations.is_empty() {
                start += chunk;
            } else {
                (shortest, last, dropped) = (candidate, tried, true);
            }
        }
        if !dropped {
            chunk /= 2;
        }
    }
    Err(Box::new(Failure { seed, weather, shortest, run: last }))
}

/// Seeds chosen on the command line (or `BOOMERANG_SEED`), else the bounds' default.
#[derive(Debug, Clone)]
struct Choice {
    first: u64,
    count: u64,
    /// One seed asked for by name: print its trace even when it passes.
    verbose: bool,
    jobs: usize,
    shrink_runs: usize,
}

fn choose(bounds: Bounds) -> Result<Option<Choice>, String> {
    let mut args = std::env::args().skip(1);
    let default_jobs = std::thread::available_parallelism().map_or(1, |n| n.get()).min(2);
    let mut choice =
        Choice { first: 0, count: bounds.seeds, verbose: false, jobs: default_jobs, shrink_runs: bounds.shrink_runs };
    if let Ok(seed) = std::env::var("BOOMERANG_SEED") {
        choice.first = seed.trim().parse().map_err(|_| format!("BOOMERANG_SEED={seed} is not a number"))?;
        (choice.count, choice.verbose) = (1, true);
    }
    let number = |flag: &str, value: Option<String>| -> Result<u64, String> {
        value.as_deref().and_then(|v| v.parse().ok()).ok_or_else(|| format!("{flag} takes a number"))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seed" => {
                choice.first = number("--seed", args.next())?;
                (choice.count, choice.verbose) = (1, true);
            }
            "--seeds" => choice.count = number("--seeds", args.next())?,
            "--first" => choice.first = number("--first", args.next())?,
            "--jobs" => choice.jobs = number("--jobs", args.next())?.max(1) as usize,
            "--shrink" => choice.shrink_runs = number("--shrink", args.next())? as usize,
            // What cargo and IDEs ask of every test binary.
            "--list" => {
                println!("simulation: test");
                return Ok(None);
            }
            // libtest's own options and a name filter, as `cargo test -- NAME` passes them to
            // every target: a filter that does not name the simulation skips it.
            other if other.starts_with('-') => {}
            filter if !"simulation".contains(filter) => return Ok(None),
            _ => {}
        }
    }
    Ok(Some(choice))
}

/// The simulation as a test target's `main`: runs the chosen seeds over `jobs` threads (one
/// runtime each, so a seed's run stays sequential and replayable), prints seeds per second,
/// operations checked and every failure, and exits non-zero on any.
pub fn main<F, Fut>(factory: F, bounds: Bounds)
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Fixture>,
{
    let choice = match choose(bounds) {
        Ok(Some(choice)) => choice,
        Ok(None) => return,
        Err(e) => {
            eprintln!("simulation: {e}");
            std::process::exit(2);
        }
    };
    let replay = format!(
        "cargo test -p {} --test simulation --",
        std::env::var("CARGO_PKG_NAME").unwrap_or_else(|_| "<crate>".into())
    );
    let bounds = Bounds { shrink_runs: choice.shrink_runs, ..bounds };
    let started = Instant::now();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(choice.first));
    let end = choice.first.saturating_add(choice.count);
    let workers: Vec<_> = (0..choice.jobs)
        .map(|_| {
            let (factory, next, replay, verbose) = (factory.clone(), next.clone(), replay.clone(), choice.verbose);
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
                let (mut seeds, mut figures, mut failed) = (0u64, Figures::default(), Vec::new());
                loop {
                    let seed = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if seed >= end {
                        break;
                    }
                    seeds += 1;
                    match runtime.block_on(check_seed(&factory, seed, bounds)) {
                        Ok(passed) => {
                            figures.add(&passed.figures);
                            if verbose {
                                println!("seed {seed} passed ({:?}):", draw(seed, 0).0);
                                for line in passed.log {
                                    println!("    {line}");
                                }
                            }
                        }
                        Err(failure) => {
                            figures.ops += bounds.ops;
                            eprintln!("{}", failure.report(&replay));
                            failed.push(seed);
                        }
                    }
                }
                (seeds, figures, failed)
            })
        })
        .collect();
    let (mut seeds, mut figures, mut failed) = (0u64, Figures::default(), Vec::new());
    for worker in workers {
        let (s, f, bad) = worker.join().expect("a simulation thread");
        seeds += s;
        figures.add(&f);
        failed.extend(bad);
    }
    failed.sort_unstable();
    let secs = started.elapsed().as_secs_f64();
    let f = figures;
    let decisions: Vec<String> = f.decisions.iter().map(|(s, n)| format!("{n} {}", s.as_str())).collect();
    println!(
        "simulation: {seeds} seeds from {}, {} operations checked ({} under injected faults, {} crashes), \
         decisions: {}; {} messages, {} gift points; surveys: {} asked, {} answered, {} survey messages; \
         {} failed{}; {:.1} s, {:.1} seeds/s",
        choice.first,
        f.ops,
        f.faulted,
        f.crashes,
        if decisions.is_empty() { "none".into() } else { decisions.join(", ") },
        f.messages,
        f.gift_points,
        f.surveys,
        f.answers,
        f.survey_messages,
        failed.len(),
        if failed.is_empty() { String::new() } else { format!(" (seeds {failed:?})") },
        secs,
        seeds as f64 / secs.max(1e-9)
    );
    if !failed.is_empty() {
        std::process::exit(1);
    }
}
