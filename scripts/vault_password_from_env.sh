#!/bin/sh
# An executable vault-password file (ANSIBLE_VAULT_PASSWORD_FILE): prints the vault password a
# CI runner has as the secret FLOWSPACE_VAULT_PASSWORD. ./flowspace points Ansible here when
# that variable is set; the password never reaches a file or the output.
if [ -z "${FLOWSPACE_VAULT_PASSWORD:-}" ]; then
  echo "FLOWSPACE_VAULT_PASSWORD is empty: give the vault password as that environment variable" >&2
  exit 1
fi
printf '%s\n' "$FLOWSPACE_VAULT_PASSWORD"
