/** CDK app entry (`npx cdk synth`, `npx cdk deploy`); see `create-app.ts`. */
import { createApp } from './create-app.js';

createApp().app.synth();
