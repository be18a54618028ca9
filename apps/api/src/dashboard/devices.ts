/**
 * The dashboard's device picker and top list: pure functions shared by the page (bundled for the
 * browser) and its tests. Nothing here may use Node, the DOM or zod.
 */

/** Most devices the page charts at once: the API's `MAX_DEVICES_PER_QUERY`. */
export const MAX_CHOSEN_DEVICES = 100;
/** Suggestions shown while typing. */
export const SUGGESTIONS = 8;
/** Rows of the table of the devices most often in a status. */
export const TOP_ROWS = 10;

/** `list` with `device` added at the end (once, and not past `MAX_CHOSEN_DEVICES`). */
export function addDevice(list: readonly string[], device: string): string[] {
  return list.includes(device) || list.length >= MAX_CHOSEN_DEVICES ? [...list] : [...list, device];
}

export function removeDevice(list: readonly string[], device: string): string[] {
  return list.filter((chosen) => chosen !== device);
}

/** `&device=a&device=b` for a count or series of these devices; empty for the whole fleet. */
export function deviceQuery(devices: readonly string[]): string {
  return devices.map((device) => `&device=${encodeURIComponent(device)}`).join('');
}

/** The query of `/devices` for what was typed: enough ids to show `SUGGESTIONS` once the `chosen` ones are left out. */
export function suggestionQuery(typed: string, chosen: number): string {
  return new URLSearchParams({ prefix: typed.trim(), limit: String(SUGGESTIONS + chosen) }).toString();
}

/** Whose counts the chart shows, in a few words. */
export function describeChoice(devices: readonly string[]): string {
  if (devices.length === 0) return 'whole fleet';
  if (devices.length <= 3) return devices.join(', ');
  return `${devices.slice(0, 2).join(', ')} and ${devices.length - 2} more devices`;
}

/** The devices named in the page's address, `#device=a&device=b` (each once, at most `MAX_CHOSEN_DEVICES`). */
export function devicesInAddress(hash: string): string[] {
  return new URLSearchParams(hash.replace(/^#/, '')).getAll('device').filter((device) => device !== '').reduce(addDevice, [] as string[]);
}

/** The address fragment naming `devices`; empty for the whole fleet. */
export function addressOfDevices(devices: readonly string[]): string {
  return devices.length === 0 ? '' : `#${new URLSearchParams(devices.map((device): [string, string] => ['device', device]))}`;
}
