import { createStageLambda } from "../../app/entry.ts";

export const handler = createStageLambda("lead");
