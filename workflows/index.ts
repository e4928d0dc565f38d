/**
 * The workflows entry the Temporal worker bundles (`workflowsPath`): workflow functions only.
 * Signals, queries and options are imported from the workflow modules themselves.
 */
export { memoryWorkflow } from './memory-workflow.js';
