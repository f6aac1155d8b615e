//! Compiles src/bpf/systrace.bpf.c and generates its Rust skeleton into OUT_DIR.
//! `CLANG` names the compiler to use; `BPF_CFLAGS` adds flags to it.

use std::env;
use std::ffi::OsString;
use std::path::PathBuf;

use libbpf_cargo::SkeletonBuilder;

const SRC: &str = "src/bpf/systrace.bpf.c";

fn main() {
    let out =
        PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("systrace.skel.rs");
    let arch = env::var("CARGO_CFG_TARGET_ARCH").expect("cargo sets CARGO_CFG_TARGET_ARCH");
    let bpf_arch = match arch.as_str() {
        "x86_64" => "x86",
        "aarch64" => "arm64",
        other => other,
    };

    let mut args: Vec<OsString> = vec![
        format!("-Isrc/bpf/vmlinux/{arch}").into(),
        "-Isrc/bpf".into(),
        format!("-D__TARGET_ARCH_{bpf_arch}").into(),
        "-O2".into(),
        "-g".into(),
        "-Wall".into(),
    ];
    if let Some(extra) = env::var_os("BPF_CFLAGS") {
        args.extend(
            extra
                .to_string_lossy()
                .split_whitespace()
                .map(OsString::from),
        );
    }

    let mut builder = SkeletonBuilder::new();
    builder.source(SRC).clang_args(args);
    if let Some(clang) = env::var_os("CLANG") {
        builder.clang(clang);
    }
    if let Err(err) = builder.build_and_generate(&out) {
        panic!("building the BPF programs failed (is clang installed?): {err:#}");
    }

    println!("cargo:rerun-if-changed={SRC}");
    // The interface header and the parts systrace.bpf.c includes.
    for entry in std::fs::read_dir("src/bpf")
        .expect("src/bpf is readable")
        .flatten()
    {
        let name = entry.file_name();
        if name.to_string_lossy().ends_with(".h") {
            println!("cargo:rerun-if-changed=src/bpf/{}", name.to_string_lossy());
        }
    }
    println!("cargo:rerun-if-changed=src/bpf/vmlinux/{arch}/vmlinux.h");
    println!("cargo:rerun-if-env-changed=CLANG");
    println!("cargo:rerun-if-env-changed=BPF_CFLAGS");
}
