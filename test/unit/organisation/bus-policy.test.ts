import {
  judgeOrganisationStatement,
  organisationStatementProblem,
} from '../../../shared/organisation/bus-policy';

const STACK = 'compliance-responder-dev';
const SID = `${STACK}-organisation`;
const ORG = 'o-abcdefghij';
const BUS = 'arn:aws:events:us-east-1:111122223333:event-bus/default';
const expected = { stackName: STACK, organizationId: ORG, busArn: BUS };
const deployed = {
  Sid: SID,
  Effect: 'Allow',
  Principal: '*',
  Action: 'events:PutEvents',
  Resource: BUS,
  Condition: { StringEquals: { 'aws:PrincipalOrgID': ORG } },
};
const policy = (...statements: unknown[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const judged = (statement: Record<string, unknown>) =>
  judgeOrganisationStatement(policy({ ...deployed, ...statement }), expected);

describe("the default bus's organisation statement, as the heartbeat and self-protection read it", () => {
  it('reads the deployed statement as intact however the principal "*" is rendered (as written, AWS, moto)', () => {
    // Act
    const readings = ['*', { AWS: '*' }, { AWS: 'arn:aws:iam::*:root' }].map((Principal) =>
      judged({ Principal }),
    );
    // Assess
    for (const reading of readings) {
      expect(reading).toEqual({
        present: true,
        busArn: BUS,
        admitsOrganisation: true,
        differences: [],
        othersAdmittingEveryone: [],
      });
      expect(organisationStatementProblem(reading, STACK, ORG)).toBeUndefined();
    }
  });

  it.each([
    ['no condition (every principal)', { Condition: undefined }, ['Condition'], true],
    [
      'an extra condition key',
      { Condition: { StringEquals: { 'aws:PrincipalOrgID': ORG, 'aws:SourceAccount': '1' } } },
      ['Condition'],
      false,
    ],
    [
      'another organisation',
      { Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-zzzzzzzzzz' } } },
      ['Condition'],
      false,
    ],
    ['one account', { Principal: { AWS: 'arn:aws:iam::444455556666:root' } }, ['Principal'], false],
    ['more actions', { Action: ['events:PutEvents', 'events:PutRule'] }, ['Action'], true],
    ['another resource', { Resource: `${BUS}-other` }, ['Resource'], true],
    ['a Deny', { Effect: 'Deny' }, ['Effect'], false],
  ])('names what differs in a statement with %s, never its values', (_name, change, differences, admits) => {
    // Act
    const reading = judged(change);
    // Assess
    expect(reading).toMatchObject({ present: true, differences, admitsOrganisation: admits });
    const problem = organisationStatementProblem(reading, STACK, ORG);
    expect(problem).toContain(
      admits ? 'admits more than organisation o-abcdefghij' : 'no longer admits organisation o-abcdefghij',
    );
    expect(problem).not.toMatch(/o-zzzz|444455556666|PutRule/);
  });

  it('reads a missing statement (or no policy at all) as missing, and lists other statements granting every principal', () => {
    // Act
    const none = judgeOrganisationStatement(undefined, expected);
    const others = judgeOrganisationStatement(
      policy(
        { ...deployed, Sid: 'open', Condition: undefined },
        { ...deployed, Sid: 'partner', Principal: { AWS: '444455556666' } },
      ),
      expected,
    );
    // Assess
    expect(none).toEqual({ present: false, busArn: BUS, othersAdmittingEveryone: [] });
    expect(others).toEqual({ present: false, busArn: BUS, othersAdmittingEveryone: ['open'] });
    expect(organisationStatementProblem(none, STACK, ORG)).toBe(
      `statement ${SID} is missing: member accounts' events are refused`,
    );
  });
});
