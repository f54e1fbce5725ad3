//! The reference interpreter over the IR.
