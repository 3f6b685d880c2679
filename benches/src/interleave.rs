//! Interleaved side-by-side measurement: the ratio of two implementations' costs on a noisy,
//! shared machine.
//!
//! Criterion measures one bench after another, each for a few seconds. On the shared 2-core
//! VM the machine's speed drifts by tens of percent over minutes (another tenant, frequency),
//! so two medians taken a minute apart can disagree by more than the difference being
//! measured. Here every contender runs a short batch in turn, round after round, in a
//! rotating order; each round gives one cost per contender taken within a few milliseconds of
//! the others, and so one ratio that the drift hardly touches. What is reported is the median
//! over the rounds of each contender's cost per request and of each per-round ratio to the
//! first contender, with the interquartile range of the ratios.
//!
//! Only what a contender's runner times counts: setup (building a request, minting a code)
//! stays outside its `Instant` pair, exactly as in the criterion benches.

use std::time::Duration;

/// A contender: a name and a runner that performs `n` requests and returns the time spent
/// in the timed calls only.
pub struct Contender<'a> {
    /// Shown in the report.
    pub name: &'static str,
    /// Performs `n` requests; returns the timed total.
    pub run: Box<dyn FnMut(u64) -> Duration + 'a>,
    /// The runner is asked for `per_round / divisor` requests (at least one) per round, so a
    /// contender many times slower than the others does not stretch the rounds.
    pub divisor: u64,
}

impl<'a> Contender<'a> {
    /// A contender named `name` timed by `run`.
    pub fn new(name: &'static str, run: impl FnMut(u64) -> Duration + 'a) -> Self {
        Contender {
            name,
            run: Box::new(run),
            divisor: 1,
        }
    }

    /// Runs `1 / divisor` of the requests the others run per round.
    #[must_use]
    pub fn fewer(mut self, divisor: u64) -> Self {
        self.divisor = divisor.max(1);
        self
    }

    fn requests(&self, per_round: u64) -> u64 {
        (per_round / self.divisor).max(1)
    }
}

/// One contender's result.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// The contender's name.
    pub name: &'static str,
    /// Median over rounds of the cost per request, in nanoseconds.
    pub median_ns: f64,
    /// Median over rounds of (this contender's cost ÷ the first contender's cost).
    pub ratio: f64,
    /// First and third quartile of that ratio over the rounds.
    pub ratio_iqr: (f64, f64),
}

/// The result of an interleaved run.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// The group name (also the JSON file name).
    pub group: String,
    /// Rounds measured.
    pub rounds: usize,
    /// Requests per contender per round.
    pub per_round: u64,
    /// One line per contender; the first is the reference (ratio 1).
    pub lines: Vec<Line>,
}

/// The `q`-quantile of `v` by linear interpolation (`v` need not be sorted).
#[must_use]
pub fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (s.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    s[lo] + (s[hi] - s[lo]) * (pos - lo as f64)
}

