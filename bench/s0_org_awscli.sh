#!/usr/bin/env bash
# The alternative a user has for S0 over an Organization: an aws-cli loop over the ACTIVE
# accounts, MAX_CONCURRENCY (default 2, as --max-concurrency) at a time, making the same calls
# per account as the notebook (bench/org_bench.py checks the list against a run's run.json
# `calls`): AssumeRole into ROLE_NAME (the caller's own account uses its own credentials, as the
# fan-out does), then the S0 reads, each answer kept in OUT_DIR/<account>/ (no checks, no report).
set -euo pipefail
aws=${AWS_CLI:-aws}
export aws role=${ROLE_NAME:-OrganizationAccountAccessRole} out=${OUT_DIR:-/tmp}
me=$($aws sts get-caller-identity --query Account --output text)
export me

one_account() {
  set -euo pipefail
  local id=$1 dir="$out/$1"
  mkdir -p "$dir"
  if [ "$id" != "$me" ]; then
    read -r AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN < <($aws sts assume-role \
      --role-arn "arn:aws:iam::$id:role/$role" --role-session-name s0-awscli \
      --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text)
    export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
  fi
  $aws sts get-caller-identity > "$dir/identity.json"
  # the report is built asynchronously: ask until it is COMPLETE (2 calls on moto, as the runbook)
  until [ "$($aws iam generate-credential-report --query State --output text)" = COMPLETE ]; do
    sleep 0.1
  done
  $aws iam get-credential-report --query Content --output text | base64 -d > "$dir/report.csv"
  $aws iam get-account-summary > "$dir/summary.json"
  $aws iam get-account-authorization-details --filter User Role Group LocalManagedPolicy \
    > "$dir/authorization.json"
  $aws iam get-account-password-policy > "$dir/password-policy.json" 2>/dev/null || true
  $aws iam list-virtual-mfa-devices > "$dir/mfa.json"
  # IAM Identity Center in this account (S0's 2.1.x checks): the Organization, the instance,
  # its permission sets and their assignments here
  $aws organizations describe-organization > "$dir/organization.json" 2>/dev/null || true
  local instance set
  instance=$($aws sso-admin list-instances --query 'Instances[0].InstanceArn' --output text)
  if [ "$instance" != None ]; then
    for set in $($aws sso-admin list-permission-sets --instance-arn "$instance" \
        --query 'PermissionSets[]' --output text); do
      $aws sso-admin list-account-assignments --instance-arn "$instance" --account-id "$id" \
        --permission-set-arn "$set" > "$dir/assignments-${set##*/}.json"
    done
  fi
}
export -f one_account

$aws organizations list-accounts --query "Accounts[?Status=='ACTIVE'].Id" --output text \
  | tr '\t' '\n' | xargs -P "${MAX_CONCURRENCY:-2}" -I{} bash -c 'one_account "$@"' _ {}
