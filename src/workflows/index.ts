export { ReleaseWorkflow } from './release.js';
