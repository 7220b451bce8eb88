//! The loop behind `round run --until-decided`: run rounds one after the other (numbered upward
//! from a first number), feed their outcomes to the sequential rule
//! ([`crate::stats::sequential::decide`]) after every round, and stop as soon as it decides or
//! the budget is spent.
//!
//! Two ways to compare:
//! - **against a block**: the block's passes and rounds are given; every round run here is the
//!   candidate's;
//! - **interleaved**: rounds come in pairs (numbers `first + 2k` and `first + 2k + 1`), one of
//!   each arm, in an order drawn from a seeded generator, so drift of the machine during the
//!   run hits both arms alike.
//!
//! Every round is run and stored by the caller's [`RoundSource`] before the next one starts,
//! with its arm in the configuration key [`ARM_KEY`]. A later run with the same first number
//! reads the stored rounds back instead of running them again, so an interrupted run loses
//! nothing and continues where it stopped. Rounds whose fix never confirmed it loaded are
//! stored but left out of the evidence (as `compare` leaves them out); they still count
//! against the budget, so a fix that never loads cannot make the loop run for ever.
//!
//! No SQL and no printing: the caller runs and stores rounds, and shows each [`Step`].

use serde::Serialize;
use thiserror::Error;

use super::handshake;
use super::model::Round;
use crate::stats::sequential::{decide, Decision, Design, Evidence, SplitMix64, Status};
use crate::stats::{wilson_95, Interval, StatsError};

/// Configuration key recording which arm a round of a sequential run belongs to.
pub const ARM_KEY: &str = "sequential_arm";

/// One of the two arms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arm {
    /// The version under test.
    Candidate,
    /// The other arm of an interleaved run.
    Other,
}

impl Arm {
    /// The value stored under [`ARM_KEY`].
    pub fn as_str(self) -> &'static str {
        match self {
            Arm::Candidate => "candidate",
            Arm::Other => "other",
        }
    }

    fn flip(self) -> Arm {
        match self {
            Arm::Candidate => Arm::Other,
            Arm::Other => Arm::Candidate,
        }
    }
}

/// Which pass counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Metric {
    /// The first attempt passed.
    Raw,
    /// Some attempt passed (retries allowed).
    Eventual,
}

impl Metric {
    /// Whether `round` passed under this metric.
    pub fn passed(self, round: &Round) -> bool {
        match self {
            Metric::Raw => round.outcome().is_raw_pass(),
            Metric::Eventual => round.outcome().is_eventual_pass(),
        }
    }
}

/// How the candidate is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Against stored rounds: `passes` of `rounds` (under the run's metric).
    AgainstBlock {
        /// Passes in the block.
        passes: u64,
        /// Rounds in the block.
        rounds: u64,
    },
    /// Pairs of one round of each arm, in a random order drawn from `seed`.
    Interleaved {
        /// Seed of the order generator.
        seed: u64,
    },
}

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// The rule (alpha, budget of candidate rounds or pairs).
    pub design: Design,
    /// Against a block or interleaved.
    pub mode: Mode,
    /// Raw or eventual passes.
    pub metric: Metric,
    /// Number of the first round.
    pub first_round: i64,
    /// The candidate's fix name (`None`: native), checked against stored rounds on resume.
    pub candidate_fix: Option<String>,
    /// The other arm's fix name (interleaved only).
    pub other_fix: Option<String>,
}

/// Error type a [`RoundSource`] may return.
pub type SourceError = Box<dyn std::error::Error + Send + Sync>;

/// Runs and stores rounds for the loop, and reads stored ones back.
pub trait RoundSource {
    /// The stored round with this number, if any.
    fn stored(&mut self, number: i64) -> Result<Option<Round>, SourceError>;
    /// Run round `number` of `arm` and store it, with `ARM_KEY = arm` in its configuration;
    /// `None` when the run was interrupted (nothing stored).
    fn run(&mut self, number: i64, arm: Arm) -> Result<Option<Round>, SourceError>;
}

