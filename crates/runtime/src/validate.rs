//! Checks that an uploaded binary is a component wafer can run, with reasons a user can act on.

use wasmtime::Engine;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker};

use crate::contract::{
    HANDLE_FUNCTION, HANDLER_INTERFACE, INCOMING_HANDLER_INTERFACE, is_handler_export,
    is_incoming_handler_export, is_supported_import,
};
use crate::host::HostState;

/// Why a deployment was refused. Each message says what was wrong and what to do.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The bytes are not WebAssembly at all.
    #[error(
        "The file is not a WebAssembly binary (it does not start with the `\\0asm` magic \
         bytes). Upload a .wasm component built for the wafer:function world."
    )]
    NotWasm,
    /// A core module where a component is needed.
    #[error(
        "The file is a core WebAssembly module, not a component. Build it for the \
         wasm32-wasip2 target (or turn it into a component with `wasm-tools component new`) \
         implementing the wafer:function world."
    )]
    CoreModule,
    /// A WebAssembly binary of a version or layer wasmtime does not read.
    #[error("The file is a WebAssembly binary of an unsupported version or layer ({0}).")]
    UnsupportedBinary(String),
    /// wasmtime's validation refused the component, for the reason given.
    #[error("The component is not valid: {0}")]
    Invalid(String),
    /// The component exports neither handler wafer calls, at a version this runtime speaks.
    #[error(
        "The component exports neither the wafer handler (`{HANDLER_INTERFACE}@0.1.x` with a \
         `{HANDLE_FUNCTION}` function) nor a wasi:http handler \
         (`{INCOMING_HANDLER_INTERFACE}@0.2.x`); it exports {exports}. Implement the \
         `function` world of wit/function.wit, e.g. with a wafer guest SDK, or the \
         `wasi:http/proxy` world."
    )]
    MissingHandler {
        /// What it exports instead, listed for the message.
        exports: String,
    },
    /// The component imports interfaces the host does not link, by name.
    #[error(
        "The component imports interfaces wafer does not provide: {}. wafer provides WASI 0.2 \
         (cli, clocks, random, io, filesystem without directories, sockets that refuse every \
         address), outgoing wasi:http and wafer:function/context; remove these imports or \
         build against those versions.",
        .0.join(", ")
    )]
    UnsupportedImports(Vec<String>),
    /// The component cannot be linked or instantiated, or its handler has the wrong type.
    #[error("The component cannot be linked with wafer's host interfaces: {0}")]
    Incompatible(String),
    /// Writing the component or its compiled artifact to disk failed.
    #[error("The deployment could not be stored: {0}")]
    Storage(#[from] std::io::Error),
    /// The compiler failed, or its thread stopped, for a reason that is not the component's.
    #[error("Compilation failed unexpectedly: {0}")]
    Internal(String),
}

const WASM_MAGIC: &[u8; 4] = b"\0asm";
const CORE_MODULE_VERSION: [u8; 4] = [0x01, 0x00, 0x00, 0x00];
const COMPONENT_VERSION: [u8; 4] = [0x0d, 0x00, 0x01, 0x00];

/// Refuses anything that is not a component binary, before spending time compiling it.
pub(crate) fn check_binary_kind(bytes: &[u8]) -> Result<(), CompileError> {
    if bytes.len() < 8 || &bytes[..4] != WASM_MAGIC {
        return Err(CompileError::NotWasm);
    }
    let version: [u8; 4] = [bytes[4], bytes[5], bytes[6], bytes[7]];
    match version {
        COMPONENT_VERSION => Ok(()),
        CORE_MODULE_VERSION => Err(CompileError::CoreModule),
        other => Err(CompileError::UnsupportedBinary(format!(
            "version bytes {}",
            hex::encode(other)
        ))),
    }
}

/// Checks a compiled component's exports and imports against the worlds wafer runs and the
/// linker.
pub(crate) fn check_world(
    engine: &Engine,
    linker: &Linker<HostState>,
    component: &Component,
) -> Result<(), CompileError> {
    let ty = component.component_type();
    let exports_function = |is_export: fn(&str) -> bool| {
        ty.exports(engine)
            .find(|(name, _)| is_export(name))
            .is_some_and(|(_, item)| match item.ty {
                ComponentItem::ComponentInstance(instance) => instance
                    .get_export(engine, HANDLE_FUNCTION)
                    .is_some_and(|item| matches!(item.ty, ComponentItem::ComponentFunc(_))),
                _ => false,
            })
    };
    if !exports_function(is_handler_export) && !exports_function(is_incoming_handler_export) {
        let names: Vec<String> = ty
            .exports(engine)
            .map(|(name, _)| format!("`{name}`"))
            .collect();
        let exports = if names.is_empty() {
            "nothing".to_owned()
        } else {
            names.join(", ")
        };
        return Err(CompileError::MissingHandler { exports });
    }

    let unsupported: Vec<String> = ty
        .imports(engine)
        .map(|(name, _)| name)
        .filter(|name| !is_supported_import(name))
        .map(str::to_owned)
        .collect();
    if !unsupported.is_empty() {
        return Err(CompileError::UnsupportedImports(unsupported));
    }

    linker
        .instantiate_pre(component)
        .map(drop)
        .map_err(|error| CompileError::Incompatible(format!("{error:#}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_not_wasm() {
        assert!(matches!(
            check_binary_kind(b"hello world"),
            Err(CompileError::NotWasm)
        ));
    }

    #[test]
    fn a_core_module_is_refused_as_such() {
        let empty_module = b"\0asm\x01\0\0\0";
        assert!(matches!(
            check_binary_kind(empty_module),
            Err(CompileError::CoreModule)
        ));
    }

    #[test]
    fn a_component_header_passes() {
        assert!(check_binary_kind(b"\0asm\x0d\0\x01\0").is_ok());
    }
}
