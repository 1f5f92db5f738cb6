//! Records how the module is built, for `mcp_fastpath._native._BUILD_INFO` (shown by
//! `mcp-fastpath --version` and worth pasting into a bug report): PyO3's cfgs (`Py_LIMITED_API`
//! for an abi3 build), the Python version the build targets, and cargo's profile, optimisation
//! level, target triple and compiler.

use std::env;
use std::process::Command;

fn main() {
    pyo3_build_config::use_pyo3_cfgs();
    let python = pyo3_build_config::get().version();
    println!("cargo:rustc-env=FASTPATH_BUILD_PYTHON={python}");
    for (var, name) in [
        ("PROFILE", "FASTPATH_BUILD_PROFILE"),
        ("OPT_LEVEL", "FASTPATH_BUILD_OPT_LEVEL"),
        ("TARGET", "FASTPATH_BUILD_TARGET"),
    ] {
        let value = env::var(var).unwrap_or_default();
        println!("cargo:rustc-env={name}={value}");
    }
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    println!("cargo:rustc-env=FASTPATH_BUILD_RUSTC={version}");
    println!("cargo:rerun-if-changed=build.rs");
}
