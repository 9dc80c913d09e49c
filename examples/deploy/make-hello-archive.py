#!/usr/bin/env python3
"""Builds the example dependency hello-1.0.tar byte for byte the same every
time (ustar format, fixed owners and times), so the hash pinned in
deployment.json matches.  Usage: make-hello-archive.py OUTPUT.tar"""
import io
import os
import sys
import tarfile

FILES = {
    "bin/hello": (0o755, b"#!/bin/sh\necho \"hello from a deployed dependency ($0)\"\n"),
    "share/hello/README": (0o644, b"An example dependency for 'drover deploy'.\n"),
}

os.makedirs(os.path.dirname(sys.argv[1]) or ".", exist_ok=True)
with tarfile.open(sys.argv[1], "w", format=tarfile.USTAR_FORMAT) as tar:
    for name in ("bin", "share", "share/hello"):
        info = tarfile.TarInfo(name)
        info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1700000000
        tar.addfile(info)
    for name, (mode, data) in sorted(FILES.items()):
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(data), mode, 1700000000
        tar.addfile(info, io.BytesIO(data))
