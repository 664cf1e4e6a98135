#!/usr/bin/env python3
"""Turn Debian packages of pure-Python libraries into wheels, offline.

    python3 hack/wheelhouse.py OUTDIR PACKAGE.deb...

kiln's walkthrough builds a Python app with no PyPI: its requirements are
installed by pip from a wheelhouse, a directory of .whl files that pip reads
with --no-index --find-links. This script makes that wheelhouse from the
Debian packages (python3-starlette and friends) that ship the same upstream
releases, so the demo needs nothing but a Debian mirror.

Each package's /usr/lib/python3/dist-packages tree becomes one wheel
(py3-none-any): its modules as they are, and a <name>-<version>.dist-info
with METADATA (from the package's .dist-info, or from an .egg-info's PKG-INFO
and requires.txt), WHEEL, entry_points.txt when there is one, and a RECORD
of sha256 digests. Wheels are deterministic: sorted entries, one timestamp,
fixed permissions. Standard library only; Python 3.7 or later.
"""

import base64
import hashlib
import io
import os
import re
import sys
import tarfile
import zipfile

DIST_PACKAGES = "usr/lib/python3/dist-packages/"
# The zip format's earliest date; the same for every entry of every wheel.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
GENERATOR = "kiln-wheelhouse 1"


def read_ar(path):
    """Yield (name, bytes) for each member of a Debian ar archive."""
    with open(path, "rb") as f:
        if f.read(8) != b"!<arch>\n":
            raise ValueError(f"{path}: not a Debian package (no ar magic)")
        while True:
            header = f.read(60)
            if not header:
                return
            if len(header) != 60:
                raise ValueError(f"{path}: truncated ar header")
            name = header[:16].decode().strip().rstrip("/")
            size = int(header[48:58].decode().strip())
            data = f.read(size)
            if size % 2:
                f.read(1)
            yield name, data


def data_tar(path):
    """Return the package's data.tar.* as an open tarfile."""
    for name, data in read_ar(path):
        if name.startswith("data.tar"):
            if name.endswith(".zst"):
                raise ValueError(f"{path}: {name}: zstd is not in Python's standard library")
            return tarfile.open(fileobj=io.BytesIO(data), mode="r:*")
    raise ValueError(f"{path}: no data.tar member")


def python_files(tar):
    """Map wheel-relative names to (bytes, executable) for dist-packages files."""
    files = {}
    for m in tar.getmembers():
        name = m.name[2:] if m.name.startswith("./") else m.name.lstrip("/")
        if not name.startswith(DIST_PACKAGES) or not m.isfile():
            continue
        rel = name[len(DIST_PACKAGES):]
        parts = rel.split("/")
        if "__pycache__" in parts or ".." in parts or rel.endswith(".pyc"):
            continue
        files[rel] = (tar.extractfile(m).read(), bool(m.mode & 0o111))
    return files


def split_info(files):
    """Separate the metadata directory (.dist-info or .egg-info) from the code."""
    infos = sorted({rel.split("/")[0] for rel in files
                    if rel.split("/")[0].endswith((".dist-info", ".egg-info"))})
    if len(infos) != 1:
        raise ValueError(f"want one .dist-info or .egg-info directory, found {infos or 'none'}")
    info = infos[0]
    meta = {rel[len(info) + 1:]: data for rel, (data, _) in files.items() if rel.startswith(info + "/")}
    code = {rel: v for rel, v in files.items() if not rel.startswith(info + "/")}
    return info, meta, code


def requires_dist(requires_txt):
    """Turn setuptools' requires.txt into Requires-Dist and Provides-Extra lines."""
    lines, extras, section = [], [], ""
    for raw in requires_txt.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            extra = section.split(":", 1)[0]
            if extra and extra not in extras:
                extras.append(extra)
            continue
        extra, _, marker = section.partition(":")
        conds = []
        if marker:
            conds.append(f"({marker})" if extra else marker)
        if extra:
            conds.append(f'extra == "{extra}"')
        lines.append(f"Requires-Dist: {line}" + (f"; {' and '.join(conds)}" if conds else ""))
    return [f"Provides-Extra: {e}" for e in extras] + lines


def metadata(info, meta):
    """Return METADATA's text for an .egg-info or .dist-info directory."""
    if info.endswith(".dist-info"):
        return meta["METADATA"].decode("utf-8")
    text = meta["PKG-INFO"].decode("utf-8")
    head, sep, body = text.partition("\n\n")
    head_lines = [l for l in head.splitlines() if not l.startswith("Metadata-Version:")]
    extra = [l for l in requires_dist(meta.get("requires.txt", b"").decode("utf-8")) if l not in head_lines]
    return "\n".join(["Metadata-Version: 2.1"] + head_lines + extra) + "\n" + (sep + body if sep else "")


def field(text, key):
    for line in text.split("\n\n", 1)[0].splitlines():
        k, _, v = line.partition(":")
        if k.strip().lower() == key.lower():
            return v.strip()
    raise ValueError(f"METADATA has no {key} field")


def record_hash(data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def make_wheel(deb, outdir):
    """Write deb's wheel into outdir and return its file name."""
    with data_tar(deb) as tar:
        files = python_files(tar)
    info, meta, code = split_info(files)
    text = metadata(info, meta)
    name, version = field(text, "Name"), field(text, "Version")
    stem = re.sub(r"[-_.]+", "_", name)
    dist_info = f"{stem}-{version}.dist-info"
    entries = {rel: data for rel, (data, _) in code.items()}
    execs = {rel for rel, (_, x) in code.items() if x}
    entries[f"{dist_info}/METADATA"] = text.encode("utf-8")
    entries[f"{dist_info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: {GENERATOR}\nRoot-Is-Purelib: true\nTag: py3-none-any\n").encode()
    for extra in ("entry_points.txt", "top_level.txt"):
        if extra in meta:
            entries[f"{dist_info}/{extra}"] = meta[extra]
    record = f"{dist_info}/RECORD"
    rows = [f"{rel},{record_hash(data)},{len(data)}" for rel, data in sorted(entries.items())]
    entries[record] = ("\n".join(rows + [f"{record},,"]) + "\n").encode()

    wheel = f"{stem}-{version}-py3-none-any.whl"
    tmp = os.path.join(outdir, f".{wheel}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        # RECORD last, as the wheel format recommends.
        for rel in sorted(entries, key=lambda r: (r == record, r)):
            zi = zipfile.ZipInfo(rel, ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = ((0o755 if rel in execs else 0o644) | 0o100000) << 16
            z.writestr(zi, entries[rel])
    os.replace(tmp, os.path.join(outdir, wheel))
    return wheel


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    outdir = argv[1]
    os.makedirs(outdir, exist_ok=True)
    for deb in argv[2:]:
        try:
            print(f"{make_wheel(deb, outdir)}  <- {os.path.basename(deb)}")
        except (OSError, ValueError, KeyError, tarfile.TarError) as e:
            print(f"wheelhouse: {deb}: {e}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
