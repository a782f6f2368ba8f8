"""The one rule for where a controller keeps the secrets the stack generates (LiveKit keys, the
socket signing secret, Redis passwords, the Vercel fingerprint key, each in a folder of its
own): $FLOWSPACE_CREDENTIALS_DIR, else ~/.config/flowspace/credentials."""

import os


def flowspace_credentials_dir(environ=None):
    environ = os.environ if environ is None else environ
    # A "~" in the setting is the controller user's home, as in the default.
    return os.path.expanduser(environ.get("FLOWSPACE_CREDENTIALS_DIR") or "~/.config/flowspace/credentials")
