import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ValidationError } from '../../shared/errors';
import { parseCloudTrailRecord, parseComplianceChangeDetail, parseTriggerEvent } from '../../shared/triggers';
import type { TriggerEvent } from '../../shared/triggers/types';

/**
 * Every adapter over the team's corpus of public AWS payloads (../shared/aws-events, beside the
 * repository; see its SOURCES.md). The corpus is reference data and is never copied into the repo.
 * Every file must have an expectation below, so a payload added to the corpus demands one.
 */

/** Beside the repository; a worktree elsewhere names it with AWS_EVENTS_CORPUS. */
const CORPUS = process.env.AWS_EVENTS_CORPUS ?? path.join(__dirname, '../../../shared/aws-events');

/** How a file reaches an adapter: not every file is a whole event. */
type Route =
  /** A whole event, through parseTriggerEvent. */
  | 'event'
  /** A bare CloudTrail record (the `detail` of an EventBridge event). */
  | 'cloudtrail-record'
  /** A CloudTrail log file, `{ Records: [...] }`: each record on its own. */
  | 'cloudtrail-log-file'
  /** Only the invokingEvent body: wrapped into a minimal Config rule invocation here. */
  | 'invoking-event-body'
  /** An SNS ComplianceChangeNotification: its `Message` is the compliance-change detail. */
  | 'sns-compliance-message'
  /** An ASFF `Findings` array (BatchImportFindings input, a tool's output), not an event: each finding is offered as one. */
  | 'asff-findings';

type Expectation =
  | { resources: readonly (readonly [resourceType: string, resourceId: string])[]; region: string }
  | { sweep: { accountId: string; region: string } }
  | { ignored: string }
  | { error: string };

const instance = (id: string) => ['AWS::EC2::Instance', id] as const;
const image = (repository: string, digest: string) => ['AWS::ECR::Image', `${repository}@${digest}`] as const;

