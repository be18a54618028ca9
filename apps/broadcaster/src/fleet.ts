/** Fewest digits of a simulated device's number. */
const MIN_DIGITS = 4;

/** The ids of a simulated fleet of `size` devices: `sim-0001`…, zero-padded to the width of `size` (at least 4 digits). */
export function fleetDeviceIds(size: number): string[] {
  const digits = Math.max(MIN_DIGITS, String(size).length);
  return Array.from({ length: size }, (_, i) => `sim-${String(i + 1).padStart(digits, '0')}`);
}

/**
 * The fleet's schedule as one drift-free stream of ticks: tick n is device n mod size's, so that
 * each device publishes every `size × tickMs` with the devices' phases spread evenly over it.
 * `perDeviceMs` is each device's interval (`--interval`), or `undefined` with `totalRate` (load
 * mode: the fleet's readings per second, as `--rate` is without a fleet).
 */
export function fleetTickMs(size: number, { perDeviceMs, totalRate }: { perDeviceMs: number; totalRate: number | undefined }): number {
  return totalRate ? 1000 / totalRate : perDeviceMs / size;
}
