import { ruleHandler } from '../shared/pipeline/rule-handler';
import { ecsTaskUnprivileged } from '../shared/rules/ecs-task-unprivileged';

export const handler = ruleHandler(ecsTaskUnprivileged);
