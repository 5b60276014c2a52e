/**
 * The costs section of `docs/operations.md` (`npm run docs`): the fixed monthly costs counted from
 * the synthesized templates of the default stack and of one with the VPC endpoints in two subnets,
 * against the variable cost of a month of 1,000,000 rows a day from the bench's last results.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { type CostLine, fixedMonthlyCosts, MB_PER_VCPU, PRICES, type StageTimes, variableMonthlyCost } from './costs.js';
import { LakeEtlStack, type LakeEtlStackProps } from './lake-etl-stack.js';

/** A deployment in a VPC with every endpoint, in two subnets (two availability zones). */
export const VPC_WITH_ENDPOINTS: LakeEtlStackProps = {
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
  vpcEndpoints: true,
  routeTableIds: ['rtb-0123456789abcdef0'],
  vpcCidr: '10.0.0.0/16',
};

/** The resources of the stack synthesized with `props`, its assets left unbundled. */
export function synthesizedResources(props: LakeEtlStackProps): Parameters<typeof fixedMonthlyCosts>[0] {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return Template.fromStack(new LakeEtlStack(app, 'PgLakeEtl', props)).toJSON().Resources;
}

const dollars = (n: number): string => (n === 0 ? '$0' : n >= 0.01 ? `$${n.toFixed(2)}` : `$${n.toFixed(4)}`);
const unit = (n: number): string => `$${n >= 0.01 ? n.toFixed(2) : n}`;
const total = (lines: readonly CostLine[]) => lines.reduce((sum, l) => sum + l.monthly, 0);

/** The section, from the bench day (`docs/performance.json`'s largest) and the two templates. */
export function costsMarkdown(benchDay: StageTimes, benchDate: string): string {
  const plain = fixedMonthlyCosts(synthesizedResources({}));
  const inVpc = fixedMonthlyCosts(synthesizedResources(VPC_WITH_ENDPOINTS));
  const rows = plain.map((l, i) => {
    const vpc = inVpc[i];
    return `| ${l.item} | ${l.count.toLocaleString('en-US')} | ${dollars(l.monthly)} | ${vpc.count.toLocaleString('en-US')} | ${dollars(vpc.monthly)} | ${unit(l.unitPrice)} |`;
  });
  const variable = variableMonthlyCost(benchDay, 1_000_000);
  return [
    `Fixed monthly costs, counted from the synthesized templates (\`infra/costs.ts\`) at list prices in ${PRICES.region} as written down on ${PRICES.asOf} (an assumption: check the AWS pricing pages):`,
    '',
    '| item | default stack | per month | in a VPC, all endpoints, 2 subnets | per month | unit price |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows,
    `| **total** | | **${dollars(total(plain))}** | | **${dollars(total(inVpc))}** | |`,
    '',
    `Variable cost of a month of 1,000,000 rows a day, scaled linearly from the bench's stage times of its ${benchDay.rows.toLocaleString('en-US')}-row day ` +
      `(\`docs/performance.json\`, run of ${benchDate}, whatever it last wrote there; a local machine's seconds, not Lambda's) at each stage's memory size, ` +
      `each stage's CPU seconds stretched to the share of a vCPU its memory buys (one vCPU at ${MB_PER_VCPU.toLocaleString('en-US')} MB):`,
    '',
    '| item | per month | cost |',
    '|---|---:|---:|',
    ...variable.lines.map((l) => `| ${l.item} | ${l.count.toLocaleString('en-US', { maximumFractionDigits: 1 })} | ${dollars(l.monthly)} |`),
    `| **total** | | **${dollars(total(variable.lines))}** |`,
    '',
    'Before S3 storage (the lake, its noncurrent versions for 30 days, reports and quarantine files for `reportRetentionDays`), data transfer,',
    'interface endpoints’ data processing and CloudWatch Logs ingestion.',
  ].join('\n');
}
