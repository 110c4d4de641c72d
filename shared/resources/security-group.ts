import { z } from 'zod';
import { idString, parseWith } from '../triggers/parse';
import type { CallMapping, ResourceType } from './resource-type';

export const SECURITY_GROUP = 'AWS::EC2::SecurityGroup';

const securityGroupInRequest = z.object({ requestParameters: z.object({ groupId: idString.optional() }) });
const securityGroupsInResponse = z.object({
  responseElements: z.object({
    securityGroupRuleSet: z.object({
      items: z
        .array(z.object({ groupId: idString }))
        .min(1)
        .max(1000),
    }),
  }),
});

const modifiedSecurityGroup = z.object({
  requestParameters: z.object({ ModifySecurityGroupRulesRequest: z.object({ GroupId: idString }) }),
});

/** The group is named in the request; calls by group name only name it in the response's rules. */
const authorizedSecurityGroups: CallMapping['resourceIds'] = (record, prefix) => {
  const groupId = parseWith(securityGroupInRequest, record, prefix).requestParameters.groupId;
  if (groupId) return [groupId];
  const rules = parseWith(securityGroupsInResponse, record, prefix).responseElements.securityGroupRuleSet
    .items;
  return [...new Set(rules.map((rule) => rule.groupId))];
};

export const securityGroup: ResourceType = {
  type: SECURITY_GROUP,
  arn: { service: 'ec2', resource: /^security-group\/sg-[0-9a-f]+$/, plural: 'security groups' },
  calls: {
    AuthorizeSecurityGroupIngress: {
      eventSource: 'ec2.amazonaws.com',
      resourceIds: authorizedSecurityGroups,
    },
    ModifySecurityGroupRules: {
      eventSource: 'ec2.amazonaws.com',
      resourceIds: (record, prefix) => [
        parseWith(modifiedSecurityGroup, record, prefix).requestParameters.ModifySecurityGroupRulesRequest
          .GroupId,
      ],
    },
  },
};
