import { runStageWorker } from "../../app/entry.ts";

await runStageWorker("lead");
