import { Logger } from '@aws-lambda-powertools/logger';
import { ListAccountsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import {
  BatchImportFindingsCommand,
  BatchUpdateFindingsCommand,
  SecurityHubClient,
} from '@aws-sdk/client-securityhub';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { Incident } from '../../../shared/model';
import { MemberRoleUnavailable } from '../../../shared/organisation/accounts';
import { findingIdOf, productArnOf } from '../../../shared/security-hub/asff';
import {
  IMPORT_SESSION,
  importIncidentFindings,
  type MemberHubs,
  type SecurityHubSink,
  securityHubFindingsHandler,
} from '../../../shared/security-hub/importer';
import { asffRequired } from '../../support/asff-schema';
import { anIncident } from '../../support/incident';

/**
 * deployment: organisation - a member's incidents are imported in that member, as the importer's
 * member role there, into its own default product (docs/security-hub.md).
 */
const OWN = '111122223333';
const MEMBER = '444455556666';
const OTHER_MEMBER = '777788889999';
const OUTSIDER = '999900001111';
const REGION = 'us-east-1';
const STACK = 'compliance-responder-test';

const item = (incident: Incident) => ({ pk: `INCIDENT#${incident.incidentId}`, sk: 'INCIDENT', ...incident });
const streamRecord = (sequence: number, before?: Incident, after?: Incident): DynamoDBRecord => ({
  eventName: before ? 'MODIFY' : 'INSERT',
  dynamodb: {
    SequenceNumber: String(sequence),
    ...(before && { OldImage: marshall(item(before), { removeUndefinedValues: true }) as never }),
    ...(after && { NewImage: marshall(item(after), { removeUndefinedValues: true }) as never }),
  },
});
const incidentOf = (n: number, account: string, overrides: Partial<Incident> = {}) =>
  anIncident({
    incidentId: `inc-20261206T101500-${String(n).padStart(8, '0')}`,
    status: 'open',
    account,
    resourceArn: `arn:aws:ec2:${REGION}:${account}:security-group/sg-0${n}`,
    ...overrides,
  });
const openings = (...accounts: string[]): DynamoDBStreamEvent => ({
  Records: accounts.map((account, n) => streamRecord(n + 1, undefined, incidentOf(n + 1, account))),
});
const failedSequences = (response: { batchItemFailures: { itemIdentifier: string }[] }) =>
  response.batchItemFailures.map((failure) => failure.itemIdentifier);
const productOf = (account: string) => productArnOf({ partition: 'aws', region: REGION, account });

const hub = mockClient(SecurityHubClient);
const sts = mockClient(STSClient);
const organizations = mockClient(OrganizationsClient);
afterAll(() => {
  hub.restore();
  sts.restore();
  organizations.restore();
});

/** Which hub a call went to: the client that sent it. */
const callsBy = (client: SecurityHubClient) =>
  hub.commandCalls(BatchImportFindingsCommand).filter((call) => call.thisValue === client);
const findingsOf = (calls: ReturnType<typeof callsBy>) =>
  calls.flatMap((call) => call.args[0].input.Findings ?? []);

describe('importing a member account’s incidents in that member', () => {
  const own = new SecurityHubClient({ region: REGION });
  const memberHub = new SecurityHubClient({ region: REGION });
  const counted: string[] = [];
  const warned: [string, Record<string, unknown>][] = [];
  let members: MemberHubs & { asked: string[] };
  const sink = (): SecurityHubSink => ({
    client: own,
    target: { partition: 'aws', region: REGION, account: OWN },
    pace: async () => {},
    warn: (message, details) => warned.push([message, details]),
    members,
    count: (metric) => counted.push(metric),
  });

  beforeEach(() => {
    hub.reset();
    counted.length = 0;
    warned.length = 0;
    hub.on(BatchImportFindingsCommand).callsFake((input: { Findings: unknown[] }) => ({
      FailedCount: 0,
      SuccessCount: input.Findings.length,
      FailedFindings: [],
    }));
    hub.on(BatchUpdateFindingsCommand).resolves({ ProcessedFindings: [], UnprocessedFindings: [] });
    members = {
      asked: [],
      isActiveMember: async (accountId) => [MEMBER, OTHER_MEMBER].includes(accountId),
      async hubIn(accountId) {
        this.asked.push(accountId);
        return memberHub;
      },
    };
  });

  it("imports a member's incident into the member's own hub, with its account and its default product", async () => {
    // Act
    const response = await importIncidentFindings(openings(OWN, MEMBER), sink());
    // Assess: the own account's as before, the member's through its hub
    expect(response.batchItemFailures).toEqual([]);
    expect(members.asked).toEqual([MEMBER]);
    expect(findingsOf(callsBy(own)).map((finding) => [finding.AwsAccountId, finding.ProductArn])).toEqual([
      [OWN, productOf(OWN)],
    ]);
    const [imported, ...others] = findingsOf(callsBy(memberHub));
    expect(others).toEqual([]);
    expect(imported).toMatchObject({
      Id: findingIdOf(incidentOf(2, MEMBER).incidentId),
      AwsAccountId: MEMBER,
      ProductArn: `arn:aws:securityhub:${REGION}:${MEMBER}:product/${MEMBER}/default`,
    });
    expect(asffRequired.safeParse(imported).error?.issues ?? []).toEqual([]);
  });

  it("moves a member finding's workflow in the member's hub, naming the member's product", async () => {
    // Prepare
    const incident = incidentOf(1, MEMBER);
    // Act
    const response = await importIncidentFindings(
      { Records: [streamRecord(1, incident, { ...incident, status: 'remediated' })] },
      sink(),
    );
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const moves = hub.commandCalls(BatchUpdateFindingsCommand);
    expect(moves.map((call) => call.thisValue === memberHub)).toEqual([true]);
    expect(moves[0]?.args[0].input).toEqual({
      FindingIdentifiers: [{ Id: findingIdOf(incident.incidentId), ProductArn: productOf(MEMBER) }],
      Workflow: { Status: 'RESOLVED' },
    });
  });

  it('refuses an account that is not an ACTIVE member: nothing sent there, its records done (not retried), logged and counted', async () => {
    // Act
    const response = await importIncidentFindings(openings(OUTSIDER, OWN), sink());
    // Assess
    expect(members.asked).toEqual([]);
    expect(findingsOf(callsBy(own)).map((finding) => finding.AwsAccountId)).toEqual([OWN]);
    expect(callsBy(memberHub)).toEqual([]);
    expect(response.batchItemFailures).toEqual([]);
    expect(counted).toEqual(['AccountRefused']);
    expect(warned).toEqual([
      [
        'incident of an account that is not an ACTIVE member of the organisation: not imported',
        { account: OUTSIDER, incidents: [incidentOf(1, OUTSIDER).incidentId] },
      ],
    ]);
  });

  it("fails only that member's records when its member role cannot be assumed, and logs ids only", async () => {
    // Prepare: the first member's role is refused; the second member's and the own account's are fine
    members.hubIn = async (accountId) => {
      if (accountId === MEMBER)
        throw new MemberRoleUnavailable(
          MEMBER,
          `arn:aws:iam::${MEMBER}:role/${STACK}-member-security-hub-findings`,
          { cause: Object.assign(new Error('not authorized'), { name: 'AccessDenied' }) },
        );
      return memberHub;
    };
    // Act
    const response = await importIncidentFindings(openings(MEMBER, OWN, MEMBER, OTHER_MEMBER), sink());
    // Assess
    expect(failedSequences(response)).toEqual(['1', '3']);
    expect(findingsOf(callsBy(own)).map((finding) => finding.AwsAccountId)).toEqual([OWN]);
    expect(findingsOf(callsBy(memberHub)).map((finding) => finding.AwsAccountId)).toEqual([OTHER_MEMBER]);
    expect(counted).toEqual(['MemberRoleUnavailable']);
    expect(warned).toHaveLength(1);
    expect(warned[0]?.[1]).toMatchObject({
      error: 'MemberRoleUnavailable',
      account: MEMBER,
      incidents: [incidentOf(1, MEMBER).incidentId, incidentOf(3, MEMBER).incidentId],
    });
    expect(JSON.stringify(warned)).not.toContain('sg-0');
  });

  it("fails only that member's records when its Security Hub refuses the import", async () => {
    // Prepare: the member has not enabled Security Hub
    const refusing = new SecurityHubClient({ region: REGION });
    members.hubIn = async (accountId) => (accountId === MEMBER ? refusing : memberHub);
    hub.on(BatchImportFindingsCommand).callsFake((input: { Findings: unknown[] }, client) => {
      if (client() === refusing)
        throw Object.assign(new Error('Account is not subscribed to AWS Security Hub'), {
          name: 'InvalidAccessException',
        });
      return { FailedCount: 0, SuccessCount: input.Findings.length, FailedFindings: [] };
    });
    // Act
    const response = await importIncidentFindings(openings(OWN, MEMBER, OTHER_MEMBER), sink());
    // Assess
    expect(callsBy(refusing)).toHaveLength(1);
    expect(findingsOf(callsBy(own)).map((finding) => finding.AwsAccountId)).toEqual([OWN]);
    expect(findingsOf(callsBy(memberHub)).map((finding) => finding.AwsAccountId)).toEqual([OTHER_MEMBER]);
    expect(failedSequences(response)).toEqual(['2']);
    expect(warned).toEqual([
      [
        'BatchImportFindings failed: findings not imported',
        {
          error: 'InvalidAccessException',
          reason: 'InvalidAccessException: Account is not subscribed to AWS Security Hub',
          account: MEMBER,
          incidents: [incidentOf(2, MEMBER).incidentId],
        },
      ],
    ]);
    expect(counted).toEqual([]);
  });

  it("keeps the refusal's reason in the log line Powertools writes (it drops a `message` key)", async () => {
    // Prepare: the warnings go through a real Powertools logger, as the handler's do (its dev mode
    // writes through the global console, which the test can read)
    process.env.POWERTOOLS_DEV = 'true';
    const logger = new Logger({ serviceName: 'importer-test' });
    const written: string[] = [];
    const write = jest.spyOn(console, 'warn').mockImplementation((line: unknown) => {
      written.push(String(line));
    });
    const refusing = new SecurityHubClient({ region: REGION });
    members.hubIn = async (accountId) => (accountId === MEMBER ? refusing : memberHub);
    hub.on(BatchImportFindingsCommand).callsFake((input: { Findings: unknown[] }, client) => {
      if (client() === refusing)
        throw Object.assign(new Error('Account is not subscribed to AWS Security Hub'), {
          name: 'InvalidAccessException',
        });
      return { FailedCount: 0, SuccessCount: input.Findings.length, FailedFindings: [] };
    });
    // Act
    try {
      await importIncidentFindings(openings(MEMBER), {
        ...sink(),
        warn: (message, details) => logger.warn(message, details),
      });
    } finally {
      write.mockRestore();
      delete process.env.POWERTOOLS_DEV;
    }
    // Assess
    const lines = written.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'WARN',
        message: 'BatchImportFindings failed: findings not imported',
        error: 'InvalidAccessException',
        reason: 'InvalidAccessException: Account is not subscribed to AWS Security Hub',
        account: MEMBER,
      }),
    ]);
  });

  it('fails the records of an account it cannot check, when listing the organisation fails', async () => {
    // Prepare
    members.isActiveMember = async () => {
      throw Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' });
    };
    // Act
    const response = await importIncidentFindings(openings(MEMBER, OWN), sink());
    // Assess
    expect(failedSequences(response)).toEqual(['1']);
    expect(findingsOf(callsBy(own)).map((finding) => finding.AwsAccountId)).toEqual([OWN]);
    expect(members.asked).toEqual([]);
  });
});

