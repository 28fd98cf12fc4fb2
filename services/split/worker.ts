import { runStageWorker } from "../../shared/pipeline/entry.ts";

await runStageWorker("split");
