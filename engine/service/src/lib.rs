//! The register service behind `layak serve`: the HTTP API ([`http`]), the
//! stage jobs that run the pipeline's stages over the stored register, and
//! the SQL store ([`store`]) with its migrations. It evaluates through
//! `layak-host`'s one pipeline and knows nothing of terminals.

pub mod http;
pub mod jobs;
pub mod store;
pub mod wire;
