//! What maintaining the Merkle tree costs batch ingest: rounds on fresh databases, each with a
//! server of its own, alternately without the tree (the server's bench-only `--no-tree`
//! switch) and with it, the same events each round.

use std::path::Path;

use crate::alternation::{Alternation, RoundPlan};
use crate::data::Generator;
use crate::db::Place;
use crate::load::{self, Api};
use crate::server::{ServeOptions, ServerProcess};

/// The rounds of `plan`; the first condition is without the tree, the second with it.
pub async fn measure(
    place: &mut Place,
    work_dir: &Path,
    plan: RoundPlan,
    seed: u64,
) -> anyhow::Result<Alternation> {
    let mut alternation = Alternation::default();
    for index in 0..plan.rounds {
        let without_tree = Alternation::first_at(index);
        let purpose = format!("tree{index}");
        let url = place.fresh(&purpose).await?;
        let options = ServeOptions {
            no_tree: without_tree,
            ..ServeOptions::default()
        };
        let server = ServerProcess::start(&url, work_dir, &options).await?;
        let outcome = async {
            let api = Api::set_up(&server.base_url).await?;
            let cpu = server.cpu_seconds();
            let (stored, took) =
                load::batch_round(&api, &mut Generator::new(seed), plan.events, plan.concurrency).await?;
            anyhow::Ok((stored, took, server.cpu_seconds() - cpu))
        }
        .await;
        server.stop().await?;
        place.discard(&purpose).await;
        let (stored, took, cpu) = outcome?;
        alternation.push(without_tree, stored, took, cpu);
        eprintln!(
            "  round {}: {} tree: {stored} events at {:.0} events/s, server CPU {:.2} s",
            index + 1,
            if without_tree { "without the" } else { "with the" },
            stored as f64 / took.as_secs_f64(),
            cpu
        );
    }
    Ok(alternation)
}
