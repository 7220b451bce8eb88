//! `compare`'s work: select both sides from the store, leave out rounds whose fix never
//! confirmed it loaded, and compare them ([`crate::rounds::compare`]).

use crate::rounds::compare::{compare, Comparison, Side};
use crate::rounds::handshake::{self, Unconfirmed};
use crate::store::{RoundSelector, Store};

use super::OpsError;

/// A human label for a selector: `rounds 1-20`, `fix v2.3`, `native`...
pub fn selector_label(s: &RoundSelector) -> String {
    match s {
        RoundSelector::All => "all rounds".into(),
        RoundSelector::Range(a, b) if a == b => format!("round {a}"),
        RoundSelector::Range(a, b) => format!("rounds {a}-{b}"),
        RoundSelector::Batch(b) => format!("batch {b}"),
        RoundSelector::Fix(f) => format!("fix {f}"),
        RoundSelector::Native => "native".into(),
        RoundSelector::Host(h) => format!("host {h}"),
        RoundSelector::And(all) => all
            .iter()
            .map(selector_label)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Gather both sides from the store and compare them. Rounds whose fix never confirmed it
/// loaded are left out unless `include_unconfirmed`; the record of them comes back for the
/// warning. A side without rounds is [`OpsError::NoRounds`], saying why.
pub fn compare_selectors(
    store: &Store,
    a: &RoundSelector,
    b: &RoundSelector,
    include_unconfirmed: bool,
) -> Result<(Comparison, Unconfirmed), OpsError> {
    let mut unconfirmed = Unconfirmed::default();
    let mut side = |s: &RoundSelector| -> Result<Side, OpsError> {
        let (rounds, left) =
            handshake::partition(store.round_summaries(s)?, include_unconfirmed, |r| {
                (r.number, r.fix.as_deref(), r.fix_confirmed)
            });
        if rounds.is_empty() {
            let why = match left.rounds.len() {
                0 => String::new(),
                n => format!(
                    "; {n} matching round(s) were left out because their fix never confirmed \
                     it loaded (--include-unconfirmed counts them)"
                ),
            };
            return Err(OpsError::NoRounds(format!(
                "no rounds match {} (see `agx-triage rounds`){why}",
                selector_label(s)
            )));
        }
        unconfirmed.extend(left);
        Ok(Side {
            label: selector_label(s),
            rounds,
        })
    };
    let (sa, sb) = (side(a)?, side(b)?);
    Ok((compare(&sa, &sb)?, unconfirmed))
}
