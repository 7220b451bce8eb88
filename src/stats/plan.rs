//! What `agx-triage plan` computes: how many rounds a comparison of a baseline pass rate with a
//! target needs, for Fisher's fixed design (exactly, [`super::power`]) and for the sequential
//! rule `round run --until-decided` uses ([`super::sequential`]): its expected rounds under the
//! target and under no difference (exact dynamic programming), its budget, and, on request, a
//! Monte Carlo run of the very [`super::sequential::decide`] function.
//!
//! Pure arithmetic; the CLI prints the [`PlanReport`].

use serde::Serialize;

use super::power::{fisher_power, fixed_rounds_per_side, MAX_ROUNDS_PER_SIDE};
use super::sequential::{expected_rounds, simulate, Alternative, Design, Plan, MAX_EXACT_ROUNDS};
use super::{check_level, check_probability, StatsError};

/// Largest `--simulate` accepted (per hypothesis).
pub const MAX_SIMULATE: u64 = 1_000_000;

/// The fixed-design search stops here unless the caller asks for more: the exact search costs
/// O(n³ log n) overall, seconds at this size.
pub const DEFAULT_FIXED_SEARCH: u64 = 1_000;

/// What to plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanRequest {
    /// Pass rate of the baseline (the other arm, or the block).
    pub baseline: f64,
    /// Pass rate the candidate is hoped to reach.
    pub target: f64,
    /// Chance of a false decision allowed (two-sided).
    pub alpha: f64,
    /// Power wanted for the fixed design.
    pub power: f64,
    /// Budget of the sequential design (candidate rounds, or pairs when interleaved); `None`:
    /// [`default_budget`].
    pub max_rounds: Option<u64>,
    /// `Some(n)`: plan against a fixed block of n baseline rounds; `None`: interleaved.
    pub block_rounds: Option<u64>,
    /// Monte Carlo runs per hypothesis (`None`: none).
    pub simulate: Option<u64>,
    /// Seed of the Monte Carlo runs.
    pub seed: u64,
    /// Largest per-side count the fixed-design search tries.
    pub fixed_search_max: u64,
}

/// Expected candidate rounds of the sequential design.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ExpectedPerSide {
    /// When the candidate passes at the target rate.
    pub under_target: f64,
    /// When it passes at the baseline rate (no difference).
    pub under_no_difference: f64,
}

/// Exact operating characteristics of the sequential design.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ExactFigures {
    /// Probability of the right decision under the target.
    pub power: f64,
    /// Probability of any decision under no difference (at most alpha).
    pub false_decision_rate: f64,
}

/// The sequential part of a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SequentialPlan {
    /// `interleaved` or `against-block`.
    pub mode: &'static str,
    /// Rounds in the block (against a block only).
    pub block_rounds: Option<u64>,
    /// The discordant-pair odds the interleaved design bets on (`None`: uniform or block).
    pub theta: Option<f64>,
    /// Expected candidate rounds (pairs when interleaved: each pair is one round per side).
    pub expected_rounds_per_side: ExpectedPerSide,
    /// The most it can take: the budget.
    pub max_rounds_per_side: u64,
    /// Exact power and false-decision rate (dynamic programming over every count).
    pub exact: ExactFigures,
    /// Simulated false-decision rate with no difference (`--simulate` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub false_decision_rate: Option<f64>,
    /// Simulated share of right decisions under the target (`--simulate` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub power: Option<f64>,
    /// The Monte Carlo details (`--simulate` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub simulation: Option<SimulationSummary>,
}

/// What the Monte Carlo run did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SimulationSummary {
    /// Runs per hypothesis.
    pub runs: u64,
    /// Seed (the no-difference runs use `seed + 1`).
    pub seed: u64,
    /// Mean candidate rounds under the target.
    pub mean_rounds_under_target: f64,
    /// Mean candidate rounds under no difference.
    pub mean_rounds_under_no_difference: f64,
}

