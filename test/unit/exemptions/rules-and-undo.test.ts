import { exemptAfterUndo } from '../../../shared/exemptions/after-undo';
import { decideExemption } from '../../../shared/exemptions/decide';
import { checkExemptible, ExemptionRefusedError } from '../../../shared/exemptions/resource-types';
import { ruleById } from '../../../shared/rules';
import { MemoryExemptionLedger } from '../../support/memory-store';

const NOW = new Date('2026-11-23T12:00:00.000Z');
const ACCOUNT = '111122223333';

describe('which exemptions can apply', () => {
  it.each([
    ['ebs-volume-encrypted', `arn:aws:ec2:us-east-1:${ACCOUNT}:volume/vol-0abc`],
    ['ebs-encryption-by-default', `arn:aws:ec2:us-east-1:${ACCOUNT}:ebs-encryption-by-default`],
    ['phi-dedicated-tenancy', `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-0abc`],
    ['ssh-open-to-world', `arn:aws:ec2:eu-west-1:${ACCOUNT}:security-group/sg-0abc`],
    ['ssh-grant-expired', `arn:aws:iam::${ACCOUNT}:user/dev-alice`],
    ['ssh-grant-expired', `arn:aws:ec2:eu-west-1:${ACCOUNT}:security-group/sg-0abc`],
    ['cloudtrail-logging-on', `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/audit`],
    ['config-recorder-on', `arn:aws:config:us-east-1:${ACCOUNT}:configuration-recorder/default`],
  ])('accepts %s on %s', (ruleId, arn) => {
    expect(() => checkExemptible(ruleById(ruleId), arn)).not.toThrow();
  });

  it.each([
    ['a malformed ARN', 'ebs-volume-encrypted', 'vol-0abc', 'is not a resource ARN'],
    [
      'another rule’s resource type',
      'ebs-volume-encrypted',
      `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-0abc`,
      'ebs-volume-encrypted judges AWS::EC2::Volume, not AWS::EC2::Instance',
    ],
    [
      'a resource no rule judges',
      'ebs-volume-encrypted',
      `arn:aws:s3:::my-bucket`,
      'no rule judges this kind of resource',
    ],
    [
      'the responder’s own stack',
      'self-protection',
      `arn:aws:lambda:us-east-1:${ACCOUNT}:function:x`,
      "the responder's own stack cannot be exempted",
    ],
  ])('refuses %s', (_what, ruleId, arn, message) => {
    expect(() => checkExemptible(ruleById(ruleId), arn)).toThrow(ExemptionRefusedError);
    expect(() => checkExemptible(ruleById(ruleId), arn)).toThrow(message);
  });
});

describe('the exemption after an undo', () => {
  const incident = {
    incidentId: 'inc-20261123T101500-0a1b2c3d',
    ruleId: 'ebs-encryption-by-default',
    resourceArn: `arn:aws:ec2:us-east-1:${ACCOUNT}:ebs-encryption-by-default`,
  };
  const setBy = `arn:aws:iam::${ACCOUNT}:user/oncall-bob`;

  it('exempts the resource until the given time, naming the incident, so the pipeline leaves it alone', async () => {
    // Prepare
    const ledger = new MemoryExemptionLedger();
    const until = new Date(NOW.getTime() + 3_600_000);
    // Act
    const exemption = await exemptAfterUndo(ledger, incident, { until, setBy, now: NOW });
    // Assess
    expect(exemption).toMatchObject({
      ruleId: incident.ruleId,
      resourceArn: incident.resourceArn,
      reason: `undo of incident ${incident.incidentId}`,
      until: until.toISOString(),
      setBy,
    });
    const decision = await decideExemption(
      ledger,
      ruleById(incident.ruleId),
      { arn: incident.resourceArn, tags: {} },
      { reason: 'r', until: 'u' },
      NOW,
    );
    expect(decision.exemption?.exemptionId).toBe(exemption.exemptionId);
  });

  it('keeps a longer exemption in force and supersedes a shorter one', async () => {
    // Prepare
    const ledger = new MemoryExemptionLedger();
    const longer = await exemptAfterUndo(ledger, incident, {
      until: new Date(NOW.getTime() + 86_400_000),
      setBy,
      now: NOW,
    });
    // Act
    const kept = await exemptAfterUndo(ledger, incident, {
      until: new Date(NOW.getTime() + 3_600_000),
      setBy,
      now: NOW,
    });
    const superseding = await exemptAfterUndo(ledger, incident, {
      until: new Date(NOW.getTime() + 2 * 86_400_000),
      setBy,
      now: NOW,
    });
    // Assess
    expect(kept.exemptionId).toBe(longer.exemptionId);
    expect(superseding.exemptionId).not.toBe(longer.exemptionId);
    expect((await ledger.get(longer.exemptionId))?.removedAt).toBe(NOW.toISOString());
    expect((await ledger.current(incident.ruleId, incident.resourceArn))?.exemptionId).toBe(
      superseding.exemptionId,
    );
  });

  it('supersedes an exemption beyond the limits (written by hand until 2099), which exempts nothing', async () => {
    // Prepare: an item nobody could add through the command line
    const ledger = new MemoryExemptionLedger();
    const forged = {
      exemptionId: 'exm-20261123T110000-0f0f0f0f',
      ruleId: incident.ruleId,
      resourceArn: incident.resourceArn,
      reason: 'forever',
      until: '2099-01-01T00:00:00.000Z',
      setBy,
      setAt: NOW.toISOString(),
    };
    await ledger.add(forged);
    // Act
    const exemption = await exemptAfterUndo(ledger, incident, {
      until: new Date(NOW.getTime() + 3_600_000),
      setBy,
      now: NOW,
    });
    // Assess: a real exemption replaces it, and the pipeline honours that one
    expect(exemption.exemptionId).not.toBe(forged.exemptionId);
    expect((await ledger.get(forged.exemptionId))?.removedAt).toBe(NOW.toISOString());
    const decision = await decideExemption(
      ledger,
      ruleById(incident.ruleId),
      { arn: incident.resourceArn, tags: {} },
      { reason: 'r', until: 'u' },
      NOW,
    );
    expect(decision.exemption?.exemptionId).toBe(exemption.exemptionId);
  });

  it('refuses an end in the past or more than a year ahead', async () => {
    const ledger = new MemoryExemptionLedger();
    await expect(
      exemptAfterUndo(ledger, incident, { until: new Date(NOW.getTime() - 1), setBy, now: NOW }),
    ).rejects.toThrow(ExemptionRefusedError);
    await expect(
      exemptAfterUndo(ledger, incident, {
        until: new Date(NOW.getTime() + 400 * 86_400_000),
        setBy,
        now: NOW,
      }),
    ).rejects.toThrow('at most a year ahead');
  });
});
