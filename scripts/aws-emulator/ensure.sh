#!/usr/bin/env bash
# Makes the AWS emulator's tools available, in a cache outside the clone (shared by clean clones),
# and prints where they are as KEY=VALUE lines for scripts/aws-emulator/run.ts:
# - moto, the AWS API emulator, pinned, from PyPI into a virtualenv, with the kit's patches that
#   Terraform's waiters need (../shared/pulumi/aws/moto-patches: MSK state and bootstrap brokers,
#   autoscaling tags, ElastiCache member clusters);
# - the kit's AWS provider (../shared/pulumi/aws: pulumi-resource-aws stamped 7.48.0 over the
#   Terraform AWS provider 6.34.0, pruned to this project's types; cold build about 16 minutes and
#   a 10 GB link, then seconds), installed with the kit's other providers into a PULUMI_HOME of
#   its own: `npm run up` against real AWS never picks the emulator's build by accident.
# Environment: PULUMI_KIT (default ../shared/pulumi beside the checkout), PULUMI_KIT_PREFIX (the
# kit's cache, as in scripts/pulumi/pulumi.sh).
set -euo pipefail

MOTO_VERSION=5.2.6
AWS_PLUGIN_VERSION=7.48.0
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
kit="${PULUMI_KIT:-$repo/../shared/pulumi}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/resilient-gateway-platform"
prefix="${PULUMI_KIT_PREFIX:-$cache/pulumi-kit}"
say() { echo "aws-emulator: $*" >&2; }
die() {
  say "error: $*"
  exit 1
}

[ -d "$kit/aws" ] || die "no AWS provider kit at $kit/aws: set PULUMI_KIT to the toolchain kit's folder"
command -v python3 >/dev/null || die "python3 is missing (moto runs on it): apt-get install -y python3 python3-venv"

moto="$cache/moto-$MOTO_VERSION"
# The kit's patches, then this project's own (moto-*.patch here: S3 access logging to a bucket
# whose policy also has a `"Principal": "*"` statement; ECS services whose tasks "run" and whose
# deployments succeed; a resource id per RDS instance); a changed patch set reinstalls moto.
patches=("$kit"/aws/moto-patches/*.patch "$repo"/scripts/aws-emulator/moto-*.patch)
stamp="$(cat "${patches[@]}" | sha256sum | cut -c1-16)"
if [ "$(cat "$moto/.patched" 2>/dev/null)" != "$stamp" ]; then
  say "installing moto $MOTO_VERSION into $moto (pip, about a minute)"
  rm -rf "$moto" && mkdir -p "$moto"
  python3 -m venv "$moto/venv" || die "python3 -m venv failed: apt-get install -y python3-venv"
  "$moto/venv/bin/pip" install --quiet "moto[server]==$MOTO_VERSION" >&2 || die "pip could not install moto[server]==$MOTO_VERSION"
  # The patches name files under venv/lib/python3.11: the site-packages folder of this Python.
  site="$("$moto/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  for patch in "${patches[@]}"; do
    sed "s#venv/lib/python3.11/site-packages#${site#"$moto/"}#g" "$patch" | (cd "$moto" && patch -p0 --forward --silent) >&2 ||
      die "$patch does not apply to moto $MOTO_VERSION"
  done
  echo "$stamp" >"$moto/.patched"
fi

pulumi="$(bash "$repo/scripts/pulumi/pulumi.sh" --ensure)"
aws_prefix="$cache/aws-provider"
mkdir -p "$aws_prefix"
(
  flock 9
  # The kit's provider keeps only the types it was told of; kit-provider.patch adds what the
  # program uses beyond them (getPartition, Lambda, S3 and WAF logging) with pulumi-aws's field
  # names. It is built from a copy, so the kit stays as shipped; build.sh rebuilds when the
  # copy's sources are newer than its binaries, so an unchanged file keeps its time.
  src="$aws_prefix/kit-src"
  mkdir -p "$src"
  cp -a --update=none "$kit/aws/." "$src/" 2>/dev/null || cp -an "$kit/aws/." "$src/"
  cp "$kit/aws/src/provider.go" "$aws_prefix/provider.go.new"
  (cd "$aws_prefix" && patch --silent -o provider.go.patched provider.go.new) <"$repo/scripts/aws-emulator/kit-provider.patch" ||
    die "scripts/aws-emulator/kit-provider.patch does not apply to the kit's $kit/aws/src/provider.go"
  cmp -s "$aws_prefix/provider.go.patched" "$src/src/provider.go" || cp "$aws_prefix/provider.go.patched" "$src/src/provider.go"
  rm -f "$aws_prefix/provider.go.new" "$aws_prefix/provider.go.patched"
  if [ ! -x "$aws_prefix/bin/pulumi-resource-aws" ]; then
    say "building the kit's AWS provider into $aws_prefix (cold: about 16 minutes and 10 GB of memory at link)"
  fi
  bash "$src/build.sh" "$aws_prefix" >&2
) 9>"$aws_prefix/.lock" || die "the kit's AWS provider build failed (output above)"

home="$cache/aws-emulator-pulumi-home"
mkdir -p "$home"
PULUMI_HOME="$home" bash "$kit/install-plugins.sh" "$prefix" >/dev/null
dest="$home/plugins/resource-aws-v$AWS_PLUGIN_VERSION/pulumi-resource-aws"
if ! cmp -s "$aws_prefix/bin/pulumi-resource-aws" "$dest" 2>/dev/null; then
  PULUMI_HOME="$home" PULUMI_SKIP_UPDATE_CHECK=true "$pulumi" plugin install resource aws "$AWS_PLUGIN_VERSION" \
    --file "$aws_prefix/bin/pulumi-resource-aws" --reinstall >&2
fi

echo "MOTO_SERVER=$moto/venv/bin/moto_server"
echo "PULUMI=$pulumi"
echo "PULUMI_HOME=$home"
