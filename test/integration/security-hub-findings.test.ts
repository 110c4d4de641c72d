import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  CreateAccountCommand,
  CreateOrganizationCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { type AwsSecurityFinding, GetFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { DynamoDBRecord } from 'aws-lambda';
import { humanCaller } from '../../scripts/lib/events';
import { importerRoleName } from '../../shared/organisation/member-roles';
import type { HandlerResult } from '../../shared/pipeline/rule-handler';
import { findingIdOf, productArnOf } from '../../shared/security-hub/asff';
import { IMPORT_SESSION } from '../../shared/security-hub/importer';
import { asffRequired } from '../support/asff-schema';
import { FaultProxy } from '../support/fault-proxy';
import { LocalResponder, resetAccount } from '../support/local-responder';
import { recordCalls } from '../support/recorder';
import { ACCOUNT, authorize, authorizeCall, createGroup, ssh } from '../support/ssh';

const REGION = 'us-east-1';

/** What the table's stream holds now, as Lambda would hand it over (moto serves DynamoDB Streams). */
async function streamRecords(tableName: string): Promise<DynamoDBRecord[]> {
  const table = await new DynamoDBClient({ region: REGION }).send(
    new DescribeTableCommand({ TableName: tableName }),
  );
  const streams = new DynamoDBStreamsClient({ region: REGION });
  const stream = await streams.send(new DescribeStreamCommand({ StreamArn: table.Table?.LatestStreamArn }));
  const records: DynamoDBRecord[] = [];
  for (const shard of stream.StreamDescription?.Shards ?? []) {
    const { ShardIterator } = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: table.Table?.LatestStreamArn,
        ShardId: shard.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    const page = await streams.send(new GetRecordsCommand({ ShardIterator, Limit: 1000 }));
    records.push(...((page.Records ?? []) as unknown as DynamoDBRecord[]));
  }
  return records;
}

type StreamResponse = { batchItemFailures: { itemIdentifier: string }[] };

describe('incidents as Security Hub findings, end to end against moto', () => {
  it("imports a real incident from the table's stream as one ASFF finding that follows its status", async () => {
    // Prepare: a real remediation writes its incident (open → remediating → remediated)
    await resetAccount();
    const responder = await LocalResponder.provision();
    const group = await createGroup(REGION, 'web');
    await authorize(REGION, group, [ssh('0.0.0.0/0')]);
    await responder.handlerOf(() => require('../../functions/ssh-open-to-world'))(
      authorizeCall(REGION, group),
    );
    const [incident] = await responder.incidents();
    const records = await streamRecords(responder.stack.tableName);
    const target = { partition: 'aws', region: REGION, account: incident?.account ?? '' };
    // The records that changed the incident's status: the ones the function imports.
    const changes = records.filter(
      (record) =>
        record.dynamodb?.NewImage?.pk?.S?.startsWith('INCIDENT#') &&
        record.dynamodb.NewImage.status?.S !== record.dynamodb.OldImage?.status?.S,
    );
    // Act: the stream's records go to the security-hub-findings function, as provisioned
    const importFindings = responder.handlerOf(
      () =>
        require('../../functions/security-hub-findings') as {
          handler: (event: unknown) => Promise<HandlerResult>;
        },
    );
    const response = (await importFindings({ Records: records })) as unknown as StreamResponse;
    // Assess: one finding, under the incident's Id, as the incident ends (PASSED, ARCHIVED)
    expect(responder.stack.env.SECURITY_HUB_PRODUCT_ARN).toBe(productArnOf(target));
    const { Findings = [] } = await new SecurityHubClient({ region: REGION }).send(
      new GetFindingsCommand({}),
    );
    expect(Findings).toHaveLength(1);
    const [finding] = Findings;
    expect(asffRequired.safeParse(finding).error?.issues ?? []).toEqual([]);
    expect(finding).toMatchObject({
      Id: findingIdOf(incident?.incidentId ?? ''),
      AwsAccountId: incident?.account,
      GeneratorId: 'compliance-responder/ssh-open-to-world',
      // When the status last changed (later rewrites, such as the alert marked sent, send nothing).
      UpdatedAt: changes.at(-1)?.dynamodb?.NewImage?.updatedAt?.S,
      Compliance: { Status: 'PASSED' },
      RecordState: 'ARCHIVED',
      Resources: [{ Type: 'AwsEc2SecurityGroup', Id: incident?.resourceArn }],
    });
    expect(JSON.stringify(finding)).not.toMatch(/0\.0\.0\.0|RevokeSecurityGroupIngress/);
    // moto 5.2.1 has no BatchUpdateFindings: the move of the workflow to RESOLVED fails there and
    // every record of the incident's changes in the batch is reported for Lambda to retry, never
    // dropped. The unit tests cover the move with the mock (test/unit/security-hub/importer.test.ts).
    expect(changes.map((record) => record.dynamodb?.NewImage?.status?.S)).toEqual([
      'remediating',
      'remediated',
    ]);
    expect(response.batchItemFailures).toEqual(
      changes.map((record) => ({ itemIdentifier: record.dynamodb?.SequenceNumber })),
    );
  });
});

/** Credentials acting in a member account, as an administrator there would. */
async function memberCredentials(accountId: string) {
  const { Credentials: credentials } = await new STSClient({ region: REGION }).send(
    new AssumeRoleCommand({
      RoleArn: `arn:aws:iam::${accountId}:role/OrganizationAccountAccessRole`,
      RoleSessionName: 'test-admin',
    }),
  );
  return {
    accessKeyId: String(credentials?.AccessKeyId),
    secretAccessKey: String(credentials?.SecretAccessKey),
    sessionToken: credentials?.SessionToken,
  };
}

/** The findings a Security Hub holds: the security account's own, or a member's (moto keeps each account's apart). */
async function findingsIn(accountId?: string): Promise<AwsSecurityFinding[]> {
  const credentials = accountId ? await memberCredentials(accountId) : undefined;
  const hub = new SecurityHubClient({ region: REGION, ...(credentials && { credentials }) });
  return (await hub.send(new GetFindingsCommand({}))).Findings ?? [];
}

/**
 * An organisation deployment against moto with the security account (moto's own) and two members.
 * moto maps AssumeRole credentials to the role's account and keeps each account's findings apart, so
 * a finding imported as the member role lands in the member's hub; it does not check a finding's
 * AwsAccountId against the caller (Security Hub does), nor IAM, so the contract tests prove the role.
 */
describe('incidents of member accounts as Security Hub findings, in those accounts, against moto', () => {
  let responder: LocalResponder;
  let members: string[];
  let organizationId: string;

  /** One open incident (notify mode: no workflow move, which moto 5.2.1 lacks) in the account. */
  async function driftIn(accountId: string): Promise<void> {
    const credentials = accountId === ACCOUNT ? undefined : await memberCredentials(accountId);
    const ec2 = new EC2Client({ region: REGION, ...(credentials && { credentials }) });
    const group = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'bastion', Description: 'b' }));
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({ GroupId: group.GroupId, IpPermissions: [ssh('0.0.0.0/0')] }),
    );
    const handle = responder.handlerOf(() => require('../../functions/ssh-open-to-world'), {
      ORGANIZATION_ID: organizationId,
      MODE_SSH_OPEN_TO_WORLD: 'notify',
    });
    await handle(authorizeCall(REGION, String(group.GroupId), humanCaller(accountId)));
  }

  const importer = () =>
    responder.handlerOf(
      () =>
        require('../../functions/security-hub-findings') as {
          handler: (event: unknown) => Promise<HandlerResult>;
        },
      { ORGANIZATION_ID: organizationId },
    );

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision();
    const organizations = new OrganizationsClient({ region: REGION });
    const organization = await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
    organizationId = String(organization.Organization?.Id);
    members = [];
    for (const name of ['ward-one', 'ward-two']) {
      const created = await organizations.send(
        new CreateAccountCommand({ AccountName: name, Email: `${name}@example.org` }),
      );
      members.push(String(created.CreateAccountStatus?.AccountId));
    }
  });

  it("imports a member's incident into the member's own Security Hub as the importer's member role, and the security account's into its own", async () => {
    // Prepare: an open incident in the security account and in the first member
    const [first = ''] = members;
    await driftIn(ACCOUNT);
    await driftIn(first);
    const incidents = await responder.incidents();
    const records = await streamRecords(responder.stack.tableName);
    // Act
    const handle = importer();
    let response: StreamResponse | undefined;
    const calls = await recordCalls(async () => {
      response = (await handle({ Records: records })) as unknown as StreamResponse;
    });
    // Assess: nothing to retry; the member's role, by name, under the import session
    expect(response?.batchItemFailures).toEqual([]);
    const assumed = calls
      .filter((call) => call.action === 'AssumeRole')
      .map((call) => new URLSearchParams(call.body))
      .map((params) => [params.get('RoleArn'), params.get('RoleSessionName')]);
    expect(assumed).toEqual([
      [
        `arn:aws:iam::${first}:role/${importerRoleName(String(responder.stack.env.STACK_NAME))}`,
        IMPORT_SESSION,
      ],
    ]);
    // Assess: each finding in its own account's hub, under that account's default product
    const byAccount = new Map(incidents.map((incident) => [incident.account, incident.incidentId]));
    for (const account of [ACCOUNT, first]) {
      const findings = await findingsIn(account === ACCOUNT ? undefined : account);
      expect([
        account,
        findings.map((finding) => [finding.Id, finding.AwsAccountId, finding.ProductArn]),
      ]).toEqual([
        account,
        [
          [
            findingIdOf(byAccount.get(account) ?? ''),
            account,
            productArnOf({ partition: 'aws', region: REGION, account }),
          ],
        ],
      ]);
      for (const finding of findings) expect(asffRequired.safeParse(finding).error?.issues ?? []).toEqual([]);
    }
    expect(await findingsIn(members[1])).toEqual([]);
  });

  it("fails only the member's records when its importer role cannot be assumed, so Lambda retries them", async () => {
    // Prepare: incidents in the security account and both members; STS refuses the first member's role
    const [first = '', second = ''] = members;
    for (const account of [ACCOUNT, first, second]) await driftIn(account);
    const records = await streamRecords(responder.stack.tableName);
    const proxy = await FaultProxy.start(String(process.env.AWS_ENDPOINT_URL));
    proxy.arm([
      { action: 'sts:AssumeRole', nth: 1, kind: 'http500', times: 100, bodyIncludes: `${first}%3Arole` },
    ]);
    const endpoint = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = proxy.url;
    let response: StreamResponse;
    try {
      // Act: a fresh container, its clients made while the proxy is the endpoint
      response = (await importer()({ Records: records })) as unknown as StreamResponse;
    } finally {
      process.env.AWS_ENDPOINT_URL = endpoint;
      await proxy.close();
    }
    // Assess: the first member's records that import (its incident's opening) are reported; the others imported
    const ofFirst = records
      .filter((record) => record.dynamodb?.NewImage?.pk?.S?.startsWith('INCIDENT#'))
      .filter((record) => record.dynamodb?.NewImage?.account?.S === first)
      .filter((record) => record.dynamodb?.NewImage?.status?.S !== record.dynamodb?.OldImage?.status?.S)
      .map((record) => ({ itemIdentifier: record.dynamodb?.SequenceNumber }));
    expect(ofFirst.length).toBeGreaterThan(0);
    expect(response.batchItemFailures).toEqual(ofFirst);
    expect(await findingsIn(first)).toEqual([]);
    expect((await findingsIn(second)).map((finding) => finding.AwsAccountId)).toEqual([second]);
    expect((await findingsIn()).map((finding) => finding.AwsAccountId)).toEqual([ACCOUNT]);
  });
});
