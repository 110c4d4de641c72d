import { ConfigServiceClient, PutEvaluationsCommand } from '@aws-sdk/client-config-service';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { putEvaluations } from '../../../shared/pipeline/config-evaluations';
import type { ResourceOutcome } from '../../../shared/pipeline/run-pipeline';

const context = {
  resultToken: 'token-1',
  configRuleName: 'compliance-responder-dev-ebs-volume-encrypted',
  ruleParameters: {},
  orderingTimestamp: '2026-11-23T09:00:00.000Z',
};

const outcome = (index: number): ResourceOutcome => ({
  resourceType: 'AWS::EC2::Volume',
  resourceId: `vol-${index}`,
  compliance: index % 2 === 0 ? 'COMPLIANT' : 'NON_COMPLIANT',
  note: 'x'.repeat(300),
});

describe('evaluations returned to AWS Config', () => {
  const config = mockClient(ConfigServiceClient);
  beforeEach(() => {
    config.reset();
    config.on(PutEvaluationsCommand).resolves({ FailedEvaluations: [] });
  });
  afterAll(() => config.restore());

  it('go in batches of at most 100, with annotations cut to 256 characters', async () => {
    // Prepare
    const outcomes = Array.from({ length: 250 }, (_, index) => outcome(index));
    // Act
    const sent = await putEvaluations(new ConfigServiceClient({}), context, outcomes, false);
    // Assess
    expect(sent).toBe(250);
    const calls = config.commandCalls(PutEvaluationsCommand);
    expect(calls.map((call) => call.args[0].input.Evaluations?.length)).toEqual([100, 100, 50]);
    const first = calls[0]?.args[0].input.Evaluations?.[0];
    expect(first).toEqual({
      ComplianceResourceType: 'AWS::EC2::Volume',
      ComplianceResourceId: 'vol-0',
      ComplianceType: 'COMPLIANT',
      Annotation: 'x'.repeat(256),
      OrderingTimestamp: new Date('2026-11-23T09:00:00.000Z'),
    });
    expect(calls[0]?.args[0].input).toMatchObject({ ResultToken: 'token-1', TestMode: undefined });
  });

  it('sends TestMode only when configured', async () => {
    // Act
    await putEvaluations(new ConfigServiceClient({}), context, [outcome(1)], true);
    // Assess
    expect(config).toHaveReceivedCommandWith(PutEvaluationsCommand, { TestMode: true });
  });

  it('fails loudly when Config rejects evaluations', async () => {
    // Prepare
    config
      .on(PutEvaluationsCommand)
      .resolves({ FailedEvaluations: [{ ComplianceResourceId: 'vol-1' } as never] });
    // Act / Assess
    await expect(putEvaluations(new ConfigServiceClient({}), context, [outcome(1)], false)).rejects.toThrow(
      'Config rejected 1 evaluations',
    );
  });
});
