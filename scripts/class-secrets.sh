#!/usr/bin/env bash
# The grade-class workflow's SSH set-up, from the repository's secrets: the class's inventory, the
# grader's private key and the lab VMs' host keys. An empty secret (never set, or not shared with
# a fork's pull request) or a key ssh cannot read would make every host "unreachable"; it fails
# here instead, in one line that names it, exit 2.
# The vault password (VAULT_PASSWORD, secret CLASS_VAULT_PASSWORD) is optional: when set, it is
# written to ~/.ansible-vault-pass for grade's --vault-password-file.
# Usage: INVENTORY=… SSH_KEY=… KNOWN_HOSTS=… [VAULT_PASSWORD=…] scripts/class-secrets.sh INVENTORY_FILE
set -euo pipefail
inventory_file=${1:?usage: scripts/class-secrets.sh INVENTORY_FILE}
fail() { echo "class-secrets: $*" >&2; exit 2; }

declare -A secret=([INVENTORY]=CLASS_INVENTORY [SSH_KEY]=GRADER_SSH_KEY [KNOWN_HOSTS]=CLASS_KNOWN_HOSTS)
empty=()
for v in INVENTORY SSH_KEY KNOWN_HOSTS; do
  [ -n "${!v//[[:space:]]/}" ] || empty+=("${secret[$v]}")
done
[ ${#empty[@]} -eq 0 ] || fail "empty secrets: ${empty[*]} (set them in the repository's settings)"

umask 077
mkdir -p "$HOME/.ssh"
key=$HOME/.ssh/id_lesson_check
printf '%s\n' "$SSH_KEY" > "$key"
# ssh-keygen -y reads the key as ssh will (and fails on a passphrase: there is no one to type it)
ssh-keygen -y -P '' -f "$key" > /dev/null 2>&1 || { rm -f "$key"; fail "GRADER_SSH_KEY is not a private key ssh can read without a passphrase"; }
printf '%s\n' "$KNOWN_HOSTS" > "$HOME/.ssh/known_hosts"
printf 'IdentityFile %s\n' "$key" >> "$HOME/.ssh/config"
printf '%s\n' "$INVENTORY" > "$inventory_file"
vault=
if [ -n "${VAULT_PASSWORD:-}" ]; then
  printf '%s\n' "$VAULT_PASSWORD" > "$HOME/.ansible-vault-pass"
  vault=", the vault password in $HOME/.ansible-vault-pass"
fi
echo "class-secrets: the inventory in $inventory_file, the key in $key, $(grep -c . "$HOME/.ssh/known_hosts") known host keys$vault"
