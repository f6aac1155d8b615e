//! What ships: a binary that needs only libc (libbpf, libelf and zlib are
//! linked in), and a man page and completions made from its CLI.

mod common;

use std::path::Path;
use std::process::Command;

use common::BIN;

/// `ldd` lists no libelf, zlib or libbpf; and with those libraries hidden
/// (each covered by an empty file in a private mount namespace, as on a
/// machine without them) it still loads its programs and runs.
#[test]
fn the_binary_needs_only_libc() {
    let ldd = Command::new("ldd").arg(BIN).output().expect("running ldd");
    let libraries = String::from_utf8_lossy(&ldd.stdout);
    for library in ["libelf", "libz.", "libbpf"] {
        assert!(
            !libraries.contains(library),
            "{library} is linked dynamically:\n{libraries}"
        );
    }
    if !common::can_trace("the_binary_needs_only_libc") {
        return;
    }
    let hide: String = ["libelf.so.1", "libz.so.1"]
        .iter()
        .map(|lib| format!("/usr/lib/{}-linux-gnu/{lib}", std::env::consts::ARCH))
        .filter(|path| Path::new(path).exists())
        .map(|path| format!("mount --bind /dev/null {path} && "))
        .collect();
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(format!("{hide}exec {BIN} --json --duration 0.5"))
        .output()
        .expect("running unshare");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\"summary\""), "{stdout}");
}

/// assets/ holds what `--generate-assets` makes now: a flag added without
/// `make assets` fails here.
#[test]
fn the_man_page_and_completions_are_current() {
    let dir = std::env::temp_dir().join(common::unique("systrace-assets"));
    let out = Command::new(BIN)
        .arg("--generate-assets")
        .arg(&dir)
        .output()
        .expect("running systrace-top");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    for file in [
        "systrace-top.1",
        "completions/systrace-top.bash",
        "completions/_systrace-top",
        "completions/systrace-top.fish",
    ] {
        let made = std::fs::read(dir.join(file)).expect("a generated file");
        let kept = std::fs::read(assets.join(file)).unwrap_or_default();
        assert!(made == kept, "assets/{file} is stale: run `make assets`");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
