import { Duration } from "aws-cdk-lib";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { STAGES, type Stage } from "../../shared/messages.ts";
import { queueNames } from "../../shared/queue/queue-set.ts";
import { STAGE_PLANS, VISIBILITY_PER_TIMEOUT } from "./stage-plan.ts";

export interface QueuesProps {
  /** VODPIPE_QUEUE_PREFIX: the functions find their queues by these names. */
  prefix: string;
  maxReceiveCount: number;
}

export interface StageQueue {
  queue: sqs.Queue;
  deadLetter: sqs.Queue;
}

/** One queue per stage and its `-dlq` twin, named as `vodpipe setup` names them. */
export class Queues extends Construct {
  readonly byStage: Record<Stage, StageQueue>;

  constructor(scope: Construct, id: string, props: QueuesProps) {
    super(scope, id);
    const entries = STAGES.map((stage): [Stage, StageQueue] => {
      const names = queueNames(props.prefix, stage);
      const deadLetter = new sqs.Queue(this, `${stage}-dlq`, {
        queueName: names.deadLetter,
        // A dead-lettered message keeps its first enqueue time: give it the longest retention.
        retentionPeriod: Duration.days(14),
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
      });
      const queue = new sqs.Queue(this, stage, {
        queueName: names.queue,
        visibilityTimeout: Duration.seconds(VISIBILITY_PER_TIMEOUT * STAGE_PLANS[stage].timeoutSeconds),
        retentionPeriod: Duration.days(4),
        deadLetterQueue: { queue: deadLetter, maxReceiveCount: props.maxReceiveCount },
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
      });
      return [stage, { queue, deadLetter }];
    });
    this.byStage = Object.fromEntries(entries) as Record<Stage, StageQueue>;
  }

  /** Every queue's ARN: the runtime looks each one's URL up by name when it starts. */
  allArns(): string[] {
    return STAGES.flatMap((stage) => [this.byStage[stage].queue.queueArn, this.byStage[stage].deadLetter.queueArn]);
  }
}
