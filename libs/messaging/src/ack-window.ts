/**
 * Which deliveries of a channel can be acknowledged with one `basic.ack multiple`. Batches are
 * opened in delivery order, each named by its last delivery tag, and settle in any order, either
 * acked or nacked (nacks are sent one by one, at once). An ack with `multiple` covers every
 * outstanding tag up to the one it names, so it may only be sent once every batch before it has
 * settled; and it must name a tag still outstanding (RabbitMQ closes the channel otherwise), so it
 * names the last acked batch of the settled prefix.
 */
export class AckWindow {
  #open: { lastTag: number; outcome: 'open' | 'ack' | 'nack' }[] = [];

  /** Opens a batch ending at `lastTag` (tags grow: batches are opened in delivery order). */
  open(lastTag: number): void {
    const newest = this.#open.at(-1);
    if (newest !== undefined && lastTag <= newest.lastTag) {
      throw new RangeError(`batch ending at ${lastTag} opened after one ending at ${newest.lastTag}`);
    }
    this.#open.push({ lastTag, outcome: 'open' });
  }

  /**
   * Settles the batch ending at `lastTag`. Returns the tag to acknowledge with `multiple` now, or
   * `undefined` when there is nothing to ack yet (an earlier batch is open, or only nacks settled).
   */
  settle(lastTag: number, outcome: 'ack' | 'nack'): number | undefined {
    const batch = this.#open.find((candidate) => candidate.lastTag === lastTag && candidate.outcome === 'open');
    if (batch === undefined) throw new RangeError(`no open batch ends at ${lastTag}`);
    batch.outcome = outcome;
    let ackUpTo: number | undefined;
    while (this.#open[0] !== undefined && this.#open[0].outcome !== 'open') {
      const settled = this.#open.shift() as { lastTag: number; outcome: 'ack' | 'nack' };
      if (settled.outcome === 'ack') ackUpTo = settled.lastTag;
    }
    return ackUpTo;
  }

  /** Batches opened and not yet out of the window. */
  get size(): number {
    return this.#open.length;
  }
}