/// Everything `plan` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanReport {
    /// Baseline pass rate.
    pub baseline: f64,
    /// Target pass rate.
    pub target: f64,
    /// Error level.
    pub alpha: f64,
    /// Power asked of the fixed design.
    pub power: f64,
    /// Smallest per-side count at which Fisher's two-sided exact test at `alpha` has at least
    /// `power` (exact); `None` when none up to `fixed_search_max` does.
    pub fixed_rounds_per_side: Option<u64>,
    /// The exact power at that count.
    pub fixed_power: Option<f64>,
    /// The largest count tried.
    pub fixed_search_max: u64,
    /// The sequential design.
    pub sequential: SequentialPlan,
}

/// The sequential budget when none is given: 1.3 × the fixed design's count (rounded up), so a
/// sequential run never costs more than 30% above the fixed one, within
/// `1..=`[`MAX_EXACT_ROUNDS`]; [`MAX_EXACT_ROUNDS`] when the fixed design found no count.
pub fn default_budget(fixed: Option<u64>) -> u64 {
    match fixed {
        Some(n) => ((n as f64 * 1.3).ceil() as u64).clamp(1, MAX_EXACT_ROUNDS),
        None => MAX_EXACT_ROUNDS,
    }
}

/// The sequential design `round run --until-decided` uses for this plan: interleaved runs bet
/// on the target ([`Design::targeted`]); against a block the alternative does not enter.
pub fn design_for(
    alpha: f64,
    max_rounds: u64,
    baseline: f64,
    target: f64,
) -> Result<Design, StatsError> {
    Design::targeted(alpha, max_rounds, baseline, target)
}

