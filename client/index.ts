// The Node side of Temporal: how the API, the worker, activities and scripts start, drive and query workflows.
export { ConnectionControl, connectionWorkflowId } from './connections';
export { caseInput, endCases, failureCasesQuery, openCase } from './failure-cases';
export { TASK_QUEUE } from './task-queue';
