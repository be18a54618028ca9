import { describe, expect, it } from 'vitest';
import { MAX_DEVICES_PER_QUERY } from '../device-params';
import { addDevice, addressOfDevices, describeChoice, deviceQuery, devicesInAddress, MAX_CHOSEN_DEVICES, removeDevice, suggestionQuery } from './devices';

describe('the dashboard device picker', () => {
  it('charts at most as many devices as the API counts together', () => {
    expect(MAX_CHOSEN_DEVICES).toBe(MAX_DEVICES_PER_QUERY);
    const full = Array.from({ length: MAX_CHOSEN_DEVICES }, (_, i) => `d${i}`);
    expect(addDevice(full, 'one-more')).toEqual(full);
  });

  it('adds a device once, in the order chosen, and removes it', () => {
    const chosen = addDevice(addDevice(addDevice([], 'pump-2'), 'pump-1'), 'pump-2');
    expect(chosen).toEqual(['pump-2', 'pump-1']);
    expect(removeDevice(chosen, 'pump-2')).toEqual(['pump-1']);
  });

  it('writes the device parameters, each repeated and encoded; none for the whole fleet', () => {
    expect(deviceQuery([])).toBe('');
    expect(deviceQuery(['pump:1', 'a.b'])).toBe('&device=pump%3A1&device=a.b');
    expect(suggestionQuery(' pump ', 2)).toBe('prefix=pump&limit=10');
  });

  it('says whose counts are shown', () => {
    expect(describeChoice([])).toBe('whole fleet');
    expect(describeChoice(['a', 'b'])).toBe('a, b');
    expect(describeChoice(['a', 'b', 'c', 'd', 'e'])).toBe('a, b and 3 more devices');
  });

  it('keeps the devices in the address and reads them back', () => {
    expect(addressOfDevices([])).toBe('');
    expect(addressOfDevices(['pump:1', 'a.b'])).toBe('#device=pump%3A1&device=a.b');
    expect(devicesInAddress(addressOfDevices(['pump:1', 'a.b']))).toEqual(['pump:1', 'a.b']);
    expect(devicesInAddress('#device=a&device=&device=a&other=1')).toEqual(['a']);
    expect(devicesInAddress('')).toEqual([]);
  });
});