describe('the security-hub-findings function in an organisation deployment', () => {
  const credentials = {
    AccessKeyId: 'ASIAMEMBERIMPORTER01',
    SecretAccessKey: 'secret',
    SessionToken: 'token',
    Expiration: new Date(Date.now() + 3_600_000),
  };
  const env = {
    SECURITY_HUB_PRODUCT_ARN: productOf(OWN),
    ORGANIZATION_ID: 'o-abcd1234ef',
    STACK_NAME: STACK,
  };
  const invoke = (handler: ReturnType<typeof securityHubFindingsHandler>, event: DynamoDBStreamEvent) =>
    handler(event, { functionName: 'security-hub-findings', awsRequestId: 'r' } as Context) as Promise<{
      batchItemFailures: { itemIdentifier: string }[];
    }>;

  beforeEach(() => {
    hub.reset();
    sts.reset();
    organizations.reset();
    hub.on(BatchImportFindingsCommand).callsFake((input: { Findings: unknown[] }) => ({
      FailedCount: 0,
      SuccessCount: input.Findings.length,
      FailedFindings: [],
    }));
    sts.on(GetCallerIdentityCommand).resolves({ Account: OWN, Arn: `arn:aws:sts::${OWN}:assumed-role/x/y` });
    sts.on(AssumeRoleCommand).resolves({ Credentials: credentials });
    organizations.on(ListAccountsCommand).resolves({
      Accounts: [
        { Id: OWN, State: 'ACTIVE' },
        { Id: MEMBER, State: 'ACTIVE' },
        { Id: OUTSIDER, State: 'SUSPENDED' },
      ],
    });
  });

  it('assumes the importer member role in the member, under an import session, and imports there with its credentials', async () => {
    // Prepare
    const handler = securityHubFindingsHandler(env);
    // Act
    const response = await invoke(handler, openings(OWN, MEMBER, OUTSIDER));
    // Assess: the member's role, by name, in the member's account
    expect(response.batchItemFailures).toEqual([]);
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
    expect(sts).toHaveReceivedCommandWith(AssumeRoleCommand, {
      RoleArn: `arn:aws:iam::${MEMBER}:role/${STACK}-member-security-hub-findings`,
      RoleSessionName: IMPORT_SESSION,
    });
    expect(IMPORT_SESSION).toMatch(/^import-[\w+=,.@-]{1,57}$/);
    // Assess: each account's finding through the client of that account's credentials
    const byKey = await Promise.all(
      hub.commandCalls(BatchImportFindingsCommand).map(async (call) => {
        const client = call.thisValue as SecurityHubClient;
        // The own client has the function's role (none in a unit test); the member's, the session's.
        const key = await client.config.credentials().then(
          (resolved) => resolved.accessKeyId,
          () => undefined,
        );
        return (call.args[0].input.Findings ?? []).map((finding) => [
          finding.AwsAccountId,
          finding.ProductArn,
          key === credentials.AccessKeyId,
        ]);
      }),
    );
    expect(byKey.flat()).toEqual([
      [OWN, productOf(OWN), false],
      [MEMBER, productOf(MEMBER), true],
    ]);
    // The suspended account's incident: refused before any role is assumed
    expect(sts).not.toHaveReceivedCommandWith(AssumeRoleCommand, {
      RoleArn: expect.stringContaining(OUTSIDER),
    });
  });

  it("fails only the member's records when STS refuses its role, and tries again on the next batch", async () => {
    // Prepare
    sts
      .on(AssumeRoleCommand)
      .rejectsOnce(
        Object.assign(new Error('not authorized to perform sts:AssumeRole'), { name: 'AccessDenied' }),
      )
      .resolves({ Credentials: credentials });
    const handler = securityHubFindingsHandler(env);
    // Act
    const first = await invoke(handler, openings(MEMBER, OWN));
    const second = await invoke(handler, openings(MEMBER, OWN));
    // Assess
    expect(failedSequences(first)).toEqual(['1']);
    expect(failedSequences(second)).toEqual([]);
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 2);
  });

  it('refuses to start in an organisation without the stack name that names the member roles', () => {
    // Act / Assess
    expect(() => securityHubFindingsHandler({ ...env, STACK_NAME: '' })).toThrow(/STACK_NAME/);
  });

  it('in a single account, never lists the organisation nor assumes a role: another account is left out', async () => {
    // Prepare
    const handler = securityHubFindingsHandler({ SECURITY_HUB_PRODUCT_ARN: productOf(OWN) });
    // Act
    const response = await invoke(handler, openings(MEMBER, OWN));
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(sts).not.toHaveReceivedAnyCommand();
    expect(organizations).not.toHaveReceivedAnyCommand();
    expect(
      hub.commandCalls(BatchImportFindingsCommand).flatMap((call) => call.args[0].input.Findings ?? []),
    ).toEqual([expect.objectContaining({ AwsAccountId: OWN, ProductArn: productOf(OWN) })]);
  });
});
