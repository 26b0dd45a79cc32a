// The one task queue the worker serves and every client starts workflows on; an environment variable lets
// two installations share a Temporal namespace.
export const TASK_QUEUE = process.env.RAPPORT_TASK_QUEUE ?? 'rapport';
