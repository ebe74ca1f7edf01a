"""Run a command as a user without root's rights, to test what permissions refuse.

Tests run as root in CI, and root reads and writes every folder. ``setpriv`` (util-linux)
runs a command as ``nobody`` instead; the test then needs its files where that user can
reach them (a folder of ``tempfile.mkdtemp``'s made world-readable, not pytest's
``tmp_path``, which lies under a folder only root may enter).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

NOBODY = 65534


def as_other_user(args: list[str]) -> list[str]:
    """`args` run as ``nobody`` when the tests run as root; as they are otherwise."""
    if os.geteuid() != 0:
        return args
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: permissions cannot be tested")
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *args]


def run_read_only(
    folder: Path, args: list[object], cli: Callable[..., tuple[int, str, str]], capsys: object
) -> tuple[int, str, str]:
    """Run ``insole ARGS`` with `folder` read-only: (exit status, stdout, stderr).

    A non-root user gets a folder of mode 0555, and the command runs in-process through
    ``cli(capsys, *args)``. Permissions do not stop root, so root gets a read-only bind mount
    of the folder in a mount namespace of its own (``unshare -m``, as a read-only USB stick or
    network share); skipped where neither works.
    """
    argv = [str(a) for a in args]
    if os.geteuid() != 0:
        mode = folder.stat().st_mode
        folder.chmod(0o555)
        try:
            return cli(capsys, *argv)
        finally:
            folder.chmod(mode)
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("root, and no unshare to mount a folder read-only")
    script = (
        'd="$1"; shift; { mount --bind "$d" "$d" && mount -o remount,bind,ro "$d"; } '
        '2>/dev/null || exit 97; exec "$0" -c "import sys; from insole.cli import main; '
        'sys.exit(main(sys.argv[1:]))" "$@"'
    )
    proc = subprocess.run([unshare, "-m", "sh", "-c", script, sys.executable, str(folder), *argv],
                          capture_output=True, text=True, timeout=120)
    if proc.returncode == 97:
        pytest.skip("cannot mount a folder read-only here")
    return proc.returncode, proc.stdout, proc.stderr
