//! The evaluation context of a request or command: `as_of` and parameter
//! overrides given as `NAME=VALUE`.

use layak_dsl::date::Date;
use layak_dsl::eval::{EvalContext, parse_override};
use layak_dsl::ir::Program;

/// Why a context could not be made; each front end words it for its users
/// (`--as-of` and `--param` for the CLI, fields of the request for HTTP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextError {
    /// `as_of` is not a `YYYY-MM-DD` date.
    Date(String),
    /// An override that names no parameter or has the wrong type.
    Param { spec: String, message: String },
}

impl std::fmt::Display for ContextError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ContextError::Date(text) => {
                write!(f, "`--as-of {text}` is not a date; write it as YYYY-MM-DD")
            }
            ContextError::Param { spec, message } => write!(f, "`--param {spec}`: {message}"),
        }
    }
}

impl std::error::Error for ContextError {}

/// The context of `as_of` (`YYYY-MM-DD`) with the overrides `params`
/// (`NAME=VALUE` each).
pub fn context<S: AsRef<str>>(
    program: &Program,
    as_of: &str,
    params: &[S],
) -> Result<EvalContext, ContextError> {
    let date = Date::parse(as_of).ok_or_else(|| ContextError::Date(as_of.to_string()))?;
    let mut ctx = EvalContext::new(date);
    for spec in params {
        let spec = spec.as_ref();
        let (name, value) =
            parse_override(program, spec).map_err(|message| ContextError::Param {
                spec: spec.to_string(),
                message,
            })?;
        ctx.overrides.insert(name, value);
    }
    Ok(ctx)
}
