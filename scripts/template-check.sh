#!/usr/bin/env bash
# The template check: package the home (single account and organisation), the forwarder and the
# member stack offline, then cfn-lint and checkov on each generated CloudFormation template.
# checkov's skipped checks live in .checkov.yaml, each with its reason.
set -euo pipefail
cd "$(dirname "$0")/.."
home=.serverless/cloudformation-template-update-stack.json
# `--package <dir>` builds in .serverless and then moves it, so the forwarder is packaged first and
# the home stack (which the contract tests read from .serverless) last.
forwarder_dir=.local/serverless-forwarder
forwarder=$forwarder_dir/cloudformation-template-update-stack.json
member_dir=.local/serverless-member
member=$member_dir/cloudformation-template-update-stack.json
organisation_dir=.local/serverless-organisation
organisation=$organisation_dir/cloudformation-template-update-stack.json

echo "── serverless package: forwarder (eu-west-1 → home us-east-1, offline) ──"
npx serverless package --stage dev --region eu-west-1 \
  --param="deployment=forwarder" --param="homeRegion=us-east-1" --package "$forwarder_dir"

# A member stack is one template for every region of every member account (a StackSet): packaged
# in eu-west-1, it must name no region but its home one.
echo "── serverless package: member (security account 111111111111, home us-east-1, offline) ──"
npx serverless package --stage dev --region eu-west-1 \
  --param="deployment=member" --param="homeRegion=us-east-1" --param="securityAccount=111111111111" \
  --package "$member_dir"

# The home stack of an organisation deployment: what Condition IsOrganisation adds, and its size.
echo "── serverless package: home, organisation o-abcdefghij (us-east-1, offline) ──"
npx serverless package --stage dev --region us-east-1 \
  --param="deployment=organisation" --param="organizationId=o-abcdefghij" --package "$organisation_dir"

echo "── serverless package: home (us-east-1, offline) ──"
npx serverless package --stage dev --region us-east-1

for template in "$home" "$organisation" "$forwarder" "$member"; do
  echo "── cfn-lint $template ──"
  # Warnings (e.g. conditions that stage parameters resolved at package time) are shown, not fatal.
  "$(scripts/python-tool.sh cfn-lint)" --format parseable --non-zero-exit-code error "$template"
  echo "cfn-lint: 0 errors"

  echo "── checkov $template ──"
  "$(scripts/python-tool.sh checkov)" --config-file .checkov.yaml --file "$template" --framework cloudformation --skip-download
  echo "checkov: 0 failed checks outside .checkov.yaml"
done
