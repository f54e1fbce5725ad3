//! The verification stage: the integrity rules over proposed records. A
//! record that fails a blocking criterion is returned with its reasons;
//! the others become `VERIFIED`.

use crate::store::households::{StoredHousehold, VERIFIED};

use super::{Cursor, JobError, Program, Run, commit_statuses, lines_of};

pub(super) async fn batch(
    run: &Run<'_>,
    batch: Vec<StoredHousehold>,
    at: Cursor<'_>,
) -> Result<bool, JobError> {
    let outcomes = run.evaluate(Program::Households, lines_of(&batch)).await?;
    commit_statuses(run, &batch, &outcomes, VERIFIED, at).await
}
