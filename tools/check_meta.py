#!/usr/bin/env python3
"""Check a META.json against the PGXN Meta Spec v1.0.0, without network.

    tools/check_meta.py [--no-files] [META.json]

Checks what the spec (https://pgxn.org/meta/spec.txt, and its JSON Schema
in pgxn/meta, schema/v1) requires of a distribution's META.json:

  - the required keys: name, version, abstract, maintainer, license,
    provides, meta-spec; no other top-level key than the optional ones the
    spec names (description, generated_by, tags, no_index, prereqs,
    release_status, resources) and custom x_ keys;
  - the type and form of every value: Terms (2+ characters, no slash,
    backslash, space or control character), SemVer versions, version
    ranges in prereqs, the license shortcuts, meta-spec version 1.0.x, URIs
    in resources, and so on.

Unless --no-files is given, also checks that every provides file and
docfile exists relative to the directory of META.json.

Prints every problem, one a line, then "META.json: ok" or
"META.json: N problems"; exits 1 when there is a problem, 2 when the file
cannot be read as JSON.  Python 3 standard library only.
"""

import json
import os
import re
import sys

SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
    r"(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$")
RANGE_ITEM = re.compile(r"^(?:([=!]=|[<>]=?)\s*)?(\S+)$")
CUSTOM_KEY = re.compile(r"^[xX]_.")
URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
LICENSES = {
    "agpl_3", "apache_1_1", "apache_2_0", "artistic_1", "artistic_2", "bsd",
    "freebsd", "gfdl_1_2", "gfdl_1_3", "gpl_1", "gpl_2", "gpl_3", "lgpl_2_1",
    "lgpl_3_0", "mit", "mozilla_1_0", "mozilla_1_1", "openssl", "perl_5",
    "postgresql", "qpl_1_0", "ssleay", "sun", "zlib", "open_source",
    "restricted", "unrestricted", "unknown",
}
REQUIRED = ["name", "version", "abstract", "maintainer", "license", "provides", "meta-spec"]
OPTIONAL = ["description", "generated_by", "tags", "no_index", "prereqs",
            "release_status", "resources"]
PHASES = ["configure", "build", "test", "runtime", "develop"]
RELATIONSHIPS = ["requires", "recommends", "suggests", "conflicts"]
SPEC_URLS = ["https://pgxn.org/meta/spec.txt", "http://pgxn.org/meta/spec.txt"]


