#!/usr/bin/env bash
# Re-vendors the U.S. Web Design System into static/uswds/ from its npm package.
#
#   scripts/update-uswds.sh          # the newest 3.x
#   scripts/update-uswds.sh 3.14.0   # one exact version
#
# It takes only what Verity's pages use (static/uswds/VERSION.md lists it), drops the
# @font-face rules of the fonts it doesn't ship (so the browser never asks for a missing file)
# and the source-map comments. Nothing here runs at build or run time: the files are committed
# and compiled into the binary (src/assets.rs). Afterwards: update the version in VERSION.md,
# run `cargo test --lib assets` and `cargo test --test it assets::`, look at the pages.
set -euo pipefail

version="${1:-3}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
out="$repo/static/uswds"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

cd "$tmp"
tarball="$(npm pack --silent "@uswds/uswds@$version")"
tar xzf "$tarball"
dist="$tmp/package/dist"
echo "vendoring $(node -p "require('./package/package.json').version") from $tarball"

# Source Sans Pro (the compiled CSS's sans and UI family) in the two weights the pages use.
fonts=(
  fonts/source-sans-pro/sourcesanspro-regular-webfont.woff2
  fonts/source-sans-pro/sourcesanspro-bold-webfont.woff2
)

rm -rf "$out/css" "$out/js" "$out/fonts" "$out/img"
mkdir -p "$out/css" "$out/js"
for f in "${fonts[@]}"; do
  mkdir -p "$out/$(dirname "$f")"
  cp "$dist/$f" "$out/$f"
done

# The CSS without the @font-face rules of fonts not shipped, and without its source-map comment.
KEEP="${fonts[*]}" node -e '
  const fs = require("fs");
  const keep = process.env.KEEP.split(" ");
  let css = fs.readFileSync(process.argv[1], "utf8");
  css = css.replace(/@font-face\{[^}]*\}/g, (rule) => {
    const m = rule.match(/url\(\.\.\/([^)]+)\)/);
    return m && keep.includes(m[1]) ? rule : "";
  });
  css = css.replace(/\/\*# sourceMappingURL=[^*]*\*\/\s*$/, "");
  fs.writeFileSync(process.argv[2], css);
' "$dist/css/uswds.min.css" "$out/css/uswds.min.css"

# Every image the CSS points at (icons of alerts, radios, checkboxes, selects, the banner...),
# except the hero photo (the usa-hero component isn't used).
grep -o 'url(\.\./img/[^)]*)' "$out/css/uswds.min.css" | sed 's/^url(\.\.\///; s/)$//' | sort -u |
  grep -v '^img/hero\.jpg$' | while read -r f; do
    mkdir -p "$out/$(dirname "$f")"
    cp "$dist/$f" "$out/$f"
  done

# The banner's own images (named in its markup, not in the CSS).
for f in img/us_flag_small.png img/icon-dot-gov.svg img/icon-https.svg; do
  cp "$dist/$f" "$out/$f"
done

# The script (the banner's "Here's how you know" toggle), without its source-map comment.
sed 's|//# sourceMappingURL=.*$||' "$dist/js/uswds.min.js" >"$out/js/uswds.min.js"

cp "$tmp/package/LICENSE.md" "$out/LICENSE.md"
du -ab "$out" | sort -n | tail -n 12
