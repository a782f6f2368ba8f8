"""Stands in for the get-pip script ansible-test downloads from ci-files.testing.ansible.com
(unreachable from the machines this project is tested on) to put pip into its fresh venvs.

ansible-test runs it inside an empty venv with pip's options and the packages it wants
(`pip==24.2`, ...), plus get-pip's own `--no-setuptools`/`--no-wheel`. The same job done with
the interpreter's bundled pip (ensurepip), then pip from the package index.
"""

import ensurepip
import os
import subprocess
import sys

GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")

# ensurepip turns pip's configuration off in os.environ (PIP_CONFIG_FILE=/dev/null); the pip
# run after it must see the machine's own (its CA bundle, its index).
environment = dict(os.environ)
ensurepip.bootstrap(upgrade=True)
arguments = [argument for argument in sys.argv[1:] if argument not in GET_PIP_ONLY]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--upgrade", *arguments], env=environment))