/// Runs `warmup` untimed rounds, then `rounds` measured ones of `per_round` requests per
/// contender, the starting contender rotating each round.
///
/// # Panics
/// With fewer than one contender or zero rounds.
pub fn run(
    group: &str,
    contenders: &mut [Contender<'_>],
    warmup: usize,
    rounds: usize,
    per_round: u64,
) -> Report {
    assert!(!contenders.is_empty() && rounds > 0 && per_round > 0);
    let k = contenders.len();
    for r in 0..warmup {
        for i in 0..k {
            let c = &mut contenders[(r + i) % k];
            let n = c.requests(per_round);
            let _ = (c.run)(n);
        }
    }
    let mut costs = vec![Vec::with_capacity(rounds); k];
    for r in 0..rounds {
        for i in 0..k {
            let c = (r + i) % k;
            let n = contenders[c].requests(per_round);
            let t = (contenders[c].run)(n);
            costs[c].push(t.as_nanos() as f64 / n as f64);
        }
    }
    let lines = contenders
        .iter()
        .zip(&costs)
        .map(|(c, mine)| {
            let ratios: Vec<f64> = mine.iter().zip(&costs[0]).map(|(m, b)| m / b).collect();
            Line {
                name: c.name,
                median_ns: quantile(mine, 0.5),
                ratio: quantile(&ratios, 0.5),
                ratio_iqr: (quantile(&ratios, 0.25), quantile(&ratios, 0.75)),
            }
        })
        .collect();
    Report {
        group: group.to_string(),
        rounds,
        per_round,
        lines,
    }
}

impl Report {
    /// The report as JSON (what `tools/report.py` reads).
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "group": self.group,
            "rounds": self.rounds,
            "per_round": self.per_round,
            "lines": self.lines.iter().map(|l| serde_json::json!({
                "name": l.name,
                "median_ns": l.median_ns,
                "ratio": l.ratio,
                "ratio_q1": l.ratio_iqr.0,
                "ratio_q3": l.ratio_iqr.1,
            })).collect::<Vec<_>>(),
        })
    }

    /// Prints the table and writes `<target>/criterion/interleaved/<group>.json`, beside
    /// criterion's own results (the target directory is found from the bench executable's
    /// path: `<target>/release/deps/<bench>`).
    pub fn publish(&self) {
        println!(
            "{} (interleaved: {} rounds × {} requests per contender)",
            self.group, self.rounds, self.per_round
        );
        for l in &self.lines {
            println!(
                "  {:<28} median {:>10.0} ns   × first: {:.3} (IQR {:.3}–{:.3})",
                l.name, l.median_ns, l.ratio, l.ratio_iqr.0, l.ratio_iqr.1
            );
        }
        let dir = std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
            .map(|target| target.join("criterion").join("interleaved"));
        if let Some(dir) = dir {
            let written = std::fs::create_dir_all(&dir).and_then(|()| {
                std::fs::write(
                    dir.join(format!("{}.json", self.group)),
                    serde_json::to_vec_pretty(&self.to_json()).unwrap_or_default(),
                )
            });
            if let Err(e) = written {
                eprintln!("could not write the interleaved result: {e}");
            }
        }
    }
}

/// Whether the bench's command-line filter (criterion's positional argument) selects `name`:
/// no filter selects everything.
#[must_use]
pub fn selected(name: &str) -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate() {
        let v = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 1.0), 4.0);
        assert!((quantile(&v, 0.5) - 2.5).abs() < 1e-12);
    }

    /// A contender that costs twice the first comes out at 2 within the drift between two
    /// adjacent batches, even when the machine slows fivefold over the run: each round's
    /// ratio is taken between batches run back to back. The runners report synthetic
    /// durations (no clock), so the test is deterministic.
    #[test]
    fn ratios_are_taken_against_the_first_contender() {
        use std::cell::Cell;
        // The "machine" slows down by 10 % on every batch anyone runs.
        let slowness = Cell::new(1.0_f64);
        let batch = |n: u64, ns_per_request: f64| {
            let s = slowness.get();
            slowness.set(s * 1.1);
            Duration::from_nanos((n as f64 * ns_per_request * s) as u64)
        };
        let mut cs = [
            Contender::new("one", |n| batch(n, 1_000.0)),
            Contender::new("two", |n| batch(n, 2_000.0)),
        ];
        let r = run("test", &mut cs, 0, 9, 20);
        assert_eq!(r.lines[0].ratio, 1.0);
        // Rotating order: "two" runs after "one" in even rounds (×1.1) and before it in odd
        // ones (÷1.1); the quartiles bracket the true 2.
        let two = &r.lines[1];
        // Nine rounds: five even ones (2.2) against four odd ones (1.82), so the median is 2.2
        // (to the nanosecond rounding of the synthetic durations).
        assert!((two.ratio - 2.2).abs() < 1e-3, "{two:?}");
        assert!(two.ratio_iqr.0 < 2.0 && 2.0 < two.ratio_iqr.1, "{two:?}");
        // The per-request medians, by contrast, carry the drift (1.1^k for some k).
        assert!(r.lines[0].median_ns > 1_000.0 * 1.1_f64.powi(5));
    }

    /// `fewer(d)` asks a contender for `per_round / d` requests and its cost is still per
    /// request.
    #[test]
    fn fewer_divides_the_batch_but_not_the_cost() {
        use std::cell::RefCell;
        let asked = RefCell::new(Vec::new());
        let mut cs = [
            Contender::new("fast", |n| Duration::from_nanos(n * 100)),
            Contender::new("slow", |n| {
                asked.borrow_mut().push(n);
                Duration::from_nanos(n * 5_000)
            })
            .fewer(50),
        ];
        let r = run("test", &mut cs, 2, 4, 100);
        assert_eq!(*asked.borrow(), vec![2; 6]);
        assert_eq!(r.lines[1].median_ns, 5_000.0);
        assert_eq!(r.lines[1].ratio, 50.0);
    }
}
