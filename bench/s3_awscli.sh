#!/usr/bin/env bash
# The alternative for S3: create the device, compute two consecutive codes, enable it.
set -euo pipefail
aws=${AWS_CLI:-aws}
user=Administrator
out="${OUT_DIR:-/tmp}"
umask 077
$aws iam create-virtual-mfa-device --virtual-mfa-device-name "$user" --outfile "$out/qr.png" \
  --bootstrap-method Base32StringSeed >/dev/null
seed=$(cat "$out/qr.png")
now=$(date +%s)
c1=$(oathtool --totp -b "$seed" -N "@$((now - 30))")
c2=$(oathtool --totp -b "$seed" -N "@$now")
$aws iam enable-mfa-device --user-name "$user" --serial-number "arn:aws:iam::123456789012:mfa/$user" \
  --authentication-code1 "$c1" --authentication-code2 "$c2"
