//! The verification stage: the integrity rules over proposed records. A
//! record that fails a blocking criterion is returned with its reasons;
//! the others become `VERIFIED`.

use crate::store::households::{StoredHousehold, VERIFIED};
use crate::store::jobs::advance;

use super::{JobError, Program, Run, lines_of, passed_or_returned, verification_reasons};

pub(super) async fn batch(
    run: &Run<'_>,
    batch: Vec<StoredHousehold>,
    last: &str,
) -> Result<(), JobError> {
    let outcomes = run.evaluate(Program::Households, lines_of(&batch)).await?;
    crate::store::write_tx!(run.state.store, |tx| {
        let (mut done, mut errors) = (0i64, 0i64);
        for (h, outcome) in batch.iter().zip(&outcomes) {
            match outcome {
                Ok(d) => {
                    let to = passed_or_returned(d, VERIFIED);
                    run.change(tx, h, to, verification_reasons(d).to_string(), None)
                        .await?;
                    done += 1;
                }
                Err(e) => {
                    errors += 1;
                    run.record_error(tx, h, e).await?;
                }
            }
        }
        advance(tx, run.job.id, done, errors, Some(last)).await?;
        run.audit(tx, done).await
    })?;
    Ok(())
}
