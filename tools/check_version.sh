#!/usr/bin/env bash
# tools/check_version.sh -- check that every place naming the version of
# categorize agrees.  categorize.control's default_version (MAJOR.MINOR, the
# SQL-level version) is the source of truth:
#
#   - META.json "version" (SemVer MAJOR.MINOR.PATCH) and its
#     provides.categorize.version start with default_version;
#   - the upstream part of debian/changelog's newest version (without epoch
#     and Debian revision) equals META.json's version;
#   - default_version can be installed: sql/categorize--<default_version>.sql
#     exists, or update scripts sql/categorize--A--B.sql lead to it from an
#     older full script;
#   - every older full script sql/categorize--X.sql (released versions stay
#     frozen, with their scripts) can be updated to default_version through
#     update scripts;
#   - META.json's provides.categorize.file exists.
#
# Usage: tools/check_version.sh   (from anywhere; needs python3 for JSON)
# Prints "check_version: ok (...)" and exits 0, or prints one line per
# disagreement and exits 1.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
problems=0

# Report one disagreement
problem() {
    echo "check_version: $*"
    problems=$((problems + 1))
}

control_version=$(sed -n "s/^[[:space:]]*default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" categorize.control)
if [ -z "$control_version" ]; then
    echo "check_version: categorize.control has no default_version = '...' line"
    exit 1
fi
if ! [[ $control_version =~ ^[0-9]+\.[0-9]+$ ]]; then
    problem "categorize.control default_version '$control_version' is not MAJOR.MINOR"
fi

# META.json: version, provides.categorize.version and .file, one a line
meta=$(python3 - <<'EOF'
import json, sys
try:
    m = json.load(open("META.json", encoding="utf-8"))
    p = m.get("provides", {}).get("categorize", {})
    print(m.get("version", ""))
    print(p.get("version", ""))
    print(p.get("file", ""))
except (OSError, ValueError, AttributeError) as e:
    print(f"error: {e}")
EOF
)
if [[ $meta == error:* ]]; then
    problem "cannot read META.json (${meta#error: })"
    meta_version='' provides_version='' provides_file=''
else
    { read -r meta_version; read -r provides_version; read -r provides_file; } <<<"$meta"
fi

# MAJOR.MINOR of a SemVer version
major_minor() { sed -n 's/^\([0-9]*\.[0-9]*\)\.[0-9].*/\1/p' <<<"$1"; }

if [ -n "$meta" ] && [[ $meta != error:* ]]; then
    if [ -z "$meta_version" ]; then
        problem "META.json has no \"version\""
    elif [ "$(major_minor "$meta_version")" != "$control_version" ]; then
        problem "META.json version $meta_version does not match categorize.control default_version $control_version (MAJOR.MINOR must agree)"
    fi
    if [ -z "$provides_version" ]; then
        problem "META.json has no provides.categorize.version"
    elif [ "$(major_minor "$provides_version")" != "$control_version" ]; then
        problem "META.json provides.categorize.version $provides_version does not match default_version $control_version"
    fi
    if [ -n "$provides_file" ] && [ ! -f "$provides_file" ]; then
        problem "META.json provides.categorize.file $provides_file does not exist"
    fi
fi

# debian/changelog: "categorize (EPOCH:UPSTREAM-REVISION) dist; urgency=..."
if [ -f debian/changelog ]; then
    deb_version=$(sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' debian/changelog)
    deb_upstream=${deb_version#*:}
    [[ $deb_upstream == *-* ]] && deb_upstream=${deb_upstream%-*}
    if [ -z "$deb_version" ]; then
        problem "cannot read the version on the first line of debian/changelog"
    elif [ -n "$meta_version" ] && [ "$deb_upstream" != "$meta_version" ]; then
        problem "debian/changelog version $deb_version (upstream $deb_upstream) does not match META.json version $meta_version"
    fi
else
    problem "debian/changelog is missing"
fi

# CREATE EXTENSION categorize installs default_version from its own full
# script when there is one (e.g. sql/categorize--1.1.sql), else from an
# older full script followed by update scripts sql/categorize--A--B.sql:
# either must exist.  The full scripts of older versions stay (released versions are
# frozen), and a database at one of them must be able to update to
# default_version.
full=() edges=()
for f in sql/categorize--*.sql; do
    [ -e "$f" ] || continue
    v=${f#sql/categorize--}
    v=${v%.sql}
    if [[ $v == *--* ]]; then edges+=("$v"); else full+=("$v"); fi
done

# The versions reachable from the given ones through update scripts, as
# " A B C "
reachable_from() {
    local reachable=" $* " changed=1 e from to
    while [ $changed = 1 ]; do
        changed=0
        for e in "${edges[@]}"; do
            from=${e%%--*} to=${e#*--}
            if [[ $reachable == *" $from "* ]] && [[ $reachable != *" $to "* ]]; then
                reachable+="$to "
                changed=1
            fi
        done
    done
    echo "$reachable"
}

updates_from=()
for v in "${full[@]}"; do
    # only older versions (a newer full script would be a version under way)
    [ "$(printf '%s\n' "$v" "$control_version" | sort -V | head -1)" = "$control_version" ] && continue
    if [[ $(reachable_from "$v") == *" $control_version "* ]]; then
        updates_from+=("$v")
    else
        problem "a database at $v cannot be updated to default_version $control_version: no chain of sql/categorize--A--B.sql update scripts from sql/categorize--$v.sql"
    fi
done

if [ -f "sql/categorize--$control_version.sql" ]; then
    install_path="sql/categorize--$control_version.sql"
else
    reachable=$(reachable_from "${full[@]}")
    if [[ $reachable == *" $control_version "* ]]; then
        install_path="update scripts from sql/categorize--$(printf '%s\n' "${full[@]}" | sort -V | head -1).sql"
    else
        install_path=
        problem "default_version $control_version cannot be installed: no sql/categorize--$control_version.sql and no chain of sql/categorize--A--B.sql update scripts reaching it from a full install script (${full[*]:-none})"
    fi
fi

if [ $problems -gt 0 ]; then
    echo "check_version: $problems problem(s)"
    exit 1
fi
echo "check_version: ok (categorize.control $control_version, META.json $meta_version, debian/changelog $deb_version; $control_version installs from $install_path${updates_from[*]:+, updates from $(printf '%s\n' "${updates_from[@]}" | sort -V | paste -sd, -)})"
