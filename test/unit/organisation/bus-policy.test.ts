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
        othersBeyondOrganisation: [],
        othersDenying: [],
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
    expect(none).toEqual({
      present: false,
      busArn: BUS,
      othersAdmittingEveryone: [],
      othersBeyondOrganisation: [],
      othersDenying: [],
    });
    expect(others).toEqual({
      present: false,
      busArn: BUS,
      othersAdmittingEveryone: ['open'],
      othersBeyondOrganisation: ['open'],
      othersDenying: [],
    });
    expect(organisationStatementProblem(none, STACK, ORG)).toBe(
      `statement ${SID} is missing: member accounts' events are refused`,
    );
  });

  describe('the other statements on the bus: the statement intact is not enough', () => {
    /** The deployed statement intact, plus the others given. */
    const withOthers = (...others: Record<string, unknown>[]) =>
      judgeOrganisationStatement(policy(deployed, ...others), expected);
    const open = { Sid: 'open', Effect: 'Allow', Principal: '*', Action: 'events:PutEvents', Resource: BUS };
    const refuse = {
      Sid: 'refuse',
      Effect: 'Deny',
      Principal: '*',
      Action: 'events:PutEvents',
      Resource: BUS,
      Condition: { StringNotEquals: { 'aws:PrincipalAccount': '111122223333' } },
    };

    it('names another statement letting every principal put events without the organisation condition, and says why', () => {
      // Act
      const reading = withOthers(open);
      // Assess
      expect(reading).toMatchObject({
        present: true,
        admitsOrganisation: true,
        differences: [],
        othersBeyondOrganisation: ['open'],
        othersDenying: [],
      });
      const problem = organisationStatementProblem(reading, STACK, ORG);
      expect(problem).toBe(
        `statement open lets principals outside organisation ${ORG} put events (principal "*" without aws:PrincipalOrgID ${ORG}): any AWS account can send events to the bus`,
      );
    });

    it.each([
      ['principal {"AWS":"*"}', { Principal: { AWS: '*' } }],
      ['principal as moto renders "*"', { Principal: { AWS: 'arn:aws:iam::*:root' } }],
      ['"*" among other principals', { Principal: { AWS: ['arn:aws:iam::444455556666:root', '*'] } }],
      ['NotPrincipal', { Principal: undefined, NotPrincipal: { AWS: 'arn:aws:iam::444455556666:root' } }],
      ['action events:*', { Action: 'events:*' }],
      ['action *, in a list', { Action: ['events:PutRule', '*'] }],
      ['action written in another case', { Action: 'Events:putevents' }],
      ['action events:Put*', { Action: 'events:Put*' }],
      ['NotAction of another action', { Action: undefined, NotAction: 'events:PutRule' }],
      ['resource *', { Resource: '*' }],
      ['no resource', { Resource: undefined }],
      ['NotResource of another bus', { Resource: undefined, NotResource: `${BUS}-other` }],
      ['another condition only', { Condition: { StringEquals: { 'aws:SourceAccount': '444455556666' } } }],
      ['another organisation', { Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-zzzzzzzzzz' } } }],
      [
        'the organisation among others',
        { Condition: { StringEquals: { 'aws:PrincipalOrgID': [ORG, 'o-zzzzzzzzzz'] } } },
      ],
      ['the organisation by StringLike', { Condition: { StringLike: { 'aws:PrincipalOrgID': 'o-*' } } }],
    ])('counts an Allow with %s as admitting beyond the organisation', (_name, change) => {
      // Act
      const reading = withOthers({ ...open, ...change });
      // Assess
      expect(reading).toMatchObject({ othersBeyondOrganisation: ['open'], othersDenying: [] });
      expect(organisationStatementProblem(reading, STACK, ORG)).not.toMatch(/444455556666|o-zzzz|PutRule/);
    });

    it('names a Deny that can refuse events:PutEvents on the bus, and says why, never its condition', () => {
      // Act
      const reading = withOthers(refuse);
      // Assess
      expect(reading).toMatchObject({
        present: true,
        admitsOrganisation: true,
        differences: [],
        othersBeyondOrganisation: [],
        othersDenying: ['refuse'],
      });
      const problem = organisationStatementProblem(reading, STACK, ORG);
      expect(problem).toBe(
        "statement refuse denies events:PutEvents on the bus: member accounts' events can be refused",
      );
      expect(problem).not.toContain('111122223333');
    });

    it.each([
      ['no condition', { Condition: undefined }],
      ['one principal', { Principal: { AWS: 'arn:aws:iam::444455556666:root' } }],
      ['action events:*', { Action: 'events:*' }],
      ['action *', { Action: '*' }],
      ['NotAction of another action', { Action: undefined, NotAction: ['events:PutRule'] }],
      ['resource *', { Resource: '*' }],
      ['no resource', { Resource: undefined }],
    ])('counts a Deny with %s as denying', (_name, change) => {
      // Act
      const reading = withOthers({ ...refuse, ...change });
      // Assess
      expect(reading).toMatchObject({ othersBeyondOrganisation: [], othersDenying: ['refuse'] });
    });

    it('names both attacks at once, ours intact or not', () => {
      // Act
      const intact = withOthers(open, refuse);
      const missing = judgeOrganisationStatement(policy(open, refuse), expected);
      // Assess
      expect(organisationStatementProblem(intact, STACK, ORG)).toBe(
        `statement open lets principals outside organisation ${ORG} put events (principal "*" without aws:PrincipalOrgID ${ORG}): any AWS account can send events to the bus; statement refuse denies events:PutEvents on the bus: member accounts' events can be refused`,
      );
      expect(organisationStatementProblem(missing, STACK, ORG)).toMatch(
        new RegExp(`^statement ${SID} is missing: .*; statement open lets .*; statement refuse denies `),
      );
    });

    it.each([
      [
        'an Allow to one named account',
        { ...open, Sid: 'partner', Principal: { AWS: 'arn:aws:iam::444455556666:root' } },
      ],
      ['an Allow to one account id', { ...open, Sid: 'partner', Principal: { AWS: '444455556666' } }],
      [
        'an Allow of "*" on the organisation condition (a second organisation statement)',
        { ...deployed, Sid: 'also-organisation' },
      ],
      [
        'an Allow of "*" on the organisation condition and a narrower one',
        {
          ...deployed,
          Sid: 'narrower',
          Condition: { StringEquals: { 'aws:PrincipalOrgID': ORG, 'aws:PrincipalAccount': '444455556666' } },
        },
      ],
      ['an Allow of "*" of another action', { ...open, Action: 'events:DescribeRule' }],
      ['an Allow of "*" on another bus', { ...open, Resource: `${BUS}-other` }],
      ['a Deny of another action', { ...refuse, Action: 'events:PutRule' }],
      ['a Deny on another bus', { ...refuse, Resource: `${BUS}-other` }],
      [
        'a Deny with NotAction covering PutEvents',
        { ...refuse, Action: undefined, NotAction: 'events:Put*' },
      ],
    ])('leaves %s alone', (_name, other) => {
      // Act
      const reading = withOthers(other);
      // Assess
      expect(reading).toMatchObject({ othersBeyondOrganisation: [], othersDenying: [] });
      expect(organisationStatementProblem(reading, STACK, ORG)).toBeUndefined();
    });

    it('names at most five statements, each id bounded, and how many more', () => {
      // Act
      const many = Array.from({ length: 7 }, (_, index) => ({ ...open, Sid: `open-${index}` }));
      const reading = withOthers(...many, { ...refuse, Sid: `${'x'.repeat(100)}<script>` });
      // Assess
      const problem = organisationStatementProblem(reading, STACK, ORG) ?? '';
      expect(problem).toContain(
        'statements open-0, open-1, open-2, open-3, open-4 and 2 more let principals',
      );
      expect(problem).toContain(`statement ${'x'.repeat(64)} denies`);
      expect(problem).not.toContain('<script>');
    });
  });
});
