import { describe, expect, it } from 'vitest';
import { fleetTickMs } from './fleet';

describe('fleetTickMs', () => {
  it('spreads the devices over their interval', () => {
    expect(fleetTickMs(4, { perDeviceMs: 1000, totalRate: undefined })).toBe(250);
  });

  it('keeps the total rate in load mode, whatever the fleet', () => {
    expect(fleetTickMs(1000, { perDeviceMs: 1000, totalRate: 200 })).toBe(5);
    expect(fleetTickMs(1, { perDeviceMs: 1000, totalRate: 200 })).toBe(5);
  });
});
