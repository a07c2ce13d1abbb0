#!/usr/bin/env bash
# The alternative a user has for S1: the same writes with the aws CLI (no checks, no record).
set -euo pipefail
aws=${AWS_CLI:-aws}
user=Administrator group=Administrators
pw="$(python3 -c 'import secrets,string; a=string.ascii_letters+string.digits+"!@#$%^&*"; print("Aa1!"+"".join(secrets.choice(a) for _ in range(16)))')"
$aws iam create-group --group-name "$group" >/dev/null
$aws iam attach-group-policy --group-name "$group" --policy-arn arn:aws:iam::aws:policy/AdministratorAccess
$aws iam create-user --user-name "$user" >/dev/null
$aws iam add-user-to-group --group-name "$group" --user-name "$user"
$aws iam create-login-profile --user-name "$user" --password "$pw" --password-reset-required >/dev/null
umask 077
printf 'User name,Password,Console sign-in URL\r\n%s,%s,%s\r\n' "$user" "$pw" \
  "https://123456789012.signin.aws.amazon.com/console" > "${OUT_DIR:-/tmp}/${user}_credentials.csv"
