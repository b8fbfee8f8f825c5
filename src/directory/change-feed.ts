// The change feed: the one route from a committed write to everything that follows it (DNS zones and
// serials, NOTIFY, the worker processes). The directory publishes after every commit and answers the client
// only once every consumer's returned promise has settled, so a new write method of the directory cannot
// escape the DNS barrier; other processes' commits (a worker's, relayed by the primary) and other writers'
// (seen by the store's commit watch) enter through the same publish. Consumers read the changes themselves
// from the store's change log (changesSince): a notice only says "the log moved".

/** Where a commit came from. */
export type ChangeOrigin =
  /** This process's directory committed it (the consumer may have to pass it on to other processes). */
  | 'local'
  /** Another process of this service committed it and told us (through the cluster primary). */
  | 'peer'
  /** Another writer on the same store (a CLI command, another host), seen by the store's commit watch. */
  | 'external';

export interface ChangeNotice {
  readonly origin: ChangeOrigin;
}

/**
 * A consumer of the feed. It returns a promise when the client's answer must wait for it (the cluster's DNS
 * barrier); a consumer that only schedules work returns nothing.
 */
export type ChangeConsumer = (notice: ChangeNotice) => void | Promise<void>;

export class ChangeFeed {
  private readonly consumers: ChangeConsumer[] = [];

  /** Adds a consumer; returns the function that removes it. */
  subscribe(consumer: ChangeConsumer): () => void {
    this.consumers.push(consumer);
    return () => {
      const i = this.consumers.indexOf(consumer);
      if (i >= 0) this.consumers.splice(i, 1);
    };
  }

  /**
   * Tells every consumer, in subscription order. Resolves once the consumers that returned a promise have
   * settled (a consumer's failure is its own to report: it does not fail the committed write).
   */
  async publish(notice: ChangeNotice): Promise<void> {
    let waits: Promise<void>[] | null = null;
    for (const consumer of this.consumers.slice()) {
      const r = consumer(notice);
      if (r) (waits ??= []).push(r.catch(() => undefined));
    }
    if (waits) await Promise.all(waits);
  }
}