/// Errors that stop the loop.
#[derive(Debug, Error)]
pub enum SequentialError {
    /// The rule refused its arguments.
    #[error(transparent)]
    Stats(#[from] StatsError),
    /// Running or storing a round failed.
    #[error("round {number}: {source}")]
    Source {
        /// The round.
        number: i64,
        /// Why.
        source: SourceError,
    },
    /// A round in the run's range is stored but was not stored by a sequential run.
    #[error(
        "round {0} is already stored and is not a round of an --until-decided run; choose \
         another --round"
    )]
    NotSequential(i64),
    /// A stored round of the run's range has the wrong arm or fix for where it sits.
    #[error("round {number} is stored as {found}, but this run expects {expected} there; choose another --round")]
    Mismatch {
        /// The round.
        number: i64,
        /// What this run expects (arm and fix).
        expected: String,
        /// What is stored.
        found: String,
    },
    /// Round numbers ran past `i64::MAX`.
    #[error(
        "round numbers overflow: the first round plus the budget passes the largest round number"
    )]
    Overflow,
}

impl SequentialError {
    /// Short stable name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            SequentialError::Stats(_) => "stats",
            SequentialError::Source { .. } => "source",
            SequentialError::NotSequential(_) => "not-sequential",
            SequentialError::Mismatch { .. } => "mismatch",
            SequentialError::Overflow => "overflow",
        }
    }
}

/// Pass counts of one arm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ArmCounts {
    /// Passes among the rounds that count.
    pub passes: u64,
    /// Rounds that count (confirmed or native).
    pub rounds: u64,
}

impl ArmCounts {
    /// The pass rate with its 95% Wilson interval (`None` before any round).
    pub fn interval(&self) -> Option<Interval> {
        wilson_95(self.passes, self.rounds).ok()
    }

    fn add(&mut self, passed: bool) {
        self.rounds += 1;
        self.passes += u64::from(passed);
    }
}

/// One round done (run now or read back), with the state of the rule after it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// The round's number.
    pub round: i64,
    /// Its arm.
    pub arm: Arm,
    /// Whether it passed under the metric.
    pub passed: bool,
    /// Whether it was read back from the store rather than run now.
    pub resumed: bool,
    /// Whether it counts (`false`: its fix never confirmed it loaded).
    pub counted: bool,
    /// The candidate's counts so far.
    pub candidate: ArmCounts,
    /// The other arm's counts so far (the block's, against a block).
    pub other: ArmCounts,
    /// Candidate rounds (pairs when interleaved) spent of the budget.
    pub spent: u64,
    /// The rule's state after this round (`None` in the middle of a pair).
    pub status: Option<Status>,
}

/// How the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ending {
    /// The candidate's pass rate is higher (at the run's alpha).
    Better,
    /// It is lower.
    Worse,
    /// The budget ran out first.
    Undecided,
    /// Stopped from outside (Ctrl-C) before a decision; run again to continue.
    Interrupted,
}

impl Ending {
    /// `better`, `worse`, `undecided` or `interrupted`.
    pub fn as_str(self) -> &'static str {
        match self {
            Ending::Better => "better",
            Ending::Worse => "worse",
            Ending::Undecided => "undecided",
            Ending::Interrupted => "interrupted",
        }
    }
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// How it ended.
    pub decision: Ending,
    /// Candidate rounds run by this call (not read back).
    pub rounds_run: u64,
    /// Rounds of either arm run by this call.
    pub rounds_run_all_arms: u64,
    /// Rounds read back from an earlier, interrupted run.
    pub rounds_resumed: u64,
    /// Candidate rounds (pairs when interleaved) spent of the budget, all runs together.
    pub spent: u64,
    /// The budget.
    pub max_rounds: u64,
    /// The error level.
    pub alpha: f64,
    /// Raw or eventual.
    pub metric: Metric,
    /// The candidate's counts.
    pub candidate: ArmCounts,
    /// The other arm's (or the block's) counts.
    pub other: ArmCounts,
    /// Interleaved: pairs where only the candidate passed.
    pub candidate_only: Option<u64>,
    /// Interleaved: pairs where only the other arm passed.
    pub other_only: Option<u64>,
    /// The rule's final state.
    pub status: Status,
    /// Numbers of the first and last round of the run (all runs together; `None` when none).
    pub round_range: Option<(i64, i64)>,
}