const EXPECTATIONS: Readonly<Record<string, { route: Route; expect: Expectation }>> = {
  // config-rule/
  'config-rule/configuration-snapshot-delivery-completed_periodic-rule_aws-lambda-go.json': {
    route: 'event',
    expect: { error: 'invokingEvent.messageType' },
  },
  'config-rule/ec2-instance_config-change_minimal_aws-docs-example.json': {
    route: 'event',
    expect: { resources: [instance('i-00000000')], region: 'us-east-2' },
  },
  'config-rule/ec2-instance_config-change_tenancy-default_powertools.json': {
    route: 'event',
    expect: { resources: [instance('i-042dd005362091826')], region: 'us-east-1' },
  },
  'config-rule/ec2-networkinterface_config-change_launch-wizard-sg_aws-config-rules.json': {
    route: 'event',
    expect: { resources: [['AWS::EC2::NetworkInterface', 'eni-ab1c2345']], region: 'us-east-1' },
  },
  'config-rule/ec2-securitygroup_config-change_ssh-22-from-0.0.0.0-0_custodian.json': {
    route: 'event',
    expect: { resources: [['AWS::EC2::SecurityGroup', 'sg-e2fb6999']], region: 'eu-west-1' },
  },
  'config-rule/iam-user_config-change_mfa-rule-success-case_aws-config-rules.json': {
    route: 'event',
    expect: { resources: [['AWS::IAM::User', 'AIDAIEJCNPAE4EONMASRY']], region: 'global' },
  },
  'config-rule/iam-user_config-change_no-mfa-device_aws-config-rules.json': {
    route: 'event',
    expect: { resources: [['AWS::IAM::User', 'AIDAIEJCNPAE4EONMASRY']], region: 'global' },
  },
  // The source redacted the account id to x's: not an account id, so refused.
  'config-rule/invoking-event-body_ec2-instance_resource-deleted_sandeepdas-readme.json': {
    route: 'invoking-event-body',
    expect: { error: 'invokingEvent.configurationItem.awsAccountId' },
  },
  'config-rule/invoking-event-body_ec2-volume_unencrypted_in-use_antiope-docs.json': {
    route: 'invoking-event-body',
    expect: { resources: [['AWS::EC2::Volume', 'vol-004bcxxxxxxx']], region: 'us-east-1' },
  },
  'config-rule/oversized_ec2-instance_aws-docs-example.json': {
    route: 'event',
    expect: { resources: [instance('i-00000000')], region: 'us-west-2' },
  },
  'config-rule/oversized_ec2-instance_powertools.json': {
    route: 'event',
    expect: { resources: [instance('i-00000000')], region: 'us-west-2' },
  },
  'config-rule/scheduled-notification_aws-docs-example.json': {
    route: 'event',
    expect: { sweep: { accountId: '123456789012', region: 'us-east-2' } },
  },
  'config-rule/scheduled-notification_powertools.json': {
    route: 'event',
    expect: { sweep: { accountId: '0123456789012', region: 'us-east-1' } },
  },

  // cloudtrail/
  'cloudtrail/cloudtrail-stoplogging_logfile-records_streamalert.json': {
    route: 'cloudtrail-log-file',
    expect: { resources: [['AWS::CloudTrail::Trail', '...']], region: 'us-west-2' },
  },
  'cloudtrail/ec2-authorizesecuritygroupingress_detail-only_ssh-22-from-203.0.113.0-24_elastic.json': {
    route: 'cloudtrail-record',
    expect: { resources: [['AWS::EC2::SecurityGroup', 'sg-0f63fecfa17ef4fee']], region: 'us-east-1' },
  },
  // Sanitised fixtures: `account` is the integer 12345.
  'cloudtrail/ec2-authorizesecuritygroupingress_eventbridge_all-traffic-0.0.0.0-0-and-ipv6-open_streamalert.json':
    {
      route: 'event',
      expect: { error: 'account' },
    },
  'cloudtrail/ec2-authorizesecuritygroupingress_eventbridge_all-traffic-10.0.0.0-8_streamalert.json': {
    route: 'event',
    expect: { error: 'account' },
  },
  'cloudtrail/ec2-createvolume_detail-only_encrypted-true_custodian.json': {
    route: 'cloudtrail-record',
    expect: { resources: [['AWS::EC2::Volume', 'vol-97c02b3e']], region: 'us-east-1' },
  },
  'cloudtrail/ec2-runinstances_detail-only_tenancy-default_elastic.json': {
    route: 'cloudtrail-record',
    expect: { resources: [instance('i-0f2f135de18b555e3')], region: 'us-east-1' },
  },
  // ECR repositories are judged by ecr-scanned-immutable; ECR Public's CreateRepository is another
  // service's call of the same name (refused), and pushing an image (PutImage) changes no setting.
  'cloudtrail/ecr-createrepository_detail-only_aws-docs-example.json': {
    route: 'cloudtrail-record',
    expect: { resources: [['AWS::ECR::Repository', 'testrepo']], region: 'us-east-2' },
  },
  'cloudtrail/ecr-public-createrepository_detail-only_aws-docs-example.json': {
    route: 'cloudtrail-record',
    expect: { error: 'eventSource' },
  },
  'cloudtrail/ecr-putimage_detail-only_push-tag-latest_aws-docs-example.json': {
    route: 'cloudtrail-record',
    expect: { error: 'eventName' },
  },
  // Elastic Load Balancing: v2 and Classic share CreateLoadBalancer, told apart by apiVersion (and,
  // in the record without one, by the request naming `loadBalancerName`).
  'cloudtrail/elb-classic-createloadbalancer_detail-only_http-80-listener_aws-docs-example.json': {
    route: 'cloudtrail-record',
    expect: {
      resources: [['AWS::ElasticLoadBalancing::LoadBalancer', 'my-load-balancer']],
      region: 'us-west-2',
    },
  },
  'cloudtrail/elb-classic-createloadbalancer_detail-only_https-443-listener-acm-certificate_acm-docs-example.json':
    {
      route: 'cloudtrail-record',
      expect: { resources: [['AWS::ElasticLoadBalancing::LoadBalancer', 'LinuxTest']], region: 'us-east-1' },
    },
  'cloudtrail/elb-classic-createloadbalancerpolicy_detail-only_sslnegotiationpolicytype-sslv2-sslv3-true_custodian.json':
    {
      route: 'cloudtrail-record',
      expect: {
        resources: [['AWS::ElasticLoadBalancing::LoadBalancer', 'capione-test']],
        region: 'us-east-1',
      },
    },
  // Tagging changes no listener, but may take a load balancer out of elb-listener-tls's scope.
  'cloudtrail/elbv2-addtags_eventbridge_alb_custodian.json': {
    route: 'event',
    expect: {
      resources: [
        [
          'AWS::ElasticLoadBalancingV2::LoadBalancer',
          'arn:aws:elasticloadbalancing:us-east-1:123456789123:loadbalancer/app/test/433ae0ba96204181',
        ],
      ],
      region: 'us-east-1',
    },
  },
  'cloudtrail/elbv2-createloadbalancer_detail-only_alb-internet-facing_aws-docs-example.json': {
    route: 'cloudtrail-record',
    expect: {
      resources: [
        [
          'AWS::ElasticLoadBalancingV2::LoadBalancer',
          'arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/my-load-balancer/ffcddace1759e1d0',
        ],
      ],
      region: 'us-west-2',
    },
  },
  'cloudtrail/elbv2-createloadbalancer_detail-only_nlb-internet-facing_aws-docs-example.json': {
    route: 'cloudtrail-record',
    expect: {
      resources: [
        [
          'AWS::ElasticLoadBalancingV2::LoadBalancer',
          'arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/net/my-load-balancer/ffcddace1759e1d0',
        ],
      ],
      region: 'us-west-2',
    },
  },

  // ebs/ (odd snapshot ARNs and placeholder times, as AWS documents them)
  'ebs/ebs-snapshot-notification_copysnapshot_failed_aws-docs-example.json': {
    route: 'event',
    expect: { resources: [['AWS::EC2::Snapshot', 'snap-01234567']], region: 'us-east-1' },
  },
  'ebs/ebs-snapshot-notification_copysnapshot_succeeded_aws-docs-example.json': {
    route: 'event',
    expect: { resources: [['AWS::EC2::Snapshot', 'snap-01234567']], region: 'us-east-1' },
  },
  'ebs/ebs-snapshot-notification_createsnapshot_succeeded_aws-docs-example.json': {
    route: 'event',
    expect: { resources: [['AWS::EC2::Snapshot', 'snap-01234567']], region: 'us-east-1' },
  },
  'ebs/ebs-volume-notification_createvolume_available_aws-docs-example.json': {
    route: 'event',
    expect: { resources: [['AWS::EC2::Volume', 'vol-01234567']], region: 'us-east-1' },
  },

  // ecr/, inspector2/: image scan events reach image-findings-mitigated as the image they name
  // (repository@digest), whatever the counts say: the rule reads the image's findings afresh. AWS
  // documentation examples carry placeholder digests (60 hex digits, "…EXAMPLE"), accepted as sent.
  // A successful image deletion ("ECR Image Action" DELETE) reaches the rule too: it may end the
  // incident. A push is ignored (the rule's pattern asks only for deletions). Enhanced-scanning
  // setting changes and ECS task state changes are subscribed to by no rule: refused by detail-type.
  'ecr/ecr-image-action_delete_success_aws-docs-example.json': {
    route: 'event',
    expect: {
      resources: [
        image('my-repository-name', 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234'),
      ],
      region: 'us-west-2',
    },
  },
  'ecr/ecr-image-action_push_success_aws-docs-example.json': {
    route: 'event',
    expect: { ignored: 'an image PUSH (SUCCESS): only a deletion can end an incident' },
  },
  'ecr/ecr-image-scan_basic_complete_all-six-severities_aws-lambda-go.json': {
    route: 'event',
    expect: {
      resources: [
        image(
          'tribble-image-scan-test',
          'sha256:d4a96ee9443e641fc100e763a0c10928720b50c6e3ea3342d05d7c3435fc5355',
        ),
      ],
      region: 'eu-north-1',
    },
  },
  'ecr/ecr-image-scan_basic_complete_critical-and-medium-only_aws-docs-example.json': {
    route: 'event',
    expect: {
      resources: [
        image('my-repository-name', 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234'),
      ],
      region: 'us-east-1',
    },
  },
  'ecr/ecr-image-scan_basic_complete_no-finding-severity-counts_aws-docs-2019-example.json': {
    route: 'event',
    expect: {
      resources: [image('my-repo', 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234')],
      region: 'us-east-1',
    },
  },
  'ecr/ecr-scan-resource-change_enhanced_scan-frequency-change_aws-docs-example.json': {
    route: 'event',
    expect: { error: 'detail-type' },
  },
  'ecs/ecs-task-state-change_ec2_running-xray-container-stopped_aws-lambda-dotnet.json': {
    route: 'event',
    expect: { error: 'detail-type' },
  },
  'ecs/ecs-task-state-change_fargate_running_aws-docs-example.json': {
    route: 'event',
    expect: { error: 'detail-type' },
  },
  // The image is the one the finding's resource details name (the example's three digests differ).
  'inspector2/inspector2-finding_ecr-container-image_package-vulnerability_libssh2_ecr-docs-example.json': {
    route: 'event',
    expect: {
      resources: [
        image(
          'amazon/amazon-ecs-sample',
          'sha256:36c7b282abd0186e01419f2e58743e1bf635808231049bbc9d77e5EXAMPLE',
        ),
      ],
      region: 'us-east-2',
    },
  },
  'inspector2/inspector2-finding_ecr-container-image_package-vulnerability_openssl_inspector-docs-example.json':
    {
      route: 'event',
      expect: {
        resources: [
          image('inspector2', 'sha256:84f507df33c6864d49c296fb734192696e4cb6f78166ac51ac8b9b118181085d'),
        ],
        region: 'eu-central-1',
      },
    },
  // Inspector2 Scan names the repository by its ARN.
  'inspector2/inspector2-scan_ecr-initial-scan-complete_ecr-docs-example.json': {
    route: 'event',
    expect: {
      resources: [
        image(
          'amazon/amazon-ecs-sample',
          'sha256:36c7b282abd0186e01419f2e58743e1bf635808231049bbc9d77e5EXAMPLE',
        ),
      ],
      region: 'us-east-2',
    },
  },

  // securityhub/: the responder does not consume Security Hub; its events are refused by detail-type
  // and ASFF documents, which are not events at all, by shape.
  'securityhub/asff_batch-import-findings-input_private-product-default_securityhub-docs-example.json': {
    route: 'asff-findings',
    expect: { error: '(root)' },
  },
  'securityhub/asff_prowler-json-asff-output_rds-minor-version-upgrade_prowler-docs.json': {
    route: 'asff-findings',
    expect: { error: '(root)' },
  },
  'securityhub/securityhub-findings-imported_cis-1.2.0-1.3_compliance-warning_asr.json': {
    route: 'event',
    expect: { error: 'detail-type' },
  },
  'securityhub/securityhub-findings-imported_fsbp-ec2.7_failed_asr.json': {
    route: 'event',
    expect: { error: 'detail-type' },
  },
  'securityhub/securityhub-findings-imported_fsbp-iam.4_passed_audit-manager-docs-example.json': {
    route: 'event',
    expect: { error: 'detail-type' },
  },

  // eventbridge-config/
  'eventbridge-config/config-item-change_ec2-instance_resource-discovered_custodian-omnissm.json': {
    route: 'event',
    expect: { resources: [instance('i-12345678901234567')], region: 'us-east-1' },
  },
  'eventbridge-config/config-item-change_ec2-instance_state-null_custodian-omnissm.json': {
    route: 'event',
    expect: { resources: [instance('i-12345678901234567')], region: 'us-east-1' },
  },
  'eventbridge-config/config-item-change_oversized_ssm-managed-instance-inventory_custodian-omnissm.json': {
    route: 'event',
    expect: {
      resources: [['AWS::SSM::ManagedInstanceInventory', 'mi-1234567890123456']],
      region: 'us-east-1',
    },
  },
  'eventbridge-config/sns-compliance-change-notification_cloudtrail-enabled_aws-docs-example.json': {
    route: 'sns-compliance-message',
    expect: { ignored: 'compliance is COMPLIANT' },
  },

  // scheduled/
  'scheduled/scheduled-event_aws-events_aws-lambda-java-libs.json': {
    route: 'event',
    expect: { sweep: { accountId: '123456789012', region: 'eu-central-1' } },
  },
  'scheduled/scheduled-event_aws-events_custom-detail-no-version_powertools-docs.json': {
    route: 'event',
    expect: { sweep: { accountId: '123456789012', region: 'us-east-1' } },
  },
  'scheduled/scheduled-event_aws-events_epoch-time_custodian.json': {
    route: 'event',
    expect: { sweep: { accountId: '101010101111', region: 'us-east-1' } },
  },
  'scheduled/scheduled-event_aws-events_eventbridge-docs-example.json': {
    route: 'event',
    expect: { sweep: { accountId: '123456789012', region: 'us-east-1' } },
  },
  'scheduled/scheduled-event_aws-scheduler_detail-as-string_aws-lambda-java-libs.json': {
    route: 'event',
    expect: { sweep: { accountId: '123456789012', region: 'eu-central-1' } },
  },
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const parseRoute = (route: Route, payload: unknown): TriggerEvent[] => {
  if (route === 'asff-findings') {
    if (!Array.isArray(payload)) throw new Error('corpus file is not an ASFF findings array');
    return payload.map((finding: unknown) => parseTriggerEvent(finding));
  }
  if (!isRecord(payload)) throw new Error('corpus file is not a JSON object');
  switch (route) {
    case 'event':
      return [parseTriggerEvent(payload)];
    case 'cloudtrail-record':
      return [parseCloudTrailRecord(payload)];
    case 'cloudtrail-log-file': {
      const records = Array.isArray(payload.Records) ? payload.Records : [];
      return records.map((record: unknown, index) =>
        parseCloudTrailRecord(record, { fieldPrefix: `Records[${index}]` }),
      );
    }
    case 'invoking-event-body':
      return [
        parseTriggerEvent({
          invokingEvent: JSON.stringify(payload),
          resultToken: 'corpus-result-token',
          configRuleName: 'corpus-rule',
          accountId: '123456789012',
          eventLeftScope: false,
        }),
      ];
    case 'sns-compliance-message': {
      // SNS sends Message as a JSON string; the corpus file keeps it pretty-printed as an object.
      const message: unknown =
        typeof payload.Message === 'string' ? JSON.parse(payload.Message) : payload.Message;
      const delivery = { eventId: String(payload.MessageId), observedAt: String(payload.Timestamp) };
      return [parseComplianceChangeDetail(message, delivery, 'Message')];
    }
  }
};

type Outcome = { results: TriggerEvent[] } | { error: ValidationError };

const run = (route: Route, payload: unknown): Outcome => {
  try {
    return { results: parseRoute(route, payload) };
  } catch (error) {
    if (error instanceof ValidationError) return { error };
    throw error;
  }
};

const assess = (outcome: Outcome, expected: Expectation): void => {
  if ('error' in expected) {
    expect('error' in outcome && outcome.error.field).toBe(expected.error);
    return;
  }
  if ('error' in outcome) throw outcome.error;
  const { results } = outcome;
  expect(results.length).toBeGreaterThan(0);
  if ('sweep' in expected) {
    expect(results).toEqual([
      expect.objectContaining({ kind: 'sweep', sweep: expect.objectContaining(expected.sweep) }),
    ]);
  } else if ('ignored' in expected) {
    expect(results).toEqual([{ kind: 'resources', observations: [], ignored: expected.ignored }]);
  } else {
    const observations = results.flatMap((result) =>
      result.kind === 'resources' ? result.observations : [],
    );
    expect(observations.map((o) => [o.resourceType, o.resourceId])).toEqual(expected.resources);
    expect(observations.map((o) => o.region)).toEqual(expected.resources.map(() => expected.region));
  }
};

if (existsSync(CORPUS)) {
  const files = readdirSync(CORPUS, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.split(path.sep).join('/'))
    .sort();

  describe('AWS event corpus (../shared/aws-events)', () => {
    it('has an expectation for every payload, and a payload for every expectation', () => {
      // Assess
      expect(files).toEqual(Object.keys(EXPECTATIONS).sort());
    });

    const present = Object.entries(EXPECTATIONS).filter(([file]) => files.includes(file));
    it.each(present)('%s', (file, { route, expect: expected }) => {
      // Prepare
      const payload: unknown = JSON.parse(readFileSync(path.join(CORPUS, file), 'utf8'));

      // Act
      const outcome = run(route, payload);

      // Assess
      assess(outcome, expected);
    });
  });
} else {
  describe('AWS event corpus (../shared/aws-events)', () => {
    it('skipped: ../shared/aws-events not found', () => {
      // Assess
      console.warn(`AWS event corpus not found at ${CORPUS}: corpus checks skipped`);
      expect(existsSync(CORPUS)).toBe(false);
    });
  });
}
