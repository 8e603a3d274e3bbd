#!/usr/bin/env bash
# Packaging check for Linux: builds the distribution binary (profile `dist`), the .deb (with
# cargo-packager, configured in Cargo.toml's [package.metadata.packager]) and the portable
# .tar.gz, validates the desktop entry and the AppStream metadata, installs the .deb with apt
# (so its Depends are resolved), runs the installed /usr/bin/tb-monitor --version and the Xvfb
# smoke test against it, removes the package again, and prints timings and sizes.
#   .ci/package.sh               (called by .ci/run after the tests; needs root for apt-get and dpkg)
#   .ci/package.sh --build-only  (build, validate and check the packages; no install, no root)
# Outputs in target/packages/: tb-monitor_<version>_<arch>.deb, tb-monitor-<version>-<arch>-linux.tar.gz.
# Needs Debian packages desktop-file-utils and appstream, and those of .ci/smoke.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_NUMERIC=C # printf's decimal point

# The cargo-packager release this config was written for; installed when missing (not cached).
packager_version=0.11.8
app_id=io.tb_monitor.tb_monitor
desktop=packaging/linux/$app_id.desktop
metainfo=packaging/linux/$app_id.metainfo.xml

now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
timings=()
step_start() { step_name=$1 step_t0=$(now_ms); echo "package: $1"; }
step_done() { timings+=("$(printf '%-36s %6.1f s' "$step_name" "$((($(now_ms) - step_t0) / 100))e-1")"); }
fail() {
  echo "package: FAILED: $*" >&2
  exit 1
}

build_only=false
case ${1:-} in
  --build-only) build_only=true ;;
  "") ;;
  *) fail "unknown argument $1 (only --build-only)" ;;
esac

version=$(cargo pkgid | sed 's/.*[#@]//')
target_dir=$(realpath -m "${CARGO_TARGET_DIR:-target}")
out=$target_dir/packages
mkdir -p "$out"

step_start "cargo-packager $packager_version"
if [[ $(cargo packager --version 2>/dev/null) != *" $packager_version" ]]; then
  cargo install cargo-packager --locked --version "$packager_version"
fi
step_done

step_start "release build (profile dist)"
cargo build --profile dist --bin tb-monitor
bin=$target_dir/dist/tb-monitor
step_done

step_start "validate desktop entry and metainfo"
desktop-file-validate "$desktop"
appstreamcli validate --no-net --pedantic "$metainfo"
grep -q "<release version=\"$version\"" "$metainfo" ||
  fail "$metainfo has no <release version=\"$version\"> (Cargo.toml's version)"
grep -qx "Icon=tb-monitor" "$desktop" || fail "$desktop: Icon is not the installed icon name tb-monitor"
step_done

step_start "build .deb (cargo-packager)"
deb=$out/tb-monitor_${version}_$(dpkg --print-architecture).deb
rm -f "$deb"
# From packaging/, so that cargo-packager's search for packager.toml files does not walk target/.
(cd packaging && cargo packager --manifest-path ../Cargo.toml --profile dist --formats deb --out-dir "$out")
[[ -f $deb ]] || fail "cargo-packager did not write $deb"
step_done

step_start "build .tar.gz"
# The archive holds a usr-like tree (bin/, share/; the README and licenses in share/doc): unpacked
# into ~/.local (--strip-components=1) it installs the app for one user, menu entry and icons
# included.
name=tb-monitor-$version-$(uname -m)-linux
stage=$out/$name
rm -rf "$stage"
install -Dm755 "$bin" "$stage/bin/tb-monitor"
install -Dm644 "$desktop" "$stage/share/applications/$app_id.desktop"
install -Dm644 "$metainfo" "$stage/share/metainfo/$app_id.metainfo.xml"
for size in 16 24 32 48 64 128 256 512; do
  install -Dm644 "assets/icons/${size}x$size.png" "$stage/share/icons/hicolor/${size}x$size/apps/tb-monitor.png"
done
install -Dm644 assets/icons/tb-monitor.svg "$stage/share/icons/hicolor/scalable/apps/tb-monitor.svg"
install -Dm644 -t "$stage/share/doc/tb-monitor" README.md LICENSE LICENSE-MIT LICENSE-APACHE
# Reproducible: sorted, no owners, every mtime the last commit's.
epoch=$(git log -1 --format=%ct 2>/dev/null || date +%s)
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -C "$out" -cf - "$name" |
  gzip -9n >"$out/$name.tar.gz"
rm -rf "$stage"
step_done

step_start "check package contents"
contents=$(dpkg-deb --contents "$deb" | awk '{print $6}' | sed 's|^\./||; s|^|/|')
for path in /usr/bin/tb-monitor "/usr/share/applications/$app_id.desktop" \
  "/usr/share/metainfo/$app_id.metainfo.xml" /usr/share/icons/hicolor/48x48/apps/tb-monitor.png \
  /usr/share/icons/hicolor/256x256/apps/tb-monitor.png /usr/share/icons/hicolor/scalable/apps/tb-monitor.svg \
  /usr/share/doc/tb-monitor/copyright; do
  grep -qx "$path" <<<"$contents" || fail "$deb lacks $path"
done
listing=$(tar -tzf "$out/$name.tar.gz")
for path in bin/tb-monitor "share/applications/$app_id.desktop" share/icons/hicolor/48x48/apps/tb-monitor.png \
  share/doc/tb-monitor/README.md; do
  grep -qx "$name/$path" <<<"$listing" || fail "$name.tar.gz lacks $path"
done
dpkg-deb --field "$deb" Package Version Architecture Depends Installed-Size
step_done

print_sizes() {
  echo "package: timings"
  printf '  %s\n' "${timings[@]}"
  echo "package: sizes"
  local file
  for file in "$bin" "$deb" "$out/$name.tar.gz"; do
    printf '  %-44s %6.1f MB (%s bytes)\n' "$(basename "$file")" "$(($(stat -c %s "$file") / 100000))e-1" \
      "$(stat -c %s "$file")"
  done
  echo "  installed size (deb Installed-Size): $(dpkg-deb --field "$deb" Installed-Size) KiB"
}
if $build_only; then
  print_sizes
  exit 0
fi

step_start "install .deb (apt-get)"
# The package is removed again on exit, so that the machine is left as it was found.
trap 'dpkg --purge tb-monitor >/dev/null 2>&1 || true' EXIT
apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y --reinstall "$deb"; }
# A fresh machine may have no package lists yet: update once and retry.
apt_install || { apt-get update && apt_install; }
[[ $(dpkg-query -W -f='${Version}' tb-monitor) == "$version" ]] || fail "dpkg does not list tb-monitor $version"
cmp -s "$bin" /usr/bin/tb-monitor || fail "/usr/bin/tb-monitor is not the binary just built"
step_done

step_start "installed tb-monitor --version"
printed=$(/usr/bin/tb-monitor --version)
echo "$printed"
[[ $printed == "tb-monitor $version" ]] || fail "--version printed '$printed', expected 'tb-monitor $version'"
step_done

step_start "smoke test of /usr/bin/tb-monitor"
TB_MONITOR_BIN=/usr/bin/tb-monitor .ci/smoke.sh
step_done

print_sizes
