import { createStageLambda } from "../../shared/pipeline/entry.ts";

export const handler = createStageLambda("publish");
