import { idString, parseWith } from '../triggers/parse';
import * as z from '../zod';
import { type CallMapping, type ResourceType, type TagChange, tagCallFacts } from './resource-type';

export const TASK_DEFINITION = 'AWS::ECS::TaskDefinition';

/** `arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>` → `<family>:<revision>`. */
const REVISION_ARN =
  /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task-definition\/([A-Za-z0-9_-]{1,255}:\d{1,10})$/;

const revisionArn = idString.check(z.regex(REVISION_ARN, 'expected a task definition revision ARN'));

/** The revision an ARN names, as the rule's resource id: `<family>:<revision>`. */
export const revisionOf = (arn: string): string | undefined => REVISION_ARN.exec(arn)?.[1];

/**
 * Each call names its revision in the response, as a full ARN (a request may name only the family,
 * meaning its latest revision). Only the ARN is read: a task definition's and a task's request
 * carry environment variables, which often hold secrets, and none of it is copied.
 */
const namedInResponse = (schema: z.ZodMiniType<string[]>): CallMapping => ({
  eventSource: 'ecs.amazonaws.com',
  resourceIds: (record, prefix) => parseWith(schema, record, prefix).map((arn) => revisionOf(arn) ?? arn),
});

const registered = z.pipe(
  z.object({ responseElements: z.object({ taskDefinition: z.object({ taskDefinitionArn: revisionArn }) }) }),
  z.transform((record) => [record.responseElements.taskDefinition.taskDefinitionArn]),
);

const service = z.pipe(
  z.object({ responseElements: z.object({ service: z.object({ taskDefinition: revisionArn }) }) }),
  z.transform((record) => [record.responseElements.service.taskDefinition]),
);

/** RunTask and StartTask may start many tasks, of one revision. */
const tasks = z.pipe(
  z.object({
    responseElements: z.object({
      tasks: z.array(z.object({ taskDefinitionArn: revisionArn })).check(z.maxLength(100)),
    }),
  }),
  z.transform((record) => [...new Set(record.responseElements.tasks.map((task) => task.taskDefinitionArn))]),
);

const tagKey = z.string().check(z.maxLength(128));

/** ECS TagResource and UntagResource: one resource by ARN; the keys set (TagResource) or removed. */
const tagging = z.object({
  requestParameters: z.object({
    resourceArn: z.string().check(z.maxLength(2048)),
    tags: z.optional(z.array(z.looseObject({ key: tagKey })).check(z.maxLength(50))),
    tagKeys: z.optional(z.array(tagKey).check(z.maxLength(50))),
  }),
});

/**
 * A tag call: the revision it tags (a cluster's, service's or task's tags are not a revision's: none
 * then), and the keys it touched, never values, so the rule's scope (ecsScope) sees a revision leave.
 */
const tagged = (change: TagChange): CallMapping => ({
  eventSource: 'ecs.amazonaws.com',
  resourceIds: (record, prefix) => {
    const revision = revisionOf(parseWith(tagging, record, prefix).requestParameters.resourceArn);
    return revision ? [revision] : [];
  },
  facts: (record) => {
    const { tags, tagKeys } = parseWith(tagging, record).requestParameters;
    return tagCallFacts(change, tagKeys ?? tags?.map((tag) => tag.key) ?? []);
  },
});

/** One revision of an ECS task definition, named `<family>:<revision>` in its region. */
export const taskDefinition: ResourceType = {
  type: TASK_DEFINITION,
  arn: {
    service: 'ecs',
    resource: /^task-definition\/[A-Za-z0-9_-]{1,255}:\d{1,10}$/,
    plural: 'task definition revisions',
  },
  calls: {
    RegisterTaskDefinition: namedInResponse(registered),
    CreateService: namedInResponse(service),
    UpdateService: namedInResponse(service),
    RunTask: namedInResponse(tasks),
    StartTask: namedInResponse(tasks),
    TagResource: tagged('set'),
    UntagResource: tagged('remove'),
  },
};