fn fix_text(f: &Option<String>) -> &str {
    f.as_deref().unwrap_or("native")
}

/// Read back round `number` if stored (checking it belongs where it sits), else run it.
/// `Ok(None)`: interrupted.
fn fetch(
    source: &mut dyn RoundSource,
    spec: &Spec,
    number: i64,
    arm: Option<Arm>,
    choose: &mut dyn FnMut() -> Arm,
) -> Result<Option<(Round, Arm, bool)>, SequentialError> {
    let wrap = |source| SequentialError::Source { number, source };
    let expected_fix = |a: Arm| match a {
        Arm::Candidate => &spec.candidate_fix,
        Arm::Other => &spec.other_fix,
    };
    if let Some(r) = source.stored(number).map_err(wrap)? {
        let stored_arm = match r.config.get(ARM_KEY).map(String::as_str) {
            Some("candidate") => Arm::Candidate,
            Some("other") => Arm::Other,
            _ => return Err(SequentialError::NotSequential(number)),
        };
        let ok_arm = arm.is_none_or(|a| a == stored_arm);
        if !ok_arm || r.fix != *expected_fix(stored_arm) {
            let want = arm.unwrap_or(stored_arm);
            return Err(SequentialError::Mismatch {
                number,
                expected: format!("{} ({})", want.as_str(), fix_text(expected_fix(want))),
                found: format!("{} ({})", stored_arm.as_str(), fix_text(&r.fix)),
            });
        }
        return Ok(Some((r, stored_arm, true)));
    }
    let arm = arm.unwrap_or_else(choose);
    Ok(source
        .run(number, arm)
        .map_err(wrap)?
        .map(|r| (r, arm, false)))
}

