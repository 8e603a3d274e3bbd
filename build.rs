//! Build script: gives the Windows executable its icon and version information.
//!
//! The rules it follows:
//! - It acts only when the *target* is Windows, read from `CARGO_CFG_TARGET_OS`: a build
//!   script runs on the host, so `cfg!(windows)` here would describe the wrong machine. For
//!   every other target it only tells Cargo not to run it again, so Linux and macOS builds pay
//!   for compiling this file and `winresource` (a plain build-dependency without default
//!   features, two small crates) and nothing else.
//! - The icon is `assets/icons/tb-monitor.ico`. The version resource is filled from the
//!   `CARGO_PKG_*` variables: `FileVersion` and `ProductVersion` are the crate version (numeric
//!   `major.minor.patch.0`, flagged pre-release for `-rc` style versions), so Explorer's
//!   Properties ▸ Details agree with `tb-monitor --version`. The company name is the publisher
//!   the installer shows (the second part of the bundle id `io.tb-monitor.tb-monitor`).
//! - The resource is linked into the `tb-monitor` binary only, not into tests or benches.
//! - A missing icon or resource compiler fails the build: a Windows release without its icon
//!   is a broken release. The MSVC toolchain uses `rc.exe` from the Windows SDK; a MinGW
//!   cross-build from Linux uses `x86_64-w64-mingw32-windres` (Debian
//!   `binutils-mingw-w64-x86-64`).

use std::env;
use std::error::Error;
use std::path::Path;

/// The Windows icon (16 to 256 px), relative to the crate root.
const ICON: &str = "assets/icons/tb-monitor.ico";
/// The binary that carries the resource.
const BINARY: &str = "tb-monitor";

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo::rerun-if-changed=build.rs");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
        return Ok(());
    }
    println!("cargo::rerun-if-changed={ICON}");
    let icon = Path::new(&env::var("CARGO_MANIFEST_DIR")?).join(ICON);
    if !icon.is_file() {
        return Err(format!(
            "{} is missing: the Windows executable needs its icon",
            icon.display()
        )
        .into());
    }
    let icon = icon.to_str().ok_or("the crate path is not valid UTF-8")?;
    let license = env::var("CARGO_PKG_LICENSE")?;
    let mut resource = winresource::WindowsResource::new();
    resource
        .set_icon(icon)
        .set("ProductName", "tb-monitor")
        .set("FileDescription", "tb-monitor")
        .set("CompanyName", "tb-monitor")
        .set("InternalName", BINARY)
        .set("OriginalFilename", &format!("{BINARY}.exe"))
        .set("LegalCopyright", &format!("Licensed under {license}"))
        .set("Comments", &env::var("CARGO_PKG_DESCRIPTION")?);
    if !env::var("CARGO_PKG_VERSION_PRE")?.is_empty() {
        resource.set_version_info(
            winresource::VersionInfo::FILEFLAGS,
            winresource::VersionInfo::VS_FF_PRERELEASE,
        );
    }
    resource.compile_for(BINARY)?;
    Ok(())
}
