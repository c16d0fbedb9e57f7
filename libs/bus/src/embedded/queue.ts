/** A message held by the embedded broker: the same bytes and headers the AMQP transport sends. */
export interface EmbeddedMessage {
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, unknown>>;
  readonly messageId: string;
  readonly routingKey: string;
  readonly exchange: string;
}

export type DeliverFn = (message: EmbeddedMessage) => Promise<void>;

export class EmbeddedConsumer {
  private readonly inFlight = new Set<Promise<void>>();
  active = true;

  constructor(
    readonly prefetch: number,
    private readonly deliver: DeliverFn,
  ) {}

  get hasCapacity(): boolean {
    return this.active && this.inFlight.size < this.prefetch;
  }

  start(message: EmbeddedMessage, onSettled: () => void): void {
    const p = this.deliver(message).finally(() => {
      this.inFlight.delete(p);
      onSettled();
    });
    this.inFlight.add(p);
  }

  /** Resolves when every delivery handed out so far has been settled. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }
}

/**
 * One in-memory queue: FIFO of ready messages, competing consumers served round-robin, each
 * bounded by its prefetch. Dispatch runs on setImmediate so a busy stream never starves timers
 * (retry delays) or I/O, as it would if it ran in microtasks.
 */
export class EmbeddedQueue {
  private ready: EmbeddedMessage[] = [];
  private head = 0;
  private consumers: EmbeddedConsumer[] = [];
  private nextConsumer = 0;
  private scheduled = false;

  constructor(readonly name: string) {}

  get depth(): number {
    return this.ready.length - this.head;
  }

  enqueue(message: EmbeddedMessage): void {
    this.ready.push(message);
    this.schedule();
  }

  /** Removes and returns the oldest ready message (basic.get). */
  take(): EmbeddedMessage | undefined {
    if (this.head >= this.ready.length) return undefined;
    const message = this.ready[this.head];
    this.ready[this.head] = undefined as unknown as EmbeddedMessage; // let it be collected
    this.head += 1;
    // Compact occasionally: shift() on a long array is O(n) per message.
    if (this.head > 1024 && this.head * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.head);
      this.head = 0;
    }
    return message;
  }

  addConsumer(prefetch: number, deliver: DeliverFn): EmbeddedConsumer {
    const consumer = new EmbeddedConsumer(prefetch, deliver);
    this.consumers.push(consumer);
    this.schedule();
    return consumer;
  }

  removeConsumer(consumer: EmbeddedConsumer): void {
    consumer.active = false;
    this.consumers = this.consumers.filter((c) => c !== consumer);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.depth > 0) {
      const consumer = this.pickConsumer();
      if (!consumer) return;
      const message = this.take();
      if (!message) return;
      consumer.start(message, () => this.schedule());
    }
  }

  private pickConsumer(): EmbeddedConsumer | undefined {
    const n = this.consumers.length;
    for (let i = 0; i < n; i++) {
      const candidate = this.consumers[(this.nextConsumer + i) % n];
      if (candidate?.hasCapacity) {
        this.nextConsumer = (this.nextConsumer + i + 1) % n;
        return candidate;
      }
    }
    return undefined;
  }
}
