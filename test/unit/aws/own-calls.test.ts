import {
  fieldsOutsideShape,
  OwnCall,
  RequestOutsideShapeError,
  refuseOutsideShape,
} from '../../../shared/aws/own-calls';

describe('own calls: the request shapes IAM cannot enforce', () => {
  it.each([
    [
      'UpdateTrail, both flags on',
      OwnCall.UpdateTrail,
      { Name: 'audit', EnableLogFileValidation: true, IsMultiRegionTrail: true },
    ],
    [
      'UpdateTrail, one flag (CloudTrail spelling)',
      OwnCall.UpdateTrail,
      { name: 'audit', isMultiRegionTrail: true },
    ],
    [
      'UpdateSSHPublicKey, Inactive',
      OwnCall.UpdateSSHPublicKey,
      { UserName: 'dev', SSHPublicKeyId: 'APKA1', Status: 'Inactive' },
    ],
    [
      'UpdateSSHPublicKey, CloudTrail spelling',
      OwnCall.UpdateSSHPublicKey,
      { userName: 'dev', sSHPublicKeyId: 'APKA1', status: 'Inactive' },
    ],
    [
      'UpdateTable, protection on',
      OwnCall.UpdateTable,
      { TableName: 'incidents', DeletionProtectionEnabled: true },
    ],
    [
      'PutPermission putting back the organisation statement',
      OwnCall.PutPermission,
      {
        EventBusName: 'default',
        StatementId: 'stack-organisation',
        Action: 'events:PutEvents',
        Principal: '*',
        Condition: { Type: 'StringEquals', Key: 'aws:PrincipalOrgID', Value: 'o-abcdefghij' },
      },
    ],
    [
      'PutPermission, CloudTrail spelling (no bus named: the default)',
      OwnCall.PutPermission,
      {
        statementId: 'stack-organisation',
        action: 'events:PutEvents',
        principal: '*',
        condition: { type: 'StringEquals', key: 'aws:PrincipalOrgID', value: 'o-abcdefghij' },
      },
    ],
  ])('accepts %s', (_name, shape, request) => {
    // Act / Assess
    expect(fieldsOutsideShape(shape, request)).toEqual([]);
    expect(() => refuseOutsideShape(shape, request)).not.toThrow();
  });

  it.each([
    [
      'UpdateTrail to another bucket',
      OwnCall.UpdateTrail,
      { Name: 'audit', S3BucketName: 'attacker-bucket' },
      ['S3BucketName'],
    ],
    [
      'UpdateTrail turning validation off',
      OwnCall.UpdateTrail,
      { Name: 'audit', EnableLogFileValidation: false },
      ['EnableLogFileValidation'],
    ],
    [
      'UpdateTrail single-region',
      OwnCall.UpdateTrail,
      { name: 'audit', isMultiRegionTrail: false, kmsKeyId: 'k' },
      ['isMultiRegionTrail', 'kmsKeyId'],
    ],
    [
      'UpdateSSHPublicKey reactivating',
      OwnCall.UpdateSSHPublicKey,
      { UserName: 'dev', SSHPublicKeyId: 'APKA1', Status: 'Active' },
      ['Status'],
    ],
    [
      'UpdateTable, protection off',
      OwnCall.UpdateTable,
      { TableName: 'incidents', DeletionProtectionEnabled: false },
      ['DeletionProtectionEnabled'],
    ],
    [
      'PutPermission replacing the whole bus policy',
      OwnCall.PutPermission,
      { eventBusName: 'default', policy: '{"Statement":[]}' },
      ['policy'],
    ],
    [
      'PutPermission to one account, without the organisation condition',
      OwnCall.PutPermission,
      { statementId: 's', action: 'events:PutEvents', principal: '111122223333' },
      ['principal'],
    ],
    [
      'PutPermission with another condition key, on another bus',
      OwnCall.PutPermission,
      {
        eventBusName: 'other',
        statementId: 's',
        action: 'events:PutEvents',
        principal: '*',
        condition: { type: 'StringEquals', key: 'aws:PrincipalAccount', value: '111122223333' },
      },
      ['eventBusName', 'condition.key'],
    ],
    [
      'UpdateTable, streams changed',
      OwnCall.UpdateTable,
      { tableName: 'incidents', streamSpecification: { streamEnabled: false } },
      ['streamSpecification'],
    ],
    [
      'a name that is not a string',
      OwnCall.UpdateTable,
      { TableName: { evil: true }, DeletionProtectionEnabled: true },
      ['TableName'],
    ],
  ])('refuses %s, naming fields, never values', (_name, shape, request, fields) => {
    // Act
    const refuse = () => refuseOutsideShape(shape, request);
    // Assess
    expect(fieldsOutsideShape(shape, request)).toEqual(fields);
    expect(refuse).toThrow(RequestOutsideShapeError);
    expect(refuse).toThrow(`refused to send ${shape.eventName}: ${fields.join(', ')} outside`);
    expect(refuse).not.toThrow(/attacker-bucket|APKA1/);
  });
});
