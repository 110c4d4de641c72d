import { randomUUID } from 'node:crypto';

/**
 * Events in the exact shapes AWS delivers them, for the demo, the tests and the benchmark.
 * Each call gets fresh ids, as each real delivery does; pass `id` to replay one delivery.
 */

export interface Caller {
  type: 'IAMUser' | 'AssumedRole';
  arn: string;
  principalId: string;
  accountId: string;
  /** For AssumedRole: the role that issued the session. */
  sessionIssuerArn?: string;
  sourceIPAddress?: string;
}

export const humanCaller = (accountId: string, userName = 'dev-alice'): Caller => ({
  type: 'IAMUser',
  arn: `arn:aws:iam::${accountId}:user/${userName}`,
  principalId: 'AIDAEXAMPLEUSERID0001',
  accountId,
  sourceIPAddress: '198.51.100.23',
});

export const roleCaller = (roleArn: string): Caller => {
  const [, , , , accountId = '', resource = ''] = roleArn.split(':');
  const roleName = resource.split('/').pop() ?? 'role';
  return {
    type: 'AssumedRole',
    arn: `arn:aws:sts::${accountId}:assumed-role/${roleName}/session-1`,
    principalId: 'AROAEXAMPLEROLEID0001:session-1',
    accountId,
    sessionIssuerArn: roleArn,
    sourceIPAddress: 'lambda.amazonaws.com',
  };
};

export interface CloudTrailCall {
  eventName: string;
  eventSource: string;
  region: string;
  caller: Caller;
  requestParameters?: Record<string, unknown> | null;
  responseElements?: Record<string, unknown> | null;
  errorCode?: string;
  /** The API version the record names, as services with two APIs behind one source log it (Elastic Load Balancing). */
  apiVersion?: string;
  id?: string;
  eventID?: string;
  time?: string;
}

/** The call that turns EBS encryption by default off in a region: the first rule's drift. */
export const disableEbsEncryptionByDefaultCall = (region: string, caller: Caller): CloudTrailCall => ({
  eventName: 'DisableEbsEncryptionByDefault',
  eventSource: 'ec2.amazonaws.com',
  region,
  caller,
  responseElements: { DisableEbsEncryptionByDefaultResponse: { ebsEncryptionByDefault: false } },
});

export function cloudTrailEvent(call: CloudTrailCall) {
  const time = call.time ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const { caller } = call;
  return {
    version: '0',
    id: call.id ?? randomUUID(),
    'detail-type': 'AWS API Call via CloudTrail',
    source: `aws.${call.eventSource.split('.')[0]}`,
    account: caller.accountId,
    time,
    region: call.region,
    resources: [],
    detail: {
      eventVersion: '1.09',
      userIdentity: {
        type: caller.type,
        principalId: caller.principalId,
        arn: caller.arn,
        accountId: caller.accountId,
        accessKeyId: 'ASIAEXAMPLEKEYID0001',
        ...(caller.sessionIssuerArn
          ? {
              sessionContext: {
                sessionIssuer: {
                  type: 'Role',
                  principalId: caller.principalId.split(':')[0],
                  arn: caller.sessionIssuerArn,
                  accountId: caller.accountId,
                  userName: caller.sessionIssuerArn.split('/').pop(),
                },
                attributes: { creationDate: time, mfaAuthenticated: 'false' },
              },
            }
          : { userName: caller.arn.split('/').pop() }),
      },
      eventTime: time,
      eventSource: call.eventSource,
      eventName: call.eventName,
      awsRegion: call.region,
      sourceIPAddress: caller.sourceIPAddress ?? '198.51.100.23',
      userAgent: 'aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64',
      ...(call.errorCode
        ? { errorCode: call.errorCode, errorMessage: 'You are not authorized to perform this operation.' }
        : {}),
      requestParameters: call.requestParameters ?? null,
      responseElements: call.errorCode ? null : (call.responseElements ?? null),
      requestID: randomUUID(),
      eventID: call.eventID ?? randomUUID(),
      readOnly: false,
      eventType: 'AwsApiCall',
      ...(call.apiVersion ? { apiVersion: call.apiVersion } : {}),
      managementEvent: true,
      recipientAccountId: caller.accountId,
      eventCategory: 'Management',
    },
  };
}

