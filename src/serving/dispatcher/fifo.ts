/** A FIFO queue with O(1) push, shift and cancellation (cancelled items are skipped lazily). */
export interface Cancellable {
  cancelled: boolean;
}

export class Fifo<T extends Cancellable> {
  private items: (T | undefined)[] = [];
  private head = 0;
  private live = 0;

  get size(): number {
    return this.live;
  }

  push(item: T): void {
    this.items.push(item);
    this.live++;
  }

  shift(): T | undefined {
    while (this.head < this.items.length) {
      const item = this.items[this.head];
      this.items[this.head] = undefined;
      this.head++;
      if (item && !item.cancelled) {
        this.live--;
        this.compact();
        return item;
      }
    }
    this.compact();
    return undefined;
  }

  cancel(item: T): boolean {
    if (item.cancelled) return false;
    item.cancelled = true;
    this.live--;
    return true;
  }

  /** Remove and return every live item. */
  drain(): T[] {
    const out: T[] = [];
    for (let item = this.shift(); item; item = this.shift()) out.push(item);
    return out;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    }
  }
}
