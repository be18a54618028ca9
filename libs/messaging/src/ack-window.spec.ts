import { describe, expect, it } from 'vitest';
import { AckWindow } from './ack-window';

describe('AckWindow', () => {
  it('acknowledges a batch at once when nothing before it is open', () => {
    const window = new AckWindow();
    window.open(500);
    expect(window.settle(500, 'ack')).toBe(500);
    expect(window.size).toBe(0);
  });

  it('holds a batch that settled early until the batches before it settle, then acks them all at once', () => {
    const window = new AckWindow();
    window.open(500);
    window.open(1000);
    window.open(1200);
    expect(window.settle(1000, 'ack')).toBeUndefined();
    expect(window.settle(1200, 'ack')).toBeUndefined();
    expect(window.size).toBe(3);
    expect(window.settle(500, 'ack')).toBe(1200);
    expect(window.size).toBe(0);
  });

  it('acks only the settled prefix', () => {
    const window = new AckWindow();
    window.open(10);
    window.open(20);
    window.open(30);
    expect(window.settle(10, 'ack')).toBe(10);
    expect(window.settle(30, 'ack')).toBeUndefined();
    expect(window.settle(20, 'ack')).toBe(30);
  });

  it('never names the tag of a nacked batch, which is no longer outstanding', () => {
    const window = new AckWindow();
    window.open(10);
    window.open(20);
    window.open(30);
    expect(window.settle(20, 'nack')).toBeUndefined();
    expect(window.settle(30, 'nack')).toBeUndefined();
    expect(window.settle(10, 'ack')).toBe(10);
    window.open(40);
    window.open(50);
    expect(window.settle(40, 'ack')).toBe(40);
    expect(window.settle(50, 'nack')).toBeUndefined();
    expect(window.size).toBe(0);
  });

  it('refuses batches out of delivery order, unknown batches and a second settle', () => {
    const window = new AckWindow();
    window.open(10);
    window.open(20);
    expect(() => window.open(20)).toThrow(RangeError);
    expect(() => window.open(5)).toThrow(RangeError);
    expect(() => window.settle(7, 'ack')).toThrow(/no open batch ends at 7/);
    window.settle(20, 'ack');
    expect(() => window.settle(20, 'ack')).toThrow(/no open batch ends at 20/);
  });
});
