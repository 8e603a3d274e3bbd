#!/usr/bin/env bash
# Regenerates tb-monitor's icon files from the one source, tb-monitor.svg:
#   NxN.png (16 … 1024)  Linux hicolor theme, the portable archive, cargo-packager's icon list
#   tb-monitor.ico       Windows: the .exe's embedded icon and the installer (16 … 256)
#   tb-monitor.icns      macOS: the .app bundle (16 … 1024)
#   ../icon.png          the window icon compiled into the binary (256)
# The outputs are committed; run this after editing the SVG and commit them too.
# Needs Debian packages librsvg2-bin (rsvg-convert), imagemagick (convert) and icnsutils (png2icns).
# The outputs are reproducible: the same SVG and tools give the same bytes.
set -euo pipefail
cd "$(dirname "$0")"

for tool in rsvg-convert convert png2icns; do
  command -v "$tool" >/dev/null || {
    echo "icons: $tool is missing: apt-get install librsvg2-bin imagemagick icnsutils" >&2
    exit 2
  }
done

sizes=(16 24 32 48 64 128 256 512 1024)
for s in "${sizes[@]}"; do
  rsvg-convert --width "$s" --height "$s" tb-monitor.svg --output "${s}x${s}.png"
done
cp 256x256.png ../icon.png

# Windows: every size a shell may ask for; ImageMagick stores 256 as PNG, the rest as BMP.
# No timestamps in the output, so that a rebuild changes nothing.
convert 16x16.png 24x24.png 32x32.png 48x48.png 64x64.png 128x128.png 256x256.png \
  +set date:create +set date:modify tb-monitor.ico

# macOS: the sizes icnsutils knows (its 24 and 64 slots do not exist in the format).
png2icns tb-monitor.icns 16x16.png 32x32.png 48x48.png 128x128.png 256x256.png 512x512.png \
  1024x1024.png >/dev/null

echo "icons: wrote ${sizes[*]/%/px} PNGs, tb-monitor.ico, tb-monitor.icns and ../icon.png"
