// Prints the CloudFormation difference between two cloud assemblies, stack by stack, in the
// CDK's own diff format (the engine behind `cdk diff`), with IAM and security-group changes
// called out, a summary line per stack, and a loud warning when a stateful resource would be
// replaced or destroyed.
//
// Usage: node scripts/template-diff.mjs <base cdk.out> <new cdk.out>
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { fullDiff, formatDifferences, formatSecurityChanges } = require('@aws-cdk/cloudformation-diff');

// Resource types whose replacement or deletion loses data.
const STATEFUL_TYPES = new Set([
  'AWS::DynamoDB::Table', 'AWS::DynamoDB::GlobalTable', 'AWS::S3::Bucket',
  'AWS::OpenSearchService::Domain', 'AWS::Elasticsearch::Domain', 'AWS::Cognito::UserPool',
  'AWS::SQS::Queue', 'AWS::KMS::Key', 'AWS::Logs::LogGroup', 'AWS::RDS::DBInstance', 'AWS::RDS::DBCluster',
]);

function templates(dir) {
  if (!existsSync(dir)) return {};
  return Object.fromEntries(
    readdirSync(dir)
      .filter((name) => name.endsWith('.template.json'))
      .map((name) => [name.replace(/\.template\.json$/, ''), JSON.parse(readFileSync(join(dir, name), 'utf8'))]),
  );
}

const [baseDir, newDir] = process.argv.slice(2);
if (!baseDir || !newDir) {
  console.error('usage: node scripts/template-diff.mjs <base cdk.out> <new cdk.out>');
  process.exit(2);
}
const before = templates(baseDir);
const after = templates(newDir);
const stacks = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
const summaries = [];
let dataLoss = false;

for (const stack of stacks) {
  const diff = fullDiff(before[stack] ?? {}, after[stack] ?? {});
  const counts = { added: 0, changed: 0, replaced: 0, removed: 0 };
  const losses = [];
  diff.resources.forEachDifference((logicalId, change) => {
    const type = change.newResourceType ?? change.oldResourceType;
    if (change.isAddition) counts.added += 1;
    else if (change.isRemoval) counts.removed += 1;
    else if (change.changeImpact === 'WILL_REPLACE' || change.changeImpact === 'MAY_REPLACE') counts.replaced += 1;
    else counts.changed += 1;
    const losesData = change.isRemoval || ['WILL_REPLACE', 'MAY_REPLACE', 'WILL_DESTROY'].includes(change.changeImpact);
    if (losesData && STATEFUL_TYPES.has(type)) losses.push(`${logicalId} (${type}): ${change.changeImpact ?? 'REMOVED'}`);
  });
  const state = !before[stack] ? ' (new stack)' : !after[stack] ? ' (stack removed)' : '';
  console.log(`\n==== Stack ${stack}${state} ====`);
  if (diff.isEmpty) {
    console.log('There were no differences');
  } else {
    formatDifferences(process.stdout, diff);
    if (diff.permissionsAnyChanges || diff.securityGroupChanges.hasChanges) {
      console.log(`\n---- IAM and security-group changes in ${stack}${diff.permissionsBroadened ? ' (permissions BROADENED)' : ''} ----`);
      formatSecurityChanges(process.stdout, diff);
    }
  }
  for (const loss of losses) {
    console.log(`\n!!!! DATA LOSS: stateful resource replaced or removed in ${stack}: ${loss}`);
  }
  dataLoss ||= losses.length > 0;
  summaries.push(`${stack}: ${counts.added} added, ${counts.changed} changed, ${counts.replaced} replaced, ${counts.removed} removed`
    + `${diff.permissionsBroadened ? ', IAM broadened' : ''}${losses.length ? `, ${losses.length} STATEFUL REPLACEMENT(S)` : ''}`);
}

console.log('\n==== Summary ====');
for (const line of summaries) console.log(line);
if (dataLoss) console.log('\n!!!! This change replaces or removes stateful resources: data would be lost. Review before merging.');
