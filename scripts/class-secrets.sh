#!/usr/bin/env bash
# The grade-class workflow's SSH set-up, from the repository's secrets: the class's inventory, the
# grader's private key and the lab VMs' host keys. An empty secret (never set, or not shared with
# a fork's pull request) or a key ssh cannot read would make every host "unreachable"; it fails
# here instead, in one line that names it, exit 2.
# The vault password (VAULT_PASSWORD, secret CLASS_VAULT_PASSWORD) is optional: when set, it is
# written to ~/.ansible-vault-pass for grade's --vault-password-file.
# The inventory keeps the format the secret holds: Ansible (and lesson-check's own reader) read a
# file by its extension, and a YAML inventory written to class.ini is read as INI and fails. An
# INVENTORY_FILE without an extension gets the format's (class → class.yml or class.ini; a file
# vaulted whole stays `class`, which Ansible reads as whichever it decrypts to); the format is
# told by the first line that is not a comment (`all:`, `---`, `{` or any `key:` is YAML),
# or by INVENTORY_FORMAT (ini or yaml; auto or empty: by that line). The file written is
# printed, and given to the workflow as the step's output `inventory` (GITHUB_OUTPUT).
# Usage: INVENTORY=… SSH_KEY=… KNOWN_HOSTS=… [VAULT_PASSWORD=…] [INVENTORY_FORMAT=ini|yaml] \
#   scripts/class-secrets.sh INVENTORY_FILE
set -euo pipefail
inventory_file=${1:?usage: scripts/class-secrets.sh INVENTORY_FILE}
fail() { echo "class-secrets: $*" >&2; exit 2; }

# ini, yaml or vault: what the inventory secret holds
inventory_format() {
  case "${INVENTORY_FORMAT:-}" in
    ini | yaml) echo "$INVENTORY_FORMAT"; return ;;
    '' | auto) ;;
    *) fail "INVENTORY_FORMAT is '$INVENTORY_FORMAT': ini, yaml or auto (told by the inventory itself)" ;;
  esac
  local line yaml='^(---|%YAML|\{)|^[^[:space:]=[]+:([[:space:]]|$)'
  while IFS= read -r line; do
    line=${line%$'\r'}
    # blank lines and comments (INI's ; too) say nothing
    [[ $line =~ ^[[:space:]]*([#\;].*)?$ ]] && continue
    if [[ $line == '$ANSIBLE_VAULT'* ]]; then echo vault
    # a YAML mapping's key is followed by a space or the line's end: INI's host:port is not
    elif [[ $line =~ $yaml ]]; then echo yaml
    else echo ini; fi
    return
  done <<< "$INVENTORY"
  echo ini
}

declare -A secret=([INVENTORY]=CLASS_INVENTORY [SSH_KEY]=GRADER_SSH_KEY [KNOWN_HOSTS]=CLASS_KNOWN_HOSTS)
empty=()
for v in INVENTORY SSH_KEY KNOWN_HOSTS; do
  [ -n "${!v//[[:space:]]/}" ] || empty+=("${secret[$v]}")
done
[ ${#empty[@]} -eq 0 ] || fail "empty secrets: ${empty[*]} (set them in the repository's settings)"
format=$(inventory_format)

umask 077
mkdir -p "$HOME/.ssh"
key=$HOME/.ssh/id_lesson_check
printf '%s\n' "$SSH_KEY" > "$key"
# ssh-keygen -y reads the key as ssh will (and fails on a passphrase: there is no one to type it)
ssh-keygen -y -P '' -f "$key" > /dev/null 2>&1 || { rm -f "$key"; fail "GRADER_SSH_KEY is not a private key ssh can read without a passphrase"; }
printf '%s\n' "$KNOWN_HOSTS" > "$HOME/.ssh/known_hosts"
printf 'IdentityFile %s\n' "$key" >> "$HOME/.ssh/config"
if [[ $(basename "$inventory_file") != *.* ]]; then
  case $format in
    yaml) inventory_file+=.yml ;;
    ini) inventory_file+=.ini ;;
  esac
fi
printf '%s\n' "$INVENTORY" > "$inventory_file"
[ -z "${GITHUB_OUTPUT:-}" ] || echo "inventory=$inventory_file" >> "$GITHUB_OUTPUT"
vault=
if [ -n "${VAULT_PASSWORD:-}" ]; then
  printf '%s\n' "$VAULT_PASSWORD" > "$HOME/.ansible-vault-pass"
  vault=", the vault password in $HOME/.ansible-vault-pass"
fi
echo "class-secrets: the inventory ($format) in $inventory_file, the key in $key, $(grep -c . "$HOME/.ssh/known_hosts") known host keys$vault"
