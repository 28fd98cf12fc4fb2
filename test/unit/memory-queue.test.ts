import { createMemoryQueue } from "../support/memory-queue.ts";
import { queueContract } from "../contract/queue-contract.ts";

// The in-memory double the worker tests rely on keeps the same promises as the real adapters.
queueContract("MemoryQueue (test double)", async (settings) => {
  const deadLetter = createMemoryQueue("contract-dlq", { ...settings, maxReceiveCount: 1000 });
  const queue = createMemoryQueue("contract", settings, deadLetter);
  return { queue, deadLetter, cleanup: async () => {} };
});