class Checker:
    """Collect problems found in one META.json document"""

    def __init__(self, base_dir):
        self.problems = []
        self.base_dir = base_dir

    def fail(self, where, message):
        """Record one problem at a JSON path"""
        self.problems.append(f"{where}: {message}")

    def string(self, where, value, min_length=1):
        """Require a string of at least min_length characters"""
        if not isinstance(value, str):
            self.fail(where, f"must be a string, not {type(value).__name__}")
            return False
        if len(value) < min_length:
            self.fail(where, f"must have at least {min_length} character(s)")
            return False
        return True

    def obj(self, where, value):
        """Require a JSON object"""
        if not isinstance(value, dict):
            self.fail(where, f"must be an object, not {type(value).__name__}")
            return False
        return True

    def keys(self, where, value, allowed, required=(), any_of=()):
        """Check an object's keys: required ones, known ones, custom x_ ones"""
        for key in required:
            if key not in value:
                self.fail(where, f"missing required key \"{key}\"")
        if any_of and not any(k in value for k in any_of):
            self.fail(where, "needs at least one of " + ", ".join(f"\"{k}\"" for k in any_of))
        for key in value:
            if key not in allowed and key not in required and not CUSTOM_KEY.match(key):
                self.fail(where, f"unknown key \"{key}\" (custom keys start with x_)")

    def term(self, where, value):
        """A Term: 2+ characters, no slash, backslash, space or control character"""
        if self.string(where, value, 2) and re.search(r"[/\\\s\x00-\x1f\x7f]", value):
            self.fail(where, f"\"{value}\" is not a Term (no /, \\, space or control character)")

    def version(self, where, value):
        """A SemVer 2.0.0 version"""
        if self.string(where, value) and not SEMVER.match(value):
            self.fail(where, f"\"{value}\" is not a semantic version (like 1.0.0)")

    def version_range(self, where, value):
        """A version range: 0, a version, or comma-separated comparisons"""
        if value == 0 or value == "0":
            return
        if not isinstance(value, str):
            self.fail(where, "must be a version range string or 0")
            return
        for item in value.split(","):
            m = RANGE_ITEM.match(item.strip())
            if not m or not SEMVER.match(m.group(2)):
                self.fail(where, f"\"{value}\" is not a version range (like \">= 1.2.0, < 2.0.0\")")
                return

    def path(self, where, value):
        """A relative path in Unix conventions"""
        if self.string(where, value, 2):
            if value.startswith("/") or "\\" in value or ".." in value.split("/"):
                self.fail(where, f"\"{value}\" must be a relative Unix path inside the distribution")

    def uri(self, where, value):
        """An absolute URI"""
        if self.string(where, value) and not URI.match(value):
            self.fail(where, f"\"{value}\" is not a URI")

    def existing_file(self, where, value):
        """The path names a file next to META.json"""
        if self.base_dir is not None and isinstance(value, str):
            if not os.path.isfile(os.path.join(self.base_dir, value)):
                self.fail(where, f"file \"{value}\" does not exist")

    def maintainer(self, where, value):
        """A string, or a non-empty array of unique strings"""
        if isinstance(value, list):
            if not value:
                self.fail(where, "must not be empty")
            if len(set(map(json.dumps, value))) != len(value):
                self.fail(where, "must not repeat an entry")
            for i, item in enumerate(value):
                self.string(f"{where}[{i}]", item)
        else:
            self.string(where, value)

    def license(self, where, value):
        """A known shortcut, an array of them, or an object of name: URI"""
        if isinstance(value, str):
            if value not in LICENSES:
                self.fail(where, f"\"{value}\" is not a license shortcut of the spec")
        elif isinstance(value, list):
            if not value:
                self.fail(where, "must not be empty")
            if len(set(map(json.dumps, value))) != len(value):
                self.fail(where, "must not repeat an entry")
            for i, item in enumerate(value):
                if item not in LICENSES:
                    self.fail(f"{where}[{i}]", f"{json.dumps(item)} is not a license shortcut of the spec")
        elif isinstance(value, dict):
            if not value:
                self.fail(where, "must not be empty")
            for name, url in value.items():
                self.uri(f"{where}.{name}", url)
        else:
            self.fail(where, "must be a string, an array or an object")

    def provides(self, where, value):
        """Extensions: Term -> {file, version, abstract?, docfile?}"""
        if not self.obj(where, value):
            return
        if not value:
            self.fail(where, "must name at least one extension")
        for name, ext in value.items():
            w = f"{where}.{name}"
            self.term(f"{w} (name)", name)
            if not self.obj(w, ext):
                continue
            self.keys(w, ext, ["abstract", "docfile", "docpath"], required=["file", "version"])
            if "file" in ext:
                self.path(f"{w}.file", ext["file"])
                self.existing_file(f"{w}.file", ext["file"])
            if "version" in ext:
                self.version(f"{w}.version", ext["version"])
            if "abstract" in ext:
                self.string(f"{w}.abstract", ext["abstract"])
            if "docfile" in ext:
                self.path(f"{w}.docfile", ext["docfile"])
                self.existing_file(f"{w}.docfile", ext["docfile"])

    def meta_spec(self, where, value):
        """{version: 1.0.x, url?: the spec's URL}"""
        if not self.obj(where, value):
            return
        self.keys(where, value, ["url"], required=["version"])
        if "version" in value and self.string(f"{where}.version", value["version"]):
            if not re.match(r"^1\.0\.\d+$", value["version"]):
                self.fail(f"{where}.version", f"\"{value['version']}\" is not 1.0.x")
        if "url" in value and value["url"] not in SPEC_URLS:
            self.fail(f"{where}.url", "must be " + " or ".join(SPEC_URLS))

    def tags(self, where, value):
        """A non-empty array of unique tags, 2 to 255 characters"""
        if not isinstance(value, list) or not value:
            self.fail(where, "must be a non-empty array")
            return
        if len(set(map(json.dumps, value))) != len(value):
            self.fail(where, "must not repeat a tag")
        for i, tag in enumerate(value):
            if self.string(f"{where}[{i}]", tag, 2):
                if len(tag) > 255 or re.search(r"[/\\\x00-\x1f\x7f]", tag):
                    self.fail(f"{where}[{i}]", f"\"{tag}\" is not a tag (< 256 characters, no /, \\, control)")

    def no_index(self, where, value):
        """{file?, directory?}: a path or a non-empty array of paths"""
        if not self.obj(where, value):
            return
        self.keys(where, value, ["file", "directory"], any_of=["file", "directory"])
        for key in ("file", "directory"):
            if key in value:
                items = value[key] if isinstance(value[key], list) else [value[key]]
                if isinstance(value[key], list) and not value[key]:
                    self.fail(f"{where}.{key}", "must not be empty")
                for i, item in enumerate(items):
                    self.path(f"{where}.{key}[{i}]", item)

    def prereqs(self, where, value):
        """phase -> relationship -> Term -> version range"""
        if not self.obj(where, value):
            return
        self.keys(where, value, PHASES, any_of=PHASES)
        for phase in PHASES:
            if phase not in value:
                continue
            w = f"{where}.{phase}"
            if not self.obj(w, value[phase]):
                continue
            self.keys(w, value[phase], RELATIONSHIPS, any_of=RELATIONSHIPS)
            for rel in RELATIONSHIPS:
                if rel not in value[phase]:
                    continue
                wr = f"{w}.{rel}"
                deps = value[phase][rel]
                if not self.obj(wr, deps):
                    continue
                if not deps:
                    self.fail(wr, "must name at least one prerequisite")
                for dep, rng in deps.items():
                    self.term(f"{wr} (name)", dep)
                    self.version_range(f"{wr}.{dep}", rng)

    def resources(self, where, value):
        """{homepage?, bugtracker?, repository?}, at least one"""
        if not self.obj(where, value):
            return
        self.keys(where, value, ["homepage", "bugtracker", "repository"],
                  any_of=["homepage", "bugtracker", "repository"])
        if "homepage" in value:
            self.uri(f"{where}.homepage", value["homepage"])
        if "bugtracker" in value and self.obj(f"{where}.bugtracker", value["bugtracker"]):
            bt = value["bugtracker"]
            self.keys(f"{where}.bugtracker", bt, ["web", "mailto"], any_of=["web", "mailto"])
            if "web" in bt:
                self.uri(f"{where}.bugtracker.web", bt["web"])
            if "mailto" in bt and self.string(f"{where}.bugtracker.mailto", bt["mailto"]):
                if not EMAIL.match(bt["mailto"]):
                    self.fail(f"{where}.bugtracker.mailto", f"\"{bt['mailto']}\" is not an email address")
        if "repository" in value and self.obj(f"{where}.repository", value["repository"]):
            repo = value["repository"]
            w = f"{where}.repository"
            self.keys(w, repo, ["url", "web", "type"])
            if not ("web" in repo or ("url" in repo and "type" in repo)):
                self.fail(w, "needs \"web\", or \"url\" together with \"type\"")
            for key in ("url", "web"):
                if key in repo:
                    self.uri(f"{w}.{key}", repo[key])
            if "type" in repo and self.string(f"{w}.type", repo["type"]):
                if not re.match(r"^[a-z]+$", repo["type"]):
                    self.fail(f"{w}.type", "must be a lowercase word such as git")

    def document(self, meta):
        """Check the whole document"""
        if not self.obj("META.json", meta):
            return
        self.keys("META.json", meta, OPTIONAL, required=REQUIRED)
        if "name" in meta:
            self.term("name", meta["name"])
        if "version" in meta:
            self.version("version", meta["version"])
        for key in ("abstract", "description", "generated_by"):
            if key in meta:
                self.string(key, meta[key])
        if "maintainer" in meta:
            self.maintainer("maintainer", meta["maintainer"])
        if "license" in meta:
            self.license("license", meta["license"])
        if "provides" in meta:
            self.provides("provides", meta["provides"])
        if "meta-spec" in meta:
            self.meta_spec("meta-spec", meta["meta-spec"])
        if "tags" in meta:
            self.tags("tags", meta["tags"])
        if "no_index" in meta:
            self.no_index("no_index", meta["no_index"])
        if "prereqs" in meta:
            self.prereqs("prereqs", meta["prereqs"])
        if "release_status" in meta and meta["release_status"] not in ("stable", "testing", "unstable"):
            self.fail("release_status", "must be stable, testing or unstable")
        if "resources" in meta:
            self.resources("resources", meta["resources"])


def main(argv):
    """Check the META.json named on the command line (default: the project's)"""
    args = [a for a in argv[1:] if a != "--no-files"]
    check_files = "--no-files" not in argv[1:]
    if len(args) > 1 or any(a.startswith("-") for a in args):
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    path = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "META.json")
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError) as e:
        print(f"{path}: cannot read as JSON: {e}")
        return 2
    checker = Checker(os.path.dirname(os.path.abspath(path)) if check_files else None)
    checker.document(meta)
    for problem in checker.problems:
        print(problem)
    if checker.problems:
        print(f"META.json: {len(checker.problems)} problem(s)")
        return 1
    print("META.json: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
