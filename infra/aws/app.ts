/**
 * The CDK app: `npm run infra:synth` writes the CloudFormation templates and the staged image
 * context to infra/aws/cdk.out (no AWS account, no Docker); `npx aws-cdk deploy` (run in
 * infra/aws, see cdk.json) deploys them. Account and region come from the AWS CLI's profile.
 */
import { App } from "aws-cdk-lib";
import { fileURLToPath } from "node:url";
import { VodpipeStack } from "./vodpipe-stack.ts";

const app = new App({ outdir: process.env.CDK_OUTDIR ?? fileURLToPath(new URL("cdk.out", import.meta.url)) });
new VodpipeStack(app, app.node.tryGetContext("stackName") ?? "Vodpipe", {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  queuePrefix: app.node.tryGetContext("queuePrefix"),
});
app.synth();
