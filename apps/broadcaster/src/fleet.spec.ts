import { describe, expect, it } from 'vitest';
import { isDeviceId } from '@tally/contract';
import { fleetDeviceIds, fleetTickMs } from './fleet';

describe('fleetDeviceIds', () => {
  it('numbers devices from sim-0001, four digits at least', () => {
    expect(fleetDeviceIds(3)).toEqual(['sim-0001', 'sim-0002', 'sim-0003']);
    expect(fleetDeviceIds(9999).at(-1)).toBe('sim-9999');
  });

  it('pads to the width of the fleet past 9,999, so ids sort in order', () => {
    const ids = fleetDeviceIds(12_000);
    expect(ids[0]).toBe('sim-00001');
    expect(ids.at(-1)).toBe('sim-12000');
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(12_000);
  });

  it('makes valid device ids', () => {
    expect(fleetDeviceIds(100).every(isDeviceId)).toBe(true);
  });
});

describe('fleetTickMs', () => {
  it('spreads the devices over their interval', () => {
    expect(fleetTickMs(4, { perDeviceMs: 1000, totalRate: undefined })).toBe(250);
  });

  it('keeps the total rate in load mode, whatever the fleet', () => {
    expect(fleetTickMs(1000, { perDeviceMs: 1000, totalRate: 200 })).toBe(5);
    expect(fleetTickMs(1, { perDeviceMs: 1000, totalRate: 200 })).toBe(5);
  });
});
