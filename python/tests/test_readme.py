# SPDX-License-Identifier: MIT
"""test_readme.py - README.md's Python example runs as printed against a real jobstatd
(found through JOBSTAT_SOCKET and JOBSTAT_NAMESPACE, as a user would set them) and shows
the failed job's state and its CIM-XML error."""

import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
README = os.path.join(HERE, "..", "..", "README.md")


def test_readme_python_example_runs(daemon):
    text = open(README).read()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) == 1, "README.md should have one Python example"
    env = dict(os.environ, JOBSTAT_SOCKET=daemon.sock, JOBSTAT_NAMESPACE=daemon.ns,
               PYTHONPATH=os.path.join(HERE, ".."))
    out = subprocess.run([sys.executable, "-c", blocks[0]], env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == ("EXCEPTION 30 (<OperationalStatus.COMPLETED: 17>, "
                        "<OperationalStatus.ERROR: 6>)")
    assert '<INSTANCE CLASSNAME="CIM_Error">' in out.stdout and "DISK0042" in out.stdout