/// Compute a plan. Errors on rates outside `0..=1`, equal rates, levels outside `(0, 1)`, a
/// budget above [`MAX_EXACT_ROUNDS`] and more than [`MAX_SIMULATE`] runs.
pub fn plan(req: &PlanRequest) -> Result<PlanReport, StatsError> {
    check_probability("baseline rate", req.baseline)?;
    check_probability("target rate", req.target)?;
    check_level("alpha", req.alpha)?;
    check_level("power", req.power)?;
    if req.baseline == req.target {
        return Err(StatsError::EqualRates);
    }
    if let Some(n) = req.simulate {
        if n == 0 {
            return Err(StatsError::Zero("simulation runs"));
        }
        if n > MAX_SIMULATE {
            return Err(StatsError::TooLarge {
                what: "simulation runs",
                value: n,
                max: MAX_SIMULATE,
            });
        }
    }
    if let Some(0) = req.block_rounds {
        return Err(StatsError::Zero("block rounds"));
    }
    let search = req.fixed_search_max.min(MAX_ROUNDS_PER_SIDE);
    let fixed = fixed_rounds_per_side(req.baseline, req.target, req.alpha, req.power, search)?;
    let fixed_power = match fixed {
        Some(n) => Some(fisher_power(req.baseline, req.target, n, req.alpha)?),
        None => None,
    };
    let budget = req.max_rounds.unwrap_or_else(|| default_budget(fixed));
    if budget > MAX_EXACT_ROUNDS {
        return Err(StatsError::TooLarge {
            what: "max rounds",
            value: budget,
            max: MAX_EXACT_ROUNDS,
        });
    }
    let design = design_for(req.alpha, budget, req.baseline, req.target)?;
    let mode = match req.block_rounds {
        Some(block_rounds) => Plan::AgainstBlock { block_rounds },
        None => Plan::Interleaved,
    };
    let e = expected_rounds(&design, mode, req.baseline, req.target)?;
    let (false_decision_rate, power, simulation) = match req.simulate {
        Some(runs) => {
            let at_target = simulate(&design, mode, req.baseline, req.target, runs, req.seed)?;
            let null = simulate(
                &design,
                mode,
                req.baseline,
                req.baseline,
                runs,
                req.seed.wrapping_add(1),
            )?;
            (
                Some(null.false_decision_rate),
                at_target.power,
                Some(SimulationSummary {
                    runs,
                    seed: req.seed,
                    mean_rounds_under_target: at_target.mean_rounds,
                    mean_rounds_under_no_difference: null.mean_rounds,
                }),
            )
        }
        None => (None, None, None),
    };
    let theta = match (mode, design.alternative()) {
        (Plan::Interleaved, Alternative::Point(t)) => Some(t),
        _ => None,
    };
    Ok(PlanReport {
        baseline: req.baseline,
        target: req.target,
        alpha: req.alpha,
        power: req.power,
        fixed_rounds_per_side: fixed,
        fixed_power,
        fixed_search_max: search,
        sequential: SequentialPlan {
            mode: match mode {
                Plan::Interleaved => "interleaved",
                Plan::AgainstBlock { .. } => "against-block",
            },
            block_rounds: req.block_rounds,
            theta,
            expected_rounds_per_side: ExpectedPerSide {
                under_target: e.under_target,
                under_no_difference: e.under_no_difference,
            },
            max_rounds_per_side: e.max,
            exact: ExactFigures {
                power: e.power,
                false_decision_rate: e.false_decision_rate,
            },
            false_decision_rate,
            power,
            simulation,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(baseline: f64, target: f64) -> PlanRequest {
        PlanRequest {
            baseline,
            target,
            alpha: 0.05,
            power: 0.8,
            max_rounds: None,
            block_rounds: None,
            simulate: None,
            seed: 1,
            fixed_search_max: 200,
        }
    }

    // The figures quoted in docs/ROUNDS.md, from the independently checked stats functions
    // (see power.rs and sequential.rs for the SciPy/Python commands): 50% -> 90% needs 23 per
    // side fixed; the targeted design with a budget of 30 (= 1.3 x 23) needs 19.87 on average.
    #[test]
    fn plan_50_to_90() {
        let p = plan(&req(0.5, 0.9)).unwrap();
        assert_eq!(p.fixed_rounds_per_side, Some(23));
        assert_eq!(p.sequential.max_rounds_per_side, 30);
        assert!(
            (p.sequential.expected_rounds_per_side.under_target - 19.871920068354612).abs() < 1e-8
        );
        assert!((p.sequential.exact.power - 0.8196479870650557).abs() < 1e-9);
        assert!(p.sequential.exact.false_decision_rate <= 0.05);
        assert!(p.sequential.power.is_none());
    }

    #[test]
    fn simulation_agrees_with_exact_figures() {
        let mut r = req(0.5, 0.9);
        r.simulate = Some(2_000);
        let p = plan(&r).unwrap();
        let exact = p.sequential.exact;
        let se = (exact.power * (1.0 - exact.power) / 2_000.0).sqrt();
        assert!(
            (p.sequential.power.unwrap() - exact.power).abs() <= 4.0 * se,
            "{p:?}"
        );
        let fdr = p.sequential.false_decision_rate.unwrap();
        assert!(
            fdr <= 0.05 + 3.0 * (0.05 * 0.95 / 2_000.0_f64).sqrt(),
            "{p:?}"
        );
    }

    #[test]
    fn bad_requests_are_errors() {
        assert!(plan(&req(0.5, 0.5)).is_err());
        assert!(plan(&req(-0.1, 0.5)).is_err());
        assert!(plan(&req(0.5, f64::NAN)).is_err());
        let mut r = req(0.5, 0.9);
        r.alpha = 1.0;
        assert!(plan(&r).is_err());
        let mut r = req(0.5, 0.9);
        r.max_rounds = Some(MAX_EXACT_ROUNDS + 1);
        assert!(plan(&r).is_err());
        let mut r = req(0.5, 0.9);
        r.simulate = Some(0);
        assert!(plan(&r).is_err());
        let mut r = req(0.5, 0.9);
        r.block_rounds = Some(0);
        assert!(plan(&r).is_err());
    }

    #[test]
    fn unreachable_fixed_design_still_plans() {
        let mut r = req(0.5, 0.52);
        r.fixed_search_max = 20;
        let p = plan(&r).unwrap();
        assert_eq!(p.fixed_rounds_per_side, None);
        assert_eq!(p.sequential.max_rounds_per_side, MAX_EXACT_ROUNDS);
    }
}