/// Run the loop. `on_step` is called after every round, run or read back.
pub fn run_until_decided(
    spec: &Spec,
    source: &mut dyn RoundSource,
    on_step: &mut dyn FnMut(&Step),
) -> Result<Summary, SequentialError> {
    let max = spec.design.max_rounds();
    let mut candidate = ArmCounts::default();
    let mut other = ArmCounts::default();
    let (mut w, mut l) = (0u64, 0u64);
    let (mut rounds_run, mut run_all, mut resumed, mut spent) = (0u64, 0u64, 0u64, 0u64);
    let mut last: Option<i64> = None;
    let mut number = spec.first_round;
    // Every number the budget may use must exist before the first round runs: failing after
    // rounds were stored would leave a run that can never end (each retry fails the same way).
    let per_step: i64 = match spec.mode {
        Mode::Interleaved { .. } => 2,
        Mode::AgainstBlock { .. } => 1,
    };
    i64::try_from(max)
        .ok()
        .and_then(|m| m.checked_mul(per_step))
        .and_then(|n| n.checked_sub(1))
        .and_then(|n| spec.first_round.checked_add(n))
        .ok_or(SequentialError::Overflow)?;
    // Numbers advance with `saturating_add`: the check above leaves room for every number that
    // is used, and only the unused successor of the very last round can saturate.

    let evidence = |candidate: &ArmCounts, other: &ArmCounts, w: u64, l: u64| match spec.mode {
        Mode::AgainstBlock { passes, rounds } => Evidence::AgainstBlock {
            block_passes: passes,
            block_rounds: rounds,
            passes: candidate.passes,
            rounds: candidate.rounds,
        },
        Mode::Interleaved { .. } => Evidence::Interleaved {
            pairs: candidate.rounds.min(other.rounds),
            candidate_only: w,
            other_only: l,
        },
    };
    if let Mode::AgainstBlock { passes, rounds } = spec.mode {
        other = ArmCounts { passes, rounds };
    }
    let mut rng = match spec.mode {
        Mode::Interleaved { seed } => SplitMix64::new(seed),
        Mode::AgainstBlock { .. } => SplitMix64::new(0),
    };
    let mut status = decide(&spec.design, &evidence(&candidate, &other, w, l))?;
    let mut interrupted = false;
    while status.decision == Decision::Continue && spent < max {
        match spec.mode {
            Mode::AgainstBlock { .. } => {
                let Some((r, _, was_stored)) =
                    fetch(source, spec, number, Some(Arm::Candidate), &mut || {
                        Arm::Candidate
                    })?
                else {
                    interrupted = true;
                    break;
                };
                let passed = spec.metric.passed(&r);
                let counted = handshake::counts(r.fix_confirmed, false);
                if counted {
                    candidate.add(passed);
                }
                spent += 1;
                if was_stored {
                    resumed += 1;
                } else {
                    rounds_run += 1;
                    run_all += 1;
                }
                status = decide(&spec.design, &evidence(&candidate, &other, w, l))?;
                on_step(&Step {
                    round: number,
                    arm: Arm::Candidate,
                    passed,
                    resumed: was_stored,
                    counted,
                    candidate,
                    other,
                    spent,
                    status: Some(status),
                });
                last = Some(number);
                number = number.saturating_add(1);
            }
            Mode::Interleaved { .. } => {
                // One draw per pair, stored or not, so the order of later pairs does not
                // depend on how many were read back.
                let first_arm = if rng.bernoulli(0.5) {
                    Arm::Candidate
                } else {
                    Arm::Other
                };
                let mut pair: Vec<(Arm, bool, bool)> = Vec::with_capacity(2);
                let mut want: Option<Arm> = None;
                for _ in 0..2 {
                    let Some((r, arm, was_stored)) =
                        fetch(source, spec, number, want, &mut || first_arm)?
                    else {
                        interrupted = true;
                        break;
                    };
                    let passed = spec.metric.passed(&r);
                    let counted = handshake::counts(r.fix_confirmed, false);
                    if was_stored {
                        resumed += 1;
                    } else {
                        run_all += 1;
                        if arm == Arm::Candidate {
                            rounds_run += 1;
                        }
                    }
                    pair.push((arm, passed, counted));
                    want = Some(arm.flip());
                    let done = pair.len() == 2;
                    if done {
                        spent += 1;
                        if pair.iter().all(|p| p.2) {
                            let pass_of = |a: Arm| pair.iter().any(|p| p.0 == a && p.1);
                            let (c, o) = (pass_of(Arm::Candidate), pass_of(Arm::Other));
                            candidate.add(c);
                            other.add(o);
                            w += u64::from(c && !o);
                            l += u64::from(o && !c);
                        }
                        status = decide(&spec.design, &evidence(&candidate, &other, w, l))?;
                    }
                    on_step(&Step {
                        round: number,
                        arm,
                        passed,
                        resumed: was_stored,
                        counted,
                        candidate,
                        other,
                        spent,
                        status: done.then_some(status),
                    });
                    last = Some(number);
                    number = number.saturating_add(1);
                }
                if interrupted {
                    break;
                }
            }
        }
    }
    let decision = match status.decision {
        Decision::Better => Ending::Better,
        Decision::Worse => Ending::Worse,
        _ if interrupted => Ending::Interrupted,
        _ => Ending::Undecided,
    };
    let interleaved = matches!(spec.mode, Mode::Interleaved { .. });
    Ok(Summary {
        decision,
        rounds_run,
        rounds_run_all_arms: run_all,
        rounds_resumed: resumed,
        spent,
        max_rounds: max,
        alpha: spec.design.alpha(),
        metric: spec.metric,
        candidate,
        other,
        candidate_only: interleaved.then_some(w),
        other_only: interleaved.then_some(l),
        status,
        round_range: last.map(|l| (spec.first_round, l)),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::rounds::model::Attempt;

    /// An in-memory store with scripted outcomes per arm; stops ("interrupts") after
    /// `interrupt_after` runs.
    struct Fake {
        stored: BTreeMap<i64, Round>,
        outcome: Box<dyn FnMut(Arm, u64) -> bool>,
        runs: u64,
        interrupt_after: Option<u64>,
        fix: BTreeMap<&'static str, Option<String>>,
    }

    impl Fake {
        fn new(outcome: impl FnMut(Arm, u64) -> bool + 'static) -> Fake {
            Fake {
                stored: BTreeMap::new(),
                outcome: Box::new(outcome),
                runs: 0,
                interrupt_after: None,
                fix: BTreeMap::new(),
            }
        }
    }

    impl RoundSource for Fake {
        fn stored(&mut self, number: i64) -> Result<Option<Round>, SourceError> {
            Ok(self.stored.get(&number).cloned())
        }
        fn run(&mut self, number: i64, arm: Arm) -> Result<Option<Round>, SourceError> {
            if self.interrupt_after == Some(self.runs) {
                return Ok(None);
            }
            self.runs += 1;
            let pass = (self.outcome)(arm, self.runs);
            let mut config = BTreeMap::new();
            config.insert(ARM_KEY.to_string(), arm.as_str().to_string());
            let r = Round {
                number,
                fix: self.fix.get(arm.as_str()).cloned().flatten(),
                config,
                attempts: vec![Attempt {
                    index: 1,
                    exit_code: Some(if pass { 0 } else { 1 }),
                    ..Attempt::default()
                }],
                ..Round::default()
            };
            self.stored.insert(number, r.clone());
            Ok(Some(r))
        }
    }

    fn block_spec(max: u64) -> Spec {
        Spec {
            design: Design::new(0.05, max).unwrap(),
            mode: Mode::AgainstBlock {
                passes: 15,
                rounds: 30,
            },
            metric: Metric::Raw,
            first_round: 100,
            candidate_fix: None,
            other_fix: None,
        }
    }

    #[test]
    fn always_passing_against_15_of_30_is_better_at_16() {
        let mut f = Fake::new(|_, _| true);
        let mut steps = 0;
        let s = run_until_decided(&block_spec(25), &mut f, &mut |_| steps += 1).unwrap();
        assert_eq!(s.decision, Ending::Better);
        // Same figure as the pure rule's test (stats::sequential), checked there in Python.
        assert_eq!(s.rounds_run, 16);
        assert_eq!(steps, 16);
        assert_eq!(s.round_range, Some((100, 115)));
    }

    #[test]
    fn interrupted_run_continues_from_stored_rounds() {
        let mut f = Fake::new(|_, _| false);
        f.interrupt_after = Some(5);
        let s = run_until_decided(&block_spec(25), &mut f, &mut |_| {}).unwrap();
        assert_eq!(s.decision, Ending::Interrupted);
        assert_eq!(s.rounds_run, 5);
        f.interrupt_after = None;
        let s = run_until_decided(&block_spec(25), &mut f, &mut |_| {}).unwrap();
        assert_eq!(s.decision, Ending::Worse);
        assert_eq!((s.rounds_resumed, s.rounds_run, s.spent), (5, 11, 16));
    }

    #[test]
    fn half_passing_with_budget_12_is_undecided() {
        let mut f = Fake::new(|_, n| n % 2 == 0);
        let s = run_until_decided(&block_spec(12), &mut f, &mut |_| {}).unwrap();
        assert_eq!(s.decision, Ending::Undecided);
        assert_eq!(s.rounds_run, 12);
    }

    // Regression: a budget ending exactly at the largest round number failed with "overflow"
    // after storing its rounds, so the run could never end; a budget that cannot fit failed
    // only after storing some rounds.
    #[test]
    fn the_budget_must_fit_below_the_largest_round_number_before_anything_runs() {
        let mut spec = block_spec(2);
        spec.first_round = i64::MAX - 1;
        let mut f = Fake::new(|_, n| n % 2 == 0);
        let s = run_until_decided(&spec, &mut f, &mut |_| {}).unwrap();
        assert_eq!(s.decision, Ending::Undecided);
        assert_eq!(s.round_range, Some((i64::MAX - 1, i64::MAX)));

        let mut spec = block_spec(5);
        spec.first_round = i64::MAX - 1;
        let mut f = Fake::new(|_, _| true);
        let mut steps = 0;
        let e = run_until_decided(&spec, &mut f, &mut |_| steps += 1).unwrap_err();
        assert!(matches!(e, SequentialError::Overflow), "{e}");
        assert_eq!(
            steps, 0,
            "nothing may run before the budget is known to fit"
        );
    }

    #[test]
    fn a_foreign_round_in_the_range_stops_the_run() {
        let mut f = Fake::new(|_, _| true);
        f.stored.insert(101, Round::default());
        let e = run_until_decided(&block_spec(25), &mut f, &mut |_| {}).unwrap_err();
        assert!(matches!(e, SequentialError::NotSequential(101)), "{e}");
    }

    fn interleaved_spec(max: u64, seed: u64) -> Spec {
        Spec {
            design: Design::new(0.05, max).unwrap(),
            mode: Mode::Interleaved { seed },
            metric: Metric::Raw,
            first_round: 1,
            candidate_fix: Some("v2".into()),
            other_fix: None,
        }
    }

    #[test]
    fn interleaved_pairs_hold_one_of_each_arm_in_random_order() {
        let mut f = Fake::new(|arm, _| arm == Arm::Candidate);
        f.fix.insert("candidate", Some("v2".into()));
        let s = run_until_decided(&interleaved_spec(40, 9), &mut f, &mut |_| {}).unwrap();
        // Eight discordant pairs all won by the candidate decide (see stats::sequential).
        assert_eq!(s.decision, Ending::Better);
        assert_eq!(
            (s.spent, s.candidate_only, s.other_only),
            (8, Some(8), Some(0))
        );
        let arms: Vec<&str> = f
            .stored
            .values()
            .map(|r| r.config[ARM_KEY].as_str())
            .collect();
        assert_eq!(arms.len(), 16);
        let mut firsts = 0;
        for p in arms.chunks(2) {
            assert_ne!(p[0], p[1]);
            firsts += usize::from(p[0] == "candidate");
        }
        assert!(firsts > 0 && firsts < 8, "the order varies: {arms:?}");
        // An interrupted half pair is completed with the other arm on resume.
        let mut g = Fake::new(|arm, _| arm == Arm::Candidate);
        g.fix.insert("candidate", Some("v2".into()));
        g.interrupt_after = Some(3);
        let s = run_until_decided(&interleaved_spec(40, 9), &mut g, &mut |_| {}).unwrap();
        assert_eq!(s.decision, Ending::Interrupted);
        g.interrupt_after = None;
        let s = run_until_decided(&interleaved_spec(40, 9), &mut g, &mut |_| {}).unwrap();
        assert_eq!(s.decision, Ending::Better);
        assert_eq!(s.rounds_resumed, 3);
        for p in g.stored.values().collect::<Vec<_>>().chunks(2) {
            assert_ne!(p[0].config[ARM_KEY], p[1].config[ARM_KEY]);
        }
        // Resuming with another candidate fix is refused.
        let mut spec = interleaved_spec(40, 9);
        spec.candidate_fix = Some("v3".into());
        let e = run_until_decided(&spec, &mut g, &mut |_| {}).unwrap_err();
        assert!(matches!(e, SequentialError::Mismatch { .. }), "{e}");
    }

    #[test]
    fn unconfirmed_rounds_spend_budget_but_are_not_evidence() {
        struct Unconfirmed(u64);
        impl RoundSource for Unconfirmed {
            fn stored(&mut self, _: i64) -> Result<Option<Round>, SourceError> {
                Ok(None)
            }
            fn run(&mut self, number: i64, arm: Arm) -> Result<Option<Round>, SourceError> {
                self.0 += 1;
                let mut config = BTreeMap::new();
                config.insert(ARM_KEY.to_string(), arm.as_str().to_string());
                Ok(Some(Round {
                    number,
                    fix: None,
                    fix_confirmed: Some(false),
                    config,
                    attempts: vec![Attempt {
                        index: 1,
                        exit_code: Some(0),
                        ..Attempt::default()
                    }],
                    ..Round::default()
                }))
            }
        }
        let mut u = Unconfirmed(0);
        let s = run_until_decided(&block_spec(10), &mut u, &mut |_| {}).unwrap();
        assert_eq!(s.decision, Ending::Undecided);
        assert_eq!((u.0, s.candidate.rounds), (10, 0));
    }
}
