// The workflow bundle's entry: every workflow type the worker serves.
export { connectionWorkflow } from './connection';
export { contactFailureWorkflow } from './contact-failure';
