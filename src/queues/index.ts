import { handleSendBatch } from "./send.queue";
import { handleWebhookBatch } from "./webhook.queue";
import { handleDeadLetters } from "./dead-letter.queue";
import { log } from "../platform/log";

// One queue handler for the Worker; each queue's consumer lives in its own module.
export async function handleQueue(batch: MessageBatch<unknown>, env: Env, ctx: ExecutionContext): Promise<void> {
  switch (batch.queue) {
    case "wa-send":
      return handleSendBatch(batch as MessageBatch<never>, env, ctx);
    case "wa-webhooks":
      return handleWebhookBatch(batch as MessageBatch<never>, env, ctx);
    case "wa-send-dlq":
    case "wa-webhooks-dlq":
      return handleDeadLetters(batch as MessageBatch<never>, env, ctx);
    default:
      // An unknown queue is a deployment mistake; retrying would only fill its DLQ.
      log.error({ queue: batch.queue }, "message from an unknown queue");
      batch.ackAll();
  }
}
