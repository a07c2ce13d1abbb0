#!/usr/bin/env bash
# The alternative for S2: create a key and keep the secret in a 0600 CSV.
set -euo pipefail
aws=${AWS_CLI:-aws}
user=Administrator
umask 077
$aws iam create-access-key --user-name "$user" --query 'AccessKey.[AccessKeyId,SecretAccessKey]' \
  --output text | awk -v u="$user" 'BEGIN{print "User name,Access key ID,Secret access key"} {print u","$1","$2}' \
  > "${OUT_DIR:-/tmp}/${user}_accessKeys.csv"
