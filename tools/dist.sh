#!/usr/bin/env bash
# tools/dist.sh -- make the PGXN release archive of categorize from git:
#
#   git archive --format zip --prefix=categorize-<version>/ HEAD
#
# written to categorize-<version>.zip at the top of the tree (or in OUTDIR),
# <version> being META.json's "version" at HEAD.  What users of the
# release do not need (debian/ and its smoke test, .ci/, git's own files,
# the synthetic set's analysis scripts) is left out by export-ignore in
# .gitattributes; the data of make demo and make eval ships with its
# sources and licence (data/README.md).
#
# Usage: tools/dist.sh [--orig] [OUTDIR]      (what `make dist` runs)
#   --orig  also write ../categorize_<version>.orig.tar.gz (same files, as
#           tar.gz), the upstream tarball a Debian source build
#           (dpkg-buildpackage without -b, format 3.0 (quilt)) looks for
#
# Before writing, checks that the versions agree (tools/check_version.sh);
# after, that the archive's META.json passes tools/check_meta.py, that it
# holds no debian/ or .ci/, and that data/README.md is there if data/ is.
# Only committed files are archived: a warning says so when the work tree
# has uncommitted changes.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

orig=0
if [ "${1:-}" = --orig ]; then
    orig=1
    shift
fi
outdir=${1:-$top}

die() {
    echo "dist: $*" >&2
    exit 1
}

git rev-parse --verify -q HEAD >/dev/null || die "not a git checkout with a commit"
git cat-file -e HEAD:META.json 2>/dev/null || die "META.json is not committed (the archive is made from HEAD)"
version=$(git show HEAD:META.json | python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])') ||
    die "cannot read the version from META.json at HEAD"
[ -n "$version" ] || die "META.json at HEAD has an empty version"
[ "$(git show HEAD:META.json)" = "$(cat META.json)" ] ||
    echo "dist: warning: META.json differs from HEAD; archiving HEAD's (version $version)" >&2
git diff --quiet HEAD -- || echo "dist: warning: uncommitted changes are not in the archive" >&2

tools/check_version.sh >/dev/null || { tools/check_version.sh; die "versions disagree"; }

name=categorize-$version
mkdir -p "$outdir"
zip=$(cd "$outdir" && pwd)/$name.zip
git archive --format zip --prefix="$name/" -o "$zip" HEAD

# Check what was written: META.json valid (its files present), no packaging,
# the data's attribution beside the data
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$zip" "$tmp" "$name" <<'PY' || die "bad archive $zip"
import sys, zipfile
zip_path, dest, name = sys.argv[1:]
with zipfile.ZipFile(zip_path) as z:
    names = z.namelist()
    z.extractall(dest)
bad = [n for n in names if not n.startswith(name + "/")]
bad += [n for n in names if n.startswith((name + "/debian/", name + "/.ci/"))]
for n in bad:
    print(f"dist: {n} should not be in the archive", file=sys.stderr)
for need in ("META.json", "Makefile", "categorize.control"):
    if name + "/" + need not in names:
        print(f"dist: {need} is missing from the archive", file=sys.stderr)
        bad.append(need)
data = [n for n in names if n.startswith(name + "/data/") and not n.endswith("/")]
if data and name + "/data/README.md" not in names:
    print("dist: data/ ships without data/README.md (its sources and licence)", file=sys.stderr)
    bad.append("data/README.md")
sys.exit(1 if bad else 0)
PY
python3 "$top/tools/check_meta.py" "$tmp/$name/META.json" >/dev/null ||
    { python3 "$top/tools/check_meta.py" "$tmp/$name/META.json"; die "META.json in the archive is not valid"; }
echo "dist: $zip ($(stat -c %s "$zip") bytes, $(find "$tmp/$name" -type f | wc -l) files)"

if [ $orig = 1 ]; then
    tarball=$(cd "$top/.." && pwd)/categorize_$version.orig.tar.gz
    git archive --format tar.gz --prefix="$name/" -o "$tarball" HEAD
    echo "dist: $tarball ($(stat -c %s "$tarball") bytes)"
fi
