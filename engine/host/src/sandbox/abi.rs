//! The static half of the ABI check: what a module imports and exports, read
//! from its type information before anything runs. The dynamic half
//! (`abi_version()`) runs in a sandboxed store in `session.rs`.

use wasmtime::{ExternType, FuncType, Module, ValType};

use super::error::{ErrorCode, RuntimeError};

/// The exported functions of the ABI: name, parameter count, result count.
/// Every parameter and result is an `i32`.
const FUNCS: [(&str, usize, usize); 5] = [
    ("abi_version", 0, 1),
    ("alloc", 1, 1),
    ("evaluate", 2, 1),
    ("result_len", 0, 1),
    ("decide", 2, 1),
];

/// Checks that `module` imports nothing, exports the ABI's memory and
/// functions with the right types, and that its initial memory fits under
/// `memory_cap` bytes.
pub fn check(module: &Module, memory_cap: usize) -> Result<(), RuntimeError> {
    if let Some(import) = module.imports().next() {
        return Err(abi(format!(
            "the module imports `{}::{}`; rule modules must import nothing",
            import.module(),
            import.name()
        )));
    }
    let memory = match module.get_export("memory") {
        Some(ExternType::Memory(memory)) => memory,
        Some(_) => return Err(abi("export `memory` is not a memory")),
        None => return Err(abi("the module does not export `memory`")),
    };
    if memory.is_64() || memory.is_shared() {
        return Err(abi(
            "export `memory` must be an unshared 32-bit memory".to_string()
        ));
    }
    let initial = memory.minimum().saturating_mul(memory.page_size());
    if usize::try_from(initial).map_or(true, |bytes| bytes > memory_cap) {
        return Err(RuntimeError::new(
            ErrorCode::Memory,
            format!(
                "the module starts with {initial} bytes of memory, over the cap of {memory_cap} bytes"
            ),
        ));
    }
    for (name, params, results) in FUNCS {
        match module.get_export(name) {
            Some(ExternType::Func(ty)) if signature_is(&ty, params, results) => {}
            Some(ExternType::Func(ty)) => {
                return Err(abi(format!(
                    "export `{name}` has type {}, expected {}",
                    show(&ty),
                    expected(params, results)
                )));
            }
            Some(_) => return Err(abi(format!("export `{name}` is not a function"))),
            None => return Err(abi(format!("the module does not export `{name}`"))),
        }
    }
    Ok(())
}

fn abi(message: impl Into<String>) -> RuntimeError {
    RuntimeError::new(ErrorCode::Abi, message)
}

fn is_i32(ty: &ValType) -> bool {
    matches!(ty, ValType::I32)
}

fn signature_is(ty: &FuncType, params: usize, results: usize) -> bool {
    ty.params().len() == params
        && ty.results().len() == results
        && ty.params().all(|p| is_i32(&p))
        && ty.results().all(|r| is_i32(&r))
}

fn show(ty: &FuncType) -> String {
    let list = |tys: &mut dyn Iterator<Item = ValType>| {
        tys.map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
    };
    format!(
        "({}) -> ({})",
        list(&mut ty.params()),
        list(&mut ty.results())
    )
}

fn expected(params: usize, results: usize) -> String {
    format!(
        "({}) -> ({})",
        vec!["i32"; params].join(", "),
        vec!["i32"; results].join(", ")
    )
}