export function scheduledEvent({
  accountId,
  region,
  ruleName = 'sweep',
  id,
}: {
  accountId: string;
  region: string;
  ruleName?: string;
  id?: string;
}) {
  return {
    version: '0',
    id: id ?? randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: accountId,
    time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    region,
    resources: [`arn:aws:events:${region}:${accountId}:rule/${ruleName}`],
    detail: {},
  };
}

/** An AWS Config custom rule invocation: `invokingEvent` as the JSON string Config sends. */
export function configRuleInvocation({
  accountId,
  region,
  ruleName,
  invokingEvent,
}: {
  accountId: string;
  region: string;
  ruleName: string;
  invokingEvent: Record<string, unknown>;
}) {
  return {
    version: '1.0',
    invokingEvent: JSON.stringify({ awsAccountId: accountId, recordVersion: '1.3', ...invokingEvent }),
    ruleParameters: '{}',
    resultToken: `local-result-token-${randomUUID()}`,
    eventLeftScope: false,
    executionRoleArn: `arn:aws:iam::${accountId}:role/config-role`,
    configRuleArn: `arn:aws:config:${region}:${accountId}:config-rule/config-rule-${ruleName}`,
    configRuleName: ruleName,
    configRuleId: `config-rule-${ruleName}`,
    accountId,
  };
}

/**
 * An EventBridge "Config Rules Compliance Change": a Config rule's result for one resource moved
 * (to NON_COMPLIANT by default), shaped as Config sends it, with the result it had before.
 */
export function complianceChangeEvent({
  accountId,
  region,
  ruleName,
  resourceType,
  resourceId,
  compliance = 'NON_COMPLIANT',
  previous = 'COMPLIANT',
  id,
}: {
  accountId: string;
  region: string;
  ruleName: string;
  resourceType: string;
  resourceId: string;
  compliance?: string;
  previous?: string;
  id?: string;
}) {
  const time = new Date().toISOString();
  const result = (complianceType: string) => ({
    evaluationResultIdentifier: {
      evaluationResultQualifier: {
        configRuleName: ruleName,
        resourceType,
        resourceId,
        evaluationMode: 'DETECTIVE',
      },
      orderingTimestamp: time,
    },
    complianceType,
    resultRecordedTime: time,
    configRuleInvokedTime: time,
  });
  return {
    version: '0',
    id: id ?? randomUUID(),
    'detail-type': 'Config Rules Compliance Change',
    source: 'aws.config',
    account: accountId,
    time: time.replace(/\.\d+Z$/, 'Z'),
    region,
    resources: [],
    detail: {
      resourceId,
      awsRegion: region,
      awsAccountId: accountId,
      configRuleName: ruleName,
      recordVersion: '1.0',
      configRuleARN: `arn:aws:config:${region}:${accountId}:config-rule/config-rule-${ruleName}`,
      messageType: 'ComplianceChangeNotification',
      newEvaluationResult: result(compliance),
      oldEvaluationResult: result(previous),
      notificationCreationTime: time,
      resourceType,
    },
  };
}

/** A completed basic scan of an image ("ECR Image Scan"): its repository, digest and severity counts. */
export function imageScanEvent({
  accountId,
  region,
  repositoryName,
  digest,
  counts,
  id,
}: {
  accountId: string;
  region: string;
  repositoryName: string;
  digest: string;
  counts: Record<string, number>;
  id?: string;
}) {
  return {
    version: '0',
    id: id ?? randomUUID(),
    'detail-type': 'ECR Image Scan',
    source: 'aws.ecr',
    account: accountId,
    time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    region,
    resources: [`arn:aws:ecr:${region}:${accountId}:repository/${repositoryName}`],
    detail: {
      'scan-status': 'COMPLETE',
      'repository-name': repositoryName,
      'finding-severity-counts': counts,
      'image-digest': digest,
      'image-tags': [],
    },
  };
}
