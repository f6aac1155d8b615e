//! The kernel programs build for every architecture they support, from this
//! machine: clang compiles src/bpf/systrace.bpf.c for x86_64 and for arm64
//! (against the vendored src/bpf/vmlinux/ARCH/vmlinux.h) with build.rs's
//! flags and must print nothing, not even a warning (cargo hides the
//! compiler's warnings). The objects must then hold the same programs and
//! maps, of the same sizes: the layout the collector reads is one for all.
//! Nothing is loaded: the arm64 object cannot run on this kernel.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;

use libbpf_rs::ObjectBuilder;

/// Rust's name for each architecture (its vmlinux/ folder), and the kernel's
/// (libbpf's `__TARGET_ARCH_*`), as build.rs maps them.
const ARCHES: [(&str, &str); 2] = [("x86_64", "x86"), ("aarch64", "arm64")];

fn clang() -> OsString {
    std::env::var_os("CLANG").unwrap_or_else(|| "clang".into())
}

/// Whether clang can be run; outside CI a missing one skips the test.
fn have_clang(test: &str) -> bool {
    match Command::new(clang()).arg("--version").output() {
        Ok(out) if out.status.success() => true,
        result => {
            let why = match result {
                Err(err) if err.kind() == ErrorKind::NotFound => "clang is not installed".into(),
                Err(err) => format!("clang cannot be run: {err}"),
                Ok(out) => format!("clang --version failed: {}", out.status),
            };
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{test}: CI=true but {why}: install clang (make deps)");
            }
            eprintln!("SKIPPED {test}: {why}");
            false
        }
    }
}

/// libbpf's headers (bpf_helpers.h and the rest), as libbpf-cargo gives them
/// to clang in build.rs: from the libbpf that is linked in.
fn libbpf_headers(dir: &Path) -> PathBuf {
    let include = dir.join("include");
    let bpf = include.join("bpf");
    std::fs::create_dir_all(&bpf).expect("creating the headers' directory");
    for (name, text) in libbpf_rs::libbpf_sys::API_HEADERS {
        std::fs::write(bpf.join(name), text).expect("writing a libbpf header");
    }
    include
}

/// Compiles the kernel programs for `arch` into `dir`, with build.rs's flags
/// and libbpf-cargo's own (-g -O2 -target bpf -fno-stack-protector); fails
/// on any output.
fn compile(arch: (&str, &str), include: &Path, dir: &Path) -> PathBuf {
    let (rust_arch, bpf_arch) = arch;
    let object = dir.join(format!("systrace.{bpf_arch}.bpf.o"));
    let mut clang = Command::new(clang());
    clang
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg(format!("-Isrc/bpf/vmlinux/{rust_arch}"))
        .arg("-Isrc/bpf")
        .arg(format!("-D__TARGET_ARCH_{bpf_arch}"))
        .args(["-O2", "-g", "-Wall"])
        .args(
            std::env::var("BPF_CFLAGS")
                .unwrap_or_default()
                .split_whitespace(),
        )
        .arg("-I")
        .arg(include)
        .args(["-fno-stack-protector", "-target", "bpf", "-c"])
        .arg("src/bpf/systrace.bpf.c")
        .arg("-o")
        .arg(&object);
    let out = clang.output().expect("running clang");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{rust_arch}: {clang:?} failed ({}):\n{stderr}",
        out.status
    );
    assert!(
        stderr.trim().is_empty() && out.stdout.is_empty(),
        "{rust_arch}: clang warned:\n{stderr}"
    );
    object
}

/// The programs (name, section) and maps (name, type, sizes, entries) of a
/// BPF object file, as libbpf reads them.
fn contents(object: &Path) -> (BTreeSet<String>, BTreeSet<String>) {
    let open = ObjectBuilder::default()
        .open_file(object)
        .unwrap_or_else(|err| panic!("libbpf cannot open {}: {err}", object.display()));
    let progs = open
        .progs()
        .map(|p| format!("{:?} in {:?}", p.name(), p.section()))
        .collect();
    let maps = open
        .maps()
        .map(|m| {
            format!(
                "{:?}: {:?}, key {} B, value {} B, {} entries",
                m.name(),
                m.map_type(),
                m.key_size(),
                m.value_size(),
                m.max_entries()
            )
        })
        .collect();
    (progs, maps)
}

#[test]
fn kernel_programs_build_for_every_arch_without_warnings() {
    let test = "kernel_programs_build_for_every_arch_without_warnings";
    if !have_clang(test) {
        return;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("arch-{}", std::process::id()));
    let include = libbpf_headers(&dir);
    let (include, dir) = (&include, &dir);
    let objects: Vec<PathBuf> = std::thread::scope(|s| {
        let builds: Vec<_> = ARCHES
            .iter()
            .map(|&arch| s.spawn(move || compile(arch, include, dir)))
            .collect();
        builds
            .into_iter()
            .map(|b| b.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let (x86_progs, x86_maps) = contents(&objects[0]);
    let (arm64_progs, arm64_maps) = contents(&objects[1]);
    assert!(x86_progs.len() >= 8, "{x86_progs:#?}");
    assert_eq!(
        x86_progs, arm64_progs,
        "programs differ between x86_64 and arm64"
    );
    assert_eq!(x86_maps, arm64_maps, "maps differ between x86_64 and arm64");
    std::fs::remove_dir_all(dir).expect("removing the objects");
}
