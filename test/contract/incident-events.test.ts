import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const TEMPLATE = join(__dirname, '..', '..', '.serverless', 'cloudformation-template-update-stack.json');

type Resource = { Type: string; Properties: Record<string, unknown> };

describe('the incident event bus in the packaged template', () => {
  if (!existsSync(TEMPLATE)) throw new Error('run `bash scripts/template-check.sh` first');
  const resources = (JSON.parse(readFileSync(TEMPLATE, 'utf8')) as { Resources: Record<string, Resource> })
    .Resources;

  it('lets nobody but the incident-events role put events on it, so no one can forge an incident event', () => {
    // Prepare
    const policy = resources.IncidentEventBusPolicy?.Properties;
    // Assess
    expect(policy).toMatchObject({
      EventBusName: { Ref: 'IncidentEventBus' },
      Statement: {
        Effect: 'Deny',
        Principal: '*',
        Action: 'events:PutEvents',
        Resource: { 'Fn::GetAtt': ['IncidentEventBus', 'Arn'] },
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': { 'Fn::GetAtt': ['IncidentEventsRole', 'Arn'] } } },
      },
    });
  });

  it("reads the table's stream with both images and reports failed records one by one", () => {
    // Prepare
    const table = resources.IncidentTable?.Properties;
    const mappings = Object.values(resources).filter(
      (resource) =>
        resource.Type === 'AWS::Lambda::EventSourceMapping' &&
        JSON.stringify(resource.Properties.FunctionName).includes('IncidentDashevents'),
    );
    // Assess
    expect(table?.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(mappings).toHaveLength(1);
    expect(mappings[0]?.Properties).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': ['IncidentTable', 'StreamArn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
    });
  });
});
